"""Same seed and thread count, same figures: integrate prints the same table twice, simulate
writes byte-identical files (generate: tests/test_train_runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from caloforge.cli.main import main


def test_integrate_twice_gives_identical_figures(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        assert main(["integrate", "--process", "camel-2d", "--train-calls", "20000",
                     "--eval-calls", "5000", "--seed", "0", "--threads", "1", "--compare",
                     "--no-progress"]) == 0
        outputs.append(capsys.readouterr().out)
    assert "nis" in outputs[0] and "vegas" in outputs[0]
    assert outputs[0] == outputs[1]


def test_simulate_twice_gives_identical_bytes(tmp_path: Path) -> None:
    files = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path in files:
        assert main(["simulate", "--geometry", "ild-photons", "-n", "40", "--seed", "3",
                     "--chunk-size", "16", "-o", str(path), "--no-progress"]) == 0
    assert files[0].read_bytes() == files[1].read_bytes()


def test_evaluate_twice_gives_identical_metrics(tmp_path: Path) -> None:
    """Separation powers, classifier AUC and FPD/KPD: the same seed and thread count give the
    same numbers (the JSON's timing and path fields aside)."""
    import json

    for name, seed in (("ref.h5", 1), ("gen.h5", 2)):
        assert main(["simulate", "--geometry", "calogan", "-n", "600", "--seed", str(seed), "-o",
                     str(tmp_path / name), "--no-progress"]) == 0
    metrics = []
    for out in ("a", "b"):
        assert main(["evaluate", "--reference", str(tmp_path / "ref.h5"), "--generated",
                     str(tmp_path / "gen.h5"), "--mode", "hist,cls-high,fpd,kpd", "--threads",
                     "1", "--no-plots", "--no-progress", "-o", str(tmp_path / out)]) == 0
        data = json.loads((tmp_path / out / "metrics.json").read_text())
        metrics.append(_without_timing(data["generated_vs_reference"]))
    assert metrics[0] == metrics[1]
    assert metrics[0]["summary"]["cls-high_auc"] > 0


def _without_timing(value: object) -> object:
    """The metrics with every ``seconds`` entry (wall time) removed."""
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def test_the_classifier_leaves_the_global_rng_alone() -> None:
    """The classifier's initialisation draws from torch's global RNG: seeded from the given seed
    inside, the caller's state restored, the result the same whatever the caller drew before.
    (NIS seeds the global RNG and leaves it so: madnis has no generator argument, and the
    unweighting efficiency's replicas continue that stream; caloforge/seeds.py.)"""
    import numpy as np
    import torch

    from caloforge.evaluate.classifier import ClassifierProtocol, run_classifier

    aucs = []
    for caller_seed in (1, 2):
        torch.manual_seed(caller_seed)
        state = torch.get_rng_state()
        x = np.random.default_rng(0).normal(size=(400, 3))
        small = ClassifierProtocol("tiny", (8,), 1e-2, 100, 3, None, False)
        aucs.append(run_classifier(x[:200], x[200:] + 0.5, protocol=small, seed=0,
                                   n_bootstrap=2).auc)
        assert torch.equal(torch.get_rng_state(), state)
    assert aucs[0] == aucs[1]
