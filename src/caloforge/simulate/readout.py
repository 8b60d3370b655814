"""Sampling readout: charged-particle crossings, MIP signals, gain, noise and threshold.

A cell that received ``E`` MeV of shower energy sees ``n ~ Poisson(E / eps_l)`` crossings of
its active layers; each crossing leaves a Moyal-distributed MIP signal (location = the Landau
most probable value, scale = the Landau width xi of the active layer, from
:class:`~caloforge.geometry.LayerMaterial`). Cells with at most ``max_direct_crossings``
crossings sum individual draws (so the cell spectrum shows the MIP peak); busier cells use the
central limit of the sum; cells expecting >= 50 crossings draw their whole compound-Poisson
signal from one normal law with its exact mean and variance. With ``r`` the relative spread
of one MIP signal, the relative variance of a shower's signal is ``eps (1 + r^2) / E``, so
the stochastic term ``a`` fixes the energy per crossing: ``eps = a^2 [GeV] / (1 + r^2)``.
Layers with thicker sampling periods see proportionally fewer crossings (``eps_l`` scales with
the period in X0); the reference ``eps`` is chosen so that the energy-weighted mean over the
layers of a typical shower gives ``a``.

The constant term ``b`` is a per-shower gain spread ``N(1, b)`` (inter-calibration). Noise and
thresholds are set in units of each layer's MIP most probable value. ``calibrated`` output
divides the visible signal by the mean visible energy per deposited MeV (CaloChallenge style),
``visible`` output keeps MeV in the active material (ILD style, MIP peak at ~0.14 MeV).
"""

from __future__ import annotations

import numpy as np

from caloforge.geometry import LayeredGeometry
from caloforge.simulate.config import ReadoutConfig
from caloforge.simulate.deposit import sparse_poisson
from caloforge.simulate.shape import ShapeConfig

__all__ = ["MOYAL_MEAN", "MOYAL_STD", "Readout"]

#: Cells expecting at least this many crossings get one normal draw of their summed signal.
COMPOUND_NORMAL_MIN = 50.0
#: Mean and standard deviation of the standard Moyal distribution.
MOYAL_MEAN = float(np.euler_gamma + np.log(2.0))
MOYAL_STD = float(np.pi / np.sqrt(2.0))


