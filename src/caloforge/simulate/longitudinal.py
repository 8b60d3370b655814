"""Longitudinal profile of electromagnetic showers after Grindhammer & Peters (GFLASH).

Reference: G. Grindhammer and S. Peters, "The parameterized simulation of electromagnetic
showers in homogeneous and sampling calorimeters", hep-ex/0001020 (section 3, eqs. 4-9); the
same constants are in Geant4's ``GFlashHomoShowerParameterisation`` and CMSSW's
``EMECALShowerParametrization``.

Per shower, ``(ln T, ln alpha)`` are drawn from a correlated normal with, for ``y = E/E_c``:

=====================  ==========================================
``<ln T>``             ``ln(ln y - 0.812)``
``sigma(ln T)``        ``1 / (-1.4 + 1.26 ln y)``
``<ln alpha>``         ``ln(0.81 + (0.458 + 2.26/Z) ln y)``
``sigma(ln alpha)``    ``1 / (-0.58 + 0.86 ln y)``
``rho``                ``0.705 - 0.023 ln y``
=====================  ==========================================

and the energy profile is a gamma distribution in the depth t (X0 from the shower start),
``dE/dt = E (beta t)^(alpha-1) beta exp(-beta t) / Gamma(alpha)`` with ``beta = (alpha-1)/T``,
so that ``T`` is the depth of the maximum. As in Geant4 we clip ``alpha >= 1.1`` and
``T >= 1``. We use the *homogeneous* formulas with the effective ``Z``, ``E_c`` and ``X0`` of the
sampling stack (mass-weighted, :mod:`caloforge.geometry.materials`); GFLASH's sampling-structure
corrections (terms in ``F_s`` and ``e-hat``) are not applied, so the depth of the maximum is
``exp<ln T>`` in *effective* radiation lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc

from caloforge.simulate.shape import ShapeConfig

__all__ = [
    "LongitudinalParams",
    "fit_shower_maximum",
    "mean_ln_t",
    "mean_params",
    "profile",
    "sample_longitudinal",
    "slice_fractions",
]

ALPHA_MIN = 1.1
T_MIN = 1.0


def _ln_y(energy_mev: np.ndarray, critical_energy: float) -> np.ndarray:
    return np.log(np.maximum(np.asarray(energy_mev, dtype=np.float64) / critical_energy, 3.0))


def mean_ln_t(energy_mev: np.ndarray | float, critical_energy: float) -> np.ndarray:
    """``<ln T> = ln(ln y - 0.812)``, ``y = E / E_c`` (both in MeV).

    Example:
        >>> round(float(np.exp(mean_ln_t(10_000.0, 7.97))), 3)  # 10 GeV in tungsten
        6.323
    """
    return np.log(_ln_y(energy_mev, critical_energy) - 0.812)


@dataclass
class LongitudinalParams:
    """Per-shower gamma-profile parameters: depth of the maximum ``t_max`` (X0) and ``alpha``."""

    t_max: np.ndarray
    alpha: np.ndarray

    @property
    def beta(self) -> np.ndarray:
        """Rate parameter ``(alpha - 1) / T`` in 1/X0."""
        return (self.alpha - 1.0) / self.t_max


def _mean_ln_alpha(ln_y: np.ndarray, z_eff: float) -> np.ndarray:
    return np.log(0.81 + (0.458 + 2.26 / z_eff) * ln_y)


def mean_params(energy_mev: np.ndarray | float, z_eff: float,
                critical_energy: float) -> LongitudinalParams:
    """The profile at the means, ``T = exp<ln T>`` and ``alpha = exp<ln alpha>`` (clipped).

    Example:
        >>> p = mean_params(10_000.0, 74.0, 7.97)
        >>> round(float(p.t_max[0]), 3)
        6.323
    """
    ln_y = np.atleast_1d(_ln_y(energy_mev, critical_energy))
    t_max = np.maximum(np.exp(np.log(ln_y - 0.812)), T_MIN)
    return LongitudinalParams(t_max, np.maximum(np.exp(_mean_ln_alpha(ln_y, z_eff)), ALPHA_MIN))


def sample_longitudinal(energy_mev: np.ndarray, z_eff: float, critical_energy: float,
                        rng: np.random.Generator,
                        shape: ShapeConfig | None = None) -> LongitudinalParams:
    """Draw ``(T, alpha)`` for each shower from the GFLASH correlated log-normal.

    Arguments:
        energy_mev: Shower energies in MeV, ``(N,)``.
        z_eff: Effective atomic number of the medium.
        critical_energy: Effective critical energy in MeV.
        rng: Random generator.
        shape: Shifts of the means and scales of the spreads (default: none).

    Returns:
        The per-shower parameters.

    Example:
        >>> p = sample_longitudinal(np.full(4, 1e4), 72.5, 9.1, np.random.default_rng(0))
        >>> bool((p.alpha >= 1.1).all() and (p.t_max >= 1).all())
        True
    """
    ln_y = _ln_y(energy_mev, critical_energy)
    mu_t = np.log(ln_y - 0.812)
    sig_t = 1.0 / (-1.4 + 1.26 * ln_y)
    mu_a = _mean_ln_alpha(ln_y, z_eff)
    sig_a = 1.0 / (-0.58 + 0.86 * ln_y)
    if shape is not None:
        mu_t = mu_t + shape.ln_t_shift(energy_mev)
        mu_a = mu_a + shape.ln_alpha_shift(energy_mev)
        sig_t, sig_a = sig_t * shape.t_sigma_scale, sig_a * shape.alpha_sigma_scale
    rho = np.clip(0.705 - 0.023 * ln_y, -1.0, 1.0)
    z1 = rng.standard_normal(ln_y.shape)
    z2 = rng.standard_normal(ln_y.shape)
    ln_t = mu_t + sig_t * z1
    ln_a = mu_a + sig_a * (rho * z1 + np.sqrt(1.0 - rho**2) * z2)
    return LongitudinalParams(np.maximum(np.exp(ln_t), T_MIN), np.maximum(np.exp(ln_a), ALPHA_MIN))


def profile(params: LongitudinalParams, t: np.ndarray) -> np.ndarray:
    """Energy density dE/dt / E at depths ``t`` (X0 from the shower start), ``(N, len(t))``."""
    from scipy.stats import gamma

    t = np.asarray(t, dtype=np.float64)[None, :]
    return gamma.pdf(t, a=params.alpha[:, None], scale=1.0 / params.beta[:, None])


def slice_fractions(params: LongitudinalParams, t_lo: np.ndarray, t_hi: np.ndarray) -> np.ndarray:
    """Share of each shower's energy between depths ``t_lo`` and ``t_hi`` (X0 from the start).

    Arguments:
        params: Per-shower parameters, N showers.
        t_lo: Slice fronts, ``(N, S)``; negative depths count as 0 (before the shower starts).
        t_hi: Slice backs, ``(N, S)``.

    Returns:
        ``(N, S)`` fractions in [0, 1].
    """
    a = params.alpha[:, None]
    b = params.beta[:, None]
    hi = gammainc(a, b * np.maximum(t_hi, 0.0))
    lo = gammainc(a, b * np.maximum(t_lo, 0.0))
    return hi - lo


def fit_shower_maximum(depth_x0: np.ndarray, energy: np.ndarray) -> float:
    """Depth of the shower maximum, ``(alpha - 1) / beta``, of a gamma profile fitted (least
    squares, normalised) to a mean longitudinal profile: ``energy`` per layer at layer-centre
    depths ``depth_x0`` (X0).

    Example:
        >>> t = np.arange(0.4, 30, 0.8)
        >>> round(fit_shower_maximum(t, t**3.2 * np.exp(-0.5 * t)), 2)   # (4.2 - 1) / 0.5
        6.4
    """
    from math import gamma

    from scipy.optimize import curve_fit

    def shape(t: np.ndarray, norm: float, a: float, b: float) -> np.ndarray:
        return norm * b * (b * t) ** (a - 1) * np.exp(-b * t) / gamma(a)

    energy = np.asarray(energy, dtype=np.float64)
    (_, a, b), _ = curve_fit(shape, np.asarray(depth_x0, dtype=np.float64),
                             energy / energy.sum(), p0=(1.0, 4.0, 0.5), maxfev=10_000)
    return float((a - 1) / b)
