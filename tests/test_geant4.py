"""The Geant4 engine's run control: inputs, the missing extra, determinism, kill and resume,
no network. Geant4 itself runs in worker processes; the runs here are tiny."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from importlib.util import find_spec
from pathlib import Path

import h5py
import numpy as np
import pytest

from caloforge.cli.main import main
from caloforge.errors import InputError
from caloforge.simulate import load_config
from caloforge.simulate.geant4.parts import open_parts, parts_dir, read_part, write_part
from caloforge.simulate.geant4.readout import cell_index_map

needs_geant4 = pytest.mark.skipif(find_spec("geant4_pybind") is None,
                                  reason="needs caloforge[geant4]")
EXE = Path(sys.executable).parent / "caloforge"
CLI = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "caloforge.cli.main"]
#: A tiny Geant4 job: calogan positrons of 2 GeV, one shower per chunk.
TINY = ["simulate", "--engine", "geant4", "--geometry", "calogan", "--particle", "positron",
        "--energy", "2000", "--chunk-size", "1", "--seed", "5", "--no-progress"]


def _one_line_error(capsys: pytest.CaptureFixture[str], text: str) -> None:
    err = capsys.readouterr().err
    assert text in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("flags", "message"), [
    (["--energy", "-5"], "fixed energy must be > 0 MeV"),
    (["--particle", "pion"], "not yet supported"),
    (["--particle", "muon"], "unknown particle 'muon'"),
    (["--geometry", "nope"], "no simulation preset or config 'nope'"),
    (["--signal", "chi-gg", "--mass", "500", "--distance", "100"], "not available with --engine"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--cut-mm", "-1"], "production cut must be > 0 mm"),
    (["--cut-mm", "nan"], "production cut must be > 0 mm"),
])
def test_bad_geant4_input_is_one_line(flags: list[str], message: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caloforge.simulate.geant4.environment.find_spec", lambda _: object())
    args = ["simulate", "--engine", "geant4", "--geometry", "calogan", "-n", "2",
            "-o", str(tmp_path / "x.h5"), *flags]
    assert main(args) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "x.h5").exists() and not parts_dir(tmp_path / "x.h5").exists()


def test_unbuildable_inputs_are_refused(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from caloforge.geometry.cylindrical import CylindricalGeometry, CylindricalLayer
    from caloforge.simulate.geant4 import simulate_geant4

    monkeypatch.setattr("caloforge.simulate.geant4.environment.find_spec", lambda _: object())
    bare = CylindricalGeometry("bare", [CylindricalLayer(0, (0.0, 10.0), 1)])
    with pytest.raises(InputError, match="has no material stack"):
        simulate_geant4(load_config("ds2", {"n": 1}), tmp_path / "x.h5", geometry=bare)
    with pytest.raises(InputError, match=r"phi must lie in \(-90, 90\)"):
        load_config("ild-photons", {"incidence": {"phi_deg": 90.0}})
    assert not list(tmp_path.iterdir())


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--engine", "geant5", "-o", str(tmp_path / "x.h5")])
    assert info.value.code == 2


def test_geant4_flags_need_the_geant4_engine(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "-n", "2", "--resume", "-o", str(tmp_path / "x.h5")]) == 2
    _one_line_error(capsys, "belong to --engine geant4")


def test_missing_extra_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caloforge.simulate.geant4.environment.find_spec", lambda _: None)
    assert main(["simulate", "--engine", "geant4", "-n", "2", "-o", str(tmp_path / "x.h5")]) == 2
    _one_line_error(capsys, "pip install 'caloforge[geant4]'")


def test_cell_maps_cover_every_voxel_once() -> None:
    from caloforge.geometry import get_geometry

    for name in ("ds1-photons", "ds2", "ds3", "calogan", "ild-photons"):
        geo = get_geometry(name)
        shape, lookup = cell_index_map(geo)
        used = lookup[lookup >= 0]
        assert shape[0] == geo.n_layers and len(lookup) == np.prod(shape)
        np.testing.assert_array_equal(np.sort(used), np.arange(geo.n_voxels))


def test_parts_refuse_a_foreign_or_unannounced_run(tmp_path: Path) -> None:
    root = parts_dir(tmp_path / "out.h5")
    assert open_parts(root, {"seed": 1}, resume=False, force=False) == set()
    write_part(root, 0, {"cells": np.ones((2, 3))})
    with pytest.raises(InputError, match="add --resume"):
        open_parts(root, {"seed": 1}, resume=False, force=False)
    with pytest.raises(InputError, match="other settings"):
        open_parts(root, {"seed": 2}, resume=True, force=False)
    assert open_parts(root, {"seed": 1}, resume=True, force=False) == {0}
    assert open_parts(root, {"seed": 2}, resume=False, force=True) == set()
    assert not list(root.glob("chunk-*"))


def test_calogan_preset_is_caloGAN_stack() -> None:
    from caloforge.geometry import get_geometry

    stack = get_geometry("calogan").materials
    assert stack is not None
    assert {(m.absorber.name, m.absorber_mm, m.active.name, m.active_mm)
            for m in stack.layers} == {("Pb", 2.0, "LAr", 4.0)}
    assert [m.thickness_mm for m in stack.layers] == [90.0, 348.0, 42.0]
    assert load_config("calogan").readout.energy_scale == "total"


def _read(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path) as f:
        return {key: f[key][:] for key in f}


@pytest.mark.slow
@needs_geant4
def test_same_seed_same_file_whatever_the_workers(tmp_path: Path) -> None:
    runs = {}
    for name, workers, seed in (("a", "1", "5"), ("b", "2", "5"), ("c", "2", "6")):
        args = [*TINY, "-n", "4", "--workers", workers, "-o", str(tmp_path / f"{name}.h5")]
        args[args.index("--seed") + 1] = seed
        assert main(args) == 0
        runs[name] = _read(tmp_path / f"{name}.h5")
    assert runs["a"].keys() == runs["b"].keys()
    for key in runs["a"]:
        np.testing.assert_array_equal(runs["a"][key], runs["b"][key])
    assert not np.array_equal(runs["a"]["showers"], runs["c"]["showers"])
    with h5py.File(tmp_path / "a.h5") as f:
        meta = f.attrs["caloforge"]
    for word in ('"engine": "geant4"', '"geant4_version": "11.4.1"', '"physics_list"',
                 '"cut_mm": 0.7', '"seed": 5'):
        assert word in meta


@pytest.mark.slow
@needs_geant4
def test_kill_keeps_finished_chunks_and_resume_completes(tmp_path: Path) -> None:
    out = tmp_path / "killed.h5"
    args = [*TINY, "-n", "12", "--workers", "2", "-o", str(out)]
    proc = subprocess.Popen([*CLI, *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = parts_dir(out)
    deadline = time.monotonic() + 240
    while len(list(root.glob("chunk-*.npz"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "no chunks appeared"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)          # the command and its workers, as kill -9
    proc.wait()
    kept = sorted(root.glob("chunk-*.npz"))
    assert 3 <= len(kept) < 12 and not out.exists()
    for path in kept:                            # every kept chunk is complete
        assert read_part(root, int(path.stem.split("-")[1]))["cells"].shape == (1, 504)
    assert main([*args[:-2], "-o", str(out)]) == 2          # refuses without --resume
    assert main([*args, "--resume"]) == 0
    assert not root.exists()
    assert main([*args, "--resume"]) == 2                  # complete: nothing to resume
    assert main([*TINY, "-n", "12", "-o", str(tmp_path / "straight.h5")]) == 0
    resumed, straight = _read(out), _read(tmp_path / "straight.h5")
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key])


@pytest.mark.slow
@needs_geant4
def test_a_dead_worker_ends_the_run_at_once_and_resume_completes(tmp_path: Path) -> None:
    out = tmp_path / "dead.h5"
    args = [*TINY, "-n", "40", "--workers", "2", "-o", str(out)]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    root = parts_dir(out)
    deadline = time.monotonic() + 240
    while not list(root.glob("chunk-*.npz")) or len(list(root.glob("worker-*.log"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "no chunks appeared"
        time.sleep(0.1)
    victim = int(sorted(root.glob("worker-*.log"))[0].stem.split("-")[1])
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)          # ends promptly, not after the others
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"pid {victim}) died" in err and "--resume" in err and "worker-" in err
    assert list(root.glob("chunk-*.npz"))
    assert main([*args, "--resume"]) == 0
    assert len(_read(out)["showers"]) == 40


SITE = """
import os, sys
LOG = os.environ["CALOFORGE_TEST_NET_LOG"]
def _hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        with open(LOG, "a") as f:
            f.write(f"{os.getpid()} {event} {args!r}\\n")
        raise RuntimeError("network use in a test of caloforge")
