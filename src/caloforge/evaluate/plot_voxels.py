"""Voxel-level statistics of a sample for the figures, accumulated chunk by chunk.

Per voxel the sum and the sum of squares of its energy (mean shower images with errors), the
voxel-energy spectrum on log bins, and per layer the per-shower profiles binned on the voxel
edges (cylindrical: radial over ``r_edges`` and angular over the alpha bins; cartesian: along x
and y over the cell edges), as sums and sums of squares over showers (errors of the mean).
Voxels below the readout threshold are zeroed first, as for the high-level features. Memory does
not grow with the number of showers: at most :data:`VOXELS_PER_CHUNK` voxel values are
converted at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.evaluate.features import apply_threshold
from caloforge.geometry import CartesianGeometry, CylindricalGeometry, LayeredGeometry

__all__ = ["PROFILE_KINDS", "VOXELS_PER_CHUNK", "Profile", "VoxelStats", "spectrum_edges",
           "voxel_stats"]

#: Voxel values per chunk (about 16 MB as float64).
VOXELS_PER_CHUNK = 2_000_000
#: Profile kinds by geometry kind, with their axis labels and units.
PROFILE_KINDS = {"r": ("r [mm]", "mm"), "alpha": ("alpha [rad]", "rad"),
                 "x": ("x [mm]", "mm"), "y": ("y [mm]", "mm")}


@dataclass
class Profile:
    """A per-layer profile on voxel edges: sums over showers of the per-shower profile."""

    layer: int
    edges: np.ndarray
    total: np.ndarray
    total_sq: np.ndarray

    def mean(self, n: int, per_unit: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Mean per shower (per unit of the axis with ``per_unit``) and its error."""
        n = max(n, 1)
        mean = self.total / n
        err = np.sqrt(np.maximum(self.total_sq / n - mean**2, 0.0) / n)
        width = np.diff(self.edges) if per_unit else 1.0
        return mean / width, err / width


