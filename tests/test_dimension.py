"""Intrinsic dimension (caloforge.evaluate.dimension, caloforge intrinsic-dim): d-dimensional
Gaussians and spheres embedded linearly and nonlinearly in 368 dimensions are recovered within
10 % at k in 10..20, scikit-dimension's MLE agrees, bad input ends in one line. The d = 20 bias
is measured by benchmarks/intrinsic_dimension.py (docs/dimension.md), not asserted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import make_showers

from caloforge.cli.main import main
from caloforge.data import write_showers
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.evaluate.dimension import (
    estimate_dimension,
    pointwise_mle,
    shower_dimension,
)

AMBIENT = 368  # ds1-photons' voxels
N_POINTS = 3000


def _manifold(kind: str, d: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a d-dimensional Gaussian or of the unit sphere S^d in R^(d+1)."""
    if kind == "gaussian":
        return rng.normal(size=(n, d))
    z = rng.normal(size=(n, d + 1))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _curve(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth injective map: ``z`` itself (so the map is a graph, hence injective and still a
    d-manifold) beside sin and cos of 2d random projections of about a radian's spread."""
    w = rng.normal(size=(z.shape[1], 2 * z.shape[1]))
    a = z @ (w / np.linalg.norm(w, axis=0))
    a /= a.std(0)
    return np.concatenate([z, np.sin(a), np.cos(a)], 1)


def _embed(f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Isometric linear map into :data:`AMBIENT` dimensions (random orthonormal columns)."""
    q, _ = np.linalg.qr(rng.normal(size=(AMBIENT, f.shape[1])))
    return f @ q.T


def _points(kind: str, embedding: str, d: int, n: int = N_POINTS, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng([seed, d])
    z = _manifold(kind, d, n, rng)
    return _embed(z if embedding == "linear" else _curve(z, rng), rng)


@pytest.mark.parametrize("d", [2, 5, 10])
@pytest.mark.parametrize("embedding", ["linear", "nonlinear"])
@pytest.mark.parametrize("kind", ["gaussian", "sphere"])
def test_synthetic_manifolds_within_ten_percent(kind: str, embedding: str, d: int) -> None:
    x = _points(kind, embedding, d)
    assert x.shape == (N_POINTS, AMBIENT)
    if embedding == "nonlinear":  # really curved: d principal components miss >= 15 %
        sv = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
        assert sv[:d].sum() / sv.sum() < 0.85
    est = estimate_dimension(x, (10, 20))
    assert est.ks.tolist() == list(range(10, 21))
    assert est.n_points == N_POINTS and est.n_duplicates == 0
    # MacKay-Ghahramani at every k of 10..20
    np.testing.assert_allclose(est.mackay_ghahramani, d, rtol=0.10)
    # Levina-Bickel's mean of m_k(x) carries E[m_k(x)] = d (k-1)/(k-2): within 10 % at k = 20
    assert abs(est.levina_bickel[-1] / d - 1) < 0.10
    assert np.all(est.levina_bickel > est.mackay_ghahramani)  # Jensen
    assert np.all(est.mackay_ghahramani_err > 0) and np.all(est.mackay_ghahramani_err < 0.05 * d)


def test_pointwise_mle_is_the_formula() -> None:
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0.1, 2.0, (4, 12)), axis=1)
    got = pointwise_mle(t, [2, 7, 12])
    for i, k in enumerate([2, 7, 12]):
        want = 1.0 / np.mean([np.log(t[:, k - 1] / t[:, j]) for j in range(k - 1)], axis=0)
        np.testing.assert_allclose(got[:, i], want, rtol=1e-12)


def test_agrees_with_scikit_dimension() -> None:
    """skdim.id.MLE (defaults: no noise model, (k-1) normalisation, the k neighbours after the
    point itself) with comb='mean' is Levina-Bickel and comb='mle' MacKay-Ghahramani."""
    skdim = pytest.importorskip("skdim")
    x = _points("sphere", "nonlinear", 5, n=1500, seed=3)
    est = estimate_dimension(x, (10, 20))
    for i, k in enumerate(est.ks):
        if k not in (10, 15, 20):
            continue
        lb = skdim.id.MLE().fit(x, n_neighbors=int(k), comb="mean").dimension_
        mg = skdim.id.MLE().fit(x, n_neighbors=int(k), comb="mle").dimension_
        assert est.levina_bickel[i] == pytest.approx(lb, rel=0.01)
        assert est.mackay_ghahramani[i] == pytest.approx(mg, rel=0.01)
        assert est.mackay_ghahramani[i] == pytest.approx(mg, rel=1e-9)  # in fact the same


def test_duplicates_are_dropped_and_counted() -> None:
    x = _points("gaussian", "linear", 2, n=500)
    est = estimate_dimension(np.concatenate([x, x[:40]]), 10)
    assert (est.n_points, est.n_duplicates) == (500, 40)
    assert est.ks.tolist() == [10] and np.isfinite(est.levina_bickel).all()
    assert est.mackay_ghahramani[0] == pytest.approx(estimate_dimension(x, 10)
                                                     .mackay_ghahramani[0])


@pytest.mark.parametrize(("k", "points", "match"), [
    (50, np.random.default_rng(0).normal(size=(30, 4)), "k = 50 needs more than 50"),
    (10, np.zeros((100, 3)), "k = 10 needs more than 10 distinct points, got 1"),
    (1, np.random.default_rng(0).normal(size=(30, 4)), "2 <= k_min"),
    ((12, 10), np.random.default_rng(0).normal(size=(30, 4)), "bad neighbour range"),
    (5, np.full((30, 4), np.nan), "finite values"),
])
def test_bad_input_is_one_line(k: object, points: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        estimate_dimension(points, k)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def _ds1_like(tmp_path: Path, per_energy: int = 120) -> Path:
    """Random showers at three discrete incident energies."""
    base = make_showers(3 * per_energy, seed=4)
    energies = np.repeat([1024.0, 8192.0, 65536.0], per_energy)
    path = tmp_path / "ds1.h5"
    write_showers(path, Showers(energies, base.voxels, geometry=base.geometry),
                  metadata={"seed": 0})
    return path


def test_shower_file_groups_and_draws(tmp_path: Path) -> None:
    path = _ds1_like(tmp_path)
    res = shower_dimension(path, (5, 8), max_points=100, progress=False, seed=1)
    assert [g.label for g in res.groups] == ["1.024 GeV", "8.192 GeV", "65.536 GeV", "inclusive"]
    assert [g.n_showers for g in res.groups] == [120, 120, 120, 360]
    assert all(g.estimate.n_points == 100 for g in res.groups)
    assert res.geometry == "ds1-photons" and res.preprocessing == "caloflow"
    again = shower_dimension(path, (5, 8), max_points=100, progress=False, seed=1)
    assert json.dumps(again.to_dict()) == json.dumps(res.to_dict())  # seeded draws
    log = shower_dimension(path, 6, max_points=0, preprocessing="log", progress=False)
    assert [g.estimate.n_points for g in log.groups] == [120, 120, 120, 360]
    cont = tmp_path / "cont.h5"  # continuous energies: log-spaced bins
    write_showers(cont, make_showers(200, seed=5), metadata={"seed": 0})
    res = shower_dimension(cont, (5, 8), energy_bins=2, progress=False)
    assert len(res.groups) == 3 and sum(g.n_showers for g in res.groups[:2]) == 200
    assert res.groups[0].label.endswith("GeV") and "-" in res.groups[0].label


def test_cli_writes_table_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    path, out = _ds1_like(tmp_path), tmp_path / "dim"
    args = ["intrinsic-dim", str(path), "--k", "5-8", "--max-points", "100", "-o", str(out),
            "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Levina-Bickel" in text and "MacKay-Ghahramani" in text
    assert "8.192 GeV" in text and "inclusive" in text
    data = json.loads((out / "dimension.json").read_text())
    assert (data["k_min"], data["k_max"]) == (5, 8)
    assert data["groups"][-1]["label"] == "inclusive"
    assert data["groups"][0]["k"] == [5, 6, 7, 8]
    assert (out / "k_scan.png").stat().st_size > 10_000
    assert main(args) == 2  # no overwrite without --force
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--force" in err and "\n" not in err
    assert main([*args, "--force"]) == 0


@pytest.mark.parametrize(("extra", "match"), [
    (["--k", "10-500"], "k = 500 needs more than 500 distinct points, got 300"),
    (["--k", "1"], "2 <= k_min"),
    (["--max-points", "5"], "max_points = 5"),
    (["--preprocessing", "log", "--energy-bins", "0"], "--energy-bins"),
])
def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   extra: list[str], match: str) -> None:
    path = _ds1_like(tmp_path, per_energy=100)
    assert main(["intrinsic-dim", str(path), "--no-progress", *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert match in err and err.startswith("caloforge: error:") and "\n" not in err
    assert not captured.out
