"""Golden losses: the training path reproduces caloforge 0.1's engine to 1e-6.

``tests/golden/caloflow_tiny_seed0.json`` was recorded before the model-families refactoring
(``tests/golden/record_caloflow_losses.py`` at commit d685ecd): CaloFlow, tiny preset, seed 0,
200 optimiser steps through ``caloforge train``'s path, one thread.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from caloforge.data import Showers, write_showers
from caloforge.models.caloflow import CaloFlow
from caloforge.train import train_run

GOLDEN = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))
from data import golden_tensors  # noqa: E402


def test_caloflow_losses_match_the_recorded_engine(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    golden = json.loads((GOLDEN / "caloflow_tiny_seed0.json").read_text())
    tensors = golden_tensors()
    path = tmp_path / "golden.h5"
    write_showers(path, Showers(tensors["energies"].double().numpy(),
                                tensors["voxels"].numpy().astype(np.float32),
                                geometry="ds1-photons"))
    losses: list[float] = []
    original = CaloFlow.training_step

    def recording(self: CaloFlow, batch: dict[str, torch.Tensor], ctx: object) -> object:
        out = original(self, batch, ctx)  # type: ignore[arg-type]
        losses.append(float(out["loss"].detach()))
        return out

    monkeypatch.setattr(CaloFlow, "training_step", recording)
    _, reports = train_run("caloflow", path, tmp_path / "run", preset="tiny", stages=["teacher"],
                           train={"*": {"epochs": 25, "seed": 0, "threads": 1, "device": "cpu"}},
                           progress=False)
    assert len(losses) == golden["steps"] == 200
    np.testing.assert_allclose(losses, golden["train_losses"], rtol=0, atol=1e-6)
    result = reports[0].result
    assert result is not None and result.epochs == 25
    # validation now draws its noise from a fixed stream (the old engine continued the training
    # stream): the same model, other dequantisation noise
    np.testing.assert_allclose([h["val_loss"] for h in result.history], golden["val_losses"],
                               rtol=0, atol=5e-3)
