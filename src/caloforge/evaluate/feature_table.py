"""The high-level features of a whole sample, kept on disk so memory does not grow with N.

A :class:`FeatureTable` is filled chunk by chunk (:meth:`FeatureTable.append`) while a file is
read and lives in a temporary HDF5 file, deleted when the table is closed or collected. The
metrics read it back one feature (one column of ``N`` values) or one block of showers at a time:
the per-layer arrays of a ds3 sample (45 layers, about 1.8 kB per shower) never sit in memory
together.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import fields

import h5py
import numpy as np

from caloforge.evaluate.features import HighLevelFeatures, feature_columns

__all__ = ["BLOCK_SHOWERS", "FeatureTable"]

#: Showers per HDF5 chunk and per block read by :meth:`FeatureTable.blocks`.
BLOCK_SHOWERS = 4096

_FIELDS = [f.name for f in fields(HighLevelFeatures) if f.name not in ("layers",
                                                                      "angular_layers")]


def _close(handle: h5py.File, path: str) -> None:
    try:
        handle.close()
    finally:
        if os.path.exists(path):
            os.unlink(path)


class FeatureTable:
    """Per-shower high-level features on disk (1-D fields in float64, per-layer in float32).

    Arguments:
        layers: Layer labels of the per-layer columns.
        angular_layers: Layer labels of the eta/phi columns.
        directory: Folder of the temporary file (default: the system's).

    Example:
        >>> from caloforge.data import Showers
        >>> from caloforge.evaluate.features import compute_features
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds1-photons")
        >>> f = compute_features(Showers(np.array([1e3, 2e3]), np.ones((2, 368))), geo)
        >>> table = FeatureTable(f.layers, f.angular_layers)
        >>> table.append(f); table.append(f)
        >>> len(table), table.feature("E_layer_0").tolist(), table.mean("e_layer").shape
        (4, [8.0, 8.0, 8.0, 8.0], (5,))
    """

    def __init__(self, layers: Sequence[int], angular_layers: Sequence[int],
                 directory: str | None = None) -> None:
        self.layers = list(layers)
        self.angular_layers = list(angular_layers)
        fd, path = tempfile.mkstemp(prefix="caloforge-features-", suffix=".h5", dir=directory)
        os.close(fd)
        self.path = path
        self._h5 = h5py.File(path, "w")
        self._n = 0
        self._columns = feature_columns(self.layers, self.angular_layers)
        self._finalizer = weakref.finalize(self, _close, self._h5, path)

    def __len__(self) -> int:
        return self._n

    def close(self) -> None:
        """Delete the temporary file."""
        self._finalizer()

    def append(self, features: HighLevelFeatures) -> None:
        """Add the features of the next chunk of showers."""
        n = len(features)
        for name in _FIELDS:
            value = getattr(features, name)
            if value is None:
                continue
            value = np.asarray(value, dtype=np.float64 if value.ndim == 1 else np.float32)
            if name not in self._h5:
                if self._n:
                    raise ValueError(f"field '{name}' appeared after {self._n} showers")
                self._h5.create_dataset(name, shape=(0, *value.shape[1:]), dtype=value.dtype,
                                        maxshape=(None, *value.shape[1:]),
                                        chunks=(BLOCK_SHOWERS, *value.shape[1:]))
            ds = self._h5[name]
            ds.resize(self._n + n, axis=0)
            ds[self._n :] = value
        self._n += n

    def has(self, name: str) -> bool:
        """Whether a field (e.g. ``theta``) was stored."""
        return name in self._h5

    def field(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray | None:
        """Rows ``start:stop`` of a field (None for an absent ``theta``)."""
        if name not in self._h5:
            return None
        return self._h5[name][start : self._n if stop is None else stop]

    @property
    def e_inc(self) -> np.ndarray:
        """Incident energies, MeV."""
        return self._h5["e_inc"][:]

    @property
    def e_tot(self) -> np.ndarray:
        """Deposited energies, MeV."""
        return self._h5["e_tot"][:]

    @property
    def theta(self) -> np.ndarray | None:
        """Incidence angles, if the file has them."""
        return self.field("theta")

    def names(self) -> list[str]:
        """Every 1-D feature, in the order of the CaloChallenge plots."""
        return list(self._columns)

    def feature(self, name: str) -> np.ndarray:
        """One 1-D feature of every shower (float64), read from disk."""
        field, column = self._columns[name]
        if field is None:
            return self.e_tot / self.e_inc
        return self._h5[field][:, column].astype(np.float64)

    def mean(self, name: str) -> np.ndarray:
        """Mean of a field over the showers, summed block by block in float64."""
        total = None
        for start in range(0, self._n, BLOCK_SHOWERS):
            part = self._h5[name][start : start + BLOCK_SHOWERS].astype(np.float64).sum(axis=0)
            total = part if total is None else total + part
        return np.asarray(total) / max(self._n, 1)

    def chunk(self, start: int, stop: int) -> HighLevelFeatures:
        """The features of showers ``start:stop`` in memory."""
        values = {name: self.field(name, start, stop) for name in _FIELDS}
        return HighLevelFeatures(**values, layers=self.layers,
                                 angular_layers=self.angular_layers)

    def blocks(self, size: int = BLOCK_SHOWERS) -> Iterator[HighLevelFeatures]:
        """The features in consecutive blocks of ``size`` showers."""
        for start in range(0, self._n, size):
            yield self.chunk(start, min(start + size, self._n))

    @classmethod
    def join(cls, tables: Sequence[FeatureTable]) -> FeatureTable:
        """One table holding the showers of several, in order (copied block by block)."""
        out = cls(tables[0].layers, tables[0].angular_layers,
                  os.path.dirname(tables[0].path))
        for table in tables:
            for block in table.blocks():
                out.append(block)
        return out
