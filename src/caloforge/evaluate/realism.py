"""Shower realism at one incident energy: the physics summaries a simulator is tuned on and
judged by (Geant4 against a fast simulator, or Geant4 against itself for the floor).

:func:`summarise` reduces a sample to its response, resolution, layer fractions, radial widths
and their spread, occupancy, the number of sub-MeV cells and the wander of the shower centroid;
:func:`compare` sets two summaries side by side with the separation power of every high-level
feature.

Example:
    >>> from caloforge.geometry import get_geometry
    >>> from caloforge.data.showers import Showers
    >>> geo = get_geometry("calogan")
    >>> vox = np.random.default_rng(0).exponential(5.0, (50, geo.n_voxels))
    >>> s = summarise(Showers(np.full(50, 1e4), vox), geo)
    >>> len(s.layer_fraction), round(float(s.layer_fraction.sum()), 6)
    (3, 1.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from caloforge.data.showers import Showers
from caloforge.evaluate.features import HighLevelFeatures, compute_features
from caloforge.evaluate.histograms import feature_bins, normalised_histogram, separation_power
from caloforge.geometry import LayeredGeometry

__all__ = ["HALO_MEV", "LAYER_SHARE_MIN", "RealismComparison", "ShowerSummary", "compare",
           "separation_powers", "summarise"]

#: Layers holding less than this share of the mean energy are left out of the width checks.
LAYER_SHARE_MIN = 0.02
#: Cells below this energy (MeV) count as halo deposits.
HALO_MEV = 1.0


@dataclass
class ShowerSummary:
    """Means and spreads of one fixed-energy sample (energies in MeV, lengths in mm).

    Attributes:
        n: Showers.
        response: Mean ``E_tot / E_inc``.
        resolution: ``std / mean`` of ``E_tot / E_inc``.
        layer_fraction: Mean share of ``E_tot`` in each layer.
        width_mean, width_std: Mean and spread of each layer's radial width.
        centroid_std: Spread of each layer's energy centroid (x and y pooled).
        occupancy: Mean number of non-zero cells per shower.
        halo_cells: Mean number of non-zero cells below 1 MeV per shower.
    """

    n: int
    response: float
    resolution: float
    layer_fraction: np.ndarray
    width_mean: np.ndarray
    width_std: np.ndarray
    centroid_std: np.ndarray
    occupancy: float
    halo_cells: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in asdict(self).items()}


def _widths(f: HighLevelFeatures) -> np.ndarray:
    """Radial width per shower and layer; angular layers use the x/y widths in quadrature."""
    width = f.width_r.copy()
    for k, label in enumerate(f.angular_layers):
        j = f.layers.index(label)
        width[:, j] = np.hypot(f.width_eta[:, k], f.width_phi[:, k])
    return width


def _centroids(f: HighLevelFeatures) -> np.ndarray:
    """Spread of the layer centroids (pooled x and y); zeros for layers without x/y."""
    out = np.zeros(len(f.layers))
    for k, label in enumerate(f.angular_layers):
        out[f.layers.index(label)] = np.sqrt(0.5 * (np.var(f.ec_eta[:, k])
                                                     + np.var(f.ec_phi[:, k])))
    return out


def _weighted_layer_stats(values: np.ndarray, e_layer: np.ndarray) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Mean and std per layer over the showers with energy in that layer."""
    mean, std = np.zeros(values.shape[1]), np.zeros(values.shape[1])
    for j in range(values.shape[1]):
        hit = e_layer[:, j] > 0
        if hit.sum() > 1:
            mean[j], std[j] = values[hit, j].mean(), values[hit, j].std()
    return mean, std


