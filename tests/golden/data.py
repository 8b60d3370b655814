"""Deterministic synthetic showers for the golden-loss test (no simulator: its tuning may
change, these numbers must not)."""

from __future__ import annotations

import numpy as np
import torch

N_SHOWERS = 2000
LAYER_SIZES = (8, 160, 190, 5, 5)


def golden_tensors() -> dict[str, torch.Tensor]:
    """2000 ds1-photons-shaped showers: energies log-uniform in 1-100 GeV, 30 % of voxels hit
    with exponential energies scaled by the incident energy (MeV)."""
    rng = np.random.default_rng(20261201)
    n_voxels = sum(LAYER_SIZES)
    energies = np.exp(rng.uniform(np.log(1e3), np.log(1e5), N_SHOWERS))
    hit = rng.random((N_SHOWERS, n_voxels)) < 0.3
    voxels = rng.exponential(1.0, (N_SHOWERS, n_voxels)) * hit * energies[:, None] / 120.0
    return {"energies": torch.as_tensor(energies, dtype=torch.float32),
            "voxels": torch.as_tensor(voxels, dtype=torch.float32)}
