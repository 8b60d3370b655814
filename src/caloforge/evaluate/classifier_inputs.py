"""Input vectors of the CaloChallenge classifier test.

=================  ===========================================================================
mode               input vector (one row per shower)
=================  ===========================================================================
cls-low            ``[log10 E_inc, voxels / E_inc]`` (after the readout threshold)
cls-low-normed     ``[log10 E_inc, voxels / E_layer, log10 (E_layer + 1e-8)]`` (no threshold,
                   as in the official code)
cls-high           ``[log10 E_inc, log10 (E_layer + 1e-8), EC / 100, widths / 100,
                   log10 (E_tot + 1e-8), sparsity, EC_r / 100, width_r / 100]``
=================  ===========================================================================

``E_inc`` in these vectors is in MeV. Conditions (``theta``) are appended when asked for.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from caloforge.evaluate.feature_table import FeatureTable
from caloforge.evaluate.features import HighLevelFeatures, apply_threshold
from caloforge.geometry import LayeredGeometry

__all__ = ["CLASSIFIER_MODES", "ArrayRows", "HighLevelRows", "RowSource", "as_rows",
           "high_level_vector", "low_level_vector"]

CLASSIFIER_MODES = ("cls-low", "cls-low-normed", "cls-high")


def low_level_vector(voxels: np.ndarray, e_inc: np.ndarray, geometry: LayeredGeometry,
                     normed: bool = False, threshold: float | None = None,
                     theta: np.ndarray | None = None) -> np.ndarray:
    """The ``cls-low`` (or ``cls-low-normed``) input matrix, float32.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds1-photons")
        >>> low_level_vector(np.ones((2, 368)), np.array([100.0, 1000.0]), geo).shape
        (2, 369)
    """
    e_inc = np.asarray(e_inc, dtype=np.float64).reshape(-1, 1)
    if normed:
        x = np.asarray(voxels, dtype=np.float64)
        e_layer = geometry.layer_energies(x)
        per_voxel = np.repeat(e_layer, geometry.layer_sizes, axis=1)
        parts = [np.log10(e_inc), x / (per_voxel + 1e-16), np.log10(e_layer + 1e-8)]
    else:
        thr = geometry.readout_threshold_mev if threshold is None else threshold
        parts = [np.log10(e_inc), apply_threshold(voxels, thr) / e_inc]
    if theta is not None:
        parts.append(np.asarray(theta, dtype=np.float64).reshape(-1, 1))
    return np.concatenate(parts, axis=1).astype(np.float32)


def high_level_vector(features: HighLevelFeatures, with_theta: bool = False) -> np.ndarray:
    """The ``cls-high`` input matrix (also the FPD/KPD feature vector), float32.

    Example:
        >>> from caloforge.data import Showers
        >>> from caloforge.evaluate.features import compute_features
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds1-photons")
        >>> f = compute_features(Showers(np.array([1e3]), np.ones((1, 368))), geo)
        >>> high_level_vector(f).shape  # 1 + 5 + 4 x 2 + 1 + 5 + 5 + 5
        (1, 30)
    """
    parts = [
        np.log10(features.e_inc)[:, None],
        np.log10(features.e_layer + 1e-8),
        features.ec_eta / 100.0, features.ec_phi / 100.0,
        features.width_eta / 100.0, features.width_phi / 100.0,
        np.log10(features.e_tot + 1e-8)[:, None],
        features.sparsity,
        features.ec_r / 100.0, features.width_r / 100.0,
    ]
    if with_theta and features.theta is not None:
        parts.append(features.theta[:, None])
    return np.concatenate(parts, axis=1).astype(np.float32)


class RowSource(Protocol):
    """Classifier inputs read block by block (rows = showers, float32)."""

    def __len__(self) -> int: ...

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop``."""
        ...


class ArrayRows:
    """A :class:`RowSource` over a matrix in memory."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def read(self, start: int, stop: int) -> np.ndarray:
        return np.asarray(self.x[start:stop], dtype=np.float32)


class HighLevelRows:
    """The ``cls-high`` vectors of a :class:`FeatureTable`, built block by block on demand.

    Example:
        >>> from caloforge.data import Showers
        >>> from caloforge.evaluate.features import compute_features
        >>> from caloforge.geometry import get_geometry
        >>> f = compute_features(Showers(np.array([1e3]), np.ones((1, 368))),
        ...                      get_geometry("ds1-photons"))
        >>> table = FeatureTable(f.layers, f.angular_layers); table.append(f)
        >>> HighLevelRows(table).read(0, 1).shape
        (1, 30)
    """

    def __init__(self, table: FeatureTable, with_theta: bool = False) -> None:
        self.table = table
        self.with_theta = with_theta

    def __len__(self) -> int:
        return len(self.table)

    def read(self, start: int, stop: int) -> np.ndarray:
        return high_level_vector(self.table.chunk(start, stop), self.with_theta)

    def matrix(self) -> np.ndarray:
        """All rows in memory (for FPD/KPD)."""
        return self.read(0, len(self))


def as_rows(x: np.ndarray | RowSource) -> RowSource:
    """A :class:`RowSource` for a matrix or a source."""
    return ArrayRows(x) if isinstance(x, np.ndarray) else x