def summarise(showers: Showers, geometry: LayeredGeometry,
              features: HighLevelFeatures | None = None) -> ShowerSummary:
    """The realism summary of ``showers`` (one incident energy, or a narrow range)."""
    f = features or compute_features(showers, geometry)
    vox = showers.voxels
    thr = geometry.readout_threshold_mev
    ratio = f.e_tot / f.e_inc
    total = np.maximum(f.e_tot, 1e-12)[:, None]
    width_mean, width_std = _weighted_layer_stats(_widths(f), f.e_layer)
    hit = vox > thr
    return ShowerSummary(
        n=len(f), response=float(ratio.mean()),
        resolution=float(ratio.std() / max(ratio.mean(), 1e-12)),
        layer_fraction=(f.e_layer / total).mean(axis=0), width_mean=width_mean,
        width_std=width_std, centroid_std=_centroids(f),
        occupancy=float(hit.sum(axis=1).mean()),
        halo_cells=float((hit & (vox < HALO_MEV)).sum(axis=1).mean()))


@dataclass
class RealismComparison:
    """A candidate sample against a reference at one energy.

    Attributes:
        reference, candidate: The two summaries.
        response_diff: Relative difference of the mean response.
        resolution_diff: Relative difference of ``sigma / E``.
        layer_fraction_pp: Largest layer-fraction difference, percentage points.
        width_diff: Largest relative difference of the mean width (layers with >= 2 % of the
            energy).
        width_std_diff: The same for the width spread.
        occupancy_diff: Relative difference of the occupancy.
        halo_ratio: Candidate over reference sub-MeV cells.
        separation: Separation power of every high-level feature.
    """

    reference: ShowerSummary
    candidate: ShowerSummary
    response_diff: float
    resolution_diff: float
    layer_fraction_pp: float
    width_diff: float
    width_std_diff: float
    occupancy_diff: float
    halo_ratio: float
    separation: dict[str, float] = field(default_factory=dict)

    @property
    def mean_separation(self) -> float:
        """Mean separation power over the high-level features."""
        return float(np.mean(list(self.separation.values()))) if self.separation else 0.0

    def worst_features(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` features with the largest separation power."""
        return sorted(self.separation.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the summaries included)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("reference", "candidate")}
        out.update(reference=self.reference.to_dict(), candidate=self.candidate.to_dict(),
                   mean_separation=self.mean_separation)
        return out


def _rel(a: float, b: float) -> float:
    return float((a - b) / b) if b else float("inf") if a else 0.0


def _worst_rel(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> float:
    if not keep.any():
        return 0.0
    rel = (a[keep] - b[keep]) / np.maximum(np.abs(b[keep]), 1e-12)
    return float(rel[np.argmax(np.abs(rel))])


def separation_powers(reference: HighLevelFeatures, candidate: HighLevelFeatures,
                      geometry: LayeredGeometry) -> dict[str, float]:
    """Separation power of every high-level feature, binned on the reference."""
    ref, cand = reference.named(), candidate.named()
    out = {}
    for name, values in ref.items():
        bins = feature_bins(name, values, geometry, geometry.readout_threshold_mev)
        out[name] = separation_power(normalised_histogram(values, bins),
                                     normalised_histogram(cand[name], bins))
    return out


def compare(reference: Showers, candidate: Showers, geometry: LayeredGeometry) -> RealismComparison:
    """Summaries of both samples, their differences and every feature's separation power."""
    f_ref, f_cand = compute_features(reference, geometry), compute_features(candidate, geometry)
    ref, cand = summarise(reference, geometry, f_ref), summarise(candidate, geometry, f_cand)
    keep = ref.layer_fraction >= LAYER_SHARE_MIN
    return RealismComparison(
        reference=ref, candidate=cand, response_diff=_rel(cand.response, ref.response),
        resolution_diff=_rel(cand.resolution, ref.resolution),
        layer_fraction_pp=float(100 * np.abs(cand.layer_fraction - ref.layer_fraction).max()),
        width_diff=_worst_rel(cand.width_mean, ref.width_mean, keep),
        width_std_diff=_worst_rel(cand.width_std, ref.width_std, keep),
        occupancy_diff=_rel(cand.occupancy, ref.occupancy),
        halo_ratio=cand.halo_cells / ref.halo_cells if ref.halo_cells else float("inf"),
        separation=separation_powers(f_ref, f_cand, geometry))
