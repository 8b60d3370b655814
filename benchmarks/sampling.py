"""Sampling speed of CaloFlow teacher (MAF) and student (IAF): the CaloChallenge timing table.

ms/shower at batch 1, 100 and 10,000, parameter counts and peak RSS, each case in a fresh
child process (its own ``VmHWM``). Prints a table and writes
``benchmarks/results/sampling[-TAG].json``.

    python benchmarks/sampling.py                       # ds1-photons preset, fresh weights
    python benchmarks/sampling.py --run runs/ds1 --tag trained   # its teacher and student stages
    python benchmarks/sampling.py --device cuda --tag h100

Without ``--run`` the script trains the preset's models for a few seconds
(speed does not depend on how well a model is trained). The MAF teacher needs one network
pass per voxel, so on CPU its batch-10k row is skipped unless ``--teacher-full`` is given.
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

import torch

from _results import results_path
from caloforge import __version__
from caloforge.simulate import ReferenceSimulator, load_config
from caloforge.train import train_run

BATCHES = (1, 100, 10_000)

CHILD = r"""
import json, re, sys, time
import numpy as np, torch
from caloforge.train.run import Run
path, stage, device = sys.argv[1], sys.argv[2], sys.argv[3]
batch, n, threads = (int(v) for v in sys.argv[4:7])
if threads:
    torch.set_num_threads(threads)
run = Run.load(path, device=device, stage=stage)
energies = np.exp(np.random.default_rng(0).uniform(np.log(256.0), np.log(4.2e6), n))
def sync():
    if device.startswith("cuda"):
        torch.cuda.synchronize()
run.sample(energies[:batch], batch_size=batch)  # warm-up
sync()
t0 = time.perf_counter()
run.sample(energies, batch_size=batch)
sync()
dt = time.perf_counter() - t0
hwm = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(json.dumps({"ms_per_shower": 1e3 * dt / n, "peak_rss_mb": hwm, "showers": n,
                  "parameters": run.parameter_counts()[stage]}))
"""


def measure(run: Path, stage: str, device: str, batch: int, n: int, threads: int
            ) -> dict[str, float]:
    """One timing case in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(run), stage, device, str(batch),
                          str(n), str(threads)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def quick_run(preset: str, folder: Path, device: str) -> Path:
    """Teacher and student of ``preset`` trained for seconds on simulated ds1-photons."""
    data_path = folder / "ds1.h5"
    ReferenceSimulator(load_config("ds1-photons", {"n": 4000, "seed": 11})).write(
        data_path, progress=False)
    train_run("caloflow", data_path, folder / "run", preset=preset, progress=False,
              train={"*": {"epochs": 1, "time_budget_s": 10.0, "device": device}})
    return folder / "run"


def cases(kind: str, device: str, teacher_full: bool) -> list[tuple[int, int]]:
    """(batch, showers) pairs to time for a model kind."""
    if kind == "student":
        return [(1, 200), (100, 2000), (10_000, 20_000)]
    out = [(1, 3), (100, 100)]
    if teacher_full or device.startswith("cuda"):
        out.append((10_000, 10_000))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="caloflow run directory (teacher and student)")
    parser.add_argument("--preset", default="ds1-photons", help="recipe for fresh models")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--teacher-full", action="store_true", help="time the MAF at 10k on CPU")
    parser.add_argument("--tag", default="", help="suffix of the JSON file name")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or quick_run(args.preset, Path(tmp), args.device)
        rows = []
        for kind in ("student", "teacher"):
            for batch, n in cases(kind, args.device, args.teacher_full):
                r = measure(run, kind, args.device, batch, n, args.threads)
                rows.append({"model": kind, "batch": batch, **r})
                print(f"{kind:<8} batch {batch:>6}: {r['ms_per_shower']:10.3f} ms/shower  "
                      f"RSS {r['peak_rss_mb']:7.0f} MB  ({n} showers)", flush=True)
    device_name = (torch.cuda.get_device_name() if args.device.startswith("cuda")
                   else platform.processor() or platform.machine())
    print(f"\n{'model':<8} {'params':>10} " + " ".join(f"{'batch ' + str(b):>12}" for b in BATCHES)
          + "   (ms/shower)")
    for kind in ("teacher", "student"):
        mine = {r["batch"]: r for r in rows if r["model"] == kind}
        params = next(iter(mine.values()))["parameters"]
        cells = " ".join(f"{mine[b]['ms_per_shower']:>12.3f}" if b in mine else f"{'-':>12}"
                         for b in BATCHES)
        print(f"{kind:<8} {params:>10} {cells}")
    meta = {"caloforge": __version__, "torch": torch.__version__, "device": args.device,
            "device_name": device_name, "cpus": os.cpu_count(),
            "threads": args.threads or torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
            "models": "given run" if args.run else f"preset '{args.preset}', fresh weights",
            "note": "ds1-photons geometry, energies log-uniform 256 MeV - 4.2 TeV; time after a "
                    "warm-up batch; peak RSS of the child process"}
    path = results_path("sampling", args.tag)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