@dataclass
class VoxelStats:
    """Voxel statistics of one sample (see the module docstring)."""

    n: int
    total: np.ndarray
    total_sq: np.ndarray
    spectrum_edges: np.ndarray
    spectrum: np.ndarray
    profiles: dict[str, list[Profile]] = field(default_factory=dict)

    def mean_image(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean energy per voxel (MeV) and its error, ``(n_voxels,)`` each."""
        n = max(self.n, 1)
        mean = self.total / n
        return mean, np.sqrt(np.maximum(self.total_sq / n - mean**2, 0.0) / n)


def spectrum_edges(threshold: float, top: float, per_decade: int = 10) -> np.ndarray:
    """Log bins of voxel energy (MeV) from the decade of the threshold (at least 1 keV) to the
    decade above ``top``.

    Example:
        >>> spectrum_edges(1.0, 3e5, 2)[[0, -1]]
        array([1.e+00, 1.e+06])
    """
    lo = np.floor(np.log10(max(threshold, 1e-3)))
    hi = max(np.ceil(np.log10(max(top, 10.0 ** (lo + 1)))), lo + 1)
    return np.logspace(lo, hi, round(float(hi - lo) * per_decade) + 1)


def _layer_blocks(geometry: LayeredGeometry, x: np.ndarray
                  ) -> Iterator[tuple[int, dict[str, tuple[np.ndarray, np.ndarray]]]]:
    """Per layer: kind -> (edges, per-shower profile ``(n, bins)``)."""
    if isinstance(geometry, CylindricalGeometry):
        for j, (layer, sl) in enumerate(zip(geometry.layers, geometry.layer_slices(),
                                            strict=True)):
            block = x[:, sl].reshape(len(x), layer.n_alpha, layer.n_r)
            out = {"r": (np.asarray(layer.r_edges, dtype=np.float64), block.sum(axis=1))}
            if layer.n_alpha > 1:
                out["alpha"] = (layer.alpha_edges, block.sum(axis=2))
            yield j, out
    elif isinstance(geometry, CartesianGeometry):
        for j, (layer, sl) in enumerate(zip(geometry.layers, geometry.layer_slices(),
                                            strict=True)):
            block = x[:, sl].reshape(len(x), layer.n_x, layer.n_y)
            out = {}
            if layer.n_x > 1:
                out["x"] = (layer.x_edges, block.sum(axis=2))
            if layer.n_y > 1:
                out["y"] = (layer.y_edges, block.sum(axis=1))
            yield j, out


class _Accumulator:
    def __init__(self, geometry: LayeredGeometry, threshold: float, edges: np.ndarray) -> None:
        self.geometry, self.threshold, self.edges = geometry, threshold, edges
        self.n = 0
        self.total = np.zeros(geometry.n_voxels)
        self.total_sq = np.zeros(geometry.n_voxels)
        self.spectrum = np.zeros(len(edges) - 1)
        self.profiles: dict[str, dict[int, Profile]] = {}

    def add(self, voxels: np.ndarray) -> None:
        x = apply_threshold(voxels, self.threshold)
        self.n += len(x)
        self.total += x.sum(axis=0)
        self.total_sq += (x * x).sum(axis=0)
        self.spectrum += np.histogram(x[x > 0], bins=self.edges)[0]
        for j, kinds in _layer_blocks(self.geometry, x):
            for kind, (edges, prof) in kinds.items():
                per_layer = self.profiles.setdefault(kind, {})
                if j not in per_layer:
                    per_layer[j] = Profile(j, edges, np.zeros(prof.shape[1]),
                                           np.zeros(prof.shape[1]))
                per_layer[j].total += prof.sum(axis=0)
                per_layer[j].total_sq += (prof * prof).sum(axis=0)

    def stats(self) -> VoxelStats:
        return VoxelStats(self.n, self.total, self.total_sq, self.edges, self.spectrum,
                          {k: [v[j] for j in sorted(v)] for k, v in self.profiles.items()})


def _chunks(voxels: Any, source: str | Path | None, n_voxels: int,
            max_showers: int | None) -> Iterator[np.ndarray]:
    rows = max(1, VOXELS_PER_CHUNK // max(n_voxels, 1))
    if voxels is not None:  # a matrix, or a store on disk read by row range
        read = voxels.read if hasattr(voxels, "read") else lambda a, b: voxels[a:b]
        for start in range(0, len(voxels), rows):
            yield np.asarray(read(start, min(start + rows, len(voxels))))
        return
    from caloforge.data.io import ShowerFile

    file = ShowerFile(source)  # type: ignore[arg-type]
    n = file.n if max_showers is None else min(file.n, max_showers)
    for start in range(0, n, rows):
        yield np.asarray(file.read(start, min(start + rows, n)).voxels)


def voxel_stats(geometry: LayeredGeometry, threshold: float, edges: np.ndarray,
                voxels: Any = None, source: str | Path | None = None,
                max_showers: int | None = None) -> VoxelStats | None:
    """Voxel statistics from a voxel matrix in memory or, streamed, from a shower file.

    Arguments:
        geometry: The geometry of the showers.
        threshold: Readout threshold (MeV); voxels below it count as 0.
        edges: Voxel-energy bins of the spectrum (:func:`spectrum_edges`).
        voxels: ``(N, n_voxels)`` voxel energies (MeV), a matrix or a store with
            ``read(start, stop)`` (:class:`~caloforge.evaluate.classifier_inputs.VoxelStore`),
            used if given.
        source: A CaloChallenge file read chunk by chunk otherwise.
        max_showers: With ``source``: use its first ``max_showers`` showers (as the metrics).

    Returns:
        The statistics, or None without voxels and source.
    """
    if voxels is None and source is None:
        return None
    acc = _Accumulator(geometry, threshold, edges)
    for chunk in _chunks(voxels, source, geometry.n_voxels, max_showers):
        acc.add(chunk)
    return acc.stats()
