"""Calorimeter geometries: voxel layouts, material stacks, presets.

Example:
    >>> from caloforge.geometry import get_geometry
    >>> geo = get_geometry("ild-photons")
    >>> geo.n_voxels, geo.n_layers
    (54000, 30)
"""

from caloforge.geometry.base import Geometry, LayeredGeometry
from caloforge.geometry.cartesian import CartesianGeometry, CartesianLayer
from caloforge.geometry.cylindrical import CylindricalGeometry, CylindricalLayer
from caloforge.geometry.materials import LayerMaterial, Material, MaterialStack
from caloforge.geometry.presets import (
    PRESETS,
    geometry_for_voxels,
    get_geometry,
    list_geometries,
    xml_path,
)

__all__ = [
    "PRESETS",
    "CartesianGeometry",
    "CartesianLayer",
    "CylindricalGeometry",
    "CylindricalLayer",
    "Geometry",
    "LayerMaterial",
    "LayeredGeometry",
    "Material",
    "MaterialStack",
    "geometry_for_voxels",
    "get_geometry",
    "list_geometries",
    "xml_path",
]
