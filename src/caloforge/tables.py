"""Column tables (per-shower or per-event results) to and from HDF5, written atomically.

Shared by the stages that write results that are not showers: calibration, anomaly scores,
unweighted events.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from caloforge.errors import InputError

__all__ = ["read_table", "write_json", "write_table", "write_text"]


def write_table(path: str | Path, columns: Mapping[str, np.ndarray],
                attrs: Mapping[str, Any] | None = None, force: bool = False) -> Path:
    """Write equal-length columns (one dataset each) and attributes to HDF5, atomically.

    Arguments:
        path: Output file.
        columns: Name -> 1-D (or N-D) array; all with the same first dimension.
        attrs: File attributes (scalars or strings).
        force: Overwrite an existing file.

    Returns:
        The path.

    Raises:
        InputError: the file exists (without ``force``) or the columns differ in length.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.h5"
        >>> _ = write_table(out, {"a": np.arange(3.0)}, {"unit": "MeV"})
        >>> cols, attrs = read_table(out)
        >>> cols["a"].tolist(), attrs["unit"]
        ([0.0, 1.0, 2.0], 'MeV')
    """
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"'{path}' already exists", "pass --force to overwrite it")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InputError(f"columns of '{path}' differ in length ({sorted(lengths)})",
                         "report this as a bug")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            for name, values in columns.items():
                f.create_dataset(name, data=np.asarray(values), compression="gzip")
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_table(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Columns and attributes of a file written by :func:`write_table`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file '{path}' not found", "check the path")
    try:
        with h5py.File(path, "r") as f:
            cols = {k: f[k][()] for k in f if isinstance(f[k], h5py.Dataset)}
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    except OSError:
        raise InputError(f"'{path}' is not a readable HDF5 file", "regenerate it") from None
    return cols, attrs


def _finite(data: Any) -> Any:
    """Non-finite floats -> None (strict JSON has no inf or NaN)."""
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    if isinstance(data, float | np.floating) and not np.isfinite(data):
        return None
    return data


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (numpy scalars become floats; inf and NaN
    become null).

    Example:
        >>> import tempfile, pathlib
        >>> out = write_json(pathlib.Path(tempfile.mkdtemp()) / "r.json", {"r30": float("inf")})
        >>> out.read_text().split()
        ['{', '"r30":', 'null', '}']
    """
    return write_text(path, json.dumps(_finite(data), indent=1, default=float) + "\n")


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically (a temporary file beside ``path``, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
