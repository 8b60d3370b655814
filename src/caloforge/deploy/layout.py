"""Input and output layouts of exported samplers (Geant4 Par04 and key4hep DDML conventions).

An exported sampler takes one float32 row per shower, ``[noise (latent), E_inc (MeV), theta
(rad), phi (rad)]`` (Par04's "latent noise + conditions" input; the angle columns are there
for every model and ignored by models that are not conditioned on them), and returns the
shower's voxel energies (MeV) as one flat row:

* ``par04``: ``(R, phi, Z)`` C-order, the order of Geant4's Par04 example (radial index
  slowest, layer fastest), for cylindrical geometries whose layers share one ``(R, phi)``
  grid (ds2, ds3);
* ``calochallenge``: the CaloChallenge file order (layer slowest, then alpha, radius
  fastest), for every geometry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from caloforge.errors import InputError
from caloforge.geometry.base import Geometry
from caloforge.geometry.cylindrical import CylindricalGeometry

__all__ = ["CONDITION_COLUMNS", "LAYOUTS", "IOLayout", "from_par04", "par04_grid",
           "par04_order", "resolve_layout", "to_par04"]

#: Condition columns after the noise, in order, with their units.
CONDITION_COLUMNS = ("energy_mev", "theta_rad", "phi_rad")
LAYOUTS = ("auto", "par04", "calochallenge")
Layout = Literal["par04", "calochallenge"]


def par04_grid(geometry: Geometry) -> tuple[int, int, int] | None:
    """``(n_R, n_phi, n_Z)`` when every layer of a cylindrical geometry has the same grid,
    else None.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> par04_grid(get_geometry("ds2")), par04_grid(get_geometry("ds1-photons"))
        ((9, 16, 45), None)
    """
    if not isinstance(geometry, CylindricalGeometry):
        return None
    grids = {(layer.n_r, layer.n_alpha) for layer in geometry.layers}
    if len(grids) != 1:
        return None
    n_r, n_alpha = grids.pop()
    return n_r, n_alpha, geometry.n_layers


def par04_order(grid: tuple[int, int, int]) -> np.ndarray:
    """Index into CaloChallenge-ordered voxels that gives ``(R, phi, Z)`` C-order:
    ``par04 = cc[..., par04_order(grid)]``.

    Example:
        >>> par04_order((2, 1, 3)).tolist()  # 2 radii, 1 alpha bin, 3 layers
        [0, 2, 4, 1, 3, 5]
    """
    n_r, n_phi, n_z = grid
    return np.arange(n_r * n_phi * n_z).reshape(n_z, n_phi, n_r).transpose(2, 1, 0).ravel()


def to_par04(voxels: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
    """CaloChallenge-ordered voxels ``(N, V)`` -> Par04 ``(N, V)``."""
    return voxels[..., par04_order(grid)]


def from_par04(voxels: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
    """Par04-ordered voxels ``(N, V)`` -> CaloChallenge order (the inverse of :func:`to_par04`).

    Example:
        >>> x = np.arange(12.0)[None]
        >>> bool((from_par04(to_par04(x, (2, 3, 2)), (2, 3, 2)) == x).all())
        True
    """
    return voxels[..., np.argsort(par04_order(grid))]


def resolve_layout(layout: str, geometry: Geometry) -> Layout:
    """``auto`` -> ``par04`` where the geometry has one ``(R, phi)`` grid, else
    ``calochallenge``; ``par04`` on any other geometry is refused with one line.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> resolve_layout("auto", get_geometry("ds1-photons"))
        'calochallenge'
    """
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout '{layout}'", f"choose one of {', '.join(LAYOUTS)}")
    grid = par04_grid(geometry)
    if layout == "par04" and grid is None:
        raise InputError(f"geometry '{geometry.name}' has no single (R, phi, Z) grid (its layers "
                         "differ, or it is cartesian), so there is no Par04 order",
                         "use --layout calochallenge")
    if layout == "auto":
        return "par04" if grid is not None else "calochallenge"
    return "par04" if layout == "par04" else "calochallenge"


@dataclass
class IOLayout:
    """What an exported graph takes and returns (stored in its metadata file).

    Attributes:
        latent: Noise features per shower (standard normal), the first input columns.
        conditions: The condition columns after the noise, with units.
        n_voxels: Output columns.
        layout: ``par04`` or ``calochallenge`` (see the module docstring).
        grid: ``[n_R, n_phi, n_Z]`` for ``par04``.
        uses: Which conditions the model reads (the others are ignored).
    """

    latent: int
    n_voxels: int
    layout: Layout
    grid: list[int] | None = None
    uses: list[str] = field(default_factory=lambda: ["energy_mev"])
    conditions: list[str] = field(default_factory=lambda: list(CONDITION_COLUMNS))

    @property
    def n_inputs(self) -> int:
        """Input columns: noise then conditions."""
        return self.latent + len(self.conditions)

    def rows(self, noise: np.ndarray, energy: np.ndarray, theta: np.ndarray | None = None,
             phi: np.ndarray | None = None) -> np.ndarray:
        """float32 input rows ``(N, n_inputs)`` (missing angles as 0).

        Example:
            >>> lay = IOLayout(latent=2, n_voxels=3, layout="calochallenge")
            >>> lay.rows(np.zeros((1, 2)), np.array([1e3])).tolist()
            [[0.0, 0.0, 1000.0, 0.0, 0.0]]
        """
        n = len(energy)
        zeros = np.zeros(n)
        cols = [np.asarray(c, dtype=np.float64).reshape(n)
                for c in (energy, zeros if theta is None else theta,
                          zeros if phi is None else phi)]
        return np.concatenate([np.asarray(noise, np.float32).reshape(n, self.latent),
                               np.stack(cols, 1).astype(np.float32)], 1)

    def to_calochallenge(self, voxels: np.ndarray) -> np.ndarray:
        """The graph's output in CaloChallenge order."""
        if self.layout == "par04" and self.grid is not None:
            return from_par04(voxels, (self.grid[0], self.grid[1], self.grid[2]))
        return voxels

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``n_inputs``)."""
        return {**asdict(self), "n_inputs": self.n_inputs}
