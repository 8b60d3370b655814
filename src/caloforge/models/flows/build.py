"""Flow builders on ``zuko``: MAF (teacher), IAF (student) and coupling flows with RQ splines.

One :class:`FlowSpec` describes a flow; :func:`build_flow` turns it into a conditional
``zuko.flows.Flow`` whose transform maps data to the Gaussian base (``x -> z``):

* ``maf``: masked autoregressive; density in one pass, sampling in ``features`` passes;
* ``iaf``: the inverse of a MAF; sampling in one pass, density in ``features`` passes;
* ``coupling``: two-pass masked transforms (RealNVP-like with splines); both directions fast.

Between blocks the feature order changes (``permutation``): ``alternate`` reverses it every
other block, ``layers`` rotates the calorimeter layers and reverses the voxels in every other
block (CaloFlow's per-layer permutations), ``random`` draws a seeded random order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import torch
import zuko
from torch import nn
from zuko.flows import Flow, MaskedAutoregressiveTransform, UnconditionalDistribution

from caloforge.models.flows.splines import FastRQSTransform

__all__ = ["FlowSpec", "block_orders", "build_flow", "count_parameters"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU,
                                           "leakyrelu": nn.LeakyReLU, "gelu": nn.GELU}


@dataclass
class FlowSpec:
    """Architecture of one flow.

    Attributes:
        kind: ``maf``, ``iaf`` or ``coupling``.
        transforms: Number of blocks.
        hidden: Hidden layer widths of each block's masked network.
        bins: Rational-quadratic spline bins.
        bound: Spline domain ``[-bound, bound]`` (identity outside; features are standardised).
        permutation: ``alternate``, ``layers`` or ``random`` (see the module docstring).
        activation: ``relu``, ``elu``, ``leakyrelu`` or ``gelu``.
        seed: Seed of ``random`` permutations.
    """

    kind: Literal["maf", "iaf", "coupling"] = "maf"
    transforms: int = 4
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    bins: int = 8
    bound: float = 5.0
    permutation: Literal["alternate", "layers", "random"] = "alternate"
    activation: Literal["relu", "elu", "leakyrelu", "gelu"] = "relu"
    seed: int = 0


def block_orders(n: int, spec: FlowSpec, layer_sizes: Sequence[int] | None = None
                 ) -> list[torch.Tensor]:
    """The autoregressive rank of every feature, for each block.

    Example:
        >>> spec = FlowSpec(transforms=2, permutation="layers")
        >>> [o.tolist() for o in block_orders(3, spec, layer_sizes=[1, 2])]
        [[0, 1, 2], [2, 1, 0]]
    """
    sizes = list(layer_sizes) if layer_sizes and sum(layer_sizes) == n else [n]
    starts = torch.tensor([0, *sizes]).cumsum(0)[:-1].tolist()
    gen = torch.Generator().manual_seed(spec.seed)
    orders = []
    for k in range(spec.transforms):
        if spec.permutation == "random":
            sequence = torch.randperm(n, generator=gen)
        elif spec.permutation == "layers":
            shift = (k // 2) % len(sizes)
            layer_ids = [(i + shift) % len(sizes) for i in range(len(sizes))]
            if k % 2:
                layer_ids = layer_ids[::-1]
            parts = [torch.arange(starts[i], starts[i] + sizes[i]) for i in layer_ids]
            parts = [p.flip(0) if k % 2 else p for p in parts]
            sequence = torch.cat(parts)
        else:
            sequence = torch.arange(n) if k % 2 == 0 else torch.arange(n).flip(0)
        rank = torch.empty(n, dtype=torch.long)
        rank[sequence] = torch.arange(n)
        orders.append(rank)
    return orders


def build_flow(features: int, context: int, spec: FlowSpec,
               layer_sizes: Sequence[int] | None = None) -> Flow:
    """A conditional flow over ``features`` dimensions given ``context`` conditions.

    Arguments:
        features: Dimension of the data.
        context: Number of condition features.
        spec: The architecture.
        layer_sizes: Voxels per layer, for ``layers`` permutations.

    Returns:
        A ``zuko`` flow: ``flow(c).log_prob(x)``, ``flow(c).sample()``.

    Example:
        >>> flow = build_flow(3, 1, FlowSpec(kind="iaf", transforms=2, hidden=[16], bins=4))
        >>> c = torch.zeros(5, 1)
        >>> x = flow(c).sample()
        >>> x.shape, flow(c).log_prob(x).shape
        (torch.Size([5, 3]), torch.Size([5]))
    """
    univariate = partial(FastRQSTransform, bound=spec.bound)
    shapes = [(spec.bins,), (spec.bins,), (spec.bins - 1,)]
    passes = 2 if spec.kind == "coupling" else None
    blocks: list[zuko.lazy.LazyTransform] = []
    for order in block_orders(features, spec, layer_sizes):
        block = MaskedAutoregressiveTransform(
            features, context, passes=passes, order=order, univariate=univariate,
            shapes=shapes, hidden_features=list(spec.hidden),
            activation=ACTIVATIONS[spec.activation])
        blocks.append(block.inv if spec.kind == "iaf" else block)
    base = UnconditionalDistribution(zuko.distributions.DiagNormal, torch.zeros(features),
                                     torch.ones(features), buffer=True)
    return Flow(blocks, base)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
