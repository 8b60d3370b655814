"""Record CaloFlow training losses as the golden reference of the training engine.

Run once with the engine *before* a refactoring (``python tests/golden/record_caloflow_losses.py``)
and commit ``caloflow_tiny_seed0.json``; ``tests/test_train_golden.py`` checks that the current
engine reproduces the losses. Setting: the ``tiny`` preset, seed 0, 200 optimiser steps
(25 epochs of 8 steps) on 2000 synthetic ds1-photons-shaped showers (tests/golden/data.py),
one torch thread. Recorded at commit d685ecd (the engine of caloforge 0.1.0).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from data import golden_tensors  # noqa: E402

from caloforge.models.caloflow import CaloFlow  # noqa: E402
from caloforge.train.engine import fit  # noqa: E402
from caloforge.train.presets import load_recipe  # noqa: E402

OUT = Path(__file__).with_name("caloflow_tiny_seed0.json")


def main() -> None:
    torch.set_num_threads(1)
    tensors = golden_tensors()
    recipe = load_recipe("tiny", overrides={"train": {"epochs": 25, "seed": 0, "threads": 1,
                                                      "device": "cpu"}})
    cfg = recipe.model
    cfg.preprocessing.layer_sizes = [8, 160, 190, 5, 5]
    torch.manual_seed(0)
    model = CaloFlow(cfg)
    model.fit_preprocessing(tensors, seed=0)
    losses: list[float] = []
    original = model.training_loss

    def recording(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        loss = original(batch)
        if torch.is_grad_enabled():
            losses.append(float(loss.detach()))
        return loss

    model.training_loss = recording  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(model, tensors, recipe.train, tmp, progress=False)
    OUT.write_text(json.dumps({
        "setting": "tiny preset, seed 0, 25 epochs x 8 steps, 2000 synthetic showers, 1 thread",
        "torch": torch.__version__, "steps": len(losses), "train_losses": losses,
        "val_losses": [h["val_loss"] for h in result.history]}, indent=1))
    print(f"{len(losses)} steps, first {losses[0]:.6f}, last {losses[-1]:.6f} -> {OUT}")


if __name__ == "__main__":
    main()
