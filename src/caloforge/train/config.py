"""Training settings of one stage (the same engine for every family), and the
``--time-budget`` parser."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from caloforge.errors import InputError

__all__ = ["TrainConfig", "parse_duration"]


@dataclass
class TrainConfig:
    """How a model is trained (the same engine for every model).

    Attributes:
        epochs: Maximum number of passes over the training split.
        batch_size: Showers per optimiser step.
        val_batch_size: Showers per validation batch (None: ``max(batch_size, 1024)``).
        lr: Peak learning rate (Adam).
        schedule: ``constant``, ``cosine`` (to ``lr_min``), ``onecycle`` or ``step``
            (``gamma`` every ``step_epochs``).
        lr_min: Final learning rate of ``cosine``.
        gamma, step_epochs: Decay of ``step``.
        weight_decay: AdamW weight decay.
        grad_clip: Clip the gradient norm to this value (0 = off).
        val_fraction: Share of the showers held out for validation.
        patience: Stop after this many epochs without a better validation loss (0 = off).
        seed: Seed of the split, shuffling and initialisation.
        max_steps: Stop after this many optimiser steps (None = no limit; the schedule still
            runs over ``epochs``): a learning-curve point that does not depend on the machine.
        time_budget_s: Stop after this much training time, seconds (None = no limit).
        schedule_budget_s: Run ``cosine``/``onecycle`` over this much training time instead of
            ``time_budget_s`` (a learning-curve point: stop at 15 min on a 60-min schedule).
        checkpoint_every_s: Also checkpoint within an epoch this often, seconds.
        snapshots_s: Also save the weights when the training time passes each of these
            (seconds), as ``checkpoints/snapshot-<s>s.pt``: learning curves.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        threads: Torch CPU threads for this stage (None = torch's default), restored after.
        ema_decay: Keep exponential moving averages of the weights with this decay per step
            (0 = off); validation and ``best.pt`` then use the averages.
        dtype: ``float32``: modules as built (float32 networks); ``float64``: the module's
            floating parameters and buffers and the batches' floating tensors in float64
            (exact comparisons, e.g. of data-parallel and single-process training).
    """

    epochs: int = 100
    batch_size: int = 512
    val_batch_size: int | None = None
    lr: float = 1e-3
    schedule: Literal["constant", "cosine", "onecycle", "step"] = "cosine"
    lr_min: float = 1e-6
    gamma: float = 0.5
    step_epochs: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 10.0
    val_fraction: float = 0.1
    patience: int = 20
    seed: int = 0
    max_steps: int | None = None
    time_budget_s: float | None = None
    schedule_budget_s: float | None = None
    checkpoint_every_s: float = 60.0
    snapshots_s: list[float] = field(default_factory=list)
    device: str = "auto"
    threads: int | None = None
    ema_decay: float = 0.0
    dtype: Literal["float32", "float64"] = "float32"

    def validate(self) -> TrainConfig:
        """Check values; raise :class:`InputError` with the fix."""
        if self.epochs < 1 or self.batch_size < 1 or (self.max_steps or 1) < 1:
            raise InputError("epochs, batch_size and max_steps must be >= 1",
                             "give positive values")
        if self.lr <= 0:
            raise InputError(f"learning rate {self.lr} must be > 0", "fix --lr")
        if not 0.0 < self.val_fraction < 1.0:
            raise InputError(f"val_fraction {self.val_fraction} must lie in (0, 1)",
                             "use e.g. 0.1")
        for budget in (self.time_budget_s, self.schedule_budget_s):
            if budget is not None and budget <= 0:
                raise InputError("time budgets must be > 0", "use e.g. --time-budget 60m")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(f"ema_decay {self.ema_decay} must lie in [0, 1)", "use e.g. 0.999")
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype '{self.dtype}' is not float32 or float64",
                             "use float32 (default) or float64")
        return self


_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``60m`` or ``1.5h``.

    Example:
        >>> parse_duration("60m"), parse_duration("1.5h"), parse_duration("45")
        (3600.0, 5400.0, 45.0)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|m|min|h)?\s*", text)
    if not match:
        raise InputError(f"cannot read duration '{text}'", "write e.g. 90s, 60m or 1.5h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]
