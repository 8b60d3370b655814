"""Input vectors of the CaloChallenge classifier test.

=================  ===========================================================================
mode               input vector (one row per shower)
=================  ===========================================================================
cls-low            ``[log10 E_inc, voxels / E_inc]`` (after the readout threshold)
cls-low-normed     ``[log10 E_inc, voxels / E_layer, log10 (E_layer + 1e-8)]`` (no threshold,
                   as in the official code)
cls-high           ``[log10 E_inc, log10 (E_layer + 1e-8), EC / 100, widths / 100,
                   log10 (E_tot + 1e-8), sparsity, EC_r / 100, width_r / 100]``
cls-resnet         ``[log10 E_inc, image]``: the ``cls-low`` voxels as one image
                   ``(layers, alpha, r)``, flattened (:mod:`caloforge.evaluate.resnet`)
=================  ===========================================================================

``E_inc`` in these vectors is in MeV. Conditions (``theta``) are appended when asked for
(for ``cls-resnet`` after ``log10 E_inc``, before the image).

The voxel modes read their voxels block by block (:class:`VoxelRows`), from a matrix or from a
:class:`VoxelStore` (a temporary file), so no matrix of all inputs is ever built.
"""

from __future__ import annotations

import tempfile
from typing import Protocol

import numpy as np

from caloforge.evaluate.feature_table import FeatureTable
from caloforge.evaluate.features import HighLevelFeatures, apply_threshold
from caloforge.evaluate.resnet import ImageLayout
from caloforge.geometry import LayeredGeometry

__all__ = ["CLASSIFIER_MODES", "VOXEL_MODES", "ArrayRows", "HighLevelRows", "RowSource",
           "VoxelRows", "VoxelStore", "as_rows", "high_level_vector", "join_voxels",
           "low_level_vector"]

CLASSIFIER_MODES = ("cls-low", "cls-low-normed", "cls-high", "cls-resnet")
#: The classifier modes whose inputs are the voxels.
VOXEL_MODES = ("cls-low", "cls-low-normed", "cls-resnet")


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


class _TempFile:
    """An anonymous temporary file, closed (and so deleted) with its last reference."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="caloforge-voxels-")  # noqa: SIM115 (closed in __del__)

    def __del__(self) -> None:
        self.file.close()


class VoxelStore:
    """Voxel rows (float32) appended chunk by chunk to anonymous temporary files and read back
    by row range with plain reads (no memory map, so reading does not grow the resident set).

    Example:
        >>> store = VoxelStore(); store.append(np.ones((3, 4))); store.append(np.zeros((2, 4)))
        >>> len(store), store.read(2, 4).tolist()
        (5, [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    """

    def __init__(self) -> None:
        self._parts: list[tuple[_TempFile, int, int]] = []  # (file, rows, width)

    def append(self, voxels: np.ndarray) -> None:
        """Add rows (each append may open a new file when the width changes)."""
        x = np.ascontiguousarray(voxels, dtype=np.float32)
        if not self._parts or self._parts[-1][2] != x.shape[1]:
            self._parts.append((_TempFile(), 0, x.shape[1]))
        temp, rows, width = self._parts[-1]
        temp.file.seek(rows * width * 4)
        x.tofile(temp.file)
        self._parts[-1] = (temp, rows + len(x), width)

    def __len__(self) -> int:
        return sum(rows for _, rows, _ in self._parts)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, voxels per row)``."""
        return len(self), (self._parts[0][2] if self._parts else 0)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a float32 matrix."""
        out, offset = [], 0
        for temp, rows, width in self._parts:
            lo, hi = max(start - offset, 0), min(stop - offset, rows)
            if lo < hi:
                temp.file.seek(lo * width * 4)
                out.append(np.fromfile(temp.file, np.float32, (hi - lo) * width)
                           .reshape(-1, width))
            offset += rows
        return np.concatenate(out) if len(out) != 1 else out[0]

    @classmethod
    def join(cls, stores: list[VoxelStore]) -> VoxelStore:
        """One store reading the rows of several in turn (the files are shared, not copied)."""
        out = cls()
        out._parts = [part for store in stores for part in store._parts]
        return out


def join_voxels(parts: list[np.ndarray | VoxelStore]) -> np.ndarray | VoxelStore:
    """Concatenate matrices, or join stores (a matrix among stores is spilled to a store)."""
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)  # type: ignore[arg-type]
    stores = []
    for p in parts:
        if isinstance(p, np.ndarray):
            store = VoxelStore()
            store.append(p)
            p = store
        stores.append(p)
    return VoxelStore.join(stores)


class VoxelRows:
    """The ``cls-low``, ``cls-low-normed`` or ``cls-resnet`` vectors of voxel rows (a matrix or
    a :class:`VoxelStore`), built block by block on demand.

    ``cls-resnet`` sources carry ``image_shape`` and ``n_scalars`` for the network.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> rows = VoxelRows(np.ones((2, 368)), np.array([1e3, 1e4]), get_geometry("ds1-photons"),
        ...                  "cls-resnet")
        >>> rows.read(0, 2).shape, rows.image_shape
        ((2, 1501), (5, 10, 30))
    """

    def __init__(self, voxels: np.ndarray | VoxelStore, e_inc: np.ndarray,
                 geometry: LayeredGeometry, mode: str = "cls-low",
                 threshold: float | None = None, theta: np.ndarray | None = None) -> None:
        if mode not in VOXEL_MODES:
            raise ValueError(f"'{mode}' is not a voxel mode ({', '.join(VOXEL_MODES)})")
        self.voxels, self.geometry, self.mode = voxels, geometry, mode
        self.e_inc = np.asarray(e_inc, dtype=np.float64)
        self.theta = None if theta is None else np.asarray(theta, dtype=np.float64)
        self.threshold = geometry.readout_threshold_mev if threshold is None else threshold
        self.layout = ImageLayout.from_geometry(geometry) if mode == "cls-resnet" else None
        self.n_scalars = 1 + (self.theta is not None)
        self.image_shape = None if self.layout is None else self.layout.shape

    def __len__(self) -> int:
        return len(self.e_inc)

    def read(self, start: int, stop: int) -> np.ndarray:
        v = self.voxels
        x = v.read(start, stop) if isinstance(v, VoxelStore) else np.asarray(v[start:stop])
        theta = None if self.theta is None else self.theta[start:stop]
        e_inc = self.e_inc[start:stop]
        if self.layout is None:
            return low_level_vector(x, e_inc, self.geometry, self.mode == "cls-low-normed",
                                    self.threshold, theta)
        x = apply_threshold(x, self.threshold) / e_inc[:, None]
        parts = [np.log10(e_inc)[:, None]]
        if theta is not None:
            parts.append(theta[:, None])
        parts.append(self.layout.images(x))
        return np.concatenate(parts, axis=1).astype(np.float32)
