"""Invertible elementwise maps and per-layer bookkeeping shared by the flow families.

All functions work on torch tensors and return log-derivatives where a likelihood needs them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from caloforge.noise import batch_noise

__all__ = ["dequantize", "expand_layers", "expit", "layer_sums", "logit"]


def logit(v: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """``logit(alpha + (1 - 2 alpha) v)`` and its elementwise log-derivative ``d/dv``.

    Example:
        >>> y, dlog = logit(torch.tensor([0.5]), 1e-6)
        >>> round(y.item(), 6), round(dlog.item(), 4)
        (0.0, 1.3863)
    """
    p = alpha + (1.0 - 2.0 * alpha) * v
    lp, l1p = torch.log(p), torch.log1p(-p)
    return lp - l1p, np.log1p(-2.0 * alpha) - lp - l1p


def expit(y: Tensor, alpha: float) -> Tensor:
    """Inverse of :func:`logit`, clamped to ``[0, 1]``.

    Example:
        >>> v = torch.tensor([0.0, 0.25, 1.0])
        >>> torch.allclose(expit(logit(v, 1e-6)[0], 1e-6), v, atol=1e-6)
        True
    """
    # 1 / (1 + exp(-y)) keeps its relative precision down to ~alpha in every runtime
    # (ONNX Runtime's Sigmoid does not: at y = -14 it is off by 5 %, and the share of a layer
    # with sigmoid(y) ~ alpha is their difference)
    return ((1.0 / (1.0 + torch.exp(-y)) - alpha) / (1.0 - 2.0 * alpha)).clamp(0.0, 1.0)


def dequantize(voxels: Tensor, width: float, generator: torch.Generator | None = None) -> Tensor:
    """Add ``U(0, width)`` noise (MeV) to every voxel, drawn from ``generator`` per row of the
    global batch (:func:`caloforge.noise.batch_noise`: the same numbers on any number of ranks).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = dequantize(torch.zeros(2, 3), 1e-3, g)
        >>> bool(((out >= 0) & (out < 1e-3)).all())
        True
    """
    noise = batch_noise(torch.rand, voxels.shape, generator, device=voxels.device)
    return voxels + width * noise.to(voxels.dtype)


def layer_sums(voxels: Tensor, layer_sizes: Sequence[int]) -> Tensor:
    """Per-layer sums ``(N, V) -> (N, L)`` for voxels stored layer after layer.

    Example:
        >>> layer_sums(torch.ones(1, 5), [2, 3]).tolist()
        [[2.0, 3.0]]
    """
    return torch.stack([part.sum(1) for part in voxels.split(list(layer_sizes), 1)], 1)


def expand_layers(per_layer: Tensor, sizes: Tensor) -> Tensor:
    """Repeat a per-layer quantity over that layer's voxels ``(N, L) -> (N, V)``.

    Example:
        >>> expand_layers(torch.tensor([[1.0, 2.0]]), torch.tensor([1, 2])).tolist()
        [[1.0, 2.0, 2.0]]
    """
    return per_layer.repeat_interleave(sizes, dim=1)
