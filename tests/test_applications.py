"""Likelihood applications on toys with known answers: MLE + interval coverage, ROC metrics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from caloforge.applications import anomaly_metrics, calibrate, ensemble


def test_mle_and_interval_recover_a_gaussian_toy() -> None:
    """x ~ N(a E, s): E_hat = x / a, sigma = s / a, 1-sigma coverage ~68 % over 1000 draws."""
    rng = np.random.default_rng(7)
    a, s = 0.8, 2.0
    e_true = rng.uniform(20.0, 100.0, 1000)
    x = rng.normal(a * e_true, s)

    def log_like(e: np.ndarray) -> np.ndarray:
        return -0.5 * ((x - a * e) / s) ** 2

    res = calibrate(log_like, first_guess=x / 0.7)  # a deliberately poor first guess
    assert np.allclose(res.e_hat, x / a, rtol=1e-5)
    assert np.allclose(res.sigma_left, s / a, rtol=1e-4)
    assert np.allclose(res.sigma_right, s / a, rtol=1e-4)
    coverage = np.mean(np.abs(res.e_hat - e_true) <= res.sigma)
    assert 0.60 <= coverage <= 0.76


def test_asymmetric_interval_and_ensemble() -> None:
    """A width growing with E makes sigma_R > sigma_L; an ensemble of identical models changes
    nothing."""
    x = np.array([50.0])

    def log_like(e: np.ndarray) -> np.ndarray:
        width = 0.2 * e
        return -0.5 * ((x - e) / width) ** 2 - np.log(width)

    single = calibrate(log_like, first_guess=x)
    double = calibrate(ensemble([log_like, log_like]), first_guess=x)
    assert single.sigma_right[0] > single.sigma_left[0]
    assert double.e_hat[0] == pytest.approx(single.e_hat[0], rel=1e-6)


def test_anomaly_metrics_match_closed_forms() -> None:
    rng = np.random.default_rng(3)
    mu = 1.5
    metrics = anomaly_metrics(rng.normal(0, 1, 200_000), rng.normal(mu, 1, 200_000))
    assert metrics.auc == pytest.approx(norm.cdf(mu / np.sqrt(2)), abs=0.003)
    threshold = mu + norm.ppf(0.7)  # TPR = 0.3
    assert metrics.r30 == pytest.approx(1 / norm.sf(threshold), rel=0.03)
    random = anomaly_metrics(rng.normal(0, 1, 50_000), rng.normal(0, 1, 50_000))
    assert random.auc == pytest.approx(0.5, abs=0.01)
