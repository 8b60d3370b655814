"""Calibration and anomaly scores from trained (tiny) runs, the signal grid, and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from caloforge.applications.anomaly import (
    AnomalyStudyConfig,
    anomaly_scores,
    anomaly_study,
    decay_distance_mm,
)
from caloforge.applications.likelihood import calibrate_showers, run_log_likelihood
from caloforge.applications.regression import RegressionConfig, RegressorEnsemble
from caloforge.cli.main import main
from caloforge.data.io import read_showers, write_showers
from caloforge.geometry import get_geometry
from caloforge.simulate import simulate
from caloforge.simulate.config import load_config
from caloforge.simulate.simulator import ReferenceSimulator
from caloforge.tables import read_table
from caloforge.train.run import Run


@pytest.fixture(scope="module")
def calogan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "calogan.h5"
    spectrum = {"kind": "log-uniform", "e_min_mev": 5_000.0, "e_max_mev": 50_000.0}
    write_showers(path, simulate("calogan", n=3000, seed=3, particle="photon", spectrum=spectrum))
    return path


@pytest.fixture(scope="module")
def runs(calogan_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A Flow-I-only run (flow1 preset, few epochs) and a tiny Flow I + Flow II run."""
    root = tmp_path_factory.mktemp("runs")
    out = {"flow1": root / "flow1", "full": root / "full"}
    assert main(["train", "--data", str(calogan_file), "--out", str(out["flow1"]), "--preset",
                 "flow1", "--epochs", "12", "--batch-size", "256", "--no-progress"]) == 0
    assert main(["train", "--data", str(calogan_file), "--out", str(out["full"]), "--preset",
                 "tiny", "--epochs", "2", "--stages", "teacher", "--no-progress"]) == 0
    return out


def test_flow1_run_calibrates_and_refuses_whole_showers(runs: dict[str, Path]) -> None:
    """Flow I alone: MLE near the truth at 20 GeV (a few-epoch flow: 5 %), honest intervals;
    generating or scoring whole showers is refused with a one-line reason."""
    run = Run.load(runs["flow1"])
    assert "flow2" not in run.model("teacher").parameter_counts()
    assert 0.9 < run.config["data"]["response_median"] < 1.1
    showers = simulate("calogan", n=300, seed=8, particle="photon",
                       spectrum={"kind": "fixed", "e_min_mev": 20_000.0})
    res = calibrate_showers(run, showers)
    ratio = np.median(res.e_hat / 20_000.0)
    assert abs(ratio - 1.0) < 0.05
    pull = (res.e_hat - 20_000.0) / res.sigma
    assert 0.6 < np.std(pull) < 1.6
    with pytest.raises(ValueError, match="cannot generate showers: its model has no sample"):
        run.sample(np.full(2, 1e4))
    with pytest.raises(ValueError, match="cannot score whole showers: its model has no log_prob"):
        run_log_likelihood(run, showers, "full")


def test_full_likelihood_is_flow1_plus_flow2(runs: dict[str, Path]) -> None:
    """The 'full' likelihood at the true energies equals Run.log_prob (same dequantisation)."""
    run = Run.load(runs["full"])
    showers = simulate("calogan", n=20, seed=9, particle="photon")
    full = run_log_likelihood(run, showers, "full", seed=4)(showers.energies)
    np.testing.assert_allclose(full, run.log_prob(showers, seed=4), rtol=1e-5, atol=1e-3)
    scores = anomaly_scores(run, showers, response=1.0, seed=4)
    e_rec = showers.total_energy()
    np.testing.assert_allclose(scores, -run_log_likelihood(run, showers, "full", 4)(e_rec))


def test_signal_grid_separations() -> None:
    """The decay distance puts the photons at (just above) the target separation; 0 is
    collinear."""
    sim = ReferenceSimulator(load_config("calogan", {"particle": "photon"}))
    for sep in (0.0, 20.0, 100.0):
        dist = decay_distance_mm(sep, 50_000.0, 500.0)
        _, measured = sim.simulate_signal(500.0, dist, np.full(400, 50_000.0),
                                          np.random.default_rng(1))
        if sep == 0:
            assert np.all(measured == 0)
        else:
            assert sep * 0.95 < np.median(measured) < sep * 1.6


def test_anomaly_study_small(runs: dict[str, Path]) -> None:
    """End to end on a tiny grid: one row per point, AUCs in [0, 1], ROC curves kept."""
    cfg = AnomalyStudyConfig(energies_mev=[20_000.0], separations_mm=[0.0, 100.0], n=150)
    result = anomaly_study(Run.load(runs["full"]), cfg, progress=False)
    table = result.table()
    assert [row["d_mm"] for row in table] == [0.0, 100.0]
    assert all(0.0 <= row["flow_auc"] <= 1.0 and 0.0 <= row["sup_auc"] <= 1.0 for row in table)
    # a supervised classifier trained on 20 mm separates 100 mm pairs from single photons
    assert table[1]["sup_auc"] > 0.8
    assert len(result.points[0].flow.fpr) == len(result.points[0].flow.tpr) > 2


