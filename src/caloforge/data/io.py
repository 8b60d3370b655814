"""CaloChallenge HDF5 shower files: atomic, streamed writing and chunked, validated reading.

File layout (CaloChallenge 2022, readable by every peer tool):

==================  ==============  =====================================================
dataset             shape           meaning
==================  ==============  =====================================================
incident_energies   (N, 1)          incident energy in MeV
showers             (N, n_voxels)   voxel energies in MeV
incident_theta      (N,) optional   polar angle of incidence from the beam axis, rad
incident_phi        (N,) optional   azimuth of incidence, rad
particle            (N,) optional   PDG id
==================  ==============  =====================================================

plus a root attribute ``caloforge``: a JSON object with at least ``geometry``, ``producer``,
``version`` and ``seed``. Datasets are gzip-compressed and chunked by rows.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from caloforge._version import __version__
from caloforge.data.showers import Showers
from caloforge.errors import InputError

__all__ = ["ShowerFile", "ShowerWriter", "check_writable", "read_showers", "write_chunks",
           "write_showers"]

KEY_ENERGY = "incident_energies"
KEY_SHOWERS = "showers"
OPTIONAL_KEYS = {"theta": "incident_theta", "phi": "incident_phi", "particle": "particle"}
META_ATTR = "caloforge"
DEFAULT_CHUNK = 10_000


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | Path, force: bool) -> Path:
    """Refuse to overwrite ``path`` unless ``force``; make sure its folder exists.

    Returns:
        The path as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"'{path}' already exists", "pass --force to overwrite it")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


