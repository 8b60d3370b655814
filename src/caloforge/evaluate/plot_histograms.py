"""Histogram figures of an evaluation: high-level features, E_tot/E_inc, layer energies, physics.

Every panel is a unit-sum step histogram (reference filled grey, generated red) over a ratio
panel with the propagated Poisson error band (:mod:`caloforge.evaluate.plot_style`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caloforge.evaluate.histograms import feature_bins, quantile_bins
from caloforge.evaluate.physics import RADIAL_BINS_MM, SPECTRUM_BINS_MIP
from caloforge.evaluate.plot_style import (
    GEN_KW,
    MIN_REF_ENTRIES,
    REF_KW,
    WIDTH_IN,
    axis_label,
    draw_ratio,
    hist_with_ratio,
    log_y,
    panel_grid,
    plt,
    ratio_axes,
    save,
)
from caloforge.evaluate.sample import Sample
from caloforge.geometry import LayeredGeometry

__all__ = ["MAX_PANELS", "etot_figure", "family_figure", "layer_energy_figure",
           "physics_figure", "physics_observables_figure"]

#: At most this many layers per feature family are drawn (evenly spread over the layers).
MAX_PANELS = 12


def family_figure(ref: Sample, gen: Sample, geometry: LayeredGeometry, family: str,
                  threshold: float, path: Path) -> Path | None:
    """One panel per layer of a feature family (``E_layer``, ``EC_eta``, ...), or None."""
    names = [n for n in ref.features.names() if n.rpartition("_")[0] == family]
    if not names:
        return None
    if len(names) > MAX_PANELS:
        names = [names[i] for i in np.linspace(0, len(names) - 1, MAX_PANELS).astype(int)]
    fig, outer, cols = panel_grid(len(names), 3.3, f"{family}: reference {len(ref)} vs "
                                  f"generated {len(gen)} showers")
    for k, name in enumerate(names):
        r_values = ref.features.feature(name)
        bins = feature_bins(name, r_values, geometry, threshold)
        hist_with_ratio(fig, outer[k // cols, k % cols], r_values, gen.features.feature(name),
                        bins, axis_label(name), title=f"layer {name.rpartition('_')[2]}")
    fig.axes[0].legend(fontsize=8)
    return save(fig, path)


def etot_figure(ref: Sample, gen: Sample, geometry: LayeredGeometry, path: Path) -> Path:
    """E_tot/E_inc inclusive (left) and the incident-energy spectrum (right)."""
    r = ref.features.e_tot / ref.features.e_inc
    g = gen.features.e_tot / gen.features.e_inc
    fig = plt.figure(figsize=(WIDTH_IN, 4.6))
    outer = fig.add_gridspec(1, 2, wspace=0.25)
    ax, _ = hist_with_ratio(fig, outer[0], r, g, feature_bins("E_tot/E_inc", r, geometry, 0.0),
                            axis_label("E_tot/E_inc"), title="response E_tot / E_inc")
    ax.legend(fontsize=8)
    e_ref, e_gen = ref.features.e_inc, gen.features.e_inc
    bins = quantile_bins(e_ref, 40, log=bool((e_ref > 0).all()))
    if np.ptp(e_ref) == 0:
        bins = np.array([e_ref[0] * 0.9, e_ref[0] * 1.1])
    hist_with_ratio(fig, outer[1], e_ref, e_gen, bins, "incident energy E_inc [MeV]",
                    title="incident energies (conditions)")
    return save(fig, path)


def layer_energy_figure(ref: Sample, gen: Sample, path: Path) -> Path:
    """Mean energy per layer with errors of the mean, over its ratio panel."""
    names = [n for n in ref.features.names() if n.startswith("E_layer_")]
    stats = []
    for sample in (ref, gen):
        cols = [sample.features.feature(n) for n in names]
        mean = np.array([c.mean() for c in cols])
        err = np.array([c.std() / np.sqrt(max(len(c), 1)) for c in cols])
        stats.append((mean, err))
    (r, r_err), (g, g_err) = stats
    x = np.arange(len(r) + 1) - 0.5
    fig = plt.figure(figsize=(WIDTH_IN, 5.0))
    ax, rax = ratio_axes(fig, fig.add_gridspec(1, 1)[0])
    ax.stairs(r, x, fill=True, **REF_KW)
    ax.stairs(g, x, **GEN_KW)
    ax.set_ylabel("mean energy per shower [MeV]")
    if (r > 0).any():
        log_y(ax)
    ax.legend()
    ax.set_title("longitudinal profile: mean energy per layer")
    draw_ratio(rax, x, r, r_err, g, g_err, r > 0)
    rax.set_xticks(np.arange(len(r)), [n.rpartition("_")[2] for n in names],
                   fontsize=7 if len(r) > 20 else 8)
    rax.set_xlabel("layer (id in the binning file)")
    return save(fig, path)


def _profile_panel(fig: plt.Figure, spec: object, edges: np.ndarray, ref: np.ndarray,
                   ref_err: np.ndarray, gen: np.ndarray, gen_err: np.ndarray, valid: np.ndarray,
                   xlabel: str, ylabel: str, title: str, logx: bool = False) -> plt.Axes:
    ax, rax = ratio_axes(fig, spec)
    ax.stairs(ref, edges, fill=True, **REF_KW)
    ax.stairs(gen, edges, **GEN_KW)
    if (ref > 0).any():
        log_y(ax)
    if logx:
        ax.set_xscale("log")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    draw_ratio(rax, edges, ref, ref_err, gen, gen_err, valid)
    rax.set_xlabel(xlabel, fontsize=8)
    return ax


def physics_figure(ref: Sample, gen: Sample, path: Path,
                   radial: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
                   | None = None, radial_title: str = "radial profile") -> Path | None:
    """Hit-energy spectrum (MIP), longitudinal and radial profiles, each with a ratio panel.

    ``radial``: ``(edges_mm, ref, ref_err, gen, gen_err)`` of a radial profile binned on voxel
    edges (:func:`caloforge.evaluate.plot_images.radial_on_voxel_edges`), titled
    ``radial_title``; without it the profile about the layer centre of gravity is drawn in
    10 mm bins (no errors: the physics observables keep only its sum).
    """
    rp, gp = ref.physics, gen.physics
    if rp is None or gp is None:
        return None
    n_r, n_g = max(len(rp), 1), max(len(gp), 1)
    fig = plt.figure(figsize=(WIDTH_IN + 3, 4.8))
    outer = fig.add_gridspec(1, 3, wspace=0.3)
    ax = _profile_panel(fig, outer[0], SPECTRUM_BINS_MIP, rp.hit_spectrum / n_r,
                        np.sqrt(rp.hit_spectrum) / n_r, gp.hit_spectrum / n_g,
                        np.sqrt(np.maximum(gp.hit_spectrum, 1.0)) / n_g,
                        rp.hit_spectrum >= MIN_REF_ENTRIES, "cell energy [MIP]",
                        "cells per shower", f"cell-energy spectrum (1 MIP = {rp.mip_mev:.3g} MeV)",
                        logx=True)
    ax.axvline(1.0, color="0.3", ls=":", lw=0.8)
    ax.legend(fontsize=8)
    layers = np.arange(rp.e_layer.shape[1] + 1) - 0.5
    lp_r, lp_g = rp.longitudinal_profile, gp.longitudinal_profile
    _profile_panel(fig, outer[1], layers, lp_r, rp.e_layer.std(axis=0) / np.sqrt(n_r), lp_g,
                   gp.e_layer.std(axis=0) / np.sqrt(n_g), lp_r > 0, "layer index",
                   "mean energy per shower [MeV]", "longitudinal profile")
    if radial is not None:
        edges, r, r_err, g, g_err = radial
        _profile_panel(fig, outer[2], edges, r, r_err, g, g_err, r > 0,
                       "distance to the shower axis r [mm] (bins: voxel edges)",
                       "mean energy per shower and mm [MeV/mm]", radial_title,
                       logx=edges[1] > 0 and edges[-1] / edges[1] > 50)
    else:
        merge = 4
        edges = RADIAL_BINS_MM[::merge]
        r = rp.radial_profile.reshape(-1, merge).sum(axis=1) / n_r
        g = gp.radial_profile.reshape(-1, merge).sum(axis=1) / n_g
        zero = np.zeros_like(r)
        _profile_panel(fig, outer[2], edges, r, zero, g, zero, r > 0,
                       "distance to the layer centre of gravity [mm]",
                       "mean energy per shower [MeV]", "radial profile (no errors)")
    return save(fig, path)


def physics_observables_figure(ref: Sample, gen: Sample, path: Path) -> Path | None:
    """Histograms of the per-shower physics observables (E_vis, n_hits, centres of gravity,
    theta) in the binning of their separation powers (50 quantile bins of the reference)."""
    if ref.physics is None or gen.physics is None:
        return None
    r_named, g_named = ref.physics.named(), gen.physics.named()
    names = [n for n in r_named if n in g_named]
    fig, outer, cols = panel_grid(len(names), 3.3, "physics observables per shower (50 "
                                  "quantile bins of the reference)")
    for k, name in enumerate(names):
        r_ok = r_named[name][np.isfinite(r_named[name])]
        g_ok = g_named[name][np.isfinite(g_named[name])]
        hist_with_ratio(fig, outer[k // cols, k % cols], r_ok, g_ok, quantile_bins(r_ok, 50),
                        axis_label(name), title=name)
    fig.axes[0].legend(fontsize=8)
    return save(fig, path)
