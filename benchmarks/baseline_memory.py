"""The baseline family on a ds3-shaped file: training streams the data in bounded memory.

Simulates N ds3 showers (40,500 voxels; caloforge reference simulator, not Geant4), then trains
the ``baseline`` family on them with ``caloforge train`` (the file's voxels exceed the 2 GB
in-memory limit, so the data are streamed in blocks), generates and scores showers. Every step
runs in a fresh process that reports its own peak RSS (``VmHWM``). Prints a table and writes
``benchmarks/results/baseline_ds3.json``.

    python benchmarks/baseline_memory.py --work runs/bench-ds3 --n 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _results import results_path
from caloforge import __version__

CHILD = r"""
import re, sys
from caloforge.cli.main import main
code = main(sys.argv[1:])
hwm = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(f"PEAK_RSS_MB {hwm:.1f}")
sys.exit(code)
"""


def step(name: str, args: list[str], cwd: Path) -> dict[str, object]:
    """One ``caloforge`` command in a fresh process: wall time and its peak RSS."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=cwd, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name} failed: {done.stderr.strip()}")
    peak = float(done.stdout.rsplit("PEAK_RSS_MB", 1)[1])
    summary = [line for line in done.stdout.splitlines() if line and "PEAK_RSS" not in line]
    row = {"step": name, "seconds": round(seconds, 1), "peak_rss_mb": round(peak),
           "output": summary[-1] if summary else ""}
    print(f"{name:<10} {row['seconds']:>8} s  {row['peak_rss_mb']:>6} MB   {row['output']}",
          flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("runs/bench-ds3"))
    p.add_argument("--n", type=int, default=20_000, help="ds3 showers in the training file")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / "ds3.h5"
    threads = ["--threads", str(args.threads)]
    rows = []
    if not data.is_file():
        rows.append(step("simulate", ["simulate", "--geometry", "ds3", "-n", str(args.n),
                                      "--seed", "7", "-o", str(data), "--no-progress"], work))
    rows.append(step("train", ["train", "--model", "baseline", "--data", str(data), "-o",
                               str(work / "run"), "--force", "--no-progress", *threads], work))
    rows.append(step("generate", ["generate", "--run", str(work / "run"), "-n", "2000", "-o",
                                  str(work / "gen.h5"), "--force", "--no-progress", *threads],
                     work))
    rows.append(step("log-prob", ["log-prob", str(work / "gen.h5"), "--run", str(work / "run"),
                                  "--batch-size", "500", "--no-progress", *threads], work))
    voxels_gb = 4 * args.n * 40_500 / 1e9
    meta = {"caloforge": __version__, "cpus": os.cpu_count(), "threads": args.threads,
            "cpu": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
            "n": args.n, "voxels": 40_500, "float32_voxels_gb": round(voxels_gb, 2),
            "file_gb_on_disk": round(data.stat().st_size / 1e9, 3),
            "note": "caloforge reference simulator ds3 showers, not Geant4; peak RSS is each "
                    "step's own VmHWM"}
    print(f"\n{args.n} ds3 showers: {voxels_gb:.2f} GB of float32 voxels, "
          f"{meta['file_gb_on_disk']} GB on disk (gzip)")
    path = results_path("baseline_ds3")
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
