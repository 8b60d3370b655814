"""Where the weights of a sample sit: the shape of the weight distribution and its largest
weights, which set the unweighting efficiency (``<w> / w_max``).

Every :class:`~caloforge.integrate.methods.IntegrationResult` carries this summary in
``extra['weights']``, so a comparison can show *where* one method loses to another, not only
that it does (``benchmarks/integrate.py`` prints and plots it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from madnis.integrator import unweighting_metrics

__all__ = ["QUANTILES", "weight_summary"]

#: Quantiles of ``w / <w>`` reported (the maximum is added).
QUANTILES = (0.5, 0.9, 0.99, 0.999, 0.9999)
#: Log-spaced bin edges of the ``w / <w>`` histogram.
HIST_EDGES = np.logspace(-3, 2, 51)


def weight_summary(weights: torch.Tensor, x: torch.Tensor | None = None,
                   channels: torch.Tensor | None = None, channel_count: int = 1,
                   largest: int = 10) -> dict[str, Any]:
    """Quantiles and histogram of ``w / <w>``, the ``largest`` weights with their points,
    and, for multi-channel samples, ``madnis``' channel-wise unweighting efficiency.

    Arguments:
        weights: Weights of the sample ``(N,)``.
        x: The sampled points on the hypercube ``(N, d)`` (in the channel's coordinates).
        channels: Channel of every point ``(N,)`` (multi-channel samples).
        channel_count: Number of channels.
        largest: How many of the largest weights to list.

    Returns:
        A JSON-ready dict: ``quantiles`` (``'0.5'`` ... ``'max'``), ``hist_edges``,
        ``hist_counts``, ``largest`` (``w_over_mean``, ``channel``, ``x``) and, with channels,
        ``uweff_channelwise`` (each channel unweighted on its own, combined by its share of the
        integral; ``madnis.integrator.Integrator.unweighting_metrics``' convention) with
        ``uweff_per_channel``.

    Example:
        >>> w = torch.tensor([1.0, 1.0, 2.0, 4.0])
        >>> s = weight_summary(w, largest=1)
        >>> s["quantiles"]["max"], s["largest"][0]["w_over_mean"]
        (2.0, 2.0)
    """
    w = weights.detach().double().abs().cpu()
    ratio = w / w.mean()
    values = np.quantile(ratio.numpy(), QUANTILES).tolist()
    out: dict[str, Any] = {
        "quantiles": {**{f"{q:g}": v for q, v in zip(QUANTILES, values, strict=True)},
                      "max": float(ratio.max())},
        "hist_edges": HIST_EDGES.tolist(),
        "hist_counts": np.histogram(ratio.numpy(), HIST_EDGES)[0].tolist()}
    top = torch.argsort(ratio, descending=True)[:largest]
    out["largest"] = [
        {"w_over_mean": float(ratio[i]),
         "channel": int(channels[i]) if channels is not None else 0,
         "x": x[i].detach().double().cpu().tolist() if x is not None else None}
        for i in top.tolist()]
    if channels is not None and channel_count > 1:
        total, per = unweighting_metrics(w.float(), channels.cpu(), channel_count)
        out["uweff_channelwise"] = total.uweff_before_cuts
        out["uweff_per_channel"] = [m.uweff_before_cuts for m in per]
        out["per_channel"] = _per_channel(weights.detach().double().cpu(), channels.cpu(),
                                          channel_count)
    return out


def _per_channel(weights: torch.Tensor, channels: torch.Tensor, channel_count: int
                 ) -> list[dict[str, float]]:
    """Per channel: points, share of the integral, relative std of its weights and the largest
    weight over the sample's mean (where a channel's tail limits the whole sample)."""
    mean = float(weights.mean())
    rows = []
    for c in range(channel_count):
        w = weights[channels == c]
        n = len(w)
        rows.append({"points": n,
                     "integral_share": float(w.sum()) / float(weights.sum()) if n else 0.0,
                     "rel_std": float(w.std() / w.mean()) if n > 1 and float(w.mean()) else
                     math.nan,
                     "max_over_mean": float(w.abs().max()) / abs(mean) if n else 0.0})
    return rows
