"""One Geant4 simulation per process: build the detector once, then simulate chunks.

Geant4's run manager is a process-wide singleton whose geometry is fixed after
initialisation, and its multi-threaded run managers hang with Python user actions, so
caloforge parallelises with processes: :func:`serve` is the entry point of each worker (started
by :mod:`caloforge.simulate.geant4.engine`). The main process never imports Geant4.

A chunk is reproducible on its own: the worker reseeds Geant4 (MixMax) with the chunk's seed
before the chunk, so which worker runs it does not matter.
"""

from __future__ import annotations

import json
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.simulate.geant4 import environment

__all__ = ["PHYSICS_RECORD", "ChunkTask", "Geant4Session", "WorkerSetup", "serve"]

#: Gun start: this far (mm) before the impact point, back along the shower axis.
GUN_STANDOFF_MM = 10.0
#: Seconds between checks that the parent process is still alive.
PARENT_POLL_S = 1.0
#: The record of the physics in the chunk directory (written by the workers).
PHYSICS_RECORD = "physics.json"


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to build its simulation (picklable)."""

    geometry: Any                       # a LayeredGeometry
    total: bool                         # total-deposit readout
    cut_mm: float
    diagnostics: bool = False
    commands: tuple[str, ...] = ()      # extra Geant4 UI commands before initialisation


@dataclass(frozen=True)
class ChunkTask:
    """Chunk ``index``: energies (MeV), angles (rad), directions, impact points (mm) and its
    Geant4 seed."""

    index: int
    seed: int
    energies: np.ndarray
    theta: np.ndarray
    phi: np.ndarray
    directions: np.ndarray              # (n, 3) unit vectors
    impacts: np.ndarray                 # (n, 2) x, y on the front face
    particle: str                       # Geant4 particle name


class Geant4Session:
    """A run manager, the detector and the actions (one per process)."""

    def __init__(self, setup: WorkerSetup, verbose: int = 0) -> None:
        from caloforge.simulate.geant4 import actions
        from caloforge.simulate.geant4._g4 import PHYSICS_MODE, g4
        from caloforge.simulate.geant4.detector import Detector
        from caloforge.simulate.geant4.physics import make_physics_list

        self.g4, self.setup, self.physics_mode = g4, setup, PHYSICS_MODE
        g4.G4EmParameters.Instance().SetVerbose(verbose)
        self.run_manager = g4.G4RunManagerFactory.CreateRunManager(
            g4.G4RunManagerType.SerialOnly)
        self.run_manager.SetVerboseLevel(verbose)
        self.detector = Detector(setup.geometry, setup.total, setup.diagnostics)
        self.run_manager.SetUserInitialization(self.detector)
        self.physics, self._keep, self.physics_name = make_physics_list(self.physics_mode,
                                                                        verbose)
        self.run_manager.SetUserInitialization(self.physics)
        self.recorder = actions.Recorder(self.detector, setup.diagnostics)
        self.run_manager.SetUserInitialization(actions.Actions(self.recorder))
        ui = g4.G4UImanager.GetUIpointer()
        # physics.SetDefaultCutValue() from Python crashes the process at exit; the UI
        # command sets the same cut cleanly.
        for command in (f"/run/setCut {setup.cut_mm} mm", *setup.commands):
            ui.ApplyCommand(command)
        self.run_manager.Initialize()
        self.run_manager.BeamOn(0)      # physics tables now, not in the first chunk

    def run(self, task: ChunkTask) -> dict[str, np.ndarray]:
        """Simulate one chunk; returns raw cell deposits (MeV) and, with diagnostics, the
        deposits outside the cells and the energy that left the world, per shower."""
        g4 = self.g4
        g4.G4Random.setTheSeed(int(task.seed % (2**31 - 1)) + 1)
        rec = self.recorder
        rec.start(task, GUN_STANDOFF_MM)
        rec.gun.SetParticleDefinition(
            g4.G4ParticleTable.GetParticleTable().FindParticle(task.particle))
        self.run_manager.BeamOn(len(task.energies))
        return rec.finish()


def _physics_record(session: Geant4Session, root: Path) -> None:
    """Write what every file must record about the physics, atomically, before any chunk."""
    version = session.g4.G4VERSION_NUMBER          # e.g. 1141 for 11.4.1
    record = {"physics_list": session.physics_name, "physics_mode": session.physics_mode,
              "geant4_version": f"{version // 100}.{version // 10 % 10}.{version % 10}"}
    tmp = root / f".{PHYSICS_RECORD}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, sort_keys=True))
    os.replace(tmp, root / PHYSICS_RECORD)


def serve(setup: WorkerSetup, tasks: Any, results: Any, parts: str, run_id: str) -> None:
    """Worker loop: take :class:`ChunkTask` s from ``tasks``, write each chunk atomically into
    the ``parts`` directory, report ``("done", index, seconds, cpu_seconds)`` on ``results``.

    Ends on ``None``, when the parent dies, or when the directory belongs to another run
    (``run-id`` changed: a later command took over); a chunk is only written while both
    hold. Leaves with ``os._exit`` (Geant4's teardown is not needed and has crashed at exit
    from Python). Geant4's own output goes to ``worker-PID.log`` in ``parts``.
    """
    from caloforge.simulate.geant4.parts import RUN_ID, write_part

    root = Path(parts)
    parent = os.getppid()
    log = os.open(root / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT, 0o644)
    os.dup2(log, 1)                     # Geant4 prints its banner and warnings on the C++
    os.dup2(log, 2)                     # streams: keep them out of the user's terminal

    def ours() -> bool:
        try:
            return os.getppid() == parent and (root / RUN_ID).read_text() == run_id
        except OSError:
            return False

    try:
        environment.prepare(root / "g4env")
        session = Geant4Session(setup)
        _physics_record(session, root)
        results.put(("ready", os.getpid()))
        while ours():
            try:
                task = tasks.get(timeout=PARENT_POLL_S)
            except queue.Empty:
                continue
            if task is None:
                break
            t0, c0 = time.perf_counter(), time.process_time()
            arrays = session.run(task)
            if not ours():
                break
            write_part(root, task.index, arrays)
            results.put(("done", task.index, time.perf_counter() - t0,
                         time.process_time() - c0))
    except BaseException as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        results.put(("error", f"{type(exc).__name__}: {first}"))
    finally:
        results.close()
        results.join_thread()           # flush the queue's feeder thread before leaving
        os._exit(0)
