"""The geometry's readout applied to Geant4's raw cell deposits (no Geant4 import here).

====================  =====================================================================
``energy_scale``      cell value
====================  =====================================================================
``total``             energy deposited in the whole cell (absorber and active), MeV
``visible``           energy deposited in the active material, MeV
``calibrated``        active deposit divided by the preset's ``sampling_fraction``, MeV;
                      without one, by each layer's MIP sampling fraction (so the mean
                      response to electrons is e/mip, below 1)
====================  =====================================================================

Then the threshold: cells below the largest of the geometry's readout threshold, the preset's
``threshold_mev`` and ``threshold_mip`` times the layer's MIP peak (in output units) read zero.
Electronic noise and gain spread are not simulated by this engine.
"""

from __future__ import annotations

import numpy as np

from caloforge.errors import InputError
from caloforge.geometry import CartesianGeometry, CylindricalGeometry, LayeredGeometry
from caloforge.simulate.config import SimulationConfig

__all__ = ["apply_readout", "cell_index_map", "check_readout", "output_per_visible",
           "thresholds"]


def cell_index_map(geometry: LayeredGeometry) -> tuple[tuple[int, int, int], np.ndarray]:
    """The scorer's index shape ``(layers, nj, nk)`` and, for every flat scorer index
    ``(layer * nj + j) * nk + k``, the voxel it fills (-1 where no voxel exists, e.g. ring 12
    of a 9-ring layer). ``j`` is the radial bin or x cell, ``k`` the alpha bin or y cell.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> shape, lookup = cell_index_map(get_geometry("ds2"))
        >>> shape, int((lookup >= 0).sum())
        ((45, 9, 16), 6480)
    """
    if isinstance(geometry, CylindricalGeometry):
        dims = [(layer.n_r, layer.n_alpha) for layer in geometry.layers]
        inner_fastest = False           # voxel order in a layer: r fastest, then alpha
    elif isinstance(geometry, CartesianGeometry):
        dims = [(layer.n_x, layer.n_y) for layer in geometry.layers]
        inner_fastest = True            # voxel order in a layer: y fastest
    else:
        raise TypeError(f"no Geant4 detector for {type(geometry).__name__}")
    nj, nk = max(d[0] for d in dims), max(d[1] for d in dims)
    lookup = np.full(geometry.n_layers * nj * nk, -1, dtype=np.int64)
    for layer, (a, b) in enumerate(dims):
        start = geometry.layer_slice(layer).start
        j, k = np.meshgrid(np.arange(a), np.arange(b), indexing="ij")
        voxel = start + (j * b + k if inner_fastest else k * a + j)
        lookup[(layer * nj + j) * nk + k] = voxel
    return (geometry.n_layers, nj, nk), lookup


def check_readout(cfg: SimulationConfig, geometry: LayeredGeometry) -> bool:
    """Check that Geant4 can read ``geometry`` as ``cfg`` says; return True for a
    total-deposit readout.

    Raises:
        InputError: no material stack or an unsupported geometry.
    """
    if not isinstance(geometry, CylindricalGeometry | CartesianGeometry):
        raise InputError(f"the Geant4 engine cannot build geometry {geometry.name!r} "
                         f"({type(geometry).__name__})", "use a cylindrical or cartesian one")
    if geometry.materials is None:
        raise InputError(f"geometry {geometry.name!r} has no material stack",
                         "use a preset, or give the geometry a MaterialStack")
    return cfg.readout.energy_scale == "total"


def output_per_visible(cfg: SimulationConfig, geometry: LayeredGeometry) -> np.ndarray:
    """Per layer: output MeV per MeV deposited in the active material (for ``total``, per MeV
    of a MIP's active deposit)."""
    assert geometry.materials is not None
    r = cfg.readout
    mip = np.array([m.sampling_fraction_mip for m in geometry.materials.layers])
    if r.energy_scale == "visible":
        return np.ones(len(mip))
    if r.energy_scale == "total" or r.sampling_fraction is None:
        return 1.0 / mip
    return np.full(len(mip), 1.0 / r.sampling_fraction)


def thresholds(cfg: SimulationConfig, geometry: LayeredGeometry) -> np.ndarray:
    """Per-layer cell threshold in output units (MeV)."""
    assert geometry.materials is not None
    r = cfg.readout
    mpv = np.array([m.mip_mpv_mev() for m in geometry.materials.layers])
    floor = max(geometry.readout_threshold_mev, r.threshold_mev)
    return np.maximum(floor, r.threshold_mip * mpv * output_per_visible(cfg, geometry))


def apply_readout(cells: np.ndarray, cfg: SimulationConfig,
                  geometry: LayeredGeometry) -> np.ndarray:
    """Cell values (float32, MeV in the configured scale) from raw deposits ``(n, voxels)``.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> from caloforge.simulate.config import load_config
        >>> cfg = load_config("ds2", {"n": 1})
        >>> geo = get_geometry("ds2")
        >>> raw = np.zeros((1, geo.n_voxels)); raw[0, :2] = [0.033, 1e-4]
        >>> apply_readout(raw, cfg, geo)[0, :3].round(4).tolist()   # 1 MeV, below threshold, 0
        [1.0, 0.0, 0.0]
    """
    values = np.asarray(cells, dtype=np.float64)
    if cfg.readout.energy_scale == "calibrated":
        values = values * output_per_visible(cfg, geometry)[geometry.voxel_layer()][None, :]
    cut = thresholds(cfg, geometry)[geometry.voxel_layer()]
    values[values < cut[None, :]] = 0.0
    return values.astype(np.float32)
