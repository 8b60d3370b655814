"""Where the NIS unweighting efficiency on Drell-Yan + Z' stands: a scan of NIS settings.

    python benchmarks/integrate_scan.py [--train-calls 400000] [--eval-calls 100000]

Each row changes one setting of :class:`caloforge.integrate.NISConfig` from the defaults (3
channels, KL loss) at the same calls as ``benchmarks/integrate.py``; plain VEGAS is the
reference, and one row spends 4x the training calls to show how the efficiency scales; the
last rows change the process's resonance maps (``continuum_share``) or mix the sampler with a
uniform share (``defensive``). Prints a table and writes
``benchmarks/results/integrate_nis_scan.json``; ``--only TEXT`` runs the variants whose name
contains TEXT and replaces just their rows in that file.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from caloforge.cli._format import table
from caloforge.integrate import DrellYan, NISConfig, compare, nis
from caloforge.integrate.drell_yan import DrellYanParameters
from caloforge.tables import write_json

RESULTS = Path(__file__).resolve().parent / "results" / "integrate_nis_scan.json"

#: Variant -> (NISConfig overrides, training-call factor[, DrellYanParameters overrides]).
VARIANTS: dict[str, tuple[Any, ...]] = {
    "defaults (kl, 2048, buffered 5, 64 units, 16 bins, 3 layers)": ({}, 1),
    "variance loss": ({"loss": "variance"}, 1),
    "buffered 10": ({"buffered_steps": 10}, 1),
    "128 units": ({"units": 128}, 1),
    "32 bins": ({"bins": 32}, 1),
    "4 layers": ({"layers": 4}, 1),
    "batch 1024": ({"batch_size": 1024}, 1),
    "lr 1e-3": ({"learning_rate": 1e-3}, 1),
    "channel allocation by integral share": ({"channel_allocation": "mean"}, 1),
    "learned channel weights": ({"learned_weights": True}, 1),
    "4x training calls": ({}, 4),
    "maps: resonance BW + 20% 1/s continuum": ({}, 1, {"continuum_share": 0.2}),
    "defensive 0.1 (uniform share of the sampler)": ({"defensive": 0.1}, 1),
    "defensive 0.03 + maps with 20% continuum": ({"defensive": 0.03}, 1,
                                                 {"continuum_share": 0.2}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-calls", type=int, default=400_000)
    parser.add_argument("--eval-calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="", help="run the variants whose name contains this")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dy = DrellYan()
    vegas = compare(dy, args.train_calls, args.eval_calls, channels=3, seed=args.seed,
                    methods=("vegas",))[0]
    rows = [{"variant": "plain VEGAS (reference)", "train_calls": args.train_calls,
             "rel_std": round(vegas.rel_std, 4),
             "uweff": round(vegas.unweighting_efficiency, 4),
             "integral_pb": round(vegas.integral, 2), "error_pb": round(vegas.error, 2),
             "seconds": round(vegas.seconds, 1)}]
    print(table(rows), flush=True)
    for name, (over, factor, *process) in VARIANTS.items():
        if args.only not in name:
            continue
        calls = args.train_calls * factor
        proc = DrellYan(DrellYanParameters(**process[0])) if process else dy
        res, _ = nis(proc, calls, args.eval_calls, 3, NISConfig(**over), args.seed)
        rows.append({"variant": name, "train_calls": calls, "rel_std": round(res.rel_std, 4),
                     "uweff": round(res.unweighting_efficiency, 4),
                     "integral_pb": round(res.integral, 2), "error_pb": round(res.error, 2),
                     "seconds": round(res.seconds, 1)})
        print(table(rows[-1:]), flush=True)
    if args.only and RESULTS.exists():  # keep the other variants' rows of the last full scan
        fresh = {r["variant"]: r for r in rows}
        old = json.loads(RESULTS.read_text())["rows"]
        rows = [fresh.pop(r["variant"], r) for r in old] + list(fresh.values())
    print("\n" + table(rows))
    write_json(RESULTS, {"meta": {"date": time.strftime("%Y-%m-%d"),
                                  "machine": platform.machine(), "threads": args.threads,
                                  "eval_calls": args.eval_calls, "seed": args.seed,
                                  "process": "dy-zprime (toy PDFs, LO)"},
                         "rows": rows})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
