"""Materials and sampling stacks along the depth of a calorimeter.

Every geometry carries a :class:`MaterialStack`: one :class:`LayerMaterial` per readout layer
(absorber + active material, repeated ``n_samplings`` times, optionally behind dead material).
The simulator and the evaluation read the same numbers from here.

Sources of the constants (all from the PDG "Atomic and nuclear properties of materials" tables,
pdg.lbl.gov/AtomicNuclearProperties, retrieved for the 2024 edition):

======================  ======  ======  =======  ======  =======  =======  =====
material                Z       A       rho      X0      E_c(e-)  dE/dx    I
                                        g/cm^3   g/cm^2  MeV      MeV cm2/g  eV
======================  ======  ======  =======  ======  =======  =======  =====
W  (tungsten)           74      183.84  19.30    6.76    7.97     1.145    727
Pb (lead)               82      207.2   11.35    6.37    7.43     1.122    823
Fe (iron)               26      55.845  7.874    13.84   21.68    1.451    286
Al (aluminium)          13      26.98   2.699    24.01   42.70    1.615    166
Si (silicon)            14      28.086  2.329    21.82   40.19    1.664    173
LAr (liquid argon)      18      39.948  1.396    19.55   32.84    1.519    188
polystyrene scint.      5.61    11.16   1.060    43.79   93.11    1.936    68.7
======================  ======  ======  =======  ======  =======  =======  =====

Derived quantities:

* Moliere radius ``R_M = E_s X0 / E_c`` with ``E_s = 21.2052 MeV`` (PDG eq. 34.37); for W this
  gives 0.932 cm, the tabulated value.
* A sampling stack is a mixture. Following the PDG (section 34.4.2) its effective radiation
  length is mass-weighted **in g/cm^2**, ``1/X0 = sum_j w_j / X0_j`` with ``w_j`` the mass
  fraction of component ``j`` (not its length fraction), and its Moliere radius likewise
  ``1/R_M = (1/E_s) sum_j w_j E_cj / X0_j``. Lengths follow by dividing by the mean density.
  The effective critical energy is ``E_c = E_s X0 / R_M`` and the effective ``Z = sum_j w_j Z_j``
  (the mass-weighted mean used by GFLASH, hep-ex/0001020, section 4).
* The MIP sampling fraction is the share of a minimum-ionising particle's energy loss that
  lands in the active material, ``f_mip = sum_active rho t dE/dx / sum_all rho t dE/dx``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "AL",
    "E_S_MEV",
    "FE",
    "LAR",
    "MATERIALS",
    "PB",
    "POLYSTYRENE",
    "SI",
    "LayerMaterial",
    "Material",
    "MaterialStack",
    "W",
]

#: Scale energy of multiple scattering, ``m_e c^2 sqrt(4 pi / alpha)`` in MeV (PDG eq. 34.37).
E_S_MEV = 21.2052
#: ``K = 4 pi N_A r_e^2 m_e c^2`` in MeV mol^-1 cm^2 (PDG table 34.1).
_K_MEV = 0.307075
_ME_MEV = 0.51099895


@dataclass(frozen=True)
class Material:
    """A homogeneous material with the constants the shower physics needs.

    Arguments:
        name: Short name.
        z: Atomic number (effective for compounds).
        a: Atomic mass in g/mol (effective for compounds).
        density: Density in g/cm^3.
        x0: Radiation length in g/cm^2.
        critical_energy: Critical energy for electrons in MeV (Rossi definition, PDG).
        dedx_min: Minimum ionisation loss in MeV cm^2/g.
        excitation_ev: Mean excitation energy I in eV.

    Example:
        >>> round(W.x0_mm, 3), round(W.moliere_radius_mm, 2)
        (3.503, 9.32)
    """

    name: str
    z: float
    a: float
    density: float
    x0: float
    critical_energy: float
    dedx_min: float
    excitation_ev: float

    @property
    def x0_mm(self) -> float:
        """Radiation length in mm."""
        return 10.0 * self.x0 / self.density

    @property
    def moliere_radius(self) -> float:
        """Moliere radius in g/cm^2, ``E_s X0 / E_c``."""
        return E_S_MEV * self.x0 / self.critical_energy

    @property
    def moliere_radius_mm(self) -> float:
        """Moliere radius in mm."""
        return 10.0 * self.moliere_radius / self.density


W = Material("W", 74, 183.84, 19.30, 6.76, 7.97, 1.145, 727.0)
PB = Material("Pb", 82, 207.2, 11.35, 6.37, 7.43, 1.122, 823.0)
FE = Material("Fe", 26, 55.845, 7.874, 13.84, 21.68, 1.451, 286.0)
AL = Material("Al", 13, 26.98, 2.699, 24.01, 42.70, 1.615, 166.0)
SI = Material("Si", 14, 28.0855, 2.329, 21.82, 40.19, 1.664, 173.0)
LAR = Material("LAr", 18, 39.948, 1.396, 19.55, 32.84, 1.519, 188.0)
POLYSTYRENE = Material("polystyrene", 5.61, 11.16, 1.060, 43.79, 93.11, 1.936, 68.7)

#: All known materials by name.
MATERIALS: dict[str, Material] = {
    m.name: m for m in (W, PB, FE, AL, SI, LAR, POLYSTYRENE)
}


def _mixture(parts: list[tuple[Material, float]]) -> tuple[float, float, float, float, float]:
    """Mass-weighted properties of ``(material, thickness_mm)`` parts.

    Returns:
        (total mass thickness g/cm^2, total length mm, X0 g/cm^2, R_M g/cm^2, Z_eff).
    """
    masses = [m.density * t / 10.0 for m, t in parts if t > 0]
    used = [m for m, t in parts if t > 0]
    total = sum(masses)
    length = sum(t for _, t in parts if t > 0)
    inv_x0 = sum(w / m.x0 for m, w in zip(used, masses, strict=True)) / total
    inv_rm = sum(w * m.critical_energy / m.x0 for m, w in zip(used, masses, strict=True))
    inv_rm /= total * E_S_MEV
    z_eff = sum(w * m.z for m, w in zip(used, masses, strict=True)) / total
    return total, length, 1.0 / inv_x0, 1.0 / inv_rm, z_eff


@dataclass(frozen=True)
class LayerMaterial:
    """The material of one readout layer: ``n_samplings`` x (absorber + active).

    Arguments:
        absorber: Passive material.
        absorber_mm: Absorber thickness of one sampling cell in mm.
        active: Active (read-out) material.
        active_mm: Active thickness of one sampling cell in mm.
        n_samplings: How many absorber + active cells the readout layer sums.
        dead: Optional dead material in front of the layer (cryostat, inner detector).
        dead_mm: Thickness of the dead material in mm.

    Example:
        >>> layer = LayerMaterial(W, 1.4, SI, 0.3, 2)
        >>> round(layer.thickness_mm, 2), round(layer.thickness_x0, 3)
        (3.4, 0.806)
    """

    absorber: Material
    absorber_mm: float
    active: Material
    active_mm: float
    n_samplings: int = 1
    dead: Material | None = None
    dead_mm: float = 0.0

    def _parts(self, with_dead: bool = False) -> list[tuple[Material, float]]:
        parts = [(self.absorber, self.absorber_mm), (self.active, self.active_mm)]
        if with_dead and self.dead is not None:
            parts.append((self.dead, self.dead_mm / self.n_samplings))
        return parts

    @property
    def thickness_mm(self) -> float:
        """Sensitive-stack thickness in mm (without dead material)."""
        return self.n_samplings * (self.absorber_mm + self.active_mm)

    @property
    def dead_x0(self) -> float:
        """Dead material in front of the layer, in radiation lengths."""
        return 0.0 if self.dead is None else self.dead_mm / self.dead.x0_mm

    @property
    def thickness_x0(self) -> float:
        """Sensitive-stack thickness in radiation lengths (without dead material)."""
        return self.n_samplings * sum(t / m.x0_mm for m, t in self._parts())

    @property
    def sampling_fraction_mip(self) -> float:
        """Share of a MIP's energy loss deposited in the active material."""
        act = self.active.density * self.active_mm * self.active.dedx_min
        pas = self.absorber.density * self.absorber_mm * self.absorber.dedx_min
        return act / (act + pas)

    @property
    def mip_mean_mev(self) -> float:
        """Mean MIP energy loss in one active cell, ``rho t (dE/dx)_min``, in MeV."""
        return self.active.density * self.active_mm / 10.0 * self.active.dedx_min

    @property
    def period_x0(self) -> float:
        """Thickness of one sampling cell (absorber + active) in radiation lengths."""
        return sum(t / m.x0_mm for m, t in self._parts())

    def landau_width_mev(self, beta_gamma: float = 3.5) -> float:
        """Landau width ``xi = (K/2) (Z/A) rho x / beta^2`` of one active cell in MeV."""
        m = self.active
        beta2 = beta_gamma**2 / (1.0 + beta_gamma**2)
        return 0.5 * _K_MEV * (m.z / m.a) * m.density * self.active_mm / 10.0 / beta2

    def mip_mpv_mev(self, beta_gamma: float = 3.5) -> float:
        """Most probable MIP energy loss in one active cell in MeV.

        Landau-Vavilov-Bichsel formula (PDG eq. 34.12) without density correction, which is
        below 1 % for thin silicon or argon at minimum ionisation (``beta gamma ~ 3.5``).

        Arguments:
            beta_gamma: Momentum over mass of the crossing particle.

        Returns:
            The most probable energy loss in MeV.

        Example:
            >>> round(1000 * LayerMaterial(W, 1.4, SI, 0.3).mip_mpv_mev(), 1)  # keV in 300 um Si
            80.8
        """
        beta2 = beta_gamma**2 / (1.0 + beta_gamma**2)
        xi = self.landau_width_mev(beta_gamma)
        i_mev = self.active.excitation_ev * 1e-6
        return xi * (
            math.log(2 * _ME_MEV * beta_gamma**2 / i_mev) + math.log(xi / i_mev) + 0.2 - beta2
        )


