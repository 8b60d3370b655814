"""The ``cls-resnet`` classifier: a small 3D residual network on showers as images.

The idea follows the ResNet classifier that groups evaluating CaloChallenge-format showers
added next to the MLP ones (a 3D ResNet after Hara et al., layers x alpha x r, one channel):

* input: the ``cls-low`` vector ``[log10 E_inc, voxels / E_inc]`` (after the readout
  threshold), its voxels arranged as one image of shape ``(layers, alpha, r)``;
* a stem convolution (+ batch norm, ReLU, optionally a max-pool), then stages of basic
  residual blocks (two 3x3x3 convolutions with batch norm; a strided 1x1x1 convolution on the
  shortcut where the shape changes), each stage halving the image and widening the channels;
* global average pooling; the pooled features, concatenated with the batch-normalised scalars
  (``log10 E_inc`` and any conditions), go through one linear layer to the logit;
* AdamW; otherwise the protocol of the MLP classifiers (:mod:`caloforge.evaluate.classifier`).

Geometries whose layers share one binning (ds2, ds3) give their image by a reordering. For
layers with different binnings (ds1) every layer is resampled onto one grid: alpha bins = the
most any layer has, r bins = the union of every layer's r edges; a voxel's energy is shared
among the cells it overlaps in proportion to the overlapping area, so every layer's energy
is conserved (ds1-photons: 5 x 10 x 30 pixels, ds1-pions 7 x 10 x 23).

Sizes: :data:`TINY` (channels 4, 8, 16, one block per stage, stride-2 3x3x3 stem, 14k
parameters) is the default, sized for a CPU: a training step on 250 ds3 showers takes about
1.2 s on one core; :data:`REFERENCE` is the depth-18 network of the original (channels 32, 64,
64, 128, two blocks per stage, 7x7x7 stem and max-pool), for a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch
from torch import nn

from caloforge.geometry import LayeredGeometry
from caloforge.geometry.cylindrical import CylindricalGeometry

__all__ = ["REFERENCE", "TINY", "ImageLayout", "ResNet3d", "ResNetSpec"]


@dataclass(frozen=True)
class ResNetSpec:
    """Size of a :class:`ResNet3d`."""

    widths: tuple[int, ...]
    blocks: int
    stem_kernel: int
    max_pool: bool


#: The CPU default: about 14k parameters.
TINY = ResNetSpec((4, 8, 16), 1, 3, False)
#: The depth-18 network of the original ResNet classifier.
REFERENCE = ResNetSpec((32, 64, 64, 128), 2, 7, True)


def _overlap(edges_a: np.ndarray, edges_b: np.ndarray) -> np.ndarray:
    """Length of the overlap of every interval of ``edges_a`` with every one of ``edges_b``."""
    lo = np.maximum(edges_a[:-1, None], edges_b[None, :-1])
    hi = np.minimum(edges_a[1:, None], edges_b[None, 1:])
    return np.clip(hi - lo, 0.0, None)


@dataclass(frozen=True)
class ImageLayout:
    """How voxel rows become images ``(layers, alpha, r)``: ``images = voxels @ matrix``."""

    shape: tuple[int, int, int]
    matrix: scipy.sparse.csr_matrix | None  # None: the voxels are already in image order

    @classmethod
    def from_geometry(cls, geometry: LayeredGeometry) -> ImageLayout:
        """The layout of a cylindrical geometry (area-weighted resampling where layers differ).

        Example:
            >>> from caloforge.geometry import get_geometry
            >>> ImageLayout.from_geometry(get_geometry("ds3")).shape
            (45, 50, 18)
        """
        if not isinstance(geometry, CylindricalGeometry):
            raise ValueError(f"cls-resnet needs a cylindrical geometry, not '{geometry.name}'")
        layers = geometry.layers
        n_alpha = max(layer.n_alpha for layer in layers)
        r_edges = np.unique(np.concatenate([np.asarray(layer.r_edges) for layer in layers]))
        shape = (len(layers), n_alpha, len(r_edges) - 1)
        if all(layer.n_alpha == n_alpha and len(layer.r_edges) == len(r_edges)
               for layer in layers):
            return cls(shape, None)  # r fastest, then alpha: already the image order
        a_edges = np.linspace(-np.pi, np.pi, n_alpha + 1)
        blocks = []
        for layer in layers:
            own_a = np.linspace(-np.pi, np.pi, layer.n_alpha + 1)
            f_alpha = _overlap(own_a, a_edges) / np.diff(own_a)[:, None]
            own_r = np.asarray(layer.r_edges, dtype=np.float64)
            f_r = _overlap(own_r**2, r_edges**2) / np.diff(own_r**2)[:, None]  # area in r
            blocks.append(scipy.sparse.kron(f_alpha, f_r, format="csr"))
        return cls(shape, scipy.sparse.block_diag(blocks, format="csr"))

    @property
    def n_pixels(self) -> int:
        """Pixels per image."""
        return int(np.prod(self.shape))

    def images(self, voxels: np.ndarray) -> np.ndarray:
        """Flattened images ``(N, n_pixels)``, float32, of voxel rows ``(N, n_voxels)``.

        Example:
            >>> from caloforge.geometry import get_geometry
            >>> layout = ImageLayout.from_geometry(get_geometry("ds1-photons"))
            >>> x = np.ones((2, 368))
            >>> bool(np.isclose(layout.images(x).sum(), x.sum()))  # energy conserved
            True
        """
        if self.matrix is None:
            return np.asarray(voxels, dtype=np.float32)
        return np.asarray(self.matrix.T.dot(np.asarray(voxels, np.float64).T).T, np.float32)


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)


class _Block(nn.Module):
    """Basic residual block: conv-BN-ReLU-conv-BN plus the (projected) input, ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c_in, c_out, 3, stride), nn.BatchNorm3d(c_out),
                                  nn.ReLU(inplace=True), _conv(c_out, c_out, 3),
                                  nn.BatchNorm3d(c_out))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(_conv(c_in, c_out, 1, stride), nn.BatchNorm3d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet3d(nn.Module):
    """3D ResNet on rows ``[scalars, flattened image]``; one logit per row.

    Example:
        >>> net = ResNet3d((5, 10, 26), n_scalars=1)
        >>> net(torch.zeros(4, 1 + 5 * 10 * 26)).shape
        torch.Size([4, 1])
    """

    def __init__(self, image_shape: tuple[int, int, int], n_scalars: int = 1,
                 spec: ResNetSpec = TINY) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.n_scalars = n_scalars
        w = spec.widths
        stem: list[nn.Module] = [_conv(1, w[0], spec.stem_kernel, 2), nn.BatchNorm3d(w[0]),
                                 nn.ReLU(inplace=True)]
        if spec.max_pool:
            stem.append(nn.MaxPool3d(3, stride=2, padding=1))
        stages: list[nn.Module] = []
        c_in = w[0]
        for i, width in enumerate(w):
            for b in range(spec.blocks):  # the first stage keeps the stem's size with max-pool
                stride = 2 if b == 0 and (i > 0 or not spec.max_pool) else 1
                stages.append(_Block(c_in, width, stride))
                c_in = width
        self.features = nn.Sequential(*stem, *stages, nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.scalar_norm = nn.BatchNorm1d(n_scalars)
        self.head = nn.Linear(c_in + n_scalars, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scalars = self.scalar_norm(x[:, : self.n_scalars])
        image = x[:, self.n_scalars :].reshape(-1, 1, *self.image_shape)
        return self.head(torch.cat([self.features(image), scalars], dim=1))
