"""Voxel-level figures: average shower images, profiles on voxel edges, voxel-energy spectrum.

Average images per layer show the reference and generated mean energy per voxel on a shared
log colour scale and their relative difference ``(gen - ref) / ref``; cylindrical layers are
drawn as polar wedges over the layer's (r, alpha) bins, one ring per radial bin (ring labels:
the bin edges in mm), cartesian layers as their cell grid in mm. Profiles are binned on the
voxel edges of each layer, so there are no comb-like spikes from bins that miss voxel centres.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.ticker
import numpy as np
from matplotlib.colors import LogNorm, Normalize

from caloforge.evaluate.plot_style import (
    GEN_KW,
    MIN_REF_ENTRIES,
    REF_KW,
    WIDTH_IN,
    draw_ratio,
    log_y,
    panel_grid,
    plt,
    ratio_axes,
    save,
)
from caloforge.evaluate.plot_voxels import PROFILE_KINDS, Profile, VoxelStats
from caloforge.geometry import CartesianGeometry, CylindricalGeometry, LayeredGeometry

__all__ = ["MAX_IMAGE_LAYERS", "image_figure", "profile_figure", "radial_on_voxel_edges",
           "spectrum_figure"]

#: At most this many layers get average images (evenly spread, always the front one).
MAX_IMAGE_LAYERS = 6
#: Relative differences are masked where the reference mean has a larger relative error.
MAX_REL_ERROR = 0.5
_MAX_PROFILE_PANELS = 12


def _pick(n: int, most: int) -> list[int]:
    return list(range(n)) if n <= most else sorted(set(np.linspace(0, n - 1, most).astype(int)))


def _log_x(edges: np.ndarray) -> np.ndarray:
    """Edges for a log axis: a first edge at 0 drawn at half the second."""
    out = np.asarray(edges, dtype=np.float64).copy()
    if out[0] <= 0 < out[1]:
        out[0] = out[1] / 2
    return out


def spectrum_figure(edges: np.ndarray, ref: tuple[np.ndarray, int],
                    gen: tuple[np.ndarray, int], threshold: float, path: Path,
                    binning: str = "10 log bins per decade") -> Path:
    """Voxel-energy spectrum (voxels per shower in log bins) with its ratio panel.

    Arguments:
        edges: Bin edges (MeV).
        ref, gen: ``(counts per bin, number of showers)`` of each sample.
        threshold: Readout threshold (MeV), for the title.
        path: Output file.
        binning: How the bins were chosen, for the axis label.
    """
    (c_r, n_r), (c_g, n_g) = ref, gen
    filled = np.nonzero((c_r + c_g) > 0)[0]
    stop = filled[-1] + 2 if filled.size else len(edges)
    edges, c_r, c_g = edges[:stop], c_r[:stop - 1], c_g[:stop - 1]
    n_r, n_g = max(n_r, 1), max(n_g, 1)
    fig = plt.figure(figsize=(WIDTH_IN, 5.0))
    ax, rax = ratio_axes(fig, fig.add_gridspec(1, 1)[0])
    ax.stairs(c_r / n_r, edges, fill=True, **REF_KW)
    ax.stairs(c_g / n_g, edges, **GEN_KW)
    log_y(ax)
    ax.set(xscale="log", ylabel="voxels per shower and bin",
           title=f"voxel-energy spectrum (all layers; readout threshold {threshold:.3g} MeV)")
    ax.legend()
    draw_ratio(rax, edges, c_r / n_r, np.sqrt(c_r) / n_r, c_g / n_g,
               np.sqrt(np.maximum(c_g, 1.0)) / n_g, c_r >= MIN_REF_ENTRIES)
    rax.set_xlabel(f"voxel energy [MeV] ({binning})")
    return save(fig, path)


def radial_on_voxel_edges(ref: VoxelStats, gen: VoxelStats, geometry: LayeredGeometry
                          ) -> tuple[tuple[np.ndarray, ...], int] | None:
    """The radial profile (MeV per mm and shower, with errors) of the layer holding most of the
    reference energy, on its voxel edges: ``((edges, ref, ref_err, gen, gen_err), layer)``;
    None for cartesian geometries (they have no radial bins)."""
    if not isinstance(geometry, CylindricalGeometry) or "r" not in ref.profiles:
        return None
    totals = [p.total.sum() for p in ref.profiles["r"]]
    j = int(np.argmax(totals))
    r, r_err = ref.profiles["r"][j].mean(ref.n)
    g, g_err = gen.profiles["r"][j].mean(gen.n)
    return (_log_x(ref.profiles["r"][j].edges), r, r_err, g, g_err), j


def profile_figure(ref: VoxelStats, gen: VoxelStats, geometry: LayeredGeometry, kind: str,
                   path: Path) -> Path | None:
    """Per-layer profiles of ``kind`` (``r``, ``alpha``, ``x``, ``y``) on voxel edges."""
    if kind not in ref.profiles or kind not in gen.profiles:
        return None
    pairs = list(zip(ref.profiles[kind], gen.profiles[kind], strict=True))
    pairs = [pairs[i] for i in _pick(len(pairs), _MAX_PROFILE_PANELS)]
    label, unit = PROFILE_KINDS[kind]
    names = _layer_names(geometry)
    what = {"r": "radial", "alpha": "angular", "x": "x", "y": "y"}[kind]
    fig, outer, cols = panel_grid(len(pairs), 3.4, f"{what} profiles per layer: mean energy "
                                  "per shower, binned on voxel edges", wspace=0.35)
    for k, (p_ref, p_gen) in enumerate(pairs):
        _profile_panel(fig, outer[k // cols, k % cols], p_ref, p_gen, ref.n, gen.n, kind,
                       f"{label} (voxel edges)", f"MeV per {unit} and shower",
                       f"layer {names[p_ref.layer]}")
    fig.axes[0].legend(fontsize=8)
    return save(fig, path)


def _profile_panel(fig: plt.Figure, spec: object, p_ref: Profile, p_gen: Profile, n_ref: int,
                   n_gen: int, kind: str, xlabel: str, ylabel: str, title: str) -> None:
    r, r_err = p_ref.mean(n_ref)
    g, g_err = p_gen.mean(n_gen)
    edges = _log_x(p_ref.edges) if kind == "r" else p_ref.edges
    ax, rax = ratio_axes(fig, spec)
    ax.stairs(r, edges, fill=True, **REF_KW)
    ax.stairs(g, edges, **GEN_KW)
    if (r > 0).any():
        log_y(ax)
    if kind == "r" and edges[-1] / edges[0] > 10:
        ax.set_xscale("log")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    draw_ratio(rax, edges, r, r_err, g, g_err, (r > 0) & (r_err < MAX_REL_ERROR * r))
    rax.set_xlabel(xlabel, fontsize=8)
    rax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no crowded minor labels


def _layer_names(geometry: LayeredGeometry) -> list[str]:
    if isinstance(geometry, CylindricalGeometry):
        return [str(i) for i in geometry.layer_ids]
    return [str(i) for i in range(geometry.n_layers)]


def image_figure(ref: VoxelStats, gen: VoxelStats, geometry: LayeredGeometry,
                 path: Path) -> Path | None:
    """Average shower images per layer: reference, generated, relative difference."""
    if not isinstance(geometry, CylindricalGeometry | CartesianGeometry):
        return None
    m_ref, e_ref = ref.mean_image()
    m_gen, _ = gen.mean_image()
    layers = _pick(geometry.n_layers, MAX_IMAGE_LAYERS)
    names = _layer_names(geometry)
    polar = isinstance(geometry, CylindricalGeometry)
    kind = "polar (r, alpha) bins; rings: radial bins, labels in mm" if polar else "cells, mm"
    fig, grid, _ = panel_grid(6 * len(layers), 3.7, f"average shower images ({kind}); white: "
                              f"empty, or reference error > {MAX_REL_ERROR:.0%} in the "
                              "difference", cols=6, width_ratios=(1, 1, 0.05, 0.3, 1, 0.05),
                              wspace=0.3, hspace=0.35)
    for row, j in enumerate(layers):
        sl = geometry.layer_slice(j)
        r, g, err = m_ref[sl], m_gen[sl], e_ref[sl]
        positive = np.concatenate([r[r > 0], g[g > 0]])
        top = positive.max() if positive.size else 1.0
        norm = LogNorm(vmin=max(positive.min() if positive.size else 1e-3, top * 1e-5), vmax=top)
        ok = (r > 0) & (err < MAX_REL_ERROR * r)
        diff = np.where(ok, (g - r) / np.where(ok, r, 1.0), np.nan)
        kw = {"projection": "polar"} if polar else {}
        axes = [fig.add_subplot(grid[row, c], **kw) for c in (0, 1, 4)]
        mesh = None
        for ax, values, title, cmap, nrm in (
                (axes[0], r, "reference", "viridis", norm),
                (axes[1], g, "generated", "viridis", norm),
                (axes[2], diff, "(gen - ref) / ref", "RdBu_r", Normalize(-0.5, 0.5))):
            masked = np.ma.masked_invalid(np.where(values > 0, values, np.nan)
                                          if cmap == "viridis" else values)
            quad = _draw_layer(ax, geometry, j, masked, cmap, nrm)
            ax.set_title(f"layer {names[j]}: {title}", fontsize=9)
            if cmap == "viridis":
                mesh = quad
            else:
                fig.colorbar(quad, cax=fig.add_subplot(grid[row, 5]), extend="both",
                             label="relative difference")
        fig.colorbar(mesh, cax=fig.add_subplot(grid[row, 2]), label="mean energy [MeV]")
        if polar:  # the angle labels of the reference panel serve both
            axes[1].set_xticklabels([])
        else:
            axes[1].set_ylabel("")
    return save(fig, path)


def _draw_layer(ax: plt.Axes, geometry: LayeredGeometry, j: int, values: np.ndarray,
                cmap: str, norm: Normalize) -> object:
    if isinstance(geometry, CylindricalGeometry):
        layer = geometry.layers[j]
        grid = values.reshape(layer.n_alpha, layer.n_r).T  # (n_r, n_alpha)
        sub = max(1, -(-64 // layer.n_alpha))  # sub-divide wedges so rings look round
        alpha = np.linspace(-np.pi, np.pi, layer.n_alpha * sub + 1)
        grid = np.ma.repeat(grid, sub, axis=1)
        rings = np.arange(layer.n_r + 1)
        quad = ax.pcolormesh(alpha, rings, grid, cmap=cmap, norm=norm, rasterized=True)
        ticks = _pick(layer.n_r + 1, 5)
        ax.set_rticks(ticks)
        ax.set_yticklabels([f"{layer.r_edges[t]:g}" for t in ticks], fontsize=6)
        ax.set_xticks(np.deg2rad([0, 90, 180, 270]))
        ax.set_xticklabels(["0", "pi/2", "pi", "-pi/2"], fontsize=6)
        ax.grid(color="0.7", lw=0.3)
        return quad
    layer = geometry.layers[j]  # type: ignore[attr-defined]
    grid = values.reshape(layer.n_x, layer.n_y)
    quad = ax.pcolormesh(layer.y_edges, layer.x_edges, grid, cmap=cmap, norm=norm,
                         rasterized=True)
    ax.set_aspect("equal")
    ax.set_xlabel("y [mm]", fontsize=8)
    ax.set_ylabel("x [mm]", fontsize=8)
    return quad
