"""Shards on disk: the plan, one atomic file per shard, and OUT as a virtual dataset over them.

A run of ``n`` showers in chunks of ``chunk_size`` (the chunks a sequential ``generate`` or
``simulate`` makes, each seeded by its index) is cut into ``K`` shards, each a contiguous range
of chunks. Shard ``k`` is written to ``OUT.shards/shard-0000k.h5`` (temporary name, then
rename), its ``caloforge`` attribute carrying a ``shard`` entry (index, rows, the plan's id):
a file with that entry and the right number of rows is complete. ``OUT.shards/manifest.json``
records everything that determines the numbers; a run of other settings is refused. At the end
``OUT`` is written (atomically) as an HDF5 file whose datasets are virtual datasets over the
shard files, named relative to ``OUT`` so the two can move together, or as one plain file.

Example:
    >>> [s.rows for s in plan_shards(2500, 1000, 2)]
    [(0, 1000), (1000, 2500)]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.errors import InputError

__all__ = ["MANIFEST", "Shard", "ShardSpec", "check_folder", "merge_files", "plan_id",
           "plan_shards", "prepare_folder", "read_input", "repairable", "shard_complete",
           "shard_path", "shards_dir", "write_input", "write_vds"]

MANIFEST = "manifest.json"
#: Shards when the user gives no count (fewer when the run has fewer chunks).
DEFAULT_SHARDS = 16


@dataclass(frozen=True)
class Shard:
    """Shard ``index``: chunks ``chunks[0]`` to ``chunks[1] - 1``, rows ``rows[0]:rows[1]``."""

    index: int
    chunks: tuple[int, int]
    rows: tuple[int, int]

    @property
    def n(self) -> int:
        """Showers in the shard."""
        return self.rows[1] - self.rows[0]


def plan_shards(n: int, chunk_size: int, shards: int | None) -> list[Shard]:
    """Cut ``n`` showers in chunks of ``chunk_size`` into ``shards`` contiguous shards of
    whole chunks, as even as the chunks allow (default: :data:`DEFAULT_SHARDS`, at most one
    per chunk).

    Raises:
        InputError: fewer than one shard, or more shards than chunks.

    Example:
        >>> [s.chunks for s in plan_shards(10, 2, 3)]
        [(0, 1), (1, 3), (3, 5)]
    """
    if chunk_size < 1:
        raise InputError(f"the chunk size must be >= 1, got {chunk_size}", "give a positive size")
    if n < 1:
        raise InputError(f"nothing to shard: {n} showers", "give a positive number of showers")
    n_chunks = -(-n // chunk_size)
    if shards is None:
        shards = min(DEFAULT_SHARDS, n_chunks)
    if shards < 1:
        raise InputError(f"--shards must be >= 1, got {shards}", "give a positive count")
    if shards > n_chunks:
        raise InputError(f"--shards {shards} is more than the {n_chunks} chunks of {n} showers "
                         f"in chunks of {chunk_size}",
                         f"give at most {n_chunks} shards, or a smaller chunk (batch) size")
    bounds = [k * n_chunks // shards for k in range(shards + 1)]
    return [Shard(k, (lo, hi), (lo * chunk_size, min(hi * chunk_size, n)))
            for k, (lo, hi) in enumerate(pairwise(bounds))]


def shards_dir(out: str | Path) -> Path:
    """The shard folder of the output ``out``: ``OUT.shards`` next to it."""
    out = Path(out)
    return out.with_name(out.name + ".shards")


def shard_path(root: str | Path, index: int) -> Path:
    """The file of shard ``index`` in the folder ``root``."""
    return Path(root) / f"shard-{index:05d}.h5"


def plan_id(manifest: dict[str, Any]) -> str:
    """A short hash of a manifest: every shard file of the run records it.

    Example:
        >>> plan_id({"seed": 1}) == plan_id({"seed": 1}) != plan_id({"seed": 2})
        True
    """
    return hashlib.sha256(_manifest_text(manifest).encode()).hexdigest()[:16]


def _manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, sort_keys=True, indent=1, default=str)


@dataclass(frozen=True)
class ShardSpec:
    """What one shard task gets (picklable, small): its shard, where to write, the run's plan
    id, the ``caloforge`` attribute of the file, and the kind's settings (``payload``)."""

    shard: Shard
    root: str
    plan: str
    meta: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The shard's file."""
        return shard_path(self.root, self.shard.index)

    @property
    def marker(self) -> dict[str, Any]:
        """The ``shard`` entry of the file's ``caloforge`` attribute."""
        return {"index": self.shard.index, "chunks": list(self.shard.chunks),
                "rows": list(self.shard.rows), "plan": self.plan}


def shard_complete(spec: ShardSpec) -> bool:
    """Whether the shard's file is there, of this plan, with all its rows."""
    from caloforge.data.io import ShowerFile

    try:
        file = ShowerFile(spec.path)
    except InputError:
        return False
    return file.metadata.get("shard") == spec.marker and file.n == spec.shard.n


def check_folder(root: Path, manifest: dict[str, Any], force: bool) -> bool:
    """Whether the shard folder holds shards of these settings to keep (without ``force``).

    Raises:
        InputError: it holds shards of other settings and ``force`` is off.
    """
    if force or not root.exists():
        return False
    path = root / MANIFEST
    if not path.is_file() or path.read_text() != _manifest_text(manifest):
        raise InputError(f"{root} holds shards of a run with other settings",
                         "repeat that run's command to complete it, or add --force to start "
                         "over")
    return True


