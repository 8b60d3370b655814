"""Amplification metrics (``caloforge.evaluate.amplification``): the quantile chi2 of truth
samples has its exact expectation, a truth sample's equivalent size is recovered, bad input is
refused in one line, and ``caloforge amplification`` runs on shower files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import make_showers

from caloforge.data import write_showers
from caloforge.errors import InputError
from caloforge.evaluate.amplification import (
    amplification,
    equivalent_size,
    truth_curve,
    truth_reference,
)
from caloforge.evaluate.equal_bins import QuantileBinning, fit_binning, js_divergence


def _exact_uniform(n_q: int, joint: bool) -> QuantileBinning:
    """Quantile bins of U(0, 1) (or of two independent ones) with the exact edges."""
    edges = np.arange(1, n_q) / n_q
    inner = [edges] * n_q if joint else None
    n_bins = n_q * n_q if joint else n_q
    return QuantileBinning(("u", "v")[: 1 + joint], n_q, edges, inner,
                           np.full(n_bins, 1.0 / n_bins))


@pytest.mark.parametrize(("n_q", "joint", "m"), [(10, False, 50), (20, False, 500),
                                                 (10, True, 2000)])
def test_truth_chi2_expectation(n_q: int, joint: bool, m: int) -> None:
    """E[chi2] = (B - 1) / M for M truth draws (B = n_Q, or n_Q^2 for a joint projection)."""
    rng = np.random.default_rng(n_q + m)
    binning = _exact_uniform(n_q, joint)
    pool = binning.assign(rng.uniform(size=(400_000, 1 + joint)))
    curve = truth_curve(pool, binning, [m], 2000, rng)
    expected = (binning.n_bins - 1) / m
    assert abs(curve.mean[0] - expected) < 3 * curve.sem[0]
    assert curve.sem[0] < 0.05 * expected  # the check has power


def test_fitted_edges_give_equal_probabilities() -> None:
    x = np.random.default_rng(0).normal(size=(50_000, 2))
    x[:, 1] += 2 * x[:, 0]  # correlated: the nested bins follow the correlation
    b = fit_binning(x, ("a", "b"), 7)
    assert b.n_bins == 49
    assert np.allclose(b.probabilities, 1 / 49, atol=2e-4)
    fresh = np.random.default_rng(1).normal(size=(200_000, 2))
    fresh[:, 1] += 2 * fresh[:, 0]
    assert np.allclose(b.fractions(fresh), 1 / 49, atol=0.003)  # edges from 1000 per bin


def test_ties_merge_bins() -> None:
    """A feature with 40 % zeros gets fewer, unequal bins instead of empty ones."""
    rng = np.random.default_rng(2)
    x = np.where(rng.uniform(size=20_000) < 0.4, 0.0, rng.exponential(size=20_000))
    b = fit_binning(x[:, None], ("e",), 10)
    assert b.n_bins < 10 and b.probabilities[0] == pytest.approx(0.4, abs=0.01)
    assert np.all(b.probabilities > 0)


def test_truth_sample_size_recovered() -> None:
    """N_eq of a truth sample of size M is M within its (bootstrap) error."""
    rng = np.random.default_rng(3)
    reference = {"x": rng.normal(size=600_000), "y": rng.exponential(size=600_000)}
    truth = truth_reference(reference, joint=[("x", "y")], n_quantiles=(10,), metrics=("chi2",),
                            n_boot=100, seed=4)
    m, logs, covered = 2000, [], 0
    for _ in range(20):
        gen = {"x": rng.normal(size=m), "y": rng.exponential(size=m)}
        row = truth.compare(gen, train_size=m).rows[-1]  # the joint projection, 100 bins
        assert row.projection == "x : y" and row.bound == ""
        logs.append(np.log(row.n_eq / m))
        covered += row.n_eq_low <= m <= row.n_eq_high
        assert row.factor == pytest.approx(row.n_eq / m)
    logs_a = np.array(logs)
    assert abs(logs_a.mean()) < 3 * logs_a.std(ddof=1) / np.sqrt(len(logs_a)) + 0.02
    assert covered >= 12  # a 68 % interval (conservative: resampling widens it)


def test_smooth_model_beats_its_training_set() -> None:
    """The exact truth CDF sampled at will (an ideal model) is worth more than 100 points; the
    training points resampled are worth about 100."""
    rng = np.random.default_rng(5)
    reference = {"x": rng.normal(size=400_000)}
    truth = truth_reference(reference, n_quantiles=(10,), metrics=("chi2", "jsd"), n_boot=50)
    ideal = truth.compare({"x": rng.normal(size=200_000)}, train_size=100)
    assert all(r.factor > 20 for r in ideal.rows)
    train = rng.normal(size=100)
    resampled = truth.compare({"x": rng.choice(train, size=200_000)}, train_size=100)
    assert all(0.2 < r.factor < 5 for r in resampled.rows)


def test_equivalent_size_bounds() -> None:
    s = np.geomspace(10, 1e4, 10)
    assert equivalent_size(s, 9 / s, 9 / 250)[0] == pytest.approx(250, rel=1e-6)
    assert equivalent_size(s, 9 / s, 5.0) == (10.0, "upper")
    assert equivalent_size(s, 9 / s, 1e-6) == (1e4, "lower")


def test_jsd_small_deviation_limit() -> None:
    """For small deviations JSD = chi2 / (8 ln 2) (bits)."""
    p = np.full(10, 0.1)
    x = p + 1e-3 * np.array([1, -1] * 5)
    chi2 = np.sum((x - p) ** 2 / p)
    assert float(js_divergence(x, p)) == pytest.approx(chi2 / (8 * np.log(2)), rel=1e-3)


@pytest.mark.parametrize(("generated", "message"), [
    ({"x": np.zeros(150)}, "need at least 200"),
    ({"z": np.zeros(5000)}, "no feature 'x'"),
    ({"x": np.full(5000, np.nan)}, "non-finite"),
])
def test_bad_input(generated: dict[str, np.ndarray], message: str) -> None:
    reference = {"x": np.random.default_rng(6).normal(size=20_000)}
    with pytest.raises(InputError, match=message) as err:
        amplification(reference, generated, 100, n_quantiles=(20,), metrics=("chi2",))
    assert "\n" not in str(err.value)


def test_bad_train_size_and_metric() -> None:
    reference = {"x": np.random.default_rng(7).normal(size=20_000)}
    with pytest.raises(InputError, match="training size"):
        amplification(reference, reference, 0)
    with pytest.raises(InputError, match="unknown amplification metric"):
        amplification(reference, reference, 10, metrics=("ks",))


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``caloforge amplification`` on shower files: a table, JSON, a plot and a report; a
    generated file too small for n_Q = 20 is refused with one line and exit code 2."""
    from caloforge.cli.main import main

    shower_file = tmp_path / "showers.h5"
    write_showers(shower_file, make_showers(3000))

    out = tmp_path / "amp"
    code = main(["amplification", "--reference", str(shower_file), "--generated",
                 str(shower_file), "--train-size", "50", "--n-quantiles", "5",
                 "--features", "E_tot/E_inc,E_layer_1", "--joint", "E_layer_1:E_layer_2",
                 "--out", str(out), "--no-progress", "--bootstrap", "20"])
    printed = capsys.readouterr().out
    assert code == 0 and "E_layer_1 : E_layer_2" in printed
    data = json.loads((out / "amplification.json").read_text())
    assert {r["projection"] for r in data["rows"]} == {"E_tot/E_inc", "E_layer_1",
                                                       "E_layer_1 : E_layer_2"}
    assert (out / "amplification.png").stat().st_size > 0
    assert "Amplification" in (out / "report.html").read_text()
    code = main(["amplification", "--reference", str(shower_file), "--generated",
                 str(shower_file), "--train-size", "50", "--n-quantiles", "20", "--joint",
                 "E_layer_1:E_layer_2", "--out", str(tmp_path / "b"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "need at least" in err and len(err.splitlines()) == 1


def test_evaluate_train_size_adds_section(tmp_path: Path) -> None:
    """``evaluate_files(train_size=N)`` adds the amplification rows to metrics.json and the
    report (E_tot/E_inc and the layer energies)."""
    from caloforge.evaluate.runner import evaluate_files

    ref, gen = tmp_path / "ref.h5", tmp_path / "gen.h5"
    write_showers(ref, make_showers(6000, seed=1))
    write_showers(gen, make_showers(3000, seed=2))
    result = evaluate_files(ref, gen, tmp_path / "eval", modes="hist", train_size=300,
                            plots=False)  # random showers: E_tot/E_inc outside its plot range
    rows = result.metrics["amplification"]["rows"]
    assert {r["projection"] for r in rows} >= {"E_tot/E_inc", "E_layer_0"}
    assert all(r["n_eq"] > 0 for r in rows)
    assert "<h2>Amplification</h2>" in result.report_path.read_text()
