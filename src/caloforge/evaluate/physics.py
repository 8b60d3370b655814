"""Physics observables of the ILD/BIB-AE studies, per shower and streamed in chunks.

Per shower: visible energy, number of hits above ``hit_mip`` MIPs, centre of gravity in x, y
(mm from the grid centre) and z (mm depth from the front face), and the polar angle
reconstructed from a straight-line fit of the per-layer centres of gravity in y against depth
(``dy/dz = cot(theta)``; cartesian geometries). Accumulated over showers: the hit-energy
spectrum on log bins in MIP units (the MIP peak), the mean longitudinal profile (energy per
layer) and the mean radial profile (energy against distance from the layer's centre of
gravity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from caloforge.data.showers import Showers
from caloforge.geometry import CartesianGeometry, LayeredGeometry

__all__ = ["PhysicsObservables", "compute_physics", "default_mip_mev"]

SPECTRUM_BINS_MIP = np.logspace(-1.5, 2.5, 81)
RADIAL_BINS_MM = np.linspace(0.0, 150.0, 61)


def default_mip_mev(geometry: LayeredGeometry) -> float:
    """MIP scale of a geometry: the most probable signal in its first active layer (MeV).

    Right for files in visible energy (ILD-like); pass ``mip_mev`` for calibrated files.
    """
    if geometry.materials is None:
        return 1.0
    return geometry.materials.layers[0].mip_mpv_mev()


@dataclass
class PhysicsObservables:
    """Per-shower observables (``(N,)`` arrays) and accumulated spectra of a sample."""

    e_inc: np.ndarray
    theta_true: np.ndarray | None
    e_vis: np.ndarray
    n_hits: np.ndarray
    cog_x: np.ndarray
    cog_y: np.ndarray
    cog_z: np.ndarray
    theta_rec: np.ndarray
    e_layer: np.ndarray
    hit_spectrum: np.ndarray
    radial_profile: np.ndarray
    mip_mev: float

    def __len__(self) -> int:
        return len(self.e_vis)

    @property
    def longitudinal_profile(self) -> np.ndarray:
        """Mean energy per layer, MeV."""
        return self.e_layer.mean(axis=0)

    def named(self) -> dict[str, np.ndarray]:
        """The per-shower observables by name (for histograms and separation power)."""
        out = {"E_vis": self.e_vis, "n_hits": self.n_hits.astype(np.float64),
               "cog_x": self.cog_x, "cog_y": self.cog_y, "cog_z": self.cog_z}
        if np.isfinite(self.theta_rec).any():
            out["theta_rec"] = self.theta_rec
            if self.theta_true is not None:
                out["theta_rec-theta_true"] = self.theta_rec - self.theta_true
        return out

    @classmethod
    def concatenate(cls, parts: Iterable[PhysicsObservables]) -> PhysicsObservables:
        """Join chunks: per-shower arrays concatenated, spectra summed."""
        parts = list(parts)
        p0 = parts[0]
        cat = {name: np.concatenate([getattr(p, name) for p in parts])
               for name in ("e_inc", "e_vis", "n_hits", "cog_x", "cog_y", "cog_z", "theta_rec",
                            "e_layer")}
        theta = None if p0.theta_true is None else np.concatenate([p.theta_true for p in parts])
        return cls(theta_true=theta, hit_spectrum=sum(p.hit_spectrum for p in parts),
                   radial_profile=sum(p.radial_profile for p in parts), mip_mev=p0.mip_mev,
                   **cat)


def compute_physics(showers: Showers, geometry: LayeredGeometry, mip_mev: float | None = None,
                    hit_mip: float = 0.5) -> PhysicsObservables:
    """Observables of one batch.

    Arguments:
        showers: The batch (voxel energies in MeV).
        geometry: Its geometry.
        mip_mev: MIP scale (default: :func:`default_mip_mev`).
        hit_mip: Hit threshold in MIPs.

    Returns:
        The observables; ``theta_rec`` is NaN for cylindrical geometries and for showers with
        fewer than three layers hit.
    """
    mip = default_mip_mev(geometry) if mip_mev is None else mip_mev
    x = np.asarray(showers.voxels, dtype=np.float64)
    hits = x > hit_mip * mip
    e_vis = x.sum(axis=1)
    xy = geometry.voxel_xy()
    z_layer = (np.asarray(geometry.materials.layer_centres_mm()) if geometry.materials
               else np.arange(geometry.n_layers, dtype=np.float64))
    e_layer = geometry.layer_energies(x)
    safe = np.where(e_vis > 0, e_vis, 1.0)
    cog_x, cog_y = (x @ xy[:, 0]) / safe, (x @ xy[:, 1]) / safe
    cog_z = (e_layer @ z_layer) / safe
    layer_cog = np.empty((len(x), geometry.n_layers, 2))
    for j, sl in enumerate(geometry.layer_slices()):
        den = np.where(e_layer[:, j] > 0, e_layer[:, j], 1.0)[:, None]
        layer_cog[:, j] = (x[:, sl] @ xy[sl]) / den
    theta_rec = np.full(len(x), np.nan)
    if isinstance(geometry, CartesianGeometry):
        theta_rec = _fit_theta(e_layer, layer_cog[:, :, 1], z_layer)
    rows, cols = np.nonzero(x)
    vox_layer = geometry.voxel_layer()[cols]
    dist = np.hypot(xy[cols, 0] - layer_cog[rows, vox_layer, 0],
                    xy[cols, 1] - layer_cog[rows, vox_layer, 1])
    radial, _ = np.histogram(dist, bins=RADIAL_BINS_MM, weights=x[rows, cols])
    spectrum, _ = np.histogram(x[rows, cols] / mip, bins=SPECTRUM_BINS_MIP)
    return PhysicsObservables(
        e_inc=np.asarray(showers.energies, dtype=np.float64),
        theta_true=None if showers.theta is None else np.asarray(showers.theta, np.float64),
        e_vis=e_vis, n_hits=hits.sum(axis=1), cog_x=cog_x, cog_y=cog_y, cog_z=cog_z,
        theta_rec=theta_rec, e_layer=e_layer, hit_spectrum=spectrum.astype(np.float64),
        radial_profile=radial, mip_mev=mip)


def _fit_theta(e_layer: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Energy-weighted straight-line fit ``y = a + z cot(theta)`` per shower."""
    w = e_layer
    sw = w.sum(axis=1)
    ok = ((w > 0).sum(axis=1) >= 3) & (sw > 0)
    sw = np.where(ok, sw, 1.0)
    zm = (w @ z) / sw
    ym = (w * y).sum(axis=1) / sw
    dz = z[None, :] - zm[:, None]
    slope = (w * dz * (y - ym[:, None])).sum(axis=1) / np.maximum((w * dz * dz).sum(axis=1),
                                                                  1e-12)
    theta = np.arctan2(1.0, slope)
    return np.where(ok, theta, np.nan)
