"""Finished chunks of a Geant4 run on disk, so that a killed run loses nothing.

A run writing ``out.h5`` keeps its chunks in ``out.h5.parts/``: ``manifest.json`` (everything
that determines the output) and one ``chunk-NNNNNN.npz`` per finished chunk, each written to a
temporary name and renamed, so a chunk file is either complete or absent. ``--resume`` checks
the manifest and simulates only the missing chunks; the directory is removed once the HDF5
file is written.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()) / "x.h5.parts"
    >>> open_parts(root, {"seed": 1}, resume=False, force=False)
    set()
    >>> write_part(root, 3, {"cells": np.ones((2, 4))})
    >>> open_parts(root, {"seed": 1}, resume=True, force=False), read_part(root, 3)["cells"].shape
    ({3}, (2, 4))
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.errors import InputError

__all__ = ["RUN_ID", "claim", "open_parts", "parts_dir", "read_part", "run_lock",
           "write_part"]

MANIFEST = "manifest.json"
#: Names the command that owns the directory now; workers of an earlier, killed command stop
#: writing once it changes.
RUN_ID = "run-id"


def parts_dir(out: str | Path) -> Path:
    """The chunk directory of the output file ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


@contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``root`` (a sibling ``.lock`` file) for one command.

    Raises:
        InputError: another command is writing ``root`` now.
    """
    lock = root.with_name(root.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock, "a")  # noqa: SIM115 - held for the context's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError(f"another caloforge command is writing {root}",
                         "wait for it to finish, or stop it first") from None
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


def claim(root: Path) -> str:
    """Mark ``root`` as this command's (a new run id); workers of earlier commands that are
    still alive stop writing into it. Returns the id."""
    run_id = uuid.uuid4().hex
    tmp = root / f".{RUN_ID}.tmp"
    tmp.write_text(run_id)
    os.replace(tmp, root / RUN_ID)
    return run_id


def _chunk_path(root: Path, index: int) -> Path:
    return root / f"chunk-{index:06d}.npz"


def write_part(root: Path, index: int, arrays: dict[str, np.ndarray]) -> None:
    """Write chunk ``index`` atomically (temporary file, then rename)."""
    final = _chunk_path(root, index)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)     # mostly zeros: small on disk
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def read_part(root: Path, index: int) -> dict[str, np.ndarray]:
    """The arrays of chunk ``index``."""
    with np.load(_chunk_path(root, index)) as data:
        return {key: data[key] for key in data.files}


def _finished(root: Path) -> set[int]:
    done = set()
    for path in root.glob("chunk-*.npz"):
        try:
            done.add(int(path.stem.split("-")[1]))
        except ValueError:
            continue
    return done


def open_parts(root: Path, manifest: dict[str, Any], *, resume: bool, force: bool) -> set[int]:
    """Create or reopen the chunk directory; return the indices of finished chunks.

    Raises:
        InputError: An unfinished run is there and neither ``resume`` nor ``force`` was given,
            or ``resume`` was given for a run with other settings.
    """
    text = json.dumps(manifest, sort_keys=True, indent=1, default=str)
    if root.exists() and force and not resume:
        shutil.rmtree(root)
    if root.exists():
        path = root / MANIFEST
        if not resume:
            raise InputError(f"an unfinished run is in {root}",
                             "add --resume to complete it, or --force to start over")
        if not path.is_file() or path.read_text() != text:
            raise InputError(f"{root} holds chunks of a run with other settings",
                             "repeat that run's command with --resume, or add --force and "
                             "drop --resume to start over")
        return _finished(root)
    root.mkdir(parents=True)
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(text)
    os.replace(tmp, root / MANIFEST)
    return set()
