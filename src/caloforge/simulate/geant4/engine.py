"""``simulate --engine geant4``: chunks of real Geant4 showers from worker processes.

Chunk ``k`` takes its incident energies, angles and impact points from the same stream as the
parametrised simulator (:func:`~caloforge.simulate.incidence.chunk_streams`), and its Geant4
seed from :func:`caloforge.seeds.derive` ``(seed, "geant4", k)``, so the same seed and chunk
size give the same file whatever the number of workers. Finished chunks are kept on disk
(:mod:`caloforge.simulate.geant4.parts`); ``resume=True`` completes a killed run.

Example (needs ``caloforge[geant4]``; about a minute)::

    from caloforge.simulate import load_config
    from caloforge.simulate.geant4 import simulate_geant4
    cfg = load_config("calogan", {"n": 200, "seed": 1})
    result = simulate_geant4(cfg, "g4.h5", workers=2)
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from caloforge.data.io import check_writable, write_chunks
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.geometry import LayeredGeometry, get_geometry
from caloforge.seeds import derive
from caloforge.simulate.config import PDG_IDS, SimulationConfig
from caloforge.simulate.geant4 import environment
from caloforge.simulate.geant4.parts import claim, open_parts, parts_dir, read_part, run_lock
from caloforge.simulate.geant4.pool import run_pool
from caloforge.simulate.geant4.readout import apply_readout, check_readout
from caloforge.simulate.geant4.worker import PHYSICS_RECORD, ChunkTask, WorkerSetup
from caloforge.simulate.incidence import chunk_streams, sample_incidence

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_CUT_MM", "G4_PARTICLES", "Geant4Result",
           "simulate_geant4"]

#: Showers per chunk unless the user sets one: a progress step of a few seconds to a minute.
DEFAULT_CHUNK_SIZE = 20
#: Production cut (range) in mm: Geant4's default.
DEFAULT_CUT_MM = 0.7
#: caloforge particle name -> Geant4 particle name.
G4_PARTICLES = {"photon": "gamma", "electron": "e-", "positron": "e+"}


@dataclass
class Geant4Result:
    """What a Geant4 run did: the file, the physics, and the time spent."""

    path: Path
    n: int
    seconds: float
    cpu_seconds: float = 0.0
    chunks_simulated: int = 0
    chunks_reused: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


def _tasks(cfg: SimulationConfig, energies: np.ndarray | None) -> Iterator[ChunkTask]:
    for k, (e, rng) in enumerate(chunk_streams(cfg, energies)):
        inc = sample_incidence(cfg.incidence, len(e), rng)
        yield ChunkTask(k, derive(cfg.seed, "geant4", k), e, inc.theta, inc.phi,
                        inc.directions, np.stack([inc.x0, inc.y0], 1),
                        G4_PARTICLES[cfg.particle])


def _manifest(cfg: SimulationConfig, geometry: LayeredGeometry, energies: np.ndarray | None,
              cut_mm: float, diagnostics: bool) -> dict[str, Any]:
    import hashlib

    from caloforge._version import __version__

    digest = None if energies is None else hashlib.sha256(
        np.ascontiguousarray(energies, dtype=np.float64).tobytes()).hexdigest()
    return {"engine": "geant4", "caloforge": __version__, "config": asdict(cfg),
            "geometry": geometry.name, "n_voxels": geometry.n_voxels, "cut_mm": cut_mm,
            "energies_sha256": digest, "diagnostics": diagnostics,
            "physics_mode": environment.physics_mode()}


def _check_energies(energies: np.ndarray | None) -> None:
    if energies is not None and (energies.size == 0 or not np.all(np.isfinite(energies))
                                 or energies.min() <= 0):
        raise InputError("incident energies must be finite and > 0 MeV", "fix the energies")


def simulate_geant4(cfg: SimulationConfig, out: str | Path, *,
                    energies: np.ndarray | None = None, workers: int = 1,
                    cut_mm: float = DEFAULT_CUT_MM, force: bool = False, resume: bool = False,
                    progress: bool = True, geometry: LayeredGeometry | None = None,
                    diagnostics: bool = False, chunks: range | None = None,
                    metadata: dict[str, Any] | None = None) -> Geant4Result:
    """Simulate ``cfg`` with Geant4 into the CaloChallenge file ``out``.

    Arguments:
        cfg: The simulation config (geometry, particle, spectrum, incidence, readout, seed).
        out: Output HDF5 file.
        energies: Incident energies in MeV instead of the spectrum (one shower each).
        workers: Worker processes (one Geant4 each).
        cut_mm: Production cut in mm.
        force: Overwrite ``out`` and discard unfinished chunks of an earlier run.
        resume: Complete an interrupted run of the same settings.
        progress: Show a progress bar.
        geometry: A geometry object instead of ``cfg.geometry`` (e.g. built in code).
        diagnostics: Also store, per shower, the deposit outside the read-out cells
            (``other_deposit``) and the energy leaving the world (``escaped_energy``), in MeV;
            slower (one Python call per track).
        chunks: Simulate and write only these chunks: a shard of a larger run
            (:mod:`caloforge.scale`), whose rows equal those chunks' rows of the whole file.
        metadata: Extra entries of the file's ``caloforge`` attribute.

    Returns:
        A :class:`Geant4Result`.
    """
    environment.require_geant4()
    cfg = cfg.validate()
    _check_energies(energies)
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}", "give a positive count")
    if not (math.isfinite(cut_mm) and cut_mm > 0):
        raise InputError(f"the production cut must be > 0 mm, got {cut_mm}", "fix --cut-mm")
    geometry = geometry or get_geometry(cfg.geometry)
    total = check_readout(cfg, geometry)
    out = Path(out)
    if out.exists() and not force:
        if resume and not parts_dir(out).exists():
            raise InputError(f"'{out}' is complete: there is nothing to resume",
                             "pass --force (without --resume) to simulate it again")
        raise InputError(f"'{out}' already exists", "pass --force to overwrite it")
    check_writable(out, True)
    root = parts_dir(out)
    with run_lock(root):
        manifest = _manifest(cfg, geometry, energies, cut_mm, diagnostics)
        if chunks is not None:
            manifest["chunks"] = [chunks.start, chunks.stop]
        done = open_parts(root, manifest, resume=resume, force=force)
        run_id = claim(root)
        tasks = [t for t in _tasks(cfg, energies) if chunks is None or t.index in chunks]
        todo = [t for t in tasks if t.index not in done]
        t0, cpu = time.perf_counter(), [0.0]
        bar = tqdm(total=sum(len(t.energies) for t in tasks), unit="shower",
                   disable=not progress, initial=sum(len(t.energies) for t in tasks
                                                     if t.index in done),
                   desc=f"geant4 ({workers} worker{'s' * (workers > 1)})")

        def on_done(task: ChunkTask, cpu_seconds: float) -> None:
            cpu[0] += cpu_seconds
            bar.update(len(task.energies))

        with bar:
            if todo:
                run_pool(WorkerSetup(geometry, total, cut_mm, diagnostics), todo, root,
                         run_id, min(workers, len(todo)), on_done)
        meta = {"geometry": geometry.name, "seed": cfg.seed, "producer": "caloforge.simulate",
                "engine": "geant4", "particle": cfg.particle, "config": asdict(cfg),
                "cut_mm": cut_mm, **_physics(root), "readout": cfg.readout.energy_scale,
                "detector": geometry.description, **(metadata or {})}
        n = sum(len(t.energies) for t in tasks)
        path = write_chunks(out, geometry.n_voxels,
                            _assemble(cfg, geometry, tasks, root, diagnostics), total=n,
                            force=True, metadata=meta, progress=False, desc="assemble")
        shutil.rmtree(root)
    return Geant4Result(path, n, time.perf_counter() - t0, cpu[0], len(todo),
                        len(tasks) - len(todo), meta)


def _physics(root: Path) -> dict[str, Any]:
    """The workers' record of the physics (Geant4 version, list, mode)."""
    try:
        return dict(json.loads((root / PHYSICS_RECORD).read_text()))
    except (OSError, ValueError):
        raise InputError(f"{root} has no record of the Geant4 physics its chunks used",
                         "add --force to simulate them again") from None


def _assemble(cfg: SimulationConfig, geometry: LayeredGeometry, tasks: list[ChunkTask],
              root: Path, diagnostics: bool
              ) -> Iterator[tuple[Showers, dict[str, np.ndarray]]]:
    for task in tasks:
        part = read_part(root, task.index)
        voxels = apply_readout(part["cells"], cfg, geometry)
        angles = {}
        if cfg.incidence.store_angles:
            angles = {"theta": task.theta, "phi": task.phi}
        showers = Showers(task.energies, voxels, geometry=geometry.name,
                          particle=np.full(len(voxels), PDG_IDS[cfg.particle]), **angles)
        extra = {}
        if diagnostics:
            extra = {"other_deposit": part["other"], "escaped_energy": part["escaped"],
                     "cell_deposit": part["cells"].sum(1)}
        yield showers, extra
