"""``caloforge tune``: fit the fast simulator to Geant4 showers and write the tuned config."""

from __future__ import annotations

import argparse
import shlex
import sys

from caloforge.cli._flags import add_force, add_out, add_progress, add_seed

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge reference-set calogan
  caloforge tune ~/.local/share/caloforge/reference/calogan/*.h5 --preset calogan \\
      -o calogan-tuned.yaml
  caloforge simulate --config calogan-tuned.yaml -n 10000 -o calogan-fast.h5
  caloforge tune my_g4_showers.h5 --preset ds2 --n-fit 200 --evaluations 8 -o ds2-mine.yaml

The output is a full simulation config: the preset with a fitted `shape` block (corrections to
the GFLASH parametrisation) and readout terms. The packaged presets ship parameters fitted this
way (docs/tuning.md gives the commands).
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` command."""
    p = sub.add_parser(
        "tune", help="fit the fast simulator to Geant4 showers (writes a simulation config)",
        description="Fit the fast simulator's longitudinal and radial parametrisations, their "
        "fluctuations (width spread, axis wander, spot count), the sub-MeV halo, each sampling "
        "structure's gain and the readout's resolution terms to Geant4 showers of one geometry. "
        "The Geant4 showers are grouped by incident energy; the fast simulator re-simulates "
        "each group (same energies and angles, fixed random streams) and the response, "
        "resolution, layer fractions, widths and their spread, centroid spread, occupancy and "
        "sub-MeV cells are matched stage by stage (Nelder-Mead). Prints the loss of each stage "
        "and each quantity's miss before and after.",
        epilog=EPILOG)
    p.add_argument("files", nargs="+", metavar="GEANT4_FILE",
                   help="Geant4 shower files (CaloChallenge HDF5) of one geometry")
    p.add_argument("--preset", required=True,
                   help="simulation preset (geometry name) or YAML config to start from")
    add_out(p, "tuned simulation config (.yaml)")
    p.add_argument("--n-fit", type=int, default=400,
                   help="Geant4 showers per energy group the fit uses (default: 400)")
    p.add_argument("--evaluations", type=int, default=12,
                   help="simulator runs per fitted parameter in each stage (default: 12)")
    p.add_argument("--rounds", type=int, default=2,
                   help="passes over the stages (default: 2)")
    p.add_argument("--from-textbook", action="store_true",
                   help="start from the textbook parametrisation instead of the preset's "
                   "shipped tuning")
    p.add_argument("--json", metavar="PATH", help="also write the fit's losses as JSON")
    add_seed(p, "seed of the fast simulator's fixed streams (default: 0)")
    add_force(p)
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fit, print the stages and the per-quantity misses, write the config."""
    from pathlib import Path

    from caloforge.errors import InputError
    from caloforge.simulate.config import load_config
    from caloforge.simulate.shape import ShapeConfig
    from caloforge.tune import tune, write_params
    from caloforge.tune.fit import StageResult

    if Path(args.out).exists() and not args.force:
        raise InputError(f"'{args.out}' exists", "pass --force to overwrite it")
    if args.n_fit < 10 or args.evaluations < 1 or args.rounds < 1:
        raise InputError("--n-fit must be >= 10, --evaluations and --rounds >= 1", "raise them")
    start = load_config(args.preset)
    if args.from_textbook:
        start.shape = ShapeConfig()
    quiet = getattr(args, "quiet", False)

    def log(step: StageResult) -> None:
        if not quiet:
            print(f"  {step.name:<13} loss {step.loss_before:10.3f} -> {step.loss_after:10.3f}"
                  f"  ({step.evaluations} runs, {step.seconds:.0f} s)")

    result = tune(args.files, args.preset, n_fit=args.n_fit, evaluations=args.evaluations,
                  rounds=args.rounds, seed=args.seed, start=start,
                  progress=not args.no_progress and not quiet, log=log)
    print(f"groups: {', '.join(result.groups)}")
    print(f"{'quantity':<12} {'rms miss before':>16} {'after':>8}   (1 = one tolerance unit)")
    for key, before in result.per_key_before.items():
        print(f"{key:<12} {before:>16.2f} {result.per_key_after[key]:>8.2f}")
    print(f"loss {result.loss_before:.3g} -> {result.loss_after:.3g} in {result.seconds:.0f} s")
    from_shell = bool(sys.argv) and sys.argv[0].endswith("caloforge")
    command = ("caloforge " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if from_shell
               else "caloforge tune " + " ".join(shlex.quote(str(f)) for f in args.files)
               + f" --preset {args.preset} -o {args.out}")
    write_params(result, args.out, command, force=args.force)
    if args.json:
        from caloforge.tables import write_json

        write_json(args.json, result.to_dict())
    print(f"wrote {args.out}")
    return 0
