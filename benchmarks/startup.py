"""Start-up time of the command line: ``caloforge --help`` and every ``caloforge CMD --help``,
median of 5 runs each in a fresh process. Prints a table and writes
``benchmarks/results/startup.json``.

    python benchmarks/startup.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _results import cpu_model, results_path
from caloforge import __version__
from caloforge.cli.main import build_parser

RUNS = 5


def seconds(args: list[str]) -> float:
    """Median wall time of ``caloforge ARGS`` over :data:`RUNS` fresh processes."""
    beside = Path(sys.executable).parent / "caloforge"  # this interpreter's entry point
    exe = str(beside) if beside.exists() else shutil.which("caloforge") or "caloforge"
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run([exe, *args], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    rows = [{"command": "caloforge --help", "median_s": round(seconds(["--help"]), 3)}]
    for name in sub.choices:
        rows.append({"command": f"caloforge {name} --help",
                     "median_s": round(seconds([name, "--help"]), 3)})
    for row in rows:
        print(f"{row['command']:<36} {row['median_s']:.3f} s")
    meta = {"caloforge": __version__, "cpus": os.cpu_count(), "runs": RUNS,
            "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
            "note": "median wall time of a fresh process"}
    path = results_path("startup")
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
