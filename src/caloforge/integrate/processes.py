"""Integrands on the unit hypercube: test functions with known integrals.

A :class:`Process` maps points ``x`` of ``[0, 1]^d`` (a torch tensor ``(n, d)``) to integrand
values ``(n,)``. Physics processes with several phase-space channels also implement
:class:`MultiChannelProcess` (see :mod:`caloforge.integrate.drell_yan`).
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch
from scipy import integrate as sp_integrate
from scipy.special import erf

__all__ = ["Camel", "MultiChannelProcess", "Process", "Ring"]


@runtime_checkable
class Process(Protocol):
    """An integrand on the unit hypercube.

    Attributes:
        name: Short name (CLI ``--process``).
        dims: Dimension of the hypercube.
        unit: Unit of the integral (``1`` for test functions, ``pb`` for cross sections).
    """

    name: str
    dims: int
    unit: str

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Integrand values at points ``x`` of shape ``(n, dims)``."""
        ...

    def exact(self) -> float | None:
        """The known integral, or None."""
        ...


@runtime_checkable
class MultiChannelProcess(Process, Protocol):
    """A process with phase-space channels (each a mapping of the hypercube)."""

    channel_names: list[str]

    def channel(self, x: torch.Tensor, c: int | torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Map ``x`` through channel(s) ``c``: integrand times the mapping's Jacobian, the
        physical point, and the prior channel weights ``alpha`` (rows summing to 1)."""
        ...


class Camel:
    """Two Gaussians on the diagonal of ``[0, 1]^d`` (at 1/3 and 2/3, width ``sigma``).

    Example:
        >>> camel = Camel(2)
        >>> round(float(camel.exact()), 4)
        0.9991
        >>> camel(torch.full((1, 2), 1 / 3)).item() > 5
        True
    """

    unit = "1"

    def __init__(self, dims: int = 2, sigma: float = 0.1) -> None:
        self.dims, self.sigma = dims, sigma
        self.name = f"camel-{dims}d"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        norm = (self.sigma * math.sqrt(2.0 * math.pi)) ** self.dims
        peaks = [torch.exp(-((x - mu) ** 2).sum(1) / (2 * self.sigma**2)) for mu in (1 / 3, 2 / 3)]
        return 0.5 * (peaks[0] + peaks[1]) / norm

    def exact(self) -> float:
        """Closed form (Gaussian mass inside the cube)."""
        s = self.sigma * math.sqrt(2.0)
        inside = [0.5 * (erf((1 - mu) / s) + erf(mu / s)) for mu in (1 / 3, 2 / 3)]
        return float(0.5 * (inside[0] ** self.dims + inside[1] ** self.dims))


class Ring:
    """A thin Gaussian ring of radius ``radius`` and width ``width`` around the square's centre.

    Example:
        >>> abs(Ring().exact() - 1.0) < 1e-3
        True
    """

    unit = "1"
    name = "ring"
    dims = 2

    def __init__(self, radius: float = 0.3, width: float = 0.02) -> None:
        self.radius, self.width = radius, width
        self.norm = self._radial_integral()

    def _radial_integral(self) -> float:
        value, _ = sp_integrate.quad(
            lambda r: 2 * math.pi * r * math.exp(-((r - self.radius) ** 2) / (2 * self.width**2)),
            0.0, 0.5, points=[self.radius], limit=200)
        return value

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.linalg.vector_norm(x - 0.5, dim=1)
        return torch.exp(-((r - self.radius) ** 2) / (2 * self.width**2)) / self.norm

    def exact(self) -> float:
        """1 up to the ring's tail outside the inscribed circle (below 1e-40 here)."""
        return 1.0
