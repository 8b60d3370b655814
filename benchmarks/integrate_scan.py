"""Where the NIS unweighting efficiency on Drell-Yan + Z' stands: a scan of NIS settings.

    python benchmarks/integrate_scan.py [--train-calls 400000] [--eval-calls 100000]

Each "3 ch" row changes one setting of :class:`caloforge.integrate.NISConfig` from three
channels with the KL loss and no VEGAS grid; each "1 ch" row one setting from one channel with
a VEGAS grid in front of the flow and the variance loss (the defaults before the Rényi loss);
the "renyi" rows one setting from the annealed Rényi loss behind the linear VEGAS map, the
"smooth" rows one setting from today's 1-channel defaults (the smooth map, 512 bins). Same
calls as ``benchmarks/integrate.py``; plain VEGAS is the reference (with its grid sampled
through its own map and through the smooth map, always run); the "4x" rows spend 4x the
training calls to show how the efficiency scales; some rows change the process's resonance
maps (``continuum_share``) or mix the sampler with a uniform share (``defensive``). Prints a table
and writes ``benchmarks/results/integrate_nis_scan.json``; ``--only TEXT`` runs the variants
whose name contains TEXT and replaces just their rows in that file.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import vegas
from madnis.integrator import unweighting_metrics

from caloforge.cli._format import table
from caloforge.integrate import DrellYan, NISConfig, compare, nis
from caloforge.integrate.drell_yan import DrellYanParameters
from caloforge.integrate.vegas_map import SmoothGridMap, VegasGridMap
from caloforge.tables import write_json

RESULTS = Path(__file__).resolve().parent / "results" / "integrate_nis_scan.json"

#: The settings of the 3-channel rows before VEGAS grids: the KL loss, training batches spread
#: evenly over the channels. Each of those rows changes one of them.
THREE = {"loss": "kl", "vegas_share": 0.0, "uniform_channel_ratio": 1.0, "bins": 16}
#: The VEGAS map of the rows measured before the smooth map: 1024 bins joined by straight lines.
LINEAR: dict[str, Any] = {"vegas_map": "linear", "vegas_bins": 1024}
#: One channel, VEGAS grids in front of the flow, variance loss: the 1-channel defaults before
#: the Rényi loss. Each "1 ch" row changes one of them.
ONE: dict[str, Any] = {"loss": "variance", **LINEAR}
#: The 1-channel defaults of the Rényi loss before the smooth map. Each "renyi" row changes one.
RENYI: dict[str, Any] = {"renyi_alpha": 32.0, **LINEAR}

#: Variant -> (channels, NISConfig settings, training-call factor[, DrellYanParameters]).
VARIANTS: dict[str, tuple[Any, ...]] = {
    "3 ch: kl, 2048, buffered 5, 64 units, 16 bins, 3 layers": (3, THREE, 1),
    "3 ch: variance loss": (3, {**THREE, "loss": "variance"}, 1),
    "3 ch: buffered 10": (3, {**THREE, "buffered_steps": 10}, 1),
    "3 ch: 128 units": (3, {**THREE, "units": 128}, 1),
    "3 ch: 32 spline bins": (3, {**THREE, "bins": 32}, 1),
    "3 ch: 4 layers": (3, {**THREE, "layers": 4}, 1),
    "3 ch: batch 1024": (3, {**THREE, "batch_size": 1024}, 1),
    "3 ch: lr 1e-3": (3, {**THREE, "learning_rate": 1e-3}, 1),
    "3 ch: channel allocation by integral share": (3, {**THREE, "channel_allocation": "mean"},
                                                   1),
    "3 ch: learned channel weights": (3, {**THREE, "learned_weights": True}, 1),
    "3 ch: 4x training calls": (3, THREE, 4),
    "3 ch: maps: resonance BW + 20% 1/s continuum": (3, THREE, 1, {"continuum_share": 0.2}),
    "3 ch: defensive 0.1 (uniform share of the sampler)": (3, {**THREE, "defensive": 0.1}, 1),
    "3 ch: defensive 0.03 + maps with 20% continuum": (3, {**THREE, "defensive": 0.03}, 1,
                                                       {"continuum_share": 0.2}),
    "3 ch: uniform channel ratio 0.2 (for_channels(3))": (
        3, {**THREE, "uniform_channel_ratio": 0.2}, 1),
    "3 ch: VEGAS grids 0.3 x 1024 bins, variance loss, ratio 0.2": (
        3, {**LINEAR, "vegas_share": 0.3, "loss": "variance", "bins": 16}, 1),
    "3 ch: renyi 2 -> 32 loss, ratio 0.2": (
        3, {"loss": "renyi", "renyi_alpha": 32.0, "vegas_share": 0.0, "bins": 16}, 1),
    "1 ch: flow alone (kl, 16 spline bins, no VEGAS grid)": (
        1, {"loss": "kl", "vegas_share": 0.0, "bins": 16}, 1),
    "1 ch: VEGAS grid 0.3 x 1024 bins, variance loss, 32 spline bins": (1, ONE, 1),
    "1 ch: VEGAS grid, 16 spline bins": (1, {**ONE, "bins": 16}, 1),
    "1 ch: VEGAS grid, 64 spline bins": (1, {**ONE, "bins": 64}, 1),
    "1 ch: VEGAS grid, kl loss": (1, {**ONE, "loss": "kl"}, 1),
    "1 ch: VEGAS grid 512 bins": (1, {**ONE, "vegas_bins": 512}, 1),
    "1 ch: VEGAS grid 2048 bins": (1, {**ONE, "vegas_bins": 2048}, 1),
    "1 ch: VEGAS grid, share 0.2": (1, {**ONE, "vegas_share": 0.2}, 1),
    "1 ch: VEGAS grid, share 0.5": (1, {**ONE, "vegas_share": 0.5}, 1),
    "1 ch: VEGAS grid, lr 1e-3": (1, {**ONE, "learning_rate": 1e-3}, 1),
    "1 ch: VEGAS grid, 4x training calls": (1, ONE, 4),
    "1 ch: VEGAS grid, renyi 2 -> 32": (1, RENYI, 1),
    "1 ch: VEGAS grid, renyi 2 -> 16": (1, {**RENYI, "renyi_alpha": 16.0}, 1),
    "1 ch: VEGAS grid, renyi 2 -> 64": (1, {**RENYI, "renyi_alpha": 64.0}, 1),
    "1 ch: VEGAS grid, renyi 2 -> 96": (1, {**RENYI, "renyi_alpha": 96.0}, 1),
    "1 ch: VEGAS grid, renyi ramp over 1/3 of the steps": (1, {**RENYI, "renyi_ramp": 1 / 3}, 1),
    "1 ch: VEGAS grid, renyi, 128 units": (1, {**RENYI, "units": 128}, 1),
    "1 ch: VEGAS grid share 0.2, renyi": (1, {**RENYI, "vegas_share": 0.2}, 1),
    "1 ch: VEGAS grid, renyi, 64 spline bins": (1, {**RENYI, "bins": 64}, 1),
    "1 ch: VEGAS grid, renyi, 4x training calls": (1, RENYI, 4),
    "1 ch: smooth VEGAS map 512 bins, renyi 2 -> 64 (defaults)": (1, {}, 1),
    "1 ch: smooth map, renyi 2 -> 32": (1, {"renyi_alpha": 32.0}, 1),
    "1 ch: smooth map, 256 bins": (1, {"vegas_bins": 256}, 1),
    "1 ch: smooth map, 1024 bins": (1, {"vegas_bins": 1024}, 1),
    "1 ch: smooth map, 1024 bins, renyi 2 -> 32": (1, {"vegas_bins": 1024, "renyi_alpha": 32.0},
                                                   1),
    "1 ch: smooth map, variance loss": (1, {"loss": "variance"}, 1),
    "1 ch: smooth map -> linear map (512 bins, renyi 2 -> 64)": (1, {"vegas_map": "linear"}, 1),
    "1 ch: smooth map, 4x training calls": (1, {}, 4),
}

def vegas_grid_maps(dy: DrellYan, train_calls: int, eval_calls: int, seed: int,
                    iterations: int = 10) -> list[dict[str, Any]]:
    """Plain VEGAS's adapted grid sampled through its own (linear) map and through the smooth
    spline map NIS puts in front of its flow: what the smooth map alone is worth."""
    integ = vegas.Integrator(4 * [[0.0, 1.0]],
                             ran_array_generator=np.random.default_rng(seed).random)
    integ(vegas.lbatchintegrand(lambda x: dy(torch.as_tensor(x)).numpy()), nitn=iterations,
          neval=train_calls // iterations)
    edges = [torch.as_tensor(np.asarray(e), dtype=torch.float64)
             for e in integ.map.extract_grid()]  # bins may differ by axis: one map per axis
    r = torch.rand(eval_calls, 4, dtype=torch.float64,
                   generator=torch.Generator().manual_seed(seed))
    ch = torch.zeros(eval_calls, dtype=torch.long)
    rows = []
    for name, kind in (("linear", VegasGridMap), ("smooth", SmoothGridMap)):
        x, logjac = torch.empty_like(r), torch.zeros(eval_calls, dtype=torch.float64)
        for axis, e in enumerate(edges):
            x[:, axis:axis + 1], lj = kind(e[None, None]).forward(r[:, axis:axis + 1], ch)
            logjac += lj
        w = dy(x) * logjac.exp()
        rows.append({"variant": f"plain VEGAS grid, {name} map", "train_calls": train_calls,
                     "rel_std": round(float(w.std() / w.mean()), 4),
                     "uweff": round(unweighting_metrics(w.float()).uweff_before_cuts, 4),
                     "integral_pb": round(float(w.mean()), 2),
                     "error_pb": round(float(w.std()) / eval_calls**0.5, 2), "seconds": None})
    return rows


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
    rows += vegas_grid_maps(dy, args.train_calls, args.eval_calls, args.seed)  # always, too
    print(table(rows), flush=True)
    for name, (channels, over, factor, *process) in VARIANTS.items():
        if args.only not in name:
            continue
        calls = args.train_calls * factor
        proc = DrellYan(DrellYanParameters(**process[0])) if process else dy
        res, _ = nis(proc, calls, args.eval_calls, channels, NISConfig(**over), args.seed)
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
