"""Sharded runs: plan the shards, run the missing ones on Dask, write OUT over them.

:func:`generate_sharded` and :func:`simulate_sharded` are ``caloforge generate`` and
``caloforge simulate`` (fast or Geant4) cut into shards (:mod:`caloforge.scale.shards`); both
build a :class:`ShardJob` and hand it to :func:`run_job`. The same settings give the same
rows as the sequential command (the same seed and chunk size; for networks also one torch
thread, as the workers use). Rerunning the same command completes a run: complete shards are
kept, missing or partial ones are made again.

Example (a LocalCluster of two processes; seconds)::

    from caloforge.simulate import load_config
    cfg = load_config("ds1-photons", {"n": 100_000, "seed": 1})
    result = simulate_sharded(cfg, "ds1.h5", shards=8, workers=2)
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from caloforge._version import __version__
from caloforge.data.io import ShowerFile, check_writable
from caloforge.errors import InputError
from caloforge.scale.cluster import DEFAULT_RETRIES, LOCAL, open_client, require_dask, run_shards
from caloforge.scale.shards import (
    Shard,
    ShardSpec,
    check_folder,
    merge_files,
    plan_id,
    plan_shards,
    prepare_folder,
    repairable,
    shard_complete,
    shards_dir,
    write_input,
    write_vds,
)
from caloforge.scale.tasks import generate_shard, simulate_shard

if TYPE_CHECKING:
    from distributed import Client

    from caloforge.simulate import SimulationConfig
    from caloforge.train.run import Run

__all__ = ["ShardJob", "ShardedResult", "generate_job", "generate_sharded", "run_job",
           "simulate_job", "simulate_sharded"]


@dataclass
class ShardJob:
    """A sharded run: its output, shards, manifest (everything that determines the numbers),
    the ``caloforge`` attribute of the shard files, the per-shower inputs stored for the
    workers, and the task each shard runs (with its ``payload`` of settings)."""

    out: Path
    shards: list[Shard]
    manifest: dict[str, Any]
    meta: dict[str, Any]
    task: Callable[[ShardSpec], Any]
    payload: dict[str, Any]
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    desc: str = "shards"

    @property
    def n(self) -> int:
        """Showers in the run."""
        return self.shards[-1].rows[1]


@dataclass
class ShardedResult:
    """What a sharded run wrote: the file, showers, shards (made now and kept from before),
    seconds, the cluster's workers, and the shard folder (None once merged)."""

    path: Path
    n: int
    shards: int
    reused: int
    seconds: float
    workers: int
    folder: Path | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    def summary(self) -> str:
        """``8 shards (3 kept) on 4 Dask workers, in gen.h5.shards/`` or ``..., merged``."""
        kept = f" ({self.reused} kept)" if self.reused else ""
        where = f"in {self.folder.name}/" if self.folder is not None else "merged"
        on = f" on {self.workers} Dask workers" if self.workers else ""
        return f"{self.shards} shards{kept}{on}, {where}"


