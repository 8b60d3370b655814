# ruff: noqa  (runs against the tree of commit d685ecd, whose modules are gone since)
"""Record CaloFlow training losses as the golden reference of the training engine.

Run once with the engine *before* a refactoring and commit ``caloflow_tiny_seed0.json``;
``tests/test_train_golden.py`` checks that the current training path reproduces the losses.
Setting: ``caloforge train``'s path (file -> preprocessing fitted on a seeded subset -> engine)
with the ``tiny`` preset, seed 0 for the split, the shuffling, the noise and the weight
initialisation, 200 optimiser steps (25 epochs of 8 steps) on 2000 synthetic ds1-photons-shaped
showers (tests/golden/data.py), one torch thread. Recorded at commit d685ecd (caloforge 0.1.0's
engine) with ``PYTHONPATH=src python tests/golden/record_caloflow_losses.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from data import golden_tensors  # noqa: E402

from caloforge.data import Showers, write_showers  # noqa: E402
from caloforge.models.caloflow import CaloFlow  # noqa: E402
from caloforge.train.caloflow import load_training_data, train_caloflow  # noqa: E402
from caloforge.train.presets import load_recipe  # noqa: E402

OUT = Path(__file__).with_name("caloflow_tiny_seed0.json")


def main() -> None:
    tensors = golden_tensors()
    losses: list[float] = []
    original = CaloFlow.training_loss

    def recording(self: CaloFlow, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        loss = original(self, batch)
        if torch.is_grad_enabled():
            losses.append(float(loss.detach()))
        return loss

    CaloFlow.training_loss = recording  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "golden.h5"
        write_showers(path, Showers(tensors["energies"].double().numpy(),
                                    tensors["voxels"].numpy().astype(np.float32),
                                    geometry="ds1-photons"))
        recipe = load_recipe("tiny", overrides={"train": {"epochs": 25, "seed": 0,
                                                          "threads": 1, "device": "cpu"}})
        torch.manual_seed(0)  # the old path left the weight initialisation unseeded
        _, result = train_caloflow(load_training_data(path), Path(tmp) / "run", recipe,
                                   progress=False)
    OUT.write_text(json.dumps({
        "setting": "caloforge train path, tiny preset, seed 0 (init too), 25 epochs x 8 steps, "
                   "2000 synthetic showers, 1 thread", "recorded_at": "d685ecd",
        "torch": torch.__version__, "steps": len(losses), "train_losses": losses,
        "val_losses": [h["val_loss"] for h in result.history]}, indent=1) + "\n")
    print(f"{len(losses)} steps, first {losses[0]:.6f}, last {losses[-1]:.6f} -> {OUT}")


if __name__ == "__main__":
    main()
