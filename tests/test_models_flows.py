"""Flows on zuko: orders, densities consistent with samples, normalisation, distillation."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch

from caloforge.models.caloflow import CaloFlow, CaloFlowConfig, DistillConfig, Distiller
from caloforge.models.flows import FlowSpec, block_orders, build_flow
from caloforge.preprocess import PreprocessingState
from caloforge.train import TrainConfig, fit


@pytest.mark.parametrize("permutation", ["alternate", "layers", "random"])
def test_block_orders_are_permutations(permutation: str) -> None:
    orders = block_orders(9, FlowSpec(transforms=4, permutation=permutation), [2, 3, 4])
    for order in orders:
        assert sorted(order.tolist()) == list(range(9))
    assert len({tuple(o.tolist()) for o in orders}) > 1


def test_layer_permutation_keeps_layers_together() -> None:
    sizes = [2, 3, 4]
    for order in block_orders(9, FlowSpec(transforms=4, permutation="layers"), sizes):
        sequence = torch.argsort(order).tolist()  # features in autoregressive order
        layer = [0] * 2 + [1] * 3 + [2] * 4
        runs = [layer[f] for f in sequence]
        changes = sum(a != b for a, b in itertools.pairwise(runs))
        assert changes == 2


@pytest.mark.parametrize("kind", ["maf", "iaf", "coupling"])
def test_log_prob_consistent_with_samples(kind: str) -> None:
    torch.manual_seed(0)
    flow = build_flow(4, 2, FlowSpec(kind=kind, transforms=3, hidden=[16], bins=4))
    c = torch.randn(64, 2)
    x, log_q = flow(c).rsample_and_log_prob()
    assert torch.allclose(flow(c).log_prob(x), log_q, atol=1e-4)


@pytest.mark.parametrize("kind", ["maf", "iaf", "coupling"])
def test_density_integrates_to_one(kind: str) -> None:
    torch.manual_seed(1)
    flow = build_flow(2, 1, FlowSpec(kind=kind, transforms=2, hidden=[16], bins=6, bound=3.0))
    for p in flow.parameters():  # a visibly non-Gaussian density
        p.data.add_(0.3 * torch.randn_like(p))
    edges = torch.linspace(-9, 9, 601)
    centres = 0.5 * (edges[1:] + edges[:-1])
    grid = torch.cartesian_prod(centres, centres)
    with torch.no_grad():
        density = flow(torch.ones(len(grid), 1)).log_prob(grid).exp()
    integral = density.sum().item() * (edges[1] - edges[0]).item() ** 2
    assert integral == pytest.approx(1.0, abs=0.01)


def _toy(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Showers of a 2-layer toy: energy splits with a Beta law, voxels Dirichlet-like."""
    gen = torch.Generator().manual_seed(seed)
    energies = 10 ** (3 + 2 * torch.rand(n, generator=gen))
    share = torch.distributions.Beta(4.0, 2.0).sample((n,))
    weights = torch.rand(n, 5, generator=gen) ** 2 + 0.05
    total = energies * 0.9
    w0 = weights[:, :2] / weights[:, :2].sum(1, keepdim=True) * (share * total)[:, None]
    w1 = weights[:, 2:] / weights[:, 2:].sum(1, keepdim=True) * ((1 - share) * total)[:, None]
    return {"energies": energies, "voxels": torch.cat([w0, w1], 1)}


def test_student_samples_match_teacher_likelihood(tmp_path: Path) -> None:
    """Mean teacher log-likelihood of 10k student samples within 3 standard errors of that of
    10k teacher samples (tiny flows, after distillation on a toy)."""
    torch.manual_seed(0)
    data = _toy(6000, seed=0)
    spec = FlowSpec(transforms=2, hidden=[32], bins=4, permutation="layers")
    teacher = CaloFlow(CaloFlowConfig(PreprocessingState(layer_sizes=[2, 3]),
                                      FlowSpec(transforms=2, hidden=[16], bins=4), spec))
    teacher.fit_preprocessing(data)
    fit(teacher, data, TrainConfig(epochs=3, batch_size=256, lr=2e-3), tmp_path / "t",
        progress=False)
    student_spec = FlowSpec(kind="iaf", transforms=2, hidden=[32], bins=4, permutation="layers")
    distiller = Distiller(teacher, student_spec, DistillConfig(beta=0.5, guided=True))
    fit(distiller, data, TrainConfig(epochs=12, batch_size=256, lr=2e-3), tmp_path / "s",
        progress=False)
    test = _toy(10_000, seed=1)
    with torch.no_grad():
        _, c = distiller._conditions(test, torch.Generator().manual_seed(2))
        x_teacher = teacher.flow2(c).sample()
        x_student = distiller.student.flow2(c).sample()
        ll_teacher = teacher.flow2(c).log_prob(x_teacher)
        ll_student = teacher.flow2(c).log_prob(x_student)
    se = math.hypot(ll_teacher.std().item(), ll_student.std().item()) / math.sqrt(10_000)
    assert abs(ll_teacher.mean().item() - ll_student.mean().item()) < 3 * se
