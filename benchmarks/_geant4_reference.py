"""Fidelity against Geant4 for ``fidelity.py --reference geant4``: a model trained on the
(tuned) fast simulator, scored against each cached Geant4 reference set of its geometry, beside
the tuned fast simulator scored the same way and the Geant4-vs-Geant4 floor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.data.io import ShowerFile
from caloforge.generation import generate as generate_file
from caloforge.simulate import ReferenceSimulator, load_config
from caloforge.simulate.geant4 import reference
from caloforge.train import Run

__all__ = ["geant4_rows"]

MODES = "cls-low,cls-high,hist"


def _fast(preset: str, path: Path, out: Path, seed: int) -> Path:
    """The tuned fast simulator at the Geant4 set's energies (kept if present)."""
    if not out.exists():
        energies = ShowerFile(path).read().energies
        cfg = load_config(preset, {"n": len(energies), "seed": seed, "chunk_size": 1000})
        ReferenceSimulator(cfg).write(out, energies=energies, progress=False)
    return out


def geant4_rows(runs: dict[str, Run], geometry: str, work: Path,
                evaluate: Callable[..., dict[str, Any]], seed: int = 303) -> list[dict[str, Any]]:
    """One row per cached Geant4 set of ``geometry``: each model and the tuned fast simulator
    against Geant4 (with the floor), and each model against the fast simulator at the same
    energies (the fast-sim score)."""
    rows = []
    for ref in reference.plan(geometry):
        path = reference.path_of(ref, 1)
        if not path.is_file():
            print(f"no Geant4 set {path}: run caloforge reference-set {geometry}")
            continue
        n = ShowerFile(path).n
        tag = ref.label
        fast = _fast(geometry, path, work / f"fast_{tag}.h5", seed)
        row: dict[str, Any] = {"set": tag, "n": n, "path": path.name,
                               "fast_vs_geant4": evaluate(path, fast, work / f"eval_fast_{tag}",
                                                          n, MODES, floor=True)}
        for name, run in runs.items():
            gen = work / f"gen_{name}_{tag}.h5"
            if not gen.exists():
                generate_file(run, np.asarray(ShowerFile(path).read().energies), gen,
                              batch_size=min(n, 10_000))
            row[f"{name}_vs_geant4"] = evaluate(path, gen, work / f"eval_{name}_{tag}", n, MODES)
            row[f"{name}_vs_fast"] = evaluate(fast, gen, work / f"eval_{name}_fast_{tag}", n,
                                              MODES)
        rows.append(row)
        print(f"{tag}: " + ", ".join(
            f"{k} cls-low {v.get('cls-low_auc', float('nan')):.3f}"
            for k, v in row.items() if isinstance(v, dict)), flush=True)
    return rows
