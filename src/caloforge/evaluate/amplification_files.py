"""Amplification of shower files: high-level features of a reference (truth) file and a
generated file, :func:`~caloforge.evaluate.amplification.amplification` on them, and the outputs
``amplification.json``, ``amplification.png`` (truth curves) and ``report.html``.

The reference must be independent of the model's training showers (a held-out simulated set):
its own sampling noise is the yardstick.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from caloforge.data.io import ShowerFile
from caloforge.errors import InputError
from caloforge.evaluate.amplification import AmplificationResult, amplification, check_sizes
from caloforge.evaluate.feature_table import FeatureTable
from caloforge.evaluate.features import angular_layer_labels, feature_columns, layer_labels
from caloforge.evaluate.report import write_amplification_report
from caloforge.evaluate.runner import resolve_pair
from caloforge.evaluate.sample import load_samples
from caloforge.tables import write_text

__all__ = ["DEFAULT_FEATURES", "amplification_files", "expand", "feature_arrays",
           "plot_amplification", "table_amplification"]

#: Single features binned when none are named: the energy response and the layer energies.
DEFAULT_FEATURES = ("E_tot/E_inc", "E_layer_*")
MAX_PANELS = 6


def expand(patterns: Sequence[str], names: Sequence[str]) -> list[str]:
    """Feature names matching ``patterns`` (``*`` at the end matches any suffix), in order.

    Example:
        >>> expand(["E_layer_*", "E_tot/E_inc"], ["E_tot/E_inc", "E_layer_0", "E_layer_1"])
        ['E_layer_0', 'E_layer_1', 'E_tot/E_inc']
    """
    out: list[str] = []
    for pattern in patterns:
        hits = ([n for n in names if n.startswith(pattern[:-1])] if pattern.endswith("*")
                else [n for n in names if n == pattern])
        if not hits:
            raise InputError(f"no high-level feature matches {pattern!r}",
                             f"choose among {', '.join(names[:8])}, ... (caloforge info "
                             "lists a file's geometry)")
        out += [h for h in hits if h not in out]
    return out


def feature_arrays(table: FeatureTable, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named 1-D features of a sample (float64)."""
    return {n: np.asarray(table.feature(n), dtype=np.float64) for n in names}


def table_amplification(reference: FeatureTable, generated: FeatureTable, train_size: int,
                        features: Sequence[str], joint: Sequence[tuple[str, str]] = (),
                        **options: Any) -> AmplificationResult:
    """:func:`~caloforge.evaluate.amplification.amplification` of two samples' feature tables:
    ``features`` one by one and the ``joint`` pairs (names as in ``FeatureTable.names()``);
    ``options`` as there."""
    needed = list(dict.fromkeys([*features, *(n for p in joint for n in p)]))
    return amplification(feature_arrays(reference, needed), feature_arrays(generated, needed),
                         train_size, features=list(features), joint=joint, **options)


def plot_amplification(data: dict[str, Any], path: Path, metric: str = "chi2") -> Path:
    """Truth curves (distance of truth samples of size M, mean ± error) with the generated
    sample's distance, N_eq and N_train marked, one panel per projection (first n_Q)."""
    rows = [r for r in data["rows"] if r["metric"] == metric]
    first_q = rows[0]["n_quantiles"] if rows else 0
    rows = [r for r in rows if r["n_quantiles"] == first_q][:MAX_PANELS]
    cols = min(3, len(rows))
    fig, axes = plt.subplots(-(-len(rows) // cols), cols, figsize=(3.6 * cols,
                                                                  3.0 * -(-len(rows) // cols)),
                             squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        c = data["curves"][f"{row['projection']}|{first_q}|{metric}"]
        m, mean, sem = (np.array(c[k]) for k in ("sizes", "mean", "sem"))
        ax.fill_between(m, mean - 2 * sem, mean + 2 * sem, color="0.8", lw=0)
        ax.plot(m, mean, color="0.3", label="truth samples of size M")
        ax.axhline(row["generated"], color="tab:red", label="generated")
        ax.axvline(row["n_eq"], color="tab:red", ls="--", lw=0.8, label="N_eq")
        ax.axvline(data["train_size"], color="tab:blue", ls=":", label="N_train")
        ax.set(xscale="log", yscale="log", xlabel="truth sample size M (showers)",
               ylabel=f"quantile {metric} (n_Q = {first_q})")
        ax.set_title(row["projection"], fontsize=9)
    for ax in list(axes.flat)[len(rows):]:
        ax.set_visible(False)
    if rows:
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def amplification_files(reference: str | Path, generated: str | Path, train_size: int,
                        out_dir: str | Path, *, geometry: str | None = None,
                        features: Sequence[str] = DEFAULT_FEATURES,
                        joint: Sequence[tuple[str, str]] = (),
                        n_quantiles: Sequence[int] = (10, 20),
                        metrics: Sequence[str] = ("chi2", "jsd"), threshold: float | None = None,
                        max_showers: int | None = None, replicas: int = 40, n_boot: int = 200,
                        seed: int = 0, plots: bool = True,
                        progress: bool = False) -> AmplificationResult:
    """Amplification of a generated file against a reference file; writes
    ``amplification.json``, ``amplification.png`` and ``report.html`` into ``out_dir``.

    Arguments:
        features: Feature names or ``prefix*`` patterns (``E_layer_*``) binned one by one.
        joint: Pairs of feature names binned jointly.
        Others: as in :func:`~caloforge.evaluate.amplification.amplification` and
            :func:`~caloforge.evaluate.runner.evaluate_files`.
    """
    gen_file = ShowerFile(generated)
    geo, thr = resolve_pair(ShowerFile(reference), gen_file, geometry, threshold)
    known = list(feature_columns(layer_labels(geo), angular_layer_labels(geo)))
    names = expand(features, known)
    pairs = [tuple(p) for p in joint]
    expand([n for p in pairs for n in p], known)  # every joint feature exists
    n_gen = gen_file.n if max_showers is None else min(gen_file.n, max_showers)
    check_sizes(n_gen, [(n,) for n in names] + pairs, n_quantiles, train_size)  # before reading
    kwargs: dict[str, Any] = {"threshold": thr, "max_showers": max_showers, "progress": progress}
    ref = load_samples(reference, geo, **kwargs)[0]
    gen = load_samples(generated, geo, **kwargs)[0]
    result = table_amplification(ref.features, gen.features, train_size, names, pairs,
                                 n_quantiles=n_quantiles, metrics=metrics, replicas=replicas,
                                 n_boot=n_boot, seed=seed, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = {**result.to_json(), "reference": str(reference), "generated": str(generated),
            "geometry": geo.name, "seed": seed}
    write_text(out / "amplification.json", json.dumps(data, indent=1, default=float) + "\n")
    images = [plot_amplification(data, out / "amplification.png")] if plots else []
    write_amplification_report(data, "caloforge amplification", images, out / "report.html")
    return result
