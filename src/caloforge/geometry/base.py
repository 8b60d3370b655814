"""The geometry protocol and the shared logic of layered voxel geometries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np

from caloforge.geometry.materials import MaterialStack

__all__ = ["Geometry", "LayeredGeometry"]


@runtime_checkable
class Geometry(Protocol):
    """What every stage may ask of a calorimeter geometry.

    Voxels are numbered layer by layer (front to back); within a layer the order is fixed by the
    concrete geometry. Transverse coordinates are in mm, measured from the shower axis.
    """

    name: str
    kind: str
    materials: MaterialStack | None
    readout_threshold_mev: float

    @property
    def n_voxels(self) -> int: ...

    @property
    def n_layers(self) -> int: ...

    @property
    def layer_sizes(self) -> tuple[int, ...]: ...

    def layer_slice(self, i: int) -> slice: ...

    def voxel_layer(self) -> np.ndarray: ...

    def voxel_xy(self) -> np.ndarray: ...


class LayeredGeometry(ABC):
    """Base class: voxels stored layer after layer, each layer a contiguous slice.

    Subclasses set ``name``, ``kind``, ``materials`` and ``readout_threshold_mev`` and provide
    :attr:`layer_sizes` and :meth:`voxel_xy`.
    """

    name: str
    kind: str
    materials: MaterialStack | None
    readout_threshold_mev: float
    description: str

    def _set_common(self, name: str, layers: tuple[object, ...], materials: MaterialStack | None,
                    readout_threshold_mev: float, description: str) -> None:
        """Store the attributes every geometry has; check one material layer per layer."""
        if materials is not None and len(materials.layers) != len(layers):
            raise ValueError(
                f"{name}: {len(materials.layers)} material layers for {len(layers)} readout layers"
            )
        self.name = name
        self.materials = materials
        self.readout_threshold_mev = readout_threshold_mev
        self.description = description

    @property
    @abstractmethod
    def layer_sizes(self) -> tuple[int, ...]:
        """Number of voxels in each readout layer."""

    @abstractmethod
    def voxel_xy(self) -> np.ndarray:
        """Transverse voxel centres, shape ``(n_voxels, 2)`` in mm."""

    @property
    def n_layers(self) -> int:
        """Number of readout layers (layers that hold voxels)."""
        return len(self.layer_sizes)

    @property
    def n_voxels(self) -> int:
        """Total number of voxels."""
        return int(sum(self.layer_sizes))

    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    def layer_slice(self, i: int) -> slice:
        """The slice of voxel indices belonging to readout layer ``i``."""
        if not -self.n_layers <= i < self.n_layers:
            raise IndexError(f"layer {i} out of range for {self.n_layers} layers")
        i %= self.n_layers
        return slice(int(self._offsets[i]), int(self._offsets[i + 1]))

    def layer_slices(self) -> list[slice]:
        """Slices of all readout layers, front to back."""
        return [self.layer_slice(i) for i in range(self.n_layers)]

    def voxel_layer(self) -> np.ndarray:
        """Readout-layer index of every voxel, shape ``(n_voxels,)``."""
        return np.repeat(np.arange(self.n_layers), self.layer_sizes)

    def layer_energies(self, voxels: np.ndarray) -> np.ndarray:
        """Sum voxel energies per layer: ``(N, n_voxels) -> (N, n_layers)`` in float64."""
        voxels = np.asarray(voxels, dtype=np.float64)
        return np.add.reduceat(voxels, self._offsets[:-1], axis=1)

    def summary(self) -> dict[str, object]:
        """One row for the geometry table: name, kind, voxels, layers, material figures."""
        row: dict[str, object] = {
            "name": self.name,
            "kind": self.kind,
            "voxels": self.n_voxels,
            "layers": self.n_layers,
        }
        if self.materials is not None:
            first = self.materials.layers[0]
            absorbers = sorted({layer.absorber.name for layer in self.materials.layers
                                if layer.absorber_mm > 0})
            row["material"] = "/".join(absorbers) + "-" + first.active.name
            row["depth_X0"] = round(self.materials.thickness_x0, 1)
            row["X0_mm"] = round(self.materials.x0_mm, 2)
            row["R_M_mm"] = round(self.materials.moliere_radius_mm, 1)
        return row

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n_voxels={self.n_voxels})"
