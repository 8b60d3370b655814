"""Cylindrical (r, alpha) voxel geometries defined by CaloChallenge binning XML files.

The XML format is that of the CaloChallenge 2022 (``binning_dataset_*.xml``): one ``<Layer>``
per calorimeter layer with comma-separated ``r_edges`` in mm and ``n_bin_alpha``. Layers with
``r_edges="0"`` hold no voxels and are skipped. Within a layer the voxel order is radial bin
fastest, then alpha bin; layers follow each other front to back.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caloforge.errors import InputError
from caloforge.geometry.base import LayeredGeometry
from caloforge.geometry.materials import MaterialStack

__all__ = ["CylindricalGeometry", "CylindricalLayer"]


@dataclass(frozen=True)
class CylindricalLayer:
    """One readout layer of a cylindrical geometry.

    Arguments:
        layer_id: The layer's id in the binning file (its position among all layers).
        r_edges: Radial bin edges in mm, starting at 0.
        n_alpha: Number of equal bins in the angle alpha over (-pi, pi].
    """

    layer_id: int
    r_edges: tuple[float, ...]
    n_alpha: int

    @property
    def n_r(self) -> int:
        """Number of radial bins."""
        return len(self.r_edges) - 1

    @property
    def n_voxels(self) -> int:
        """Voxels in the layer, ``n_r * n_alpha``."""
        return self.n_r * self.n_alpha

    @property
    def alpha_edges(self) -> np.ndarray:
        """Alpha bin edges in rad, ``linspace(-pi, pi, n_alpha + 1)``."""
        return np.linspace(-np.pi, np.pi, self.n_alpha + 1)


class CylindricalGeometry(LayeredGeometry):
    """A geometry of concentric (r, alpha) bins in each layer.

    Arguments:
        name: Geometry name.
        layers: The readout layers (only those holding voxels).
        materials: Material stack, one entry per readout layer, or None if unknown.
        readout_threshold_mev: Cell energy below which a cell reads zero (MeV).
        particle: Particle name from the binning file (``photon``, ``pion``, ``electron``).
        description: One line for tables.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds1-photons")
        >>> geo.n_voxels, geo.layer_sizes
        (368, (8, 160, 190, 5, 5))
        >>> geo.voxel_xy().shape
        (368, 2)
    """

    kind = "cylindrical"

    def __init__(
        self,
        name: str,
        layers: list[CylindricalLayer],
        materials: MaterialStack | None = None,
        readout_threshold_mev: float = 0.0,
        particle: str = "",
        description: str = "",
    ) -> None:
        if not layers:
            raise InputError(f"geometry {name!r} has no layer with voxels",
                             "give at least one layer with r_edges beyond 0")
        self.layers = tuple(layers)
        self._set_common(name, self.layers, materials, readout_threshold_mev, description)
        self.particle = particle

    @classmethod
    def from_xml(
        cls,
        path: str | Path,
        name: str | None = None,
        materials: MaterialStack | None = None,
        readout_threshold_mev: float = 0.0,
        description: str = "",
    ) -> CylindricalGeometry:
        """Read a CaloChallenge binning XML file.

        Arguments:
            path: The XML file.
            name: Geometry name (default: the file's stem).
            materials: Optional material stack for the readout layers.
            readout_threshold_mev: Cell threshold in MeV.
            description: One line for tables.

        Returns:
            The geometry.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"binning file '{path}' not found",
                             "pass a CaloChallenge binning XML or a preset name")
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise InputError(f"binning file '{path}' is not valid XML ({exc})",
                             "check that it is a CaloChallenge binning file") from None
        bins = root.find("Bin") if root.tag != "Bin" else root
        if bins is None:
            raise InputError(f"binning file '{path}' has no <Bin> element",
                             "check that it is a CaloChallenge binning file")
        layers = []
        for element in bins.findall("Layer"):
            try:
                edges = tuple(float(v) for v in element.attrib["r_edges"].split(","))
                n_alpha = int(element.attrib.get("n_bin_alpha", "1"))
                layer_id = int(element.attrib["id"])
            except (KeyError, ValueError) as exc:
                raise InputError(f"binning file '{path}': malformed <Layer> ({exc})",
                                 "each layer needs id, r_edges and n_bin_alpha") from None
            if len(edges) < 2:
                continue
            if edges[0] != 0 or any(b <= a for a, b in itertools.pairwise(edges)):
                raise InputError(f"binning file '{path}': layer {layer_id} r_edges not increasing "
                                 "from 0", "fix the r_edges attribute")
            layers.append(CylindricalLayer(layer_id, edges, n_alpha))
        return cls(
            name or path.stem,
            layers,
            materials=materials,
            readout_threshold_mev=readout_threshold_mev,
            particle=bins.attrib.get("name", ""),
            description=description,
        )

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Voxels per readout layer."""
        return tuple(layer.n_voxels for layer in self.layers)

    @property
    def layer_ids(self) -> tuple[int, ...]:
        """Ids (in the binning file) of the readout layers."""
        return tuple(layer.layer_id for layer in self.layers)

    def voxel_r_alpha(self) -> tuple[np.ndarray, np.ndarray]:
        """Voxel centres in (r [mm], alpha [rad]): r midpoints of the edges, alpha midpoints of
        ``linspace(-pi, pi, n_alpha + 1)``; r varies fastest, then alpha."""
        rs, alphas = [], []
        for layer in self.layers:
            edges = np.asarray(layer.r_edges)
            r_mid = 0.5 * (edges[1:] + edges[:-1])
            a_edges = layer.alpha_edges
            a_mid = 0.5 * (a_edges[1:] + a_edges[:-1])
            rs.append(np.tile(r_mid, layer.n_alpha))
            alphas.append(np.repeat(a_mid, layer.n_r))
        return np.concatenate(rs), np.concatenate(alphas)

    def voxel_xy(self) -> np.ndarray:
        """Voxel centres as ``(eta, phi) = (r cos alpha, r sin alpha)`` in mm, ``(V, 2)``."""
        r, alpha = self.voxel_r_alpha()
        return np.stack([r * np.cos(alpha), r * np.sin(alpha)], axis=1)
