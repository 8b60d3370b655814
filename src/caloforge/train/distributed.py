"""Data-parallel training over ``torch.distributed`` (``caloforge train --ddp`` under torchrun).

Every rank runs the same engine on the same seeded batch order and keeps a contiguous slice of
each global batch (:func:`shard`); the gradients of each optimizer are summed over the ranks
after ``backward``, each rank's weighted by its share of the batch (:meth:`DataParallel.
reduce_gradients`), so every rank takes the same optimizer step as one process on the whole
batch, also for modules that step several optimizers themselves (GANs). This is what
``DistributedDataParallel`` does, without wrapping the module: the engine calls
``training_step``, not ``forward``. The noise generator of a rank draws the noise of the whole
global batch and keeps its rows (:mod:`caloforge.noise`), so results do not depend on the
number of ranks. Rank 0 writes checkpoints, metrics and logs; every other rank only computes.

Without a process group every function here is the single-process identity, so the engine
calls them unconditionally.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from caloforge.errors import CaloforgeError, InputError
from caloforge.noise import BatchRows, RowGenerator
from caloforge.seeds import torch_generator

__all__ = ["DataParallel", "Shard", "World", "barrier", "broadcast_module", "on_main",
           "rank_device", "session", "shard", "world"]

T = TypeVar("T")
Batch = dict[str, Tensor]

#: The variables torchrun sets for every process (``--ddp`` needs the first two).
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
#: Process-group backends: gloo for CPU tensors, NCCL for CUDA tensors.
CPU_BACKEND = "gloo"
CUDA_BACKENDS = "cpu:gloo,cuda:nccl"


@dataclass(frozen=True)
class World:
    """This process's place among the ranks (one process: rank 0 of 1).

    Example:
        >>> World().main, World(rank=1, size=2).parallel
        (True, True)
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        """More than one rank."""
        return self.size > 1


def world() -> World:
    """The current process group's :class:`World` (``World()`` without one).

    Example:
        >>> world()
        World(rank=0, size=1, local_rank=0)
    """
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


@contextmanager
def session(device: str | None = None) -> Iterator[World]:
    """Join the process group torchrun describes (its environment variables) for the block:
    gloo for CPU tensors, and NCCL for CUDA tensors when CUDA is present and ``device`` is not
    ``cpu``. An existing process group is used as it is.

    Raises:
        InputError: torchrun's environment is missing (one line naming the fix).
    """
    if dist.is_available() and dist.is_initialized():
        yield world()
        return
    missing = [name for name in TORCHRUN_ENV[:2] if name not in os.environ]
    if missing or not dist.is_available():
        raise InputError(f"--ddp needs torchrun's environment ({' and '.join(missing)} unset)",
                         "launch with: torchrun --nproc-per-node N -m caloforge.cli.main "
                         "train ... --ddp")
    cuda = torch.cuda.is_available() and device != "cpu"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(CUDA_BACKENDS if cuda else CPU_BACKEND)
    try:
        yield world()
    finally:
        dist.destroy_process_group()


def rank_device(device: torch.device) -> torch.device:
    """A rank's own GPU (``cuda:LOCAL_RANK``) for ``cuda``; other devices as they are.

    Example:
        >>> rank_device(torch.device("cpu"))
        device(type='cpu')
    """
    if device.type == "cuda" and device.index is None and world().parallel:
        return torch.device("cuda", world().local_rank)
    return device


def barrier() -> None:
    """Wait for every rank (nothing to wait for in one process)."""
    if world().parallel:
        dist.barrier()


