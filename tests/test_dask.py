"""Sharded generation and simulation on Dask (``--dask``, :mod:`caloforge.scale`): the rows
equal the sequential run's, a killed worker loses and duplicates nothing, a rerun makes only
the missing shards, the virtual-dataset output reads as one file, bad input is one line.

One LocalCluster of two worker processes serves the module (its start costs seconds)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import replace
from importlib.util import find_spec
from itertools import pairwise
from pathlib import Path

import h5py
import numpy as np
import pytest

pytest.importorskip("distributed")

from caloforge.cli.main import main
from caloforge.data import ShowerFile, read_showers, write_showers
from caloforge.errors import InputError
from caloforge.generation import generate
from caloforge.scale import (
    generate_sharded,
    merge_files,
    open_client,
    plan_shards,
    run_job,
    shards_dir,
    simulate_job,
    simulate_sharded,
)
from caloforge.scale.shards import ShardSpec, shard_path
from caloforge.scale.tasks import simulate_shard
from caloforge.simulate import ReferenceSimulator, load_config, simulate
from caloforge.train import train_run

#: ds1 photons with stored angles (normal incidence: oblique is slower): 2000 showers in 8
#: chunks.
FAST = {"n": 2000, "seed": 3, "chunk_size": 250,
        "incidence": {"theta_min_deg": 90.0, "theta_max_deg": 90.0, "store_angles": True}}


@pytest.fixture(scope="module")
def client():
    with open_client("local", workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def fast_cfg():
    return load_config("ds1-photons", FAST)


@pytest.fixture(scope="module")
def sequential(fast_cfg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seq") / "seq.h5"
    ReferenceSimulator(fast_cfg).write(path, progress=False)
    return path


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline")
    write_showers(folder / "train.h5", simulate("ds1-photons", n=400, seed=5))
    train_run("baseline", folder / "train.h5", folder / "run", train={"*": {"batch_size": 128}},
              progress=False)
    return folder / "run"


def _meta(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["caloforge"])


def _assert_same_rows(a: Path, b: Path) -> None:
    x, y = read_showers(a), read_showers(b)
    assert np.array_equal(x.energies, y.energies) and np.array_equal(x.voxels, y.voxels)
    for attr in ("theta", "phi", "particle"):
        u, v = getattr(x, attr), getattr(y, attr)
        assert (u is None) == (v is None), attr
        assert u is None or np.array_equal(u, v), attr


def _one_line_error(capsys: pytest.CaptureFixture[str], text: str) -> None:
    err = capsys.readouterr().err
    assert text in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_shards_are_contiguous_runs_of_whole_chunks() -> None:
    for n, chunk, k in [(2000, 250, 3), (2001, 250, 9), (10, 3, 1), (7, 1, 7)]:
        shards = plan_shards(n, chunk, k)
        assert [s.index for s in shards] == list(range(k))
        assert shards[0].rows[0] == 0 and shards[-1].rows[1] == n
        assert all(a.rows[1] == b.rows[0] and a.chunks[1] == b.chunks[0]
                   for a, b in pairwise(shards))
        assert all(s.rows[0] == s.chunks[0] * chunk and s.n > 0 for s in shards)
    assert len(plan_shards(5000, 1000, None)) == 5  # the default: at most one per chunk
    for k, message in [(0, "--shards must be >= 1"), (9, "more than the 8 chunks")]:
        with pytest.raises(InputError, match=message):
            plan_shards(2000, 250, k)


def test_sharded_simulation_equals_the_sequential_file(client, fast_cfg, sequential: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "a" / "sim.h5"
    result = simulate_sharded(fast_cfg, out, cluster=client, shards=3)
    assert (result.n, result.shards, result.reused, result.workers) == (2000, 3, 0, 2)
    _assert_same_rows(sequential, out)
    meta = _meta(out)
    assert meta.pop("shards") == {"count": 3, "folder": "sim.h5.shards"}
    assert meta == _meta(sequential)
    with h5py.File(out, "r") as f:
        assert f["showers"].is_virtual and sorted(f) == sorted(h5py.File(sequential, "r"))
        sources = {s.file_name for s in f["showers"].virtual_sources()}
    assert sources == {f"sim.h5.shards/shard-0000{k}.h5" for k in range(3)}
    shutil.move(tmp_path / "a", tmp_path / "moved")  # relative sources: the pair moves
    _assert_same_rows(sequential, tmp_path / "moved" / "sim.h5")
    energies = np.geomspace(1e3, 1e5, 700)  # given energies: chunk k takes rows of k
    cfg = load_config("ds1-photons", {"seed": 8, "chunk_size": 100})
    ReferenceSimulator(cfg).write(tmp_path / "seq_e.h5", energies=energies, progress=False)
    simulate_sharded(cfg, tmp_path / "e.h5", energies=energies, cluster=client, shards=3)
    _assert_same_rows(tmp_path / "seq_e.h5", tmp_path / "e.h5")


def test_sharded_generation_equals_the_sequential_file(client, baseline_run: Path,
                                                       tmp_path: Path) -> None:
    energies = np.geomspace(1e3, 1e6, 1100)
    seq = generate(baseline_run, energies, tmp_path / "seq.h5", seed=4, batch_size=250,
                   threads=1)
    result = generate_sharded(baseline_run, energies, tmp_path / "gen.h5", cluster=client,
                              shards=2, seed=4, batch_size=250)
    assert result.n == seq.n == 1100
    _assert_same_rows(tmp_path / "seq.h5", tmp_path / "gen.h5")
    meta = _meta(tmp_path / "gen.h5")
    assert meta.pop("shards")["count"] == 2 and meta == _meta(tmp_path / "seq.h5")


def test_the_command_line_shards_on_a_scheduler_address(client, baseline_run: Path,
                                                        tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    address = client.scheduler.address
    common = ["generate", "--run", str(baseline_run), "-n", "900", "--batch-size", "200",
              "--seed", "7", "--no-progress"]
    assert main([*common, "--threads", "1", "-o", str(tmp_path / "seq.h5")]) == 0
    assert main([*common, "--dask", address, "--shards", "3", "-o", str(tmp_path / "gen.h5")]) == 0
    assert "3 shards on 2 Dask workers" in capsys.readouterr().out
    _assert_same_rows(tmp_path / "seq.h5", tmp_path / "gen.h5")
    (tmp_path / "scheduler.json").write_text(json.dumps({"type": "Scheduler",  # as dask
                                                         "address": address}))  # scheduler
    assert main([*common, "--dask", str(tmp_path / "scheduler.json"), "--shards", "2",
                 "-o", str(tmp_path / "gen2.h5")]) == 0
    _assert_same_rows(tmp_path / "seq.h5", tmp_path / "gen2.h5")
    sim = ["simulate", "--geometry", "ds1-photons", "-n", "600", "--chunk-size", "200",
           "--seed", "2", "--no-progress"]
    assert main([*sim, "-o", str(tmp_path / "s.h5")]) == 0
    assert main([*sim, "--dask", address, "--shards", "2", "--merge",
                 "-o", str(tmp_path / "m.h5")]) == 0
    assert "merged" in capsys.readouterr().out
    _assert_same_rows(tmp_path / "s.h5", tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert not f["showers"].is_virtual
    assert not shards_dir(tmp_path / "m.h5").exists()


def test_a_rerun_makes_only_missing_or_broken_shards(client, fast_cfg, sequential: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "sim.h5"
    simulate_sharded(fast_cfg, out, cluster=client, shards=4)
    root = shards_dir(out)
    shard_path(root, 1).unlink()                                    # lost
    shard_path(root, 2).write_bytes(shard_path(root, 2).read_bytes()[:5000])   # cut short
    (root / ".shard-00003.h5.x1y2.tmp").write_bytes(b"\0" * 100)  # a killed writer's
    kept = shard_path(root, 0).stat().st_mtime_ns
    with pytest.raises(InputError, match="missing file"):  # never rows of zeros
        ShowerFile(out)
    with pytest.raises(InputError, match="already exists"):  # nothing to complete: refused
        simulate_sharded(load_config("ds1-photons", {**FAST, "seed": 4}), out, cluster=client,
                         shards=4)
    result = simulate_sharded(fast_cfg, out, cluster=client, shards=4)  # the same command
    assert (result.shards, result.reused) == (4, 2)
    assert shard_path(root, 0).stat().st_mtime_ns == kept
    assert not list(root.glob(".*.tmp"))
    _assert_same_rows(sequential, out)
    with pytest.raises(InputError, match="shards are complete"):
        simulate_sharded(fast_cfg, out, cluster=client, shards=4)
    other = tmp_path / "x.h5"
    shards_dir(other).mkdir()
    (shards_dir(other) / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="other settings"):
        simulate_sharded(fast_cfg, other, cluster=client, shards=4)


def _slow_shard(spec: ShardSpec) -> object:
    time.sleep(1.5)
    return simulate_shard(spec)


def test_a_killed_worker_loses_and_duplicates_nothing(client, fast_cfg, sequential: Path,
                                                       tmp_path: Path) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers get _slow_shard
    job = replace(simulate_job(fast_cfg, tmp_path / "sim.h5", shards=4), task=_slow_shard)
    before = client.run(os.getpid)
    done: dict[str, object] = {}
    runner = threading.Thread(target=lambda: done.update(result=run_job(job, cluster=client)))
    runner.start()
    deadline = time.monotonic() + 60
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # inside the task's sleep: the shard is not written yet
    victim = next(w for w, keys in client.processing().items() if keys)
    os.kill(before[victim], signal.SIGKILL)
    runner.join(timeout=120)
    assert "result" in done, "the run did not finish"
    assert before[victim] not in client.run(os.getpid).values()  # it was killed
    _assert_same_rows(sequential, tmp_path / "sim.h5")  # every row once, in order
    assert ShowerFile(tmp_path / "sim.h5").n == 2000


def test_info_and_evaluate_read_the_virtual_dataset(client, fast_cfg, sequential: Path,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    out = tmp_path / "sim.h5"
    simulate_sharded(fast_cfg, out, cluster=client, shards=2)
    assert main(["info", str(out)]) == 0
    assert "2000" in capsys.readouterr().out
    assert main(["evaluate", "--reference", str(sequential), "--generated", str(out),
                 "--mode", "hist", "--no-plots", "--no-progress", "-o", str(tmp_path / "e")]) == 0
    merged = merge_files([out], tmp_path / "plain.h5")  # a virtual file made plain
    _assert_same_rows(sequential, merged)
    with h5py.File(merged, "r") as f:
        assert not f["showers"].is_virtual and "shards" not in json.loads(f.attrs["caloforge"])


@pytest.mark.parametrize(("flags", "message"), [
    (["--shards", "0"], "--shards must be >= 1"),
    (["--shards", "50"], "more than the 3 chunks"),
    (["--dask", "nonsense"], "cannot connect to a Dask scheduler at 'nonsense'"),
    (["--dask", "tcp://127.0.0.1:1"], "cannot connect to a Dask scheduler at 'tcp://127.0.0"),
    (["--dask", "nowhere.json"], "scheduler file 'nowhere.json' not found"),
    (["--workers", "2"], "--workers belongs to --dask"),
    (["--signal", "chi-gg", "--mass", "500", "--distance", "100"], "--signal is not available"),
    (["--cut-mm", "1"], "--cut-mm belongs to --engine geant4"),
])
def test_bad_input_is_one_line(flags: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caloforge.scale.cluster.CONNECT_TIMEOUT_S", 1)
    if "--dask" not in flags and "--workers" not in flags:
        flags = ["--dask", "tcp://127.0.0.1:1", *flags]
    args = ["simulate", "--geometry", "ds1-photons", "-n", "30", "--chunk-size", "10",
            "-o", str(tmp_path / "x.h5"), *flags]
    if "--workers" in flags:
        args = ["generate", "--run", str(tmp_path), "-n", "5", "-o", str(tmp_path / "x.h5"),
                *flags]
    assert main(args) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "x.h5").exists()


def test_missing_dask_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caloforge.scale.cluster.find_spec", lambda _: None)
    assert main(["simulate", "-n", "20", "--dask", "local", "-o", str(tmp_path / "x.h5")]) == 2
    _one_line_error(capsys, "pip install 'caloforge[dask]'")


@pytest.mark.skipif(find_spec("geant4_pybind") is None, reason="needs caloforge[geant4]")
def test_geant4_shards_equal_the_sequential_geant4_file(client, tmp_path: Path) -> None:
    from caloforge.simulate.geant4 import simulate_geant4

    cfg = load_config("calogan", {"n": 4, "seed": 5, "particle": "positron", "chunk_size": 1,
                                  "spectrum": {"kind": "fixed", "e_min_mev": 2000.0}})
    simulate_geant4(cfg, tmp_path / "seq.h5", progress=False)
    result = simulate_sharded(cfg, tmp_path / "g4.h5", engine="geant4", cluster=client, shards=2)
    assert result.n == 4
    _assert_same_rows(tmp_path / "seq.h5", tmp_path / "g4.h5")
    meta = _meta(tmp_path / "g4.h5")
    meta.pop("shards")
    assert meta == _meta(tmp_path / "seq.h5")
    assert not list(shards_dir(tmp_path / "g4.h5").glob("*.parts"))
