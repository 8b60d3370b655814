"""Defensive importance sampling: a ``madnis`` flow mixed with the uniform density.

Sampling from ``g = (1 - eps) q_flow + eps`` on the unit hypercube (Hesterberg, Technometrics
37 (1995) 185) bounds every weight ``f / g`` by ``f / eps`` where the flow leaves a hole
(``q_flow`` close to zero), and raises the weights where the flow is good by at most
``1 / (1 - eps)``. The largest weights of a trained flow sit in such holes, and the largest
weight sets the unweighting efficiency. The mixture is trained as it is sampled (the loss sees
``g``), so the flow learns around the uniform share.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["DefensiveFlow"]


class DefensiveFlow(nn.Module):
    """A ``madnis`` flow on ``[0, 1]^d`` (uniform latent space) mixed with ``eps`` uniform.

    Implements the ``madnis.nn.Distribution`` protocol (``sample``, ``prob``, ``log_prob``), so
    it can be passed to ``madnis.integrator.Integrator(flow=...)``.

    Arguments:
        flow: A ``madnis.nn.Flow`` with ``uniform_latent=True``.
        eps: Share of uniform points, ``0 <= eps < 1``.

    Example:
        >>> from madnis.nn import Flow
        >>> g = DefensiveFlow(Flow(dims_in=2, layers=1, units=8, bins=4), eps=0.1)
        >>> x, p = g.sample(1000, return_prob=True, dtype=torch.float32)
        >>> bool(((x >= 0) & (x <= 1)).all()), bool((p >= 0.1).all())
        (True, True)
    """

    def __init__(self, flow: nn.Module, eps: float = 0.05) -> None:
        super().__init__()
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"eps must lie in [0, 1), not {eps}")
        self.flow, self.eps = flow, eps

    def prob(self, x: torch.Tensor, c: torch.Tensor | None = None,
             channel: Any = None) -> torch.Tensor:
        """Mixture density ``(1 - eps) q_flow(x) + eps``."""
        return (1.0 - self.eps) * self.flow.prob(x, c, channel) + self.eps

    def log_prob(self, x: torch.Tensor, c: torch.Tensor | None = None,
                 channel: Any = None) -> torch.Tensor:
        """Log of :meth:`prob`."""
        return self.prob(x, c, channel).log()

    def sample(self, n: int | None = None, c: torch.Tensor | None = None, channel: Any = None,
               return_log_prob: bool = False, return_prob: bool = False,
               device: torch.device | None = None, dtype: torch.dtype | None = None
               ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Flow samples with a random ``eps`` share replaced by uniform points (each row keeps
        its channel), with the mixture's (log-)density if asked."""
        x = self.flow.sample(n, c, channel, device=device, dtype=dtype)
        uniform = torch.rand(len(x), device=x.device) < self.eps
        x = torch.where(uniform[:, None], torch.rand_like(x), x)
        if not (return_prob or return_log_prob):
            return x
        prob = self.prob(x, c, channel)
        extra = ([prob.log()] if return_log_prob else []) + ([prob] if return_prob else [])
        return (x, *extra)

    def init_with_grid(self, grid: torch.Tensor) -> None:
        """Initialise the flow from a VEGAS grid (``madnis`` pre-training)."""
        self.flow.init_with_grid(grid)
