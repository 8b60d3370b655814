"""Speed and memory of ``caloforge evaluate`` on caloforge reference data.

    python benchmarks/evaluate.py [--n-ds1 100000] [--n-ds3 20000] [--ds3-sizes 5000,20000]
        [--skip-classifier]

Rows: 100k vs 100k ds1-photons in ``hist`` mode (target < 60 s on 2 cores); the ``fast``
classifier (cls-low) on the same pair (target < 10 min); ``hist`` + ``cls-high`` on ds3 at two
sample sizes, each in its own process, with its peak RSS (target < 2 GiB, independent of N).
Writes ``benchmarks/results/evaluate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "evaluate.json"

CHILD = """
import json, re, sys, time
from caloforge.evaluate import evaluate_files
t = time.perf_counter()
res = evaluate_files(sys.argv[1], sys.argv[2], sys.argv[3], modes=sys.argv[4],
                     max_showers=int(sys.argv[5]), n_bootstrap=10)
seconds = time.perf_counter() - t
hwm = re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)
aucs = {c["mode"]: round(c["auc"], 4) for c in res.metrics["generated_vs_reference"]["classifiers"]}
print(seconds, int(hwm) / 1024, json.dumps(aucs))
"""


def _simulate(geometry: str, n: int, seed: int, path: Path) -> None:
    subprocess.run([sys.executable, "-m", "caloforge.cli.main", "simulate", "--geometry",
                    geometry, "-n", str(n), "--seed", str(seed), "-o", str(path), "--force",
                    "--no-progress"], check=True, capture_output=True)


def _evaluate(ref: Path, gen: Path, out: Path, modes: str, n: int,
              env: dict[str, str] | None = None) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ref), str(gen), str(out), modes,
                           str(n)], check=True, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    seconds, rss, aucs = proc.stdout.strip().split(" ", 2)
    return {"seconds": round(float(seconds), 1), "peak_rss_mb": round(float(rss), 1),
            "auc": json.loads(aucs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ds1", type=int, default=100_000)
    parser.add_argument("--n-ds3", type=int, default=20_000)
    parser.add_argument("--ds3-sizes", default="",
                        help="ds3 sample sizes to compare, e.g. 5000,20000,40000 (default: "
                             "N/4 and N of --n-ds3)")
    parser.add_argument("--skip-classifier", action="store_true")
    parser.add_argument("--fixed-mmap-threshold", action="store_true",
                        help="run the ds3 rows with glibc's mmap threshold fixed at 128 kB "
                             "(MALLOC_MMAP_THRESHOLD_), so that the peak RSS shows live memory "
                             "rather than heap fragmentation")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="caloforge-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    ds1 = [work / "ds1_a.h5", work / "ds1_b.h5"]
    ds3 = [work / "ds3_a.h5", work / "ds3_b.h5"]
    n_ds3 = max([args.n_ds3, *(int(n) for n in args.ds3_sizes.split(",") if n)])
    for paths, geometry, n in ((ds1, "ds1-photons", args.n_ds1), (ds3, "ds3", n_ds3)):
        for seed, path in enumerate(paths, start=1):
            if not path.exists():
                _simulate(geometry, n, seed, path)
    r = _evaluate(ds1[0], ds1[1], work / "ev_ds1_hist", "hist", args.n_ds1)
    rows.append({"case": f"ds1-photons {args.n_ds1} vs {args.n_ds1}, hist (with plots)", **r})
    if not args.skip_classifier:
        r = _evaluate(ds1[0], ds1[1], work / "ev_ds1_cls", "cls-low", args.n_ds1)
        rows.append({"case": f"ds1-photons {args.n_ds1} vs {args.n_ds1}, cls-low fast", **r})
    sizes = [int(n) for n in args.ds3_sizes.split(",") if n] or [args.n_ds3 // 4, args.n_ds3]
    for n in sizes:
        env = {"MALLOC_MMAP_THRESHOLD_": "131072"} if args.fixed_mmap_threshold else None
        r = _evaluate(ds3[0], ds3[1], work / f"ev_ds3_{n}", "hist,cls-high", n, env)
        tag = ", mmap threshold 128 kB" if env else ""
        rows.append({"case": f"ds3 {n} vs {n}, hist + cls-high fast{tag}", **r})
    print(f"{'case':<52} {'seconds':>8} {'peak RSS MB':>12}  AUC")
    for row in rows:
        print(f"{row['case']:<52} {row['seconds']:>8} {row['peak_rss_mb']:>12}  {row['auc']}")
    if args.skip_classifier and RESULTS.exists():  # keep the earlier classifier row
        done = {row["case"] for row in rows}
        rows += [row for row in json.loads(RESULTS.read_text())["rows"]
                 if row["case"] not in done and ("cls-low" in row["case"]
                                                 or args.fixed_mmap_threshold)]
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d"),
            "note": "caloforge reference data (simulator), independent seeds; not Geant4"}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}; data in {work}")


if __name__ == "__main__":
    main()
