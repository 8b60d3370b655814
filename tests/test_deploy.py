"""Export for Geant4: ONNX (Par04) and TorchScript (DDML) graphs of a run's sampler, their
parity with caloforge, the Par04 voxel order, fresh environments and refused families."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.conftest import simulate_file

from caloforge.cli.main import main
from caloforge.deploy import ExportedSampler, IOLayout, SamplerGraph, export_run, to_par04
from caloforge.deploy.export import check_parity, write_graph
from caloforge.deploy.layout import par04_order
from caloforge.errors import InputError
from caloforge.models.base import Conditions
from caloforge.models.caloflow import CaloFlow, CaloFlowConfig
from caloforge.models.flows import FlowSpec
from caloforge.preprocess import PreprocessingState
from caloforge.seeds import derive, torch_generator
from caloforge.train.run import Run

#: The acceptance bound: largest voxel difference over the shower energy.
PARITY = 1e-5


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ds1-photons CaloFlow run, teacher and distilled student (one epoch each)."""
    base = tmp_path_factory.mktemp("deploy")
    data, run = base / "ds1.h5", base / "run"
    simulate_file(data, "ds1-photons", 600, 3)
    assert main(["train", "--model", "caloflow", "--data", str(data), "--out", str(run),
                 "--preset", "tiny", "--epochs", "1", "--no-progress"]) == 0
    return run


