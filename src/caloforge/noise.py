"""Noise of a batch keyed by row: a shower gets the same numbers whatever the number of ranks.

In data-parallel training (:mod:`caloforge.train.distributed`) every rank holds a contiguous
slice of the global batch. Its noise generator is a :class:`RowGenerator`, seeded like every
other rank's, that knows the slice (:class:`BatchRows`); :func:`batch_noise` then draws the noise
of the whole global batch and keeps this rank's rows. Every rank thus advances its generator
exactly as a single process does, and row ``i`` of the global batch receives the same numbers
on 1, 2 or 8 ranks. Outside data-parallel training (a plain ``torch.Generator``, or ``rows``
None) :func:`batch_noise` is the plain draw, number for number.

Every draw with a batch dimension in a ``training_step`` or ``validation_step``
(dequantisation, latent vectors) goes through :func:`batch_noise`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["BatchRows", "RowGenerator", "batch_noise"]


@dataclass(frozen=True)
class BatchRows:
    """Rows ``start:stop`` of a global batch of ``total`` rows (this process's share).

    Example:
        >>> BatchRows(4, 8, 8).n
        4
    """

    start: int
    stop: int
    total: int

    @property
    def n(self) -> int:
        """Rows held."""
        return self.stop - self.start


class RowGenerator(torch.Generator):
    """A ``torch.Generator`` that knows which rows of the global batch its process holds
    (``rows``, set per step by the engine; None: the whole batch).

    Example:
        >>> g = RowGenerator(rows=BatchRows(0, 2, 4))
        >>> _ = g.manual_seed(0)
        >>> g.rows.total, torch.rand(1, generator=g).item() == torch.rand(
        ...     1, generator=torch.Generator().manual_seed(0)).item()
        (4, True)
    """

    def __new__(cls, device: str | torch.device = "cpu", rows: BatchRows | None = None
                ) -> RowGenerator:
        return super().__new__(cls, device)

    def __init__(self, device: str | torch.device = "cpu", rows: BatchRows | None = None
                 ) -> None:
        self.rows = rows


def batch_noise(draw: Callable[..., Tensor], shape: Sequence[int],
                generator: torch.Generator | None, **kwargs: Any) -> Tensor:
    """``draw(shape, generator=generator, **kwargs)`` (``torch.rand``, ``torch.randn``, a
    ``functools.partial`` of ``torch.randint``) for a batch whose rows come first in ``shape``;
    with a :class:`RowGenerator`'s ``rows``, the global batch's noise is drawn and this
    process's rows are kept.

    Example:
        >>> whole = batch_noise(torch.rand, (4, 2), torch.Generator().manual_seed(0))
        >>> half = batch_noise(torch.rand, (2, 2), RowGenerator(rows=BatchRows(2, 4, 4)
        ...                                                     ).manual_seed(0))
        >>> torch.equal(half, whole[2:])
        True
    """
    rows: BatchRows | None = getattr(generator, "rows", None)
    if rows is None or rows.n == rows.total:
        return draw(tuple(shape), generator=generator, **kwargs)
    if shape[0] != rows.n:
        raise ValueError(f"noise for {shape[0]} rows, but this process holds rows "
                         f"{rows.start}:{rows.stop} of the global batch")
    full = draw((rows.total, *shape[1:]), generator=generator, **kwargs)
    return full[rows.start : rows.stop]
