"""The one training loop: optimizers from the model, named losses, checkpoints, exact resume.

Any ``nn.Module`` with ``training_step(batch, ctx) -> {name: loss}`` (the
:class:`~caloforge.models.base.TrainingModule` contract) trains here. The module may bring its
own optimizers and schedulers (``configure_optimizers``) and step them itself through
``ctx.optimize`` (GANs: alternating critic and generator updates); otherwise the engine
optimizes ``loss`` with AdamW and the stage's schedule. A stage directory receives::

    checkpoints/last.pt   everything needed to resume (also written within epochs)
    checkpoints/best.pt   the weights with the lowest validation loss (``monitor``)
    metrics.csv           one row per epoch: every named loss, learning rates, time
    metrics.json          the same plus the final summary
    train.log             one line per epoch, and why training stopped

Killing the process loses at most ``checkpoint_every_s`` of work: calling :func:`fit` again on
the same directory continues from the last checkpoint with every optimizer, scheduler, EMA and
random-generator state restored, so the result equals an uninterrupted run. Thread counts are
set for the call and restored. Inside a ``torch.distributed`` process group (``caloforge train
--ddp`` under torchrun) the loop is data-parallel (:mod:`caloforge.train.distributed`): each
rank computes its slice of every batch, gradients are summed over the ranks, rank 0 writes.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from caloforge.models.base import OptimizerSpec, StepContext, TrainingPlan
from caloforge.seeds import derive, noise_seed
from caloforge.threads import torch_threads
from caloforge.train import distributed
from caloforge.train.checkpoint import EMA, atomic_save, write_metrics
from caloforge.train.config import TrainConfig
from caloforge.train.optim import default_optimizers
from caloforge.train.sources import ShowerSource, TensorSource

__all__ = ["TrainResult", "fit", "resolve_device"]

Batch = dict[str, Tensor]
#: ``TrainConfig.dtype`` -> the dtype modules and batches are cast to (None: as built).
DTYPES: dict[str, torch.dtype | None] = {"float32": None, "float64": torch.float64}


@dataclass
class TrainResult:
    """Summary of a training run.

    Attributes:
        epochs: Epochs run (a partial last epoch counts).
        best_epoch: Epoch (1-based) with the lowest validation loss.
        best_val_loss: That loss.
        stopped: ``epochs``, ``early stopping``, ``time budget`` or ``max steps``.
        train_seconds: Training wall time, summed over resumes.
        steps: Optimiser steps (training batches) run.
        history: One dict per epoch (epoch, train_<loss>, val_<loss>, lr, seconds).
    """

    epochs: int
    best_epoch: int
    best_val_loss: float
    stopped: str
    train_seconds: float
    steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class _Loop:
    """The state of one call of :func:`fit`."""

    def __init__(self, model: nn.Module, source: ShowerSource, config: TrainConfig,
                 run_dir: Path, device: torch.device) -> None:
        self.model, self.source, self.config, self.device = model, source, config, device
        self.dir = run_dir
        self.ckpt_dir = run_dir / "checkpoints"
        self.steps_per_epoch = math.ceil(source.n_train / config.batch_size)
        self.t_start = time.perf_counter()
        self.state: dict[str, Any] = {"epoch": 0, "step": 0, "global_step": 0,
                                      "best_val": math.inf, "best_epoch": 0, "bad_epochs": 0,
                                      "elapsed": 0.0, "history": [], "sums": {}}
        self.world = distributed.world()
        plan = TrainingPlan(config, self.steps_per_epoch, self.budget_fraction)
        configure = getattr(model, "configure_optimizers", None)
        self.optimizers: dict[str, OptimizerSpec] = (
            configure(plan) if configure else default_optimizers(model, plan))
        self.ema = EMA(model, config.ema_decay) if config.ema_decay > 0 else None
        self.dp = distributed.DataParallel(self.world, split=bool(self.optimizers))
        self.dp.check_batch_size(config.batch_size)
        self.generator = self.dp.generator(noise_seed(config.seed, 0))
        self.manual = False

    def budget_fraction(self) -> float:
        budget = self.config.schedule_budget_s or self.config.time_budget_s
        if self.world.parallel:  # rank 0's clock, the same on every rank
            return self.state["elapsed"] / budget if budget else 0.0
        return (time.perf_counter() - self.t_start) / budget if budget else 0.0

    def to_device(self, batch: Batch) -> Batch:
        dtype = DTYPES[self.config.dtype]
        return {k: v.to(self.device, dtype if dtype and v.is_floating_point() else None,
                        non_blocking=True) for k, v in batch.items()}

    # -- checkpoints ----------------------------------------------------------------------
    def save(self) -> None:
        if not self.dp.main:
            return
        specs = self.optimizers.items()
        atomic_save({"model": self.model.state_dict(),
                     "optimizers": {k: s.optimizer.state_dict() for k, s in specs},
                     "schedulers": {k: s.scheduler.state_dict() for k, s in specs
                                    if s.scheduler is not None},
                     "ema": self.ema.state_dict() if self.ema else None,
                     "generator": self.generator.get_state(), "state": self.state},
                    self.ckpt_dir / "last.pt")

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        for name, spec in self.optimizers.items():
            spec.optimizer.load_state_dict(ckpt["optimizers"][name])
            if spec.scheduler is not None:
                spec.scheduler.load_state_dict(ckpt["schedulers"][name])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        self.generator.set_state(ckpt["generator"])
        self.state = ckpt["state"]
        self.t_start = time.perf_counter() - self.state["elapsed"]

    def save_weights(self, name: str, **extra: Any) -> None:
        """The module's weights (EMA averages when kept) to ``checkpoints/<name>.pt``."""
        if not self.dp.main:
            return
        if self.ema:
            self.ema.swap()
        atomic_save({"model": self.model.state_dict(), **extra}, self.ckpt_dir / f"{name}.pt")
        if self.ema:
            self.ema.swap()

    # -- one step -------------------------------------------------------------------------
    def optimize(self, name: str, loss: Tensor) -> None:
        """``ctx.optimize``: backpropagate, clip, step one optimizer and its scheduler."""
        if name not in self.optimizers:
            raise KeyError(f"no optimizer '{name}' (configure_optimizers gave "
                           f"{sorted(self.optimizers)})")
        spec = self.optimizers[name]
        self.manual = True
        spec.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in spec.optimizer.param_groups for p in g["params"]]
        self.dp.reduce_gradients(params)
        clip = self.config.grad_clip if spec.clip is None else spec.clip
        if clip > 0:
            nn.utils.clip_grad_norm_(params, clip)
        spec.optimizer.step()
        if spec.scheduler is not None:
            spec.scheduler.step()

    def train_step(self, batch: Batch, epoch: int) -> dict[str, float]:
        self.manual = False
        batch = self.dp.split(batch, self.generator)
        ctx = StepContext(self.state["global_step"], epoch, self.generator, self.device,
                          self.optimize)
        out = self.model.training_step(batch, ctx)
        if not self.manual and self.optimizers:
            if len(self.optimizers) > 1:
                raise RuntimeError("a module with several optimizers must step them with "
                                   "ctx.optimize(name, loss) in training_step")
            self.optimize(next(iter(self.optimizers)), out["loss"])
        if self.ema is not None:
            self.ema.update()
        return {k: float(v.detach()) for k, v in out.items()}

    def validate(self) -> dict[str, float]:
        """Mean validation losses (EMA weights when kept), with the same noise every time."""
        step = getattr(self.model, "validation_step", None)
        if step is None:
            return {}
        if self.ema:
            self.ema.swap()
        self.model.eval()
        gen = self.dp.generator(derive(self.config.seed, "validation"))
        sums: dict[str, float] = {}
        count = 0
        with torch.no_grad():
            size = self.config.val_batch_size or max(self.config.batch_size, 1024)
            for batch in self.source.val_batches(size):
                batch = self.dp.split(self.to_device(batch), gen)
                n = self.dp.share.n if self.dp.active else len(next(iter(batch.values())))
                ctx = StepContext(self.state["global_step"], self.state["epoch"], gen,
                                  self.device, self.optimize)
                for k, v in step(batch, ctx).items():
                    sums[k] = sums.get(k, 0.0) + float(v) * n
                count += n
        sums, _ = self.dp.sum_values(sums)
        count = round(self.dp.sum_values({"n": float(count)})[0]["n"])
        self.model.train()
        if self.ema:
            self.ema.swap()
        return {k: v / max(count, 1) for k, v in sums.items()}

    def end_epoch(self, epoch: int) -> bool:
        """Validate, log, keep the best weights; True when training should stop early."""
        val = self.validate()
        _, self.state["elapsed"] = self.dp.sum_values({}, elapsed=time.perf_counter()
                                                      - self.t_start)
        row: dict[str, float] = {"epoch": epoch + 1}
        row.update({f"train_{k}": s / max(c, 1) for k, (s, c) in self.state["sums"].items()})
        row.update({f"val_{k}": v for k, v in val.items()})
        for name, spec in self.optimizers.items():
            row["lr" if len(self.optimizers) == 1 else f"lr_{name}"] = (
                spec.optimizer.param_groups[0]["lr"])
        row["seconds"] = round(self.state["elapsed"], 2)
        self.state["history"].append(row)
        self.state.update(epoch=epoch + 1, step=0, sums={})
        monitor = getattr(self.model, "monitor", "loss")
        score = val.get(monitor, -float(epoch)) if monitor else -float(epoch)
        if score < self.state["best_val"]:
            self.state.update(best_val=score, best_epoch=epoch + 1, bad_epochs=0)
            self.save_weights("best", epoch=epoch + 1, val_loss=score)
        else:
            self.state["bad_epochs"] += 1
        if self.dp.main:
            write_metrics(self.dir, self.state["history"])
            losses = " ".join(f"{k} {v:.6g}" for k, v in row.items()
                              if k not in ("epoch", "seconds"))
            with open(self.dir / "train.log", "a") as log:
                log.write(f"epoch {epoch + 1}: {losses} time {row['seconds']:.1f} s\n")
        return bool(self.config.patience and self.state["bad_epochs"] >= self.config.patience)

    # -- the loop -------------------------------------------------------------------------
    def run(self, progress: bool) -> str:
        cfg, state = self.config, self.state
        budget, show = cfg.time_budget_s, progress and self.dp.main
        bar = (tqdm(total=round(budget), initial=min(round(state["elapsed"]), round(budget)),
                    unit="s", desc="training", disable=not show) if budget else
               tqdm(total=cfg.epochs * self.steps_per_epoch, unit="step", desc="training",
                    initial=state["epoch"] * self.steps_per_epoch + state["step"],
                    disable=not show))
        stopped, t_ckpt = "epochs", time.perf_counter()
        while state["epoch"] < cfg.epochs and stopped == "epochs":
            epoch = state["epoch"]
            if state["step"] == 0:
                self.generator.manual_seed(noise_seed(cfg.seed, epoch))
            for batch in self.source.train_batches(epoch, cfg.batch_size, state["step"]):
                values, state["elapsed"] = self.dp.sum_values(
                    self.train_step(self.to_device(batch), epoch), self.dp.share.weight,
                    time.perf_counter() - self.t_start)
                for k, v in values.items():
                    s, c = state["sums"].get(k, (0.0, 0))
                    state["sums"][k] = (s + v, c + 1)
                state["step"] += 1
                state["global_step"] += 1
                bar.update(round(min(state["elapsed"], budget)) - bar.n if budget else 1)
                self.snapshots()
                if time.perf_counter() - t_ckpt >= cfg.checkpoint_every_s:
                    self.save()
                    t_ckpt = time.perf_counter()
                if budget is not None and state["elapsed"] >= budget:
                    stopped = "time budget"
                    break
                if cfg.max_steps is not None and state["global_step"] >= cfg.max_steps:
                    stopped = "max steps"
                    break
            if self.end_epoch(epoch) and stopped == "epochs":
                stopped = "early stopping"
            bar.set_postfix({k: f"{v:.4g}" for k, v in state["history"][-1].items()
                             if k.startswith(("train_", "val_"))})
            self.save()
            t_ckpt = time.perf_counter()
        bar.close()
        return stopped

    def snapshots(self) -> None:
        for t in self.config.snapshots_s:
            name = f"snapshot-{t:g}s"
            if self.state["elapsed"] >= t and not (self.ckpt_dir / f"{name}.pt").exists():
                self.save_weights(name, elapsed=self.state["elapsed"])

    def finish(self, stopped: str | None = None) -> TrainResult:
        state = self.state
        if stopped is not None:
            state.update(finished=True, stopped=stopped)
            self.save()
            if self.dp.main:
                with open(self.dir / "train.log", "a") as log:
                    log.write(f"stopped: {stopped}; best epoch {state['best_epoch']} "
                              f"(validation loss {state['best_val']:.6g})\n")
        distributed.barrier()  # rank 0 has written best.pt
        best = self.ckpt_dir / "best.pt"
        if best.is_file():
            weights = torch.load(best, map_location=self.device, weights_only=False)["model"]
            self.model.load_state_dict(weights)
        result = TrainResult(epochs=state["epoch"], best_epoch=state["best_epoch"],
                             best_val_loss=state["best_val"],
                             stopped=state.get("stopped", "epochs"),
                             train_seconds=round(state["elapsed"], 2),
                             steps=state["global_step"], history=state["history"])
        if self.dp.main:
            write_metrics(self.dir, state["history"],
                          {k: v for k, v in result.to_json().items() if k != "history"})
        return result


