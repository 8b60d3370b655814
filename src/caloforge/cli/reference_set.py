"""``caloforge reference-set``: Geant4 validation sets per preset, cached and reused."""

from __future__ import annotations

import argparse

from caloforge.cli._flags import add_force, add_progress, add_seed

__all__ = ["register", "run"]

PRESETS = ("calogan", "ds1-photons", "ds2", "ds3", "ild-photons")

EPILOG = """examples:
  caloforge reference-set calogan                 # 2000 e+ at 1 and 10 GeV, 1000 at 100 GeV
  caloforge reference-set ild-photons --workers 2 # also 3000 photons of its spectrum
  caloforge reference-set ds2 --list              # where the files are (or will be)
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reference-set`` command."""
    p = sub.add_parser(
        "reference-set", help="build (or reuse) a preset's Geant4 validation sets",
        description="Simulate a preset's Geant4 validation sets (sized for about 20 minutes on "
        "2 cores; ds1-photons, ds3 and ild-photons take longer) into the user data directory "
        "($CALOFORGE_DATA_DIR, else $XDG_DATA_HOME/caloforge, else ~/.local/share/caloforge) "
        "and print their paths. "
        "Sets that exist are reused; an interrupted one resumes. Needs caloforge[geant4].",
        epilog=EPILOG)
    p.add_argument("preset", choices=PRESETS, help="geometry preset")
    p.add_argument("--workers", type=int, default=2,
                   help="Geant4 worker processes (default: 2)")
    p.add_argument("--list", action="store_true", help="print the plan and paths, simulate "
                   "nothing")
    add_seed(p, "random seed of the sets (default: 1)", default=1)
    add_force(p, "cached sets (simulate them again)")
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build or list the sets; one line per set."""
    from caloforge.simulate.geant4 import reference

    if args.list:
        for ref in reference.plan(args.preset):
            path = reference.path_of(ref, args.seed)
            state = "cached" if path.is_file() else "missing"
            print(f"{ref.label:<22} {ref.n:>5} showers  {state:<7}  {path}")
        return 0
    for ref, path, status in reference.build(args.preset, seed=args.seed, workers=args.workers,
                                              force=args.force, progress=not args.no_progress):
        print(f"{ref.label:<22} {ref.n:>5} showers  {status:>7}  {path}")
    return 0