@dataclass(frozen=True)
class MaterialStack:
    """Material of all readout layers of a geometry, front to back.

    Arguments:
        layers: One :class:`LayerMaterial` per readout layer.
        description: Where the numbers come from.
        em_layers: How many front layers form the electromagnetic section whose mixture defines
            the effective X0, Moliere radius, E_c and Z (default: all). A hadronic section behind
            (ATLAS Tile) would otherwise dominate the mass.

    Example:
        >>> stack = MaterialStack((LayerMaterial(W, 1.4, SI, 0.3, 2),) * 45)
        >>> round(stack.x0_mm, 3), round(stack.moliere_radius_mm, 2), round(stack.z_eff, 1)
        (4.219, 10.88, 72.5)
    """

    layers: tuple[LayerMaterial, ...]
    description: str = ""
    em_layers: int | None = None

    def _all_parts(self) -> list[tuple[Material, float]]:
        parts: list[tuple[Material, float]] = []
        for layer in self.layers[: self.em_layers]:
            parts += [(m, t * layer.n_samplings) for m, t in layer._parts()]
        return parts

    def _effective(self) -> tuple[float, float, float, float, float]:
        return _mixture(self._all_parts())

    @property
    def density(self) -> float:
        """Mean density of the sensitive stack in g/cm^3."""
        mass, length, *_ = self._effective()
        return 10.0 * mass / length

    @property
    def x0(self) -> float:
        """Effective radiation length in g/cm^2 (mass-weighted)."""
        return self._effective()[2]

    @property
    def x0_mm(self) -> float:
        """Effective radiation length in mm."""
        return 10.0 * self.x0 / self.density

    @property
    def moliere_radius(self) -> float:
        """Effective Moliere radius in g/cm^2 (mass-weighted)."""
        return self._effective()[3]

    @property
    def moliere_radius_mm(self) -> float:
        """Effective Moliere radius in mm."""
        return 10.0 * self.moliere_radius / self.density

    @property
    def critical_energy(self) -> float:
        """Effective critical energy in MeV, ``E_s X0 / R_M``."""
        return E_S_MEV * self.x0 / self.moliere_radius

    @property
    def z_eff(self) -> float:
        """Mass-weighted mean atomic number."""
        return self._effective()[4]

    @property
    def thickness_x0(self) -> float:
        """Total depth of the readout layers in radiation lengths (dead material excluded)."""
        return sum(layer.thickness_x0 for layer in self.layers)

    def layer_centres_mm(self) -> list[float]:
        """Depth of the middle of each readout layer in mm from the front face (dead material
        in front of a layer counted).

        Example:
            >>> MaterialStack((LayerMaterial(W, 2.0, SI, 1.0),) * 2).layer_centres_mm()
            [1.5, 4.5]
        """
        centres, depth = [], 0.0
        for layer in self.layers:
            depth += layer.dead_mm
            centres.append(depth + 0.5 * layer.thickness_mm)
            depth += layer.thickness_mm
        return centres

    def layer_boundaries_x0(self) -> list[tuple[float, float]]:
        """Front and back depth of each readout layer in radiation lengths from the front face.

        Dead material in front of a layer is counted in the depth.

        Example:
            >>> MaterialStack((LayerMaterial(W, W.x0_mm, SI, 0.0),) * 2).layer_boundaries_x0()
            [(0.0, 1.0), (1.0, 2.0)]
        """
        bounds = []
        depth = 0.0
        for layer in self.layers:
            depth += layer.dead_x0
            front = depth
            depth += layer.thickness_x0
            bounds.append((round(front, 12), round(depth, 12)))
        return bounds
