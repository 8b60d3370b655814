"""A caloforge geometry as a Geant4 detector, read out by compiled scorers.

The calorimeter is planar and centred in the world: its front face is the plane
``z = -depth / 2`` (:attr:`Detector.front_z_mm`) and the shower axis of a normally incident
particle through the origin is the ``z`` axis. Readout layer ``L`` is an optional dead slab
(cryostat, inner detector) followed by a ``Layer`` volume (copy number ``L``) that holds
``n_samplings`` x (absorber + active) slabs, as in the geometry's
:class:`~caloforge.geometry.LayerMaterial`.

Cells are real volumes, so every deposit lands in exactly the voxel it belongs to:

* cylindrical (CaloChallenge) layers: concentric ``G4Tubs`` rings with copy number = radial bin
  (any, irregular, r-edges), each split into ``n_alpha`` equal ``kPhi`` replicas whose copy
  number is the alpha bin over ``(-pi, pi]``, as in
  :meth:`~caloforge.geometry.CylindricalGeometry.voxel_r_alpha`;
* cartesian layers: a grid volume split into ``x`` then ``y`` replicas.

One ``G4MultiFunctionalDetector`` with a ``G4PSEnergyDeposit3D`` primitive (indices: layer,
radial bin or x, alpha bin or y) is attached to the cells of the active slabs (sampled readout)
or of both slabs (total-deposit readout). With ``diagnostics`` a second detector collects every
other deposit (absorber of a sampled readout, dead material, material outside the cells).
Nothing runs in Python per step.
"""

from __future__ import annotations

import math
from typing import Any

from caloforge.geometry import CartesianGeometry, CylindricalGeometry, LayeredGeometry
from caloforge.geometry.materials import Material
from caloforge.simulate.geant4._g4 import g4
from caloforge.simulate.geant4.readout import cell_index_map

__all__ = ["CELL_DEPTHS", "NIST_NAMES", "Detector"]

#: caloforge material name -> Geant4 NIST material.
NIST_NAMES = {"W": "G4_W", "Pb": "G4_Pb", "Fe": "G4_Fe", "Al": "G4_Al", "Si": "G4_Si",
              "LAr": "G4_lAr", "polystyrene": "G4_POLYSTYRENE"}
#: Empty space around the calorimeter in mm (room for the gun and back-scattered particles).
WORLD_MARGIN_MM = 200.0
#: Touchable depths of (layer, radial/x bin, alpha/y bin) seen from a cell volume:
#: cell -> ring or strip -> [grid] -> slab -> sampling -> layer.
CELL_DEPTHS = {"cylindrical": (4, 1, 0), "cartesian": (5, 1, 0)}


def _nist(material: Material) -> Any:
    return g4.G4NistManager.Instance().FindOrBuildMaterial(NIST_NAMES[material.name])


