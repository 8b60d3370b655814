"""The calorimeter part of ``benchmarks/amplification.py``: CaloFlow runs trained on N fast-
simulator ds1-photons showers, a large simulated truth pool, and the high-level features of
each (computed chunk by chunk and cached, so an interrupted benchmark resumes).

Every sample here comes from caloforge's fast simulator as tuned to Geant4, not from Geant4.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from caloforge.data.io import ShowerFile
from caloforge.data.showers import Showers
from caloforge.evaluate.features import compute_features
from caloforge.geometry import get_geometry
from caloforge.seeds import derive
from caloforge.simulate import ReferenceSimulator, load_config
from caloforge.train import Run, train_run

__all__ = ["FeatureCache", "generated_features", "train_size_run", "truth_features"]

GEOMETRY = "ds1-photons"
#: Seeds of the simulated sets (training showers are the first N of one file, so the smaller
#: training sets are subsets of the larger ones; the truth pool is independent of them).
SEEDS = {"train": 404, "truth": 505, "generate": 606, "conditions": 707}
CHUNK = 10_000
TEACHER_BATCH, STUDENT_BATCH = 256, 250


def simulate(path: Path, n: int, seed: int) -> Path:
    """Fast-simulator showers (kept if the file exists)."""
    if not path.exists():
        ReferenceSimulator(load_config(GEOMETRY, {"n": n, "seed": seed})).write(
            path, progress=False)
    return path


class FeatureCache:
    """High-level features of a sample in ``DIR/chunk-K.npy`` (float32, one row per shower)
    plus ``DIR/names.json``; finished chunks survive an interruption."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def has(self, k: int) -> bool:
        return (self.folder / f"chunk-{k}.npy").exists()

    def put(self, k: int, named: dict[str, np.ndarray]) -> None:
        names = self.folder / "names.json"
        if not names.exists():
            names.write_text(json.dumps(list(named)))
        tmp = self.folder / f"chunk-{k}.tmp.npy"
        np.save(tmp, np.stack(list(named.values()), axis=1).astype(np.float32))
        tmp.replace(self.folder / f"chunk-{k}.npy")

    def load(self, n_chunks: int) -> tuple[list[str], np.ndarray]:
        names = json.loads((self.folder / "names.json").read_text())
        rows = [np.load(self.folder / f"chunk-{k}.npy") for k in range(n_chunks)]
        return names, np.concatenate(rows).astype(np.float64)


def _fill(cache: FeatureCache, chunks: Iterator[tuple[int, Showers | None]]) -> None:
    geo = get_geometry(GEOMETRY)
    for k, showers in chunks:
        if showers is not None:
            cache.put(k, compute_features(showers, geo).named())


def truth_features(work: Path, n: int) -> tuple[list[str], np.ndarray]:
    """Features of ``n`` truth showers (simulated once into ``WORK/truth.h5``)."""
    path = simulate(work / "truth.h5", n, SEEDS["truth"])
    cache = FeatureCache(work / "features" / "truth")
    f = ShowerFile(path)
    _fill(cache, ((k, None if cache.has(k) else f.read(k * CHUNK, (k + 1) * CHUNK))
                  for k in range(-(-n // CHUNK))))
    return cache.load(-(-n // CHUNK))


def train_size_run(work: Path, n_train: int, preset: str, teacher_steps: int,
                   student_steps: int, hidden: int, threads: int | None = None) -> Run:
    """CaloFlow (teacher, then distilled student) trained on the first ``n_train`` showers of
    ``WORK/train.h5`` for about the same number of optimiser steps at every size (epochs =
    steps / steps per epoch; early stopping on the validation split ends small sets sooner);
    Flow II's hidden layers reduced to ``hidden`` units; ``threads`` torch threads (1 when
    other jobs share the cores: spinning threads of oversubscribed cores stall). Resumed when
    interrupted, a no-op when finished."""
    data = simulate(work / "train.h5", 20_000, SEEDS["train"])
    out = work / f"run-{n_train}"
    per_epoch = max(1, -(-int(0.9 * n_train) // TEACHER_BATCH))
    per_epoch_s = max(1, -(-int(0.9 * n_train) // STUDENT_BATCH))
    stages = {"teacher": {"epochs": max(1, teacher_steps // per_epoch), "device": "cpu",
                          "batch_size": TEACHER_BATCH, "lr": 1e-3, "patience": 30,
                          "threads": threads},
              "student": {"epochs": max(1, student_steps // per_epoch_s), "device": "cpu",
                          "batch_size": STUDENT_BATCH, "patience": 20, "threads": threads}}
    overrides = {"model": {"flow2": {"hidden": [hidden, hidden]}}}
    train_run("caloflow", data, out, preset=None if out.exists() else preset,
              overrides=None if out.exists() else overrides, max_showers=n_train,
              train=stages, progress=False)
    return Run.load(out, device="cpu", stage="student")


def generated_features(work: Path, run: Run, name: str, n: int,
                       energies: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Features of ``n`` showers sampled from ``run`` at incident energies drawn (with
    replacement, seeded per chunk, so a larger ``n`` extends a smaller one) from ``energies``."""
    cache = FeatureCache(work / "features" / name)

    def chunks() -> Iterator[tuple[int, Showers | None]]:
        for k in range(-(-n // CHUNK)):
            if cache.has(k):
                yield k, None
                continue
            rng = np.random.default_rng([SEEDS["conditions"], k])
            part = rng.choice(energies, size=min(CHUNK, n - k * CHUNK))
            yield k, run.sample(part, seed=derive(SEEDS["generate"], name, k), batch_size=CHUNK)
            print(f"  {name}: chunk {k + 1}/{-(-n // CHUNK)}", flush=True)

    _fill(cache, chunks())
    return cache.load(-(-n // CHUNK))
