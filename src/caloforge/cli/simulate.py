"""``caloforge simulate``: reference showers (or chi -> gamma gamma signals) to a file."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from caloforge.cli._flags import add_dask, add_force, add_out, add_progress, check_dask
from caloforge.simulate.config import list_presets

if TYPE_CHECKING:
    import numpy as np

    from caloforge.simulate import ReferenceSimulator, SimulationConfig

__all__ = ["ENGINES", "register", "run"]

#: Simulation engines.
ENGINES = ("fast", "geant4")

EPILOG = """examples:
  caloforge simulate --geometry ds1-photons --particle photon -n 100000 --seed 1 -o data/ds1.h5
  caloforge simulate --geometry ild-photons -n 1000 --energy 50000 --theta-min 90 -o ild50.h5
  caloforge simulate --geometry calogan --signal chi-gg --mass 500 --distance 200 \\
      --energy 50000 -n 1000 -o chi.h5
  caloforge simulate --engine geant4 --geometry calogan --particle positron -n 200 -o g4.h5
  caloforge simulate --engine geant4 --geometry ds2 --energy 10000 -n 2000 --workers 2 \\
      -o ds2_g4.h5            # killed? the same command with --resume completes it
  caloforge simulate --geometry ds1-photons -n 1000000 --dask local --shards 20 -o ds1.h5
      # shards on a LocalCluster (docs/scale.md); killed? the same command completes it
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` command."""
    p = sub.add_parser(
        "simulate", help="simulate showers: the fast parametrised simulator or real Geant4",
        description="Simulate electromagnetic showers in any preset geometry and write a "
        "CaloChallenge HDF5 file. The fast engine (default) is a parametrised simulator "
        "(GFLASH profiles, Poisson spot and crossing fluctuations, MIP-level sampling "
        "readout); --engine geant4 runs real Geant4 (pip install 'caloforge[geant4]') in "
        "worker processes, keeping finished chunks so that --resume completes a killed run. "
        "Each geometry has a preset (spectrum, incidence, readout); flags override it.",
        epilog=EPILOG)
    add_out(p, "output .h5 file")
    p.add_argument("--geometry",
                   help=f"geometry preset: {', '.join(list_presets())} (default: the --config "
                   "file's, else ds1-photons)")
    p.add_argument("--config", help="YAML config file instead of the geometry's preset")
    p.add_argument("--particle", help="photon, electron or positron (default: the preset's)")
    p.add_argument("-n", type=int, help="number of showers (default: the preset's)")
    p.add_argument("--seed", type=int, help="random seed (default: the config's, 0 in presets)")
    p.add_argument("--energy", type=float, help="fixed incident energy in MeV")
    p.add_argument("--energies", help="incident energies in MeV from .npy, text or shower .h5")
    p.add_argument("--theta-min", type=float, help="smallest polar angle from the beam, degrees")
    p.add_argument("--theta-max", type=float, help="largest polar angle from the beam, degrees")
    p.add_argument("--chunk-size", type=int, help="showers per batch, part of the seed stream "
                   "(default: the config's; 20 with --engine geant4 and a preset)")
    p.add_argument("--signal", choices=["chi-gg"], help="simulate a chi -> gamma gamma signal")
    p.add_argument("--mass", type=float, help="chi mass in MeV (with --signal)")
    p.add_argument("--distance", type=float, help="chi decay distance before the face in mm")
    g4 = p.add_argument_group("geant4 engine")
    g4.add_argument("--engine", choices=ENGINES, default="fast",
                    help="fast (parametrised, default) or geant4 (real Geant4 showers)")
    g4.add_argument("--workers", type=int,
                    help="Geant4 worker processes, one Geant4 each (default: 1); with --dask "
                    "local: its worker processes (default: the CPU count)")
    g4.add_argument("--cut-mm", type=float, help="Geant4 production cut in mm (default: 0.7)")
    g4.add_argument("--resume", action="store_true",
                    help="complete an interrupted Geant4 run of the same command")
    add_force(p)
    add_progress(p)
    add_dask(p, workers=False)
    p.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    chunk = args.chunk_size
    if chunk is None and args.config is None and args.engine == "geant4":
        from caloforge.simulate.geant4.engine import DEFAULT_CHUNK_SIZE as chunk
    over: dict[str, Any] = {"geometry": args.geometry, "particle": args.particle, "n": args.n,
                            "seed": args.seed, "chunk_size": chunk}
    if args.energy is not None:
        over["spectrum"] = {"kind": "fixed", "e_min_mev": args.energy}
    incidence = {"theta_min_deg": args.theta_min, "theta_max_deg": args.theta_max}
    if args.theta_min is not None or args.theta_max is not None:
        lo = args.theta_min if args.theta_min is not None else args.theta_max
        hi = args.theta_max if args.theta_max is not None else args.theta_min
        incidence = {"theta_min_deg": lo, "theta_max_deg": hi, "store_angles": True}
    over["incidence"] = incidence
    return over


def _signal(sim: ReferenceSimulator, args: argparse.Namespace, energies: np.ndarray | None,
            progress: bool) -> None:
    from caloforge.data.io import write_chunks
    from caloforge.errors import InputError

    if args.mass is None or args.distance is None:
        raise InputError("--signal chi-gg needs --mass (MeV) and --distance (mm)",
                         "add both flags")
    cfg = sim.config
    meta = {"geometry": sim.geometry.name, "seed": cfg.seed, "producer": "caloforge.simulate",
            "signal": "chi-gg", "mass_mev": args.mass, "distance_mm": args.distance}
    write_chunks(args.out, sim.geometry.n_voxels,
                 sim.signal_batches(args.mass, args.distance, energies),
                 total=cfg.n if energies is None else len(energies), force=args.force,
                 metadata=meta, progress=progress, desc="chi->gg", unit="event")


def _geant4(args: argparse.Namespace, cfg: SimulationConfig, energies: np.ndarray | None
            ) -> int:
    from caloforge.errors import InputError
    from caloforge.simulate.geant4 import DEFAULT_CUT_MM, simulate_geant4

    if args.signal:
        raise InputError("--signal is not available with --engine geant4",
                         "drop --engine geant4 (the fast engine simulates chi -> gamma gamma)")
    workers = 1 if args.workers is None else args.workers
    result = simulate_geant4(cfg, args.out, energies=energies, workers=workers,
                             cut_mm=DEFAULT_CUT_MM if args.cut_mm is None else args.cut_mm,
                             force=args.force,
                             resume=args.resume, progress=not args.no_progress)
    meta = result.metadata
    kept = f", {result.chunks_reused} chunks kept" if result.chunks_reused else ""
    print(f"wrote {result.n} {cfg.particle} showers ({meta['geometry']}, seed {cfg.seed}, "
          f"Geant4 {meta.get('geant4_version', '?')}, {meta['physics_mode']} physics{kept}) "
          f"to {args.out} in {result.seconds:.1f} s")
    return 0


def _sharded(args: argparse.Namespace, cfg: SimulationConfig, energies: np.ndarray | None
             ) -> int:
    from caloforge.errors import InputError
    from caloforge.scale import simulate_sharded

    if args.signal:
        raise InputError("--signal is not available with --dask",
                         "drop --dask (chi -> gamma gamma files are simulated in one process)")
    if args.engine == "fast" and args.cut_mm is not None:
        raise InputError("--cut-mm belongs to --engine geant4", "add --engine geant4, or drop it")
    res = simulate_sharded(cfg, args.out, energies=energies, engine=args.engine,
                           cut_mm=args.cut_mm, cluster=args.dask, workers=args.workers,
                           shards=args.shards, force=args.force, merge=args.merge,
                           progress=not args.no_progress)
    print(f"wrote {res.n} {cfg.particle} showers ({cfg.geometry}, seed {cfg.seed}, "
          f"{args.engine} engine) to {res.path} in {res.seconds:.1f} s "
          f"({res.n / res.seconds:.3g}/s; {res.summary()})")
    return 0


def run(args: argparse.Namespace) -> int:
    """Simulate and write; print one summary line."""
    from caloforge.errors import InputError
    from caloforge.simulate import ReferenceSimulator, load_config
    from caloforge.simulate.incidence import load_energies

    cfg = load_config(args.config, _overrides(args))
    energies = load_energies(args.energies) if args.energies else None
    check_dask(args, workers=False)
    if args.dask:
        return _sharded(args, cfg, energies)
    if args.engine == "geant4":
        return _geant4(args, cfg, energies)
    if args.resume or args.cut_mm is not None or args.workers is not None:
        raise InputError("--resume, --cut-mm and --workers belong to --engine geant4",
                         "add --engine geant4, or drop them (the fast engine needs none)")
    sim = ReferenceSimulator(cfg)
    progress = not args.no_progress
    t0 = time.perf_counter()
    if args.signal:
        _signal(sim, args, energies, progress)
    else:
        sim.write(args.out, energies=energies, force=args.force, progress=progress)
    dt = time.perf_counter() - t0
    n = cfg.n if energies is None else len(energies)
    what = "chi->gamma gamma events" if args.signal else f"{cfg.particle} showers"
    print(f"wrote {n} {what} ({sim.geometry.name}, seed {cfg.seed}) to {args.out} "
          f"in {dt:.1f} s ({n / dt:.0f}/s)")
    return 0
