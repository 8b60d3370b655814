"""Entry point of the ``caloforge`` command.

Every command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a handler ``(args) -> int``. Errors in user input end the program with one line on
stderr and exit code 2; ``--verbose`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from caloforge.cli import (
    amplification,
    applications,
    completion,
    dimension,
    evaluate,
    export,
    generate,
    geometries,
    info,
    integrate,
    reference_set,
    simulate,
    train,
    tune,
)
from caloforge.cli._flags import HelpFormatter, add_global
from caloforge.errors import CaloforgeError

__all__ = ["build_parser", "main"]

EXIT_BAD_INPUT = 2
COMMANDS = (geometries, info, simulate, reference_set, tune, train, generate, export, evaluate,
            dimension, amplification, applications, integrate, completion)


class _Version(argparse.Action):
    """``--version``, reading the installed version only when asked (it costs start-up time)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from caloforge._version import __version__

        print(f"caloforge {__version__}")
        parser.exit()


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
        formatter_class=HelpFormatter)
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    add_global(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    for command in sub.choices.values():
        command.formatter_class = HelpFormatter
        add_global(command, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    if args.quiet:
        args.no_progress = True
    logging.basicConfig(format="caloforge: %(message)s", stream=sys.stderr,
                        level=logging.WARNING if args.quiet else logging.INFO, force=True)
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
