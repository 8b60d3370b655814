"""Recipes and run directories: stages in order with their status, resume of finished stages,
runs usable from any directory, byte-identical generation, the streamed data source, and the
baseline family on every geometry."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from caloforge import Run, generate
from caloforge.cli.main import main
from caloforge.data import read_showers, write_showers
from caloforge.generation import GenerationResult
from caloforge.simulate import simulate
from caloforge.train import FileSource, TensorSource, train_run
from caloforge.train.run import read_status
from caloforge.train.sources import showers_to_batch

TINY = {"*": {"epochs": 1, "batch_size": 256}}


@pytest.fixture(scope="module")
def ds1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "ds1.h5"
    write_showers(path, simulate("ds1-photons", n=1200, seed=5))
    return path


@pytest.fixture(scope="module")
def tiny_run(ds1: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train_run("caloflow", ds1, out, preset="tiny", train=TINY, progress=False)
    return out


def test_stages_run_in_order_and_a_finished_stage_is_kept(ds1: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run, reports = train_run("caloflow", ds1, out, preset="tiny", train=TINY,
                             stages=["teacher"], progress=False)
    assert [r.stage for r in reports] == ["teacher"] and run.done == ["teacher"]
    assert read_status(out)["teacher"]["status"] == "done" and "student" not in read_status(out)
    teacher_model = (out / "stages" / "teacher" / "model.pt").read_bytes()
    run, reports = train_run("caloflow", ds1, out, train=TINY, progress=False)
    assert [(r.stage, r.result is None) for r in reports] == [("teacher", True),
                                                              ("student", False)]
    assert run.done == ["teacher", "student"]
    assert (out / "stages" / "teacher" / "model.pt").read_bytes() == teacher_model
    assert run.stage_for("sample", "") == "student" and run.stage_for("log_prob", "") == "teacher"


def test_a_stage_needs_the_stages_before_it(ds1: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the finished stage"):
        train_run("caloflow", ds1, tmp_path / "r", preset="tiny", train=TINY,
                  stages=["student"], progress=False)


def test_runs_work_from_any_directory(ds1: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths at training time; distil and generate from elsewhere."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    os.link(ds1, tmp_path / "a" / "data.h5")
    monkeypatch.chdir(tmp_path / "a")
    assert main(["train", "--data", "data.h5", "-o", "run", "--preset", "tiny", "--epochs", "1",
                 "--stages", "teacher", "--no-progress"]) == 0
    monkeypatch.chdir(tmp_path / "b")
    assert main(["distill", "--run", "../a/run", "--epochs", "1", "--no-progress"]) == 0
    assert main(["generate", "--run", "../a/run", "-n", "20", "-o", "g.h5",
                 "--no-progress"]) == 0
    assert read_showers(tmp_path / "b" / "g.h5").voxels.shape == (20, 368)


def test_same_seed_gives_byte_identical_files(tiny_run: Path, tmp_path: Path) -> None:
    energies = np.geomspace(1e3, 1e6, 700)
    rng_before = torch.get_rng_state()
    paths = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        res = generate(tiny_run, energies, tmp_path / f"{name}.h5", seed=seed, batch_size=300)
        assert isinstance(res, GenerationResult) and res.n == 700
        paths.append(tmp_path / f"{name}.h5")
    assert torch.equal(torch.get_rng_state(), rng_before)  # no draw from the global RNG
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b and a != c
    va, vc = read_showers(paths[0]).voxels, read_showers(paths[2]).voxels
    assert not np.array_equal(va, vc)
    assert np.array_equal(read_showers(paths[0]).energies, energies)  # float64 kept as given
    in_memory = Run.load(tiny_run).sample(energies, seed=3, batch_size=300)
    assert np.array_equal(in_memory.voxels, va)


def test_file_source_streams_the_same_split(ds1: Path) -> None:
    showers = read_showers(ds1)
    tensors = showers_to_batch(showers, angles=False)
    memory = TensorSource(tensors, 0.1, seed=3)
    stream = FileSource(ds1, 0.1, seed=3, buffer_mb=0.1, blocks_per_buffer=3)
    assert stream.block_rows < 100 and (stream.n_train, stream.n_val) == (1080, 120)
    val_mem = torch.cat([b["energies"] for b in memory.val_batches(50)])
    val_str = torch.cat([b["energies"] for b in stream.val_batches(50)])
    assert torch.equal(val_mem.sort().values, val_str.sort().values)
    batches = list(stream.train_batches(epoch=2, batch_size=100))
    assert [len(b["energies"]) for b in batches] == [100] * 10 + [80]
    seen = torch.cat([b["energies"] for b in batches])
    train_mem = torch.cat([b["energies"] for b in memory.train_batches(0, 1000)])
    assert torch.equal(seen.sort().values, train_mem.sort().values)  # each row once
    again = list(stream.train_batches(epoch=2, batch_size=100, skip=4))
    assert all(torch.equal(x["voxels"], y["voxels"]) for x, y in zip(again, batches[4:],
                                                                      strict=True))
    other = torch.cat([b["energies"] for b in stream.train_batches(epoch=3, batch_size=100)])
    assert not torch.equal(other, seen)  # shuffled anew each epoch
    subset = stream.subset(300, seed=1)["energies"]
    assert len(subset) == 300 and torch.equal(subset, stream.subset(300, seed=1)["energies"])
    assert set(subset.tolist()) <= set(tensors["energies"].tolist())
    assert len(stream.subset(5000, seed=1)["energies"]) == 1200  # at most every shower


@pytest.mark.parametrize("geometry", ["ds1-photons", "calogan", "ild-photons", "ds3"])
def test_baseline_on_every_geometry(geometry: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Streamed (``stream=True``) and in memory give the same statistics; samples and
    densities have the geometry's shape."""
    path = tmp_path / "d.h5"
    write_showers(path, simulate(geometry, n=60, seed=1))
    runs = [train_run("baseline", path, tmp_path / name, stream=stream,
                      train={"*": {"batch_size": 16}}, progress=False)[0]
            for name, stream in (("m", False), ("s", True))]
    models = [r.model("fit") for r in runs]
    for key in ("count", "hits", "s1", "s2"):
        assert torch.allclose(getattr(models[0], key), getattr(models[1], key))
    sample = runs[0].sample(np.full(5, 3e4), seed=1)
    assert sample.voxels.shape == (5, runs[0].geometry.n_voxels)
    assert np.isfinite(runs[0].log_prob(read_showers(path))).all()
    if geometry == "calogan":  # the command says what the baseline's value is a density of
        assert main(["log-prob", str(path), "--run", str(tmp_path / "m"), "--no-progress"]) == 0
        assert "a probability for empty ones" in capsys.readouterr().out
