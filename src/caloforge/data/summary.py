"""A quick, streamed summary of a shower file (what ``caloforge info`` prints)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from caloforge.data.io import DEFAULT_CHUNK, ShowerFile
from caloforge.data.validate import check_values, resolve_geometry

__all__ = ["FileSummary", "summarize_file"]


@dataclass
class FileSummary:
    """Summary figures of a shower file.

    Attributes:
        path: The file.
        geometry: Geometry name (None if unknown).
        n_showers: Number of showers.
        n_voxels: Voxels per shower.
        e_inc_min, e_inc_max: Range of incident energies in MeV.
        etot_over_einc_mean, etot_over_einc_std: Mean and spread of deposited over incident energy.
        nonzero_fraction: Share of voxels with energy > 0 (CaloChallenge "sparsity" is 1 minus it
            in some papers; we print both names explicitly).
        has_angles: Whether incidence angles are stored.
        metadata: The file's ``caloforge`` attribute.
    """

    path: str
    geometry: str | None
    n_showers: int
    n_voxels: int
    e_inc_min: float
    e_inc_max: float
    etot_over_einc_mean: float
    etot_over_einc_std: float
    nonzero_fraction: float
    has_angles: bool
    metadata: dict[str, object]

    def to_json(self) -> str:
        """The summary as a JSON object."""
        return json.dumps(asdict(self), indent=2)

    def lines(self) -> list[str]:
        """Human-readable lines."""
        meta = self.metadata
        engine = []
        if meta.get("engine") == "geant4":
            engine = [f"engine         Geant4 {meta.get('geant4_version', '?')}, "
                      f"{meta.get('physics_list', '?')}, cut {meta.get('cut_mm')} mm, "
                      f"{meta.get('readout', '?')} readout"]
        return [
            f"file           {self.path}",
            f"geometry       {self.geometry or 'unknown'}  ({self.n_voxels} voxels)",
            f"showers        {self.n_showers}",
            f"E_inc [MeV]    {self.e_inc_min:.6g} .. {self.e_inc_max:.6g}",
            f"E_tot/E_inc    {self.etot_over_einc_mean:.4f} +- {self.etot_over_einc_std:.4f}",
            f"voxels > 0     {100 * self.nonzero_fraction:.2f} %  "
            f"(sparsity {100 * (1 - self.nonzero_fraction):.2f} % zeros)",
            f"angles         {'yes' if self.has_angles else 'no'}",
            f"producer       {self.metadata.get('producer', 'unknown')} "
            f"{self.metadata.get('version', '')}  seed={self.metadata.get('seed')}",
            *engine,
        ]


def summarize_file(path: str | Path, geometry: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK) -> FileSummary:
    """Validate a file and summarise it, reading it in chunks.

    Arguments:
        path: A CaloChallenge HDF5 file.
        geometry: Geometry name to check against (default: recorded or inferred).
        chunk_size: Showers per read.

    Returns:
        The :class:`FileSummary`.
    """
    file = ShowerFile(path)
    geo = resolve_geometry(file, geometry)
    e_min, e_max = np.inf, -np.inf
    s1 = s2 = 0.0
    nonzero = 0
    for i, chunk in enumerate(file.iter_chunks(chunk_size)):
        check_values(chunk, source=f"file '{file.path}'", offset=i * chunk_size)
        ratio = chunk.total_energy() / chunk.energies
        s1 += float(ratio.sum())
        s2 += float((ratio**2).sum())
        nonzero += int(np.count_nonzero(chunk.voxels))
        e_min = min(e_min, float(chunk.energies.min()))
        e_max = max(e_max, float(chunk.energies.max()))
    n = file.n
    mean = s1 / n
    return FileSummary(
        path=str(file.path),
        geometry=None if geo is None else geo.name,
        n_showers=n,
        n_voxels=file.n_voxels,
        e_inc_min=e_min,
        e_inc_max=e_max,
        etot_over_einc_mean=mean,
        etot_over_einc_std=float(np.sqrt(max(s2 / n - mean**2, 0.0))),
        nonzero_fraction=nonzero / (n * file.n_voxels),
        has_angles="theta" in file.optional,
        metadata=file.metadata,
    )
