"""Validate the ``fast`` classifier protocol against the CaloChallenge ``challenge`` protocol.

One 20k-vs-20k pair of ds1-photons samples from caloforge's reference simulator: the reference
(stochastic term 10 %) against a mismodelled sample (stochastic term 12 %, other seed), so the
AUC lies between the extremes. Both protocols see the same inputs and splits (same seed).

    python benchmarks/classifier_validation.py --protocols fast            # CPU here
    python benchmarks/classifier_validation.py --protocols challenge --device cuda

Each run updates its protocol's rows in ``benchmarks/results/classifier_validation.json`` and
prints the mean AUC over the seeds and |delta mean AUC| per mode when both protocols are there.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from caloforge.evaluate import compute_features, run_classifier
from caloforge.evaluate.classifier_inputs import high_level_vector, low_level_vector
from caloforge.geometry import get_geometry
from caloforge.simulate import simulate

RESULTS = Path(__file__).resolve().parent / "results" / "classifier_validation.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--protocols", default="fast,challenge")
    parser.add_argument("--modes", default="cls-low,cls-high")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    parser.add_argument("--seeds", default="0,1,2", help="classifier seeds (same data)")
    parser.add_argument("--data-seeds", default="101,202",
                        help="simulator seeds of the reference and the mismodelled sample")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    geo = get_geometry("ds1-photons")
    seed_ref, seed_gen = map(int, args.data_seeds.split(","))
    ref = simulate("ds1-photons", n=args.n, seed=seed_ref)
    gen = simulate("ds1-photons", n=args.n, seed=seed_gen, readout={"stochastic_term": 0.12})
    inputs = {
        "cls-low": (low_level_vector(ref.voxels, ref.energies, geo),
                    low_level_vector(gen.voxels, gen.energies, geo)),
        "cls-high": (high_level_vector(compute_features(ref, geo)),
                     high_level_vector(compute_features(gen, geo))),
    }
    old = json.loads(args.out.read_text()) if args.out.exists() else {"rows": []}
    rows = [r for r in old["rows"] if r["protocol"] not in args.protocols.split(",")]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor()
    for protocol in args.protocols.split(","):
        for mode in args.modes.split(","):
            for seed in map(int, args.seeds.split(",")):
                t0 = time.perf_counter()
                res = run_classifier(*inputs[mode], mode=mode, protocol=protocol, seed=seed,
                                     device=device, progress=False)
                rows.append({"protocol": protocol, "mode": mode, "seed": seed,
                             "auc": round(res.auc, 4), "auc_err": round(res.auc_err, 4),
                             "jsd": round(res.jsd, 4), "best_epoch": res.best_epoch,
                             "epochs_run": res.epochs_run, "n_per_class": res.n_per_class,
                             "device": f"{device} ({name})",
                             "seconds": round(time.perf_counter() - t0, 1)})
    deltas, means = {}, {}
    for mode in args.modes.split(","):
        for protocol in ("fast", "challenge"):
            aucs = [r["auc"] for r in rows if r["mode"] == mode and r["protocol"] == protocol]
            if aucs:
                means[f"{protocol} {mode}"] = {"mean": round(float(np.mean(aucs)), 4),
                                              "std": round(float(np.std(aucs)), 4),
                                              "n_seeds": len(aucs)}
        if f"fast {mode}" in means and f"challenge {mode}" in means:
            deltas[mode] = round(abs(means[f"fast {mode}"]["mean"]
                                     - means[f"challenge {mode}"]["mean"]), 4)
    result = {"pair": f"ds1-photons reference simulator: a=10% (seed {seed_ref}) vs a=12% "
                      f"(seed {seed_gen})",
              "n_per_sample": args.n, "rows": rows, "mean_auc": means,
              "abs_delta_mean_auc": deltas,
              "note": "caloforge reference data, not Geant4"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'protocol':<10} {'mode':<9} {'seed':>4} {'AUC':>14} {'epochs':>8} {'seconds':>8}")
    for r in rows:
        print(f"{r['protocol']:<10} {r['mode']:<9} {r['seed']:>4} {r['auc']:>7.4f}±"
              f"{r['auc_err']:.4f} {r['best_epoch']:>4}/{r['epochs_run']:<3} {r['seconds']:>8}")
    for key, m in means.items():
        print(f"mean AUC {key}: {m['mean']} +- {m['std']} ({m['n_seeds']} seeds)")
    for mode, delta in deltas.items():
        print(f"|delta mean AUC| {mode}: {delta}")
    print(f"device: {device} ({name})")


if __name__ == "__main__":
    main()
