"""Geant4 user actions of the engine: the gun, the per-event readout of the scorers and,
for diagnostics only, the energy that leaves the world.

The readout runs once per event (not per step): the scorers' hits maps are read at the end of
each event and scattered into the chunk's voxel array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from caloforge.simulate.geant4._g4 import g4

if TYPE_CHECKING:
    from caloforge.simulate.geant4.detector import Detector
    from caloforge.simulate.geant4.worker import ChunkTask

__all__ = ["Actions", "Recorder"]


class Recorder:
    """Shared state of the actions for one chunk: its inputs and the arrays being filled."""

    def __init__(self, detector: Detector, diagnostics: bool) -> None:
        self.detector, self.diagnostics = detector, diagnostics
        self.gun = g4.G4ParticleGun(1)
        self._ids: list[int] = []
        self.event = 0

    def start(self, task: ChunkTask, standoff_mm: float) -> None:
        """Prepare arrays for ``task``; each particle starts ``standoff_mm`` before its
        impact point on the front face, on its axis (in vacuum)."""
        n = len(task.energies)
        self.task, self.standoff, self.event = task, standoff_mm, 0
        self.cells = np.zeros((n, self.detector.geometry.n_voxels), dtype=np.float32)
        self.other = np.zeros(n)
        self.escaped = np.zeros(n)

    def finish(self) -> dict[str, np.ndarray]:
        """The chunk's arrays (raw deposits in MeV)."""
        if self.event != len(self.task.energies):
            raise RuntimeError(f"Geant4 ran {self.event} of {len(self.task.energies)} events")
        out = {"cells": self.cells}
        if self.diagnostics:
            out |= {"other": self.other, "escaped": self.escaped}
        return out

    def primaries(self, event: Any) -> None:
        i, task = self.event, self.task
        d = task.directions[i]
        x, y = task.impacts[i]
        start = np.array([x, y, self.detector.front_z_mm]) - self.standoff * d
        self.gun.SetParticleEnergy(float(task.energies[i]) * g4.MeV)
        self.gun.SetParticleMomentumDirection(g4.G4ThreeVector(*(float(v) for v in d)))
        self.gun.SetParticlePosition(g4.G4ThreeVector(*(float(v) * g4.mm for v in start)))
        self.gun.GeneratePrimaryVertex(event)

    def read(self, event: Any) -> None:
        if not self._ids:
            sdm = g4.G4SDManager.GetSDMpointer()
            self._ids = [sdm.GetCollectionID("cells/edep")]
            if self.diagnostics:
                self._ids.append(sdm.GetCollectionID("other/edep"))
        hce = event.GetHCofThisEvent()
        hits = list(hce.GetHC(self._ids[0]))
        if hits:
            index, energy = np.array(hits).T
            voxel = self.detector.lookup[index.astype(np.int64)]
            if (voxel < 0).any():
                raise RuntimeError("a scorer index outside the geometry's voxels")
            row = np.zeros(self.cells.shape[1])
            np.add.at(row, voxel, energy)
            self.cells[self.event] = row
        if self.diagnostics:
            self.other[self.event] = sum(v for _, v in hce.GetHC(self._ids[1]))
        self.event += 1


class _Gun(g4.G4VUserPrimaryGeneratorAction):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def GeneratePrimaries(self, event: Any) -> None:
        self.recorder.primaries(event)


class _Events(g4.G4UserEventAction):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def EndOfEventAction(self, event: Any) -> None:
        self.recorder.read(event)


class _Escapes(g4.G4UserTrackingAction):
    """Adds the kinetic energy of every track that leaves the world (diagnostics only: one
    Python call per track)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def PostUserTrackingAction(self, track: Any) -> None:
        if track.GetNextVolume() is None:
            self.recorder.escaped[self.recorder.event] += track.GetKineticEnergy()


class Actions(g4.G4VUserActionInitialization):
    """Registers the gun, the event readout and (with diagnostics) the escape tally."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self._keep: list[Any] = []

    def Build(self) -> None:
        self._keep = [_Gun(self.recorder), _Events(self.recorder)]
        if self.recorder.diagnostics:
            self._keep.append(_Escapes(self.recorder))
        for action in self._keep:
            self.SetUserAction(action)
