"""Write a tiny valid ds1-photons file through the Python API (used by ``make demo``)."""

from __future__ import annotations

import sys

import numpy as np

from caloforge import Showers, get_geometry
from caloforge.data import write_showers


def main(path: str) -> None:
    geo = get_geometry("ds1-photons")
    rng = np.random.default_rng(1)
    energies = 2.0 ** rng.integers(8, 23, size=100)
    shape = (100, geo.n_voxels)
    voxels = rng.exponential(1.0, size=shape) * (rng.random(shape) < 0.2)
    voxels *= (energies / voxels.sum(axis=1))[:, None]
    write_showers(path, Showers(energies, voxels.astype(np.float32), geometry=geo.name),
                  force=True, metadata={"seed": 1, "producer": "examples/tiny_file.py"})


if __name__ == "__main__":
    main(sys.argv[1])
