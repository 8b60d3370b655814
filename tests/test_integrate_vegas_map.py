"""VEGAS grids in front of a madnis flow: the map against ``vegas.AdaptiveMap``, the density
of the mapped flow, and NIS with VEGAS pre-training on a known integral."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import vegas
from madnis.nn import Flow

from caloforge.errors import InputError
from caloforge.integrate import Camel, nis
from caloforge.integrate.methods import NISConfig
from caloforge.integrate.vegas_map import SmoothGridMap, VegasGridMap, VegasMappedFlow

EDGES = [[0.0, 0.05, 0.1, 0.4, 1.0], [0.0, 0.5, 0.6, 0.9, 1.0]]


def _perturbed_flow(dims: int, channels: int | None = None) -> Flow:
    """A small flow that is not the identity (madnis zeroes the subnets' last layers)."""
    torch.manual_seed(3)
    flow = Flow(dims_in=dims, channels=channels, layers=1, units=8, bins=4)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return flow.double()


def test_grid_map_agrees_with_vegas_and_inverts() -> None:
    ref = vegas.AdaptiveMap(grid=EDGES)
    r = np.random.default_rng(0).random((1000, 2))
    x_ref, jac_ref = np.empty_like(r), np.empty(len(r))
    ref.map(r, x_ref, jac_ref)
    m = VegasGridMap(torch.tensor([EDGES], dtype=torch.float64))
    ch = torch.zeros(len(r), dtype=torch.long)
    x, logjac = m.forward(torch.as_tensor(r), ch)
    np.testing.assert_allclose(x.numpy(), x_ref, rtol=1e-12)
    np.testing.assert_allclose(logjac.exp().numpy(), jac_ref, rtol=1e-12)
    back, inv_logjac = m.inverse(x, ch)
    np.testing.assert_allclose(back.numpy(), r, atol=1e-12)
    np.testing.assert_allclose(inv_logjac.numpy(), -logjac.numpy(), rtol=1e-12)


def _random_grids(channels: int, dims: int, bins: int) -> torch.Tensor:
    """Edges of very uneven bins (widths spread over three decades)."""
    gen = torch.Generator().manual_seed(0)
    widths = torch.rand(channels, dims, bins, dtype=torch.float64, generator=gen) ** 4 + 1e-3
    edges = torch.cat([torch.zeros(channels, dims, 1, dtype=torch.float64),
                       widths.cumsum(-1) / widths.sum(-1, keepdim=True)], -1)
    edges[..., -1] = 1.0
    return edges


def test_smooth_map_keeps_the_bins_and_inverts() -> None:
    grids = _random_grids(2, 3, 64)
    m = SmoothGridMap(grids)
    gen = torch.Generator().manual_seed(1)
    r = torch.rand(50_000, 3, dtype=torch.float64, generator=gen)
    ch = torch.randint(0, 2, (len(r),), generator=gen)
    x, logjac = m.forward(r, ch)
    back, inv_logjac = m.inverse(x, ch)
    assert (back - r).abs().max().item() < 1e-10
    assert (logjac + inv_logjac).abs().max().item() < 1e-8
    # every VEGAS bin keeps its probability: r in bin k maps into x-bin k
    k = (r * 64).floor().long()
    for c in range(2):
        for a in range(3):
            x_bin = torch.searchsorted(grids[c, a, 1:-1].contiguous(), x[ch == c, a])
            assert torch.equal(x_bin, k[ch == c, a])


def test_smooth_map_jacobian_is_the_derivative_and_continuous() -> None:
    m = SmoothGridMap(_random_grids(1, 2, 32))
    r = torch.rand(20_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    r = r.clamp(1e-6, 1 - 1e-6)
    ch = torch.zeros(len(r), dtype=torch.long)
    _, logjac = m.forward(r, ch)
    numeric = torch.zeros(len(r), dtype=torch.float64)
    for a in range(2):
        step = torch.zeros_like(r)
        step[:, a] = 1e-7
        numeric += ((m.forward(r + step, ch)[0][:, a] - m.forward(r - step, ch)[0][:, a])
                    / 2e-7).log()
    assert (numeric - logjac).abs().max().item() < 1e-4
    # at a knot, the slopes from both sides agree (the linear map jumps there)
    knot = torch.tensor([[10 / 32, 0.5]], dtype=torch.float64)
    side = torch.tensor([[1e-9, 0.0]], dtype=torch.float64)
    one = torch.zeros(1, dtype=torch.long)
    left, right = m.forward(knot - side, one)[1], m.forward(knot + side, one)[1]
    assert left.item() == pytest.approx(right.item(), abs=1e-6)
    linear = VegasGridMap(m.grids)
    assert abs(linear.forward(knot - side, one)[1].item()
               - linear.forward(knot + side, one)[1].item()) > 0.01


def test_smooth_map_density_is_normalised() -> None:
    m = SmoothGridMap(_random_grids(1, 1, 64))
    x = torch.linspace(0, 1, 1_000_001, dtype=torch.float64)[:, None]
    r, log_density = m.inverse(x, torch.zeros(len(x), dtype=torch.long))
    assert torch.trapezoid(log_density.exp(), x[:, 0]).item() == pytest.approx(1.0, abs=1e-4)
    assert bool((r[1:] >= r[:-1]).all())


def test_grid_map_rejects_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="channels, dims, bins"):
        VegasGridMap(torch.tensor(EDGES))


def test_mapped_flow_density_is_normalised_and_matches_its_samples() -> None:
    g = VegasMappedFlow(_perturbed_flow(2), dims=2)
    g.set_grids(torch.tensor([EDGES], dtype=torch.float64))
    with torch.no_grad():
        x, log_q = g.sample(20_000, return_log_prob=True, dtype=torch.float64)
        assert torch.allclose(g.log_prob(x), log_q, atol=1e-6)
        # E_q[1 / q] is the volume of the unit square
        assert (-log_q).exp().mean().item() == pytest.approx(1.0, abs=0.03)
        # the VEGAS bins carry equal probability: a quarter of the points in x0 < 0.1
        assert (x[:, 0] < 0.1).double().mean().item() > 0.35


def test_module_conversions_reach_the_flow_and_keep_the_grid() -> None:
    # nn.Module.to / .double walk the submodules through Module._apply: the map must not
    # shadow it (it did: Integrator.double() raised a TypeError)
    g = VegasMappedFlow(Flow(dims_in=2, layers=1, units=8, bins=4), dims=2)
    g.set_grids(torch.tensor([EDGES], dtype=torch.float64))
    g = g.to(torch.device("cpu")).double()
    assert all(p.dtype == torch.float64 for p in g.parameters())
    edges = [b for name, b in g.named_buffers() if name.endswith("grids")]
    assert len(edges) == 1 and edges[0].dtype == torch.float64
    with torch.no_grad():
        x = g.sample(4000, dtype=torch.float64)
    assert x.dtype == torch.float64 and (x[:, 0] < 0.1).double().mean().item() > 0.35


def test_mapped_flow_keeps_each_channel_on_its_own_grid() -> None:
    grids = torch.tensor([EDGES, [EDGES[1], EDGES[0]]], dtype=torch.float64)
    g = VegasMappedFlow(_perturbed_flow(2, channels=2), dims=2, channels=2)
    g.set_grids(grids)
    with torch.no_grad():
        x, log_q = g.sample(4000, channel=[1000, 3000], return_log_prob=True,
                            dtype=torch.float64)
        labels = torch.tensor([0] * 1000 + [1] * 3000)
        assert torch.allclose(g.log_prob(x, channel=labels), log_q, atol=1e-6)
    # channel 0 squeezes x0 into [0, 0.1] for half its points, channel 1 squeezes x1
    assert (x[:1000, 0] < 0.1).double().mean().item() > (x[1000:, 0] < 0.1).double().mean().item()


def test_config_rejects_a_vegas_share_outside_zero_one() -> None:
    with pytest.raises(InputError, match="must lie in"):
        NISConfig(vegas_share=1.0)


def test_config_rejects_an_unknown_vegas_map() -> None:
    with pytest.raises(InputError, match="unknown VEGAS map 'cubic'"):
        NISConfig(vegas_map="cubic")


@pytest.mark.parametrize("vegas_map", ["smooth", "linear"])
def test_nis_with_vegas_pretraining_integrates_a_camel(vegas_map: str) -> None:
    process = Camel(2)
    cfg = NISConfig(batch_size=1024, buffered_steps=1, vegas_share=0.3, vegas_bins=64,
                    loss="variance", vegas_map=vegas_map)
    result, _ = nis(process, 20_000, 20_000, config=cfg, seed=1)
    assert abs(result.integral - process.exact()) < 3 * result.error
    assert result.calls_train >= 19_000 and result.calls == 40_000
    assert result.rel_std < 1.0  # flat sampling of this camel: about 3