sys.addaudithook(_hook)
"""


@pytest.mark.slow
@needs_geant4
def test_ci_run_makes_no_network_call(tmp_path: Path) -> None:
    """With CI=true (which makes geant4-pybind download its data when nothing stops it), the
    acceptance command runs with a socket audit hook in every process (sitecustomize)."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(textwrap.dedent(SITE))
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("G4", "GEANT4", "CALOFORGE"))}
    env |= {"CI": "true", "CALOFORGE_TEST_NET_LOG": str(log),
            "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), env.get("PYTHONPATH", "")])}
    out = tmp_path / "g4.h5"
    run = subprocess.run([*CLI, "simulate", "--engine", "geant4", "--geometry", "calogan",
                          "--particle", "positron", "-n", "4", "--energy", "3000", "-o", str(out)],
                         env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert not log.exists(), log.read_text()
    info = subprocess.run([*CLI, "info", str(out)], env=env, capture_output=True, text=True,
                          check=False)
    assert info.returncode == 0 and "Geant4 11.4.1" in info.stdout
    # the hook is live in the worker processes too: it does catch a connect
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection("
                            "('127.0.0.1', 9))"], env=env, capture_output=True, text=True,
                           check=False)
    assert probe.returncode != 0 and "socket." in log.read_text()


def test_reference_plans_meet_the_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from caloforge.simulate.geant4 import reference

    for preset, sets in reference.REFERENCE_PLANS.items():
        fixed = {s.energy_mev: s.n for s in sets if s.energy_mev is not None}
        if fixed:
            assert fixed[10_000.0] >= 2000 and fixed[100_000.0] >= 1000, preset
        load_config(preset, sets[0].overrides(1))          # every plan is a valid config
    monkeypatch.setenv("CALOFORGE_DATA_DIR", str(tmp_path))
    assert main(["reference-set", "ds2", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all("missing" in line and str(tmp_path) in line for line in out)
    with pytest.raises(InputError, match="no Geant4 reference set"):
        reference.plan("ds1-pions")


def test_real_geant4_data_selects_the_stock_physics(tmp_path: Path) -> None:
    from caloforge.simulate.geant4.environment import physics_mode

    assert physics_mode({"G4LEDATA": str(tmp_path)}) == "datafree"       # empty: no data
    (tmp_path / "brem_SB").mkdir()
    assert physics_mode({"G4LEDATA": str(tmp_path)}) == "stock"
    assert physics_mode({}) == "datafree"


def test_reference_sets_are_reused_and_resumed(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from caloforge.simulate.geant4 import engine, reference

    calls: list[tuple[str, bool, bool]] = []

    def fake(cfg: object, out: Path, **kw: object) -> engine.Geant4Result:
        calls.append((Path(out).name, bool(kw["resume"]), bool(kw["force"])))
        return engine.Geant4Result(Path(out), 0, 1.0)

    monkeypatch.setattr(engine, "simulate_geant4", fake)
    one, ten, hundred = reference.plan("calogan")
    for cached in (reference.path_of(one, 1, tmp_path), reference.path_of(ten, 1, tmp_path)):
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.touch()
    parts_dir(reference.path_of(hundred, 1, tmp_path)).mkdir()
    done = reference.build("calogan", root=tmp_path, progress=False)
    assert [status for _, _, status in done] == ["cached", "cached", "1 s"]
    assert calls == [(reference.path_of(hundred, 1, tmp_path).name, True, False)]
    calls.clear()
    reference.build("calogan", root=tmp_path, force=True, progress=False)
    assert [c[2] for c in calls] == [True, True, True] and not any(c[1] for c in calls)
    # another seed, or settings that change the set, name another file
    assert reference.path_of(ten, 2, tmp_path) != cached
    assert reference.settings_key(ten, 1) == cached.stem.rsplit("-", 1)[1]
