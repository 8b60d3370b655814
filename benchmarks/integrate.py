"""NIS (madnis) vs VEGAS vs flat MC at equal integrand calls, on Drell-Yan + Z' and 3body-2bw.

Methods, each with ``train + eval`` calls in all (training and adaptation calls counted; VEGAS
spends exactly the rest of its budget on its final sample):

* ``flat``; ``vegas`` (plain, on the process's single-channel map); ``vegas-mapped`` (one
  VEGAS grid per channel map, calls shared equally);
* ``nis``: one channel, a smooth VEGAS grid in front of the flow (``NISConfig`` defaults);
* ``nis-mc``: the process's channels with the prior weights (``NISConfig.for_channels``);
* ``nis-mc-learned``: the same with learned channel weights.

Prints one table per process and seed, the per-channel diagnostics of the multi-channel runs,
min/max over seeds, and the markdown table of the README (``--markdown``); writes
``benchmarks/results/integrate.json``, the weight distributions (``integrate_weights_*.png``)
and how the channels split phase space (``integrate_channels.png``).

    python benchmarks/integrate.py [--train-calls 400000] [--eval-calls 100000] [--seeds 0,1,2]
    python benchmarks/integrate.py --processes dy-zprime --seeds 3,4 --tag seeds34

Targets (issue 31): on 3body-2bw multi-channel NIS beats one-channel NIS and VEGAS in relative
std and unweighting efficiency at every seed; on Drell-Yan + Z' its efficiency is at most 0.01
below VEGAS's, and learned weights at most 0.01 below fixed ones.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from _results import RESULTS, cpu_model, results_path
from caloforge import __version__
from caloforge.integrate import NISConfig, compare, get_process, nis, table
from caloforge.integrate.channel_plots import ChannelPanel, plot_channel_split
from caloforge.integrate.events import plot_weights
from caloforge.integrate.methods import IntegrationResult
from caloforge.tables import write_json

#: The NIS set-ups: (channels or None for all of the process's, config overrides).
NIS_RUNS: dict[str, tuple[int | None, dict[str, Any]]] = {
    "nis": (1, {}),
    "nis-mc": (None, {}),
    "nis-mc-learned": (None, {"learned_weights": True}),
}
#: Histogram axis and scatter of the channel figure, per process.
CHANNEL_AXES = {
    "dy-zprime": dict(axis=("m_ll", np.geomspace(15, 1000, 80), "m_ll [GeV]"), logx=True,
                      scatter=("m_ll", "y", "m_ll [GeV]", "rapidity y")),
    "3body-2bw": dict(axis=("m_23", np.linspace(0, 1000, 101), "m_23 [GeV]"),
                      scatter=("m_12", "m_23", "m_12 [GeV]", "m_23 [GeV]")),
}


def run(name: str, train: int, evals: int, seed: int) -> tuple[list[IntegrationResult], dict]:
    """Every method on one process at one seed; the multi-channel NIS samples by run name."""
    process = get_process(name)
    channels = len(process.channel_names)
    results = compare(process, train, evals, channels=channels, seed=seed,
                      methods=("flat", "vegas", "vegas-mapped"))
    batches = {}
    for run_name, (ch, overrides) in NIS_RUNS.items():
        ch = ch or channels
        cfg = NISConfig.for_channels(ch, **overrides)
        result, batch = nis(process, train, evals, ch, cfg, seed)
        result.method = run_name
        results.append(result)
        if ch > 1:
            batches[run_name] = batch
    return results, batches


def channel_lines(results: list[IntegrationResult], names: list[str]) -> list[str]:
    """Per-channel diagnostics of the multi-channel runs."""
    lines = [f"{'method':<16}{'channel':<11}{'points':>8}{'share':>8}{'rel.std':>9}"
             f"{'max w/<w>':>10}{'eff':>7}"]
    for r in results:
        per = r.extra["weights"].get("per_channel")
        if not per:
            continue
        effs = r.extra["weights"]["uweff_per_channel"]
        for c, row in enumerate(per):
            lines.append(f"{r.method:<16}{names[c]:<11}{row['points']:>8}"
                         f"{row['integral_share']:>8.3f}{row['rel_std']:>9.3f}"
                         f"{row['max_over_mean']:>10.2f}{effs[c]:>7.3f}")
    return lines


def markdown(rows: dict[str, list[dict]], seeds: list[int], calls: int) -> str:
    """The README table: relative std and efficiency per method, mean and range over seeds."""
    head = ("| process | method | rel. std per sample (mean, min-max) | unweighting eff. "
            "(mean, min-max) |\n|---|---|---|---|")
    lines = [head]
    for proc, per_seed in rows.items():
        methods = list(per_seed[0]["rel_std"])
        for m in methods:
            rs = [row["rel_std"][m] for row in per_seed]
            ue = [row["uweff"][m] for row in per_seed]
            lines.append(f"| {proc} | {m} | {np.mean(rs):.3g} ({min(rs):.3g}-{max(rs):.3g}) | "
                         f"{np.mean(ue):.3f} ({min(ue):.3f}-{max(ue):.3f}) |")
    return (f"{calls} calls per method, seeds {', '.join(map(str, seeds))}\n\n"
            + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="3body-2bw,dy-zprime")
    parser.add_argument("--train-calls", type=int, default=400_000)
    parser.add_argument("--eval-calls", type=int, default=100_000)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--tag", default="", help="write integrate-TAG.json and -TAG plots "
                        "instead of the committed integrate.json and its plots")
    args = parser.parse_args()
    out = results_path("integrate", args.tag)
    suffix = out.stem.removeprefix("integrate")
    seeds = [int(s) for s in args.seeds.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows: dict[str, list[dict]] = {}
    first: dict[str, list[dict]] = {}
    panels = []
    for name in args.processes.split(","):
        process = get_process(name)
        rows[name] = []
        for seed in seeds:
            results, batches = run(name, args.train_calls, args.eval_calls, seed)
            print(f"{name}, seed {seed}, {args.train_calls} + {args.eval_calls} calls per method, "
                  f"sigma in {process.unit}")
            print(table(results, process.exact()))
            print("\n".join(channel_lines(results, process.channel_names)), flush=True)
            rows[name].append({"seed": seed, "rel_std": {r.method: r.rel_std for r in results},
                               "uweff": {r.method: r.unweighting_efficiency for r in results},
                               "integral": {r.method: r.integral for r in results},
                               "error": {r.method: r.error for r in results}})
            if seed == seeds[0]:
                first[name] = [r.to_json() for r in results]
                plot_weights(RESULTS / f"integrate_weights_{name}{suffix}.png", results,
                             f"{name}, equal calls, seed {seed}")
                batch = batches["nis-mc-learned"]
                points = process.channel(batch.x.double(), batch.channels)[1]
                panels.append(ChannelPanel(
                    title=f"{name}: multi-channel NIS, learned weights (seed {seed})",
                    names=process.channel_names, observables=process.physical(points),
                    weights=batch.weights, channels=batch.channels,
                    alphas_prior=batch.alphas_prior, alphas=batch.alphas,
                    **CHANNEL_AXES[name]))
    figure = plot_channel_split(RESULTS / f"integrate_channels{suffix}.png", panels)
    if len(seeds) > 1:
        for name, per_seed in rows.items():
            print(f"{name} over seeds {', '.join(map(str, seeds))}: min / max")
            for m in per_seed[0]["rel_std"]:
                rs = [r["rel_std"][m] for r in per_seed]
                ue = [r["uweff"][m] for r in per_seed]
                print(f"  {m:<16} rel.std {min(rs):7.3f} {max(rs):7.3f}   "
                      f"eff {min(ue):6.3f} {max(ue):6.3f}")
    md = markdown(rows, seeds, args.train_calls + args.eval_calls)
    print(md)
    meta = {"caloforge": __version__, "machine": cpu_model(), "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
            "train_calls": args.train_calls, "eval_calls": args.eval_calls, "seeds": seeds,
            "nis": {name: {"channels": ch, "overrides": kw,
                           "config": asdict(NISConfig.for_channels(ch or 3, **kw))}
                    for name, (ch, kw) in NIS_RUNS.items()},
            "note": "Drell-Yan: toy PDFs (no evolution), LO; see docs/integration.md",
            "wall_s": time.perf_counter() - t0}
    write_json(out, {"meta": meta, "first_seed": first, "by_seed": rows, "markdown": md})
    print(f"wrote {out} and {figure}")


if __name__ == "__main__":
    main()
