"""``caloforge generate`` and ``caloforge log-prob``: use a trained run directory."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from caloforge.cli._flags import (
    add_dask,
    add_device,
    add_force,
    add_out,
    add_progress,
    add_seed,
    add_threads,
    check_dask,
)
from caloforge.errors import InputError
from caloforge.simulate.config import SpectrumConfig, load_config

if TYPE_CHECKING:
    import numpy as np

    from caloforge.train.run import Run

__all__ = ["parse_spectrum", "register", "run_generate", "run_log_prob"]

GEN_EPILOG = """examples:
  caloforge generate --run runs/ds1 -n 100000 -o gen.h5          # the student, if distilled
  caloforge generate --run runs/ds1 --energies reference.h5 -o gen.h5 --force
  caloforge generate --run runs/ds1 --stage teacher -n 1000 --spectrum log-uniform:1000:100000 \\
      -o gen.h5
  caloforge generate --run runs/ds1 -n 1000000 -o gen.h5 --dask local --shards 20
      # shards on a LocalCluster (docs/scale.md); the same command resumes

spectra: preset (the geometry's simulation preset), log-uniform:EMIN:EMAX, uniform:EMIN:EMAX,
fixed:E, discrete:E1,E2,... (MeV)
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``generate`` and ``log-prob`` commands."""
    p = sub.add_parser(
        "generate", help="generate showers with a trained run",
        description="Sample showers from a trained run directory into a CaloChallenge file "
        "(incident_energies, showers in MeV), in chunks, atomically, with a progress bar. The "
        "same run, seed, thread count and --batch-size give the same file.",
        epilog=GEN_EPILOG)
    p.add_argument("--run", required=True, help="run directory")
    p.add_argument("--stage", help="sample with this stage (default: the last finished stage "
                   "that can sample, e.g. the caloflow student)")
    add_out(p, "output .h5 file")
    p.add_argument("-n", type=int, help="number of showers (default: all of --energies)")
    p.add_argument("--energies", help="incident energies (MeV) from .npy, text or a shower .h5 "
                   "of the run's geometry (its angles too, for angle-conditioned runs)")
    p.add_argument("--spectrum", default="preset", help="energy spectrum when no --energies "
                   "(default: preset)")
    p.add_argument("--theta", type=float, help="fixed incident angle in degrees "
                   "(angle-conditioned runs)")
    p.add_argument("--batch-size", type=int, default=1_000,
                   help="showers per network call (default 1000: fastest on CPU; raise on GPU)")
    p.add_argument("--backend", choices=["torch", "onnxruntime", "torchscript"],
                   default="torch", help="torch (default), or the run's sampler exported once "
                   "to RUN/export/ and run by onnxruntime or TorchScript (same noise)")
    add_seed(p)
    add_device(p)
    add_threads(p)
    add_force(p)
    add_progress(p)
    add_dask(p)
    p.set_defaults(func=run_generate)

    q = sub.add_parser(
        "log-prob", help="log-likelihood of showers under a trained run",
        description="log p(voxels | E_inc) per shower from the run's density (caloflow: Flow I "
        "+ Flow II of the teacher), in physical voxel space (per MeV^V, preprocessing Jacobian "
        "included) or, for flows, in flow space.")
    q.add_argument("file", help="shower .h5 of the run's geometry")
    q.add_argument("--run", required=True, help="run directory")
    q.add_argument("--stage", help="score with this stage (default: the first finished stage "
                   "with a density)")
    add_out(q, "write per-shower values to .npy or .h5", required=False)
    q.add_argument("--space", choices=["physical", "flow"], default="physical",
                   help="physical (default) or flow space")
    q.add_argument("--batch-size", type=int, default=10_000, help="showers per batch")
    add_seed(q, "seed of the dequantisation noise (default: 0)")
    add_device(q)
    add_threads(q)
    add_force(q)
    add_progress(q)
    q.set_defaults(func=run_log_prob)


def parse_spectrum(text: str, geometry: str) -> SpectrumConfig:
    """A spectrum from ``preset``, ``log-uniform:A:B``, ``uniform:A:B``, ``fixed:E`` or
    ``discrete:E1,E2,...`` (MeV).

    Example:
        >>> parse_spectrum("log-uniform:1000:100000", "ds1-photons").e_max_mev
        100000.0
    """
    kind, _, rest = text.partition(":")
    try:
        if kind == "preset":
            return load_config(None, {"geometry": geometry}).spectrum
        if kind in ("log-uniform", "uniform"):
            lo, hi = (float(v) for v in rest.split(":"))
            return SpectrumConfig(kind=kind, e_min_mev=lo, e_max_mev=hi)  # type: ignore[arg-type]
        if kind == "fixed":
            return SpectrumConfig(kind="fixed", e_min_mev=float(rest))
        if kind == "discrete":
            values = [float(v) for v in rest.split(",")]
            return SpectrumConfig(kind="discrete", values_mev=values, weights=[1.0] * len(values))
    except ValueError:
        pass
    raise InputError(f"cannot read spectrum '{text}'", "use preset, log-uniform:EMIN:EMAX, "
                     "uniform:EMIN:EMAX, fixed:E or discrete:E1,E2,... in MeV")


def _inputs(run: Run, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None]:
    import numpy as np

    from caloforge.data.io import ShowerFile
    from caloforge.seeds import derive
    from caloforge.simulate.incidence import load_energies, sample_energies

    theta = None if args.theta is None else np.deg2rad(args.theta)
    if args.energies:
        path = Path(args.energies)
        if path.suffix in (".h5", ".hdf5") and path.is_file():
            file = ShowerFile(path)
            showers = file.read(0, args.n)
            run.check_geometry(showers, f"energies file '{path}'")
            if theta is None and showers.theta is not None:
                theta = showers.theta
            return showers.energies, theta
        energies = load_energies(path)
        return energies[: args.n] if args.n else energies, theta
    if not args.n or args.n < 1:
        raise InputError("give -n (a positive number of showers) or --energies", "add -n N")
    spectrum = parse_spectrum(args.spectrum, run.geometry.name)
    rng = np.random.default_rng(derive(args.seed, "spectrum"))
    return sample_energies(spectrum, args.n, rng), theta


def run_generate(args: argparse.Namespace) -> int:
    """Generate and print one summary line."""
    from caloforge.data.io import check_writable
    from caloforge.generation import generate
    from caloforge.train.run import Run

    check_dask(args)
    if not args.dask:  # a sharded run may complete an existing output of its own
        check_writable(args.out, args.force)
    run = Run.load(args.run, device=args.device, stage=args.stage)
    energies, theta = _inputs(run, args)
    if args.dask:
        return _generate_sharded(run, energies, theta, args)
    res = generate(run, energies, args.out, theta=theta, seed=args.seed,
                   batch_size=args.batch_size, force=args.force, progress=not args.no_progress,
                   threads=args.threads, backend=args.backend)
    print(f"generated {res.n} showers ({run.geometry.name}, {res.run}) to {res.path} in "
          f"{res.seconds:.1f} s ({res.ms_per_shower:.3f} ms/shower, batch {res.batch_size})")
    return 0


def _generate_sharded(run: Run, energies: np.ndarray, theta: np.ndarray | None,
                      args: argparse.Namespace) -> int:
    from caloforge.scale import generate_sharded

    res = generate_sharded(run, energies, args.out, cluster=args.dask, workers=args.workers,
                           shards=args.shards, theta=theta, seed=args.seed,
                           batch_size=args.batch_size, threads=args.threads,
                           device=args.device, force=args.force, merge=args.merge,
                           progress=not args.no_progress, backend=args.backend)
    print(f"generated {res.n} showers ({run.geometry.name}, {run.name}) to {res.path} in "
          f"{res.seconds:.1f} s ({res.n / res.seconds:.3g}/s; {res.summary()})")
    return 0


def _write_values(path: Path, energies: np.ndarray, values: np.ndarray) -> None:
    import numpy as np

    from caloforge.tables import write_table

    if path.suffix in (".h5", ".hdf5"):
        write_table(path, {"incident_energies": energies.reshape(-1, 1), "log_prob": values},
                    force=True)  # the caller checked --force
        return
    if path.suffix != ".npy":
        raise InputError(f"unknown output type '{path.suffix}'", "write .npy or .h5")
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, values)
    os.replace(tmp, path)


def run_log_prob(args: argparse.Namespace) -> int:
    """Compute per-shower log-likelihoods; print their mean and standard error."""
    import numpy as np

    from caloforge.data.io import ShowerFile, check_writable
    from caloforge.data.validate import check_values
    from caloforge.threads import torch_threads
    from caloforge.train.run import Run

    out = check_writable(args.out, args.force) if args.out else None
    run = Run.load(args.run, device=args.device, stage=args.stage)
    file = ShowerFile(args.file)
    run.check_geometry(file.read(0, 1), f"file '{args.file}'")  # before reading it all
    showers = file.read()
    check_values(showers, source=f"file '{args.file}'")
    with torch_threads(args.threads):
        values = run.log_prob(showers, batch_size=args.batch_size, seed=args.seed,
                              physical=args.space == "physical", progress=not args.no_progress)
    if out is not None:
        _write_values(out, showers.energies, values)
    sem = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    unit = "flow space"
    if args.space == "physical":  # a family whose value is another measure names it
        density = run.model_for("log_prob", "score whole showers")
        unit = getattr(density, "density_unit", "per MeV^V")
    print(f"mean log-likelihood of {len(values)} showers: {values.mean():.6g} +- {sem:.3g} "
          f"({unit}){f'; values in {out}' if out else ''}")
    return 0
