"""Read a shower file once, chunk by chunk, into what the metrics need.

Features and physics observables are computed per chunk. The high-level features go to a
:class:`~caloforge.evaluate.feature_table.FeatureTable` on disk, so with the ``hist``,
``cls-high`` metrics memory does not grow with N; the physics observables (a few numbers and
profiles per shower) stay in memory; for the voxel classifiers the voxels go to temporary
files (:class:`~caloforge.evaluate.classifier_inputs.VoxelStore`). With
``voxel_spectrum=True`` the voxel energies are counted chunk by chunk in a fixed fine grid
(:class:`~caloforge.evaluate.voxel_spectrum.VoxelSpectrum`, the CaloChallenge voxel histogram).
With ``split=True`` the showers are dealt at random (seeded) into two halves: the reference
floor ("Geant4 vs Geant4") compares them with the same metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from caloforge.data.io import ShowerFile
from caloforge.data.validate import check_values
from caloforge.evaluate.classifier_inputs import VoxelStore, join_voxels
from caloforge.evaluate.feature_table import FeatureTable
from caloforge.evaluate.features import (
    HighLevelFeatures,
    angular_layer_labels,
    compute_features,
    layer_labels,
)
from caloforge.evaluate.physics import PhysicsObservables, compute_physics
from caloforge.evaluate.voxel_spectrum import VoxelSpectrum
from caloforge.geometry import LayeredGeometry

__all__ = ["VOXELS_PER_CHUNK", "Sample", "load_samples"]

#: Voxel values read per chunk when no chunk size is given (about 160 MB as float64).
VOXELS_PER_CHUNK = 20_000_000


@dataclass
class Sample:
    """What the metrics use of one sample of showers."""

    name: str
    features: FeatureTable
    physics: PhysicsObservables | None = None
    voxels: np.ndarray | VoxelStore | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    spectrum: VoxelSpectrum | None = None

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def join(cls, parts: list[Sample], name: str) -> Sample:
        """One sample from several (e.g. the two halves of a split file)."""
        physics = [p.physics for p in parts if p.physics is not None]
        voxels = [p.voxels for p in parts if p.voxels is not None]
        spectra = [p.spectrum for p in parts if p.spectrum is not None]
        return cls(name=name,
                   features=FeatureTable.join([p.features for p in parts]),
                   physics=PhysicsObservables.concatenate(physics) if physics else None,
                   voxels=join_voxels(voxels) if voxels else None,
                   metadata=parts[0].metadata,
                   spectrum=VoxelSpectrum.join(spectra) if spectra else None)


class _Accumulator:
    def __init__(self, keep_voxels: bool, geometry: LayeredGeometry,
                 spectrum_rng: np.random.Generator | None = None) -> None:
        self.features = FeatureTable(layer_labels(geometry), angular_layer_labels(geometry))
        self.physics: list[PhysicsObservables] = []
        self.voxels = VoxelStore() if keep_voxels else None  # on disk
        self.spectrum_rng = spectrum_rng
        self.spectrum = VoxelSpectrum() if spectrum_rng is not None else None

    def add(self, features: HighLevelFeatures, physics: PhysicsObservables | None,
            voxels: np.ndarray) -> None:
        self.features.append(features)
        if self.spectrum is not None and self.spectrum_rng is not None:
            self.spectrum.add(voxels, self.spectrum_rng)
        if physics is not None:
            self.physics.append(physics)
        if self.voxels is not None:
            self.voxels.append(np.asarray(voxels, dtype=np.float32))

    def sample(self, name: str, metadata: dict[str, Any]) -> Sample:
        return Sample(
            name=name, features=self.features,
            physics=PhysicsObservables.concatenate(self.physics) if self.physics else None,
            voxels=self.voxels if self.voxels else None, metadata=metadata,
            spectrum=self.spectrum)


def load_samples(path: str | Path, geometry: LayeredGeometry, *, threshold: float | None = None,
                 keep_voxels: bool = False, physics: bool = False, mip_mev: float | None = None,
                 chunk_size: int | None = None, max_showers: int | None = None,
                 split: bool = False, seed: int = 0, name: str | None = None,
                 progress: bool = False, voxel_spectrum: bool = False,
                 stream: int = 0) -> list[Sample]:
    """One sample (or two random halves with ``split``) from a file, validated as it is read.

    Arguments:
        path: CaloChallenge HDF5 file.
        geometry: Its geometry (checked against the voxel count by the caller).
        threshold: Readout threshold for the features (default: the geometry's).
        keep_voxels: Keep the voxel matrix (for the low-level classifier).
        physics: Compute the physics observables.
        mip_mev: MIP scale of the physics observables.
        chunk_size: Showers per read (default: about 20 million voxels per chunk, so memory
            does not grow with the voxel count: 500 showers for ds3, 10,000 for ds1).
        max_showers: Use only the first ``max_showers`` showers.
        split: Deal the showers into two halves at random.
        seed: Seed of the split and of the spectrum's bootstrap weights.
        name: Label (default: the file name).
        progress: Show a progress bar over the showers read.
        voxel_spectrum: Count the voxel energies (:class:`VoxelSpectrum`, for ``hist``).
        stream: Index of the bootstrap-weight stream (``default_rng([seed, 1, stream])``): give
            the reference and the generated file different ones, so showers at the same position
            in both files (e.g. the same incident energy) do not share their weights.

    Returns:
        ``[sample]`` or ``[half_a, half_b]``.
    """
    file = ShowerFile(path)
    n = file.n if max_showers is None else min(file.n, max_showers)
    if chunk_size is None:
        chunk_size = int(np.clip(VOXELS_PER_CHUNK // max(file.n_voxels, 1), 100, 10_000))
    label = name or Path(path).name
    rng = np.random.default_rng(seed)
    spectrum_rng = np.random.default_rng([seed, 1, stream]) if voxel_spectrum else None
    accs = [_Accumulator(keep_voxels, geometry, spectrum_rng) for _ in range(2 if split else 1)]
    bar = tqdm(total=n, unit="shower", desc=f"read {label}", disable=not progress)
    for start in range(0, n, chunk_size):
        chunk = file.read(start, min(start + chunk_size, n))
        check_values(chunk, source=f"file '{file.path}'", offset=start)
        if split:
            first = rng.random(len(chunk)) < 0.5
            masks = [first, ~first]
        else:
            masks = [np.ones(len(chunk), dtype=bool)]
        for acc, mask in zip(accs, masks, strict=True):
            part = chunk[mask]
            if len(part) == 0:
                continue
            feats = compute_features(part, geometry, threshold)
            phys = compute_physics(part, geometry, mip_mev) if physics else None
            acc.add(feats, phys, part.voxels)
        bar.update(len(chunk))
    bar.close()
    if split:
        return [accs[0].sample(f"{label} (half A)", file.metadata),
                accs[1].sample(f"{label} (half B)", file.metadata)]
    return [accs[0].sample(label, file.metadata)]