def test_regressor_ensemble_answers_in_mev() -> None:
    geo = get_geometry("calogan")
    train = simulate("calogan", n=2000, seed=4, particle="photon")
    ens = RegressorEnsemble(geo, RegressionConfig(members=2, max_iter=40)).fit(
        train.voxels, train.energies)
    test = simulate("calogan", n=200, seed=5, particle="photon",
                    spectrum={"kind": "fixed", "e_min_mev": 30_000.0})
    assert abs(np.median(ens.predict(test.voxels)) / 30_000.0 - 1.0) < 0.05


def test_calibrate_and_anomaly_commands(runs: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    test = tmp_path / "test.h5"
    write_showers(test, simulate("calogan", n=40, seed=6, particle="photon"))
    cal = tmp_path / "cal.h5"
    assert main(["calibrate", str(test), "--run", str(runs["flow1"]), "--ensemble",
                 str(runs["flow1"]), "-o", str(cal)]) == 0
    cols, attrs = read_table(cal)
    assert "calibrating" in capsys.readouterr().err  # a progress bar (--no-progress hides it)
    assert set(cols) >= {"e_hat", "sigma_left", "sigma_right", "sigma", "incident_energies"}
    assert len(cols["e_hat"]) == 40 and np.all(cols["sigma"] > 0)
    assert json.loads(attrs["runs"]) and attrs["part"] == "layers"
    assert main(["calibrate", "--run", str(runs["flow1"]), str(test), "-o", str(cal)]) == 2
    assert "already exists" in capsys.readouterr().err
    scores = tmp_path / "scores.h5"
    assert main(["anomaly-score", "--run", str(runs["full"]), str(test), "-o", str(scores)]) == 0
    assert "scoring" in capsys.readouterr().err
    assert np.all(np.isfinite(read_table(scores)[0]["score"]))
    assert main(["anomaly-score", "--run", str(runs["flow1"]), str(test), "-o",
                 str(tmp_path / "s2.h5")]) == 2
    assert "has no log_prob() (ShowerDensity)" in capsys.readouterr().err


def test_bad_inputs_give_one_line_errors(runs: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Wrong geometry and a file without incident energies are refused without traceback."""
    ds1 = tmp_path / "ds1.h5"
    write_showers(ds1, simulate("ds1-photons", n=10, seed=1))
    assert main(["calibrate", "--run", str(runs["flow1"]), str(ds1), "-o",
                 str(tmp_path / "c.h5")]) == 2
    err = capsys.readouterr().err
    assert "voxels" in err and "Traceback" not in err
    no_e = tmp_path / "noe.h5"
    with h5py.File(no_e, "w") as f:
        f["showers"] = read_showers(ds1).voxels[:, :1].repeat(504, 1)
    assert main(["anomaly-score", "--run", str(runs["full"]), str(no_e), "-o",
                 str(tmp_path / "a.h5")]) == 2
    err = capsys.readouterr().err
    assert "incident_energies" in err and "Traceback" not in err


def test_anomaly_study_command_writes_table_json_and_plots(runs: dict[str, Path],
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    out = tmp_path / "study"
    assert main(["anomaly-study", "--run", str(runs["full"]), "-o", str(out), "-n", "40",
                 "--energies", "20000", "--separations", "0", "50", "--no-progress"]) == 0
    assert "flow_auc" in capsys.readouterr().out
    data = json.loads((out / "study.json").read_text())
    assert [row["d_mm"] for row in data["table"]] == [0.0, 50.0]
    assert (out / "anomaly_roc_si.png").stat().st_size > 10_000
    assert main(["anomaly-study", "--run", str(runs["full"]), "-o", str(out), "-n", "5"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_calibration_plots(tmp_path: Path) -> None:
    from caloforge.applications.plots import plot_calibration, plot_pulls

    curve = {"response": [1.0, 1.01], "response_err": [0.01, 0.01],
             "resolution": [0.05, 0.02], "predicted": [0.05, 0.02]}
    png = plot_calibration([5.0, 50.0], {"flow": curve}, tmp_path / "r.png")
    pulls = plot_pulls({"flow": np.random.default_rng(0).normal(size=500)}, tmp_path / "p.png")
    assert png.stat().st_size > 10_000 and pulls.stat().st_size > 10_000


def test_ensemble_members_train_and_calibrate(calogan_file: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """train --members 2 makes OUT/member-0, member-1 (seeds 3, 4); calibrate --run OUT uses
    both; a folder holding neither is refused."""
    out = tmp_path / "ens"
    assert main(["train", "--data", str(calogan_file), "--out", str(out), "--preset", "flow1",
                 "--epochs", "1", "--members", "2", "--seed", "3", "--no-progress"]) == 0
    seeds = [Run.load(out / f"member-{k}").recipe.train.seed for k in (0, 1)]
    assert seeds == [3, 4]
    test = tmp_path / "t.h5"
    write_showers(test, simulate("calogan", n=20, seed=2, particle="photon"))
    assert main(["calibrate", str(test), "--run", str(out), "-o", str(tmp_path / "c.h5")]) == 0
    assert len(json.loads(read_table(tmp_path / "c.h5")[1]["runs"])) == 2
    (tmp_path / "empty").mkdir()
    assert main(["calibrate", str(test), "--run", str(tmp_path / "empty"), "-o",
                 str(tmp_path / "d.h5")]) == 2
    assert "neither a caloforge run" in capsys.readouterr().err
