"""Entry point of the ``caloforge`` command.

Every command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a handler ``(args) -> int``. Errors in user input end the program with one line on
stderr and exit code 2; ``--verbose`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from caloforge import __version__
from caloforge.cli import (
    applications,
    evaluate,
    generate,
    geometries,
    info,
    integrate,
    simulate,
    train,
)
from caloforge.errors import CaloforgeError

__all__ = ["build_parser", "main"]

EXIT_BAD_INPUT = 2
COMMANDS = (geometries, info, simulate, train, generate, evaluate, applications, integrate)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with all command groups."""
    parser = argparse.ArgumentParser(
        prog="caloforge",
        description="Calorimeter showers for fast generative surrogates: simulate reference "
        "data in any CaloChallenge or cartesian geometry, train CaloFlow models (MAF teacher, "
        "IAF student), generate CaloChallenge HDF5 files, judge them with CaloChallenge "
        "metrics and physics observables, and integrate phase space with neural importance "
        "sampling.",
        epilog="Run 'caloforge COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"caloforge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except CaloforgeError as exc:
        if args.verbose:
            raise
        print(f"caloforge: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("caloforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
