"""The default optimizer and learning-rate schedules of the engine.

A training module without ``configure_optimizers`` gets :func:`default_optimizers`: AdamW over
its trainable parameters with the stage's schedule (``constant``, ``cosine``, ``onecycle``,
``step``). With a time budget, ``cosine`` and ``onecycle`` run over whichever ends first, the
epochs or the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from caloforge.models.base import OptimizerSpec, TrainingPlan
from caloforge.train.config import TrainConfig

__all__ = ["default_optimizers", "lr_lambda"]

#: Warm-up share of ``onecycle`` and its starting factor.
ONECYCLE_WARMUP = 0.1
ONECYCLE_START = 0.04


def lr_lambda(config: TrainConfig, steps_per_epoch: int,
              budget_fraction: Callable[[], float] = lambda: 0.0) -> Callable[[int], float]:
    """Learning-rate factor per step.

    Example:
        >>> f = lr_lambda(TrainConfig(epochs=2, lr=1e-3, lr_min=0.0), steps_per_epoch=5)
        >>> f(0), round(f(5), 6), f(10)
        (1.0, 0.5, 0.0)
    """
    total = max(1, config.epochs * steps_per_epoch)
    floor = min(1.0, config.lr_min / config.lr)

    def cosine(t: float) -> float:
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))

    def factor(step: int) -> float:
        done = max(step / total, budget_fraction())
        if config.schedule == "cosine":
            return cosine(done)
        if config.schedule == "onecycle":
            if done < ONECYCLE_WARMUP:
                return ONECYCLE_START + (1.0 - ONECYCLE_START) * done / ONECYCLE_WARMUP
            return cosine((done - ONECYCLE_WARMUP) / (1.0 - ONECYCLE_WARMUP))
        if config.schedule == "step":
            return config.gamma ** ((step // steps_per_epoch) // config.step_epochs)
        return 1.0

    return factor


def default_optimizers(module: nn.Module, plan: TrainingPlan) -> dict[str, OptimizerSpec]:
    """AdamW over the trainable parameters with the stage's schedule; no optimizer for a module
    without trainable parameters (fitted by statistics, like the baseline family).

    Example:
        >>> plan = TrainingPlan(TrainConfig(lr=0.1), steps_per_epoch=10)
        >>> spec = default_optimizers(nn.Linear(2, 1), plan)["main"]
        >>> type(spec.optimizer).__name__, spec.optimizer.param_groups[0]["lr"]
        ('AdamW', 0.1)
    """
    config: TrainConfig = plan.config
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        return {}
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    schedule = lr_lambda(config, plan.steps_per_epoch, plan.budget_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    return {"main": OptimizerSpec(optimizer, scheduler)}
