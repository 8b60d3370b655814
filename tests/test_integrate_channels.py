"""Multi-channel NIS (issue 31): the 3body-2bw process, learned channel weights that learn, and
the channel allocation for unweighting."""

from __future__ import annotations

import math

import pytest
import torch
from madnis.integrator import kl_divergence

from caloforge.errors import InputError
from caloforge.integrate import NISConfig, ThreeBody, nis
from caloforge.integrate.channels import ChannelWeightLoss, _top_up


def _points(n: int, dims: int, seed: int) -> torch.Tensor:
    return torch.rand(n, dims, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_three_body_quadrature_matches_an_independent_monte_carlo() -> None:
    """The quadrature value against a plain MC of the same formula over (s12, s23, cos)."""
    proc = ThreeBody()
    p, s = proc.p, proc.s
    x = _points(2_000_000, 3, 0)
    # the R1 resonance is 1 % wide: sample s12 half flat, half Breit-Wigner (mixture density)
    half = x[:, 0] < 0.5
    s12_bw, _ = proc._bw_map(x[:, 1], p.m1, p.w1)
    s12 = torch.where(half, s * x[:, 1], s12_bw)
    lo, hi = math.atan(-p.m1 / p.w1), math.atan((s - p.m1**2) / (p.m1 * p.w1))
    bw_density = p.m1 * p.w1 / (((s12 - p.m1**2) ** 2 + (p.m1 * p.w1) ** 2) * (hi - lo))
    density = 0.5 / s + 0.5 * bw_density
    s23 = (s - s12) * x[:, 2]
    mt2 = p.m_t**2
    cos_integral = 2 * mt2 / (mt2 + s - s12)  # closed form of int P(t) dcos
    r2 = p.a2 * (p.m2 * p.w2) ** 2 / ((s23 - p.m2**2) ** 2 + (p.m2 * p.w2) ** 2)
    r2_weight = r2 * (s - s12) * cos_integral / density
    r2_mean = r2_weight.mean().item()
    head = (p.b + p.a1 * proc._bw(s12, p.m1, p.w1)) * (s - s12) * cos_integral / density
    estimate = proc.norm * (head.mean().item() + r2_mean)
    error = proc.norm * math.sqrt((head + r2_weight).var().item() / len(x))
    assert abs(estimate - proc.exact()) < 4 * error, (estimate, proc.exact(), error)


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_every_channel_map_integrates_to_the_cross_section(channel: int) -> None:
    proc = ThreeBody()
    value, point, alpha = proc.channel(_points(400_000, 5, channel), channel)
    assert bool(((point >= 0) & (point <= 1)).all())
    assert torch.allclose(alpha.sum(1), torch.ones(len(alpha), dtype=torch.float64))
    # each channel's own term (alpha_c f_c) is smooth under its map: integrate it
    weights = alpha[:, channel] * value
    share = weights.mean().item() / proc.exact()
    assert 0.15 < share < 0.5  # the terms carry about 21 / 41 / 38 %


def test_channel_shares_add_up_to_the_cross_section() -> None:
    proc = ThreeBody()
    parts = []
    for c in range(3):
        value, _, alpha = proc.channel(_points(400_000, 5, 10 + c), c)
        w = alpha[:, c] * value
        parts.append((w.mean().item(), w.var().item() / len(w)))
    total, var = sum(m for m, _ in parts), sum(v for _, v in parts)
    assert abs(total - proc.exact()) < 4 * math.sqrt(var)


def test_physical_observables_follow_the_maps() -> None:
    proc = ThreeBody()
    _, point, _ = proc.channel(_points(50_000, 5, 3), 2)
    obs = proc.physical(point)
    m23 = obs["m_23"]
    assert ((m23 - 400.0).abs() < 20.0).double().mean().item() > 0.9  # R2's map: on its peak
    assert bool((obs["cos_theta_3"].abs() <= 1).all())


def test_flows_losses_give_the_channel_weights_no_gradient_and_the_wrapper_does() -> None:
    """madnis' KL detaches the integrand: its channel-weight network never learns."""
    f = torch.tensor([1.0, 3.0, 2.0, 1.0], requires_grad=True)
    q = torch.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    channels = torch.tensor([0, 0, 1, 1])
    kl_divergence(f * 1.0, q, q.detach(), channels).backward()
    assert f.grad is None or float(f.grad.abs().sum()) == 0.0
    f.grad = None
    ChannelWeightLoss(kl_divergence)(f * 1.0, q, q.detach(), channels).backward()
    assert float(f.grad.abs().sum()) > 0


def test_learned_weights_move_away_from_the_prior_and_stay_unbiased() -> None:
    proc = ThreeBody()
    cfg = NISConfig.for_channels(3, batch_size=512, buffered_steps=1, learned_weights=True,
                                 vegas_share=0.0)
    result, batch = nis(proc, 30_000, 30_000, channels=3, config=cfg, seed=0)
    prior = batch.alphas_prior.double()
    learned = batch.alphas.double()
    assert float((learned - prior).abs().max()) > 1e-3  # the network learned something
    assert torch.allclose(learned.sum(1), torch.ones(len(learned), dtype=torch.float64),
                          atol=1e-5)
    assert abs(result.integral - proc.exact()) < 4 * result.error


def test_unweighting_allocation_spends_the_calls_and_stays_unbiased() -> None:
    proc = ThreeBody()
    cfg = NISConfig.for_channels(3, batch_size=512, buffered_steps=1,
                                 channel_allocation="unweighting", vegas_share=0.0)
    result, batch = nis(proc, 30_000, 30_000, channels=3, config=cfg, seed=1)
    alloc = result.extra["allocation"]
    assert sum(alloc["shares"]) == pytest.approx(1.0)
    assert result.calls == 60_000 and result.calls_eval == len(batch.weights)
    counts = torch.bincount(batch.channels, minlength=3)
    assert bool((counts >= alloc["pilot_calls"] // 3).all())
    assert abs(result.integral - proc.exact()) < 4 * result.error


def test_top_up_moves_the_counts_towards_the_largest_weights() -> None:
    have = torch.tensor([100.0, 100.0, 100.0])
    largest = torch.tensor([1.0, 1.0, 4.0])  # channel 2's largest weight is 4x the others'
    counts = _top_up(have, largest, 300)
    assert sum(counts) == 300
    # totals 600 shared 1:1:4 -> 100, 100, 400: all new points go to channel 2
    assert counts == [0, 0, 300]
    assert _top_up(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 1.0]), 11) in ([6, 5], [5, 6])


def test_config_rejects_unknown_allocations() -> None:
    with pytest.raises(InputError, match="allocation"):
        NISConfig(channel_allocation="greedy")
    with pytest.raises(InputError, match="allocation_pilot"):
        NISConfig(allocation_pilot=1.0)


def test_madnis_integrand_keeps_the_prior_inputs_for_the_channel_network() -> None:
    """With learned weights the remapped point carries the log prior weights."""
    proc = ThreeBody()
    cfg = NISConfig.for_channels(3, batch_size=256, buffered_steps=0, learned_weights=True,
                                 vegas_share=0.0)
    _, batch = nis(proc, 4_000, 2_000, channels=3, config=cfg, seed=2)
    assert batch.y.shape[1] == proc.dims + 3
    assert torch.allclose(batch.y[:, proc.dims:].exp().sum(1).double(),
                          torch.ones(len(batch.y), dtype=torch.float64), atol=1e-4)



def test_vegas_spends_exactly_the_calls_it_is_given() -> None:
    """VEGAS may not stop short: adaptation + final sample = train + eval calls."""
    from caloforge.integrate import Camel, vegas_plain
    from caloforge.integrate.methods import vegas_mapped

    result = vegas_plain(Camel(2), 20_000, 10_000, seed=0)
    assert result.calls == 30_000
    assert abs(result.integral - Camel(2).exact()) < 4 * result.error
    mapped = vegas_mapped(ThreeBody(), 30_000, 15_000, seed=0)
    assert mapped.calls == 45_000


def test_multi_channel_error_is_the_stratified_one() -> None:
    """Channel means that differ (the N/N_c factors) are not noise of a stratified sample."""
    from caloforge.integrate.methods import stratified_error

    g = torch.Generator().manual_seed(0)
    a = 1.0 + 0.1 * torch.randn(5000, generator=g, dtype=torch.float64)
    b = 3.0 + 0.1 * torch.randn(5000, generator=g, dtype=torch.float64)
    w, labels = torch.cat([a, b]), torch.cat([torch.zeros(5000), torch.ones(5000)]).long()
    expected = math.sqrt(5000 * a.var().item() + 5000 * b.var().item()) / 10_000
    assert stratified_error(w, labels) == pytest.approx(expected)
    assert stratified_error(w) > 10 * expected  # one mean for both: the 1 vs 3 spread
