"""Corrections to the GFLASH parametrisation that make the fast simulator match Geant4.

The defaults are the textbook parametrisation (every correction off); ``caloforge tune`` fits
them to Geant4 showers (:mod:`caloforge.simulate.tune`) and the presets ship fitted values.

* **Longitudinal**: shifts of ``<ln T>`` and ``<ln alpha>`` (constant and per ``ln(E/10 GeV)``),
  scales of their spreads, and a deep tail: a share ``tail_fraction`` of the energy follows the
  same gamma profile stretched by ``tail_depth``.
* **Radial**: scales of the core and tail radii and of the core share; ``early_spread`` widens
  both terms before the maximum (``+ early_spread (1 - tau)`` Moliere units for ``tau < 1``).
* **Fluctuations**: each shower's radii scale by ``exp(width_sigma z)`` and each depth slice's by
  ``exp(width_sigma_slice z')``; the axis wanders, a Gaussian random walk with
  ``wander_mm`` per sqrt(X0) of depth; ``spot_scale`` multiplies the GFLASH spot count.
* **Halo**: a share ``halo_fraction`` of the energy goes into small deposits (mean
  ``halo_spot_mev`` in output units, exponentially distributed) with a wide radial profile of
  scale ``halo_radius`` Moliere radii; they bypass the MIP readout, as the soft electrons that
  stop in the active layers do.
* **Response**: ``layer_gain`` multiplies each layer's output (the e/mip ratio of each layer's
  sampling, as Geant4 sees it), ``(E / 10 GeV)^response_slope`` the whole shower's (losses in
  dead material, below the threshold and the e/mip ratio change with energy; with
  ``x = ln(E / 10 GeV)`` the factor is ``exp(response_slope x + response_curvature x^2)``);
  ``stochastic_term`` and
  ``constant_term``, when set, replace the readout block's (the textbook) resolution terms, and
  ``noise_term`` (GeV) adds a per-shower spread ``noise_term / E`` (fluctuating losses in dead
  material matter most at low energy).
* **Energy dependence of the radii**: they scale by ``(E / 10 GeV)^radial_slope``.

Example:
    >>> s = ShapeConfig(t_shift=0.05)
    >>> round(float(s.ln_t_shift(np.array([100_000.0]))[0]), 3)
    0.05
    >>> ShapeConfig().is_textbook()
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from caloforge.errors import InputError

__all__ = ["E_REF_MEV", "ShapeConfig"]

#: Energy at which the constant shifts apply; slopes are per ln(E / E_REF_MEV).
E_REF_MEV = 10_000.0
#: Fields that must stay >= 0 and the ones that must stay > 0.
_NON_NEGATIVE = ("tail_fraction", "early_spread", "width_sigma", "width_sigma_slice",
                 "wander_mm", "halo_fraction", "noise_term")
_POSITIVE = ("t_sigma_scale", "alpha_sigma_scale", "tail_depth", "core_scale", "tail_scale",
             "core_share", "spot_scale", "halo_radius", "halo_spot_mev")


@dataclass
class ShapeConfig:
    """Corrections to the parametrisation (see the module docstring); defaults: none."""

    t_shift: float = 0.0
    t_slope: float = 0.0
    alpha_shift: float = 0.0
    alpha_slope: float = 0.0
    t_sigma_scale: float = 1.0
    alpha_sigma_scale: float = 1.0
    tail_fraction: float = 0.0
    tail_depth: float = 2.0
    core_scale: float = 1.0
    tail_scale: float = 1.0
    core_share: float = 1.0
    early_spread: float = 0.0
    width_sigma: float = 0.0
    width_sigma_slice: float = 0.0
    wander_mm: float = 0.0
    spot_scale: float = 1.0
    halo_fraction: float = 0.0
    halo_radius: float = 2.0
    halo_spot_mev: float = 0.3
    layer_gain: list[float] = field(default_factory=list)
    stochastic_term: float | None = None
    constant_term: float | None = None
    noise_term: float = 0.0
    response_slope: float = 0.0
    response_curvature: float = 0.0
    radial_slope: float = 0.0

    def validate(self, n_layers: int | None = None) -> ShapeConfig:
        """Check the ranges; raise :class:`InputError` naming the field."""
        for name in _NON_NEGATIVE:
            if not getattr(self, name) >= 0:
                raise InputError(f"shape.{name} must be >= 0", "fix the shape block")
        for name in _POSITIVE:
            if not getattr(self, name) > 0:
                raise InputError(f"shape.{name} must be > 0", "fix the shape block")
        for name in ("stochastic_term", "constant_term"):
            value = getattr(self, name)
            if value is not None and not value >= (1e-6 if name == "stochastic_term" else 0):
                raise InputError(f"shape.{name} must be {'> 0' if name[0] == 's' else '>= 0'}",
                                 "fix the shape block")
        if not self.tail_fraction + self.halo_fraction < 1:
            raise InputError("shape.tail_fraction + shape.halo_fraction must be < 1",
                             "fix the shape block")
        if self.layer_gain and ((n_layers is not None and len(self.layer_gain) != n_layers)
                                or min(self.layer_gain) < 0):
            raise InputError(f"shape.layer_gain needs {n_layers} values >= 0",
                             "give one gain per layer, or none")
        return self

    def is_textbook(self) -> bool:
        """True when every correction is off."""
        default = ShapeConfig()
        return all(getattr(self, f.name) == getattr(default, f.name) for f in fields(self))

    @staticmethod
    def _x(energy_mev: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(energy_mev, dtype=np.float64) / E_REF_MEV)

    def ln_t_shift(self, energy_mev: np.ndarray) -> np.ndarray:
        """Added to ``<ln T>``."""
        return self.t_shift + self.t_slope * self._x(energy_mev)

    def ln_alpha_shift(self, energy_mev: np.ndarray) -> np.ndarray:
        """Added to ``<ln alpha>``."""
        return self.alpha_shift + self.alpha_slope * self._x(energy_mev)

    def radial(self, rc: np.ndarray, rt: np.ndarray, p: np.ndarray, tau: np.ndarray,
               energy_mev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
        """Corrected ``(Rc, Rt, p)`` (Moliere units) at relative depths ``tau`` (energies
        broadcast against ``tau``)."""
        early = self.early_spread * np.clip(1.0 - tau, 0.0, 1.0)
        scale = 1.0
        if self.radial_slope and energy_mev is not None:
            scale = np.exp(self.radial_slope * self._x(energy_mev))
        return ((rc * self.core_scale + early) * scale, (rt * self.tail_scale + early) * scale,
                np.clip(p * self.core_share, 0.0, 1.0))

    def shower_gain(self, energy_mev: np.ndarray, constant_term: float,
                    rng: np.random.Generator) -> np.ndarray | None:
        """Per-shower output multiplier: the response's energy dependence times ``N(1, s)``,
        ``s^2 = constant_term^2 + (noise_term / E[GeV])^2`` (None: all 1)."""
        tilt = self.response_slope or self.response_curvature
        if not (constant_term > 0 or self.noise_term > 0 or tilt):
            return None
        e = np.asarray(energy_mev, dtype=np.float64)
        spread = np.hypot(constant_term, self.noise_term / (e / 1000.0))
        gain = np.maximum(1.0 + spread * rng.standard_normal(e.shape), 0.0)
        if tilt:
            x = self._x(e)
            gain = gain * np.exp(self.response_slope * x + self.response_curvature * x * x)
        return gain

    def width_factors(self, n: int, n_slices: int, rng: np.random.Generator) -> np.ndarray | None:
        """Per shower and slice multipliers of the radii, ``(n, n_slices)`` (None: all 1)."""
        if self.width_sigma == 0 and self.width_sigma_slice == 0:
            return None
        ln = self.width_sigma * rng.standard_normal((n, 1))
        if self.width_sigma_slice:
            ln = ln + self.width_sigma_slice * rng.standard_normal((n, n_slices))
        # mean-preserving: E[exp(s z)] = exp(s^2 / 2)
        var = self.width_sigma**2 + self.width_sigma_slice**2
        return np.broadcast_to(np.exp(ln - 0.5 * var), (n, n_slices))

    def wander(self, depth_x0: np.ndarray, n: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray] | None:
        """Axis offsets (mm) at the slice depths ``depth_x0`` (increasing, X0): a Gaussian
        random walk in x and y, ``(n, n_slices)`` each (None: no wander)."""
        if self.wander_mm == 0:
            return None
        step = np.sqrt(np.diff(np.concatenate([[0.0], np.maximum(depth_x0, 0.0)])))
        walk = rng.standard_normal((2, n, len(depth_x0))) * (self.wander_mm * step)
        dx, dy = np.cumsum(walk, axis=2)
        return dx, dy

    def gains(self, n_layers: int) -> np.ndarray:
        """Output multiplier per layer."""
        return np.asarray(self.layer_gain, dtype=np.float64) if self.layer_gain \
            else np.ones(n_layers)
