"""The voxel-energy spectrum of a sample, accumulated chunk by chunk, and its separation power.

The CaloChallenge evaluation's last histogram (``plot_cell_dist`` in
``code/evaluate_plotting_helper.py``) holds every voxel energy of every shower in 49 bins
log-spaced from ``min_energy`` (10 MeV for ds1, 0.01515 MeV for ds2/ds3) to the largest voxel
energy of the reference. ds3 has 40,500 voxels per shower, so the voxels of a sample never sit in
memory together here: while a file is read, :meth:`VoxelSpectrum.add` counts each chunk's voxels
in a FIXED fine grid (:data:`FINE_PER_DECADE` log bins per decade from 1e-6 to 1e8 MeV) and keeps
the running maximum. :func:`compare_voxel_spectra` then rebins both fine histograms into the
official bins (the cumulative count interpolated linearly in log E inside a fine bin, which moves
a count by less than a fine bin's share, 1/1000 of a decade) and takes the separation power.

Errors as for the other histograms (:func:`caloforge.evaluate.histograms.compare_feature`):
:data:`N_REPLICAS` Poisson(1) weights per shower (the voxels of a shower share its weight, so
their correlation is kept) give bootstrap replicas of the spectrum; ``bootstrap_std`` is the
spread of S between replicas of the two samples, ``floor`` the mean S between two replicas of the
reference, scaled from ``n_ref`` vs ``n_ref`` to ``n_ref`` vs ``n_gen`` by
``(1 / n_ref + 1 / n_gen) / (2 / n_ref)`` (the statistical S of two samples is proportional to
``1 / n_1 + 1 / n_2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from caloforge.evaluate.histograms import (
    FeatureComparison,
    log_bins,
    min_energy,
    separation_power,
)
from caloforge.geometry import LayeredGeometry

__all__ = ["FINE_PER_DECADE", "N_REPLICAS", "VOXEL_FEATURE", "VoxelSpectrum",
           "compare_voxel_spectra", "fine_edges", "official_voxel_bins", "rebin"]

#: Name of the feature in ``metrics.json`` and the summary.
VOXEL_FEATURE = "E_voxel"
#: Fine bins per decade of the accumulation grid.
FINE_PER_DECADE = 1000
#: Decades (log10 MeV) covered by the accumulation grid.
FINE_RANGE = (-6, 8)
#: Poisson(1)-weighted replicas kept per sample (bootstrap and floor).
N_REPLICAS = 10
#: Edges of the official histogram (``np.logspace(..., 50)``: 49 bins).
N_EDGES = 50


def fine_edges() -> np.ndarray:
    """The fixed edges of the accumulation grid (MeV)."""
    lo, hi = FINE_RANGE
    return np.logspace(lo, hi, (hi - lo) * FINE_PER_DECADE + 1)


@dataclass
class VoxelSpectrum:
    """Counts of voxel energies in the fine grid, with bootstrap replicas.

    Attributes:
        counts: Unweighted counts per fine bin.
        replicas: ``(N_REPLICAS, n_fine)`` counts with one Poisson(1) weight per shower.
        max_value: Largest voxel energy seen (MeV).
        min_positive: Smallest positive voxel energy seen (MeV).
        n_showers: Showers added.
    """

    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(fine_edges()) - 1))
    replicas: np.ndarray = field(
        default_factory=lambda: np.zeros((N_REPLICAS, len(fine_edges()) - 1)))
    max_value: float = 0.0
    min_positive: float = float("inf")
    n_showers: int = 0

    def add(self, voxels: np.ndarray, rng: np.random.Generator) -> None:
        """Count the voxels of a chunk of showers ``(n, n_voxels)``."""
        voxels = np.asarray(voxels)
        n = len(voxels)
        self.n_showers += n
        if n == 0:
            return
        weights = rng.poisson(1.0, (len(self.replicas), n)).astype(np.float64)
        self.max_value = max(self.max_value, float(voxels.max()))
        rows, cols = np.nonzero(voxels > 0)
        if rows.size == 0:
            return
        values = voxels[rows, cols].astype(np.float32)  # float32 log10: bins of 1/1000 decade
        self.min_positive = min(self.min_positive, float(values.min()))
        idx = np.floor((np.log10(values) - FINE_RANGE[0]) * FINE_PER_DECADE).astype(np.int64)
        inside = (idx >= 0) & (idx < self.counts.size)
        idx, rows = idx[inside], rows[inside]
        size = self.counts.size
        self.counts += np.bincount(idx, minlength=size)
        for r in range(len(self.replicas)):
            self.replicas[r] += np.bincount(idx, weights=weights[r][rows], minlength=size)

    @classmethod
    def join(cls, parts: list[VoxelSpectrum]) -> VoxelSpectrum:
        """The spectrum of several samples together (e.g. two halves of a file)."""
        return cls(counts=np.sum([p.counts for p in parts], axis=0),
                   replicas=np.sum([p.replicas for p in parts], axis=0),
                   max_value=max(p.max_value for p in parts),
                   min_positive=min(p.min_positive for p in parts),
                   n_showers=sum(p.n_showers for p in parts))


def rebin(counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fine-grid ``counts`` in the bins ``edges`` (cumulative interpolated in log E)."""
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    at = np.interp(np.log10(edges), np.log10(fine_edges()), cumulative)
    return np.diff(at)


def official_voxel_bins(reference: VoxelSpectrum, geometry: LayeredGeometry,
                        threshold: float) -> np.ndarray:
    """``plot_cell_dist``'s bins: 50 edges log-spaced from :func:`min_energy` (the smallest
    positive reference voxel where the geometry has no threshold) to the reference maximum."""
    low = min_energy(geometry, threshold)
    if low is None:
        low = reference.min_positive if np.isfinite(reference.min_positive) else 1e-3
    return log_bins(low, reference.max_value if reference.max_value > 0 else low, N_EDGES)


def _unit(h: np.ndarray) -> np.ndarray:
    total = h.sum()
    return h / total if total > 0 else h


def _s(a: np.ndarray, b: np.ndarray, bins: np.ndarray) -> float:
    return separation_power(_unit(rebin(a, bins)), _unit(rebin(b, bins)))


def compare_voxel_spectra(reference: VoxelSpectrum, generated: VoxelSpectrum,
                          geometry: LayeredGeometry, threshold: float) -> FeatureComparison:
    """Separation power of the voxel-energy spectra in the official bins, with errors (see the
    module docstring)."""
    bins = official_voxel_bins(reference, geometry, threshold)
    value = _s(reference.counts, generated.counts, bins)
    n_rep = min(len(reference.replicas), len(generated.replicas))
    boots = [_s(reference.replicas[i], generated.replicas[i], bins) for i in range(n_rep)]
    n_ref, n_gen = reference.n_showers, generated.n_showers
    scale = (1.0 / max(n_ref, 1) + 1.0 / max(n_gen, 1)) / (2.0 / max(n_ref, 1))
    m = len(reference.replicas)
    floors = [scale * _s(reference.replicas[i], reference.replicas[(i + 1) % m], bins)
              for i in range(m)] if m > 1 else []
    return FeatureComparison(VOXEL_FEATURE, value, float(np.std(boots)) if boots else 0.0,
                             float(np.mean(floors)) if floors else 0.0,
                             float(np.std(floors)) if floors else 0.0, n_ref, n_gen)
