"""Tail-aware training loss for neural importance sampling: the Rényi divergence of order alpha.

For a normalised integrand ``p = f / I`` and a sampling density ``q``, the Rényi divergence

    D_alpha(p || q) = log E_q[(p / q)^alpha] / (alpha - 1)

is the KL divergence at alpha -> 1, the logarithm of the weights' second moment
(``log(1 + rel. variance)``, the variance loss's minimiser) at alpha = 2, and the logarithm of
the largest weight, ``-log`` of the unweighting efficiency, at alpha -> infinity. Raising alpha
during the training therefore moves the flow from the variance optimum towards low maximal
weights: the largest weights of a batch dominate the gradient.

The expectation is estimated with points drawn from ``q_sample`` (fresh or buffered) in log
space, so weights ``(p/q)^alpha`` with alpha ~ 30 stay finite.
"""

from __future__ import annotations

import math

import torch
from madnis.integrator.losses import multi_channel_loss

__all__ = ["AnnealedRenyi", "renyi_divergence"]


def _renyi(f_true: torch.Tensor, q_test: torch.Tensor, q_sample: torch.Tensor,
           alpha: float = 2.0) -> torch.Tensor:
    """One channel's Rényi divergence estimate (see :func:`renyi_divergence`)."""
    f = f_true.detach().abs()
    keep = f > 0
    if not bool(keep.any()):
        return torch.zeros((), dtype=q_test.dtype, device=q_test.device)
    # the integral is the mean over all samples, zero-valued ones included (as the log-mean
    # below): normalising over the non-zero ones only shifted the value by log(kept share)
    integral = (f / q_sample.detach()).mean()
    f, qt, qs = f[keep] / integral, q_test[keep], q_sample[keep].detach()  # q_sample: constant
    log_terms = alpha * torch.log(f) + (1.0 - alpha) * torch.log(qt) - torch.log(qs)
    return (torch.logsumexp(log_terms, 0) - math.log(len(f_true))) / (alpha - 1.0)


_renyi_channels = multi_channel_loss(_renyi)


def renyi_divergence(f_true: torch.Tensor, q_test: torch.Tensor,
                     q_sample: torch.Tensor | None = None, channels: torch.Tensor | None = None,
                     alpha: float = 2.0) -> torch.Tensor:
    """Rényi divergence of order ``alpha`` between the normalised integrand and ``q_test``,
    estimated with samples of ``q_sample`` (a ``madnis`` loss; channel by channel, summed).

    Arguments:
        f_true: Integrand values at the samples ``(N,)``.
        q_test: Density being trained, at the samples ``(N,)``.
        q_sample: Density the samples were drawn from (default: ``q_test``).
        channels: Channel of every sample, or None (single channel).
        alpha: Order, > 1.

    Returns:
        The scalar loss (0 when ``q_test`` is proportional to ``f_true``).

    Example:
        >>> q = torch.full((4,), 1.0)
        >>> round(renyi_divergence(torch.full((4,), 3.0), q, alpha=8.0).item(), 6)
        0.0
        >>> f = torch.tensor([0.5, 0.5, 1.5, 1.5])  # weights 0.5 and 1.5 around a mean of 1
        >>> d2 = renyi_divergence(f, q, alpha=2.0).item()  # log E[w^2] = log 1.25
        >>> d64 = renyi_divergence(f, q, alpha=64.0).item()  # -> log 1.5 = 0.405, the largest
        >>> round(d2, 4), round(d64, 2)
        (0.2231, 0.4)
    """
    if alpha <= 1.0:
        raise ValueError(f"the Rényi order must exceed 1, not {alpha}")
    return _renyi_channels(f_true, q_test, q_sample, channels, alpha=alpha)


class AnnealedRenyi:
    """The Rényi divergence with its order raised geometrically from ``alpha_start`` to
    ``alpha_end`` over the first ``ramp`` share of ``steps`` loss evaluations, then held.

    One call is one optimisation step (``madnis`` evaluates the loss once per step, online or
    buffered).

    Arguments:
        steps: Optimisation steps of the training.
        alpha_start, alpha_end: First and final order (> 1).
        ramp: Share of the steps over which the order rises.

    Example:
        >>> loss = AnnealedRenyi(steps=4, alpha_start=2.0, alpha_end=32.0, ramp=0.5)
        >>> [loss.alpha(step) for step in range(4)]
        [2.0, 8.0, 32.0, 32.0]
    """

    def __init__(self, steps: int, alpha_start: float = 2.0, alpha_end: float = 32.0,
                 ramp: float = 2.0 / 3.0) -> None:
        if not 1.0 < alpha_start <= alpha_end:
            raise ValueError(f"need 1 < alpha_start <= alpha_end, not {alpha_start}, "
                             f"{alpha_end}")
        self.alpha_start, self.alpha_end = alpha_start, alpha_end
        self.ramp_steps = max(1, round(ramp * steps))
        self.step = 0

    def alpha(self, step: int) -> float:
        """The order at optimisation step ``step``."""
        frac = min(1.0, step / self.ramp_steps)
        return self.alpha_start * (self.alpha_end / self.alpha_start) ** frac

    def __call__(self, f_true: torch.Tensor, q_test: torch.Tensor,
                 q_sample: torch.Tensor | None = None,
                 channels: torch.Tensor | None = None) -> torch.Tensor:
        alpha = self.alpha(self.step)
        self.step += 1
        return renyi_divergence(f_true, q_test, q_sample, channels, alpha=alpha)
