"""Exact or quadrature integrals of the radial profile over the cells of one layer.

A profile term of scale ``R`` centred on the shower axis has the 2-D density
``g(u, v) = R^2 / (pi (u^2 + v^2 + R^2)^2)`` (its radial CDF is ``r^2 / (r^2 + R^2)``). Over the
quadrant ``[0, a] x [0, b]`` it integrates in closed form to

``Q(a, b) = [a / s_a atan(b / s_a) + b / s_b atan(a / s_b)] / (2 pi)``,
``s_a = sqrt(a^2 + R^2)``, ``s_b = sqrt(b^2 + R^2)``,

which is odd in ``a`` and ``b``, so rectangles follow by inclusion-exclusion: exact cartesian
cell shares. Rings of a cylindrical layer centred on the axis use the radial CDF directly;
off-axis showers (impact offsets, inclination, two-photon signals) in cylindrical layers use a
Gauss-Legendre quadrature in (r, alpha) per voxel.

An inclined axis is handled by stretching the cell coordinates into the plane transverse to the
axis (``u = sx (x - x0)``, ``v = sy (y - y0)``; ``sy = sin(theta)`` for a polar angle theta from
the y axis), exact for tilts in one plane.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from caloforge.geometry import CartesianLayer, CylindricalLayer
from caloforge.simulate.radial import radial_cdf

__all__ = ["CartesianIntegrator", "CylindricalIntegrator", "LayerIntegrator", "quadrant"]

#: Axis offsets below this (mm) count as on the axis of a cylindrical binning.
ON_AXIS_MM = 1e-6


class LayerIntegrator(Protocol):
    """Shares of one profile term per cell of one layer."""

    n_cells: int

    def fractions(self, scale: np.ndarray, x0: np.ndarray, y0: np.ndarray,
                  sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
        """``(M, n_cells)`` shares for M showers with term scales ``scale`` (mm), axis
        positions ``(x0, y0)`` (mm) and stretch factors ``sx``, ``sy``."""
        ...


def quadrant(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Probability of the quadrant ``[0, a] x [0, b]`` (signed) under one profile term.

    Example:
        >>> round(float(quadrant(np.array(1e9), np.array(1e9), np.array(1.0))), 6)
        0.25
    """
    r2 = np.square(scale)
    sa = np.sqrt(np.square(a) + r2)
    sb = np.sqrt(np.square(b) + r2)
    return (a / sa * np.arctan(b / sa) + b / sb * np.arctan(a / sb)) / (2.0 * np.pi)


