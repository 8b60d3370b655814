"""The family contract: what a model offers to the commands, and what the engine needs of it.

Commands use models only through these protocols:

* :class:`ShowerGenerator` — ``sample(conditions, generator=...)`` -> voxels (MeV);
* :class:`ShowerDensity` — ``log_prob(voxels, conditions)`` per shower (per MeV^V);
* :class:`LayerDensity` — the density of a shower's layer energies (energy calibration);
* :class:`NoiseSampler` — sampling as a deterministic map of noise (export for Geant4).

A family lacking a capability is refused with one line naming what is missing
(:func:`require`). The training engine (:mod:`caloforge.train.engine`) needs a
:class:`TrainingModule`: ``training_step`` returning named losses and, optionally,
``configure_optimizers`` (Lightning's split between the model's step and the loop).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from caloforge.errors import InputError
from caloforge.noise import BatchRows

__all__ = ["CAPABILITIES", "Conditions", "LayerDensity", "NoiseSampler", "OptimizerSpec",
           "ShowerDensity", "ShowerGenerator", "StepContext", "TrainingModule", "TrainingPlan",
           "require"]


@dataclass(frozen=True)
class Conditions:
    """What a shower is generated for: incident energy (MeV) and, optionally, the polar angle
    ``theta`` and azimuth ``phi`` (rad) and the PDG ``particle`` id; one row per shower.

    Example:
        >>> c = Conditions.from_numpy(np.array([1e3, 2e3]), theta=np.array([0.5, 0.6]))
        >>> len(c), c.energy.dtype, c[1:].theta.tolist()
        (2, torch.float32, [0.6000000238418579])
    """

    energy: Tensor
    theta: Tensor | None = None
    phi: Tensor | None = None
    particle: Tensor | None = None

    def __len__(self) -> int:
        return len(self.energy)

    def __getitem__(self, rows: slice | Tensor) -> Conditions:
        return Conditions(**{f.name: None if (v := getattr(self, f.name)) is None else v[rows]
                             for f in fields(self)})

    def to(self, device: torch.device | str) -> Conditions:
        """The same conditions on ``device``."""
        return Conditions(**{f.name: None if (v := getattr(self, f.name)) is None
                             else v.to(device) for f in fields(self)})

    def with_energy(self, energy: Tensor) -> Conditions:
        """The same angles and particles with other incident energies (calibration)."""
        return replace(self, energy=energy)

    @classmethod
    def from_numpy(cls, energy: np.ndarray, theta: np.ndarray | None = None,
                   phi: np.ndarray | None = None, particle: np.ndarray | None = None
                   ) -> Conditions:
        """float32 tensors (int64 particle ids) from arrays; angles broadcast to the energies."""
        energy = np.asarray(energy, dtype=np.float64).reshape(-1)
        n = len(energy)

        def angle(a: np.ndarray | None) -> Tensor | None:
            return None if a is None else torch.as_tensor(
                np.broadcast_to(np.asarray(a, dtype=np.float32), (n,)).copy())

        return cls(torch.as_tensor(energy, dtype=torch.float32), angle(theta), angle(phi),
                   None if particle is None else torch.as_tensor(
                       np.broadcast_to(np.asarray(particle, dtype=np.int64), (n,)).copy()))

    @classmethod
    def from_batch(cls, batch: Mapping[str, Tensor]) -> Conditions:
        """The conditions of a training batch (keys ``energies``, ``theta``, ``phi``,
        ``particle``)."""
        return cls(batch["energies"], batch.get("theta"), batch.get("phi"), batch.get("particle"))


@runtime_checkable
class ShowerGenerator(Protocol):
    """Samples showers: voxel energies (MeV), ``(N, V)``, one per row of ``conditions``."""

    def sample(self, conditions: Conditions, *, generator: torch.Generator) -> Tensor: ...


@runtime_checkable
class ShowerDensity(Protocol):
    """``log p(voxels | conditions)`` per shower in physical voxel space (per MeV^V; a model
    whose value is another measure says so in a ``density_unit`` string attribute).
    ``generator`` seeds any noise the density adds (dequantisation): the same seed gives the
    same value, so the log-likelihood is a smooth function of the conditions."""

    def log_prob(self, voxels: Tensor, conditions: Conditions, *,
                 generator: torch.Generator | None = None) -> Tensor: ...


@runtime_checkable
class LayerDensity(Protocol):
    """``log p(layer energies of voxels | conditions)`` per shower (per MeV^L)."""

    def log_prob_layers(self, voxels: Tensor, conditions: Conditions, *,
                        generator: torch.Generator | None = None) -> Tensor: ...


@runtime_checkable
class NoiseSampler(Protocol):
    """A generator whose sampling is a deterministic map of Gaussian noise: what
    :mod:`caloforge.deploy` exports as one graph (noise and conditions in, voxels out).
    ``sample(c, generator=g)`` must equal ``sample_from_noise(draw_noise(len(c),
    generator=g), c)``."""

    @property
    def latent_features(self) -> int: ...

    def draw_noise(self, n: int, *, generator: torch.Generator,
                   device: torch.device | None = None) -> Tensor: ...

    def sample_from_noise(self, noise: Tensor, conditions: Conditions) -> Tensor: ...


#: Capability name -> (protocol, what a command wants it for).
CAPABILITIES: dict[str, type] = {"sample": ShowerGenerator, "log_prob": ShowerDensity,
                                 "log_prob_layers": LayerDensity,
                                 "sample_from_noise": NoiseSampler}


def require(model: object, capability: str, what: str, name: str = "this model") -> None:
    """Refuse a model that lacks ``capability`` (``sample``, ``log_prob``, ``log_prob_layers``)
    with one line naming what is missing.

    Example:
        >>> require(object(), "sample", "generate showers", "run 'r'")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        caloforge.errors.InputError: run 'r' cannot generate showers: its model has no sample()...
    """
    protocol = CAPABILITIES[capability]
    if not isinstance(model, protocol):
        raise InputError(f"{name} cannot {what}: its model has no {capability}() "
                         f"({protocol.__name__})", "use a run of a family that has it")


@dataclass
class TrainingPlan:
    """What ``configure_optimizers`` may need: the stage's training settings (a
    :class:`~caloforge.train.config.TrainConfig`), steps per epoch, and the share of the time
    budget used so far (for schedules that follow a wall-clock budget)."""

    config: Any
    steps_per_epoch: int
    budget_fraction: Callable[[], float] = lambda: 0.0


@dataclass
class OptimizerSpec:
    """One optimizer of a training module, its optional scheduler (stepped after every step of
    the optimizer) and gradient-norm clip (None: the stage's ``grad_clip``)."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    clip: float | None = None


@dataclass
class StepContext:
    """Handed to ``training_step`` / ``validation_step`` by the engine.

    Attributes:
        step: Optimiser steps done before this one (0-based, over all epochs).
        epoch: Current epoch (0-based).
        generator: The only source of noise a step may use (dequantisation, latent draws);
            its state is checkpointed, so a resumed run draws the same numbers. Draw noise
            with a batch dimension through :func:`caloforge.noise.batch_noise`: in
            data-parallel training each rank then gives a shower the numbers one process
            would (see :attr:`rows`).
        device: Where the batch lives.
        optimize: ``optimize(name, loss)``: zero the named optimizer's gradients, backpropagate
            ``loss``, clip, step it and its scheduler. Modules with several optimizers (GANs)
            call it themselves; a step that never calls it is optimised by the engine on its
            ``loss`` with the single optimizer.
    """

    step: int
    epoch: int
    generator: torch.Generator
    device: torch.device
    optimize: Callable[[str, Tensor], None] = field(repr=False)

    @property
    def rows(self) -> BatchRows | None:
        """This rank's rows of the global batch in data-parallel training (None: the whole
        batch is here)."""
        return getattr(self.generator, "rows", None)


@runtime_checkable
class TrainingModule(Protocol):
    """What the engine trains: an ``nn.Module`` with ``training_step(batch, ctx) -> {name:
    loss}``. Optional: ``configure_optimizers(plan) -> {name: OptimizerSpec}`` (default: AdamW
    with the stage's schedule), ``validation_step(batch, ctx) -> {name: loss}`` and ``monitor``,
    the validation loss that picks ``best.pt`` (default ``loss``)."""

    def training_step(self, batch: dict[str, Tensor], ctx: StepContext) -> Mapping[str, Tensor]:
        ...
