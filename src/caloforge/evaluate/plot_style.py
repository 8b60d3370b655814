"""Shared look of the evaluation figures: HEP style, histograms with ratio panels and error bands.

Ratio panels show generated / reference with a band of the Poisson errors of both histograms
propagated, ``sigma_r = sqrt(sigma_g^2 + r^2 sigma_ref^2) / ref``. Bins with fewer than
:data:`MIN_REF_ENTRIES` reference entries are masked, so empty or nearly empty bins give no
spikes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogFormatterSciNotation

__all__ = ["DPI", "GEN_KW", "MIN_REF_ENTRIES", "REF_KW", "STYLE", "WIDTH_IN", "axis_label",
           "draw_ratio", "hist_with_ratio", "log_y", "panel_grid", "ratio_axes", "save"]

STYLE = {"font.size": 10, "axes.grid": False, "xtick.direction": "in", "ytick.direction": "in",
         "xtick.top": True, "ytick.right": True, "legend.frameon": False,
         "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "svg.fonttype": "path"}
REF_KW: dict[str, Any] = {"color": "0.55", "alpha": 0.45, "label": "reference"}
GEN_KW: dict[str, Any] = {"color": "tab:red", "lw": 1.4, "label": "generated"}
BAND_KW: dict[str, Any] = {"color": "tab:red", "alpha": 0.22, "lw": 0}
#: Reference bins with fewer entries than this are left out of ratio panels.
MIN_REF_ENTRIES = 5
#: Figure width in inches and resolution: 12 in x 110 dpi = 1320 px (PNG).
WIDTH_IN = 12.0
DPI = 110

_UNITS = {"E_layer": ("energy in layer {} [MeV]", True),
          "EC_eta": ("centre in eta, layer {} [mm]", False),
          "EC_phi": ("centre in phi, layer {} [mm]", False),
          "EC_r": ("centre in r, layer {} [mm]", False),
          "width_eta": ("width in eta, layer {} [mm]", False),
          "width_phi": ("width in phi, layer {} [mm]", False),
          "width_r": ("width in r, layer {} [mm]", False),
          "sparsity": ("share of voxels below threshold, layer {}", False)}
_PHYSICS = {"E_vis": "visible energy E_vis [MeV]", "n_hits": "hits above 0.5 MIP [count]",
            "cog_x": "centre of gravity x [mm]", "cog_y": "centre of gravity y [mm]",
            "cog_z": "centre of gravity z (depth) [mm]", "theta_rec": "reconstructed theta [rad]",
            "theta_rec-theta_true": "theta_rec - theta_true [rad]",
            "E_tot/E_inc": "E_tot / E_inc (deposited / incident energy)"}


def axis_label(name: str) -> str:
    """An x-axis label with units for a feature or physics observable name.

    Example:
        >>> axis_label("E_layer_12"), axis_label("cog_z")
        ('energy in layer 12 [MeV]', 'centre of gravity z (depth) [mm]')
    """
    if name in _PHYSICS:
        return _PHYSICS[name]
    kind, _, layer = name.rpartition("_")
    if kind in _UNITS:
        return _UNITS[kind][0].format(layer)
    if name.startswith("E_tot/E_inc@"):
        return f"E_tot / E_inc at E_inc = {name.partition('@')[2]}"
    return name


def panel_grid(n: int, row_height: float, title: str, width: float = WIDTH_IN,
               cols: int = 4, **kwargs: Any) -> tuple[plt.Figure, Any, int]:
    """A figure of ``n`` panels in rows of ``cols`` under a title, and its grid spec."""
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    height = row_height * rows + 0.5
    fig = plt.figure(figsize=(width, height))
    fig.suptitle(title, y=1 - 0.12 / height)
    grid = fig.add_gridspec(rows, cols, top=1 - 0.75 / height, bottom=0.3 / height,
                            **{"hspace": 0.45, "wspace": 0.32, **kwargs})
    return fig, grid, cols


def log_y(ax: plt.Axes) -> None:
    """A log y axis labelled at the decades (minor ticks only when it spans under half a
    decade), so small panels get no crowded labels."""
    ax.set_yscale("log")
    ax.yaxis.set_minor_formatter(LogFormatterSciNotation(minor_thresholds=(0.5, 0.2)))


def ratio_axes(fig: plt.Figure, spec: Any) -> tuple[plt.Axes, plt.Axes]:
    """A main panel over a ratio panel (3:1) in ``spec``, sharing the x axis."""
    grid = spec.subgridspec(2, 1, height_ratios=(3, 1), hspace=0.06)
    ax = fig.add_subplot(grid[0])
    rax = fig.add_subplot(grid[1], sharex=ax)
    ax.tick_params(labelbottom=False)
    return ax, rax


def draw_ratio(rax: plt.Axes, edges: np.ndarray, ref: np.ndarray, ref_err: np.ndarray,
               gen: np.ndarray, gen_err: np.ndarray, valid: np.ndarray,
               ylabel: str = "gen / ref", ylim: tuple[float, float] = (0.5, 1.5)) -> None:
    """Generated / reference with its propagated error band; bins not ``valid`` are masked."""
    ok = valid & (ref > 0)
    safe = np.where(ok, ref, 1.0)
    ratio = np.where(ok, gen / safe, np.nan)
    err = np.where(ok, np.sqrt(gen_err**2 + (ratio * ref_err) ** 2) / safe, np.nan)
    rax.stairs(ratio + err, edges, baseline=ratio - err, fill=True, **BAND_KW)
    rax.stairs(ratio, edges, baseline=None, color=GEN_KW["color"], lw=1.0)
    rax.axhline(1.0, color="0.3", lw=0.7)
    rax.set_ylim(*ylim)
    rax.set_ylabel(ylabel, fontsize=8)


def hist_with_ratio(fig: plt.Figure, spec: Any, ref: np.ndarray, gen: np.ndarray,
                    bins: np.ndarray, xlabel: str, title: str | None = None,
                    ylabel: str = "fraction of showers") -> tuple[plt.Axes, plt.Axes]:
    """Unit-sum step histograms of ``ref`` and ``gen`` in ``bins`` over a ratio panel.

    Poisson errors ``sqrt(n) / N`` of both histograms make the ratio band; reference bins with
    fewer than :data:`MIN_REF_ENTRIES` entries are masked.
    """
    ax, rax = ratio_axes(fig, spec)
    c_ref = np.histogram(ref[np.isfinite(ref)], bins=bins)[0].astype(np.float64)
    c_gen = np.histogram(gen[np.isfinite(gen)], bins=bins)[0].astype(np.float64)
    n_ref, n_gen = max(c_ref.sum(), 1.0), max(c_gen.sum(), 1.0)
    h_ref, h_gen = c_ref / n_ref, c_gen / n_gen
    ax.stairs(h_ref, bins, fill=True, **REF_KW)
    ax.stairs(h_gen, bins, **GEN_KW)
    if (h_ref > 0).any():
        log_y(ax)
    ax.set_ylabel(ylabel, fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    draw_ratio(rax, bins, h_ref, np.sqrt(c_ref) / n_ref, h_gen,
               np.sqrt(np.maximum(c_gen, 1.0)) / n_gen, c_ref >= MIN_REF_ENTRIES)
    if bins[0] > 0 and bins[-1] / bins[0] > 100:
        ax.set_xscale("log")
    rax.set_xlabel(xlabel, fontsize=8)
    return ax, rax


def save(fig: plt.Figure, path: Path) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix), close it and return the path."""
    fig.savefig(path, dpi=DPI, bbox_inches="tight",
                metadata={"Software": None} if path.suffix == ".png" else {"Date": None})
    plt.close(fig)
    return path
