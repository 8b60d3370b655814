"""High-level features, histograms and distances against hand computations and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from caloforge import Showers, get_geometry
from caloforge.evaluate import compute_features, fpd, frechet_distance, kpd, separation_power
from caloforge.evaluate.classifier_inputs import high_level_vector, low_level_vector
from caloforge.evaluate.histograms import compare_feature, feature_bins


def test_features_of_hand_made_cylindrical_shower() -> None:
    geo = get_geometry("ds1-photons")
    r, _ = geo.voxel_r_alpha()
    xy = geo.voxel_xy()
    sl = geo.layer_slice(1)  # 16 r bins x 10 alpha bins
    vox = np.zeros((1, geo.n_voxels))
    i, j = sl.start + 3, sl.start + 16 * 5 + 7  # two voxels at different (r, alpha)
    vox[0, i], vox[0, j] = 30.0, 10.0
    f = compute_features(Showers(np.array([100.0]), vox), geo, threshold=0.0)
    w = np.array([30.0, 10.0])
    for arr, pos in ((f.ec_eta[0, 0], xy[[i, j], 0]), (f.ec_phi[0, 0], xy[[i, j], 1]),
                     (f.ec_r[0, 1], r[[i, j]])):
        assert arr == pytest.approx((w * pos).sum() / 40.0)
    mean_x = (w * xy[[i, j], 0]).sum() / 40
    width_x = np.sqrt((w * xy[[i, j], 0] ** 2).sum() / 40 - mean_x**2)
    assert f.width_eta[0, 0] == pytest.approx(width_x)
    assert f.e_layer[0].tolist() == [0.0, 40.0, 0.0, 0.0, 0.0]
    assert f.sparsity[0, 1] == pytest.approx(1 - 2 / 160)
    assert f.e_tot[0] == 40.0
    assert f.layers == [0, 1, 2, 3, 12] and f.angular_layers == [1, 2]


def test_threshold_applied_before_features() -> None:
    geo = get_geometry("ds2")
    vox = np.zeros((1, geo.n_voxels))
    vox[0, 0], vox[0, 1] = 0.01, 5.0  # the first is below 15.15 keV
    f = compute_features(Showers(np.array([1000.0]), vox), geo)
    assert f.e_tot[0] == 5.0


def test_cartesian_centre_and_width() -> None:
    geo = get_geometry("calogan")
    vox = np.zeros((1, geo.n_voxels))
    sl = geo.layer_slice(1)  # 12 x 12 cells of 40 mm, y fastest
    vox[0, sl.start + 5 * 12 + 6] = 2.0  # x index 5, y index 6
    vox[0, sl.start + 5 * 12 + 7] = 2.0  # x index 5, y index 7
    f = compute_features(Showers(np.array([10.0]), vox), geo, threshold=0.0)
    assert f.ec_eta[0, 1] == pytest.approx(-20.0)  # x centre of column 5: (5.5 - 6) * 40
    assert f.ec_phi[0, 1] == pytest.approx(40.0)  # mean of y centres 20 and 60
    assert f.width_phi[0, 1] == pytest.approx(20.0)
    assert f.width_eta[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_classifier_vectors() -> None:
    geo = get_geometry("ds1-photons")
    vox = np.full((3, geo.n_voxels), 2.0)
    e = np.array([100.0, 1000.0, 10000.0])
    low = low_level_vector(vox, e, geo)
    assert low[:, 0].tolist() == pytest.approx([2.0, 3.0, 4.0])
    assert low[1, 1] == pytest.approx(2.0 / 1000.0)
    normed = low_level_vector(vox, e, geo, normed=True)
    assert normed[0, 1] == pytest.approx(1 / 8)  # 8 voxels in layer 0
    high = high_level_vector(compute_features(Showers(e, vox), geo))
    assert high.shape == (3, 30)


def test_separation_power_and_bins() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 50_000), rng.normal(0, 1, 50_000)
    bins = np.linspace(-4, 4, 41)
    same = compare_feature("x", a, b, bins, rng, n_bootstrap=20)
    assert same.separation < 2 * same.floor
    assert same.consistent_with_floor
    shifted = compare_feature("x", a, b + 1.0, bins, rng, n_bootstrap=5)
    assert shifted.separation > 50 * same.floor
    assert not shifted.consistent_with_floor
    geo = get_geometry("ds2")
    assert feature_bins("width_eta_3", a, geo, 0.0)[[0, -1]].tolist() == [0.0, 30.0]
    assert feature_bins("E_tot/E_inc", a, geo, 0.0)[[0, -1]].tolist() == [0.5, 1.5]
    assert separation_power(np.array([0.2, 0.8]), np.array([0.8, 0.2])) == pytest.approx(0.36)


def test_frechet_distance_closed_form() -> None:
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 0.0])
    s1, s2 = np.diag([1.0, 2.0, 3.0]), np.diag([2.0, 2.0, 1.0])
    expected = 5.0 + sum(a + b - 2 * np.sqrt(a * b) for a, b in ((1, 2), (2, 2), (3, 1)))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fpd_gaussians() -> None:
    rng = np.random.default_rng(1)
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    x = rng.multivariate_normal([0, 0], cov, 40_000)
    y = rng.multivariate_normal([0, 0], cov, 40_000)
    same = fpd(x, y, min_samples=5000, max_samples=20_000, num_batches=5, normalise=False)
    assert same.value < 1e-3
    shift = np.array([0.5, -0.4])
    z = rng.multivariate_normal(shift, cov, 40_000)
    moved = fpd(x, z, min_samples=5000, max_samples=20_000, num_batches=5, normalise=False)
    assert moved.value == pytest.approx(float(shift @ shift), rel=0.05)
    assert kpd(x, z, num_batches=3, batch_size=3000).value > 10 * abs(
        kpd(x, y, num_batches=3, batch_size=3000).value)
