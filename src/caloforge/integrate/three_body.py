"""A 2 -> 3 toy with two narrow resonances and a forward peak, as a multi-channel integrand.

``a b -> 1 2 3`` with massless final-state particles at a fixed centre-of-mass energy
``sqrt(s)`` (no parton densities). The squared matrix element, in units of ``e^6``::

    |M|^2 = P(t) [b + A_1 BW_1(s_12) + A_2 BW_2(s_23)],
    BW_k(x) = (M_k G_k)^2 / ((x - M_k^2)^2 + (M_k G_k)^2),     (peak value 1)
    P(t) = (m_t^2 / (m_t^2 - t))^2,   t = (p_a - p_3)^2 = -(s - s_12)(1 - cos theta_3) / 2,

a continuum ``b`` and two Breit-Wigner resonances in *different* invariant masses (``s_12``
and ``s_23``, Gamma/M = 1 % and 0.5 %), all under a t-channel-like forward peak of particle 3
whose width in ``1 - cos theta_3`` (about ``2 m_t^2 / (s - s_12)``) depends on ``s_12``.
Cross section ``sigma = 1/(2s) int |M|^2 dPhi_3`` with the massless three-body phase space
``dPhi_3 = ds_12 ds_23 dcos theta_3 dphi_3 dchi / (32 s (2 pi)^5)`` (``phi_3``, ``chi``: the
azimuths of particle 3 and of the (1, 2) plane about it, on which ``|M|^2`` does not depend),
in pb. Five dimensions on ``[0, 1]^5``.

Three channels, one per term of ``|M|^2`` (single-diagram enhancement, prior weights
``alpha_k`` proportional to the terms): ``continuum`` (``s_12`` flat, ``s_23`` flat over the
Dalitz triangle), ``R1`` (``s_12`` by a Breit-Wigner map, ``s_23`` flat below ``s - s_12``) and
``R2`` (``s_23`` by a Breit-Wigner map, ``s_12`` flat below ``s - s_23``). Every channel maps
``u = 1 - cos theta_3`` with density proportional to ``1 / (m_t^2 + a u)`` (``a = (s -
s_12)/2``), the usual massless t-channel map; the propagator squared leaves a residual peak for
the integrator. Single-channel calls use the continuum map, on which the ``R2`` resonance is a
narrow curved ridge ``x_1 = M_2^2 / (s - s_12)``: no product of one-dimensional maps follows it.
The parameters (:class:`ThreeBodyParameters`) were fixed before any integrator was tuned on
this process (``docs/integration.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from scipy import integrate as sp_integrate

__all__ = ["ThreeBody", "ThreeBodyParameters"]

GEV2_TO_PB = 0.3893794e9


@dataclass(frozen=True)
class ThreeBodyParameters:
    """Physics inputs (GeV): ``sqrt_s``; resonances ``m1, w1`` (in ``s_12``) and ``m2, w2``
    (in ``s_23``) with strengths ``a1, a2`` against the continuum ``b``; ``m_t`` the mass in
    the t-channel propagator; ``alpha`` the coupling (``e^2 = 4 pi alpha``)."""

    sqrt_s: float = 1000.0
    m1: float = 250.0
    w1: float = 2.5
    a1: float = 1000.0
    m2: float = 400.0
    w2: float = 2.0
    a2: float = 400.0
    b: float = 1.0
    m_t: float = 50.0
    alpha: float = 1.0 / 128.0


class ThreeBody:
    """``a b -> 1 2 3`` with resonances in ``s_12`` and ``s_23`` and a forward peak.

    Example:
        >>> proc = ThreeBody()
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(4000, 5, dtype=torch.float64, generator=g)
        >>> bool((proc(x) >= 0).all()), proc.channel_names, proc.dims
        (True, ['continuum', 'R1', 'R2'], 5)
        >>> value, point, alpha = proc.channel(x, 2)
        >>> bool(torch.allclose(alpha.sum(1), torch.ones(4000, dtype=torch.float64)))
        True
    """

    name = "3body-2bw"
    unit = "pb"
    dims = 5

    def __init__(self, params: ThreeBodyParameters | None = None) -> None:
        self.p = params or ThreeBodyParameters()
        self.s = self.p.sqrt_s**2
        self.channel_names = ["continuum", "R1", "R2"]
        coupling = (4 * math.pi * self.p.alpha) ** 3
        azimuths = (2 * math.pi) ** 2  # dphi_3 dchi = (2 pi)^2 dx_3 dx_4
        self.norm = (coupling / (2 * self.s) / (32 * self.s * (2 * math.pi) ** 5) * azimuths
                     * GEV2_TO_PB)

    def exact(self) -> float:
        """The cross section by one-dimensional quadrature (relative accuracy ~1e-9).

        The ``cos theta_3`` integral of ``P(t)`` is ``2 m_t^2 / (m_t^2 + s - s_12)``; the
        continuum and ``R1`` terms then need ``s_23`` over ``[0, s - s_12]`` (a factor ``s -
        s_12``), the ``R2`` term ``s_12`` over ``[0, s - s_23]`` (a logarithm), leaving one
        integral each for ``scipy.integrate.quad``.

        Example:
            >>> round(ThreeBody().exact(), 4)
            0.5527
        """
        p, s, mt2 = self.p, self.s, self.p.m_t**2

        def quad(fn: Callable[[float], float], peak: float) -> float:
            return sp_integrate.quad(fn, 0.0, s, points=[peak], limit=500,
                                     epsabs=0.0, epsrel=1e-10)[0]

        def cont_r1(s12: float) -> float:
            bw = (p.m1 * p.w1) ** 2 / ((s12 - p.m1**2) ** 2 + (p.m1 * p.w1) ** 2)
            return (p.b + p.a1 * bw) * (s - s12) * 2 * mt2 / (mt2 + s - s12)

        def r2(s23: float) -> float:
            bw = (p.m2 * p.w2) ** 2 / ((s23 - p.m2**2) ** 2 + (p.m2 * p.w2) ** 2)
            return p.a2 * bw * 2 * mt2 * math.log((mt2 + s) / (mt2 + s23))

        return self.norm * (quad(cont_r1, p.m1**2) + quad(r2, p.m2**2))

    # -- physics -------------------------------------------------------------------------
    def _bw(self, x: torch.Tensor, m: float, w: float) -> torch.Tensor:
        return (m * w) ** 2 / ((x - m * m) ** 2 + (m * w) ** 2)

    def terms(self, s12: torch.Tensor, s23: torch.Tensor) -> torch.Tensor:
        """The three terms of the bracket ``(b, A_1 BW_1, A_2 BW_2)``, shape ``(n, 3)``."""
        p = self.p
        return torch.stack([torch.full_like(s12, p.b), p.a1 * self._bw(s12, p.m1, p.w1),
                            p.a2 * self._bw(s23, p.m2, p.w2)], 1)

    def propagator(self, s12: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``P(t)`` at ``u = 1 - cos theta_3``."""
        mt2 = self.p.m_t**2
        return (mt2 / (mt2 + 0.5 * (self.s - s12) * u)) ** 2

    def matrix_element(self, s12: torch.Tensor, s23: torch.Tensor, u: torch.Tensor
                       ) -> torch.Tensor:
        """``|M|^2 / e^6`` (zero outside the Dalitz triangle)."""
        inside = (s12 >= 0) & (s23 >= 0) & (s12 + s23 <= self.s)
        value = self.propagator(s12, u) * self.terms(s12, s23).sum(1)
        return torch.where(inside, value, 0.0)

    # -- maps ----------------------------------------------------------------------------
    def _bw_map(self, r: torch.Tensor, m: float, w: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` in ``[0, s]`` with a Breit-Wigner density, and ``dx/dr``."""
        lo, hi = math.atan(-m / w), math.atan((self.s - m * m) / (m * w))
        x = m * m + m * w * torch.tan(lo + (hi - lo) * r)
        jac = ((x - m * m) ** 2 + (m * w) ** 2) * (hi - lo) / (m * w)
        return x.clamp(0.0, self.s), jac

    def _t_map(self, r: torch.Tensor, s12: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``u = 1 - cos theta_3`` in ``[0, 2]`` with density ``~ 1/(m_t^2 + a u)``, and
        ``du/dr``."""
        ratio = (0.5 * (self.s - s12)).clamp_min(1e-9) / self.p.m_t**2  # a / m_t^2
        log_span = torch.log1p(2 * ratio)
        u = torch.expm1(r * log_span) / ratio
        return u.clamp(0.0, 2.0), (1.0 / ratio + u) * log_span

    def channel(self, x: torch.Tensor, c: int | torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Integrand (times the map's Jacobian) through channel(s) ``c``, the point in
        channel-independent unit coordinates ``(s_12/s, s_23/s, t-map variable, x_3, x_4)``
        (see :meth:`physical`) and the prior weights."""
        x = x.double()
        c = torch.as_tensor(c, device=x.device).expand(len(x))
        p = self.p
        s12 = self.s * x[:, 0]
        s23 = (self.s - s12) * x[:, 1]
        jac = self.s * (self.s - s12)
        r1, r2 = c == 1, c == 2
        if bool(r1.any()):
            s, j = self._bw_map(x[r1, 0], p.m1, p.w1)
            s12[r1], s23[r1], jac[r1] = s, (self.s - s) * x[r1, 1], j * (self.s - s)
        if bool(r2.any()):
            s, j = self._bw_map(x[r2, 0], p.m2, p.w2)
            s23[r2], s12[r2], jac[r2] = s, (self.s - s) * x[r2, 1], j * (self.s - s)
        u, jac_u = self._t_map(x[:, 2], s12)
        value = self.norm * self.matrix_element(s12, s23, u) * jac * jac_u
        point = torch.stack([s12 / self.s, s23 / self.s, x[:, 2], x[:, 3], x[:, 4]], 1)
        terms = self.terms(s12, s23)
        return value, point, terms / terms.sum(1, keepdim=True)

    def physical(self, point: torch.Tensor) -> dict[str, torch.Tensor]:
        """Observables of points returned by :meth:`channel`: ``m_12``, ``m_23`` (GeV),
        ``cos_theta_3``."""
        s12, s23 = point[:, 0] * self.s, point[:, 1] * self.s
        u, _ = self._t_map(point[:, 2], s12)
        return {"m_12": s12.clamp_min(0).sqrt(), "m_23": s23.clamp_min(0).sqrt(),
                "cos_theta_3": 1 - u}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel(x, 0)[0]