def _digest(values: np.ndarray | None) -> str | None:
    if values is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def run_job(job: ShardJob, *, cluster: str | Client = LOCAL, workers: int | None = None,
            force: bool = False, merge: bool = False, progress: bool = False,
            retries: int = DEFAULT_RETRIES) -> ShardedResult:
    """Run the job's missing shards on ``cluster`` (see :func:`~caloforge.scale.cluster.
    open_client`) and write ``job.out``: a virtual dataset over the shard files, or with
    ``merge`` one plain file (the shard folder is then removed).

    An existing ``out`` is refused without ``force``, unless it is this run's virtual dataset
    and some of its shards are missing: the same command then completes them.

    Raises:
        InputError: ``out`` exists without ``force``; the shard folder holds another run.
        CaloforgeError: a shard failed for good (finished ones are kept for a rerun).
    """
    from tqdm.auto import tqdm

    from caloforge.simulate.geant4.parts import run_lock

    if isinstance(cluster, str):
        require_dask()
    t0 = time.perf_counter()
    out = Path(job.out)
    if not (force or repairable(out, job.manifest)):
        check_writable(out, force)  # refuses an existing file
    out = check_writable(out, True)
    root = shards_dir(out)
    plan = plan_id(job.manifest)
    specs = [ShardSpec(s, str(root), plan, job.meta, job.payload) for s in job.shards]
    n_workers = 0
    with run_lock(root), ExitStack() as stack:
        keep = check_folder(root, job.manifest, force)
        todo = [spec for spec in specs if not (keep and shard_complete(spec))]
        if not (todo or force) and out.exists():
            raise InputError(f"'{out}' already exists and its shards are complete",
                             "pass --force to make it again")
        if todo:  # connect before anything is written: a bad address leaves nothing behind
            client = stack.enter_context(open_client(cluster, workers))
            n_workers = len(client.scheduler_info()["workers"])
        prepare_folder(root, job.manifest, force)
        for name, values in job.inputs.items():
            write_input(root, name, values)
        with tqdm(total=job.n, initial=job.n - sum(s.shard.n for s in todo), unit="shower",
                  disable=not progress, desc=f"{job.desc} ({len(specs)} shards)") as bar:
            if todo:
                run_shards(client, job.task, todo, retries=retries,
                           on_done=lambda spec, _: bar.update(spec.shard.n))
        stack.close()  # the cluster is not needed for what follows
        lost = [spec.shard.index for spec in specs if not shard_complete(spec)]
        if lost:
            raise InputError(f"shards {lost} of {root} are missing or incomplete",
                             "run the same command again")
        for tmp in root.glob(".shard-*.tmp"):  # left by killed workers
            tmp.unlink(missing_ok=True)
        meta = dict(ShowerFile(specs[0].path).metadata)
        meta.pop("shard")
        if merge:
            merge_files([spec.path for spec in specs], out, meta, force=True)
            shutil.rmtree(root)
        else:
            meta["shards"] = {"count": len(specs), "folder": root.name}
            write_vds(out, specs, meta)
    return ShardedResult(out, job.n, len(specs), len(specs) - len(todo),
                         time.perf_counter() - t0, n_workers, None if merge else root)


def generate_job(run: Run | str | Path, energies: np.ndarray, out: str | Path, *,
                 theta: np.ndarray | float | None = None, seed: int = 0,
                 batch_size: int = 1_000, shards: int | None = None, threads: int | None = None,
                 device: str = "cpu", backend: str = "torch") -> ShardJob:
    """The shards of :func:`caloforge.generate` with the same arguments (``threads``: torch
    threads per task, default 1; ``backend``: exported once here, before any shard runs).

    Raises:
        InputError: bad batch size, shard count or energies; a run that cannot sample.
    """
    from caloforge.train.run import Run

    if batch_size < 1:
        raise InputError("--batch-size must be >= 1", "give a positive batch size")
    run = run if isinstance(run, Run) else Run.load(run, device=device)
    stage = run.stage_for("sample", "generate showers")
    model = run.model_for("sample", "generate showers")
    energies = np.asarray(energies, dtype=np.float64).reshape(-1)
    conditions = run.conditions(energies, theta, model)  # refuses bad energies, missing angles
    inputs = {"energies": energies}
    if conditions.theta is not None:
        inputs["theta"] = np.broadcast_to(np.asarray(theta, dtype=np.float64),
                                          energies.shape).copy()
    if backend != "torch":
        from caloforge.deploy.runtime import backend_for_run

        backend_for_run(run, backend)  # the workers find the exported file ready
    name = f"{run.family.name}:{stage}"
    path = str(run.path.resolve())
    meta = {"geometry": run.geometry.name, "producer": f"caloforge.generate ({name})",
            "run": path, "seed": seed, "batch_size": batch_size, "backend": backend}
    payload = {"run": path, "stage": run.stage, "checkpoint": run.checkpoint,
               "device": device, "seed": seed, "batch_size": batch_size,
               "threads": threads or 1, "backend": backend}
    plan = plan_shards(len(energies), batch_size, shards)
    manifest = {"kind": "generate", "caloforge": __version__, **payload,
                "status": run.status.get(stage), "n": len(energies), "shards": len(plan),
                "inputs": {k: _digest(v) for k, v in inputs.items()}}
    return ShardJob(Path(out), plan, manifest, meta, generate_shard, payload, inputs,
                    desc="generating")


