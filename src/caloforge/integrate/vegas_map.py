"""VEGAS grids in front of a ``madnis`` flow: the flow learns what VEGAS leaves.

A VEGAS map sends ``r`` in ``[0, 1]^d`` to ``x`` bin by bin (equal probability per bin, widths
adapted to the integrand), so its weights ``f(x) |dx/dr|`` are already flat along every axis;
what is left are the correlations between axes, which a flow on ``r`` can learn. The sampling
density is ``q(x) = q_flow(r) |dr/dx|``, the flow starts as the identity (``madnis`` zeroes the
last layer of its subnets), so training starts from the VEGAS weights and lowers their variance.

Two ways to join the bin edges: VEGAS' own straight lines (:class:`VegasGridMap`, a density
that jumps at every edge) and a monotone rational-quadratic spline through the same edges
(:class:`SmoothGridMap`, the default of :class:`~caloforge.integrate.NISConfig`), whose density
runs smoothly across them; each bin keeps its probability either way.

The grids come from ``madnis.integrator.VegasPreTraining`` (its samples land in the buffer
for the flow's buffered training); unlike ``Flow.init_with_grid`` (arXiv:2311.01548), which
reduces each grid to the spline's few bins, the map here keeps every VEGAS bin.
"""

from __future__ import annotations

import numpy as np
import torch
from madnis.integrator import Integrator, VegasPreTraining
from torch import nn

__all__ = ["POINTS_PER_BIN", "SmoothGridMap", "VegasGridMap", "VegasMappedFlow", "vegas_grids"]

#: Fewest VEGAS points per bin and adaptation iteration.
POINTS_PER_BIN = 10


