"""Sample a trained run into a CaloChallenge file: chunked, atomic, seeded, with progress.

Chunk ``k`` draws its noise from ``derive(seed, "generate", k)`` (:mod:`caloforge.seeds`): the
same run, seed, thread count and chunk size give byte-identical showers.

Example (with a run made by ``caloforge train``)::

    from caloforge import Run, generate
    result = generate(Run.load("runs/ds1"), np.full(10_000, 65536.0), "gen.h5", seed=1)
    result.ms_per_shower
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.data.io import check_writable, write_chunks
from caloforge.errors import InputError
from caloforge.models.base import Conditions
from caloforge.threads import torch_threads
from caloforge.train.run import Run

__all__ = ["GenerationResult", "generate"]


@dataclass
class GenerationResult:
    """What :func:`generate` wrote and how fast.

    Attributes:
        path: The file.
        n: Showers written.
        seconds: Wall time of sampling and writing.
        ms_per_shower: ``1000 seconds / n``.
        batch_size: Showers per network call (the chunk size).
        run: The run directory and the family (and stage) that sampled.
    """

    path: str
    n: int
    seconds: float
    ms_per_shower: float
    batch_size: int
    run: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def generate(run: Run | str | Path, conditions: Conditions | np.ndarray, out: str | Path, *,
             theta: np.ndarray | float | None = None, seed: int = 0, batch_size: int = 1_000,
             force: bool = False, progress: bool = False, threads: int | None = None,
             device: str = "cpu", backend: str = "torch") -> GenerationResult:
    """Generate showers for the given conditions into ``out``.

    Arguments:
        run: A :class:`~caloforge.train.run.Run` or its directory.
        conditions: :class:`~caloforge.models.base.Conditions`, or incident energies (MeV).
        out: Output ``.h5`` (CaloChallenge layout, with ``incident_theta`` when given).
        theta: Incident polar angles (rad) when ``conditions`` are plain energies.
        seed: Seed of the generation.
        batch_size: Showers per network call and per written chunk.
        force: Overwrite an existing file.
        progress: Show a progress bar.
        threads: Torch CPU threads for this call (restored afterwards).
        device: Where to load the run when given as a path.
        backend: ``torch`` (caloforge's sampler), ``onnxruntime`` or ``torchscript`` (the
            run's sampler exported once to ``RUN/export/``, fed the same noise: the same
            showers up to float rounding; :mod:`caloforge.deploy`).

    Raises:
        InputError: bad batch size, conditions, or a run that cannot sample.
    """
    if batch_size < 1:
        raise InputError("--batch-size must be >= 1", "give a positive batch size")
    check_writable(out, force)
    run = run if isinstance(run, Run) else Run.load(run, device=device)
    stage = run.stage_for("sample", "generate showers")
    model = run.model_for("sample", "generate showers")
    energies = None
    if not isinstance(conditions, Conditions):
        energies = np.asarray(conditions, dtype=np.float64).reshape(-1)
        conditions = run.conditions(energies, theta, model)
    name = f"{run.family.name}:{stage}"
    meta = {"geometry": run.geometry.name, "producer": f"caloforge.generate ({name})",
            "run": str(run.path.resolve()), "seed": seed, "batch_size": batch_size,
            "backend": backend}
    exported = None
    if backend != "torch":
        from caloforge.deploy.runtime import backend_for_run

        exported = backend_for_run(run, backend, threads, progress=progress)
    t0 = time.perf_counter()
    with torch_threads(threads):
        path = write_chunks(out, run.geometry.n_voxels,
                            run.iter_samples(conditions, seed, batch_size, energies,
                                             backend=exported),
                            total=len(conditions),
                            force=force, metadata=meta, progress=progress, desc="generating")
    dt = time.perf_counter() - t0
    return GenerationResult(str(path), len(conditions), dt, 1e3 * dt / len(conditions),
                            batch_size, f"{run.path} ({name})")