def generate_sharded(run: Run | str | Path, energies: np.ndarray, out: str | Path, *,
                     cluster: str | Client = LOCAL, workers: int | None = None,
                     shards: int | None = None, theta: np.ndarray | float | None = None,
                     seed: int = 0, batch_size: int = 1_000, threads: int | None = None,
                     device: str = "cpu", force: bool = False, merge: bool = False,
                     progress: bool = False, retries: int = DEFAULT_RETRIES,
                     backend: str = "torch") -> ShardedResult:
    """:func:`caloforge.generate` in shards on Dask (arguments of :func:`generate_job` and
    :func:`run_job`)."""
    job = generate_job(run, energies, out, theta=theta, seed=seed, batch_size=batch_size,
                       shards=shards, threads=threads, device=device, backend=backend)
    return run_job(job, cluster=cluster, workers=workers, force=force, merge=merge,
                   progress=progress, retries=retries)


def simulate_job(cfg: SimulationConfig, out: str | Path, *, energies: np.ndarray | None = None,
                 engine: str = "fast", cut_mm: float | None = None,
                 shards: int | None = None) -> ShardJob:
    """The shards of ``caloforge simulate`` (``engine`` ``fast`` or ``geant4``) with the
    config's seed and chunk size.

    Raises:
        InputError: bad config, energies or shard count; Geant4 missing or its settings bad.
    """
    from caloforge.geometry import get_geometry

    cfg = cfg.validate()
    if energies is not None:
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        if energies.size == 0 or not np.all(np.isfinite(energies)) or energies.min() <= 0:
            raise InputError("incident energies must be finite and > 0 MeV", "fix the energies")
    geometry = get_geometry(cfg.geometry)
    n = cfg.n if energies is None else len(energies)
    manifest: dict[str, Any] = {"kind": "simulate", "engine": engine, "caloforge": __version__,
                                "config": asdict(cfg), "n": n, "energies": _digest(energies)}
    meta: dict[str, Any] = {}
    if engine == "fast":
        meta = {"geometry": geometry.name, "seed": cfg.seed, "producer": "caloforge.simulate",
                "particle": cfg.particle, "config": asdict(cfg)}
    elif engine == "geant4":
        cut_mm = _geant4_checks(cfg, geometry, cut_mm)
        from caloforge.simulate.geant4.environment import physics_mode

        manifest.update(cut_mm=cut_mm, physics_mode=physics_mode())
    else:
        raise InputError(f"unknown engine '{engine}'", "use fast or geant4")
    plan = plan_shards(n, cfg.chunk_size, shards)
    manifest["shards"] = len(plan)
    inputs = {} if energies is None else {"energies": energies}
    payload = {"config": cfg, "engine": engine, "cut_mm": cut_mm}
    return ShardJob(Path(out), plan, manifest, meta, simulate_shard, payload, inputs,
                    desc="simulate" if engine == "fast" else "geant4")


def _geant4_checks(cfg: SimulationConfig, geometry: Any, cut_mm: float | None) -> float:
    import math

    from caloforge.simulate.geant4 import DEFAULT_CUT_MM, require_geant4
    from caloforge.simulate.geant4.readout import check_readout

    require_geant4()
    cut_mm = DEFAULT_CUT_MM if cut_mm is None else cut_mm
    if not (math.isfinite(cut_mm) and cut_mm > 0):
        raise InputError(f"the production cut must be > 0 mm, got {cut_mm}", "fix --cut-mm")
    check_readout(cfg, geometry)
    return cut_mm


def simulate_sharded(cfg: SimulationConfig, out: str | Path, *,
                     energies: np.ndarray | None = None, engine: str = "fast",
                     cut_mm: float | None = None, cluster: str | Client = LOCAL,
                     workers: int | None = None, shards: int | None = None,
                     force: bool = False, merge: bool = False, progress: bool = False,
                     retries: int = DEFAULT_RETRIES) -> ShardedResult:
    """``caloforge simulate`` in shards on Dask (arguments of :func:`simulate_job` and
    :func:`run_job`)."""
    job = simulate_job(cfg, out, energies=energies, engine=engine, cut_mm=cut_mm, shards=shards)
    return run_job(job, cluster=cluster, workers=workers, force=force, merge=merge,
                   progress=progress, retries=retries)