def on_main(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on rank 0, its result (or the caloforge error it raised) sent to
    every rank: one rank decides, e.g. whether a run directory is new.

    Example:
        >>> on_main(max, 2, 3)
        3
    """
    if not world().parallel:
        return fn(*args, **kwargs)
    box: list[Any] = [None]
    if world().main:
        try:
            box[0] = fn(*args, **kwargs)
        except CaloforgeError as exc:
            box[0] = exc
    dist.broadcast_object_list(box, src=0)
    if isinstance(box[0], CaloforgeError):
        raise box[0]
    return box[0]


def broadcast_module(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (as ``DistributedDataParallel``
    does when it wraps a module)."""
    if not world().parallel:
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.dtype != torch.bool:
                dist.broadcast(tensor.data, src=0)


@dataclass(frozen=True)
class Shard:
    """One rank's share of a global batch: its rows and its weight ``rows / total`` (a rank
    left without rows computes on the last row with weight 0, so every rank's collectives
    line up)."""

    rows: BatchRows
    weight: float

    @property
    def n(self) -> int:
        """Rows that count (0 for a stand-in row)."""
        return round(self.weight * self.rows.total)


def shard(total: int, where: World) -> Shard:
    """The contiguous rows of a global batch of ``total`` rows that rank ``where.rank`` keeps:
    equal parts when the world size divides ``total``, else one more row for the first ranks.

    Example:
        >>> shard(8, World(rank=1, size=2))
        Shard(rows=BatchRows(start=4, stop=8, total=8), weight=0.5)
        >>> [shard(5, World(r, 2)).n for r in range(2)], shard(1, World(1, 2)).n
        ([3, 2], 0)
    """
    base, extra = divmod(total, where.size)
    n = base + int(where.rank < extra)
    if n == 0:
        return Shard(BatchRows(total - 1, total, total), 0.0)
    start = where.rank * base + min(where.rank, extra)
    return Shard(BatchRows(start, start + n, total), n / total)


class DataParallel:
    """What the engine's loop asks of the ranks; with one process, the identity.

    Arguments:
        where: This process's :class:`World`.
        split: Give each rank its slice of every batch (False: every rank computes the whole
            batch, for modules without optimizers that accumulate statistics).

    Example:
        >>> dp = DataParallel(World(rank=1, size=2))
        >>> gen = dp.generator(0)
        >>> dp.split({"x": torch.arange(6.0)}, gen)["x"].tolist(), gen.rows.start, dp.share.weight
        ([3.0, 4.0, 5.0], 3, 0.5)
    """

    def __init__(self, where: World, split: bool = True) -> None:
        self.world = where
        self.active = where.parallel and split
        self.share = Shard(BatchRows(0, 0, 0), 1.0)

    @property
    def main(self) -> bool:
        """This rank writes files."""
        return self.world.main

    def check_batch_size(self, batch_size: int) -> None:
        """Refuse a global batch that the ranks cannot share equally.

        Example:
            >>> DataParallel(World(0, 4)).check_batch_size(6)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            caloforge.errors.InputError: batch size 6 is not divisible by the 4 ranks; ...
        """
        if self.active and batch_size % self.world.size:
            raise InputError(f"batch size {batch_size} is not divisible by the "
                             f"{self.world.size} ranks", "give a multiple of the number of "
                             "processes (--batch-size or --nproc-per-node)")

    def generator(self, seed: int) -> torch.Generator:
        """The noise generator: plain in one process, a :class:`RowGenerator` on many ranks."""
        if not self.world.parallel:
            return torch_generator(seed)
        return RowGenerator().manual_seed(int(seed))

    def split(self, batch: Batch, generator: torch.Generator) -> Batch:
        """This rank's rows of a global batch; ``generator`` learns them (its ``rows``)."""
        if not self.active:
            return batch
        self.share = shard(len(next(iter(batch.values()))), self.world)
        rows = self.share.rows
        if isinstance(generator, RowGenerator):
            generator.rows = rows
        return {k: v[rows.start : rows.stop] for k, v in batch.items()}

    def reduce_gradients(self, params: Iterable[Tensor]) -> None:
        """Replace each gradient by the sum over ranks of ``weight * gradient``: the gradient
        of the global batch's mean loss (one flat all-reduce per dtype and device)."""
        if not self.active:
            return
        groups: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
        for p in params:
            if p.grad is not None:
                groups.setdefault((p.grad.dtype, p.grad.device), []).append(p.grad)
        for grads in groups.values():
            flat = torch.cat([g.reshape(-1) for g in grads]).mul_(self.share.weight)
            dist.all_reduce(flat)
            for g, part in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
                g.copy_(part.view_as(g))

    def sum_values(self, values: dict[str, float], weight: float = 1.0, elapsed: float = 0.0
                   ) -> tuple[dict[str, float], float]:
        """The sum over ranks of ``weight * value`` for named numbers (losses of the global
        batch; left as they are when every rank computes whole batches), and rank 0's
        ``elapsed`` seconds, so that time budgets and schedules agree on every rank."""
        if not self.world.parallel:
            return values, elapsed
        keys = sorted(values) if self.active else []
        mine = [values[k] * weight for k in keys] + [elapsed if self.main else 0.0]
        total = torch.tensor(mine, dtype=torch.float64)
        dist.all_reduce(total)
        summed = dict(zip(keys, total[:-1].tolist(), strict=True)) if self.active else values
        return summed, float(total[-1])
