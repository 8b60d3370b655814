"""Intrinsic-dimension benchmark: the MLE on synthetic manifolds and on ds1-photons showers.

1. Synthetic: d-dimensional Gaussians and spheres S^d (d = 2, 5, 10, 20), embedded in 368
   dimensions linearly (random orthonormal map) and nonlinearly (the graph of sin/cos of 2d
   random projections, then the orthonormal map), ``--n-synthetic`` points each; estimates at
   k = 10, 15, 20 and averaged over k = 10..20, both aggregations; then the d = 20 bias against
   the number of points.
2. Showers: ``--n-showers`` ds1-photons showers of caloforge's fast simulator (tuned to Geant4,
   not Geant4), simulated into ``--work`` once, through ``shower_dimension`` (what
   ``caloforge intrinsic-dim`` runs): CaloFlow preprocessing with the default 10k showers per
   group, the same with as many showers in every group as the smallest has, and the log
   preprocessing; timed.

    nice -n 10 python benchmarks/intrinsic_dimension.py                 # about 10 minutes
    nice -n 10 python benchmarks/intrinsic_dimension.py --n-showers 20000 --tag quick

Prints tables; writes ``benchmarks/results/intrinsic_dimension[-TAG].json``, the ds1 k-scan
``intrinsic_dimension[-TAG].png`` and ``intrinsic_dimension_synthetic[-TAG].png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from _results import cpu_model, results_path
from caloforge._version import __version__
from caloforge.cli._format import table
from caloforge.evaluate.dimension import estimate_dimension, plot_k_scan, shower_dimension
from caloforge.evaluate.plots import STYLE
from caloforge.simulate import ReferenceSimulator, load_config
from caloforge.tables import write_json

ROOT = Path(__file__).resolve().parents[1]
AMBIENT = 368
DIMS = (2, 5, 10, 20)
K = (10, 20)


def manifold(kind: str, embedding: str, d: int, n: int, seed: int) -> np.ndarray:
    """As in tests/test_dimension.py: a Gaussian or S^d, embedded (non)linearly in 368-d."""
    rng = np.random.default_rng([seed, d])
    z = rng.normal(size=(n, d + (kind == "sphere")))
    if kind == "sphere":
        z /= np.linalg.norm(z, axis=1, keepdims=True)
    if embedding == "nonlinear":  # a graph over z: injective, smooth, still d-dimensional
        w = rng.normal(size=(z.shape[1], 2 * z.shape[1]))
        a = z @ (w / np.linalg.norm(w, axis=0))
        a /= a.std(0)
        z = np.concatenate([z, np.sin(a), np.cos(a)], 1)
    q, _ = np.linalg.qr(rng.normal(size=(AMBIENT, z.shape[1])))
    return z @ q.T


def synthetic_row(kind: str, embedding: str, d: int, n: int, seed: int) -> dict[str, Any]:
    """Estimates at k = 10, 15, 20 and the k-average, both aggregations, and the time."""
    t0 = time.perf_counter()
    est = estimate_dimension(manifold(kind, embedding, d, n, seed), K)
    row: dict[str, Any] = {"kind": kind, "embedding": embedding, "d": d, "n": n,
                           "seconds": round(time.perf_counter() - t0, 2)}
    for method, key in (("levina-bickel", "lb"), ("mackay-ghahramani", "mg")):
        value, _ = est.values(method)
        row |= {f"{key}_k{k}": float(value[k - K[0]]) for k in (10, 15, 20)}
        row[f"{key}_avg"] = est.average(method)[0]
        row[f"{key}_curve"] = value.tolist()
    return row


def plot_synthetic(rows: list[dict[str, Any]], path: Path) -> Path:
    """Estimate / d against k, one panel per aggregation; the +-10 % band in grey."""
    colours = dict(zip(DIMS, plt.cm.viridis(np.linspace(0, 0.85, len(DIMS))), strict=True))
    styles = {("gaussian", "linear"): "-", ("gaussian", "nonlinear"): "--",
              ("sphere", "linear"): ":", ("sphere", "nonlinear"): "-."}
    ks = np.arange(K[0], K[1] + 1)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, key, name in ((axes[0], "lb", "Levina-Bickel"), (axes[1], "mg",
                                                                 "MacKay-Ghahramani")):
            ax.axhspan(0.9, 1.1, color="0.9")
            for r in rows:
                ax.plot(ks, np.array(r[f"{key}_curve"]) / r["d"], styles[r["kind"], r["embedding"]],
                        color=colours[r["d"]], label=f"d={r['d']} {r['kind']} {r['embedding']}")
            ax.set(xlabel="neighbours k", title=f"{name} MLE, {rows[0]['n']} points in 368-d")
        axes[0].set_ylabel("estimate / true dimension")
        axes[1].legend(fontsize=6, ncol=2)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-synthetic", type=int, default=10_000)
    parser.add_argument("--bias-n", default="2500,5000,10000,20000",
                        help="point counts of the d = 20 bias scan")
    parser.add_argument("--n-showers", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "intrinsic_dimension")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-showers", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    out = results_path("intrinsic_dimension", args.tag)
    result: dict[str, Any] = {"meta": {"caloforge": __version__, "cpu": cpu_model(),
                                       "date": time.strftime("%Y-%m-%d"), "k": list(K),
                                       "note": "showers from caloforge's fast simulator "
                                       "(tuned to Geant4), not Geant4"}}
    rows = [synthetic_row(kind, emb, d, args.n_synthetic, args.seed)
            for kind in ("gaussian", "sphere") for emb in ("linear", "nonlinear") for d in DIMS]
    print(f"synthetic manifolds in {AMBIENT}-d, {args.n_synthetic} points (LB = Levina-Bickel, "
          "MG = MacKay-Ghahramani):")
    cols = ["kind", "embedding", "d", "lb_k10", "lb_k20", "mg_k10", "mg_k15", "mg_k20", "mg_avg",
            "seconds"]
    print(table([{c: (f"{r[c]:.2f}" if isinstance(r[c], float) else r[c]) for c in cols}
                 for r in rows], cols))
    bias = [synthetic_row(kind, "linear", 20, int(n), args.seed)
            for kind in ("gaussian", "sphere") for n in args.bias_n.split(",")]
    print("d = 20 bias against the number of points (linear embedding):")
    print(table([{"kind": b["kind"], "n": b["n"], "mg_avg": f"{b['mg_avg']:.2f}",
                  "bias": f"{b['mg_avg'] / 20 - 1:+.1%}", "lb_k20": f"{b['lb_k20']:.2f}"}
                 for b in bias]))
    result["synthetic"] = rows
    result["d20_bias"] = [{k: v for k, v in b.items() if not k.endswith("_curve")} for b in bias]
    suffix = out.stem.removeprefix("intrinsic_dimension")
    png = plot_synthetic(rows, out.with_name(f"intrinsic_dimension_synthetic{suffix}.png"))
    result["synthetic_plot"] = png.name
    if not args.skip_showers:
        args.work.mkdir(parents=True, exist_ok=True)
        path = args.work / f"ds1-photons-{args.n_showers}-seed{args.seed}.h5"
        if not path.exists():
            t0 = time.perf_counter()
            ReferenceSimulator(load_config("ds1-photons", {"n": args.n_showers,
                                                           "seed": args.seed})).write(
                path, progress=False)
            print(f"simulated {args.n_showers} ds1-photons showers in "
                  f"{time.perf_counter() - t0:.0f} s")
        result["showers"] = {"file": path.name, "n": args.n_showers, "passes": []}
        smallest = None
        for name, pre, max_points in (("caloflow", "caloflow", 10_000),
                                      ("caloflow-equal-n", "caloflow", None),
                                      ("log", "log", 10_000)):
            max_points = max_points or smallest
            t0 = time.perf_counter()
            res = shower_dimension(path, K, max_points=max_points, preprocessing=pre,
                                   seed=args.seed, progress=False)
            seconds = time.perf_counter() - t0
            smallest = min(g.n_showers for g in res.groups)
            print(f"ds1-photons, {pre} preprocessing, at most {max_points} showers per group, "
                  f"{seconds:.0f} s:")
            print(table(res.table()))
            result["showers"]["passes"].append({"name": name, "seconds": round(seconds, 1),
                                                **res.to_dict(), "file": path.name})
            if name == "caloflow":
                png = plot_k_scan(res, out.with_suffix(".png"), title=f"ds1-photons "
                                  f"({args.n_showers} fast-simulator showers), CaloFlow space")
                result["showers"]["plot"] = png.name
    write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
