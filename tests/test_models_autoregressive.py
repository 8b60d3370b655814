"""Fast exact MAF sampling: the same numbers as zuko's full passes."""

from __future__ import annotations

import pytest
import torch

from caloforge.models.flows import (
    FlowSpec,
    build_flow,
    invert_masked_block,
    is_fast_invertible,
    sample_masked,
)


@pytest.mark.parametrize(("permutation", "hidden", "activation"),
                         [("layers", [32, 32], "relu"), ("random", [24], "elu"),
                          ("alternate", [16, 16, 16], "gelu")])
def test_block_inverse_matches_zuko(permutation: str, hidden: list[int], activation: str
                                    ) -> None:
    torch.manual_seed(0)
    spec = FlowSpec(transforms=3, hidden=hidden, bins=6, permutation=permutation,
                    activation=activation)  # type: ignore[arg-type]
    flow = build_flow(9, 3, spec, layer_sizes=[2, 3, 4])
    c, z = torch.randn(64, 3), 2 * torch.randn(64, 9)  # some values outside the spline bound
    with torch.no_grad():
        for lazy in flow.transform.transforms:
            assert is_fast_invertible(lazy)
            fast = invert_masked_block(lazy, c, z)
            assert torch.allclose(fast, lazy(c).inv(z), atol=1e-5)
            assert torch.allclose(lazy(c)(fast), z, atol=1e-4)  # a true inverse


@pytest.mark.parametrize("kind", ["maf", "iaf", "coupling"])
def test_samples_equal_zuko_inverse_of_the_same_base_draw(kind: str) -> None:
    torch.manual_seed(0)
    flow = build_flow(6, 2, FlowSpec(kind=kind, transforms=2, hidden=[16], bins=4))
    c = torch.randn(50, 2)
    z = torch.randn(50, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        reference = flow(c).transform.inv(z)
    fast = sample_masked(flow, c, z=z)
    assert fast.shape == (50, 6)
    assert torch.allclose(fast, reference, atol=1e-5)
    drawn = sample_masked(flow, c, torch.Generator().manual_seed(3))  # the base draw is z
    assert torch.allclose(drawn, fast)
    fast_blocks = [is_fast_invertible(t) for t in flow.transform.transforms]
    assert all(fast_blocks) == (kind == "maf") and any(fast_blocks) == (kind == "maf")
