"""Where training batches come from: tensors in memory, or an HDF5 file streamed in blocks.

Both split the showers into training and validation rows with the same seeded permutation
(:mod:`caloforge.seeds`) and shuffle the training rows per epoch with a seeded generator.

* :class:`TensorSource` holds everything in memory and draws each batch from a permutation of all
  training rows (the order of caloforge 0.1's engine).
* :class:`FileSource` reads contiguous blocks of rows through :mod:`caloforge.data`, visits the
  blocks in a seeded random order, and shuffles the rows of ``blocks_per_buffer`` blocks at a
  time: memory stays at one buffer (``buffer_mb``) whatever the file size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from caloforge.data.io import ShowerFile
from caloforge.data.showers import Showers
from caloforge.seeds import shuffle_seed

__all__ = ["FileSource", "ShowerSource", "TensorSource", "showers_to_batch", "split_indices"]

Batch = dict[str, Tensor]


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Seeded train/validation split of ``n`` rows (at least one row in each).

    Example:
        >>> tr, va = split_indices(10, 0.2, seed=0)
        >>> len(tr), len(va), sorted(tr.tolist() + va.tolist()) == list(range(10))
        (8, 2, True)
    """
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    return perm[n_val:], perm[:n_val]


def showers_to_batch(showers: Showers, angles: bool) -> Batch:
    """float32 tensors ``energies``, ``voxels`` (and ``theta`` when ``angles``)."""
    batch = {"energies": torch.as_tensor(showers.energies, dtype=torch.float32),
             "voxels": torch.as_tensor(showers.voxels, dtype=torch.float32)}
    if angles and showers.theta is not None:
        batch["theta"] = torch.as_tensor(showers.theta, dtype=torch.float32)
    return batch


