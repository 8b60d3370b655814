"""The :class:`Showers` container that every stage passes around."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

__all__ = ["Showers"]

_OPTIONAL = ("theta", "phi", "particle")


@dataclass
class Showers:
    """A batch of calorimeter showers.

    Arguments:
        energies: Incident energies in MeV, shape ``(N,)`` (``(N, 1)`` is flattened).
        voxels: Voxel energies in MeV, shape ``(N, n_voxels)``.
        theta: Optional polar angle of incidence from the beam axis in rad, ``(N,)``.
        phi: Optional azimuth of incidence in rad, ``(N,)``.
        particle: Optional PDG id per shower, ``(N,)``.
        geometry: Name of the geometry the voxels belong to, if known.

    Example:
        >>> s = Showers(np.array([1000.0, 2000.0]), np.ones((2, 368)), geometry="ds1-photons")
        >>> len(s), s.n_voxels, s[1:].energies.tolist()
        (2, 368, [2000.0])
        >>> s.total_energy().tolist()
        [368.0, 368.0]
    """

    energies: np.ndarray
    voxels: np.ndarray
    theta: np.ndarray | None = None
    phi: np.ndarray | None = None
    particle: np.ndarray | None = None
    geometry: str | None = None

    def __post_init__(self) -> None:
        self.energies = np.asarray(self.energies)
        if self.energies.ndim == 2 and self.energies.shape[1] == 1:
            self.energies = self.energies[:, 0]
        self.voxels = np.asarray(self.voxels)
        if self.energies.ndim != 1:
            raise ValueError(f"energies must have shape (N,) or (N, 1), got {self.energies.shape}")
        if self.voxels.ndim != 2:
            raise ValueError(f"voxels must have shape (N, n_voxels), got {self.voxels.shape}")
        n = len(self.energies)
        if len(self.voxels) != n:
            raise ValueError(f"{n} energies but {len(self.voxels)} showers")
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value).reshape(-1)
                if len(value) != n:
                    raise ValueError(f"{name} has {len(value)} entries for {n} showers")
                setattr(self, name, value)

    def __len__(self) -> int:
        return len(self.energies)

    @property
    def n_voxels(self) -> int:
        """Voxels per shower."""
        return int(self.voxels.shape[1])

    def __getitem__(self, index: slice | np.ndarray | Sequence[int]) -> Showers:
        """Select showers by slice, integer array or boolean mask."""
        if isinstance(index, int | np.integer):
            index = slice(int(index), int(index) + 1)
        kwargs = {name: (None if getattr(self, name) is None else getattr(self, name)[index])
                  for name in _OPTIONAL}
        return Showers(self.energies[index], self.voxels[index], geometry=self.geometry, **kwargs)

    def total_energy(self) -> np.ndarray:
        """Deposited energy per shower in MeV (float64 sum), shape ``(N,)``."""
        return self.voxels.sum(axis=1, dtype=np.float64)

    def with_voxels(self, voxels: np.ndarray) -> Showers:
        """A copy with other voxel energies (same incident conditions)."""
        return replace(self, voxels=voxels)

    @classmethod
    def concatenate(cls, parts: Sequence[Showers]) -> Showers:
        """Join batches of the same geometry, keeping optional fields only if all have them.

        Example:
            >>> a = Showers(np.array([1.0]), np.zeros((1, 3)))
            >>> len(Showers.concatenate([a, a, a]))
            3
        """
        if not parts:
            raise ValueError("nothing to concatenate")
        geometries = {p.geometry for p in parts}
        if len(geometries) > 1:
            names = sorted(map(str, geometries))
            raise ValueError(f"cannot join showers of different geometries {names}")
        kwargs: dict[str, np.ndarray | None] = {}
        for f in fields(cls):
            if f.name in ("energies", "voxels", *_OPTIONAL):
                values = [getattr(p, f.name) for p in parts]
                kwargs[f.name] = (None if any(v is None for v in values)
                                  else np.concatenate(values))
        return cls(geometry=parts[0].geometry, **kwargs)  # type: ignore[arg-type]
