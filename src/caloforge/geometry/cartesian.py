"""Cartesian (x, y) voxel geometries: a rectangular cell grid per layer.

Each layer is an ``n_x`` x ``n_y`` grid of ``pitch_x`` x ``pitch_y`` mm cells centred on the
shower axis. Within a layer voxels are stored in C order of an ``(n_x, n_y)`` image (y fastest),
so ``voxels[:, layer_slice(i)].reshape(-1, n_x, n_y)`` gives the layer image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caloforge.errors import InputError
from caloforge.geometry.base import LayeredGeometry
from caloforge.geometry.materials import MaterialStack

__all__ = ["CartesianGeometry", "CartesianLayer"]


@dataclass(frozen=True)
class CartesianLayer:
    """One readout layer: ``n_x`` x ``n_y`` cells of ``pitch_x`` x ``pitch_y`` mm.

    Example:
        >>> CartesianLayer(3, 96, 160.0, 5.0).x_edges[[0, -1]]
        array([-240.,  240.])
    """

    n_x: int
    n_y: int
    pitch_x: float
    pitch_y: float

    @property
    def n_voxels(self) -> int:
        """Cells in the layer."""
        return self.n_x * self.n_y

    @property
    def x_edges(self) -> np.ndarray:
        """Cell edges along x in mm, symmetric about 0."""
        return (np.arange(self.n_x + 1) - self.n_x / 2) * self.pitch_x

    @property
    def y_edges(self) -> np.ndarray:
        """Cell edges along y in mm, symmetric about 0."""
        return (np.arange(self.n_y + 1) - self.n_y / 2) * self.pitch_y


class CartesianGeometry(LayeredGeometry):
    """A stack of rectangular cell grids.

    Arguments:
        name: Geometry name.
        layers: One :class:`CartesianLayer` per readout layer, front to back.
        materials: Material stack (one entry per layer) or None.
        readout_threshold_mev: Cell energy below which a cell reads zero (MeV).
        description: One line for tables.

    Example:
        >>> geo = CartesianGeometry("toy", [CartesianLayer(2, 3, 5.0, 5.0)] * 4)
        >>> geo.n_voxels, geo.layer_slice(1)
        (24, slice(6, 12, None))
        >>> geo.voxel_xy()[:3].tolist()
        [[-2.5, -5.0], [-2.5, 0.0], [-2.5, 5.0]]
    """

    kind = "cartesian"

    def __init__(
        self,
        name: str,
        layers: list[CartesianLayer],
        materials: MaterialStack | None = None,
        readout_threshold_mev: float = 0.0,
        description: str = "",
    ) -> None:
        if not layers:
            raise InputError(f"geometry {name!r} has no layers", "give at least one layer")
        for layer in layers:
            if layer.n_x < 1 or layer.n_y < 1 or layer.pitch_x <= 0 or layer.pitch_y <= 0:
                raise InputError(f"geometry {name!r}: invalid layer {layer}",
                                 "cell counts must be >= 1 and pitches > 0 mm")
        self.layers = tuple(layers)
        self._set_common(name, self.layers, materials, readout_threshold_mev, description)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Cells per readout layer."""
        return tuple(layer.n_voxels for layer in self.layers)

    def layer_images(self, voxels: np.ndarray, i: int) -> np.ndarray:
        """Layer ``i`` of ``(N, n_voxels)`` showers as ``(N, n_x, n_y)`` images."""
        layer = self.layers[i]
        return np.asarray(voxels)[:, self.layer_slice(i)].reshape(-1, layer.n_x, layer.n_y)

    def voxel_xy(self) -> np.ndarray:
        """Cell centres ``(x, y)`` in mm, shape ``(n_voxels, 2)``; y varies fastest."""
        parts = []
        for layer in self.layers:
            xe, ye = layer.x_edges, layer.y_edges
            xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
            gx, gy = np.meshgrid(xc, yc, indexing="ij")
            parts.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        return np.concatenate(parts)
