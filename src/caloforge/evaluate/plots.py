"""Plots of an evaluation (matplotlib, Agg backend, HEP style: step histograms, ratio panels)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from caloforge.evaluate.classifier import ClassifierResult
from caloforge.evaluate.histograms import feature_bins, normalised_histogram
from caloforge.evaluate.physics import RADIAL_BINS_MM, SPECTRUM_BINS_MIP
from caloforge.evaluate.sample import Sample
from caloforge.geometry import LayeredGeometry

__all__ = ["FAMILIES", "plot_all"]

FAMILIES = ("E_layer", "EC_eta", "EC_phi", "width_eta", "width_phi", "EC_r", "width_r",
            "sparsity")
STYLE = {"font.size": 9, "axes.grid": False, "xtick.direction": "in", "ytick.direction": "in",
         "xtick.top": True, "ytick.right": True, "legend.frameon": False}
REF_KW = {"color": "0.55", "alpha": 0.45, "label": "reference"}
GEN_KW = {"color": "tab:red", "lw": 1.4, "label": "generated"}
MAX_PANELS = 12


def _hist_with_ratio(fig: plt.Figure, spec: object, ref: np.ndarray, gen: np.ndarray,
                     bins: np.ndarray, label: str) -> None:
    grid = spec.subgridspec(2, 1, height_ratios=(3, 1), hspace=0.05)  # type: ignore[attr-defined]
    ax, rax = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    h_ref, h_gen = normalised_histogram(ref, bins), normalised_histogram(gen, bins)
    ax.stairs(h_ref, bins, fill=True, **REF_KW)
    ax.stairs(h_gen, bins, **GEN_KW)
    ax.set_yscale("log")
    ax.set_xticklabels([])
    ax.set_title(label, fontsize=8)
    ratio = np.divide(h_gen, h_ref, out=np.full_like(h_gen, np.nan), where=h_ref > 0)
    rax.stairs(ratio, bins, color=GEN_KW["color"])
    rax.axhline(1.0, color="0.3", lw=0.7)
    rax.set_ylim(0.5, 1.5)
    rax.set_ylabel("gen/ref", fontsize=7)
    if bins[0] > 0 and bins[-1] / bins[0] > 100:
        ax.set_xscale("log")
        rax.set_xscale("log")


def _family_figure(ref: Sample, gen: Sample, geometry: LayeredGeometry, family: str,
                   threshold: float, path: Path) -> Path | None:
    names = [n for n in ref.features.names() if n.rpartition("_")[0] == family]
    if not names:
        return None
    if len(names) > MAX_PANELS:
        names = [names[i] for i in np.linspace(0, len(names) - 1, MAX_PANELS).astype(int)]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = plt.figure(figsize=(3.0 * cols, 2.6 * rows))
    outer = fig.add_gridspec(rows, cols, hspace=0.45, wspace=0.3)
    for k, name in enumerate(names):
        r_values = ref.features.feature(name)
        bins = feature_bins(name, r_values, geometry, threshold)
        _hist_with_ratio(fig, outer[k // cols, k % cols], r_values, gen.features.feature(name),
                         bins, name)
    fig.axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def _etot(ref: Sample, gen: Sample, geometry: LayeredGeometry, path: Path) -> Path:
    r = ref.features.e_tot / ref.features.e_inc
    g = gen.features.e_tot / gen.features.e_inc
    fig = plt.figure(figsize=(4.5, 4))
    _hist_with_ratio(fig, fig.add_gridspec(1, 1)[0], r, g,
                     feature_bins("E_tot/E_inc", r, geometry, 0.0), "E_tot / E_inc")
    fig.axes[0].legend(fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _mean_per_layer(ref: Sample, gen: Sample, path: Path) -> Path:
    r, g = ref.features.mean("e_layer"), gen.features.mean("e_layer")
    x = np.arange(len(r) + 1)
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(5, 4), sharex=True,
                                  gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05})
    ax.stairs(r, x, fill=True, **REF_KW)
    ax.stairs(g, x, **GEN_KW)
    ax.set_ylabel("mean energy per layer [MeV]")
    ax.set_yscale("log")
    ax.legend()
    rax.stairs(np.divide(g, r, out=np.full_like(g, np.nan), where=r > 0), x, color="tab:red")
    rax.axhline(1.0, color="0.3", lw=0.7)
    rax.set_ylim(0.5, 1.5)
    rax.set_xlabel("layer index")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _physics(ref: Sample, gen: Sample, path: Path) -> Path | None:
    rp, gp = ref.physics, gen.physics
    if rp is None or gp is None:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    spec_r, spec_g = rp.hit_spectrum / max(len(rp), 1), gp.hit_spectrum / max(len(gp), 1)
    axes[0].stairs(spec_r, SPECTRUM_BINS_MIP, fill=True, **REF_KW)
    axes[0].stairs(spec_g, SPECTRUM_BINS_MIP, **GEN_KW)
    axes[0].set(xscale="log", yscale="log", xlabel="hit energy [MIP]", ylabel="hits per shower")
    axes[0].axvline(1.0, color="0.3", ls=":", lw=0.8)
    axes[0].legend(fontsize=8)
    layers = np.arange(len(rp.longitudinal_profile) + 1)
    axes[1].stairs(rp.longitudinal_profile, layers, fill=True, **REF_KW)
    axes[1].stairs(gp.longitudinal_profile, layers, **GEN_KW)
    axes[1].set(yscale="log", xlabel="layer", ylabel="mean energy [MeV]")
    axes[2].stairs(rp.radial_profile / max(len(rp), 1), RADIAL_BINS_MM, fill=True, **REF_KW)
    axes[2].stairs(gp.radial_profile / max(len(gp), 1), RADIAL_BINS_MM, **GEN_KW)
    axes[2].set(yscale="log", xlabel="distance to layer centre of gravity [mm]",
                ylabel="mean energy [MeV]")
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _roc(results: Sequence[ClassifierResult], path: Path) -> Path | None:
    if not results:
        return None
    fig, ax = plt.subplots(figsize=(4.2, 4))
    for res in results:
        ax.plot(res.roc_fpr, res.roc_tpr, label=f"{res.mode}: AUC {res.auc:.3f}")
    ax.plot([0, 1], [0, 1], color="0.5", ls=":", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_all(ref: Sample, gen: Sample, geometry: LayeredGeometry, threshold: float,
             classifiers: Sequence[ClassifierResult], out_dir: Path) -> list[Path]:
    """Write every plot to ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(STYLE):
        paths = [_etot(ref, gen, geometry, out_dir / "etot_einc.png"),
                 _mean_per_layer(ref, gen, out_dir / "mean_energy_per_layer.png")]
        for family in FAMILIES:
            paths.append(_family_figure(ref, gen, geometry, family, threshold,
                                        out_dir / f"hist_{family}.png"))
        paths.append(_physics(ref, gen, out_dir / "physics.png"))
        paths.append(_roc(classifiers, out_dir / "roc.png"))
    return [p for p in paths if p is not None]
