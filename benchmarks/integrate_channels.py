"""Why multi-channel NIS did not pay, step by step: the multi-channel set-ups before issue 31 and
with each fix, on Drell-Yan + Z' and 3body-2bw, seeds 0-2, the same calls as
``benchmarks/integrate.py`` (whose ``nis-mc`` and ``nis-mc-learned`` rows are the last steps).

Rows:

* ``before``: the old ``NISConfig.for_channels(3)`` (KL loss, 16 spline bins, no VEGAS grids,
  the final sample shared by ``madnis``' variance allocation);
* ``grids+renyi``: a smooth VEGAS grid per channel in front of its flow and the annealed Rényi
  loss (the single-channel recipe), still the variance allocation.

The next steps are ``benchmarks/integrate.py``'s rows: ``nis-mc`` (the same training, the final
sample shared for unweighting: today's default) and ``nis-mc-learned`` (learned weights).

Prints per-channel efficiencies (``madnis``' channel-wise unweighting) beside the whole
sample's, writes ``benchmarks/results/integrate_channels.json``.

    python benchmarks/integrate_channels.py [--seeds 0,1,2] [--processes dy-zprime,3body-2bw]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _results import cpu_model, results_path
from caloforge.integrate import NISConfig, get_process, nis
from caloforge.tables import write_json

#: Row -> NISConfig settings (three channels).
ROWS: dict[str, dict[str, Any]] = {
    "before": {"loss": "kl", "vegas_share": 0.0, "bins": 16, "channel_allocation": "variance"},
    "grids+renyi": {"channel_allocation": "variance"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="3body-2bw,dy-zprime")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    parser.add_argument("--train-calls", type=int, default=400_000)
    parser.add_argument("--eval-calls", type=int, default=100_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    out: list[dict[str, Any]] = []
    for name in args.processes.split(","):
        process = get_process(name)
        for seed in (int(s) for s in args.seeds.split(",")):
            for row in args.rows.split(","):
                cfg = NISConfig.for_channels(3, **ROWS[row])
                result, _ = nis(process, args.train_calls, args.eval_calls, 3, cfg, seed)
                w = result.extra["weights"]
                entry = {"process": name, "seed": seed, "row": row, "rel_std": result.rel_std,
                         "uweff": result.unweighting_efficiency,
                         "uweff_channelwise": w["uweff_channelwise"],
                         "uweff_per_channel": w["uweff_per_channel"],
                         "per_channel": w["per_channel"], "integral": result.integral,
                         "error": result.error, "seconds": result.seconds}
                out.append(entry)
                per = " ".join(f"{e:.3f}" for e in w["uweff_per_channel"])
                print(f"{name:<10} seed {seed} {row:<13} rel.std {result.rel_std:6.3f} "
                      f"eff {result.unweighting_efficiency:6.3f} (channel-wise "
                      f"{w['uweff_channelwise']:.3f}; per channel {per})", flush=True)
    path = results_path("integrate_channels")
    write_json(path, {"meta": {"machine": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                               "train_calls": args.train_calls, "eval_calls": args.eval_calls,
                               "rows": ROWS, "wall_s": time.perf_counter() - t0},
                      "rows": out})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
