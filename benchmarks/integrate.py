"""Drell-Yan + Z' at equal integrand calls: NIS (madnis) vs VEGAS vs flat MC.

NIS runs twice: ``nis``, one channel with VEGAS grids in front of the flow (the defaults of
``NISConfig``), and ``nis-3ch``, the photon, Z and Z' channels (``NISConfig.for_channels(3)``).

Prints the table and the ratios the issue asks for, writes ``benchmarks/results/integrate.json``,
a plot of the learned m_ll / cos theta densities (``integrate_dy.png`` beside it) and of the
weight distributions (``integrate_weights.png``), and where the largest weights of plain VEGAS and
NIS sit in (m_ll, y, cos theta): those set the unweighting efficiency.

    python benchmarks/integrate.py [--train-calls 400000] [--eval-calls 100000] [--seed 0]

Targets: NIS relative std per sample >= 3x smaller and unweighting efficiency >= 2x higher than
plain VEGAS; >= 1.5x lower relative std than VEGAS with the same pole mappings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch

from caloforge import __version__
from caloforge.integrate import DrellYan, NISConfig, compare, nis, table
from caloforge.integrate.events import plot_distributions, plot_weights
from caloforge.integrate.methods import IntegrationResult

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-calls", type=int, default=400_000)
    parser.add_argument("--eval-calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dy = DrellYan()
    t0 = time.perf_counter()
    results = compare(dy, args.train_calls, args.eval_calls, channels=3, seed=args.seed,
                      methods=("flat", "vegas", "vegas-mapped"))
    configs = {"nis": (1, NISConfig.for_channels(1)), "nis-3ch": (3, NISConfig.for_channels(3))}
    batches = {}
    for name, (channels, cfg) in configs.items():
        result, batches[name] = nis(dy, args.train_calls, args.eval_calls, channels, cfg,
                                    args.seed)
        result.method = name
        results.append(result)
    print(f"dy-zprime, {args.train_calls} + {args.eval_calls} calls per method, sigma in pb")
    print(table(results))
    by = {r.method: r for r in results}
    ratios = {
        "rel_std_vegas_over_nis": by["vegas"].rel_std / by["nis"].rel_std,
        "uweff_nis_over_vegas": by["nis"].unweighting_efficiency
        / by["vegas"].unweighting_efficiency,
        "rel_std_vegas_mapped_over_nis": by["vegas-mapped"].rel_std / by["nis"].rel_std,
        "rel_std_vegas_over_nis_3ch": by["vegas"].rel_std / by["nis-3ch"].rel_std,
        "uweff_nis_3ch_over_vegas": by["nis-3ch"].unweighting_efficiency
        / by["vegas"].unweighting_efficiency}
    for key, value in ratios.items():
        print(f"{key:<32} {value:6.2f}")
    print(weight_table(dy, results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot_weights(RESULTS / "integrate_weights.png", results, "Drell-Yan + Z', equal calls")
    batch = batches["nis"]
    plot = plot_distributions(RESULTS / "integrate_dy.png", dy.physical(batch.x),
                              batch.weights, "Drell-Yan + Z', NIS (1 channel, VEGAS grid)")
    meta = {"caloforge": __version__, "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
            "train_calls": args.train_calls, "eval_calls": args.eval_calls, "seed": args.seed,
            "nis": {name: {"channels": ch, **asdict(cfg)} for name, (ch, cfg) in configs.items()},
            "note": "toy PDFs (no evolution), LO; see caloforge.integrate.drell_yan",
            "wall_s": time.perf_counter() - t0}
    out = RESULTS / "integrate.json"
    out.write_text(json.dumps({"meta": meta, "results": [r.to_json() for r in results],
                               "ratios": ratios}, indent=2) + "\n")
    print(f"wrote {out} and {plot}")


def weight_table(dy: DrellYan, results: list[IntegrationResult], top: int = 5) -> str:
    """Quantiles of w/<w> per method, and the largest weights of VEGAS and NIS located in
    m_ll, rapidity and cos theta (each point mapped through its own channel)."""
    names = ["0.5", "0.9", "0.99", "0.999", "0.9999", "max"]
    lines = ["w/<w> quantiles", f"{'method':<13}" + "".join(f"{n:>9}" for n in names)
             + f"{'eff (per channel)':>19}"]
    for r in results:
        q = r.extra["weights"]["quantiles"]
        per = r.extra["weights"].get("uweff_channelwise")
        lines.append(f"{r.method:<13}" + "".join(f"{q[n]:>9.3g}" for n in names)
                     + (f"{per:>19.3f}" if per is not None else f"{'-':>19}"))
    lines.append(f"largest weights ({', '.join(dy.channel_names)} = channel 0, 1, 2)")
    lines.append(f"{'method':<13}{'w/<w>':>7}{'channel':>9}{'m_ll':>9}{'y':>7}{'cos':>7}")
    for r in results:
        if r.method not in ("vegas", "nis", "nis-3ch"):
            continue
        for entry in r.extra["weights"]["largest"][:top]:
            x = torch.tensor([entry["x"]], dtype=torch.float64)
            obs = dy.physical(dy.channel(x, entry["channel"])[1])
            lines.append(f"{r.method:<13}{entry['w_over_mean']:>7.2f}{entry['channel']:>9}"
                         f"{float(obs['m_ll'][0]):>9.1f}{float(obs['y'][0]):>7.2f}"
                         f"{float(obs['cos_theta'][0]):>7.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
