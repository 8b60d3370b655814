"""Plots of an evaluation (matplotlib, Agg backend, HEP style: step histograms over ratio panels
with propagated Poisson error bands).

:func:`plot_all` writes every figure; the figures live in ``plot_histograms`` (high-level
features, response, layer energies, physics), ``plot_images`` (average shower images, profiles
on voxel edges, voxel-energy spectrum; from :mod:`~caloforge.evaluate.plot_voxels` statistics)
and ``plot_roc`` (ROC curves with the reference floor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.evaluate.classifier import ClassifierResult
from caloforge.evaluate.features import layer_labels
from caloforge.evaluate.plot_histograms import (
    etot_figure,
    family_figure,
    layer_energy_figure,
    physics_figure,
    physics_observables_figure,
)
from caloforge.evaluate.plot_images import (
    image_figure,
    profile_figure,
    radial_on_voxel_edges,
    spectrum_figure,
)
from caloforge.evaluate.plot_roc import roc_figure
from caloforge.evaluate.plot_style import STYLE as REPORT_STYLE
from caloforge.evaluate.plot_style import plt
from caloforge.evaluate.plot_voxels import (
    PROFILE_KINDS,
    VoxelStats,
    spectrum_edges,
    voxel_stats,
)
from caloforge.evaluate.report_options import plot_format
from caloforge.evaluate.sample import Sample
from caloforge.geometry import LayeredGeometry

__all__ = ["FAMILIES", "STYLE", "VOXEL_PLOTS", "plot_all"]

#: The house matplotlib style of other caloforge figures (the report's figures use
#: :data:`caloforge.evaluate.plot_style.STYLE`).
STYLE = {"font.size": 9, "axes.grid": False, "xtick.direction": "in", "ytick.direction": "in",
         "xtick.top": True, "ytick.right": True, "legend.frameon": False}
FAMILIES = ("E_layer", "EC_eta", "EC_phi", "width_eta", "width_phi", "EC_r", "width_r",
            "sparsity")
#: Stems of the figures that need the voxels (kept by cls-low modes, or read from ``sources``).
VOXEL_PLOTS = ("voxel_spectrum", "average_images", *(f"profile_{k}" for k in PROFILE_KINDS))


def plot_all(ref: Sample, gen: Sample, geometry: LayeredGeometry, threshold: float,
             classifiers: Sequence[ClassifierResult], out_dir: Path, *, fmt: str | None = None,
             sources: tuple[str | Path, str | Path] | None = None,
             max_showers: int | None = None,
             floor_classifiers: Sequence[Mapping[str, Any]] | None = None) -> list[Path]:
    """Write every plot to ``out_dir`` and return their paths.

    Arguments:
        ref, gen: The samples.
        geometry: Their geometry.
        threshold: Readout threshold (MeV).
        classifiers: Classifier results of generated vs reference (ROC curves).
        out_dir: Output folder (created).
        fmt: ``png`` or ``svg`` (default ``png``; ``evaluate --svg``).
        sources: ``(reference, generated)`` files to stream the voxels from where the samples
            do not keep them (voxel spectrum, average images, profiles on voxel edges).
        max_showers: With ``sources``: showers read per file (as for the metrics).
        floor_classifiers: The reference floor's classifier dicts (dashed ROC curves).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = plot_format(fmt)
    top = float(max(np.max(ref.features.e_inc, initial=1.0), np.max(gen.features.e_inc,
                                                                    initial=1.0)))
    edges = spectrum_edges(threshold, top)
    src = sources or (None, None)
    stats = [voxel_stats(geometry, threshold, edges, s.voxels,
                         None if s.voxels is not None else path, max_showers)
             for s, path in zip((ref, gen), src, strict=True)]
    paths: list[Path | None] = []
    with plt.rc_context(REPORT_STYLE):
        paths += [etot_figure(ref, gen, geometry, out_dir / f"etot_einc.{ext}"),
                  layer_energy_figure(ref, gen, out_dir / f"mean_energy_per_layer.{ext}")]
        for family in FAMILIES:
            paths.append(family_figure(ref, gen, geometry, family, threshold,
                                       out_dir / f"hist_{family}.{ext}"))
        radial, title = None, "radial profile"
        s_ref, s_gen = stats
        if s_ref is not None and s_gen is not None:
            paths.append(image_figure(s_ref, s_gen, geometry, out_dir / f"average_images.{ext}"))
            paths += [profile_figure(s_ref, s_gen, geometry, kind,
                                     out_dir / f"profile_{kind}.{ext}") for kind in PROFILE_KINDS]
            found = radial_on_voxel_edges(s_ref, s_gen, geometry)
            if found is not None:
                radial, layer = found
                title = f"radial profile, layer {layer_labels(geometry)[layer]} (most energy)"
        spectrum = _spectrum(ref, gen, geometry, threshold, stats)
        if spectrum is not None:
            paths.append(spectrum_figure(*spectrum[:3], threshold,
                                         out_dir / f"voxel_spectrum.{ext}", spectrum[3]))
        paths.append(physics_figure(ref, gen, out_dir / f"physics.{ext}", radial, title))
        paths.append(physics_observables_figure(ref, gen, out_dir / f"physics_observables.{ext}"))
        paths.append(roc_figure(classifiers, out_dir / f"roc.{ext}", floor_classifiers))
    return [p for p in paths if p is not None]


def _spectrum(ref: Sample, gen: Sample, geometry: LayeredGeometry, threshold: float,
              stats: list[VoxelStats | None]) -> tuple[Any, ...] | None:
    """Edges, ``(counts, n)`` of both samples and a binning note: from the samples' voxel
    spectra in the binning of their separation power where the metrics counted them
    (``hist``), else from the voxel statistics."""
    s_ref, s_gen = getattr(ref, "spectrum", None), getattr(gen, "spectrum", None)
    if s_ref is not None and s_gen is not None:
        try:
            from caloforge.evaluate.voxel_spectrum import official_voxel_bins, rebin

            edges = official_voxel_bins(s_ref, geometry, threshold)
            return (edges, (rebin(s_ref.counts, edges), s_ref.n_showers),
                    (rebin(s_gen.counts, edges), s_gen.n_showers),
                    "bins of the CaloChallenge voxel histogram, as for its separation power")
        except (ImportError, AttributeError, TypeError):  # another spectrum API: use ours
            pass
    v_ref, v_gen = stats
    if v_ref is None or v_gen is None:
        return None
    return (v_ref.spectrum_edges, (v_ref.spectrum, v_ref.n), (v_gen.spectrum, v_gen.n),
            "10 log bins per decade")
