"""The fast rational-quadratic spline computes zuko's spline: values, log-Jacobians, inverses
and gradients."""

from __future__ import annotations

import functools

import pytest
import torch
from zuko.transforms import MonotonicRQSTransform

from caloforge.models.flows import FastRQSTransform, FlowSpec, build_flow


def _parameters(shape: tuple[int, ...], bins: int, scale: float,
                dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [(scale * torch.randn(*shape, k, generator=g, dtype=dtype)).requires_grad_()
            for k in (bins, bins, bins - 1)]


@pytest.mark.parametrize(("bins", "scale", "bound"), [(8, 1.0, 5.0), (4, 3.0, 3.0), (2, 0.1, 1.0)])
def test_matches_zuko_spline(bins: int, scale: float, bound: float) -> None:
    # float64, so that the comparison is not blurred by float32 rounding, which the inverse
    # amplifies up to 1000x in flat bins (minimum slope 1e-3)
    phi = _parameters((64, 7), bins, scale, torch.float64)
    x = 1.5 * bound * torch.randn(64, 7, generator=torch.Generator().manual_seed(2),
                                  dtype=torch.float64)
    fast, ref = FastRQSTransform(*phi, bound=bound), MonotonicRQSTransform(*phi, bound=bound)
    for grid in ("horizontal", "vertical", "derivatives"):
        assert torch.allclose(getattr(fast, grid), getattr(ref, grid), rtol=1e-12, atol=1e-12)
    y, ladj = fast.call_and_ladj(x)
    y_ref, ladj_ref = ref.call_and_ladj(x)
    assert torch.allclose(y, y_ref, atol=1e-10)
    assert torch.allclose(fast(x), y_ref, atol=1e-10)
    assert torch.allclose(ladj, ladj_ref, atol=1e-8)
    outside = x.abs() > bound  # identity outside the bound, with zero log-Jacobian
    assert outside.any() and torch.equal(y[outside], x[outside])
    assert torch.all(ladj[outside] == 0)
    assert torch.allclose(fast.inv(y), x, atol=1e-8)
    grads = torch.autograd.grad((y * ladj).sum(), phi)
    grads_ref = torch.autograd.grad((y_ref * ladj_ref).sum(), phi)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        assert torch.allclose(g, g_ref, rtol=1e-8, atol=1e-10)


def test_float32_values_agree_with_zuko() -> None:
    # float32 rounding of the two arithmetics: over 20 seeds of these 20k points the largest
    # difference of y was 0.9e-5 to 2.2e-5 (|y| <= 5)
    phi = _parameters((500, 40), 8, 1.0)
    x = 3 * torch.randn(500, 40, generator=torch.Generator().manual_seed(0))
    fast, ref = FastRQSTransform(*phi), MonotonicRQSTransform(*phi)
    y, ladj = fast.call_and_ladj(x)
    y_ref, ladj_ref = ref.call_and_ladj(x)
    assert torch.allclose(y, y_ref, rtol=0.0, atol=3e-5)
    assert torch.allclose(ladj, ladj_ref, atol=2e-4)


def test_broadcasts_inputs_against_the_knots() -> None:
    phi = _parameters((5,), 6, 1.0)
    x = torch.randn(3, 5)
    fast, ref = FastRQSTransform(*phi), MonotonicRQSTransform(*phi)
    assert torch.allclose(fast(x), ref(x), atol=1e-5)


def test_flows_use_it_with_the_same_weights_and_densities() -> None:
    torch.manual_seed(0)
    spec = FlowSpec(transforms=2, hidden=[8], bins=5)
    flow, ref = build_flow(4, 1, spec), build_flow(4, 1, spec)
    ref.load_state_dict(flow.state_dict())  # the spline holds no weights
    for block in ref.transform.transforms:
        assert block.univariate.func is FastRQSTransform
        block.univariate = functools.partial(MonotonicRQSTransform, bound=spec.bound)
    c, x = torch.randn(32, 1), 2 * torch.randn(32, 4)
    with torch.no_grad():
        assert torch.allclose(flow(c).log_prob(x), ref(c).log_prob(x), atol=1e-4)
