"""High-level shower features as in the CaloChallenge evaluation, vectorised and streamed.

Definitions follow CaloChallenge/homepage ``code/HighLevelFeatures.py`` (re-implemented): per
layer the deposited energy, the energy-weighted centre in eta and phi (cylindrical:
``eta = r cos alpha``, ``phi = r sin alpha``; cartesian: x and y) for layers binned in alpha,
their widths ``sqrt(<x^2> - <x>^2)``, the centre and width in r, and the sparsity (share of
voxels at or below the threshold). Voxels below the readout threshold are zeroed first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caloforge.data.showers import Showers
from caloforge.geometry import CylindricalGeometry, LayeredGeometry

__all__ = ["HighLevelFeatures", "angular_layer_labels", "apply_threshold", "compute_features",
           "feature_columns", "layer_labels"]

_EPS = 1e-16


def apply_threshold(voxels: np.ndarray, threshold: float) -> np.ndarray:
    """Voxels (float64 copy) with energies below ``threshold`` MeV set to 0."""
    out = np.array(voxels, dtype=np.float64)
    if threshold > 0:
        out[out < threshold] = 0.0
    return out


def layer_labels(geometry: LayeredGeometry) -> list[int]:
    """Names of the readout layers: binning-file ids (cylindrical) or indices (cartesian)."""
    if isinstance(geometry, CylindricalGeometry):
        return list(geometry.layer_ids)
    return list(range(geometry.n_layers))


def angular_layer_labels(geometry: LayeredGeometry) -> list[int]:
    """Names of the layers with eta/phi features (binned in alpha, or every cartesian layer)."""
    labels = layer_labels(geometry)
    return [labels[j] for j in _angular_layers(geometry)]


def _angular_layers(geometry: LayeredGeometry) -> list[int]:
    if isinstance(geometry, CylindricalGeometry):
        return [i for i, layer in enumerate(geometry.layers) if layer.n_alpha > 1]
    return list(range(geometry.n_layers))


@dataclass
class HighLevelFeatures:
    """Per-shower features (float64). Layer-wise arrays have one column per layer in
    ``layers`` (or ``angular_layers`` for the eta/phi quantities).

    Attributes:
        e_inc, e_tot: Incident and deposited energy, MeV, ``(N,)``.
        e_layer, ec_r, width_r, sparsity: ``(N, n_layers)``.
        ec_eta, ec_phi, width_eta, width_phi: ``(N, n_angular_layers)``, mm.
        theta: Incidence angle if the file has one, else None.
        layers, angular_layers: Layer labels of the columns.
    """

    e_inc: np.ndarray
    e_tot: np.ndarray
    e_layer: np.ndarray
    ec_eta: np.ndarray
    ec_phi: np.ndarray
    width_eta: np.ndarray
    width_phi: np.ndarray
    ec_r: np.ndarray
    width_r: np.ndarray
    sparsity: np.ndarray
    theta: np.ndarray | None
    layers: list[int]
    angular_layers: list[int]

    def __len__(self) -> int:
        return len(self.e_inc)

    def named(self) -> dict[str, np.ndarray]:
        """Every 1-D feature by name, in the order of the CaloChallenge plots."""
        out = {}
        for name, (field, column) in feature_columns(self.layers, self.angular_layers).items():
            if field is None:
                out[name] = self.e_tot / self.e_inc
            else:
                out[name] = getattr(self, field)[:, column]
        return out


def feature_columns(layers: list[int], angular_layers: list[int]
                    ) -> dict[str, tuple[str | None, int | None]]:
    """Name of every 1-D feature -> (field, column); ``E_tot/E_inc`` maps to ``(None, None)``.

    Example:
        >>> list(feature_columns([0, 1], [1]))[:4]
        ['E_tot/E_inc', 'E_layer_0', 'E_layer_1', 'EC_eta_1']
    """
    out: dict[str, tuple[str | None, int | None]] = {"E_tot/E_inc": (None, None)}
    for j, label in enumerate(layers):
        out[f"E_layer_{label}"] = ("e_layer", j)
    for name, field in (("EC_eta", "ec_eta"), ("EC_phi", "ec_phi"),
                        ("width_eta", "width_eta"), ("width_phi", "width_phi")):
        for j, label in enumerate(angular_layers):
            out[f"{name}_{label}"] = (field, j)
    for name, field in (("EC_r", "ec_r"), ("width_r", "width_r"), ("sparsity", "sparsity")):
        for j, label in enumerate(layers):
            out[f"{name}_{label}"] = (field, j)
    return out


def compute_features(showers: Showers, geometry: LayeredGeometry,
                     threshold: float | None = None) -> HighLevelFeatures:
    """High-level features of a batch (threshold default: the geometry's).

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds1-photons")
        >>> vox = np.zeros((1, geo.n_voxels)); vox[0, geo.layer_slice(1).start] = 5.0
        >>> f = compute_features(Showers(np.array([10.0]), vox), geo)
        >>> f.e_layer[0].tolist(), round(float(f.ec_r[0, 1]), 3)
        ([0.0, 5.0, 0.0, 0.0, 0.0], 1.0)
    """
    thr = geometry.readout_threshold_mev if threshold is None else threshold
    voxels = apply_threshold(showers.voxels, thr)
    xy = geometry.voxel_xy()
    r = np.hypot(xy[:, 0], xy[:, 1])
    if isinstance(geometry, CylindricalGeometry):
        r, _ = geometry.voxel_r_alpha()
    n, n_layers = len(showers), geometry.n_layers
    e_layer = np.empty((n, n_layers))
    ec_r, width_r, sparsity = (np.empty((n, n_layers)) for _ in range(3))
    angular = _angular_layers(geometry)
    ang = [np.empty((n, len(angular))) for _ in range(4)]
    for j, sl in enumerate(geometry.layer_slices()):
        e = voxels[:, sl]
        total = e.sum(axis=1)
        e_layer[:, j] = total
        sparsity[:, j] = 1.0 - (e > 0).mean(axis=1)
        ec_r[:, j], width_r[:, j] = _centre_width(e, total, r[sl])
        if j in angular:
            k = angular.index(j)
            ang[0][:, k], ang[2][:, k] = _centre_width(e, total, xy[sl, 0])
            ang[1][:, k], ang[3][:, k] = _centre_width(e, total, xy[sl, 1])
    labels = layer_labels(geometry)
    return HighLevelFeatures(
        e_inc=np.asarray(showers.energies, dtype=np.float64), e_tot=e_layer.sum(axis=1),
        e_layer=e_layer, ec_eta=ang[0], ec_phi=ang[1], width_eta=ang[2], width_phi=ang[3],
        ec_r=ec_r, width_r=width_r, sparsity=sparsity,
        theta=None if showers.theta is None else np.asarray(showers.theta, dtype=np.float64),
        layers=labels, angular_layers=[labels[j] for j in angular])


def _centre_width(e: np.ndarray, total: np.ndarray,
                  pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = (e @ pos) / (total + _EPS)
    second = (e @ (pos * pos)) / (total + _EPS)
    return mean, np.sqrt(np.clip(second - mean**2, 0.0, None))