def fit(model: nn.Module, data: Batch | ShowerSource, config: TrainConfig, run_dir: str | Path,
        progress: bool = True, resume: bool = True) -> TrainResult:
    """Train ``model`` on ``data`` into ``run_dir``.

    Arguments:
        model: A module implementing :class:`~caloforge.models.base.TrainingModule`.
        data: A :class:`~caloforge.train.sources.ShowerSource`, or named tensors (first
            dimension = showers), split and shuffled as a
            :class:`~caloforge.train.sources.TensorSource` with the config's seed.
        config: Training settings.
        run_dir: Directory of the checkpoints and metrics.
        progress: Show a progress bar (steps, or seconds of the time budget).
        resume: Continue from ``checkpoints/last.pt`` when present.

    Returns:
        The :class:`TrainResult`; ``model`` holds the best weights on return.

    Example:
        >>> import tempfile
        >>> class Mean(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.mu = nn.Parameter(torch.zeros(1))
        ...     def training_step(self, batch, ctx):
        ...         return {"loss": (batch["x"] - self.mu).square().mean()}
        ...     validation_step = training_step
        >>> data = {"x": torch.full((100,), 3.0)}
        >>> cfg = TrainConfig(epochs=30, batch_size=10, lr=0.1, schedule="constant")
        >>> result = fit(Mean(), data, cfg, tempfile.mkdtemp(), progress=False)
        >>> result.best_val_loss < 1e-3, result.stopped
        (True, 'epochs')
    """
    config.validate()
    run_dir = Path(run_dir)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    device = distributed.rank_device(resolve_device(config.device))
    source = data if isinstance(data, ShowerSource) else TensorSource(
        data, config.val_fraction, config.seed)
    if device.type == "cuda" and isinstance(source, TensorSource):
        source.to(device)
    with torch_threads(config.threads):
        model.to(device, DTYPES[config.dtype]).train()
        distributed.broadcast_module(model)
        loop = _Loop(model, source, config, run_dir, device)
        last = loop.ckpt_dir / "last.pt"
        distributed.barrier()  # rank 0 has written last.pt (a failed call in this process)
        if resume and last.is_file():
            loop.restore(torch.load(last, map_location=device, weights_only=False))
        distributed.barrier()  # every rank has read it before rank 0 writes it again
        if loop.state.get("finished"):
            return loop.finish()
        return loop.finish(loop.run(progress))
