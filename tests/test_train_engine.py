"""The training engine: convergence, best checkpoint, early stopping, budget, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from caloforge.errors import InputError
from caloforge.train import TrainConfig, fit, parse_duration
from caloforge.train.optim import lr_lambda


class Line(nn.Module):
    """Least squares y = a x + b; can be told to crash after some steps."""

    def __init__(self, crash_after: int | None = None) -> None:
        super().__init__()
        self.ab = nn.Parameter(torch.zeros(2))
        self.calls = 0
        self.crash_after = crash_after

    def training_step(self, batch: dict[str, torch.Tensor], ctx: object
                      ) -> dict[str, torch.Tensor]:
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise RuntimeError("simulated crash")
        return self.validation_step(batch, ctx)

    def validation_step(self, batch: dict[str, torch.Tensor], ctx: object
                        ) -> dict[str, torch.Tensor]:
        return {"loss": (batch["y"] - self.ab[0] * batch["x"] - self.ab[1]).square().mean()}


def _data(n: int = 400) -> dict[str, torch.Tensor]:
    x = torch.linspace(-1, 1, n)
    return {"x": x, "y": 2.0 * x - 0.5 + 0.01 * torch.sin(37 * x)}


def test_fit_converges_and_writes_metrics(tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=40, batch_size=32, lr=0.05, schedule="cosine", patience=0)
    model = Line()
    result = fit(model, _data(), cfg, tmp_path, progress=False)
    assert model.ab.detach().tolist() == pytest.approx([2.0, -0.5], abs=0.02)
    assert result.epochs == 40 and result.stopped == "epochs"
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,lr,seconds" and len(lines) == 41
    summary = json.loads((tmp_path / "metrics.json").read_text())["summary"]
    assert summary["best_epoch"] == result.best_epoch
    assert (tmp_path / "checkpoints" / "best.pt").is_file()
    log = (tmp_path / "train.log").read_text().splitlines()
    assert len(log) == 41 and log[-1].startswith("stopped: epochs")


def test_early_stopping_and_time_budget(tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=500, batch_size=400, lr=1e-9, patience=3, schedule="constant")
    result = fit(Line(), _data(), cfg, tmp_path / "a", progress=False)
    assert result.stopped == "early stopping" and result.epochs < 500
    cfg = TrainConfig(epochs=100_000, batch_size=1, lr=1e-3, time_budget_s=0.5, patience=0)
    result = fit(Line(), _data(), cfg, tmp_path / "b", progress=False)
    assert result.stopped == "time budget" and result.train_seconds < 5


def test_crash_mid_epoch_resumes_and_finishes(tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=4, batch_size=40, lr=0.05, checkpoint_every_s=0.0, patience=0)
    steps_per_epoch = 9  # 360 training rows / 40
    crashing = Line(crash_after=2 * steps_per_epoch + 4)  # dies in the 3rd epoch
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(crashing, _data(), cfg, tmp_path, progress=False)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    assert ckpt["state"]["epoch"] == 2 and ckpt["state"]["step"] == 4
    resumed = Line()
    result = fit(resumed, _data(), cfg, tmp_path, progress=False)
    assert resumed.calls == 2 * steps_per_epoch - 4  # only the missing steps were run
    assert result.epochs == 4 and [h["epoch"] for h in result.history] == [1, 2, 3, 4]
    fresh = fit(Line(), _data(), cfg, tmp_path / "fresh", progress=False)
    assert result.best_val_loss == pytest.approx(fresh.best_val_loss, rel=1e-4)


def test_schedules() -> None:
    cosine = lr_lambda(TrainConfig(epochs=10, lr=1e-3, lr_min=1e-5, schedule="cosine"), 10)
    assert cosine(0) == pytest.approx(1.0) and cosine(100) == pytest.approx(0.01)
    onecycle = lr_lambda(TrainConfig(epochs=10, schedule="onecycle"), 10)
    assert onecycle(0) < 0.1 and onecycle(10) == pytest.approx(1.0) and onecycle(100) < 0.01
    # half the time budget used after 1 of 100 steps
    budget = lr_lambda(TrainConfig(epochs=10, lr=1e-3, lr_min=0.0), 10, lambda: 0.5)
    assert budget(1) == pytest.approx(0.5)
    step = lr_lambda(TrainConfig(epochs=10, schedule="step", step_epochs=2, gamma=0.5), 10)
    assert step(45) == pytest.approx(0.25)


def test_bad_settings() -> None:
    with pytest.raises(InputError, match="val_fraction"):
        TrainConfig(val_fraction=1.5).validate()
    with pytest.raises(InputError, match="duration"):
        parse_duration("an hour")


def test_progress_bar_follows_the_time_budget(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """With a time budget the bar counts seconds of it and ends full, not partway."""
    cfg = TrainConfig(epochs=100_000, batch_size=1, lr=1e-3, time_budget_s=1.0, patience=0)
    fit(Line(), _data(), cfg, tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "1/1" in err and "100%" in err