class Readout:
    """Turns deposited energy per voxel into measured cell energies.

    Arguments:
        geometry: Geometry with a material stack.
        cfg: Readout settings.
        layer_shares: Energy share of each layer for a typical shower, used to match ``a``.
        shape: Layer gains and the halo's spot energy (default: none).

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> geo = get_geometry("ds2")
        >>> ro = Readout(geo, ReadoutConfig(stochastic_term=0.17), np.full(45, 1 / 45))
        >>> round(float(ro.eps_mev[0]), 2)
        28.3
    """

    def __init__(self, geometry: LayeredGeometry, cfg: ReadoutConfig,
                 layer_shares: np.ndarray, shape: ShapeConfig | None = None) -> None:
        stack = geometry.materials
        assert stack is not None
        self.cfg = cfg
        self.geometry = geometry
        layers = stack.layers
        self.mpv = np.array([m.mip_mpv_mev() for m in layers])
        self.xi = np.array([m.landau_width_mev() for m in layers])
        self.mean = self.mpv + self.xi * MOYAL_MEAN
        self.std = self.xi * MOYAL_STD
        r2 = (self.std / self.mean) ** 2
        period = np.array([m.period_x0 for m in layers])
        rel = period / period[0]
        shares = np.asarray(layer_shares, dtype=np.float64)
        shares = shares / shares.sum()
        eps0 = 1000.0 * cfg.stochastic_term**2 / float((shares * rel * (1.0 + r2)).sum())
        #: Shower energy per crossing in each layer, MeV.
        self.eps_mev = eps0 * rel
        #: Output MeV per visible MeV in each layer.
        self.out_per_visible = np.ones(len(layers))
        if cfg.energy_scale == "calibrated":
            self.out_per_visible = self.eps_mev / self.mean
        elif cfg.energy_scale == "total":     # a MIP's whole-cell deposit, for the thresholds
            self.out_per_visible = 1.0 / np.array([m.sampling_fraction_mip for m in layers])
        #: Mean output per deposited MeV in each layer (for the halo).
        self.out_per_deposit = np.ones(len(layers))
        if cfg.energy_scale != "total":
            self.out_per_deposit = self.out_per_visible * self.mean / self.eps_mev
        self.shape = shape or ShapeConfig()
        self.gain = self.shape.gains(len(layers))
        mip_out = self.mpv * self.out_per_visible
        self.threshold = np.maximum(cfg.threshold_mip * mip_out, cfg.threshold_mev)
        self.noise = cfg.noise_mip * mip_out
        self._voxel_layer = geometry.voxel_layer()

    def mip_signals(self, layer_of_cell: np.ndarray, n_cross: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """Visible MeV of cells with ``n_cross >= 1`` crossings (1-D arrays)."""
        k = self.cfg.max_direct_crossings
        out = np.empty(len(n_cross))
        few = n_cross <= k
        if few.any():
            # one Moyal draw per crossing, summed back per cell
            counts = n_cross[few]
            cell = np.repeat(np.arange(len(counts)), counts)
            lay = np.repeat(layer_of_cell[few], counts)
            z = rng.standard_normal(len(cell))
            draws = self.mpv[lay] - self.xi[lay] * np.log(np.square(z) + 1e-300)
            out[few] = np.bincount(cell, weights=draws, minlength=len(counts))
        many = ~few
        if many.any():
            lay, n = layer_of_cell[many], n_cross[many].astype(np.float64)
            out[many] = (n * self.mean[lay]
                         + np.sqrt(n) * self.std[lay] * rng.standard_normal(len(n)))
        return np.maximum(out, 0.0)

    def _sampled(self, deposits: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cells with a signal (rows, columns) and their sampled signal in output units."""
        rows, cols = np.nonzero(deposits)
        lay = self._voxel_layer[cols]
        lam = deposits[rows, cols] / self.eps_mev[lay]
        visible = np.empty(len(lam))
        # busy cells: the compound Poisson sum is normal with mean lam m, variance lam E[X^2]
        busy = lam >= COMPOUND_NORMAL_MIN
        lb = lam[busy]
        mb, sb = self.mean[lay[busy]], self.std[lay[busy]]
        visible[busy] = lb * mb + np.sqrt(lb * (sb**2 + mb**2)) * rng.standard_normal(len(lb))
        quiet = np.flatnonzero(~busy)
        n_cross = rng.poisson(lam[quiet])
        visible[quiet] = 0.0
        hit = quiet[n_cross > 0]
        visible[hit] = self.mip_signals(lay[hit], n_cross[n_cross > 0], rng)
        keep = visible > 0
        rows, cols, lay = rows[keep], cols[keep], lay[keep]
        return rows, cols, np.maximum(visible[keep], 0.0) * self.out_per_visible[lay]

    def halo(self, expected: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Halo deposits from their expected deposited MeV per voxel: Poisson counts of spots
        with exponential energies (mean ``shape.halo_spot_mev`` in output units); returns rows,
        columns and output energies."""
        spot = self.shape.halo_spot_mev
        lam = expected * (self.out_per_deposit[self._voxel_layer] / spot)[None, :]
        counts = sparse_poisson(lam, rng)
        rows, cols = np.nonzero(counts)
        return rows, cols, rng.gamma(counts[rows, cols], spot)

    def __call__(self, deposits: np.ndarray, rng: np.random.Generator,
                 halo: np.ndarray | None = None,
                 energies: np.ndarray | None = None) -> np.ndarray:
        """Measured cell energies (float32, MeV in the configured scale) from deposits (MeV),
        the halo's expected deposits (MeV, optional; see :meth:`halo`) and the incident
        energies (MeV; needed by the shape's energy-dependent response and noise term)."""
        n_showers, n_vox = deposits.shape
        vox_layer = self._voxel_layer
        if self.cfg.energy_scale == "total":       # the whole deposit: no sampling
            rows, cols = np.nonzero(deposits)
            signal = deposits[rows, cols]
        else:
            rows, cols, signal = self._sampled(deposits, rng)
        if halo is not None:
            h_rows, h_cols, h_signal = self.halo(halo, rng)
            rows, cols = np.concatenate([rows, h_rows]), np.concatenate([cols, h_cols])
            signal = np.concatenate([signal, h_signal])
        if self.shape.layer_gain:
            signal = signal * self.gain[vox_layer[cols]]
        if energies is None or self.shape.is_textbook():
            if self.cfg.constant_term > 0:
                gain = np.maximum(1.0 + self.cfg.constant_term
                                  * rng.standard_normal(n_showers), 0.0)
                signal *= gain[rows]
        else:
            shower_gain = self.shape.shower_gain(energies, self.cfg.constant_term, rng)
            if shower_gain is not None:
                signal = signal * shower_gain[rows]
        out = np.zeros((n_showers, n_vox), dtype=np.float32)
        if halo is None:
            out[rows, cols] = signal
        else:                                      # halo spots may share a cell with signal
            out.reshape(-1)[:] = np.bincount(rows * n_vox + cols, weights=signal,
                                             minlength=out.size)
        if self.cfg.noise_mip > 0:
            noise = rng.standard_normal((n_showers, n_vox), dtype=np.float32)
            out += noise * self.noise[vox_layer].astype(np.float32)[None, :]
        out[out < self.threshold[vox_layer].astype(np.float32)[None, :]] = 0.0
        np.maximum(out, 0.0, out=out)
        return out
