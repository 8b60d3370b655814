"""A third-party family installed through the ``caloforge.models`` entry-point group runs the
whole chain through the command line (simulate -> train -> generate -> evaluate ->
anomaly-score) without any change to caloforge's own files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import caloforge
from caloforge.data import read_showers
from caloforge.tables import read_table

TOY_FAMILY = '''
"""A toy family: independent Gaussian voxel fractions x = voxel / E_inc."""

from dataclasses import dataclass, field

import torch
from torch import nn

from caloforge.models import Conditions, Family, Stage
from caloforge.train import TrainConfig


@dataclass
class Recipe:
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=3, batch_size=100, lr=0.05, patience=0))
    n_voxels: int = 0


class GaussianFractions(nn.Module):
    def __init__(self, n_voxels: int) -> None:
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(n_voxels))
        self.log_sigma = nn.Parameter(torch.full((n_voxels,), -3.0))

    def log_prob(self, voxels, conditions, *, generator=None):
        x = voxels / conditions.energy[:, None]
        normal = torch.distributions.Normal(self.mu, self.log_sigma.exp())
        return normal.log_prob(x).sum(1) - voxels.shape[1] * conditions.energy.log()

    def sample(self, conditions, *, generator):
        z = torch.randn(len(conditions), len(self.mu), generator=generator)
        x = (self.mu + self.log_sigma.exp() * z).clamp_min(0.0)
        return x * conditions.energy[:, None]

    def training_step(self, batch, ctx):
        ll = self.log_prob(batch["voxels"], Conditions.from_batch(batch))
        return {"loss": -ll.mean() / len(self.mu)}

    validation_step = training_step


def setup(recipe, data):
    recipe.n_voxels = data.geometry.n_voxels


def stages(recipe):
    return [Stage("fit", recipe.train, build=lambda earlier: GaussianFractions(recipe.n_voxels))]


FAMILY = Family("toy", "independent Gaussian voxel fractions", Recipe, stages, setup)
'''


def _package_digest() -> str:
    root = Path(caloforge.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def _install_plugin(root: Path) -> Path:
    """``toyfam`` as an installed distribution: the module and its ``.dist-info``."""
    site = root / "site"
    (site / "toyfam").mkdir(parents=True)
    (site / "toyfam" / "__init__.py").write_text(TOY_FAMILY)
    info = site / "toyfam-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyfam\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[caloforge.models]\ntoy = toyfam:FAMILY\n")
    return site


def test_entry_point_family_runs_the_whole_chain(tmp_path: Path) -> None:
    before = _package_digest()
    site = _install_plugin(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), os.environ.get("PYTHONPATH", "")])}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "caloforge.cli.main", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"{args[0]}: {done.stderr}"
        return done.stdout

    listing = cli("models")
    assert "toy: independent Gaussian voxel fractions" in listing
    cli("simulate", "--geometry", "ds1-photons", "-n", "1500", "--seed", "4", "-o", "ref.h5",
        "--no-progress")
    out = cli("train", "--model", "toy", "--data", "ref.h5", "-o", "runs/toy", "--no-progress")
    assert "toy stage 'fit' on 1500 showers" in out
    cli("generate", "--run", "runs/toy", "--energies", "ref.h5", "-o", "gen.h5",
        "--no-progress")
    gen, ref = read_showers(tmp_path / "gen.h5"), read_showers(tmp_path / "ref.h5")
    assert gen.voxels.shape == ref.voxels.shape and np.all(gen.voxels >= 0)
    assert np.array_equal(gen.energies, ref.energies)
    cli("evaluate", "--reference", "ref.h5", "--generated", "gen.h5", "--mode", "hist",
        "-o", "eval", "--no-progress")
    assert (tmp_path / "eval" / "metrics.json").is_file()
    cli("anomaly-score", "ref.h5", "--run", "runs/toy", "-o", "scores.h5")
    scores = read_table(tmp_path / "scores.h5")[0]["score"]
    assert scores.shape == (1500,) and np.all(np.isfinite(scores))
    assert _package_digest() == before


def test_unknown_family_suggests_the_nearest(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from caloforge.cli.main import main

    code = main(["train", "--model", "caloflwo", "--data", str(tmp_path / "x.h5"), "-o",
                 str(tmp_path / "r")])
    assert code == 2
    assert "unknown model family 'caloflwo'; did you mean 'caloflow'?" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_broken_plugin_is_one_line(tmp_path: Path) -> None:
    site = _install_plugin(tmp_path)
    (site / "toyfam" / "__init__.py").write_text("raise ImportError('no torch here')\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-m", "caloforge.cli.main", "train", "--model", "toy",
                           "--data", "x.h5", "-o", "r"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1 and "toyfam:FAMILY" in err and "no torch here" in err
