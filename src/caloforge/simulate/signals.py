"""Signal kinematics: a neutral particle chi -> gamma gamma decaying before the calorimeter.

The chi (mass ``m``, energy ``E``) flies along the calorimeter normal (z) and decays a distance
``L`` before the front face. In its rest frame the decay is isotropic; both photons are boosted
to the lab and followed in straight lines to the face. Their separation there is
``d ~ L * 2 m / E`` for the most likely (symmetric) decays; the smallest opening angle is
``2 arcsin(m / E)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caloforge.errors import InputError
from caloforge.simulate.incidence import Incidence

__all__ = ["DiphotonDecay", "chi_to_gamma_gamma", "invariant_mass", "opening_angle"]


@dataclass
class DiphotonDecay:
    """Two photons per event: lab energies (MeV), momenta (MeV, ``(N, 3)``, z along the
    calorimeter normal) and impact points on the front face (mm)."""

    e1: np.ndarray
    e2: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    impact1: np.ndarray
    impact2: np.ndarray

    @property
    def separation_mm(self) -> np.ndarray:
        """Distance between the two impact points on the face, mm."""
        return np.linalg.norm(self.impact1 - self.impact2, axis=1)

    def incidence(self, which: int) -> Incidence:
        """Angles and impact of photon 1 or 2 in caloforge's convention: direction
        ``(sin theta sin phi, cos theta, sin theta cos phi)`` with y the beam axis."""
        p = self.p1 if which == 1 else self.p2
        impact = self.impact1 if which == 1 else self.impact2
        d = p / np.linalg.norm(p, axis=1, keepdims=True)
        theta = np.arccos(np.clip(d[:, 1], -1.0, 1.0))
        phi = np.arctan2(d[:, 0], d[:, 2])
        return Incidence(theta, phi, impact[:, 0].copy(), impact[:, 1].copy())


def _isotropic(n: int, rng: np.random.Generator) -> np.ndarray:
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def chi_to_gamma_gamma(mass_mev: float, energy_mev: np.ndarray | float, distance_mm: float,
                       rng: np.random.Generator, n: int | None = None) -> DiphotonDecay:
    """Decay chi -> gamma gamma and propagate the photons to the front face.

    Arguments:
        mass_mev: chi mass in MeV.
        energy_mev: chi energy (scalar or per event) in MeV; must exceed the mass.
        distance_mm: Decay distance before the front face in mm.
        rng: Random generator.
        n: Number of events when ``energy_mev`` is a scalar.

    Returns:
        The decays; events with a photon flying away from the calorimeter are redrawn.

    Example:
        >>> dec = chi_to_gamma_gamma(100.0, 50_000.0, 500.0, np.random.default_rng(1), n=1000)
        >>> m = invariant_mass(dec.e1, dec.p1, dec.e2, dec.p2)
        >>> bool(np.allclose(m, 100.0, rtol=1e-6))
        True
    """
    energy = np.broadcast_to(np.asarray(energy_mev, dtype=np.float64), (n or np.size(energy_mev),))
    if mass_mev <= 0 or np.any(energy <= mass_mev):
        raise InputError("chi energy must exceed its mass > 0", "raise --energy or lower --mass")
    if distance_mm < 0:
        raise InputError("decay distance must be >= 0 mm", "fix --distance")
    gamma = energy / mass_mev
    beta = np.sqrt(1.0 - 1.0 / gamma**2)
    dirs = _isotropic(len(energy), rng)
    bad = np.ones(len(energy), dtype=bool)
    e1 = e2 = np.empty(0)
    p1 = p2 = np.empty((0, 3))
    while bad.any():
        dirs[bad] = _isotropic(int(bad.sum()), rng)
        half = 0.5 * mass_mev
        cz = dirs[:, 2]
        e1 = gamma * half * (1.0 + beta * cz)
        e2 = gamma * half * (1.0 - beta * cz)
        p1 = np.column_stack([half * dirs[:, 0], half * dirs[:, 1], gamma * half * (cz + beta)])
        p2 = np.column_stack([-half * dirs[:, 0], -half * dirs[:, 1],
                              gamma * half * (-cz + beta)])
        bad = (p1[:, 2] <= 0) | (p2[:, 2] <= 0)
    impact1 = distance_mm * p1[:, :2] / p1[:, 2:3]
    impact2 = distance_mm * p2[:, :2] / p2[:, 2:3]
    return DiphotonDecay(e1, e2, p1, p2, impact1, impact2)


def invariant_mass(e1: np.ndarray, p1: np.ndarray, e2: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Invariant mass of two massless photons, MeV."""
    e = e1 + e2
    p = p1 + p2
    return np.sqrt(np.maximum(e**2 - np.sum(p**2, axis=1), 0.0))


def opening_angle(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Angle between two momenta, rad."""
    cos = np.sum(p1 * p2, axis=1) / (np.linalg.norm(p1, axis=1) * np.linalg.norm(p2, axis=1))
    return np.arccos(np.clip(cos, -1.0, 1.0))
