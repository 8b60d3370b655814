"""The CaloChallenge evaluation's definitions, re-derived here independently of caloforge's code:
jetnet's FPD (batches of 10k-50k drawn with replacement whatever the sample size, linear fit in
1/N with non-negative parameters), jetnet's KPD error (half the 16.275-83.725 % range, scipy's
``iqr`` as the oracle), jetnet's seed 42 as the default, and ds1's per-energy selection by range
[2^k, 2^(k+1)) MeV with the photons' narrow binning from 4096 MeV."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg, stats
from scipy.optimize import curve_fit

from caloforge import Showers, get_geometry
from caloforge.cli.main import build_parser
from caloforge.data import write_showers
from caloforge.evaluate import compare_samples, distances, evaluate_files, load_samples
from caloforge.simulate import simulate


def _jetnet_fpd(x: np.ndarray, y: np.ndarray, min_samples: int, max_samples: int,
                num_batches: int, num_points: int, seed: int) -> float:
    """jetnet's ``fpd`` (gen_metrics.py) from its description: normalise by the reference's
    max |feature|, sizes evenly spaced in 1/N, batches with replacement, mean per size, fit
    a + b / N with a, b >= 0, return a."""
    scale = np.abs(x).max(0)
    x, y = x / scale, y / scale
    sizes = (1 / np.linspace(1 / min_samples, 1 / max_samples, num_points)).astype(np.int32)
    rng = np.random.default_rng(seed)
    means = []
    for n in sizes:
        values = []
        for _ in range(num_batches):
            a, b = x[rng.choice(len(x), size=n)], y[rng.choice(len(y), size=n)]
            s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
            root = np.real(linalg.sqrtm(s1 @ s2))
            d = a.mean(0) - b.mean(0)
            values.append(d @ d + np.trace(s1 + s2 - 2 * root))
        means.append(np.mean(values))
    (a, _), _ = curve_fit(lambda t, a, b: a + b * t, 1 / sizes, means, bounds=(0, np.inf))
    return float(a)


def test_fpd_is_jetnets_even_for_small_samples() -> None:
    """500 vs 500: jetnet still draws batches of 10k-50k with replacement (caloforge capped them
    at 500 before, which gave a different value)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3))
    y = rng.normal(size=(500, 3)) + np.array([0.3, 0.0, 0.0])
    result = distances.fpd(x, y, num_batches=2, num_points=3)
    expected = _jetnet_fpd(x, y, 10_000, 50_000, 2, 3, 42)
    assert result.value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert 0.005 < result.value < 0.05  # (0.3 / max|x_0|)^2 with max|x_0| ~ 3


def test_kpd_error_is_jetnets_inter_quantile_range(monkeypatch: pytest.MonkeyPatch) -> None:
    values = iter([0.3, -0.1, 0.05, 0.9, 0.2, 0.0, 0.4, 0.15, -0.2, 0.6])
    monkeypatch.setattr(distances, "mmd_poly", lambda a, b: next(values))
    result = distances.kpd(np.ones((20, 2)), np.ones((20, 2)), batch_size=5)
    expected = [0.3, -0.1, 0.05, 0.9, 0.2, 0.0, 0.4, 0.15, -0.2, 0.6]
    assert result.value == pytest.approx(np.median(expected))
    assert result.error == pytest.approx(stats.iqr(expected, rng=(16.275, 83.725)) / 2)


def test_mmd_is_the_unbiased_quadratic_estimate() -> None:
    """Against the O(n^2) definition with an explicit kernel matrix."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 0.5

    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a @ b.T / a.shape[1] + 1) ** 4

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = ((kxx.sum() - np.trace(kxx)) / (40 * 39) + (kyy.sum() - np.trace(kyy)) / (30 * 29)
                - 2 * kxy.mean())
    assert distances.mmd_poly(x, y, block=7) == pytest.approx(expected, rel=1e-10)


def test_mode_all_means_all() -> None:
    from caloforge.evaluate.modes import MODES
    from caloforge.evaluate.runner import parse_modes

    assert parse_modes("all") == MODES and "cls-low-normed" in MODES


def test_evaluate_seed_defaults_to_jetnets_42() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    seed = next(a for a in sub.choices["evaluate"]._actions if a.dest == "seed")
    assert seed.default == 42
    for fn in (compare_samples, evaluate_files):
        assert inspect.signature(fn).parameters["seed"].default == 42


@pytest.fixture(scope="module")
def continuous_ds1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ds1-photons showers re-labelled with continuous incident energies in [2^8, 2^14) MeV."""
    base = simulate("ds1-photons", n=1200, seed=5)
    energies = 2.0 ** np.random.default_rng(3).uniform(8, 14, len(base))
    path = tmp_path_factory.mktemp("conf") / "continuous.h5"
    return write_showers(path, Showers(energies, base.voxels, geometry="ds1-photons"))


def test_ds1_energies_are_selected_by_range(continuous_ds1: Path) -> None:
    from caloforge.evaluate.metrics import _energy_groups

    geo = get_geometry("ds1-photons")
    ref = load_samples(continuous_ds1, geo)[0]
    groups = _energy_groups(ref, ref, geo)
    e = ref.features.e_inc
    by_energy = {g[0]: g for g in groups}
    assert sum(int(g[1].sum()) for g in groups) == len(e)  # every shower in one range
    low = by_energy[256.0][1]
    assert np.array_equal(low, (e >= 256) & (e < 512))
    assert np.array_equal(by_energy[2048.0][3], np.linspace(0.4, 1.4, 21))
    assert np.array_equal(by_energy[4096.0][3], np.linspace(0.9, 1.1, 21))
    metrics = compare_samples(ref, ref, geo, ("hist",), n_bootstrap=2)
    names = {h.name for h in metrics.histograms if h.name.startswith("E_tot/E_inc@")}
    assert names == {f"E_tot/E_inc@{2**k}MeV" for k in range(8, 14)}
