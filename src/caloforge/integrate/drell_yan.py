"""Drell-Yan toy: p p -> gamma/Z/Z' -> l+ l- at leading order, as a multi-channel integrand.

Partonic cross section with full interference, from helicity amplitudes (massless fermions)::

    dsigma/dcos = pi alpha^2 / (2 s) / N_c / 4 * sum_ij |A_ij|^2 (1 +- cos)^2,
    A_ij = Q_q Q_l + sum_V g_i^q g_j^l s / (s - M_V^2 + i M_V Gamma_V),

(+ for equal quark and lepton helicities), with ``g_L = (T3 - Q sw2) / (sw cw)``,
``g_R = -Q sw2 / (sw cw)``; the Z' has the Z's couplings. Inputs on ``[0, 1]^4``:
``(r_s, r_y, r_cos, r_phi)`` -> ``s_hat`` (by the channel's mapping), rapidity, ``cos theta``,
``phi``; the cut is ``sqrt(s_hat) > 15 GeV``. Cross sections in pb.

Parton densities: a *toy* parametrisation without Q^2 evolution, shipped here (no LHAPDF):
valence ``u_v = 2 x^-0.5 (1-x)^3 / B(0.5, 4)``, ``d_v = x^-0.5 (1-x)^4 / B(0.5, 5)`` (number sum
rules exact) and a sea ``x q_s = A x^-0.2 (1-x)^7`` per flavour, weights 1 (u, d), 0.5 (s),
0.2 (c), 0.1 (b), with ``A`` set so that quarks carry 55 % of the momentum. Figures made with it
are a benchmark of the integrators, not LHC predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from scipy.special import beta as beta_fn

__all__ = ["DrellYan", "DrellYanParameters", "ToyPDF"]

GEV2_TO_PB = 0.3893794e9


class ToyPDF:
    """Toy proton parton densities ``f(x)`` (number densities, no scale dependence).

    Example:
        >>> pdf = ToyPDF()
        >>> round(pdf.momentum_fraction(), 3)
        0.55
    """

    #: Sea weight per flavour (u, d, s, c, b); the antiquark sea equals the quark sea.
    SEA: ClassVar[dict[str, float]] = {"u": 1.0, "d": 1.0, "s": 0.5, "c": 0.2, "b": 0.1}

    def __init__(self, quark_momentum: float = 0.55) -> None:
        self.nu = 2.0 / beta_fn(0.5, 4.0)
        self.nd = 1.0 / beta_fn(0.5, 5.0)
        valence = (2.0 * beta_fn(1.5, 4.0) / beta_fn(0.5, 4.0)
                   + beta_fn(1.5, 5.0) / beta_fn(0.5, 5.0))
        sea_shape = beta_fn(0.8, 8.0)  # int x^-0.2 (1-x)^7 dx
        self.sea_norm = (quark_momentum - valence) / (2.0 * sum(self.SEA.values()) * sea_shape)

    def sea(self, x: torch.Tensor, flavour: str) -> torch.Tensor:
        """Sea density of one quark (= antiquark) flavour."""
        return self.SEA[flavour] * self.sea_norm * x ** (-1.2) * (1 - x) ** 7

    def quark(self, x: torch.Tensor, flavour: str) -> torch.Tensor:
        """Quark density (valence + sea)."""
        out = self.sea(x, flavour)
        if flavour == "u":
            out = out + self.nu * x ** (-0.5) * (1 - x) ** 3
        elif flavour == "d":
            out = out + self.nd * x ** (-0.5) * (1 - x) ** 4
        return out

    def momentum_fraction(self) -> float:
        """Momentum carried by all quarks and antiquarks (numerical check)."""
        x = torch.linspace(1e-7, 1 - 1e-7, 2_000_001, dtype=torch.float64)
        total = sum(self.quark(x, f) + self.sea(x, f) for f in self.SEA)
        return float(torch.trapezoid(x * total, x))


@dataclass
class DrellYanParameters:
    """Physics inputs (GeV). ``alpha`` is alpha(M_Z); ``sw2`` the weak mixing angle;
    ``continuum_share``: the share of a resonance channel's map spent on the ``1/s`` continuum
    (0: a pure Breit-Wigner map; see :meth:`DrellYan._resonance_density`)."""

    sqrt_s: float = 13_000.0
    m_z: float = 91.188
    w_z: float = 2.441
    m_zp: float = 400.0
    w_zp: float = 0.5
    alpha: float = 1.0 / 128.0
    sw2: float = 0.2312
    m_ll_min: float = 15.0
    continuum_share: float = 0.0


# charge, weak isospin of the up/down-type quarks and of the charged lepton
_QUARKS = {"u": (2 / 3, 0.5), "c": (2 / 3, 0.5), "d": (-1 / 3, -0.5), "s": (-1 / 3, -0.5),
           "b": (-1 / 3, -0.5)}
_LEPTON = (-1.0, -0.5)


class DrellYan:
    """``p p -> gamma/Z/Z' -> l+ l-`` on ``[0, 1]^4`` with photon, Z and Z' channels.

    Single-channel calls (``process(x)``) use the photon (1/s) mapping.

    Example:
        >>> dy = DrellYan()
        >>> x = torch.rand(1000, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> bool((dy(x) >= 0).all()), dy.channel_names
        (True, ['photon', 'Z', "Z'"])
    """

    unit = "pb"
    dims = 4

    def __init__(self, params: DrellYanParameters | None = None, z_prime: bool = True) -> None:
        self.p = params or DrellYanParameters()
        self.pdf = ToyPDF()
        self.z_prime = z_prime
        self.name = "dy-zprime" if z_prime else "dy"
        self.s = self.p.sqrt_s**2
        self.s_min = self.p.m_ll_min**2
        self.channel_names = ["photon", "Z", "Z'"] if z_prime else ["photon", "Z"]
        cw = math.sqrt(1 - self.p.sw2) * math.sqrt(self.p.sw2)
        self.couplings = {name: ((t3 - q * self.p.sw2) / cw, -q * self.p.sw2 / cw)
                          for name, (q, t3) in {**_QUARKS, "l": _LEPTON}.items()}
        self.resonances = [(self.p.m_z, self.p.w_z)] + (
            [(self.p.m_zp, self.p.w_zp)] if z_prime else [])

    def exact(self) -> None:
        """No closed form: compare with a high-statistics VEGAS value."""
        return None

    # -- partonic ------------------------------------------------------------------------
    def _amplitudes(self, s_hat: torch.Tensor, q: str, parts: str = "all"
                    ) -> dict[tuple[int, int], torch.Tensor]:
        """Reduced helicity amplitudes A_ij (i: quark L/R, j: lepton L/R)."""
        charge = _QUARKS[q][0]
        out = {}
        for i in (0, 1):
            for j in (0, 1):
                amp = torch.zeros_like(s_hat, dtype=torch.complex128)
                if parts in ("all", "photon"):
                    amp = amp + charge * _LEPTON[0]
                for k, (m, w) in enumerate(self.resonances):
                    if parts in ("all", f"V{k}"):
                        prop = s_hat / torch.complex(s_hat - m * m, torch.full_like(s_hat, m * w))
                        amp = amp + self.couplings[q][i] * self.couplings["l"][j] * prop
                out[(i, j)] = amp
        return out

    def partonic(self, s_hat: torch.Tensor, cos: torch.Tensor, q: str, parts: str = "all"
                 ) -> torch.Tensor:
        """``dsigma/dcos theta`` of ``q qbar -> l+ l-`` in GeV^-2 (theta: lepton vs quark)."""
        amps = self._amplitudes(s_hat, q, parts)
        same = amps[(0, 0)].abs() ** 2 + amps[(1, 1)].abs() ** 2
        flip = amps[(0, 1)].abs() ** 2 + amps[(1, 0)].abs() ** 2
        pref = math.pi * self.p.alpha**2 / (2 * s_hat) / 3.0 / 4.0
        return pref * (same * (1 + cos) ** 2 + flip * (1 - cos) ** 2)

    def hadronic(self, s_hat: torch.Tensor, y: torch.Tensor, cos: torch.Tensor,
                 parts: str = "all") -> torch.Tensor:
        """``d sigma / (d s_hat dy dcos)`` in pb GeV^-2 (lab-frame rapidity ``y``)."""
        tau = s_hat / self.s
        x1, x2 = tau.sqrt() * y.exp(), tau.sqrt() * (-y).exp()
        ok = (x1 < 1) & (x2 < 1)
        x1c, x2c = x1.clamp(max=1 - 1e-12), x2.clamp(max=1 - 1e-12)
        total = torch.zeros_like(s_hat)
        for q in _QUARKS:
            qq = self.pdf.quark(x1c, q) * self.pdf.sea(x2c, q)  # quark from beam 1
            qbq = self.pdf.sea(x1c, q) * self.pdf.quark(x2c, q)  # antiquark from beam 1
            total = total + qq * self.partonic(s_hat, cos, q, parts)
            total = total + qbq * self.partonic(s_hat, -cos, q, parts)
        # dx1 dx2 = dtau dy / ... : d tau = d s_hat / s ; x1 x2 = tau
        return torch.where(ok, total / self.s * GEV2_TO_PB, 0.0)

    # -- channels ------------------------------------------------------------------------
    def _map_s(self, r: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``s_hat`` and ``d s_hat / d r`` for channel index ``c`` (0 photon, k resonance)."""
        log_ratio = math.log(self.s / self.s_min)
        s_out = self.s_min * torch.exp(r * log_ratio)
        jac = s_out * log_ratio
        for k, (m, w) in enumerate(self.resonances, start=1):
            mask = c == k
            if not bool(mask.any()):
                continue
            if self.p.continuum_share == 0.0:  # pure Breit-Wigner: inverted in closed form
                a, b = self._bw_range(m, w)
                s_k = m * m + m * w * torch.tan(a + (b - a) * r[mask])
            else:
                s_k = self._invert_cdf(r[mask], k)
            s_out[mask] = s_k
            jac[mask] = 1.0 / self._resonance_density(s_k, k)
        return s_out.clamp(self.s_min, self.s), jac

    def _cdf_s(self, s_hat: torch.Tensor, k: int) -> torch.Tensor:
        """Distribution function of resonance channel ``k``'s map in ``s_hat``."""
        m, w = self.resonances[k - 1]
        a, b = self._bw_range(m, w)
        bw = (torch.atan((s_hat - m * m) / (m * w)) - a) / (b - a)
        log = torch.log(s_hat / self.s_min) / math.log(self.s / self.s_min)
        lam = self.p.continuum_share
        return lam * log + (1 - lam) * bw

    def _invert_cdf(self, r: torch.Tensor, k: int) -> torch.Tensor:
        """``s_hat`` with ``_cdf_s(s_hat, k) = r``, by bisection in ``log s_hat`` (the map is
        monotonic; 60 halvings reach float64 precision)."""
        lo = torch.full_like(r, math.log(self.s_min))
        hi = torch.full_like(r, math.log(self.s))
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = self._cdf_s(mid.exp(), k) < r
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        return (0.5 * (lo + hi)).exp()

    def _bw_range(self, m: float, w: float) -> tuple[float, float]:
        return (math.atan((self.s_min - m * m) / (m * w)),
                math.atan((self.s - m * m) / (m * w)))

    def _resonance_density(self, s_hat: torch.Tensor, k: int) -> torch.Tensor:
        """``d r / d s_hat`` of resonance channel ``k``'s map: a Breit-Wigner (share
        ``1 - continuum_share``) mixed with the photon channel's density, flat in ``log s_hat``,
        so that its far tails (down to ``m_ll`` = 15 GeV, where a pure Breit-Wigner map squeezes
        them into ``r < 10^-3``) stay wide enough for the sampler to resolve."""
        m, w = self.resonances[k - 1]
        a, b = self._bw_range(m, w)
        bw = (m * w) / (((s_hat - m * m) ** 2 + (m * w) ** 2) * (b - a))
        log = 1.0 / (s_hat * math.log(self.s / self.s_min))
        lam = self.p.continuum_share
        return lam * log + (1 - lam) * bw

    def prior(self, s_hat: torch.Tensor) -> torch.Tensor:
        """alpha_i = |M_i|^2 / sum_j |M_j|^2 with M_i the photon, Z or Z' amplitude alone."""
        cos = torch.zeros_like(s_hat)
        parts = ["photon"] + [f"V{k}" for k in range(len(self.resonances))]
        m2 = torch.stack([self.partonic(s_hat, cos, "u", p) + self.partonic(s_hat, cos, "d", p)
                          for p in parts], 1)
        return m2 / m2.sum(1, keepdim=True).clamp_min(1e-300)

    def channel(self, x: torch.Tensor, c: int | torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Integrand (times Jacobian) through channel ``c``, the point in channel-independent
        unit coordinates (see :meth:`physical`), and the prior weights."""
        x = x.double()
        c = torch.as_tensor(c, device=x.device).expand(len(x))
        s_hat, jac_s = self._map_s(x[:, 0], c)
        half = -0.5 * torch.log(s_hat / self.s)  # |y| < -ln(sqrt(tau))
        y = (2 * x[:, 1] - 1) * half
        cos = 2 * x[:, 2] - 1
        value = self.hadronic(s_hat, y, cos) * jac_s * (2 * half) * 2.0
        u = torch.log(s_hat / self.s_min) / math.log(self.s / self.s_min)
        point = torch.stack([u, x[:, 1], x[:, 2], x[:, 3]], 1)  # in [0, 1]^4 for any channel
        return value, point, self.prior(s_hat)

    def physical(self, point: torch.Tensor) -> dict[str, torch.Tensor]:
        """Observables of points returned by :meth:`channel`: ``m_ll`` (GeV), rapidity,
        ``cos theta``, ``phi``."""
        s_hat = self.s_min * (self.s / self.s_min) ** point[:, 0]
        half = -0.5 * torch.log(s_hat / self.s)
        return {"m_ll": s_hat.sqrt(), "y": (2 * point[:, 1] - 1) * half,
                "cos_theta": 2 * point[:, 2] - 1, "phi": 2 * math.pi * point[:, 3]}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel(x, 0)[0]
