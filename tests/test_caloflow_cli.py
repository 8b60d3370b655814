"""CaloFlow end to end through the command line: train -> distill -> generate, log-prob, errors,
resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import simulate_file

from caloforge.cli.main import main
from caloforge.data import read_showers
from caloforge.data.io import ShowerFile
from caloforge.train.run import Run


@pytest.fixture(scope="module")
def ds1_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_file(tmp_path_factory.mktemp("data") / "ds1.h5", "ds1-photons", 2000, 3)


@pytest.fixture(scope="module")
def ild_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_file(tmp_path_factory.mktemp("data") / "ild.h5", "ild-photons", 3)


@pytest.fixture(scope="module")
def runs(ds1_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``--preset tiny --epochs 1``: the teacher stage, then a student in a copy of the run."""
    base = tmp_path_factory.mktemp("runs")
    teacher, student = base / "teacher", base / "student"
    assert main(["train", "--model", "caloflow", "--data", str(ds1_file), "--out", str(teacher),
                 "--preset", "tiny", "--epochs", "1", "--stages", "teacher",
                 "--no-progress"]) == 0
    assert main(["distill", "--run", str(teacher), "-o", str(student), "--epochs", "1",
                 "--no-progress"]) == 0
    return teacher, student


def test_train_distill_generate(runs: tuple[Path, Path], ds1_file: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    teacher, student = runs
    for run in runs:
        assert {p.name for p in run.iterdir()} == {"config.yaml", "status.json", "stages"}
        assert (run / "stages" / "teacher" / "metrics.csv").is_file()
    assert Run.load(teacher).done == ["teacher"]
    assert Run.load(student).done == ["teacher", "student"]
    assert not (student / "stages" / "teacher" / "checkpoints" / "last.pt").exists()
    out = tmp_path / "gen.h5"
    assert main(["generate", "--run", str(student), "-n", "500", "-o", str(out),
                 "--batch-size", "200", "--no-progress"]) == 0
    gen = read_showers(out)
    assert gen.voxels.shape == (500, 368) and gen.geometry == "ds1-photons"
    assert np.isfinite(gen.voxels).all() and gen.voxels.min() >= 0
    ratio = gen.total_energy() / gen.energies
    assert 0.3 < np.median(ratio) < 1.5  # even a 1-epoch model keeps the energy scale
    assert main(["generate", "--run", str(student), "-n", "5", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    energies_out = tmp_path / "gen_e.h5"
    assert main(["generate", "--run", str(teacher), "--energies", str(ds1_file), "-n", "50",
                 "-o", str(energies_out), "--no-progress"]) == 0  # the MAF samples slowly
    gen = read_showers(energies_out)
    assert np.array_equal(gen.energies, read_showers(ds1_file).energies[:50])


def test_log_prob_cli_and_api(runs: tuple[Path, Path], ds1_file: Path, tmp_path: Path) -> None:
    teacher, _ = runs
    out = tmp_path / "ll.npy"
    assert main(["log-prob", str(ds1_file), "--run", str(teacher), "-o", str(out),
                 "--no-progress"]) == 0
    values = np.load(out)
    run = Run.load(teacher)
    api = run.log_prob(read_showers(ds1_file))
    assert values.shape == (2000,) and np.allclose(values, api)
    flow_space = run.log_prob(read_showers(ds1_file), physical=False)
    assert not np.allclose(flow_space, api)  # the Jacobian matters
    showers = read_showers(ds1_file)
    as_matrix = run.log_prob(showers.voxels, energies=showers.energies)
    assert np.allclose(as_matrix, api)
    doubled = run.log_prob(showers, energies=2 * showers.energies)
    assert doubled.mean() < api.mean()  # wrong incident energies are less likely


def test_other_geometry_is_refused(runs: tuple[Path, Path], ild_file: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    teacher, student = runs
    assert main(["log-prob", str(ild_file), "--run", str(teacher)]) == 2
    err = capsys.readouterr().err
    assert "54000 voxels" in err and "ds1-photons" in err and len(err.strip().splitlines()) == 1
    assert main(["generate", "--run", str(student), "--energies", str(ild_file), "-o",
                 str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "ild-photons" in err and "Traceback" not in err
    assert not (tmp_path / "x.h5").exists()


def test_bad_run_and_out_dirs(ds1_file: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--run", str(tmp_path), "-n", "3", "-o", str(tmp_path / "g.h5")]) == 2
    assert "not a caloforge run directory" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["train", "--data", str(ds1_file), "--out", str(tmp_path), "--preset", "tiny",
                 "--force"]) == 2
    assert "not a caloforge run directory" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").exists()
    assert main(["train", "--data", str(ds1_file), "--out", str(tmp_path / "r"),
                 "--preset", "nope"]) == 2
    assert "no caloflow preset or recipe 'nope'" in capsys.readouterr().err


def test_large_geometry_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds2 = tmp_path / "ds2.h5"
    assert main(["simulate", "--geometry", "ds2", "-n", "3", "-o", str(ds2),
                 "--no-progress"]) == 0
    assert main(["train", "--data", str(ds2), "--out", str(tmp_path / "r"),
                 "--preset", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "6480 voxels" in err and "iCaloFlow" in err
    assert not (tmp_path / "r").exists()


def test_killed_training_resumes_and_finishes(ds1_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "caloforge.cli.main", "train", "--data", str(ds1_file),
           "--out", str(out), "--preset", "tiny", "--epochs", "3", "--checkpoint-every", "0",
           "--stages", "teacher", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stage = out / "stages" / "teacher"
    last = stage / "checkpoints" / "last.pt"
    deadline = time.time() + 60
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert last.exists(), "no checkpoint was written before the kill"
    assert not (stage / "metrics.json").exists() or "null" in (stage / "metrics.json").read_text()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    rows = (stage / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert ShowerFile(ds1_file).n == 2000
