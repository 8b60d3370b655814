"""One streamed pass over a training file: values checked, the figures a family's setup needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.data.io import DEFAULT_CHUNK, ShowerFile
from caloforge.data.validate import check_values, resolve_geometry
from caloforge.errors import InputError
from caloforge.geometry import LayeredGeometry

__all__ = ["DataSummary", "deposit_response", "scan_training_file"]


def deposit_response(energies: np.ndarray, voxels: np.ndarray) -> float:
    """Median of deposited over incident energy: turns a deposit into a first energy guess.

    Example:
        >>> deposit_response(np.array([10.0, 20.0, 10.0]),
        ...                  np.array([[4.0, 5.0], [9.0, 9.0], [5.0, 5.0]]))
        0.9
    """
    ratio = np.asarray(voxels).sum(1, dtype=np.float64) / np.asarray(energies, dtype=np.float64)
    return round(float(np.median(ratio)), 6)


@dataclass
class DataSummary:
    """What a training run records about its data.

    Attributes:
        path: The file, absolute (a run works from any working directory).
        geometry: Geometry name.
        n: Showers used.
        n_voxels: Voxels per shower.
        energy_min_mev, energy_max_mev: Range of the incident energies.
        response_median: Median deposited / incident energy.
        angles: Whether the incident polar angle varies (models condition on it).
    """

    path: str
    geometry: str
    n: int
    n_voxels: int
    energy_min_mev: float
    energy_max_mev: float
    response_median: float
    angles: bool

    @property
    def voxel_bytes(self) -> int:
        """Memory of the voxels as float32."""
        return 4 * self.n * self.n_voxels

    def to_json(self) -> dict[str, Any]:
        """A JSON/YAML-ready dict."""
        return asdict(self)


def scan_training_file(path: str | Path, geometry: str | Path | None = None,
                       max_showers: int | None = None, chunk_size: int = DEFAULT_CHUNK
                       ) -> tuple[LayeredGeometry, DataSummary]:
    """Check every value of a training file (streamed) and summarise it.

    Raises:
        InputError: bad file, unknown geometry, NaN/inf or negative energies.
    """
    file = ShowerFile(path)
    geo = resolve_geometry(file, geometry)
    if geo is None:
        raise InputError(f"file '{path}' has {file.n_voxels} voxels, which matches no known "
                         "geometry", "pass --geometry NAME or an XML file")
    n = min(file.n, max_showers or file.n)
    chunk_size = max(1, min(chunk_size, (256 << 20) // (4 * file.n_voxels)))
    ratios, e_min, e_max, theta = [], np.inf, -np.inf, []
    for start in range(0, n, chunk_size):
        chunk = file.read(start, min(n, start + chunk_size))
        check_values(chunk, source=f"file '{path}'", offset=start)
        ratios.append(chunk.total_energy() / chunk.energies)
        e_min, e_max = min(e_min, chunk.energies.min()), max(e_max, chunk.energies.max())
        if chunk.theta is not None:
            theta.append(chunk.theta)
    angles = bool(theta) and float(np.ptp(np.concatenate(theta))) > 0
    summary = DataSummary(str(Path(path).resolve()), geo.name, n, file.n_voxels, float(e_min),
                          float(e_max), round(float(np.median(np.concatenate(ratios))), 6),
                          angles)
    return geo, summary