def _rows(run: Run, n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Input rows drawn as ``generate`` draws its noise, and caloforge's showers for them."""
    model = run.model_for("sample", "generate showers")
    energies = np.geomspace(1e3, 1e6, n)
    cond = Conditions.from_numpy(energies)
    noise = model.draw_noise(n, generator=torch_generator(derive(seed, "generate", 0)))
    with torch.no_grad():
        expected = model.sample(cond, generator=torch_generator(derive(seed, "generate", 0)))
    assert torch.equal(model.sample_from_noise(noise, cond), expected)  # the NoiseSampler rule
    layout = IOLayout(latent=model.latent_features, n_voxels=368, layout="calochallenge")
    return layout.rows(noise.numpy(), energies), expected.numpy()


def _max_rel(got: np.ndarray, expected: np.ndarray) -> float:
    diff = np.abs(got.astype(np.float64) - expected).max(axis=1)
    return float((diff / np.maximum(expected.sum(axis=1), 1e-30)).max())


def test_torchscript_matches_caloforge_at_any_batch(student: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds1.pt"
    result = export_run(student, out, fmt="torchscript")
    assert result.stage == "student" and result.parity["max_rel_diff"] <= PARITY
    meta = json.loads((tmp_path / "ds1.pt.json").read_text())
    assert meta["input"]["shape"] == ["batch", 373 + 3] and meta["output"]["unit"] == "MeV"
    assert meta["layout"]["layout"] == "calochallenge"  # ds1 layers differ: no Par04 grid
    rows, expected = _rows(Run.load(student), 9)
    module = torch.jit.load(str(out))
    for n in (1, 9):  # the traced graph keeps the batch dimension free
        x = torch.from_numpy(rows[:n])
        got = module([x]).numpy()
        assert _max_rel(got, expected[:n]) <= PARITY
        split = module([x[:, :373], x[:, 373:]]).numpy()  # DDML: a list of tensors
        assert np.array_equal(split, got)


def test_export_refuses_a_family_without_a_noise_map(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    data, run = tmp_path / "ds1.h5", tmp_path / "base"
    assert main(["simulate", "--geometry", "ds1-photons", "-n", "200", "-o", str(data),
                 "--no-progress"]) == 0
    assert main(["train", "--model", "baseline", "--data", str(data), "--out", str(run),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["export", "--run", str(run), "-o", str(tmp_path / "b.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot be exported" in err and "latent noise" in err
    assert not (tmp_path / "b.onnx").exists()
    with pytest.raises(InputError, match="unknown export format"):
        export_run(run, tmp_path / "b.x", fmt="tflite")  # type: ignore[arg-type]


def test_existing_files_need_force(student: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    out.write_text("keep me")
    with pytest.raises(InputError, match="--force"):
        export_run(student, out, fmt="torchscript")
    assert out.read_text() == "keep me"


def test_par04_order_is_r_phi_z() -> None:
    # 2 layers of 3 radial x 2 alpha bins; CaloChallenge index = z * 6 + alpha * 3 + r
    cc = np.array([[100 * z + 10 * a + r for z in range(2) for a in range(2) for r in range(3)]])
    par04 = to_par04(cc, (3, 2, 2)).reshape(3, 2, 2)  # (R, phi, Z)
    for r in range(3):
        for a in range(2):
            for z in range(2):
                assert par04[r, a, z] == 100 * z + 10 * a + r


def test_par04_graph_and_runtime_round_trip(tmp_path: Path) -> None:
    """A CaloFlow on a regular 3-layer grid: the exported graph returns Par04 order and the
    runtime turns it back into CaloChallenge order."""
    spec = FlowSpec(transforms=1, hidden=[8], bins=4)
    model = CaloFlow(CaloFlowConfig(PreprocessingState(layer_sizes=[6, 6, 6]), spec,
                                    FlowSpec(kind="iaf", transforms=1, hidden=[8], bins=4)))
    gen = torch.Generator().manual_seed(0)
    model.fit_preprocessing({"energies": torch.full((32,), 1e4),
                             "voxels": torch.rand(32, 18, generator=gen) * 50})
    model.eval()
    lay = IOLayout(latent=21, n_voxels=18, layout="par04", grid=[3, 2, 3])
    cond = Conditions.from_numpy(np.array([2e3, 5e3, 3e4]))
    noise = model.draw_noise(3, generator=gen)
    rows = lay.rows(noise.numpy(), cond.energy.numpy())
    with torch.no_grad():
        expected = model.sample_from_noise(noise, cond).numpy()
        graph_out = SamplerGraph(model, lay)(torch.from_numpy(rows)).numpy()
    assert np.array_equal(graph_out, expected[:, par04_order((3, 2, 3))])
    out = tmp_path / "par04.pt"
    write_graph(model, lay, out, "torchscript", rows[:2])
    sampler = ExportedSampler(out, "torchscript", lay)
    assert np.allclose(sampler.sample(noise.numpy(), cond.energy.numpy()), expected, rtol=1e-6)
    parity = check_parity(model, lay, out, "torchscript", rows, cond, noise)
    assert parity["max_rel_diff"] <= PARITY


@pytest.mark.slow
def test_onnx_matches_caloforge_and_runs_in_a_fresh_venv(student: Path, tmp_path: Path) -> None:
    """ONNX parity in-process, then both files evaluated in a new venv without caloforge: the
    ONNX file through onnxruntime before torch is ever imported, the TorchScript file through
    torch alone."""
    onnx_file, ts_file = tmp_path / "ds1.onnx", tmp_path / "ds1.pt"
    result = export_run(student, onnx_file, fmt="onnx")
    assert result.parity["max_rel_diff"] <= PARITY
    export_run(student, ts_file, fmt="torchscript", check=False)
    rows, expected = _rows(Run.load(student), 16)
    assert _max_rel(ExportedSampler(onnx_file).run(rows), expected) <= PARITY
    assert _max_rel(ExportedSampler(onnx_file).run(rows[:1]), expected[:1]) <= PARITY
    np.save(tmp_path / "rows.npy", rows)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "onnxruntime", "torch==2.13.0"],
                   check=True)
    script = textwrap.dedent(f"""
        import importlib.util, sys
        import numpy as np
        assert importlib.util.find_spec("caloforge") is None
        rows = np.load("{tmp_path / 'rows.npy'}")
        import onnxruntime as ort
        out = ort.InferenceSession("{onnx_file}").run(None, {{"x": rows}})[0]
        np.save("{tmp_path / 'onnx_out.npy'}", out)
        assert "torch" not in sys.modules  # the ONNX file needs onnxruntime alone
        import torch
        module = torch.jit.load("{ts_file}")
        np.save("{tmp_path / 'ts_out.npy'}", module([torch.from_numpy(rows)]).numpy())
    """)
    subprocess.run([py, "-c", script], check=True, cwd=tmp_path)
    assert _max_rel(np.load(tmp_path / "onnx_out.npy"), expected) <= PARITY
    assert _max_rel(np.load(tmp_path / "ts_out.npy"), expected) <= PARITY


def test_generate_backends_give_the_same_showers(student: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from caloforge.data import read_showers

    files = {}
    for backend in ("torch", "torchscript"):
        files[backend] = tmp_path / f"{backend}.h5"
        assert main(["generate", "--run", str(student), "-n", "300", "--batch-size", "128",
                     "--seed", "4", "--backend", backend, "-o", str(files[backend]),
                     "--no-progress"]) == 0
    assert (student / "export" / "student.pt").is_file()  # exported once, reused after
    ref, got = (read_showers(files[b]) for b in ("torch", "torchscript"))
    assert np.array_equal(ref.energies, got.energies)
    assert _max_rel(got.voxels, ref.voxels.astype(np.float64)) <= PARITY
    stamp = (student / "export" / "student.pt").stat().st_mtime_ns
    assert main(["generate", "--run", str(student), "-n", "10", "--backend", "torchscript",
                 "-o", str(tmp_path / "again.h5"), "--no-progress"]) == 0
    assert (student / "export" / "student.pt").stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit):  # argparse refuses unknown backends
        main(["generate", "--run", str(student), "-n", "10", "--backend", "tvm",
              "-o", str(tmp_path / "x.h5")])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_sharded_generation_uses_the_exported_backend(student: Path, tmp_path: Path) -> None:
    from caloforge.data import read_showers

    seq, shard = tmp_path / "seq.h5", tmp_path / "shard.h5"
    common = ["--run", str(student), "-n", "400", "--batch-size", "100", "--seed", "2",
              "--backend", "torchscript", "--threads", "1", "--no-progress"]
    assert main(["generate", *common, "-o", str(seq)]) == 0
    assert main(["generate", *common, "-o", str(shard), "--dask", "local", "--workers", "2",
                 "--shards", "2"]) == 0
    a, b = read_showers(seq), read_showers(shard)
    assert np.array_equal(a.voxels, b.voxels) and np.array_equal(a.energies, b.energies)
