"""The sampler as one graph: input rows (noise + conditions) in, flat showers out.

:class:`SamplerGraph` wraps a :class:`~caloforge.models.base.NoiseSampler` (a CaloFlow
student or teacher) for ``torch.onnx.export`` and ``torch.jit.trace``; :class:`DDMLModule`
gives the traced graph DDML's TorchScript signature, ``forward(List[Tensor]) -> Tensor``.
"""

from __future__ import annotations

from copy import deepcopy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from zuko.nn import MaskedLinear

from caloforge.deploy.layout import IOLayout, par04_order
from caloforge.models.base import Conditions, NoiseSampler

__all__ = ["DDMLModule", "PremaskedLinear", "SamplerGraph", "premasked"]


class PremaskedLinear(MaskedLinear):
    """A ``zuko`` masked linear layer whose weight already holds ``mask * weight``: the
    product is not recomputed per call (at batch 1 it is most of the work, and the exporters
    do not fold it: the masks are too large)."""

    def forward(self, x: Tensor) -> Tensor:
        """``x W^T + b`` with the pre-masked ``W``."""
        return F.linear(x, self.weight, self.bias)


def premasked(model: nn.Module) -> nn.Module:
    """A copy of ``model`` for inference whose masked linear layers multiply their masks in
    once (:class:`PremaskedLinear`); the outputs are the same numbers.

    Example:
        >>> layer = MaskedLinear(torch.tensor([[True, False], [True, True]]))
        >>> x = torch.randn(3, 2)
        >>> torch.equal(premasked(layer)(x), layer(x))
        True
    """
    copy = deepcopy(model)
    for module in copy.modules():
        if type(module) is MaskedLinear:
            with torch.no_grad():
                module.weight.mul_(module.mask)
            module.__class__ = PremaskedLinear
    return copy


class SamplerGraph(nn.Module):
    """``forward(x)``: ``x`` float32 ``(B, latent + 3)`` rows ``[noise, E_inc MeV, theta rad,
    phi rad]`` -> voxels (MeV) ``(B, V)`` in the layout's order.

    Arguments:
        model: The sampler (copied, masks multiplied in: :func:`premasked`).
        layout: Where the inputs and outputs sit.

    Example:
        >>> from caloforge.models.caloflow import CaloFlow, CaloFlowConfig
        >>> from caloforge.models.flows import FlowSpec
        >>> from caloforge.preprocess import PreprocessingState
        >>> spec = FlowSpec(transforms=1, hidden=[8], bins=4)
        >>> model = CaloFlow(CaloFlowConfig(PreprocessingState(layer_sizes=[2, 3]), spec, spec))
        >>> graph = SamplerGraph(model, IOLayout(latent=7, n_voxels=5, layout="calochallenge"))
        >>> x = torch.cat([torch.randn(4, 7), torch.full((4, 1), 1e3), torch.zeros(4, 2)], 1)
        >>> graph(x).shape
        torch.Size([4, 5])
    """

    def __init__(self, model: NoiseSampler, layout: IOLayout) -> None:
        super().__init__()
        self.model = premasked(model)
        self.latent = layout.latent
        self.uses_theta = "theta_rad" in layout.uses
        self.uses_phi = "phi_rad" in layout.uses
        order = (par04_order((layout.grid[0], layout.grid[1], layout.grid[2]))
                 if layout.layout == "par04" and layout.grid else None)
        self.register_buffer("order", None if order is None else torch.as_tensor(order))

    def forward(self, x: Tensor) -> Tensor:
        """Showers for input rows ``x``."""
        noise = x[:, : self.latent]
        conditions = Conditions(
            x[:, self.latent], x[:, self.latent + 1] if self.uses_theta else None,
            x[:, self.latent + 2] if self.uses_phi else None)
        voxels = self.model.sample_from_noise(noise, conditions)
        return voxels if self.order is None else voxels.index_select(1, self.order)


class DDMLModule(nn.Module):
    """DDML's TorchScript entry point: ``forward(inputs: List[Tensor]) -> Tensor``.

    The tensors of ``inputs`` (each ``(B, k)`` float32) are concatenated along columns into
    the rows :class:`SamplerGraph` takes, so DDML may pass ``[x]`` or ``[noise,
    conditions]``.
    """

    def __init__(self, graph: nn.Module) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, inputs: list[Tensor]) -> Tensor:
        """The showers of the concatenated inputs."""
        return self.graph(torch.cat(inputs, 1))