def _rows(channel: torch.Tensor | list[int] | int | None, n: int, channels: int
          ) -> torch.Tensor:
    """The channel index of every row from ``madnis``' ways of giving channels."""
    if isinstance(channel, torch.Tensor):
        return channel.long()
    if isinstance(channel, list):
        return torch.repeat_interleave(torch.arange(len(channel)), torch.tensor(channel))
    if isinstance(channel, int):
        return torch.full((n,), channel, dtype=torch.long)
    return torch.arange(channels).repeat_interleave(n // channels)  # equal shares (or one)


class VegasGridMap(nn.Module):
    """Piecewise-linear maps of ``[0, 1]^d`` from VEGAS bin edges, one per channel.

    Arguments:
        grids: Bin edges ``(channels, d, bins + 1)``, each row rising from 0 to 1.

    Example:
        >>> grid = torch.tensor([[[0.0, 0.1, 1.0]]], dtype=torch.float64)  # 1 channel, 1 axis
        >>> m, ch = VegasGridMap(grid), torch.zeros(2, dtype=torch.long)
        >>> x, logjac = m.forward(torch.tensor([[0.25], [0.75]], dtype=torch.float64), ch)
        >>> x.squeeze(1).round(decimals=6).tolist(), logjac.exp().round(decimals=6).tolist()
        ([0.05, 0.55], [0.2, 1.8])
        >>> r, back = m.inverse(x, ch)
        >>> [round(v, 6) for v in r.squeeze(1).tolist()], bool(torch.allclose(back, -logjac))
        ([0.25, 0.75], True)
    """

    def __init__(self, grids: torch.Tensor) -> None:
        super().__init__()
        if grids.dim() != 3 or grids.shape[-1] < 2:
            raise ValueError(f"grids must be (channels, dims, bins + 1), not {tuple(grids.shape)}")
        self.register_buffer("grids", grids.detach().to(torch.float64).clone())  # float64 edges

    @property
    def bins(self) -> int:
        """Bins per axis."""
        return self.grids.shape[-1] - 1

    def forward(self, r: torch.Tensor, ch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x(r)`` and ``log |dx/dr|`` for rows of channel ``ch``."""
        return self._map(r, ch, inverse=False)

    def inverse(self, x: torch.Tensor, ch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``r(x)`` and ``log |dr/dx|``."""
        return self._map(x, ch, inverse=True)

    def _map(self, v: torch.Tensor, ch: torch.Tensor, inverse: bool
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """The map (or its inverse) channel by channel: one ``(dims, bins + 1)`` grid per
        channel, never a grid per row."""
        out, logjac = torch.empty_like(v), torch.empty(len(v), dtype=v.dtype, device=v.device)
        for c in range(len(self.grids)):
            rows = (ch == c).nonzero().squeeze(1)
            if len(rows) == 0:
                continue
            vals = v[rows].to(self.grids.dtype).T.contiguous()  # (dims, n)
            res, jac = self._axes(c, vals, inverse)
            out[rows] = res.T.to(v.dtype)
            logjac[rows] = jac.to(v.dtype)
        return out, logjac

    def _bins(self, c: int, vals: torch.Tensor, inverse: bool
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The bin of every value ``(dims, n)`` of channel ``c`` (found in ``r`` going
        forward, in ``x`` going back), with the bin's lower edge and width in ``x``."""
        g = self.grids[c]
        if inverse:
            idx = torch.searchsorted(g[:, 1:-1].contiguous(), vals)
        else:
            idx = (vals * self.bins).floor().long().clamp(0, self.bins - 1)
        lo = g.gather(1, idx)
        return idx, lo, g.gather(1, idx + 1) - lo

    def _axes(self, c: int, vals: torch.Tensor, inverse: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``vals`` ``(dims, n)`` through channel ``c``'s edges ``(dims, bins + 1)``: the
        mapped values and ``log |jacobian|`` summed over the axes."""
        idx, lo, width = self._bins(c, vals, inverse)
        if inverse:
            res = ((idx + (vals - lo) / width) / self.bins).clamp(0, 1)
            return res, -(width * self.bins).log().sum(0)
        return lo + (vals * self.bins - idx) * width, (width * self.bins).log().sum(0)


class SmoothGridMap(VegasGridMap):
    """VEGAS bin edges joined by a monotone rational-quadratic spline (Gregory and Delbourgo,
    the form of neural spline flows, arXiv:1906.04032) instead of straight lines: every bin
    keeps its probability ``1 / bins``, but the density inside a bin now runs smoothly from one
    neighbour's to the other's (knot slopes: geometric means of the adjacent bins' slopes,
    extrapolated at the ends), where the piecewise-linear map jumps at every edge.

    Where the integrand falls steeply across a bin (the wide bins at the kinematic edges, the
    flanks of a narrow peak), a flat density per bin leaves weights that run from well above
    the mean at the bin's inner side to zero at its outer side, at a scale (1 / bins) far below
    what the flow behind the map resolves; the spline follows that fall.

    Arguments:
        grids: Bin edges ``(channels, d, bins + 1)``, each row rising from 0 to 1.

    Example:
        >>> grid = torch.tensor([[[0.0, 0.1, 1.0]]], dtype=torch.float64)
        >>> m, ch = SmoothGridMap(grid), torch.zeros(3, dtype=torch.long)
        >>> x, logjac = m.forward(torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64), ch)
        >>> x.squeeze(1).tolist()  # the knots stay put
        [0.0, 0.1, 1.0]
        >>> logjac.exp().round(decimals=3).tolist()  # the slope is continuous at the middle knot
        [0.067, 0.6, 5.4]
    """

    def __init__(self, grids: torch.Tensor) -> None:
        super().__init__(grids)
        slopes = self.grids.diff(dim=-1).clamp_min(1e-300) * self.bins  # (channels, d, bins)
        inner = (slopes[..., 1:] * slopes[..., :-1]).sqrt()
        first = slopes[..., :1] ** 2 / (inner[..., :1] if self.bins > 1 else slopes[..., :1])
        last = slopes[..., -1:] ** 2 / (inner[..., -1:] if self.bins > 1 else slopes[..., -1:])
        self.register_buffer("knot_slopes", torch.cat([first, inner, last], -1))

    def _axes(self, c: int, vals: torch.Tensor, inverse: bool
              ) -> tuple[torch.Tensor, torch.Tensor]:
        idx, lo, h = self._bins(c, vals, inverse)
        d = self.knot_slopes[c]
        d_lo, d_hi = d.gather(1, idx), d.gather(1, idx + 1)
        s = h * self.bins
        curve = d_lo + d_hi - 2 * s
        if inverse:
            dy = (vals - lo).clamp(min=0)
            a = h * (s - d_lo) + dy * curve
            b = h * d_lo - dy * curve
            cc = -s * dy
            xi = (2 * cc / (-b - (b * b - 4 * a * cc).clamp_min(0).sqrt())).clamp(0, 1)
        else:
            xi = vals * self.bins - idx
        mix = xi * (1 - xi)
        den = s + curve * mix
        slope = s * s * (d_hi * xi * xi + 2 * s * mix + d_lo * (1 - xi) ** 2) / (den * den)
        if inverse:
            return ((idx + xi) / self.bins).clamp(0, 1), -slope.log().sum(0)
        return lo + h * (s * xi * xi + d_lo * mix) / den, slope.log().sum(0)


class VegasMappedFlow(nn.Module):
    """A ``madnis`` flow on the VEGAS variables ``r``: ``x = vegas(flow(z))``.

    Implements the ``madnis.nn.Distribution`` protocol (``sample``, ``prob``, ``log_prob``).
    Until :meth:`set_grids` is called the map is the identity.

    Arguments:
        flow: A ``madnis.nn.Flow`` with ``uniform_latent=True``.
        dims: Dimension of the hypercube.
        channels: Number of channels (1 for a single-channel flow).
        smooth: Join the VEGAS edges by a spline (:class:`SmoothGridMap`) rather than straight
            lines (:class:`VegasGridMap`).

    Example:
        >>> from madnis.nn import Flow
        >>> _ = torch.manual_seed(0)
        >>> g = VegasMappedFlow(Flow(dims_in=2, layers=1, units=8, bins=4), dims=2)
        >>> g.set_grids(torch.tensor([[[0.0, 0.1, 1.0], [0.0, 0.5, 1.0]]]))
        >>> x = g.sample(1000, dtype=torch.float32)  # the flow starts as the identity
        >>> round(float((x[:, 0] < 0.1).float().mean()), 1)  # half the points in the first bin
        0.5
    """

    def __init__(self, flow: nn.Module, dims: int, channels: int = 1, smooth: bool = False
                 ) -> None:
        super().__init__()
        self.flow, self.channels, self.smooth = flow, channels, smooth
        identity = torch.linspace(0, 1, 2).expand(channels, dims, 2)
        self.map = VegasGridMap(identity)

    def set_grids(self, grids: torch.Tensor) -> None:
        """Put VEGAS bin edges ``(channels, dims, bins + 1)`` in front of the flow."""
        kind = SmoothGridMap if self.smooth else VegasGridMap
        self.map = kind(grids).to(self.map.grids.device)  # where the module already is

    def _flow_channel(self, channel: torch.Tensor | list[int] | int | None
                      ) -> torch.Tensor | list[int] | int | None:
        return channel if self.channels > 1 else None

    def log_prob(self, x: torch.Tensor, c: torch.Tensor | None = None,
                 channel: torch.Tensor | list[int] | int | None = None) -> torch.Tensor:
        """``log q_flow(r(x)) + log |dr/dx|``."""
        r, logjac = self.map.inverse(x, _rows(channel, len(x), self.channels))
        return self.flow.log_prob(r, c, self._flow_channel(channel)) + logjac

    def prob(self, x: torch.Tensor, c: torch.Tensor | None = None,
             channel: torch.Tensor | list[int] | int | None = None) -> torch.Tensor:
        """Density of :meth:`log_prob`."""
        return self.log_prob(x, c, channel).exp()

    def sample(self, n: int | None = None, c: torch.Tensor | None = None,
               channel: torch.Tensor | list[int] | int | None = None,
               return_log_prob: bool = False, return_prob: bool = False,
               device: torch.device | None = None, dtype: torch.dtype | None = None
               ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Flow samples pushed through the VEGAS map, with their (log-)density if asked."""
        r, log_q = self.flow.sample(n, c, self._flow_channel(channel), return_log_prob=True,
                                    device=device, dtype=dtype)
        x, logjac = self.map.forward(r, _rows(channel, len(r), self.channels))
        if not (return_prob or return_log_prob):
            return x
        log_p = log_q - logjac
        extra = ([log_p] if return_log_prob else []) + ([log_p.exp()] if return_prob else [])
        return (x, *extra)


def vegas_grids(integrator: Integrator, calls: int, iterations: int, bins: int,
                seed: int = 0) -> torch.Tensor:
    """Adapt one VEGAS grid per channel with ``madnis``' pre-training on about ``calls``
    integrand calls (its samples are stored in the integrator's buffer).

    Arguments:
        integrator: The ``madnis`` integrator whose integrand and buffer are used.
        calls: Integrand calls for all iterations and channels together.
        iterations: Adaptation iterations.
        bins: Bins per axis; fewer when a grid would see under ``POINTS_PER_BIN`` points
            per bin and iteration (a small budget cannot place many bins).
        seed: Seed of the VEGAS points.

    Returns:
        Bin edges ``(channels, dims, bins + 1)``.
    """
    channels = integrator.integrand.channel_count or 1
    per_step = max(calls // (iterations * channels), 1)
    pre = VegasPreTraining(integrator, bins=max(min(bins, per_step // POINTS_PER_BIN), 1))
    pre.rng = np.random.default_rng(seed)
    pre.train([per_step] * iterations)
    return torch.stack([torch.as_tensor(g.extract_grid(), dtype=torch.float64)
                        for g in pre.grids])