class Detector(g4.G4VUserDetectorConstruction):
    """Geant4 volumes and scorers for ``geometry``.

    Arguments:
        geometry: A cylindrical or cartesian geometry with a material stack.
        total: Read the absorber too (total deposit) instead of the active material only.
        diagnostics: Also score every deposit outside the read-out cells.
    """

    def __init__(self, geometry: LayeredGeometry, total: bool, diagnostics: bool = False) -> None:
        super().__init__()
        if geometry.materials is None:
            raise ValueError(f"geometry {geometry.name!r} has no material stack")
        self.geometry, self.total, self.diagnostics = geometry, total, diagnostics
        self.shape, self.lookup = cell_index_map(geometry)
        self.cell_volumes: list[Any] = []
        self.other_volumes: list[Any] = []
        self._keep: list[Any] = []
        if isinstance(geometry, CylindricalGeometry):
            r_max = max(layer.r_edges[-1] for layer in geometry.layers)
            self.half_xy = (r_max, r_max)
        else:
            assert isinstance(geometry, CartesianGeometry)
            self.half_xy = (max(la.n_x * la.pitch_x for la in geometry.layers) / 2,
                            max(la.n_y * la.pitch_y for la in geometry.layers) / 2)
        stack = geometry.materials.layers
        #: Depth of the calorimeter in mm (dead material included).
        self.depth_mm = sum(m.dead_mm + m.thickness_mm for m in stack)

    def _box(self, name: str, hx: float, hy: float, hz: float, material: Any) -> Any:
        solid = g4.G4Box(name, hx, hy, hz)
        volume = g4.G4LogicalVolume(solid, material, name)
        self._keep += [solid, volume]
        return volume

    def _place(self, volume: Any, mother: Any, z: float = 0.0, copy: int = 0) -> None:
        self._keep.append(g4.G4PVPlacement(None, g4.G4ThreeVector(0, 0, z), volume,
                                           volume.GetName(), mother, False, copy))

    def Construct(self) -> Any:
        mm = g4.mm
        vacuum = g4.G4NistManager.Instance().FindOrBuildMaterial("G4_Galactic")
        hx, hy = (h * mm for h in self.half_xy)
        hz = 0.5 * self.depth_mm * mm
        margin = WORLD_MARGIN_MM * mm
        world = self._box("World", hx + margin, hy + margin, hz + margin, vacuum)
        calo = self._box("Calo", hx, hy, hz, vacuum)
        z = -hz
        assert self.geometry.materials is not None
        for index, m in enumerate(self.geometry.materials.layers):
            if m.dead is not None and m.dead_mm > 0:
                dead = self._box(f"Dead{index}", hx, hy, 0.5 * m.dead_mm * mm, _nist(m.dead))
                self._place(dead, calo, z + 0.5 * m.dead_mm * mm)
                self.other_volumes.append(dead)
                z += m.dead_mm * mm
            period = (m.absorber_mm + m.active_mm) * mm
            layer = self._box(f"Layer{index}", hx, hy, 0.5 * m.n_samplings * period, vacuum)
            self._place(layer, calo, z + 0.5 * m.n_samplings * period, copy=index)
            z += m.n_samplings * period
            sampling = self._box(f"Sampling{index}", hx, hy, 0.5 * period, vacuum)
            if m.n_samplings > 1:
                self._keep.append(g4.G4PVReplica(f"Sampling{index}", sampling, layer,
                                                 g4.EAxis.kZAxis, m.n_samplings, period))
            else:
                self._place(sampling, layer)
            zs = -0.5 * period
            for part, material, t in (("Abs", m.absorber, m.absorber_mm),
                                      ("Act", m.active, m.active_mm)):
                if t <= 0:
                    continue
                slab = self._box(f"{part}{index}", hx, hy, 0.5 * t * mm, _nist(material))
                self._place(slab, sampling, zs + 0.5 * t * mm)
                zs += t * mm
                self.other_volumes.append(slab)
                if part == "Act" or self.total:
                    self._cells(slab, f"{part}{index}", index, 0.5 * t * mm, _nist(material))
        self._place(calo, world, 0.0)
        placed = g4.G4PVPlacement(None, g4.G4ThreeVector(0, 0, 0), world, "World", None,
                                  False, 0)
        self._keep.append(placed)
        self.front_z_mm = -0.5 * self.depth_mm
        return placed

    def _cells(self, slab: Any, name: str, index: int, hz: float, material: Any) -> None:
        """Fill ``slab`` with the read-out cells of layer ``index``."""
        mm = g4.mm
        if isinstance(self.geometry, CylindricalGeometry):
            layer = self.geometry.layers[index]
            width = 2 * math.pi / layer.n_alpha
            for j, (r0, r1) in enumerate(zip(layer.r_edges[:-1], layer.r_edges[1:],
                                             strict=True)):
                ring_solid = g4.G4Tubs(f"{name}R{j}", r0 * mm, r1 * mm, hz, 0.0, 2 * math.pi)
                ring = g4.G4LogicalVolume(ring_solid, material, f"{name}R{j}")
                self._keep += [ring_solid, ring]
                self._place(ring, slab, 0.0, copy=j)
                start = -0.5 * width if layer.n_alpha > 1 else 0.0
                cell_solid = g4.G4Tubs(f"{name}C{j}", r0 * mm, r1 * mm, hz, start, width)
                cell = g4.G4LogicalVolume(cell_solid, material, f"{name}C{j}")
                self._keep += [cell_solid, cell]
                if layer.n_alpha > 1:   # copy k covers alpha in [-pi + k w, -pi + (k + 1) w)
                    self._keep.append(g4.G4PVReplica(f"{name}C{j}", cell, ring, g4.EAxis.kPhi,
                                                     layer.n_alpha, width, -math.pi))
                else:
                    self._place(cell, ring)
                self.cell_volumes.append(cell)
            return
        assert isinstance(self.geometry, CartesianGeometry)
        grid_layer = self.geometry.layers[index]
        gx = 0.5 * grid_layer.n_x * grid_layer.pitch_x
        gy = 0.5 * grid_layer.n_y * grid_layer.pitch_y
        grid = self._box(f"{name}G", gx * mm, gy * mm, hz, material)
        self._place(grid, slab)
        strip = self._box(f"{name}X", 0.5 * grid_layer.pitch_x * mm, gy * mm, hz, material)
        cell = self._box(f"{name}Y", 0.5 * grid_layer.pitch_x * mm,
                         0.5 * grid_layer.pitch_y * mm, hz, material)
        self._keep.append(g4.G4PVReplica(f"{name}X", strip, grid, g4.EAxis.kXAxis,
                                         grid_layer.n_x, grid_layer.pitch_x * mm))
        self._keep.append(g4.G4PVReplica(f"{name}Y", cell, strip, g4.EAxis.kYAxis,
                                         grid_layer.n_y, grid_layer.pitch_y * mm))
        self.cell_volumes.append(cell)
        self.other_volumes += [grid, strip]

    def ConstructSDandField(self) -> None:
        sdm = g4.G4SDManager.GetSDMpointer()
        cells = g4.G4MultiFunctionalDetector("cells")
        kind = "cylindrical" if isinstance(self.geometry, CylindricalGeometry) else "cartesian"
        primitive = g4.G4PSEnergyDeposit3D("edep", *self.shape, *CELL_DEPTHS[kind])
        cells.RegisterPrimitive(primitive)
        sdm.AddNewDetector(cells)
        self._keep += [cells, primitive]
        for volume in self.cell_volumes:
            self.SetSensitiveDetector(volume, cells)
        if self.diagnostics:
            other = g4.G4MultiFunctionalDetector("other")
            rest = g4.G4PSEnergyDeposit("edep", 0)
            other.RegisterPrimitive(rest)
            sdm.AddNewDetector(other)
            self._keep += [other, rest]
            for volume in self.other_volumes:
                self.SetSensitiveDetector(volume, other)
