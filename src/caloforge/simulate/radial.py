"""Radial profile of electromagnetic showers after Grindhammer & Peters (GFLASH).

Reference: hep-ex/0001020, section 4 (eqs. 11-16); constants as in Geant4's
``GFlashHomoShowerParameterisation``. In Moliere units, at relative depth ``tau = t / T``:

``f(r) = p 2 r Rc^2 / (r^2 + Rc^2)^2 + (1 - p) 2 r Rt^2 / (r^2 + Rt^2)^2``

=========  ===================================================================================
``Rc``     ``0.0251 + 0.00319 ln E + (0.1162 - 0.000381 Z) tau``     (core)
``Rt``     ``k1 (exp(k3 (tau - k2)) + exp(k4 (tau - k2)))``          (tail)
           ``k1 = 0.659 - 0.00309 Z, k2 = 0.645, k3 = -2.59, k4 = 0.3585 + 0.0421 ln E``
``p``      ``p1 exp(x - e^x), x = (p2 - tau) / p3``                   (core share)
           ``p1 = 2.632 - 0.00094 Z, p2 = 0.401 + 0.00187 Z, p3 = 1.313 - 0.0686 ln E``
=========  ===================================================================================

with ``E`` in GeV and ``Z`` the (effective) atomic number. Each term is normalised: its
cumulative distribution is ``r^2 / (r^2 + R^2)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["containment", "radial_cdf", "radial_params"]

K2, K3 = 0.645, -2.59


def radial_params(energy_mev: np.ndarray, z_eff: float,
                  tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Rc, Rt, p)`` in Moliere units at relative depth ``tau`` (broadcast with energy).

    Example:
        >>> rc, rt, p = radial_params(np.array(10_000.0), 74.0, np.array(1.0))
        >>> round(float(rc), 4), round(float(rt), 3), round(float(p), 3)
        (0.1205, 0.677, 0.879)
    """
    ln_e = np.log(np.asarray(energy_mev, dtype=np.float64) / 1000.0)
    tau = np.maximum(np.asarray(tau, dtype=np.float64), 0.0)
    rc = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * z_eff) * tau
    k1 = 0.659 - 0.00309 * z_eff
    k4 = 0.3585 + 0.0421 * ln_e
    rt = k1 * (np.exp(K3 * (tau - K2)) + np.exp(k4 * (tau - K2)))
    p1, p2, p3 = 2.632 - 0.00094 * z_eff, 0.401 + 0.00187 * z_eff, 1.313 - 0.0686 * ln_e
    x = (p2 - tau) / p3
    p = np.clip(p1 * np.exp(x - np.exp(x)), 0.0, 1.0)
    return np.maximum(rc, 1e-4), rt, p


def radial_cdf(r: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Share of one profile term within radius ``r``: ``r^2 / (r^2 + R^2)``."""
    r2 = np.square(r)
    return r2 / (r2 + np.square(scale))


def containment(energy_mev: float, z_eff: float, radius_rm: float,
                t_max: np.ndarray, weights: np.ndarray, t: np.ndarray) -> float:
    """Share of a shower's energy within ``radius_rm`` Moliere radii of its axis.

    Arguments:
        energy_mev: Shower energy in MeV.
        z_eff: Effective atomic number.
        radius_rm: Cylinder radius in Moliere radii.
        t_max: Depth of the maximum of each shower (X0), ``(N,)``.
        weights: Longitudinal energy shares of each shower on the depth grid, ``(N, len(t))``.
        t: Depth grid in X0 from the shower start.

    Returns:
        The energy-weighted containment averaged over the showers.
    """
    tau = t[None, :] / t_max[:, None]
    rc, rt, p = radial_params(np.asarray(energy_mev), z_eff, tau)
    inside = p * radial_cdf(radius_rm, rc) + (1 - p) * radial_cdf(radius_rm, rt)
    return float((inside * weights).sum() / weights.sum())
