"""CaloFlow: Flow I (layer energies) and Flow II (normalised voxels), arXiv:2106.05285.

The same class serves the MAF teacher and the IAF student; they differ only in Flow II's
:class:`~caloforge.models.flows.FlowSpec` ``kind``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from caloforge.models.autoregressive import sample_masked
from caloforge.models.flows import FlowSpec, build_flow, count_parameters
from caloforge.models.preprocessing import PreprocessingState, Preprocessor

__all__ = ["CaloFlow", "CaloFlowConfig"]


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


class CaloFlow(nn.Module):
    """Flow I + Flow II with the invertible preprocessing.

    Batches are dicts of float32 tensors: ``energies`` (N,) MeV, ``voxels`` (N, V) MeV and,
    for angle-conditioned models, ``theta`` (N,) rad.

    Arguments:
        config: The model config (its preprocessing must be fitted before training; see
            :meth:`fit_preprocessing`).

    Example:
        >>> from caloforge.models.preprocessing import PreprocessingState
        >>> cfg = CaloFlowConfig(PreprocessingState(layer_sizes=[2, 3]),
        ...                      FlowSpec(transforms=1, hidden=[8], bins=4),
        ...                      FlowSpec(transforms=1, hidden=[8], bins=4))
        >>> model = CaloFlow(cfg)
        >>> batch = {"energies": torch.full((4,), 1e3), "voxels": torch.rand(4, 5) * 50}
        >>> model.fit_preprocessing(batch)
        >>> model.training_loss(batch).shape, model.sample(batch["energies"]).shape
        (torch.Size([]), torch.Size([4, 5]))
    """

    def __init__(self, config: CaloFlowConfig) -> None:
        super().__init__()
        self.config = config
        self.pre = Preprocessor(config.preprocessing)
        sizes = config.preprocessing.layer_sizes
        self.flow1 = build_flow(self.pre.n_layers, self.pre.context1_features, config.flow1)
        self.flow2 = (build_flow(self.pre.n_voxels, self.pre.context2_features, config.flow2,
                                 layer_sizes=sizes) if config.flows == "both" else None)

    @property
    def has_flow2(self) -> bool:
        """Whether the model has a Flow II (generates and scores whole showers)."""
        return self.flow2 is not None

    def voxel_flow(self) -> nn.Module:
        if self.flow2 is None:
            raise ValueError("this CaloFlow has only Flow I (flows: flow1)")
        return self.flow2

    # -- training -------------------------------------------------------------------------
    def fit_preprocessing(self, batch: dict[str, Tensor], seed: int = 0) -> None:
        """Fit the preprocessing statistics on (a subset of) the training showers."""
        gen = torch.Generator().manual_seed(seed)
        self.pre.fit(batch["voxels"], batch["energies"], batch.get("theta"), generator=gen)

    def encode(self, batch: dict[str, Tensor], dequantize: bool = True,
               generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Flow-space features (``w``: Flow I, ``y``: Flow II), their conditions (``c1``,
        ``c2``) and the preprocessing log-Jacobians (``ladj1``, ``ladj2``) of a batch."""
        voxels = batch["voxels"]
        if dequantize:
            voxels = self.pre.dequantize(voxels, generator)
        energies, theta = batch["energies"], batch.get("theta")
        layers = self.pre.layer_energies(voxels)
        w, ladj1 = self.pre.encode_layers(layers, energies)
        y, ladj2 = self.pre.encode_voxels(voxels, layers)
        return {"w": w.float(), "y": y.float(), "ladj1": ladj1, "ladj2": ladj2,
                "c1": self.pre.context1(energies, theta),
                "c2": self.pre.context2(energies, layers, theta)}

    def log_prob_parts(self, batch: dict[str, Tensor], dequantize: bool = True,
                       generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Flow I and Flow II log-densities in flow space and the preprocessing Jacobians."""
        enc = self.encode(batch, dequantize, generator)
        return {"flow1": self.flow1(enc["c1"]).log_prob(enc["w"]),
                "flow2": self.voxel_flow()(enc["c2"]).log_prob(enc["y"]),
                "ladj1": enc["ladj1"], "ladj2": enc["ladj2"]}

    def training_loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Negative log-likelihood per feature in flow space (Flow I + Flow II jointly, or
        Flow I alone)."""
        if not self.has_flow2:
            voxels = self.pre.dequantize(batch["voxels"])
            layers = self.pre.layer_energies(voxels)
            return -self.log_prob_layers(layers, batch["energies"], batch.get("theta"),
                                         physical=False).mean() / self.pre.n_layers
        parts = self.log_prob_parts(batch)
        n_features = self.pre.n_layers + self.pre.n_voxels
        return -(parts["flow1"] + parts["flow2"]).mean() / n_features

    def validation_loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Same as :meth:`training_loss` (without gradients, by the caller)."""
        return self.training_loss(batch)

    # -- use ------------------------------------------------------------------------------
    def log_prob(self, batch: dict[str, Tensor], physical: bool = True,
                 generator: torch.Generator | None = None) -> Tensor:
        """``log p(voxels | E_inc)`` per shower: in MeV^-V (``physical``) or in flow space.

        Voxels are dequantised with ``generator``'s noise, as in training.
        """
        parts = self.log_prob_parts(batch, True, generator)
        total = parts["flow1"] + parts["flow2"]
        if physical:
            total = total + parts["ladj1"] + parts["ladj2"]
        return total

    def log_prob_layers(self, layers: Tensor, energies: Tensor, theta: Tensor | None = None,
                        physical: bool = True) -> Tensor:
        """Flow I's ``log p(layer energies | E_inc)``: per MeV^L (``physical``) or in flow space.

        Arguments:
            layers: Layer energies ``(N, L)`` in MeV.
            energies: Incident energies ``(N,)`` in MeV (candidates, for calibration).
            theta: Incident angles (rad) for angle-conditioned models.
        """
        w, ladj = self.pre.encode_layers(layers, energies)
        log_p = self.flow1(self.pre.context1(energies, theta)).log_prob(w.float())
        return log_p + ladj if physical else log_p

    def sample_layers(self, energies: Tensor, theta: Tensor | None = None) -> Tensor:
        """Layer energies (MeV) from Flow I."""
        w = sample_masked(self.flow1, self.pre.context1(energies, theta))
        return self.pre.decode_layers(w, energies)

    def sample(self, energies: Tensor, theta: Tensor | None = None) -> Tensor:
        """Showers (voxels in MeV) for the given incident energies (MeV).

        MAF blocks are inverted feature by feature computing only the needed outputs
        (:func:`~caloforge.models.autoregressive.sample_masked`), 30-60x faster than ``zuko``'s
        full passes for the ds1 teacher; IAF blocks take their one pass."""
        layers = self.sample_layers(energies, theta)
        y = sample_masked(self.voxel_flow(), self.pre.context2(energies, layers, theta))
        return self.pre.decode_voxels(y, layers)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of each flow."""
        counts = {"flow1": count_parameters(self.flow1)}
        if self.flow2 is not None:
            counts["flow2"] = count_parameters(self.flow2)
        return counts
