"""Sharded generation on a Dask LocalCluster: N ds1-photons showers in K shards.

The model is the ``baseline`` family (per-energy-bin voxel statistics) trained on a small
ds1-photons sample of the fast simulator: a CaloFlow student at ~1.3 ms/shower would take
~22 min for 1M showers on two cores. The script checks the output (N rows, the incident
energies in order, distinct showers) and, unless ``--no-compare``, generates the same showers
sequentially (one process, one torch thread) and compares the arrays with ``np.array_equal``.
Writes ``benchmarks/results/dask_generate[-TAG].json``.

    python benchmarks/dask_generate.py                     # 1,000,000 showers, 20 shards
    python benchmarks/dask_generate.py -n 20000 --shards 4 --tag 20k
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from _results import cpu_model, results_path
from caloforge import __version__
from caloforge.data import ShowerFile, write_showers
from caloforge.generation import generate
from caloforge.scale import generate_sharded, shards_dir
from caloforge.scale.cluster import cpu_count
from caloforge.seeds import derive
from caloforge.simulate import load_config, simulate
from caloforge.simulate.incidence import sample_energies
from caloforge.train import Run, train_run

GEOMETRY = "ds1-photons"
MODEL = ("baseline family (per-energy-bin voxel statistics, caloforge train --model baseline) "
         "trained on {n} ds1-photons showers of the fast simulator (seed 11)")


def baseline_run(work: Path, train_n: int) -> Path:
    """The trained baseline in ``work/run`` (kept if there)."""
    run = work / "run"
    if not (run / "status.json").is_file():
        write_showers(work / "train.h5", simulate(GEOMETRY, n=train_n, seed=11))
        train_run("baseline", work / "train.h5", run, force=True, progress=False)
    return run


def energies_for(n: int, seed: int) -> np.ndarray:
    """The preset spectrum, drawn as ``caloforge generate -n N --seed S`` draws it."""
    spectrum = load_config(None, {"geometry": GEOMETRY}).spectrum
    return sample_energies(spectrum, n, np.random.default_rng(derive(seed, "spectrum")))


def check_rows(path: Path, energies: np.ndarray, block: int = 20_000) -> dict[str, Any]:
    """Rows, incident energies in order (each input row once), distinct showers."""
    file = ShowerFile(path)
    digests = set()
    in_order = file.n == len(energies)
    for start in range(0, file.n, block):
        part = file.read(start, start + block)
        in_order &= bool(np.array_equal(part.energies, energies[start : start + block]))
        digests.update(hashlib.blake2b(row.tobytes(), digest_size=16).digest()
                       for row in part.voxels)
    return {"rows": file.n, "energies_in_order": in_order, "distinct_showers": len(digests),
            "rows_ok": in_order and file.n == len(energies)}


def equal_files(a: Path, b: Path, block: int = 20_000) -> bool:
    """Whether two shower files hold the same energies and voxels, block by block."""
    x, y = ShowerFile(a), ShowerFile(b)
    if x.n != y.n:
        return False
    for start in range(0, x.n, block):
        p, q = x.read(start, start + block), y.read(start, start + block)
        if not (np.array_equal(p.energies, q.energies) and np.array_equal(p.voxels, q.voxels)):
            return False
    return True


def main() -> None:
    """Run the benchmark and write its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=1_000_000, help="showers (default 1,000,000)")
    p.add_argument("--shards", type=int, default=20, help="shards (default 20)")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster processes "
                   "(default: the CPU count)")
    p.add_argument("--batch-size", type=int, default=1000, help="showers per chunk")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train-n", type=int, default=20_000, help="training showers")
    p.add_argument("--work", type=Path, default=Path("runs/dask-generate"))
    p.add_argument("--no-compare", action="store_true", help="skip the sequential run")
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    p.add_argument("--tag", default="", help="suffix of the JSON file name")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    run = baseline_run(args.work, args.train_n)
    energies = energies_for(args.n, args.seed)
    out = args.work / "gen.h5"
    t0 = time.perf_counter()
    result = generate_sharded(run, energies, out, workers=args.workers, shards=args.shards,
                              seed=args.seed, batch_size=args.batch_size, force=True,
                              progress=True)
    wall = time.perf_counter() - t0
    shard_bytes = sum(f.stat().st_size for f in shards_dir(out).glob("shard-*.h5"))
    row: dict[str, Any] = {
        "benchmark": "dask_generate", "model": MODEL.format(n=args.train_n),
        "run": str(Path(run).resolve()), "geometry": GEOMETRY, "n": args.n,
        "shards": result.shards, "workers": result.workers, "threads_per_worker": 1,
        "batch_size": args.batch_size, "seed": args.seed,
        "wall_s": round(wall, 2), "showers_per_s": round(args.n / wall, 1),
        "file_bytes": out.stat().st_size, "shard_bytes": shard_bytes,
        **check_rows(out, energies),
    }
    print(f"{args.n} showers in {result.shards} shards on {result.workers} workers: "
          f"{wall:.1f} s ({args.n / wall:.0f}/s), rows ok: {row['rows_ok']}", flush=True)
    if not args.no_compare:
        t0 = time.perf_counter()
        generate(Run.load(run), energies, args.work / "seq.h5", seed=args.seed,
                 batch_size=args.batch_size, force=True, progress=True, threads=1)
        row["sequential_s"] = round(time.perf_counter() - t0, 2)
        row["speedup"] = round(row["sequential_s"] / wall, 2)
        row["equal_to_sequential"] = equal_files(out, args.work / "seq.h5")
        print(f"sequential: {row['sequential_s']:.1f} s, equal: {row['equal_to_sequential']}")
        if not args.keep:
            (args.work / "seq.h5").unlink()
    if not args.keep:
        import shutil

        out.unlink()
        shutil.rmtree(shards_dir(out))
    import dask

    row.update(cpu=cpu_model(), cores=cpu_count(), caloforge=__version__,
               dask=dask.__version__, date=datetime.now(UTC).isoformat(timespec="seconds"))
    path = results_path("dask_generate", args.tag)
    path.write_text(json.dumps(row, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
