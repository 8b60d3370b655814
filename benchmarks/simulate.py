"""Speed and memory of the reference simulator (single thread, no I/O unless stated).

Prints a table and writes ``benchmarks/results/simulate.json``.

    python benchmarks/simulate.py [--repeats 3] [--rss-n 100000]

Targets (issue 3): >= 1,000 ds1-photons and >= 100 ds2 showers/s/core at batch >= 1000;
time per shower at 4 TeV <= 2x that at 1 GeV; peak RSS for 100k ds1 showers written to a file.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from caloforge import __version__  # noqa: E402
from caloforge.simulate import ReferenceSimulator, load_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"


def showers_per_second(geometry: str, batch: int, repeats: int,
                       energy_mev: float | None = None) -> float:
    """Best-of-``repeats`` throughput of one batch (after a warm-up batch)."""
    over: dict[str, object] = {"n": batch, "chunk_size": batch, "seed": 1}
    if energy_mev is not None:
        over["spectrum"] = {"kind": "fixed", "e_min_mev": energy_mev}
    sim = ReferenceSimulator(load_config(geometry, over))
    rng = np.random.default_rng(0)
    energies = np.full(batch, energy_mev) if energy_mev else None
    from caloforge.simulate.incidence import sample_energies

    e = energies if energies is not None else sample_energies(sim.config.spectrum, batch, rng)
    sim.simulate_batch(e[: min(batch, 100)], rng)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        sim.simulate_batch(e, rng)
        best = min(best, time.perf_counter() - t0)
    return batch / best


def peak_rss_mb(n: int) -> tuple[float, float]:
    """Peak RSS (MB) and wall time of a child process writing ``n`` ds1-photons to a file.

    The peak is the child's own ``VmHWM`` (``ru_maxrss`` would carry the parent's peak across
    ``exec`` on Linux)."""
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import re, time; from caloforge.simulate import ReferenceSimulator, load_config;"
            f"sim = ReferenceSimulator(load_config('ds1-photons', {{'n': {n}, 'seed': 1}}));"
            f"t = time.perf_counter(); sim.write(r'{tmp}/x.h5', progress=False);"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
            "print(int(hwm) / 1024, time.perf_counter() - t)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ}).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rss-n", type=int, default=100_000)
    args = parser.parse_args()
    rows = []
    for geometry in ("ds1-photons", "ds2", "ds3", "calogan", "ild-photons"):
        batch = args.batch if geometry not in ("ds3", "ild-photons") else 200
        rate = showers_per_second(geometry, batch, args.repeats)
        rows.append({"case": f"{geometry} preset spectrum", "batch": batch,
                     "showers_per_s": round(rate, 1), "ms_per_shower": round(1e3 / rate, 3)})
    for geometry in ("ds1-photons", "ds2"):
        low = showers_per_second(geometry, args.batch, args.repeats, energy_mev=1_000.0)
        mid = showers_per_second(geometry, args.batch, args.repeats, energy_mev=100_000.0)
        high = showers_per_second(geometry, args.batch, args.repeats, energy_mev=4_000_000.0)
        for label, rate in (("1 GeV", low), ("100 GeV", mid), ("4 TeV", high)):
            rows.append({"case": f"{geometry} at {label}", "batch": args.batch,
                         "showers_per_s": round(rate, 1), "ms_per_shower": round(1e3 / rate, 3)})
        rows.append({"case": f"{geometry} t(4 TeV)/t(1 GeV)", "ratio": round(low / high, 3)})
        rows.append({"case": f"{geometry} t(4 TeV)/t(100 GeV)", "ratio": round(mid / high, 3)})
    rss, wall = peak_rss_mb(args.rss_n)
    rows.append({"case": f"ds1-photons {args.rss_n} showers to file", "peak_rss_mb": round(rss, 1),
                 "wall_s": round(wall, 2)})
    print(f"{'case':<36} {'batch':>6} {'showers/s':>10} {'ms/shower':>10} {'other':>16}")
    for r in rows:
        other = (f"ratio {r['ratio']}" if "ratio" in r else
                 f"RSS {r['peak_rss_mb']} MB" if "peak_rss_mb" in r else "")
        print(f"{r['case']:<36} {r.get('batch', ''):>6} {r.get('showers_per_s', ''):>10} "
              f"{r.get('ms_per_shower', ''):>10} {other:>16}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"caloforge": __version__, "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "threads": 1, "date": time.strftime("%Y-%m-%d"),
            "note": "caloforge reference simulator; single thread; no I/O except the RSS row"}
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