def prepare_folder(root: Path, manifest: dict[str, Any], force: bool) -> None:
    """Create the shard folder with its manifest, or reopen one of the same settings (its
    complete shards are kept; stale temporary files are removed); ``force`` starts over.
    Hold the folder's lock.

    Raises:
        InputError: the folder holds shards of other settings and ``force`` is off.
    """
    if check_folder(root, manifest, force):
        for tmp in root.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        return
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    _replace_text(root / MANIFEST, _manifest_text(manifest))


def repairable(out: Path, manifest: dict[str, Any]) -> bool:
    """Whether ``out`` is the virtual dataset of this very run (same manifest), so that the
    same command may complete its shards and write it again without ``--force``."""
    import h5py

    from caloforge.data.io import META_ATTR

    root = shards_dir(out)
    try:
        if (root / MANIFEST).read_text() != _manifest_text(manifest):
            return False
        with h5py.File(out, "r") as f:
            meta = json.loads(f.attrs[META_ATTR])
        return bool(meta.get("shards", {}).get("folder") == root.name)
    except (OSError, KeyError, ValueError, AttributeError):
        return False


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_input(root: Path, name: str, values: np.ndarray) -> None:
    """Store a per-shower input (energies, angles) as ``NAME.npy`` in the folder, atomically:
    workers read their rows from it (the folder is on a filesystem they share)."""
    tmp = root / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        np.save(handle, np.ascontiguousarray(values))
    os.replace(tmp, root / f"{name}.npy")


def read_input(root: str | Path, name: str) -> np.ndarray | None:
    """An input stored by :func:`write_input`, memory-mapped (None when the run has none)."""
    path = Path(root) / f"{name}.npy"
    return np.load(path, mmap_mode="r") if path.is_file() else None


def _temporary(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _finish(tmp: Path, path: Path) -> Path:
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the usual mode
    os.replace(tmp, path)
    return path


def _rows_datasets(f: Any, n: int) -> dict[str, Any]:
    import h5py

    return {k: f[k] for k in f if isinstance(f[k], h5py.Dataset) and f[k].shape[:1] == (n,)}


def write_vds(out: str | Path, specs: list[ShardSpec], meta: dict[str, Any]) -> Path:
    """Write ``out`` (atomically) with one virtual dataset per dataset of the shard files,
    each shard's rows at its place, sources named relative to ``out``.

    Raises:
        InputError: the shard files disagree on datasets, shapes or dtypes.
    """
    import h5py

    from caloforge.data.io import META_ATTR

    out = Path(out)
    n = max(s.shard.rows[1] for s in specs)
    layouts: dict[str, Any] = {}
    for spec in specs:
        relative = os.path.relpath(spec.path, out.parent)
        with h5py.File(spec.path, "r") as f:
            datasets = _rows_datasets(f, spec.shard.n)
            if not layouts:
                layouts = {k: h5py.VirtualLayout((n, *d.shape[1:]), d.dtype)
                           for k, d in datasets.items()}
            if set(datasets) != set(layouts) or any(
                    d.shape[1:] != layouts[k].shape[1:] or d.dtype != layouts[k].dtype
                    for k, d in datasets.items()):
                raise InputError(f"shard {spec.path} does not match the first shard's datasets",
                                 "run again with --force")
            a, b = spec.shard.rows
            for key, d in datasets.items():
                layouts[key][a:b] = h5py.VirtualSource(relative, key, shape=d.shape,
                                                       dtype=d.dtype)
    tmp = _temporary(out)
    try:
        with h5py.File(tmp, "w") as f:
            for key, layout in layouts.items():
                f.create_virtual_dataset(key, layout)
            f.attrs[META_ATTR] = json.dumps(meta)
        return _finish(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def merge_files(files: list[str | Path], out: str | Path, meta: dict[str, Any] | None = None,
                force: bool = False, block: int = 10_000) -> Path:
    """Copy the rows of ``files`` (shards, or a virtual-dataset file) in order into one plain
    CaloChallenge file ``out``, atomically, block by block; ``meta`` is its ``caloforge``
    attribute (default: the first file's).

    Example:
        >>> import tempfile
        >>> from caloforge.data import Showers, read_showers, write_showers
        >>> d = Path(tempfile.mkdtemp())
        >>> for k in range(2):
        ...     _ = write_showers(d / f"{k}.h5", Showers(np.array([k + 1.0]), np.ones((1, 2))))
        >>> read_showers(merge_files([d / "0.h5", d / "1.h5"], d / "all.h5")).energies.tolist()
        [1.0, 2.0]
    """
    import h5py

    from caloforge.data.io import KEY_ENERGY, KEY_SHOWERS, OPTIONAL_KEYS, ShowerFile, ShowerWriter

    standard = {KEY_ENERGY, KEY_SHOWERS, *OPTIONAL_KEYS.values()}
    first = ShowerFile(files[0])
    meta = dict(first.metadata if meta is None else meta)
    meta.pop("shards", None)
    with h5py.File(first.path, "r") as f:
        dtype = f[KEY_SHOWERS].dtype
    with ShowerWriter(out, first.n_voxels, force=force, metadata=meta, dtype=dtype) as writer:
        for name in files:
            file = ShowerFile(name)
            with h5py.File(file.path, "r") as f:
                extra = [k for k in _rows_datasets(f, file.n) if k not in standard]
                for start in range(0, file.n, block):
                    columns = {k: f[k][start : start + block] for k in extra}
                    writer.append(file.read(start, start + block), columns)
    return writer.path
