"""Speed of the Geant4 engine: ms per shower and per GeV for each preset at 1, 10 and
100 GeV, with one worker process and with N.

Prints a table and writes ``benchmarks/results/geant4-speed.json``. Needs caloforge[geant4].

    python benchmarks/geant4_speed.py [--workers 2] [--scale 1.0] [--tag TAG]

``cpu ms/GeV`` is the Geant4 workers' CPU time per GeV of shower energy (the chunk loop: physics,
scoring, per-event readout), ``wall`` the command's wall-clock time including starting the
workers (about 2 s each, in parallel), ``showers/s`` what N workers deliver end to end.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

from _results import cpu_model, results_path
from caloforge import __version__
from caloforge.simulate import load_config
from caloforge.simulate.geant4 import simulate_geant4

#: Preset -> the particle its sets use.
PRESETS = {"calogan": "positron", "ds1-photons": "photon", "ds2": "electron",
           "ds3": "electron", "ild-photons": "photon"}
#: Energy (GeV) -> showers per measurement at --scale 1.
SHOWERS = {1: 40, 10: 16, 100: 4}


def measure(preset: str, gev: int, n: int, workers: int, out: Path) -> dict[str, float]:
    over = {"n": n, "seed": 1, "chunk_size": -(-n // workers), "particle": PRESETS[preset],
            "spectrum": {"kind": "fixed", "e_min_mev": 1000.0 * gev}}
    if preset == "ild-photons":          # fixed normal incidence, like the others
        over["incidence"] = {"theta_min_deg": 90.0, "theta_max_deg": 90.0}
    result = simulate_geant4(load_config(preset, over), out, workers=workers, force=True,
                             progress=False)
    return {"preset": preset, "gev": gev, "n": n, "workers": workers,
            "cpu_ms_per_shower": 1000 * result.cpu_seconds / n,
            "cpu_ms_per_gev": 1000 * result.cpu_seconds / (n * gev),
            "wall_s": result.seconds, "showers_per_s": n / result.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the shower counts")
    parser.add_argument("--tag", default="", help="write geant4-speed-TAG.json")
    args = parser.parse_args()
    rows = []
    print(f"{'preset':<12} {'GeV':>4} {'N':>2} {'showers':>7} {'cpu ms/shower':>13} "
          f"{'cpu ms/GeV':>10} {'wall s':>7} {'showers/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            for gev, n in SHOWERS.items():
                for workers in sorted({1, args.workers}):
                    count = max(workers, round(n * args.scale))
                    row = measure(preset, gev, count, workers, Path(tmp) / "speed.h5")
                    rows.append(row)
                    print(f"{preset:<12} {gev:>4} {workers:>2} {count:>7} "
                          f"{row['cpu_ms_per_shower']:>13.1f} {row['cpu_ms_per_gev']:>10.2f} "
                          f"{row['wall_s']:>7.1f} {row['showers_per_s']:>9.2f}", flush=True)
    record = {"caloforge": __version__, "cpu": cpu_model(), "python": platform.python_version(),
              "cores_used": args.workers, "cut_mm": 0.7, "physics": "data-free EM (analytic)",
              "rows": rows}
    path = results_path("geant4-speed", args.tag)
    path.write_text(json.dumps(record, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
