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
from caloforge.integrate.vegas_map import VegasGridMap, VegasMappedFlow

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


def test_nis_with_vegas_pretraining_integrates_a_camel() -> None:
    process = Camel(2)
    cfg = NISConfig(batch_size=1024, buffered_steps=1, vegas_share=0.3, vegas_bins=64,
                    loss="variance")
    result, _ = nis(process, 20_000, 20_000, config=cfg, seed=1)
    assert abs(result.integral - process.exact()) < 3 * result.error
    assert result.calls_train >= 19_000 and result.calls_eval == 20_000
    assert result.rel_std < 1.0  # flat sampling of this camel: about 3
