"""PyTorch datasets over showers: in memory, or streamed from a file in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset

from caloforge.data.io import ShowerFile
from caloforge.data.showers import Showers

__all__ = ["ShowerDataset", "StreamingShowerDataset"]


def _tensors(showers: Showers) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.as_tensor(showers.energies, dtype=torch.float32),
            torch.as_tensor(showers.voxels, dtype=torch.float32))


class ShowerDataset(Dataset):
    """Map-style dataset of ``(incident energy [MeV], voxels [MeV])`` float32 pairs in memory.

    Example:
        >>> ds = ShowerDataset(Showers(np.array([1.0, 2.0]), np.ones((2, 3))))
        >>> e, x = ds[1]
        >>> float(e), tuple(x.shape)
        (2.0, (3,))
    """

    def __init__(self, showers: Showers) -> None:
        self.energies, self.voxels = _tensors(showers)

    @classmethod
    def from_file(cls, path: str | Path, start: int = 0, stop: int | None = None) -> ShowerDataset:
        """Load rows ``start:stop`` of a file."""
        return cls(ShowerFile(path).read(start, stop))

    def __len__(self) -> int:
        return len(self.energies)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.energies[i], self.voxels[i]


class StreamingShowerDataset(IterableDataset):
    """Iterate over a file too large for memory, one chunk at a time.

    Chunks are visited in a random order and shuffled within, seeded per epoch.

    Arguments:
        path: The shower file.
        chunk_size: Showers per read.
        seed: Base seed of the shuffling.
    """

    def __init__(self, path: str | Path, chunk_size: int = 10_000, seed: int = 0) -> None:
        self.file = ShowerFile(path)
        self.chunk_size = chunk_size
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.file.n

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        starts = rng.permutation(np.arange(0, self.file.n, self.chunk_size))
        for start in starts:
            energies, voxels = _tensors(self.file.read(int(start), int(start) + self.chunk_size))
            for i in rng.permutation(len(energies)):
                yield energies[i], voxels[i]