class ShowerWriter:
    """Write showers chunk by chunk to a temporary file, renamed into place on success.

    If anything fails before :meth:`close` (or the ``with`` block raises), the temporary file is
    removed and the target path is untouched.

    Arguments:
        path: Target ``.h5`` file.
        n_voxels: Voxels per shower.
        force: Overwrite an existing file.
        metadata: Extra entries for the ``caloforge`` attribute (geometry, seed, ...).
        dtype: Voxel dtype on disk (float32 as in the CaloChallenge files).
        chunk_rows: HDF5 chunk size in rows.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.h5"
        >>> with ShowerWriter(path, n_voxels=3, metadata={"geometry": None}) as w:
        ...     w.append(Showers(np.array([1.0, 2.0]), np.ones((2, 3))))
        >>> ShowerFile(path).n
        2
    """

    def __init__(
        self,
        path: str | Path,
        n_voxels: int,
        force: bool = False,
        metadata: dict[str, Any] | None = None,
        dtype: np.dtype | type = np.float32,
        chunk_rows: int = 1024,
    ) -> None:
        self.path = check_writable(path, force)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._file = h5py.File(self._tmp, "w")
        self.n_voxels = n_voxels
        self._dtype = np.dtype(dtype)
        self._chunk = max(1, min(chunk_rows, (1 << 20) // max(1, n_voxels)))
        self._n = 0
        meta = {"producer": "caloforge", "version": __version__, "seed": None, "geometry": None}
        meta.update(metadata or {})
        self._file.attrs[META_ATTR] = json.dumps(meta)
        self._closed = False

    def _dataset(self, key: str, width: int | None, dtype: np.dtype) -> h5py.Dataset:
        if key not in self._file:
            shape = (0,) if width is None else (0, width)
            maxshape = (None,) if width is None else (None, width)
            chunks = (self._chunk,) if width is None else (self._chunk, width)
            self._file.create_dataset(key, shape=shape, maxshape=maxshape, dtype=dtype,
                                      chunks=chunks, compression="gzip", compression_opts=4,
                                      shuffle=True)
        return self._file[key]

    def append(self, showers: Showers, extra: dict[str, np.ndarray] | None = None) -> None:
        """Append a batch (its optional fields must be present in every batch or none).

        ``extra`` adds per-shower 1-D columns under their own dataset names (e.g. signal
        labels); peer tools ignore them."""
        if showers.n_voxels != self.n_voxels:
            raise InputError(f"batch has {showers.n_voxels} voxels, file has {self.n_voxels}",
                             "write showers of one geometry per file")
        n, m = self._n, len(showers)
        columns: dict[str, tuple[np.ndarray, int | None]] = {
            KEY_ENERGY: (showers.energies.reshape(-1, 1), 1),
            KEY_SHOWERS: (showers.voxels, self.n_voxels),
        }
        for attr, key in OPTIONAL_KEYS.items():
            value = getattr(showers, attr)
            if value is not None:
                columns[key] = (value, None)
            elif key in self._file:
                raise ValueError(f"batch lacks {attr!r} which earlier batches had")
        for key, value in (extra or {}).items():
            if key in (KEY_ENERGY, KEY_SHOWERS, *OPTIONAL_KEYS.values()):
                raise ValueError(f"extra column {key!r} clashes with a standard dataset")
            columns[key] = (np.asarray(value).reshape(-1), None)
        for key, (value, width) in columns.items():
            if key not in self._file and n > 0:
                raise ValueError(f"batch has {key!r} which earlier batches lacked")
            dtype = self._dtype if key == KEY_SHOWERS else np.asarray(value).dtype
            ds = self._dataset(key, width, dtype)
            ds.resize(n + m, axis=0)
            ds[n : n + m] = value
        self._n += m

    def close(self) -> Path:
        """Finish the file and move it into place. Returns the target path."""
        if self._closed:
            return self.path
        if self._n == 0:
            self.abort()
            raise InputError(f"no showers to write to '{self.path}'", "generate at least one")
        self._file.close()
        os.chmod(self._tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(self._tmp, self.path)
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        if not self._closed:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self._closed = True

    def __enter__(self) -> ShowerWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_chunks(path: str | Path, n_voxels: int,
                 chunks: Iterable[Showers | tuple[Showers, dict[str, np.ndarray]]], *,
                 total: int | None = None, force: bool = False,
                 metadata: dict[str, Any] | None = None, progress: bool = False,
                 desc: str = "writing", unit: str = "shower") -> Path:
    """Write showers chunk by chunk, atomically, with a progress bar: the one writing loop
    every command uses (simulate, generate, benchmarks).

    Arguments:
        path: Target file.
        n_voxels: Voxels per shower.
        chunks: Batches of showers, or ``(showers, extra_columns)`` pairs.
        total: Number of showers expected (for the progress bar).
        force: Overwrite an existing file.
        metadata: Entries of the ``caloforge`` attribute.
        progress: Show a progress bar.
        desc, unit: Its label and unit.

    Returns:
        The target path.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.h5"
        >>> parts = (Showers(np.array([1.0]), np.ones((1, 2))) for _ in range(3))
        >>> _ = write_chunks(path, 2, parts)
        >>> ShowerFile(path).n
        3
    """
    from tqdm.auto import tqdm

    with ShowerWriter(path, n_voxels, force=force, metadata=metadata) as writer, \
            tqdm(total=total, unit=unit, disable=not progress, desc=desc) as bar:
        for chunk in chunks:
            showers, extra = chunk if isinstance(chunk, tuple) else (chunk, None)
            writer.append(showers, extra)
            bar.update(len(showers))
    return writer.path


def write_showers(path: str | Path, showers: Showers, force: bool = False,
                  metadata: dict[str, Any] | None = None) -> Path:
    """Write ``showers`` atomically in CaloChallenge format (voxels keep their dtype).

    Arguments:
        path: Target file.
        showers: What to write.
        force: Overwrite an existing file.
        metadata: Extra ``caloforge`` attributes (``geometry`` defaults to ``showers.geometry``).

    Returns:
        The target path.
    """
    meta = {"geometry": showers.geometry, **(metadata or {})}
    with ShowerWriter(path, showers.n_voxels, force=force, metadata=meta,
                      dtype=showers.voxels.dtype) as writer:
        writer.append(showers)
    return writer.path


class ShowerFile:
    """A CaloChallenge shower file opened for chunked reading; the header is checked on open.

    Arguments:
        path: The ``.h5`` file.

    Raises:
        InputError: missing, not HDF5/truncated, missing keys, bad shapes, N mismatch, empty.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"file '{self.path}' not found", "check the path")
        try:
            with h5py.File(self.path, "r") as f:
                keys = set(f.keys())
                shapes = {k: f[k].shape for k in keys if isinstance(f[k], h5py.Dataset)}
                raw_meta = f.attrs.get(META_ATTR)
                missing = _missing_sources(f, self.path)
        except OSError:
            raise InputError(f"file '{self.path}' is not a readable HDF5 file (truncated or "
                             "corrupt?)", "re-create or re-download it") from None
        if missing:  # HDF5 would read their rows as zeros
            raise InputError(f"file '{self.path}' is a virtual dataset over {len(missing)} "
                             f"missing file(s), e.g. '{missing[0]}'", "keep its shard folder "
                             "next to it, or run the command that made it again")
        for key in (KEY_ENERGY, KEY_SHOWERS):
            if key not in shapes:
                raise InputError(f"file '{self.path}' has no '{key}' dataset",
                                 "CaloChallenge files need 'incident_energies' and 'showers'")
        e_shape, s_shape = shapes[KEY_ENERGY], shapes[KEY_SHOWERS]
        if len(s_shape) != 2:
            raise InputError(f"file '{self.path}': 'showers' has shape {s_shape}",
                             "expected (N, n_voxels)")
        if not (len(e_shape) == 1 or (len(e_shape) == 2 and e_shape[1] == 1)):
            raise InputError(f"file '{self.path}': 'incident_energies' has shape {e_shape}",
                             "expected (N, 1)")
        self.n, self.n_voxels = int(s_shape[0]), int(s_shape[1])
        if e_shape[0] != self.n:
            raise InputError(f"file '{self.path}': {e_shape[0]} incident energies but "
                             f"{self.n} showers", "both datasets need the same N")
        self.optional = {attr: key for attr, key in OPTIONAL_KEYS.items() if key in shapes}
        for key in self.optional.values():
            if shapes[key][0] != self.n:
                raise InputError(f"file '{self.path}': '{key}' has {shapes[key][0]} rows for "
                                 f"{self.n} showers", "all datasets need the same N")
        if self.n == 0:
            raise InputError(f"file '{self.path}' holds no showers", "write at least one shower")
        try:
            self.metadata: dict[str, Any] = json.loads(raw_meta) if raw_meta is not None else {}
        except (TypeError, ValueError):
            self.metadata = {}

    @property
    def geometry_name(self) -> str | None:
        """Geometry recorded in the file's ``caloforge`` attribute, if any."""
        name = self.metadata.get("geometry")
        return str(name) if name else None

    def read(self, start: int = 0, stop: int | None = None) -> Showers:
        """Read rows ``start:stop`` (all by default) into memory."""
        stop = self.n if stop is None else min(stop, self.n)
        try:
            with h5py.File(self.path, "r") as f:
                kwargs = {attr: f[key][start:stop] for attr, key in self.optional.items()}
                return Showers(f[KEY_ENERGY][start:stop], f[KEY_SHOWERS][start:stop],
                               geometry=self.geometry_name, **kwargs)
        except OSError:
            raise InputError(f"file '{self.path}' could not be read at rows {start}:{stop} "
                             "(truncated or corrupt?)", "re-create or re-download it") from None

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[Showers]:
        """Yield consecutive batches of at most ``chunk_size`` showers."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        for start in range(0, self.n, chunk_size):
            yield self.read(start, start + chunk_size)


def _missing_sources(f: h5py.File, path: Path) -> list[str]:
    """Source files of the virtual datasets in ``f`` that are not there (relative names are
    found next to ``path``, as HDF5 does)."""
    missing = set()
    for key in f:
        ds = f[key]
        if isinstance(ds, h5py.Dataset) and ds.is_virtual:
            missing |= {s.file_name for s in ds.virtual_sources() if s.file_name != "."
                        and not (path.parent / s.file_name).is_file()}
    return sorted(missing)


def read_showers(path: str | Path, start: int = 0, stop: int | None = None) -> Showers:
    """Read a CaloChallenge file (or rows ``start:stop`` of it) into :class:`Showers`.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.h5"
        >>> _ = write_showers(path, Showers(np.array([5.0]), np.zeros((1, 4), np.float32)))
        >>> read_showers(path).voxels.dtype
        dtype('float32')
    """
    return ShowerFile(path).read(start, stop)