@runtime_checkable
class ShowerSource(Protocol):
    """Training and validation batches of one data set."""

    n: int
    n_train: int
    n_val: int

    def train_batches(self, epoch: int, batch_size: int, skip: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch`` (shuffled with a seed of the epoch), the first ``skip``
        left out (a resumed epoch)."""
        ...

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        """The validation rows, in a fixed order."""
        ...

    def subset(self, n: int, seed: int) -> Batch:
        """Up to ``n`` random showers (fitting preprocessing statistics)."""
        ...


class TensorSource:
    """Named tensors in memory (first dimension = showers).

    Example:
        >>> src = TensorSource({"x": torch.arange(10.0)}, val_fraction=0.2, seed=0)
        >>> [len(b["x"]) for b in src.train_batches(0, batch_size=3)], src.n_val
        ([3, 3, 2], 2)
    """

    def __init__(self, tensors: Batch, val_fraction: float = 0.1, seed: int = 0) -> None:
        self.tensors = tensors
        self.n = len(next(iter(tensors.values())))
        self.seed = seed
        self.train_idx, self.val_idx = split_indices(self.n, val_fraction, seed)
        self.n_train, self.n_val = len(self.train_idx), len(self.val_idx)

    def to(self, device: torch.device) -> TensorSource:
        """Move the tensors (and indices) to ``device``."""
        self.tensors = {k: v.to(device) for k, v in self.tensors.items()}
        self.train_idx, self.val_idx = self.train_idx.to(device), self.val_idx.to(device)
        return self

    def _rows(self, rows: Tensor) -> Batch:
        return {k: v[rows] for k, v in self.tensors.items()}

    def train_batches(self, epoch: int, batch_size: int, skip: int = 0) -> Iterator[Batch]:
        gen = torch.Generator().manual_seed(shuffle_seed(self.seed, epoch))
        order = self.train_idx[torch.randperm(self.n_train, generator=gen)]
        for k in range(skip, math.ceil(self.n_train / batch_size)):
            yield self._rows(order[k * batch_size : (k + 1) * batch_size])

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        for start in range(0, self.n_val, batch_size):
            yield self._rows(self.val_idx[start : start + batch_size])

    def subset(self, n: int, seed: int) -> Batch:
        rows = torch.randperm(self.n, generator=torch.Generator().manual_seed(seed))[:n]
        return self._rows(rows)


class FileSource:
    """A CaloChallenge file streamed in blocks of rows; at most one buffer in memory.

    Arguments:
        path: The shower file.
        val_fraction: Share of rows held out for validation.
        seed: Seed of the split and of the shuffling.
        angles: Also yield ``theta``.
        max_showers: Use only the first rows.
        buffer_mb: Memory of one buffer of voxels (float32).
        blocks_per_buffer: Blocks shuffled together.
    """

    def __init__(self, path: str | Path, val_fraction: float = 0.1, seed: int = 0,
                 angles: bool = False, max_showers: int | None = None, buffer_mb: float = 256.0,
                 blocks_per_buffer: int = 8) -> None:
        self.file = ShowerFile(path)
        self.n = min(self.file.n, max_showers or self.file.n)
        self.seed, self.angles = seed, angles
        _, val = split_indices(self.n, val_fraction, seed)
        self.is_val = np.zeros(self.n, dtype=bool)
        self.is_val[val.numpy()] = True
        self.n_val = int(self.is_val.sum())
        self.n_train = self.n - self.n_val
        rows = max(1, int(buffer_mb * 2**20 / (4 * self.file.n_voxels)))
        self.blocks_per_buffer = max(1, min(blocks_per_buffer, rows))
        self.block_rows = max(1, rows // self.blocks_per_buffer)
        self.starts = np.arange(0, self.n, self.block_rows)

    def _read(self, starts: np.ndarray, val: bool) -> Batch:
        parts = []
        for start in starts:
            stop = min(self.n, int(start) + self.block_rows)
            keep = self.is_val[start:stop] == val
            parts.append(self.file.read(int(start), stop)[np.flatnonzero(keep)])
        return showers_to_batch(Showers.concatenate(parts), self.angles)

    def _train_buffers(self, epoch: int, skip_rows: int) -> Iterator[Batch]:
        gen = torch.Generator().manual_seed(shuffle_seed(self.seed, epoch))
        order = self.starts[torch.randperm(len(self.starts), generator=gen).numpy()]
        for first in range(0, len(order), self.blocks_per_buffer):
            group = order[first : first + self.blocks_per_buffer]
            n_rows = sum(int((~self.is_val[s : s + self.block_rows]).sum()) for s in group)
            perm = torch.randperm(n_rows, generator=gen)  # drawn even when skipped
            if skip_rows >= n_rows:
                skip_rows -= n_rows
                continue
            yield {k: v[perm[skip_rows:]] for k, v in self._read(group, val=False).items()}
            skip_rows = 0

    def train_batches(self, epoch: int, batch_size: int, skip: int = 0) -> Iterator[Batch]:
        return _rebatch(self._train_buffers(epoch, skip * batch_size), batch_size)

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        groups = range(0, len(self.starts), self.blocks_per_buffer)
        return _rebatch((self._read(self.starts[g : g + self.blocks_per_buffer], val=True)
                         for g in groups), batch_size)

    def subset(self, n: int, seed: int) -> Batch:
        rows = np.sort(np.random.default_rng(seed).permutation(self.n)[:n])
        blocks = np.unique(rows // self.block_rows) * self.block_rows
        parts = []
        for start in blocks:
            stop = min(self.n, int(start) + self.block_rows)
            inside = rows[(rows >= start) & (rows < stop)] - start
            parts.append(self.file.read(int(start), stop)[inside])
        return showers_to_batch(Showers.concatenate(parts), self.angles)


def _rebatch(buffers: Iterator[Batch], batch_size: int) -> Iterator[Batch]:
    """Consecutive batches of ``batch_size`` rows across buffers (the last may be shorter)."""
    carry: Batch | None = None
    for buffer in buffers:
        if carry is not None:
            buffer = {k: torch.cat([carry[k], v]) for k, v in buffer.items()}
        n_buf = len(buffer["energies"])
        full = n_buf - n_buf % batch_size
        for start in range(0, full, batch_size):
            yield {k: v[start : start + batch_size] for k, v in buffer.items()}
        carry = {k: v[full:] for k, v in buffer.items()}
    if carry is not None and len(carry["energies"]):
        yield carry
