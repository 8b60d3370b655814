"""What a Dask worker runs for one shard: generate or simulate its chunks, write its file.

Each task is idempotent: a shard whose file is complete is skipped, and a file appears only
when written in full (temporary name, then rename), so a retried or rescheduled task never
duplicates or loses rows. Chunk ``k`` of a shard is chunk ``k`` of the sequential run, seeded
the same way (:mod:`caloforge.seeds`), so the shard's rows equal the sequential file's.

Workers receive paths and settings, never models: a generate task loads the run directory
itself (kept per worker process while its ``status.json`` is unchanged).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

from caloforge.errors import InputError
from caloforge.scale.shards import ShardSpec, read_input, shard_complete

if TYPE_CHECKING:
    from caloforge.data.showers import Showers
    from caloforge.simulate import SimulationConfig
    from caloforge.train.run import Run

__all__ = ["ShardDone", "generate_shard", "simulate_shard"]

DAEMON_FIX = ("start the Dask workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (--dask local "
              "does; see docs/scale.md)")


@dataclass(frozen=True)
class ShardDone:
    """What a shard task reports: its index and rows, whether the file was already complete,
    the seconds it took and the worker's process id."""

    index: int
    n: int
    skipped: bool
    seconds: float
    pid: int


def _write(spec: ShardSpec, n_voxels: int, chunks: Iterator[Showers]) -> None:
    from caloforge.data.io import write_chunks

    write_chunks(spec.path, n_voxels, chunks, total=spec.shard.n, force=True,
                 metadata={**spec.meta, "shard": spec.marker}, progress=False)


def _finish(spec: ShardSpec, t0: float) -> ShardDone:
    if not shard_complete(spec):
        raise RuntimeError(f"shard file {spec.path} is incomplete after writing")
    return ShardDone(spec.shard.index, spec.shard.n, False, time.perf_counter() - t0,
                     os.getpid())


def _skip(spec: ShardSpec) -> ShardDone | None:
    if shard_complete(spec):
        return ShardDone(spec.shard.index, spec.shard.n, True, 0.0, os.getpid())
    return None


@lru_cache(maxsize=4)
def _run(path: str, stage: str | None, checkpoint: str | None, device: str,
         stamp: int) -> Run:
    """The run, loaded once per worker process; ``stamp`` (the mtime of its ``status.json``)
    only keys the cache, so a run trained further is loaded again."""
    from caloforge.train.run import Run

    return Run.load(path, device=device, stage=stage, checkpoint=checkpoint)


def generate_shard(spec: ShardSpec) -> ShardDone:
    """Generate the shard's chunks with the run directory ``payload["run"]``: chunk ``k``
    draws from ``derive(seed, "generate", k)``, as :meth:`Run.iter_samples` does for the
    whole run (``payload``: run, stage, checkpoint, device, seed, batch_size, threads)."""
    if (done := _skip(spec)) is not None:
        return done
    from caloforge.threads import torch_threads

    t0 = time.perf_counter()
    p = spec.payload
    stamp = os.stat(os.path.join(p["run"], "status.json")).st_mtime_ns
    run = _run(p["run"], p["stage"], p["checkpoint"], p["device"], stamp)
    a, b = spec.shard.rows
    energies = np.array(read_input(spec.root, "energies")[a:b], dtype=np.float64)
    theta_all = read_input(spec.root, "theta")
    theta = None if theta_all is None else np.array(theta_all[a:b], dtype=np.float64)
    backend = None
    if p.get("backend", "torch") != "torch":
        from caloforge.deploy.runtime import backend_for_run

        backend = backend_for_run(run, p["backend"], p["threads"])
    conditions = run.conditions(energies, theta, run.model_for("sample", "generate showers"))
    with torch_threads(p["threads"]):
        _write(spec, run.geometry.n_voxels,
               run.iter_samples(conditions, p["seed"], p["batch_size"], energies,
                                first_chunk=spec.shard.chunks[0], backend=backend))
    return _finish(spec, t0)


def simulate_shard(spec: ShardSpec) -> ShardDone:
    """Simulate the shard's chunks (``payload``: config, engine ``fast`` or ``geant4``,
    cut_mm): chunk ``k`` draws from ``default_rng([seed, k])`` as in the sequential run; a
    Geant4 chunk also reseeds Geant4 with ``derive(seed, "geant4", k)``, in a Geant4 process
    started by this worker (:func:`~caloforge.simulate.geant4.simulate_geant4`)."""
    if (done := _skip(spec)) is not None:
        return done
    t0 = time.perf_counter()
    p = spec.payload
    cfg: SimulationConfig = p["config"]
    energies = read_input(spec.root, "energies")
    lo, hi = spec.shard.chunks
    if p["engine"] == "geant4":
        _geant4(spec, cfg, energies)
        return _finish(spec, t0)
    from caloforge.simulate import ReferenceSimulator
    from caloforge.simulate.incidence import chunk_streams

    sim = ReferenceSimulator(cfg)  # milliseconds
    streams = islice(chunk_streams(sim.config, energies), lo, hi)
    _write(spec, sim.geometry.n_voxels, (sim.simulate_batch(e, rng) for e, rng in streams))
    return _finish(spec, t0)


def _geant4(spec: ShardSpec, cfg: SimulationConfig, energies: np.ndarray | None) -> None:
    from caloforge.simulate.geant4 import simulate_geant4

    if multiprocessing.current_process().daemon:
        raise InputError("a Geant4 shard runs Geant4 in a process of its own, which a daemonic "
                         "Dask worker may not start", DAEMON_FIX)
    lo, hi = spec.shard.chunks
    simulate_geant4(cfg, spec.path, energies=None if energies is None else np.asarray(energies),
                    workers=1, cut_mm=spec.payload["cut_mm"], force=True, resume=True,
                    progress=False, chunks=range(lo, hi), metadata={"shard": spec.marker})
