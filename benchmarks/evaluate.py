"""Speed and memory of ``caloforge evaluate`` on caloforge reference data.

    python benchmarks/evaluate.py [--n-ds1 100000] [--n-ds3 20000] [--ds3-sizes 5000,20000]
        [--skip-classifier]
    python benchmarks/evaluate.py --per-mode [--geometries ds3,ds2] [--n-per-mode 10000]
        [--modes hist,cls-low,...] [--classifier-epochs 2]

Rows: 100k vs 100k ds1-photons in ``hist`` mode (target < 60 s on 2 cores); the ``fast``
classifier (cls-low) on the same pair (target < 10 min); ``hist`` + ``cls-high`` on ds3 at two
sample sizes, each in its own process, with its peak RSS (target < 2 GiB, independent of N).
Writes ``benchmarks/results/evaluate.json``.

``--per-mode``: every evaluation mode alone, in its own process, on 10k vs 10k showers of each
geometry (default ds3 and ds2): wall seconds and peak RSS (target <= 4 GB in every mode).
``--classifier-epochs E`` caps the ``fast`` voxel classifiers (cls-low, cls-low-normed,
cls-resnet) at E epochs without early stopping, as their full schedules take hours on 2 CPU
cores; the peak RSS does not depend on the number of epochs, the time scales with it (the
JSON records the epochs run). Writes ``benchmarks/results/evaluate-modes.json`` (rows of other
geometries already there are kept).
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
MODE_RESULTS = RESULTS.with_name("evaluate-modes.json")
#: Peak RSS target of every mode at 10k vs 10k ds3 showers (issue 25).
RSS_TARGET_MB = 4000

CHILD_MODE = """
import dataclasses, json, re, sys, time
from caloforge.evaluate import classifier
from caloforge.evaluate import evaluate_files
mode, epochs = sys.argv[4], int(sys.argv[6])
if epochs and mode in ("cls-low", "cls-low-normed", "cls-resnet"):
    for table in (classifier.PROTOCOLS, classifier.RESNET_PROTOCOLS):
        table["fast"] = dataclasses.replace(table["fast"], epochs=epochs, patience=None)
t = time.perf_counter()
res = evaluate_files(sys.argv[1], sys.argv[2], sys.argv[3], modes=mode,
                     max_showers=int(sys.argv[5]), n_bootstrap=10)
seconds = time.perf_counter() - t
hwm = re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)
cls = res.metrics["generated_vs_reference"]["classifiers"]
print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(int(hwm) / 1024, 1),
                  "auc": {c["mode"]: round(c["auc"], 4) for c in cls},
                  "epochs_run": {c["mode"]: c["epochs_run"] for c in cls},
                  "classifier_seconds": {c["mode"]: round(c["seconds"], 1) for c in cls}}))
"""

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


def _per_mode(args: argparse.Namespace, work: Path) -> None:
    """Each mode alone on 10k vs 10k showers per geometry: seconds and peak RSS."""
    from caloforge.evaluate.modes import MODES

    modes = [m for m in args.modes.split(",") if m] or list(MODES)
    for geometry in [g for g in args.geometries.split(",") if g]:
        n = args.n_per_mode
        paths = [work / f"{geometry}_{n}_a.h5", work / f"{geometry}_{n}_b.h5"]
        for seed, path in enumerate(paths, start=1):
            if not path.exists():
                _simulate(geometry, n, seed, path)
        for mode in modes:
            out = work / f"ev_{geometry}_{mode}"
            proc = subprocess.run([sys.executable, "-c", CHILD_MODE, str(paths[0]),
                                   str(paths[1]), str(out), mode, str(n),
                                   str(args.classifier_epochs)],
                                  capture_output=True, text=True,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
            if proc.returncode != 0:
                r = {"error": proc.stderr.strip().splitlines()[-1:]}
            else:
                r = json.loads(proc.stdout.strip().splitlines()[-1])
            row = {"geometry": geometry, "mode": mode, "n_per_file": n, **r,
                   "load_avg_1min": round(os.getloadavg()[0], 1)}  # wall times are shared
            if mode in ("cls-low", "cls-low-normed", "cls-resnet"):
                row["classifier_epochs"] = args.classifier_epochs or "full fast schedule"
            row["within_target"] = r.get("peak_rss_mb", RSS_TARGET_MB + 1) <= RSS_TARGET_MB
            print(json.dumps(row), flush=True)
            _write_mode_row(row, args)
    print(f"wrote {MODE_RESULTS}; data in {work}")


def _write_mode_row(row: dict[str, object], args: argparse.Namespace) -> None:
    """Add (or replace) one row of ``evaluate-modes.json``, keeping the others."""
    rows = []
    if MODE_RESULTS.exists():
        rows = [r for r in json.loads(MODE_RESULTS.read_text())["rows"]
                if (r["geometry"], r["mode"]) != (row["geometry"], row["mode"])]
    rows.append(row)
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d"), "torch_threads": 1,
            "rss_target_mb": RSS_TARGET_MB,
            "note": "caloforge reference data (simulator, seeds 1 and 2), not Geant4; each mode "
                    "alone in its own process (evaluate_files, plots on, n_bootstrap 10), "
                    "peak RSS = VmHWM; protocol fast; load_avg_1min: the machine's load at "
                    "the end of the row (other jobs ran too). With classifier_epochs E the voxel "
                    "classifiers ran E epochs without early stopping (their full schedules "
                    "take hours on 2 CPU cores): memory as in a full run, seconds not."}
    MODE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    MODE_RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


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
    parser.add_argument("--per-mode", action="store_true",
                        help="time every mode alone instead (evaluate-modes.json)")
    parser.add_argument("--geometries", default="ds3,ds2", help="with --per-mode")
    parser.add_argument("--n-per-mode", type=int, default=10_000, help="with --per-mode")
    parser.add_argument("--modes", default="", help="with --per-mode (default: every mode)")
    parser.add_argument("--classifier-epochs", type=int, default=0,
                        help="with --per-mode: cap the voxel classifiers at this many epochs "
                             "(0: the full fast schedule)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="caloforge-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.per_mode:
        _per_mode(args, work)
        return
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
