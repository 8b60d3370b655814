"""Shared fixtures: small valid shower files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloforge import Showers, get_geometry
from caloforge.data import write_showers

#: Scripts, not tests: the golden recorder runs against an older tree (its docstring says which).
collect_ignore = ["golden/record_caloflow_losses.py"]


def make_showers(n: int = 50, geometry: str = "ds1-photons", seed: int = 0,
                 angles: bool = False) -> Showers:
    """Random but valid showers (non-negative voxels, positive energies)."""
    geo = get_geometry(geometry)
    rng = np.random.default_rng(seed)
    voxels = (rng.exponential(1.0, (n, geo.n_voxels)) * (rng.random((n, geo.n_voxels)) < 0.3))
    kwargs = {}
    if angles:
        kwargs = {"theta": rng.uniform(0.5, 1.5, n), "phi": rng.uniform(-np.pi, np.pi, n),
                  "particle": np.full(n, 22)}
    return Showers(rng.uniform(1e3, 1e5, n), voxels.astype(np.float32), geometry=geo.name,
                   **kwargs)


def simulate_file(path: Path, geometry: str, n: int, seed: int | None = None) -> Path:
    """``caloforge simulate`` (the fast simulator) into ``path``, asserting it succeeded."""
    from caloforge.cli.main import main

    args = ["simulate", "--geometry", geometry, "-n", str(n), "-o", str(path), "--no-progress"]
    assert main(args + ([] if seed is None else ["--seed", str(seed)])) == 0
    return path


@pytest.fixture
def showers() -> Showers:
    return make_showers()


@pytest.fixture
def shower_file(tmp_path: Path, showers: Showers) -> Path:
    path = tmp_path / "showers.h5"
    write_showers(path, showers, metadata={"seed": 0})
    return path


def textbook_showers(geometry: str, n: int, seed: int, **overrides: object) -> Showers:
    """The fast simulator with the textbook parametrisation (its Geant4 tuning reset): ds1
    cells then keep the CaloChallenge calibration (E_tot/E_inc ~ 1), which the official ds1
    binning of the per-energy response histograms assumes."""
    from caloforge.simulate import ReferenceSimulator, ShapeConfig, load_config

    cfg = load_config(geometry, {"n": n, "seed": seed, **overrides})
    cfg.shape = ShapeConfig()
    return ReferenceSimulator(cfg).simulate()
