"""``caloforge simulate``: reference showers (or chi -> gamma gamma signals) to a file."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from caloforge.cli._flags import add_force, add_out, add_progress
from caloforge.simulate.config import list_presets

if TYPE_CHECKING:
    import numpy as np

    from caloforge.simulate import ReferenceSimulator

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge simulate --geometry ds1-photons --particle photon -n 100000 --seed 1 -o data/ds1.h5
  caloforge simulate --geometry ild-photons -n 1000 --energy 50000 --theta-min 90 -o ild50.h5
  caloforge simulate --geometry calogan --signal chi-gg --mass 500 --distance 200 \\
      --energy 50000 -n 1000 -o chi.h5
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` command."""
    p = sub.add_parser(
        "simulate", help="simulate reference showers with the built-in physics simulator",
        description="Simulate electromagnetic showers (GFLASH profiles, Poisson spot and "
        "crossing fluctuations, MIP-level sampling readout) in any preset geometry and write "
        "a CaloChallenge HDF5 file. Each geometry has a preset (spectrum, incidence, readout); "
        "flags override it.", epilog=EPILOG)
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
    p.add_argument("--chunk-size", type=int, help="showers per batch (part of the seed stream)")
    p.add_argument("--signal", choices=["chi-gg"], help="simulate a chi -> gamma gamma signal")
    p.add_argument("--mass", type=float, help="chi mass in MeV (with --signal)")
    p.add_argument("--distance", type=float, help="chi decay distance before the face in mm")
    add_force(p)
    add_progress(p)
    p.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    over: dict[str, Any] = {"geometry": args.geometry, "particle": args.particle, "n": args.n,
                            "seed": args.seed, "chunk_size": args.chunk_size}
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


def run(args: argparse.Namespace) -> int:
    """Simulate and write; print one summary line."""
    from caloforge.simulate import ReferenceSimulator, load_config
    from caloforge.simulate.incidence import load_energies

    cfg = load_config(args.config, _overrides(args))
    sim = ReferenceSimulator(cfg)
    energies = load_energies(args.energies) if args.energies else None
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
