"""The fast simulator's speed-up over Geant4, per preset: at 1, 10 and 100 GeV and on the
preset's own spectrum, textbook and tuned (one thread, batch 1000, best of ``--repeats``).

Geant4's CPU time per shower is ``results/geant4-speed.json`` (one worker, data-free EM
physics, cut 0.7 mm); on a spectrum it is the mean over the preset's energies of the per-GeV
cost interpolated in log(E) between the measured energies. Run it on an otherwise idle machine.

    python benchmarks/speedup.py [--repeats 2]

Prints a table and writes ``benchmarks/results/speedup.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from _results import RESULTS, cpu_model, results_path  # noqa: E402
from caloforge._version import __version__  # noqa: E402
from caloforge.simulate import ReferenceSimulator, ShapeConfig, load_config  # noqa: E402
from caloforge.simulate.incidence import chunk_streams  # noqa: E402
from caloforge.tables import write_json  # noqa: E402

PRESETS = ("calogan", "ds1-photons", "ds2", "ild-photons")
BATCH = 1000


def g4_ms_per_gev(preset: str) -> tuple[np.ndarray, np.ndarray]:
    """Measured energies (GeV) and Geant4 CPU ms per GeV, one worker."""
    rows = [r for r in json.loads((RESULTS / "geant4-speed.json").read_text())["rows"]
            if r["preset"] == preset and r["workers"] == 1]
    rows.sort(key=lambda r: r["gev"])
    return (np.array([r["gev"] for r in rows], dtype=float),
            np.array([r["cpu_ms_per_gev"] for r in rows], dtype=float))


def g4_ms(preset: str, energies_mev: np.ndarray) -> float:
    """Geant4 CPU ms per shower averaged over ``energies_mev``."""
    gev, per_gev = g4_ms_per_gev(preset)
    e = np.asarray(energies_mev, dtype=float) / 1000.0
    return float(np.mean(e * np.interp(np.log(e), np.log(gev), per_gev)))


def fast_ms(preset: str, energy_mev: float | None, tuned: bool, repeats: int) -> tuple[float,
                                                                                       np.ndarray]:
    """Best ms per shower of one batch, and the batch's energies."""
    over: dict[str, Any] = {"n": BATCH, "chunk_size": BATCH, "seed": 1}
    if energy_mev is not None:
        over["spectrum"] = {"kind": "fixed", "e_min_mev": energy_mev}
    cfg = load_config(preset, over)
    if not tuned:
        cfg.shape = ShapeConfig()
    sim = ReferenceSimulator(cfg)
    energies, _ = next(chunk_streams(cfg))
    sim.simulate_batch(energies[:50], np.random.default_rng(0))        # warm-up
    best = float("inf")
    for k in range(repeats):
        rng = np.random.default_rng(k)
        t0 = time.perf_counter()
        sim.simulate_batch(energies, rng)
        best = min(best, time.perf_counter() - t0)
    return 1000.0 * best / len(energies), energies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--presets", default=",".join(PRESETS))
    args = p.parse_args()
    rows = []
    print(f"{'preset':<12} {'energy':>9} {'G4 ms':>8} {'fast ms':>8} {'tuned ms':>8} "
          f"{'speed-up':>9}")
    for preset in args.presets.split(","):
        for energy in (1_000.0, 10_000.0, 100_000.0, None):
            before, _ = fast_ms(preset, energy, False, args.repeats)
            after, energies = fast_ms(preset, energy, True, args.repeats)
            g4 = g4_ms(preset, energies)
            label = "spectrum" if energy is None else f"{energy / 1000:g} GeV"
            rows.append({"preset": preset, "energy": label, "geant4_ms": g4,
                         "textbook_ms": before, "tuned_ms": after, "speedup": g4 / after})
            print(f"{preset:<12} {label:>9} {g4:8.1f} {before:8.3f} {after:8.3f} "
                  f"{g4 / after:9.0f}", flush=True)
    out = write_json(results_path("speedup"), {
        "meta": {"caloforge": __version__, "cpu": cpu_model(), "threads": 1, "batch": BATCH,
                 "date": time.strftime("%Y-%m-%d"),
                 "geant4": "results/geant4-speed.json, one worker"}, "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
