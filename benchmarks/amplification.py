"""Amplification: the equivalent truth size N_eq of generated samples, and N_eq / N_train.

``toy``: the 1-D truth 0.5 N(-4, 1) + 0.5 N(4, 1), N_train = 100 points per training set
(``--seeds`` independent sets); a small spline flow and a small GAN trained through
caloforge's engine, a KDE (bandwidth by cross-validated likelihood) and a histogram; 1M
generated per model, a 2M truth reference; then the high-n_quant regime (N_train = n_Q^2, 100
N_train generated). The table gives each method's factor per training set (bootstrap errors)
and the mean over training sets with its standard error (the spread between training sets
dominates). ``calo``: CaloFlow (``ds1-photons-compact`` with Flow II's hidden layers at 128
units) trained on N_train in {1k, 5k, 20k} fast-simulator ds1-photons showers (the first N of
one file; teacher about 500 steps, distilled student about 200, early stopping on the
validation split), ``--n-generated`` showers generated per model (features only), against a
1M-shower truth reference; factors per high-level feature and training size. All calorimeter
data is caloforge's fast simulator as tuned to Geant4, not Geant4.

    python benchmarks/amplification.py toy            # ~35 min on one CPU core
    python benchmarks/amplification.py calo --work runs/amplification   # ~1.5 h on one core

Writes ``benchmarks/results/amplification-toy.json`` / ``amplification-calo.json`` and prints
the tables; the calorimeter stage resumes from its cached runs and features.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _results import cpu_model, results_path
from caloforge import __version__
from caloforge.evaluate.amplification import truth_reference

#: High-level features of the calorimeter table (single) and the joint projections.
CALO_FEATURES = ["E_tot/E_inc", "E_layer_0", "E_layer_1", "E_layer_2", "E_layer_3",
                 "EC_r_1", "EC_r_2", "width_r_1", "width_r_2", "sparsity_1", "sparsity_2"]
CALO_JOINT = [("E_layer_1", "E_layer_2"), ("E_tot/E_inc", "width_r_2")]
TOY_KEY = ("regime", "n_train", "method", "n_quantiles", "metric")


def _summary(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per group of training sets (seeds): the mean factor with its standard error, the
    geometric mean (the mean of log factor, with its error: factors are ratios, and a truth
    sample's own N_eq/M scatters log-symmetrically), and the factor relative to the training
    set resampled, paired by seed (how much the model adds to its own training points)."""
    groups: dict[tuple, dict[int, float]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in key), {})[row["seed"]] = row["factor"]
    out = []
    for values, by_seed in groups.items():
        f = np.array(list(by_seed.values()))
        logs = np.log(f)
        n = len(f)
        sem = float(f.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        log_sem = float(logs.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        entry = {**dict(zip(key, values, strict=True)), "training_sets": n,
                 "factor_mean": float(f.mean()), "factor_sem": sem,
                 "significance_above_1": float((f.mean() - 1) / sem) if sem > 0 else None,
                 "geometric_mean": float(np.exp(logs.mean())), "log_sem": log_sem,
                 "log_significance_above_0": float(logs.mean() / log_sem) if log_sem > 0
                 else None}
        base = groups.get(tuple("training set" if k == "method" else v
                                for k, v in zip(key, values, strict=True)))
        if "method" in key and base:
            ratio = np.log([by_seed[s] / base[s] for s in by_seed if s in base])
            r_sem = float(ratio.std(ddof=1) / np.sqrt(len(ratio))) if len(ratio) > 1 else 0.0
            entry.update(vs_training_set=float(np.exp(ratio.mean())),
                         vs_training_set_sigma=float(ratio.mean() / r_sem) if r_sem > 0
                         else None)
        out.append(entry)
    return out


def toy(args: argparse.Namespace) -> dict[str, Any]:
    from _amplification_toy import METHODS, truth

    truth_x = {"x": truth(args.toy_reference, np.random.default_rng(1))}
    rows: list[dict[str, Any]] = []
    high = [m for m in METHODS if m != "gan"]  # the GAN is the slowest fit: main regime only
    regimes = [("n_train=100", 100, (10, 20), args.toy_generated, args.seeds, list(METHODS))]
    regimes += [("high n_quant", q * q, (q,), 100 * q * q, args.high_nq_seeds, high)
                for q in args.high_nq]
    for label, n_train, n_qs, n_gen, seeds, methods in regimes:
        reference = truth_reference(truth_x, n_quantiles=n_qs, n_boot=args.n_boot, seed=n_train)
        for seed in range(seeds):
            x = truth(n_train, np.random.default_rng(1000 * n_train + seed))
            for name in methods:
                t0 = time.perf_counter()
                sample = METHODS[name](x, seed)
                fit_s = time.perf_counter() - t0
                gen = {"x": sample(n_gen, np.random.default_rng(seed))}
                result = reference.compare(gen, n_train)
                rows += [{"regime": label, "n_train": n_train, "n_generated": n_gen,
                          "method": name, "seed": seed, "fit_seconds": fit_s, **r.__dict__}
                         for r in result.rows]
                print(f"N={n_train:<4} seed {seed} {name:<13} " + "  ".join(
                    f"nQ={r.n_quantiles} {r.metric} {r.factor:.2f}±{r.factor_err:.2f}"
                    for r in result.rows), flush=True)
    return {"rows": rows, "summary": _summary(rows, TOY_KEY)}


def calo(args: argparse.Namespace) -> dict[str, Any]:
    from _amplification_calo import generated_features, train_size_run, truth_features
    from caloforge.data.io import ShowerFile

    work = args.work
    names, truth = truth_features(work, args.truth_n)
    reference = truth_reference(dict(zip(names, truth.T, strict=True)), features=CALO_FEATURES,
                                joint=CALO_JOINT, n_boot=args.n_boot, seed=1, progress=True)
    energies = ShowerFile(work / "truth.h5").read(0, 100_000).energies
    rows, training = [], {}
    for n_train in args.sizes:
        run = train_size_run(work, n_train, args.preset, args.teacher_steps, args.student_steps,
                             args.hidden, args.threads)
        training[n_train] = {k: {"minutes": v["train_minutes"], "epochs": v["epochs"]}
                             for k, v in json.loads((run.path / "status.json").read_text())
                             .items() if isinstance(v, dict) and "train_minutes" in v}
        g_names, gen = generated_features(work, run, f"caloflow-{n_train}", args.n_generated,
                                          energies)
        result = reference.compare(dict(zip(g_names, gen.T, strict=True)), n_train)
        print(f"\nCaloFlow trained on {n_train} showers, {len(gen)} generated:")
        print("\n".join(result.table_lines()), flush=True)
        rows += [{"n_train": n_train, **r.__dict__} for r in result.rows]
    return {"rows": rows, "training": training, "sizes": list(args.sizes),
            "reference_n": len(truth), "generated_n": args.n_generated, "preset": args.preset}


def markdown(part: str, out: dict[str, Any]) -> list[str]:
    """The tables of ``docs/amplification.md``."""
    if part == "toy":
        lines = ["| regime | N_train | method | n_Q | metric | factor: mean ± s.e. | geometric "
                 "mean (log s.e.) | x training set (sigma) | sets |", "|---" * 9 + "|"]
        for s in out["summary"]:
            vs = (f"{s['vs_training_set']:.2f} ({s['vs_training_set_sigma']:+.1f})"
                  if s.get("vs_training_set_sigma") is not None else "-")
            lines.append(f"| {s['regime']} | {s['n_train']} | {s['method']} | "
                         f"{s['n_quantiles']} | {s['metric']} | {s['factor_mean']:.2f} ± "
                         f"{s['factor_sem']:.2f} | {s['geometric_mean']:.2f} "
                         f"({s['log_sem']:.2f}) | {vs} | {s['training_sets']} |")
        return lines
    lines = ["| feature | n_Q | " + " | ".join(f"N_train = {n}" for n in out["sizes"]) + " |",
             "|---|---|" + "---|" * len(out["sizes"])]
    keys = list(dict.fromkeys((r["projection"], r["n_quantiles"]) for r in out["rows"]
                              if r["metric"] == "chi2"))
    for proj, n_q in keys:
        cells = []
        for n in out["sizes"]:
            r = next(r for r in out["rows"] if r["n_train"] == n and r["projection"] == proj
                     and r["n_quantiles"] == n_q and r["metric"] == "chi2")
            mark = {"lower": ">", "upper": "<"}.get(r["bound"], "")
            cells.append(f"{mark}{r['factor']:.3g} ± {r['factor_err']:.2g}")
        lines.append(f"| {proj} | {n_q} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["toy", "calo"])
    p.add_argument("--seeds", type=int, default=10, help="toy training sets per method")
    p.add_argument("--toy-reference", type=int, default=2_000_000)
    p.add_argument("--toy-generated", type=int, default=1_000_000)
    p.add_argument("--high-nq", type=int, nargs="*", default=[10, 20, 30],
                   help="n_Q of the high-n_quant regime (N_train = n_Q^2)")
    p.add_argument("--high-nq-seeds", type=int, default=5,
                   help="training sets per method in the high-n_quant regime")
    p.add_argument("--work", type=Path, default=Path("runs/amplification"))
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--truth-n", type=int, default=1_000_000)
    p.add_argument("--n-generated", type=int, default=1_000_000)
    p.add_argument("--preset", default="ds1-photons-compact")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--teacher-steps", type=int, default=500)
    p.add_argument("--student-steps", type=int, default=200)
    p.add_argument("--hidden", type=int, default=128, help="Flow II hidden units (teacher)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--summarise", action="store_true",
                   help="only recompute the summary and tables of the written toy JSON")
    args = p.parse_args()
    if args.summarise:
        path = results_path("amplification", args.part)
        out = json.loads(path.read_text())
        out["summary"] = _summary(out["rows"], TOY_KEY)
        path.write_text(json.dumps(out, indent=2) + "\n")
        print("\n".join(markdown(args.part, out)))
        return
    t0 = time.perf_counter()
    out = toy(args) if args.part == "toy" else calo(args)
    out["meta"] = {"caloforge": __version__, "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                   "wall_minutes": (time.perf_counter() - t0) / 60,
                   "command": "python " + " ".join(sys.argv),
                   "errors": "per row: bootstrap (truth-curve replicas and generated counts); "
                             "summary: standard error of the mean over training sets"}
    if args.part == "calo":
        out["meta"]["note"] = ("caloforge's fast simulator (tuned to Geant4) for training and "
                               "truth, not Geant4")
    print("\n".join(markdown(args.part, out)))
    path = results_path("amplification", args.part)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
