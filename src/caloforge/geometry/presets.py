"""Built-in geometries with their material stacks and readout thresholds.

=============  ===========  ======  ==============================================================
preset         kind         voxels  source
=============  ===========  ======  ==============================================================
ds1-photons    cylindrical  368     CaloChallenge 2022 ds1 photons binning (ATLAS barrel, eta~0.2)
ds1-pions      cylindrical  533     CaloChallenge 2022 ds1 pions binning
ds2            cylindrical  6480    CaloChallenge 2022 ds2 binning (45 layers, Si-W)
ds3            cylindrical  40500   CaloChallenge 2022 ds3 binning (45 layers, Si-W)
ild-photons    cartesian    54000   ILD-like Si-W ECAL, 30 layers of 30 x 60 cells of 5.08 mm
calogan        cartesian    504     CaloGAN (arXiv:1705.02355): 3x96, 12x12, 12x6 cells, Pb/LAr
=============  ===========  ======  ==============================================================

The binning XML files are copies of the public CaloChallenge files (CaloChallenge/homepage
repository, ``code/binning_dataset_*.xml``), shipped as package data.

Material stacks (see :mod:`caloforge.geometry.materials` for the constants):

* ds2/ds3: 90 x (1.4 mm W + 0.3 mm Si), two samplings per readout layer, 45 readout layers; the
  voxel energies of the public files are divided by the sampling fraction and cut at 15.15 keV
  (0.5 keV in Si / 0.033), CaloChallenge README.
* ILD-like (ILD DBD / CALICE Si-W): 20 x (2.1 mm W + 0.5 mm Si) then 10 x (4.2 mm W + 0.5 mm Si).
* CaloGAN: Pb/LAr layers of 90, 347 and 43 mm (CaloGAN dataset description: (eta, phi, z) =
  (5, 160, 90), (40, 40, 347), (80, 40, 43) mm), built of 2 mm Pb + 4 mm LAr cells (the
  CaloGAN papers, arXiv:1705.02355 and 1712.10321), 15, 58 and 7 cells deep (whole cells:
  90, 348 and 42 mm, 480 mm in all, the CaloGAN cube's side). The CaloGAN
  files record the total energy deposited in each cell (lead and argon), not a sampled
  signal: the ``calogan`` simulation preset uses ``energy_scale: total``.
* ds1 (a *planar* approximation of the ATLAS barrel at eta ~ 0.2, ATLAS LAr TDR / JINST 3
  S08003; Geant4 showers in it are not comparable with the official CaloChallenge ds1
  files): presampler (11 mm LAr behind
  150 mm Al standing in for the ~1.7 X0 of inner detector, solenoid and cryostat), accordion
  Pb/LAr (1.53 mm Pb + 4.2 mm LAr gap) strips 15 cells (~4.5 X0), middle 53 cells (~16 X0), back
  7 cells (~2 X0); then the first Tile layer (14 mm Fe + 3 mm scintillator, 18 periods, ~1.5
  lambda) behind 50 mm Al of cryostat; ds1-pions adds Tile BC (50 periods) and D (22 periods).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

from caloforge.errors import InputError, suggest
from caloforge.geometry.base import LayeredGeometry
from caloforge.geometry.cartesian import CartesianGeometry, CartesianLayer
from caloforge.geometry.cylindrical import CylindricalGeometry
from caloforge.geometry.materials import (
    AL,
    FE,
    LAR,
    PB,
    POLYSTYRENE,
    SI,
    LayerMaterial,
    MaterialStack,
    W,
)

__all__ = ["PRESETS", "geometry_for_voxels", "get_geometry", "list_geometries", "xml_path"]

#: Evaluation/readout threshold of the ds2/ds3 files: 0.5 keV in Si over sampling fraction 0.033.
DS23_THRESHOLD_MEV = 0.5e-3 / 0.033
#: CaloGAN's sampling cell (arXiv:1712.10321, section 2): 2 mm lead + 4 mm liquid argon.
CALOGAN_PB_MM, CALOGAN_LAR_MM = 2.0, 4.0
#: Evaluation threshold used for the ds1-like (ATLAS) geometries in MeV.
DS1_THRESHOLD_MEV = 1.0


def xml_path(filename: str) -> Path:
    """Path of a packaged CaloChallenge binning XML file."""
    return Path(str(files("caloforge.geometry") / "xml" / filename))


def _atlas_layers(with_tile_bc_d: bool) -> tuple[LayerMaterial, ...]:
    accordion = (PB, 1.53, LAR, 4.2)
    tile = (FE, 14.0, POLYSTYRENE, 3.0)
    layers = [
        LayerMaterial(LAR, 0.0, LAR, 11.0, 1, dead=AL, dead_mm=150.0),
        LayerMaterial(*accordion, n_samplings=15),
        LayerMaterial(*accordion, n_samplings=53),
        LayerMaterial(*accordion, n_samplings=7),
        LayerMaterial(*tile, n_samplings=18, dead=AL, dead_mm=50.0),
    ]
    if with_tile_bc_d:
        layers += [LayerMaterial(*tile, n_samplings=50), LayerMaterial(*tile, n_samplings=22)]
    return tuple(layers)


def _ds1(particle: str) -> LayeredGeometry:
    pions = particle == "pions"
    return CylindricalGeometry.from_xml(
        xml_path(f"binning_dataset_1_{particle}.xml"),
        name=f"ds1-{particle}",
        materials=MaterialStack(_atlas_layers(pions), "ATLAS barrel at eta~0.2 (approximate)",
                                em_layers=4),
        readout_threshold_mev=DS1_THRESHOLD_MEV,
        description=f"CaloChallenge ds1 {particle} binning on a planar ATLAS-like Pb/LAr + Tile "
                    "stack (an approximation)",
    )


def _ds23(number: int) -> LayeredGeometry:
    stack = MaterialStack((LayerMaterial(W, 1.4, SI, 0.3, n_samplings=2),) * 45,
                          "CaloChallenge ds2/ds3: 90 x (1.4 mm W + 0.3 mm Si)")
    return CylindricalGeometry.from_xml(
        xml_path(f"binning_dataset_{number}.xml"),
        name=f"ds{number}",
        materials=stack,
        readout_threshold_mev=DS23_THRESHOLD_MEV,
        description=f"CaloChallenge ds{number} electrons (Si-W, 45 layers)",
    )


def _ild() -> LayeredGeometry:
    stack = MaterialStack(
        (LayerMaterial(W, 2.1, SI, 0.5),) * 20 + (LayerMaterial(W, 4.2, SI, 0.5),) * 10,
        "ILD-like Si-W ECAL: 20 x (2.1 mm W + 0.5 mm Si) + 10 x (4.2 mm W + 0.5 mm Si)",
    )
    half_mip = 0.5 * stack.layers[0].mip_mpv_mev()
    return CartesianGeometry(
        "ild-photons",
        [CartesianLayer(30, 60, 5.08, 5.08)] * 30,
        materials=stack,
        readout_threshold_mev=half_mip,
        description="ILD-like Si-W ECAL, 30 layers x 30x60 cells, 5.08 mm",
    )


def _calogan() -> LayeredGeometry:
    depths_mm = (90.0, 347.0, 43.0)
    period_mm = CALOGAN_PB_MM + CALOGAN_LAR_MM
    stack = MaterialStack(
        tuple(LayerMaterial(PB, CALOGAN_PB_MM, LAR, CALOGAN_LAR_MM, round(d / period_mm))
              for d in depths_mm),
        "CaloGAN Pb/LAr: layers of 90, 347 and 43 mm in cells of 2 mm Pb + 4 mm LAr",
    )
    return CartesianGeometry(
        "calogan",
        [CartesianLayer(3, 96, 160.0, 5.0), CartesianLayer(12, 12, 40.0, 40.0),
         CartesianLayer(12, 6, 40.0, 80.0)],
        materials=stack,
        readout_threshold_mev=0.0,
        description="CaloGAN 3-layer Pb/LAr (3x96, 12x12, 12x6), total-deposit cells",
    )


#: Preset name -> builder.
PRESETS: dict[str, Callable[[], LayeredGeometry]] = {
    "ds1-photons": lambda: _ds1("photons"),
    "ds1-pions": lambda: _ds1("pions"),
    "ds2": lambda: _ds23(2),
    "ds3": lambda: _ds23(3),
    "ild-photons": _ild,
    "calogan": _calogan,
}


@cache
def _preset(name: str) -> LayeredGeometry:
    return PRESETS[name]()


def list_geometries() -> list[str]:
    """Names of the built-in geometries.

    Example:
        >>> list_geometries()
        ['ds1-photons', 'ds1-pions', 'ds2', 'ds3', 'ild-photons', 'calogan']
    """
    return list(PRESETS)


def get_geometry(name: str | Path) -> LayeredGeometry:
    """A preset by name, or a cylindrical geometry from a binning XML file.

    Arguments:
        name: A preset name (see :func:`list_geometries`) or a path to a CaloChallenge XML file.

    Returns:
        The geometry (presets are cached and shared).

    Example:
        >>> get_geometry("ds2").n_voxels
        6480
    """
    key = str(name)
    if key in PRESETS:
        return _preset(key)
    if key.endswith(".xml"):
        return CylindricalGeometry.from_xml(key)
    raise InputError(f"unknown geometry {key!r}", suggest(key, list(PRESETS),
                                                          " or a binning .xml file"))


def geometry_for_voxels(n_voxels: int) -> LayeredGeometry | None:
    """The preset with ``n_voxels`` voxels, or None if none or several match.

    Example:
        >>> geometry_for_voxels(533).name
        'ds1-pions'
    """
    matches = [name for name in PRESETS if _preset(name).n_voxels == n_voxels]
    return _preset(matches[0]) if len(matches) == 1 else None
