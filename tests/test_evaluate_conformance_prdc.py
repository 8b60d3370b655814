"""The ``prdc`` mode against its definition (Naeem et al., arXiv:2002.09797) and the ``prdc``
package, and the terminal summary's format (one table: metric, value, error, n, floor, floor n,
verdict; negative unbiased estimates read "consistent with 0")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from caloforge import Showers, get_geometry
from caloforge.evaluate import compare_samples, load_samples
from caloforge.evaluate.modes import ALL_MODES, MODES
from caloforge.evaluate.prdc import prdc
from caloforge.evaluate.summary import summary_lines


def test_prdc_closed_form_on_a_line() -> None:
    """Reference 0, 1, ..., 9 and k = 1: every radius r_i is 1. Generated 0.5 and 20 (their
    k = 1 radii 19.5): precision 1/2 (0.5 is inside the balls of 0 and 1, 20 in none), density
    (2 + 0) / (1 * 2) = 1, recall 1 (every reference point lies within 19.5 of 0.5), coverage
    2/10 (only 0 and 1 have a generated point closer than 1)."""
    ref = np.arange(10.0)[:, None]
    gen = np.array([[0.5], [20.0]])
    got = {r.name: r for r in prdc(ref, gen, nearest_k=1, normalise=False, block=3)}
    assert got["prdc_precision"].value == pytest.approx(0.5)
    assert got["prdc_density"].value == pytest.approx(1.0)
    assert got["prdc_recall"].value == pytest.approx(1.0)
    assert got["prdc_coverage"].value == pytest.approx(0.2)
    assert got["prdc_coverage"].error == pytest.approx(np.sqrt(0.2 * 0.8 / 10))
    assert (got["prdc_coverage"].n_reference, got["prdc_coverage"].n_generated) == (10, 2)


def test_prdc_matches_the_prdc_package() -> None:
    """Block by block (memory O(block x N)) against ``prdc.compute_prdc`` (N x N matrices)."""
    oracle = pytest.importorskip("prdc")
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(600, 5))
    gen = 1.3 * rng.normal(size=(450, 5)) + 0.2
    expected = oracle.compute_prdc(real_features=ref, fake_features=gen, nearest_k=5)
    got = {r.name: r.value for r in prdc(ref, gen, normalise=False, block=128)}
    for key in ("precision", "recall", "density", "coverage"):
        assert got[f"prdc_{key}"] == pytest.approx(float(expected[key]), rel=1e-12), key


def test_prdc_draws_at_most_max_points_without_replacement() -> None:
    rng = np.random.default_rng(5)
    ref, gen = rng.normal(size=(300, 3)), rng.normal(size=(250, 3))
    out = prdc(ref, gen, max_points=200, seed=7)
    assert {(r.n_reference, r.n_generated) for r in out} == {(200, 200)}
    assert [r.value for r in out] == [r.value for r in prdc(ref, gen, max_points=200, seed=7)]


def test_prdc_is_a_mode_of_compare_samples(tmp_path: Any) -> None:
    from caloforge.data import write_showers

    assert "prdc" in MODES and "prdc" in ALL_MODES
    geo = get_geometry("ds1-photons")
    rng = np.random.default_rng(6)
    paths = []
    for k in range(2):
        voxels = rng.lognormal(1.0, 1.0, size=(120, 368)) * (rng.random((120, 368)) < 0.5)
        paths.append(write_showers(tmp_path / f"s{k}.h5", Showers(
            np.full(120, 4096.0), voxels, geometry="ds1-photons")))
    ref, gen = (load_samples(p, geo)[0] for p in paths)
    metrics = compare_samples(ref, gen, geo, ("prdc",))
    names = [d.name for d in metrics.distances]
    assert names == ["prdc_precision", "prdc_recall", "prdc_density", "prdc_coverage"]
    assert set(names) <= set(metrics.summary())


def _metrics(kpd_value: float, with_floor: bool) -> dict[str, Any]:
    hist = {"name": "E_layer_0", "separation": 0.01, "bootstrap_std": 0.002, "floor": 0.008,
            "floor_std": 0.002, "n_reference": 1000, "n_generated": 800}
    voxel = {**hist, "name": "E_voxel", "separation": 0.05}
    model = {"histograms": [hist, voxel],
             "classifiers": [{"mode": "cls-high", "auc": 0.53, "auc_err": 0.01,
                              "n_per_class": 400}],
             "distances": [{"name": "kpd", "value": kpd_value, "error": 2e-4,
                            "n_reference": 1000, "n_generated": 800},
                           {"name": "fpd", "value": 0.05, "error": 0.004,
                            "n_reference": 1000, "n_generated": 800}]}
    floor = None
    if with_floor:
        floor = {"classifiers": [{"mode": "cls-high", "auc": 0.51, "auc_err": 0.012,
                                  "n_per_class": 200}],
                 "distances": [{"name": "kpd", "value": -3e-5, "error": 1e-4,
                                "n_reference": 500, "n_generated": 500},
                               {"name": "fpd", "value": 0.004, "error": 0.002,
                                "n_reference": 500, "n_generated": 500}]}
    return {"generated_vs_reference": model, "reference_floor": floor,
            "reference": {"n": 1000}, "generated": {"n": 800}}


def _row(lines: list[str], metric: str) -> str:
    return next(line for line in lines if line.startswith(metric))


def test_summary_is_one_table_and_negative_kpd_is_consistent_with_zero() -> None:
    lines = summary_lines(_metrics(-1.5e-4, with_floor=True))
    header = lines[0].split()
    assert header[:4] == ["metric", "value", "error", "n"]
    assert "floor" in header and "verdict" in header
    kpd = _row(lines, "kpd")
    assert "consistent with 0" in kpd and "-0.00015" not in kpd and "-1.5e-04" not in kpd
    assert "1000/800" in kpd and "500/500" in kpd  # n and the floor's n
    auc = _row(lines, "cls-high AUC")
    assert "400/class" in auc and "200/class" in auc
    assert "separable" in auc or "floor" in auc
    fpd = _row(lines, "fpd")
    assert "above floor" in fpd
    voxel = _row(lines, "separation power E_voxel")
    assert "above floor" in voxel
    mean = _row(lines, "mean separation power")
    assert "1/2 at floor" in mean
    notes = " ".join(lines)
    assert "two random halves of the reference" in notes and "~500 showers each" in notes


def test_summary_without_floor_says_how_to_get_one() -> None:
    lines = summary_lines(_metrics(3e-4, with_floor=False))
    kpd = _row(lines, "kpd")
    assert "0.0003" in kpd and "consistent with 0" in kpd  # 3e-4 - 2 * 2e-4 < 0
    assert "--reference-split" in _row(lines, "fpd")
    assert any("--reference-split" in line for line in lines[-3:])
