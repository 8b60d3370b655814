"""The Rényi-divergence training loss: known values, limits, importance weighting, schedule."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from caloforge.errors import InputError
from caloforge.integrate import Camel, nis
from caloforge.integrate.losses import AnnealedRenyi, renyi_divergence
from caloforge.integrate.methods import NISConfig


def _weights(n: int = 4000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    q = 0.5 + torch.rand(n, generator=gen, dtype=torch.float64)
    f = q * torch.exp(0.3 * torch.randn(n, generator=gen, dtype=torch.float64))
    return f, q


def test_order_two_is_the_log_second_moment() -> None:
    f, q = _weights()
    w = f / q
    w = w / w.mean()
    expected = math.log((w**2).mean().item())  # = log(1 + rel. variance)
    assert renyi_divergence(f, q, alpha=2.0).item() == pytest.approx(expected, rel=1e-10)


def test_divergence_grows_with_the_order_towards_the_log_max_weight() -> None:
    f, q = _weights()
    w = f / q
    log_max = math.log((w / w.mean()).max().item())
    values = [renyi_divergence(f, q, alpha=a).item() for a in (1.5, 2.0, 8.0, 64.0, 4096.0)]
    assert values == sorted(values) and values[0] > 0
    assert values[-1] == pytest.approx(log_max, abs=5e-3)


def test_zero_integrand_points_count_in_the_integral() -> None:
    # f = 2 on half of four equally likely points, 0 on the rest: integral 1, weights 0 and 2,
    # E[w^2] = 2 (normalising over the non-zero points alone gave log 0.5 < 0)
    f, q = torch.tensor([0.0, 2.0, 2.0, 0.0]), torch.ones(4)
    assert renyi_divergence(f, q, alpha=2.0).item() == pytest.approx(math.log(2.0), rel=1e-6)


def test_buffered_samples_are_importance_weighted() -> None:
    # sampling density q_s = 2x on [0, 1], trained density q_t = 1, integrand f = 3x^2
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(400_000, generator=gen, dtype=torch.float64).sqrt()  # drawn from 2x
    f, q_test, q_sample = 3 * x**2, torch.ones_like(x), 2 * x
    # D_2(3x^2 || 1) = log int 9 x^4 dx = log(9/5)
    value = renyi_divergence(f, q_test, q_sample, alpha=2.0).item()
    assert value == pytest.approx(math.log(9 / 5), rel=2e-3)


def test_high_order_gradient_goes_to_the_largest_weight() -> None:
    f, q0 = _weights(200)
    log_q = q0.log().clone().requires_grad_(True)
    alpha = 64.0
    renyi_divergence(f, log_q.exp(), alpha=alpha).backward()
    # d D / d log q_i = -w_i^alpha / sum_j w_j^alpha: a softmax of the log weights
    expected = -torch.softmax(alpha * (f / q0).log(), 0)
    assert torch.allclose(log_q.grad, expected, atol=1e-12)
    assert log_q.grad.argmin().item() == (f / q0).argmax().item()


def test_multi_channel_sums_the_channels() -> None:
    f, q = _weights(1000)
    channels = (torch.arange(1000) % 2).long()
    total = renyi_divergence(f, q, channels=channels, alpha=4.0).item()
    parts = sum(renyi_divergence(f[channels == c], q[channels == c], alpha=4.0).item()
                for c in (0, 1))
    assert total == pytest.approx(parts, rel=1e-12)


def test_annealing_schedule_and_bad_orders() -> None:
    loss = AnnealedRenyi(steps=9, alpha_start=2.0, alpha_end=32.0, ramp=2 / 3)
    alphas = [loss.alpha(s) for s in range(9)]
    assert alphas[0] == 2.0 and alphas[6:] == [32.0] * 3
    assert all(a < b for a, b in itertools.pairwise(alphas[:7]))
    f, q = _weights(100)
    loss(f, q)
    loss(f, q)
    assert loss.step == 2
    with pytest.raises(ValueError, match="exceed 1"):
        renyi_divergence(f, q, alpha=1.0)
    with pytest.raises(ValueError, match="alpha_start <= alpha_end"):
        AnnealedRenyi(steps=4, alpha_start=8.0, alpha_end=4.0)


def test_nis_config_rejects_unknown_losses_and_orders() -> None:
    with pytest.raises(InputError, match="unknown NIS loss 'chi2'"):
        NISConfig(loss="chi2")
    with pytest.raises(InputError, match="Rényi orders"):
        NISConfig(renyi_alpha=1.5, renyi_alpha_start=2.0)
    with pytest.raises(InputError, match="renyi_ramp must lie in"):
        NISConfig(renyi_ramp=0.0)


def test_renyi_trained_nis_integrates_the_camel() -> None:
    process = Camel(2)
    cfg = NISConfig(batch_size=1024, buffered_steps=1, loss="renyi")
    result, _ = nis(process, 20_000, 20_000, config=cfg, seed=2)
    assert abs(result.integral - process.exact()) < 3 * result.error
    assert result.rel_std < 1.0  # flat sampling of this camel: 1.73
