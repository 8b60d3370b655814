"""Unweighted events to HDF5; plots of the learned sampling density against the target and of
the weight distributions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from caloforge.integrate.methods import IntegrationResult
from caloforge.tables import write_table

__all__ = ["plot_distributions", "plot_weights", "unweight", "write_events"]


def unweight(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of events kept with probability ``w / w_max`` (hit-or-miss).

    Example:
        >>> keep = unweight(np.array([1.0, 0.0, 1.0]), np.random.default_rng(0))
        >>> keep.tolist()
        [0, 2]
    """
    w = np.abs(np.asarray(weights, dtype=np.float64))
    if w.max() <= 0:
        return np.zeros(0, dtype=int)
    return np.flatnonzero(rng.random(len(w)) < w / w.max())


def write_events(path: str | Path, observables: dict[str, torch.Tensor], weights: torch.Tensor,
                 result: IntegrationResult, seed: int = 0) -> int:
    """Unweight a weighted sample and write its events (one dataset per observable) atomically.

    Returns:
        The number of events written.
    """
    keep = unweight(weights.detach().cpu().numpy(), np.random.default_rng(seed))
    write_table(path, {name: values.detach().cpu().numpy()[keep]
                       for name, values in observables.items()},
                {key: getattr(result, key)
                 for key in ("method", "process", "integral", "error", "unit")}, force=True)
    return len(keep)


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (imported when a plot is made)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_distributions(path: str | Path, observables: dict[str, torch.Tensor],
                       weights: torch.Tensor, title: str) -> Path:
    """m_ll and cos theta: the target (weighted sample) against the sampler's own density
    (unweighted points), so the learned Z and Z' peaks can be seen."""
    plt = _pyplot()
    w = weights.detach().cpu().numpy()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    specs = [("m_ll", np.geomspace(15, 1000, 120), "m_ll [GeV]", True),
             ("cos_theta", np.linspace(-1, 1, 41), "cos theta", False)]
    for ax, (name, bins, label, logx) in zip(axes, specs, strict=True):
        x = observables[name].detach().cpu().numpy()
        ax.hist(x, bins=bins, weights=w, density=True, histtype="step", lw=1.5,
                label="target |M|^2 (weighted)")
        ax.hist(x, bins=bins, density=True, histtype="step", lw=1.2, ls="--",
                label="sampler density (unweighted)")
        ax.set_xlabel(label)
        ax.set_yscale("log" if logx else "linear")
        if logx:
            ax.set_xscale("log")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def plot_weights(path: str | Path, results: list[IntegrationResult], title: str) -> Path:
    """Distributions of ``w / <w>`` per method (from ``extra['weights']``): the right edge is
    what limits the unweighting efficiency, the width the relative std."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for r in results:
        summary = r.extra.get("weights")
        if not summary:
            continue
        edges, counts = np.array(summary["hist_edges"]), np.array(summary["hist_counts"])
        ax.stairs(counts / max(counts.sum(), 1), edges, lw=1.4,
                  label=f"{r.method}: max {summary['quantiles']['max']:.2f}, "
                        f"eff {r.unweighting_efficiency:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("w / <w>")
    ax.set_ylabel("fraction of the sample")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)
