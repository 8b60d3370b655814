"""Energy resolution of the reference simulator: the fitted stochastic term is the preset's
readout block's (the textbook parametrisation; the Geant4-tuned ``shape`` block is reset)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from caloforge.simulate import ReferenceSimulator, ShapeConfig, load_config

ENERGIES_GEV = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _core_resolution(total: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation after iterative 3-sigma clipping (Gaussian core)."""
    mu, sd = total.mean(), total.std()
    for _ in range(10):
        core = total[np.abs(total - mu) < 3 * sd]
        mu, sd = core.mean(), core.std()
    return float(mu), float(sd)


def fit_resolution(preset: str, n: int) -> tuple[float, float, list[float]]:
    """Fit sigma/E = a/sqrt(E) (+) b to ``n`` electrons at each energy (normal incidence)."""
    rel = []
    for e in ENERGIES_GEV:
        cfg = load_config(preset, {
            "particle": "electron", "n": n, "seed": int(e * 10), "chunk_size": 50,
            "spectrum": {"kind": "fixed", "e_min_mev": 1000.0 * e},
            "incidence": {"theta_min_deg": 90.0, "theta_max_deg": 90.0, "offset_mm": 0.0},
            "readout": {"energy_scale": "calibrated"}})
        cfg.shape = ShapeConfig()
        total = np.concatenate([b.total_energy() for b in ReferenceSimulator(cfg).batches()])
        mu, sd = _core_resolution(total)
        rel.append(sd / mu)
    (a, b), _ = curve_fit(lambda x, a, b: np.sqrt(a**2 / x + b**2), np.array(ENERGIES_GEV),
                          np.array(rel), p0=(0.15, 0.01))
    return abs(float(a)), abs(float(b)), rel


@pytest.mark.slow
def test_ild_stochastic_term_10k_per_energy() -> None:
    a, b, rel = fit_resolution("ild-photons", 10_000)
    assert a == pytest.approx(0.165, rel=0.10)
    assert b < 0.02
    assert rel == sorted(rel, reverse=True)


def test_ds1_stochastic_term_quick() -> None:
    a, _, _ = fit_resolution("ds1-photons", 1000)
    assert a == pytest.approx(0.10, rel=0.15)
