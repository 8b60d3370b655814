"""The one training loop: split, schedules, clipping, checkpoints, resume, early stopping.

Any ``torch.nn.Module`` with ``training_loss(batch)`` and ``validation_loss(batch)`` (the
:class:`Trainable` protocol) trains here. A run directory receives::

    checkpoints/last.pt   everything needed to resume (also written within epochs)
    checkpoints/best.pt   the model with the lowest validation loss
    metrics.csv           one row per epoch
    metrics.json          the same plus the final summary
    train.log             one line per epoch, and why training stopped

Killing the process loses at most ``checkpoint_every_s`` of work: calling :func:`fit` again on
the same directory continues from the last checkpoint, at the same step of the same epoch.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from caloforge.tables import write_text
from caloforge.train.config import TrainConfig

__all__ = ["TrainResult", "Trainable", "atomic_save", "fit", "resolve_device", "split_indices"]

Batch = dict[str, Tensor]


@runtime_checkable
class Trainable(Protocol):
    """What the engine needs of a model (besides being an ``nn.Module``)."""

    def training_loss(self, batch: Batch) -> Tensor:
        """Scalar loss to minimise on a batch."""
        ...

    def validation_loss(self, batch: Batch) -> Tensor:
        """Scalar loss that picks the best checkpoint (evaluated without gradients)."""
        ...


@dataclass
class TrainResult:
    """Summary of a training run.

    Attributes:
        epochs: Epochs run (a partial last epoch counts).
        best_epoch: Epoch (1-based) with the lowest validation loss.
        best_val_loss: That loss.
        stopped: ``epochs``, ``early stopping`` or ``time budget``.
        train_seconds: Training wall time, summed over resumes.
        history: One dict per epoch (epoch, train_loss, val_loss, lr, seconds).
    """

    epochs: int
    best_epoch: int
    best_val_loss: float
    stopped: str
    train_seconds: float
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


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Seeded train/validation split of ``n`` rows (at least one row in each).

    Example:
        >>> tr, va = split_indices(10, 0.2, seed=0)
        >>> len(tr), len(va), sorted(tr.tolist() + va.tolist()) == list(range(10))
        (8, 2, True)
    """
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    return perm[n_val:], perm[:n_val]


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _lr_lambda(config: TrainConfig, steps_per_epoch: int,
               clock: dict[str, float] | None = None) -> Callable[[int], float]:
    """Learning-rate factor per step. With a time budget, ``cosine`` and ``onecycle`` run
    over whichever ends first, the epochs or the budget (``clock['fraction']`` of it used)."""
    total = max(1, config.epochs * steps_per_epoch)
    floor = min(1.0, config.lr_min / config.lr)

    def cosine(t: float) -> float:
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))

    def factor(step: int) -> float:
        done = max(step / total, clock["fraction"] if clock else 0.0)
        if config.schedule == "cosine":
            return cosine(done)
        if config.schedule == "onecycle":
            if done < 0.1:
                return 0.04 + 0.96 * done / 0.1
            return cosine((done - 0.1) / 0.9)
        if config.schedule == "step":
            return config.gamma ** ((step // steps_per_epoch) // config.step_epochs)
        return 1.0

    return factor


def _batches(idx: Tensor, batch_size: int, seed: int, epoch: int, skip: int) -> Iterator[Tensor]:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = idx[torch.randperm(len(idx), generator=gen)]
    for k in range(skip, math.ceil(len(order) / batch_size)):
        yield order[k * batch_size : (k + 1) * batch_size]


def _evaluate(model: nn.Module, data: Batch, idx: Tensor, batch_size: int,
              device: torch.device) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(idx), batch_size):
            rows = idx[start : start + batch_size]
            batch = {k: v[rows].to(device) for k, v in data.items()}
            total += float(model.validation_loss(batch)) * len(rows)
            count += len(rows)
    model.train()
    return total / max(count, 1)


def _write_metrics(run_dir: Path, history: list[dict[str, float]],
                   summary: dict[str, Any] | None = None) -> None:
    if history:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
        write_text(run_dir / "metrics.csv", buf.getvalue())
    write_text(run_dir / "metrics.json",
               json.dumps({"history": history, "summary": summary}, indent=1))


def fit(model: nn.Module, data: Batch, config: TrainConfig, run_dir: str | Path,
        progress: bool = True, resume: bool = True) -> TrainResult:
    """Train ``model`` on ``data`` (dict of equally long tensors) into ``run_dir``.

    Arguments:
        model: A module implementing :class:`Trainable`.
        data: Named tensors, first dimension = showers (kept on CPU unless CUDA fits them).
        config: Training settings.
        run_dir: Run directory (``checkpoints/`` and metrics are written there).
        progress: Show a progress bar.
        resume: Continue from ``checkpoints/last.pt`` when present.

    Returns:
        The :class:`TrainResult`; ``model`` holds the best weights on return.

    Example:
        >>> import tempfile
        >>> class Mean(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.mu = nn.Parameter(torch.zeros(1))
        ...     def training_loss(self, batch):
        ...         return (batch["x"] - self.mu).square().mean()
        ...     validation_loss = training_loss
        >>> data = {"x": torch.full((100,), 3.0)}
        >>> cfg = TrainConfig(epochs=30, batch_size=10, lr=0.1, schedule="constant")
        >>> result = fit(Mean(), data, cfg, tempfile.mkdtemp(), progress=False)
        >>> result.best_val_loss < 1e-3, result.stopped
        (True, 'epochs')
    """
    config.validate()
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    n = len(next(iter(data.values())))
    train_idx, val_idx = split_indices(n, config.val_fraction, config.seed)
    if device.type == "cuda":
        data = {k: v.to(device) for k, v in data.items()}
        train_idx, val_idx = train_idx.to(device), val_idx.to(device)
    torch.manual_seed(config.seed)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    clock = {"fraction": 0.0}
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  _lr_lambda(config, steps_per_epoch, clock))
    state: dict[str, Any] = {"epoch": 0, "step": 0, "best_val": math.inf, "best_epoch": 0,
                             "bad_epochs": 0, "elapsed": 0.0, "history": [], "train_sum": 0.0}
    last = ckpt_dir / "last.pt"
    if resume and last.is_file():
        ckpt = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        state = ckpt["state"]
        if state.get("finished"):
            return _finish(model, ckpt_dir, run_dir, state, device)

    def save() -> None:
        atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "state": state}, last)

    stopped = "epochs"
    bar = tqdm(total=config.epochs * steps_per_epoch, initial=state["epoch"] * steps_per_epoch
               + state["step"], disable=not progress, unit="step", desc="training")
    t_start, t_ckpt = time.perf_counter() - state["elapsed"], time.perf_counter()
    while state["epoch"] < config.epochs:
        epoch = state["epoch"]
        torch.manual_seed(config.seed * 7919 + epoch * 104_729 + state["step"])
        for rows in _batches(train_idx, config.batch_size, config.seed, epoch, state["step"]):
            batch = {k: v[rows].to(device, non_blocking=True) for k, v in data.items()}
            loss = model.training_loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            if config.time_budget_s:
                clock["fraction"] = (time.perf_counter() - t_start) / config.time_budget_s
            scheduler.step()
            state["step"] += 1
            state["train_sum"] += float(loss.detach())
            state["elapsed"] = time.perf_counter() - t_start
            bar.update(1)
            for t in config.snapshots_s:
                name = ckpt_dir / f"snapshot-{t:g}s.pt"
                if state["elapsed"] >= t and not name.exists():
                    atomic_save({"model": model.state_dict(), "elapsed": state["elapsed"]}, name)
            if time.perf_counter() - t_ckpt >= config.checkpoint_every_s:
                save()
                t_ckpt = time.perf_counter()
            if config.time_budget_s is not None and state["elapsed"] >= config.time_budget_s:
                stopped = "time budget"
                break
        val = _evaluate(model, data, val_idx, max(config.batch_size, 1024), device)
        state["elapsed"] = time.perf_counter() - t_start
        row = {"epoch": epoch + 1, "train_loss": state["train_sum"] / max(state["step"], 1),
               "val_loss": val, "lr": optimizer.param_groups[0]["lr"],
               "seconds": round(state["elapsed"], 2)}
        state["history"].append(row)
        state.update(epoch=epoch + 1, step=0, train_sum=0.0)
        bar.set_postfix(train=f"{row['train_loss']:.4g}", val=f"{val:.4g}")
        if val < state["best_val"]:
            state.update(best_val=val, best_epoch=epoch + 1, bad_epochs=0)
            atomic_save({"model": model.state_dict(), "epoch": epoch + 1, "val_loss": val},
                        ckpt_dir / "best.pt")
        else:
            state["bad_epochs"] += 1
        if config.patience and state["bad_epochs"] >= config.patience:
            stopped = "early stopping"
        _write_metrics(run_dir, state["history"])
        with open(run_dir / "train.log", "a") as log:
            log.write(f"epoch {row['epoch']}: train {row['train_loss']:.6g} val {val:.6g} "
                      f"lr {row['lr']:.3g} time {row['seconds']:.1f} s\n")
        if stopped != "epochs":
            break
        save()
        t_ckpt = time.perf_counter()
    bar.close()
    state.update(finished=True, stopped=stopped)
    save()
    with open(run_dir / "train.log", "a") as log:
        log.write(f"stopped: {stopped}; best epoch {state['best_epoch']} "
                  f"(validation loss {state['best_val']:.6g})\n")
    return _finish(model, ckpt_dir, run_dir, state, device)


def _finish(model: nn.Module, ckpt_dir: Path, run_dir: Path, state: dict[str, Any],
            device: torch.device) -> TrainResult:
    best = ckpt_dir / "best.pt"
    if best.is_file():
        model.load_state_dict(torch.load(best, map_location=device, weights_only=False)["model"])
    result = TrainResult(epochs=state["epoch"], best_epoch=state["best_epoch"],
                         best_val_loss=state["best_val"], stopped=state.get("stopped", "epochs"),
                         train_seconds=round(state["elapsed"], 2), history=state["history"])
    summary = {k: v for k, v in result.to_json().items() if k != "history"}
    _write_metrics(run_dir, state["history"], summary)
    return result
