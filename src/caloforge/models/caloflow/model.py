"""CaloFlow: Flow I (layer energies) and Flow II (normalised voxels), arXiv:2106.05285.

:class:`LayerFlow` is Flow I with the invertible preprocessing (a :class:`LayerDensity`: enough
for energy calibration); :class:`CaloFlow` adds Flow II and is a shower generator and density.
The MAF teacher and the IAF student differ only in Flow II's
:class:`~caloforge.models.flows.FlowSpec` ``kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from caloforge.models.base import Conditions, StepContext
from caloforge.models.flows import FlowSpec, build_flow, count_parameters, sample_masked
from caloforge.preprocess import PreprocessedModel, PreprocessingState, Preprocessor

__all__ = ["CaloFlow", "CaloFlowConfig", "LayerFlow", "build_caloflow"]

Batch = dict[str, Tensor]


@dataclass
class CaloFlowConfig:
    """A CaloFlow model: preprocessing settings and the two flows.

    Attributes:
        preprocessing: Settings and fitted statistics (see :class:`PreprocessingState`).
        flow1: Flow I over the ``L`` layer-energy features.
        flow2: Flow II over the voxels (``maf`` teacher, ``iaf`` student, or ``coupling``).
        flows: ``both`` (a shower generator) or ``flow1`` (layer energies only: enough for
            energy calibration, and trained in minutes on a CPU).
    """

    preprocessing: PreprocessingState = field(default_factory=PreprocessingState)
    flow1: FlowSpec = field(default_factory=lambda: FlowSpec(transforms=6, hidden=[64, 64]))
    flow2: FlowSpec = field(default_factory=lambda: FlowSpec(permutation="layers"))
    flows: Literal["both", "flow1"] = "both"


class LayerFlow(PreprocessedModel, nn.Module):
    """Flow I with the preprocessing: ``p(E_1..E_L | E_inc [, theta])``.

    Batches are dicts of float32 tensors: ``energies`` (N,) MeV, ``voxels`` (N, V) MeV and,
    for angle-conditioned models, ``theta`` (N,) rad.
    """

    def __init__(self, config: CaloFlowConfig) -> None:
        super().__init__()
        self.config = config
        self.pre = Preprocessor(config.preprocessing)
        self.flow1 = build_flow(self.pre.n_layers, self.pre.context1_features, config.flow1)

    def _layers(self, voxels: Tensor, generator: torch.Generator | None) -> Tensor:
        return self.pre.layer_energies(self.pre.dequantize(voxels, generator))

    def layer_log_prob(self, layers: Tensor, energies: Tensor, theta: Tensor | None = None,
                       physical: bool = True) -> Tensor:
        """Flow I's ``log p(layer energies | E_inc)``: per MeV^L (``physical``) or in flow
        space. ``layers``: ``(N, L)`` MeV; ``energies``: ``(N,)`` MeV."""
        w, ladj = self.pre.encode_layers(layers, energies)
        log_p = self.flow1(self.pre.context1(energies, theta)).log_prob(w.float())
        return log_p + ladj if physical else log_p

    def log_prob_layers(self, voxels: Tensor, conditions: Conditions, *,
                        generator: torch.Generator | None = None) -> Tensor:
        """``log p(layer energies of voxels | conditions)`` per MeV^L (voxels dequantised with
        ``generator``'s noise, as in training)."""
        return self.layer_log_prob(self._layers(voxels, generator), conditions.energy,
                                   conditions.theta)

    def sample_layers(self, conditions: Conditions, generator: torch.Generator) -> Tensor:
        """Layer energies (MeV) from Flow I."""
        w = sample_masked(self.flow1, self.pre.context1(conditions.energy, conditions.theta),
                          generator)
        return self.pre.decode_layers(w, conditions.energy)

    def training_step(self, batch: Batch, ctx: StepContext) -> Mapping[str, Tensor]:
        """Flow I's negative log-likelihood per layer, in flow space."""
        layers = self._layers(batch["voxels"], ctx.generator)
        nll = -self.layer_log_prob(layers, batch["energies"], batch.get("theta"), False)
        return {"loss": nll.mean() / self.pre.n_layers}

    validation_step = training_step

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of each flow."""
        return {name: count_parameters(module) for name, module in self.named_children()
                if name.startswith("flow")}


class CaloFlow(LayerFlow):
    """Flow I + Flow II with the invertible preprocessing: a shower generator and density.

    Arguments:
        config: The model config (its preprocessing must be fitted before training; see
            :meth:`fit_preprocessing`).

    Example:
        >>> from caloforge.models.base import Conditions
        >>> cfg = CaloFlowConfig(PreprocessingState(layer_sizes=[2, 3]),
        ...                      FlowSpec(transforms=1, hidden=[8], bins=4),
        ...                      FlowSpec(transforms=1, hidden=[8], bins=4))
        >>> model = CaloFlow(cfg)
        >>> batch = {"energies": torch.full((4,), 1e3), "voxels": torch.rand(4, 5) * 50}
        >>> model.fit_preprocessing(batch)
        >>> c = Conditions.from_batch(batch)
        >>> x = model.sample(c, generator=torch.Generator().manual_seed(0))
        >>> x.shape, model.log_prob(x, c).shape
        (torch.Size([4, 5]), torch.Size([4]))
    """

    def __init__(self, config: CaloFlowConfig) -> None:
        super().__init__(config)
        self.flow2 = build_flow(self.pre.n_voxels, self.pre.context2_features, config.flow2,
                                layer_sizes=config.preprocessing.layer_sizes)

    def encode(self, batch: Batch, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Flow-space features (``w``: Flow I, ``y``: Flow II), their conditions (``c1``,
        ``c2``) and the preprocessing log-Jacobians (``ladj1``, ``ladj2``) of a batch whose
        voxels are dequantised with ``generator``'s noise."""
        voxels = self.pre.dequantize(batch["voxels"], generator)
        energies, theta = batch["energies"], batch.get("theta")
        layers = self.pre.layer_energies(voxels)
        w, ladj1 = self.pre.encode_layers(layers, energies)
        y, ladj2 = self.pre.encode_voxels(voxels, layers)
        return {"w": w.float(), "y": y.float(), "ladj1": ladj1, "ladj2": ladj2,
                "c1": self.pre.context1(energies, theta),
                "c2": self.pre.context2(energies, layers, theta)}

    def log_prob_parts(self, batch: Batch, generator: torch.Generator | None = None
                       ) -> dict[str, Tensor]:
        """Flow I and Flow II log-densities in flow space and the preprocessing Jacobians."""
        enc = self.encode(batch, generator)
        return {"flow1": self.flow1(enc["c1"]).log_prob(enc["w"]),
                "flow2": self.flow2(enc["c2"]).log_prob(enc["y"]),
                "ladj1": enc["ladj1"], "ladj2": enc["ladj2"]}

    def training_step(self, batch: Batch, ctx: StepContext) -> Mapping[str, Tensor]:
        """Negative log-likelihood per feature in flow space, Flow I and Flow II jointly."""
        parts = self.log_prob_parts(batch, ctx.generator)
        n_features = self.pre.n_layers + self.pre.n_voxels
        return {"loss": -(parts["flow1"] + parts["flow2"]).mean() / n_features}

    validation_step = training_step

    def log_prob(self, voxels: Tensor, conditions: Conditions, *,
                 generator: torch.Generator | None = None, physical: bool = True) -> Tensor:
        """``log p(voxels | conditions)`` per shower: per MeV^V (``physical``, the preprocessing
        Jacobian included) or in flow space; voxels dequantised with ``generator``'s noise."""
        batch = {"energies": conditions.energy, "voxels": voxels}
        if conditions.theta is not None:
            batch["theta"] = conditions.theta
        parts = self.log_prob_parts(batch, generator)
        total = parts["flow1"] + parts["flow2"]
        return total + parts["ladj1"] + parts["ladj2"] if physical else total

    @property
    def latent_features(self) -> int:
        """Gaussian noise per shower: Flow I's ``L`` base features, then Flow II's ``V``."""
        return self.pre.n_layers + self.pre.n_voxels

    def draw_noise(self, n: int, *, generator: torch.Generator,
                   device: torch.device | None = None) -> Tensor:
        """The base draws of ``n`` showers, ``(n, L + V)`` float32, in the order
        :meth:`sample` draws them from ``generator``."""
        z1 = torch.randn((n, self.pre.n_layers), generator=generator, device=device)
        z2 = torch.randn((n, self.pre.n_voxels), generator=generator, device=device)
        return torch.cat([z1, z2], 1)

    def sample_from_noise(self, noise: Tensor, conditions: Conditions) -> Tensor:
        """Showers (voxels in MeV) as a deterministic map of the base draws ``noise``
        ``(N, L + V)``: what :mod:`caloforge.deploy` exports as one graph."""
        z1, z2 = noise.split([self.pre.n_layers, self.pre.n_voxels], 1)
        c1 = self.pre.context1(conditions.energy, conditions.theta)
        layers = self.pre.decode_layers(sample_masked(self.flow1, c1, z=z1), conditions.energy)
        c2 = self.pre.context2(conditions.energy, layers, conditions.theta)
        return self.pre.decode_voxels(sample_masked(self.flow2, c2, z=z2), layers)

    def sample(self, conditions: Conditions, *, generator: torch.Generator) -> Tensor:
        """Showers (voxels in MeV) for the given conditions.

        MAF blocks are inverted feature by feature computing only the needed outputs
        (:func:`~caloforge.models.flows.sample_masked`; its speed against ``zuko``'s full
        passes: ``benchmarks/flow_kernels.py``); IAF blocks take their one pass."""
        noise = self.draw_noise(len(conditions), generator=generator,
                                device=conditions.energy.device)
        return self.sample_from_noise(noise, conditions)


def build_caloflow(config: CaloFlowConfig) -> LayerFlow:
    """A :class:`CaloFlow`, or a :class:`LayerFlow` when ``config.flows == "flow1"``.

    Example:
        >>> cfg = CaloFlowConfig(PreprocessingState(layer_sizes=[2, 3]), flows="flow1")
        >>> type(build_caloflow(cfg)).__name__
        'LayerFlow'
    """
    return CaloFlow(config) if config.flows == "both" else LayerFlow(config)
