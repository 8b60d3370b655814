"""Physics of the reference simulator against known values (GFLASH, PDG)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import gamma

from caloforge.geometry import CartesianLayer, CylindricalLayer, get_geometry
from caloforge.simulate.incidence import PHOTON_CONVERSION_X0, conversion_depth
from caloforge.simulate.longitudinal import mean_ln_t, profile, sample_longitudinal
from caloforge.simulate.radial import containment, radial_cdf
from caloforge.simulate.transverse import CartesianIntegrator, CylindricalIntegrator

STACK = get_geometry("ild-photons").materials
GRID = np.arange(0.0, 40.0, 0.1) + 0.05  # 0.1 X0 grid of depths from the front face


def _mean_profile_peak(energy: float, particle: str, n: int = 20_000) -> float:
    rng = np.random.default_rng(11)
    params = sample_longitudinal(np.full(n, energy), STACK.z_eff, STACK.critical_energy, rng)
    t0 = conversion_depth(particle, n, rng)
    dens = gamma.pdf(GRID[None, :] - t0[:, None], a=params.alpha[:, None],
                     scale=1.0 / params.beta[:, None])
    return float(GRID[dens.mean(axis=0).argmax()])


@pytest.mark.parametrize("energy", [10_000.0, 100_000.0])
def test_electron_profile_maximum(energy: float) -> None:
    expected = float(np.exp(mean_ln_t(energy, STACK.critical_energy)))
    assert _mean_profile_peak(energy, "electron") == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("energy", [10_000.0, 100_000.0])
def test_photon_profile_maximum(energy: float) -> None:
    expected = float(np.exp(mean_ln_t(energy, STACK.critical_energy))) + 9.0 / 7.0
    assert _mean_profile_peak(energy, "photon") == pytest.approx(expected, rel=0.05)


def test_photon_start_depth() -> None:
    t0 = conversion_depth("photon", 200_000, np.random.default_rng(2))
    assert t0.mean() == pytest.approx(9.0 / 7.0, rel=0.03)
    assert pytest.approx(1.2857, abs=1e-4) == PHOTON_CONVERSION_X0
    assert (conversion_depth("electron", 10, np.random.default_rng(2)) == 0).all()


def test_profile_is_normalised_and_clipped() -> None:
    params = sample_longitudinal(np.full(1000, 300.0), 74.0, 8.0, np.random.default_rng(0))
    assert (params.alpha >= 1.1).all() and (params.t_max >= 1.0).all()
    fine = np.arange(0, 200, 0.01) + 0.005
    assert (profile(params, fine).sum(axis=1) * 0.01) == pytest.approx(
        np.ones(1000), rel=1e-3)


@pytest.mark.parametrize("energy", [1_000.0, 10_000.0, 100_000.0])
def test_lateral_containment(energy: float) -> None:
    rng = np.random.default_rng(3)
    params = sample_longitudinal(np.full(5000, energy), STACK.z_eff, STACK.critical_energy, rng)
    weights = profile(params, GRID)
    inside_1 = containment(energy, STACK.z_eff, 1.0, params.t_max, weights, GRID)
    inside_2 = containment(energy, STACK.z_eff, 2.0, params.t_max, weights, GRID)
    assert inside_1 >= 0.85
    assert inside_2 >= 0.93
    assert inside_2 > inside_1


def test_cartesian_cells_match_radial_cdf() -> None:
    # a large grid around the axis holds everything but the 1/r^2 tail beyond its half-width
    integ = CartesianIntegrator(CartesianLayer(101, 101, 1.0, 1.0))
    scale = np.array([2.0])
    cells = integ.fractions(scale, np.zeros(1), np.zeros(1), np.ones(1), np.ones(1))
    assert (cells >= 0).all()
    square = cells.reshape(101, 101)[40:61, 40:61].sum()  # the central 21 x 21 mm square
    # the square lies between the inscribed (r = 10.5) and circumscribed circles
    assert radial_cdf(10.5, 2.0) < square < radial_cdf(10.5 * np.sqrt(2), 2.0)
    assert radial_cdf(50.5, 2.0) < cells.sum() < radial_cdf(50.5 * np.sqrt(2), 2.0)


def test_cylindrical_quadrature_matches_exact_rings() -> None:
    layer = CylindricalLayer(0, (0.0, 2.0, 5.0, 10.0, 20.0, 50.0), 8)
    integ = CylindricalIntegrator(layer, nodes=8)
    scale = np.array([6.0, 6.0])
    x0 = np.array([0.0, 1e-3])  # on axis (exact) and a hair off (quadrature)
    cells = integ.fractions(scale, x0, np.zeros(2), np.ones(2), np.ones(2))
    assert cells[1] == pytest.approx(cells[0], rel=0.02, abs=1e-4)
    assert cells[0].sum() == pytest.approx(radial_cdf(50.0, 6.0))