class CartesianIntegrator:
    """Exact cell shares on a rectangular grid (see module docstring).

    Example:
        >>> integ = CartesianIntegrator(CartesianLayer(41, 41, 5.0, 5.0))
        >>> f = integ.fractions(*(np.array([v]) for v in (1.0, 0.0, 0.0, 1.0, 1.0)))
        >>> round(float(f.sum()), 4), f.shape
        (0.9999, (1, 1681))
    """

    def __init__(self, layer: CartesianLayer) -> None:
        self.x_edges = layer.x_edges
        self.y_edges = layer.y_edges
        self.n_cells = layer.n_voxels

    def fractions(self, scale: np.ndarray, x0: np.ndarray, y0: np.ndarray,
                  sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
        u = (self.x_edges[None, :] - x0[:, None]) * sx[:, None]
        v = (self.y_edges[None, :] - y0[:, None]) * sy[:, None]
        q = quadrant(u[:, :, None], v[:, None, :], scale[:, None, None])
        cells = q[:, 1:, 1:] - q[:, :-1, 1:] - q[:, 1:, :-1] + q[:, :-1, :-1]
        return cells.reshape(len(scale), -1)


class CylindricalIntegrator:
    """Cell shares of an (r, alpha) layer: exact rings on axis, quadrature off axis.

    Arguments:
        layer: The layer's binning.
        nodes: Gauss-Legendre nodes per voxel and direction for off-axis showers.

    Example:
        >>> integ = CylindricalIntegrator(CylindricalLayer(0, (0.0, 1.0, 1e6), 4))
        >>> one = np.array([1.0]); zero = np.array([0.0])
        >>> integ.fractions(one, zero, zero, one, one).round(4).tolist()
        [[0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125]]
    """

    def __init__(self, layer: CylindricalLayer, nodes: int = 6) -> None:
        self.layer = layer
        self.n_cells = layer.n_voxels
        self.r_edges = np.asarray(layer.r_edges)
        self._nodes = nodes
        self._quad: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _quadrature(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._quad is None:
            g, w = np.polynomial.legendre.leggauss(self._nodes)
            r_lo, r_hi = self.r_edges[:-1], self.r_edges[1:]
            a_edges = self.layer.alpha_edges
            a_lo, a_hi = a_edges[:-1], a_edges[1:]
            # voxel order: r fastest, then alpha
            rl, al = np.tile(r_lo, len(a_lo)), np.repeat(a_lo, len(r_lo))
            rh, ah = np.tile(r_hi, len(a_hi)), np.repeat(a_hi, len(r_hi))
            r = 0.5 * (rl + rh)[:, None, None] + 0.5 * (rh - rl)[:, None, None] * g[None, :, None]
            a = 0.5 * (al + ah)[:, None, None] + 0.5 * (ah - al)[:, None, None] * g[None, None, :]
            area = (0.25 * (rh - rl) * (ah - al))[:, None, None]
            weight = area * w[None, :, None] * w[None, None, :] * r
            shape = (self.n_cells, self._nodes**2)
            self._quad = ((r * np.cos(a)).reshape(shape), (r * np.sin(a)).reshape(shape),
                          weight.reshape(shape))
        return self._quad

    def fractions(self, scale: np.ndarray, x0: np.ndarray, y0: np.ndarray,
                  sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
        on_axis = ((np.abs(x0) < ON_AXIS_MM) & (np.abs(y0) < ON_AXIS_MM)
                   & (np.abs(sx - 1.0) < 1e-12) & (np.abs(sy - 1.0) < 1e-12))
        out = np.empty((len(scale), self.n_cells))
        if on_axis.any():
            cdf = radial_cdf(self.r_edges[None, :], scale[on_axis, None])
            rings = np.diff(cdf, axis=1) / self.layer.n_alpha
            out[on_axis] = np.tile(rings, (1, self.layer.n_alpha))
        off = ~on_axis
        if off.any():
            xq, yq, wq = self._quadrature()
            u = (xq[None] - x0[off, None, None]) * sx[off, None, None]
            v = (yq[None] - y0[off, None, None]) * sy[off, None, None]
            r2 = np.square(scale[off])[:, None, None]
            dens = r2 / (np.pi * np.square(u * u + v * v + r2))
            out[off] = (dens * wq[None]).sum(axis=2) * (sx[off] * sy[off])[:, None]
        return out

    def dipole(self, scale: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """First-order change of the cell shares when a centred profile term of scale
        ``scale`` (mm) moves by ``(dx, dy)`` mm: ``-d . grad g`` integrated over each cell, in
        closed form (``(M, n_cells)``; exact to first order in ``d / scale``).

        Example:
            >>> integ = CylindricalIntegrator(CylindricalLayer(0, (0.0, 1.0, 1e6), 4))
            >>> d = integ.dipole(np.array([1.0]), np.array([0.1]), np.array([0.0]))
            >>> round(float(d.sum()), 12), bool(d[0, 4] > 0 > d[0, 0])   # +x gains, -x loses
            (0.0, True)
        """
        r = self.r_edges[None, :]
        s = scale[:, None]
        r_safe = np.minimum(r, 1e12)
        g_r = r_safe * s**2 / (np.pi * np.square(r_safe**2 + s**2))
        primitive = (r_safe / (r_safe**2 + s**2) + np.arctan(r_safe / s) / s) / (2.0 * np.pi)
        h = np.diff(g_r - primitive, axis=1)                       # (M, n_r)
        a = self.layer.alpha_edges
        d_sin, d_cos = np.diff(np.sin(a)), -np.diff(np.cos(a))     # (n_alpha,)
        ang = dx[:, None] * d_sin[None, :] + dy[:, None] * d_cos[None, :]
        # voxel order: r fastest, then alpha
        return -(ang[:, :, None] * h[:, None, :]).reshape(len(scale), -1)

    def shifted(self, base: np.ndarray, scale: np.ndarray, dx: np.ndarray,
                dy: np.ndarray) -> np.ndarray:
        """``base`` shares moved by ``(dx, dy)`` mm through :meth:`dipole`, the dipole of each
        ring scaled down where it would make a cell negative (a term much narrower than the
        shift then moves as far as a ring allows). Each ring keeps its share exactly.

        Example:
            >>> integ = CylindricalIntegrator(CylindricalLayer(0, (0.0, 1.0, 1e6), 4))
            >>> one, z = np.array([0.1]), np.array([0.0])
            >>> base = integ.fractions(one, z, z, one * 10, one * 10)
            >>> moved = integ.shifted(base, one, np.array([5.0]), z)
            >>> bool((moved >= 0).all()), round(float(moved.sum() - base.sum()), 12)
            (True, 0.0)
        """
        n_r = len(self.r_edges) - 1
        shape = (len(scale), self.layer.n_alpha, n_r)
        dip = self.dipole(scale, dx, dy).reshape(shape)
        b = base.reshape(shape)
        need = np.max(-dip / np.maximum(b, 1e-300), axis=1, keepdims=True)   # (M, 1, n_r)
        factor = np.where(need > 1.0, 1.0 / np.maximum(need, 1e-300), 1.0)
        return np.maximum(b + factor * dip, 0.0).reshape(len(scale), -1)

