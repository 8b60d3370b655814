"""Energy deposition: the GFLASH profiles integrated over voxels, then spot fluctuations.

Each readout layer is cut into depth slices of at most ``max_slice_x0``; per slice and shower
the longitudinal share comes from the gamma profile and the transverse shares from the exact
(or quadrature) integrals of the radial profile over the layer's cells, with the axis at the
slice centre (inclined showers walk across the layers). Energy in dead material and beyond the
last layer is lost, as in a real calorimeter.

Spot fluctuations: GFLASH deposits ``N = 93 ln(Z) E^0.876`` spots (E in GeV) per shower. We
draw the spot count of every voxel from a Poisson law with mean ``N x`` (its expected share),
which costs O(voxels) at any energy, and scale the spots so that the shower's contained energy
is kept; the spots thus shape the cell-to-cell fluctuations, while the energy resolution is set
by the sampling readout (:mod:`caloforge.simulate.readout`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from caloforge.errors import InputError
from caloforge.geometry import CartesianGeometry, CylindricalGeometry, LayeredGeometry
from caloforge.simulate.incidence import Incidence
from caloforge.simulate.longitudinal import LongitudinalParams, sample_longitudinal, slice_fractions
from caloforge.simulate.radial import radial_params
from caloforge.simulate.shape import ShapeConfig
from caloforge.simulate.transverse import (
    CartesianIntegrator,
    CylindricalIntegrator,
    LayerIntegrator,
)

__all__ = ["DepositionModel", "Slices", "sparse_poisson", "spot_count"]

#: Depth slices holding less than this share of a shower are skipped for it.
MIN_SLICE_SHARE = 1e-9
#: Cells with a smaller Poisson mean are drawn jointly (see :func:`sparse_poisson`).
SPARSE_CUT = 0.05


def sparse_poisson(lam: np.ndarray, rng: np.random.Generator,
                   cut: float = SPARSE_CUT) -> np.ndarray:
    """Independent Poisson draws for every entry of ``lam``, fast when most means are tiny.

    Entries with mean >= ``cut`` are drawn one by one. For the others, the total count is drawn
    from a Poisson law with their summed mean and spread over them in proportion to their means
    (multinomially): by the splitting property of the Poisson process this has exactly the
    same joint distribution, at O(1) random draws per low entry instead of one Poisson each.

    Example:
        >>> lam = np.full((1000, 100), 0.01); lam[:, 0] = 5.0
        >>> k = sparse_poisson(lam, np.random.default_rng(0))
        >>> round(float(k[:, 1:].mean()), 2), round(float(k[:, 0].mean()), 1)
        (0.01, 5.0)
    """
    flat = lam.ravel()
    out = np.zeros(flat.shape, dtype=np.float64)
    high = flat >= cut
    out[high] = rng.poisson(flat[high])
    low = np.flatnonzero((flat > 0) & ~high)
    if low.size:
        weights = flat[low]
        total = float(weights.sum())
        k = rng.poisson(total)
        if k:
            cdf = np.cumsum(weights)
            picks = np.searchsorted(cdf, rng.uniform(0.0, cdf[-1], k), side="right")
            np.add.at(out, low[np.minimum(picks, low.size - 1)], 1.0)
    return out.reshape(lam.shape)


def spot_count(energy_mev: np.ndarray, z_eff: float) -> np.ndarray:
    """GFLASH number of energy spots, ``93 ln(Z) E^0.876`` with E in GeV.

    Example:
        >>> round(float(spot_count(np.array(1000.0), 74.0)))
        400
    """
    return 93.0 * math.log(z_eff) * np.power(np.asarray(energy_mev) / 1000.0, 0.876)


@dataclass(frozen=True)
class Slices:
    """Depth slices: readout layer, front/back depth (X0 along the normal), centre depth (mm)."""

    layer: np.ndarray
    lo_x0: np.ndarray
    hi_x0: np.ndarray
    mid_mm: np.ndarray


def _slices(geometry: LayeredGeometry, max_slice_x0: float) -> Slices:
    stack = geometry.materials
    assert stack is not None
    layer, lo, hi, mid = [], [], [], []
    depth_mm = 0.0
    for i, ((front, back), mat) in enumerate(
        zip(stack.layer_boundaries_x0(), stack.layers, strict=True)
    ):
        depth_mm += mat.dead_mm
        n_sub = max(1, math.ceil((back - front) / max_slice_x0 - 1e-9))
        edges = np.linspace(front, back, n_sub + 1)
        edges_mm = np.linspace(depth_mm, depth_mm + mat.thickness_mm, n_sub + 1)
        layer += [i] * n_sub
        lo += list(edges[:-1])
        hi += list(edges[1:])
        mid += list(0.5 * (edges_mm[:-1] + edges_mm[1:]))
        depth_mm += mat.thickness_mm
    return Slices(np.array(layer), np.array(lo), np.array(hi), np.array(mid))


class DepositionModel:
    """Expected and fluctuated energy deposits per voxel for one geometry.

    Arguments:
        geometry: A geometry with a material stack.
        max_slice_x0: Longest depth slice (X0) with a constant radial profile.
        shape: Corrections to the parametrisation (default: none, textbook GFLASH).

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> model = DepositionModel(get_geometry("ds1-photons"))
        >>> e = np.array([65536.0]); inc = Incidence.normal(1)
        >>> dep, _ = model.expected(e, np.zeros(1), inc, np.random.default_rng(0))
        >>> dep.shape, bool(0.9 < dep.sum() / e[0] < 1.0)
        ((1, 368), True)
    """

    def __init__(self, geometry: LayeredGeometry, max_slice_x0: float = 1.5,
                 shape: ShapeConfig | None = None) -> None:
        stack = geometry.materials
        if stack is None:
            raise InputError(f"geometry '{geometry.name}' has no material stack",
                             "the simulator needs materials: use a preset geometry")
        self.geometry = geometry
        self.shape = (shape or ShapeConfig()).validate(geometry.n_layers)
        self.z_eff = stack.z_eff
        self.critical_energy = stack.critical_energy
        self.moliere_mm = stack.moliere_radius_mm
        self.slices = _slices(geometry, max_slice_x0)
        self.integrators: list[LayerIntegrator]
        if isinstance(geometry, CartesianGeometry):
            self.integrators = [CartesianIntegrator(layer) for layer in geometry.layers]
        elif isinstance(geometry, CylindricalGeometry):
            self.integrators = [CylindricalIntegrator(layer) for layer in geometry.layers]
        else:  # pragma: no cover - only two geometry kinds exist
            raise InputError(f"unsupported geometry kind {geometry.kind}", "use a preset")

    def expected(self, energies: np.ndarray, t_start: np.ndarray, incidence: Incidence,
                 rng: np.random.Generator,
                 params: LongitudinalParams | None = None) -> tuple[np.ndarray, LongitudinalParams]:
        """Mean deposit per voxel (MeV) given each shower's profile parameters.

        Arguments:
            energies: Shower energies in MeV, ``(N,)``.
            t_start: Depth of the shower start along the axis in X0, ``(N,)``.
            incidence: Angles and impact points.
            rng: Draws the GFLASH parameters when ``params`` is None, and the shape
                fluctuations (widths, wander).
            params: Fixed longitudinal parameters (optional).

        Returns:
            ``(N, n_voxels)`` expected deposits (halo included) and the longitudinal
            parameters used.
        """
        main, halo, params = self.expected_parts(energies, t_start, incidence, rng, params)
        return (main if halo is None else main + halo), params

    def _longitudinal(self, params: LongitudinalParams, t_lo: np.ndarray,
                      t_hi: np.ndarray) -> np.ndarray:
        longi = slice_fractions(params, t_lo, t_hi)
        f = self.shape.tail_fraction
        if f > 0:
            deep = LongitudinalParams(params.t_max * self.shape.tail_depth, params.alpha)
            longi = (1.0 - f) * longi + f * slice_fractions(deep, t_lo, t_hi)
        return longi

    def expected_parts(self, energies: np.ndarray, t_start: np.ndarray, incidence: Incidence,
                       rng: np.random.Generator, params: LongitudinalParams | None = None
                       ) -> tuple[np.ndarray, np.ndarray | None, LongitudinalParams]:
        """Like :meth:`expected`, with the halo's share apart (None without a halo)."""
        energies = np.asarray(energies, dtype=np.float64)
        n = len(energies)
        shape = self.shape
        if params is None:
            params = sample_longitudinal(energies, self.z_eff, self.critical_energy, rng, shape)
        s = self.slices
        cos_inc = incidence.cos_incidence
        slope_x, slope_y = incidence.slopes
        sx, sy = np.cos(incidence.phi), np.sin(incidence.theta)
        t_lo = s.lo_x0[None, :] / cos_inc[:, None] - t_start[:, None]
        t_hi = s.hi_x0[None, :] / cos_inc[:, None] - t_start[:, None]
        longi = self._longitudinal(params, t_lo, t_hi)
        tau = np.maximum(0.5 * (t_lo + t_hi), 0.0) / params.t_max[:, None]
        rc, rt, p = shape.radial(*radial_params(energies[:, None], self.z_eff, tau), tau,
                                 energies[:, None])
        factors = shape.width_factors(n, len(s.layer), rng)
        if factors is not None:
            rc, rt = rc * factors, rt * factors
        walk = shape.wander(0.5 * (s.lo_x0 + s.hi_x0), n, rng)
        keep = 1.0 - shape.halo_fraction
        out = np.zeros((n, self.geometry.n_voxels))
        halo = np.zeros((n, self.geometry.n_voxels)) if shape.halo_fraction > 0 else None
        for j in range(len(s.layer)):
            share = longi[:, j]
            active = share > MIN_SLICE_SHARE
            if not active.any():
                continue
            idx = slice(None) if active.all() else np.flatnonzero(active)
            layer = int(s.layer[j])
            x_axis = incidence.x0[idx] + s.mid_mm[j] * slope_x[idx]
            y_axis = incidence.y0[idx] + s.mid_mm[j] * slope_y[idx]
            integ = self.integrators[layer]
            dipole = walk is not None and isinstance(integ, CylindricalIntegrator)
            if walk is not None and not dipole:
                x_axis, y_axis = x_axis + walk[0][idx, j], y_axis + walk[1][idx, j]
            m = len(x_axis)
            terms = [rc[idx, j], rt[idx, j]]
            if halo is not None:
                terms.append(np.full(m, shape.halo_radius))
            k = len(terms)
            # all terms in one call: scales stacked along the shower axis
            scales = np.concatenate(terms) * self.moliere_mm
            stacked = integ.fractions(scales, np.tile(x_axis, k), np.tile(y_axis, k),
                                      np.tile(sx[idx], k), np.tile(sy[idx], k))
            if dipole:
                assert walk is not None and isinstance(integ, CylindricalIntegrator)
                stacked = integ.shifted(stacked, scales, np.tile(walk[0][idx, j], k),
                                        np.tile(walk[1][idx, j], k))
            pj = p[idx, j, None]
            e_slice = (energies[idx] * share[idx])[:, None]
            cells = (pj * stacked[:m] + (1.0 - pj) * stacked[m:2 * m]) * (e_slice * keep)
            sl = self.geometry.layer_slice(layer)
            rows = slice(None) if isinstance(idx, slice) else idx
            if isinstance(idx, slice):
                out[:, sl] += cells
            else:
                out[idx, sl] += cells
            if halo is not None:
                halo[rows, sl] += stacked[2 * m:] * (e_slice * shape.halo_fraction)
        return out, halo, params

    def fluctuate(self, expected: np.ndarray, energies: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
        """Poisson spot counts per voxel, scaled to keep each shower's contained energy."""
        n_spots = spot_count(energies, self.z_eff) * self.shape.spot_scale
        contained = expected.sum(axis=1)
        lam = expected * (n_spots / np.asarray(energies, dtype=np.float64))[:, None]
        counts = sparse_poisson(lam, rng)
        total = counts.sum(axis=1)
        scale = np.divide(contained, total, out=np.zeros_like(contained), where=total > 0)
        return counts * scale[:, None]

    def deposit(self, energies: np.ndarray, t_start: np.ndarray, incidence: Incidence,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """Fluctuated deposits per voxel (MeV) for a batch of showers, and the halo's expected
        deposits (None without a halo; the readout draws them, see
        :meth:`caloforge.simulate.readout.Readout.halo`)."""
        main, halo, _ = self.expected_parts(energies, t_start, incidence, rng)
        return self.fluctuate(main, energies, rng), halo
