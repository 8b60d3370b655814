"""The flags every command spells the same way (``docs/cli.md``), and the help formatter.

``-o/--out``, ``--seed``, ``--device``, ``--threads``, ``--force``,
``--no-progress``, the sharding flags ``--dask``, ``--shards``, ``--merge``; ``-v/--verbose``
and ``-q/--quiet`` are accepted before or after the command.
"""

from __future__ import annotations

import argparse
import re
import shutil
import textwrap

__all__ = ["HELP_WIDTH", "HelpFormatter", "add_dask", "add_device", "add_force", "add_global",
           "add_out", "add_progress", "add_seed", "add_threads", "check_dask"]

#: Help text is wrapped to the terminal, at most this many columns.
HELP_WIDTH = 100


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions and plain paragraphs to the terminal (at most :data:`HELP_WIDTH`
    columns) and keeps example blocks (a line ending in ``:`` followed by indented lines) as
    written."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 32,
                 width: int | None = None) -> None:
        columns = shutil.get_terminal_size((HELP_WIDTH, 24)).columns
        super().__init__(prog, indent_increment, max_help_position,
                         width or max(40, min(columns, HELP_WIDTH)))

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in re.split(r"\n\s*\n", text.strip("\n")):
            lines = block.splitlines()
            if len(lines) > 1 and all(line.startswith(" ") for line in lines[1:]):
                blocks.append("\n".join(indent + line for line in lines))
            else:
                blocks.append(textwrap.fill(" ".join(block.split()), width,
                                            initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(blocks)


def add_global(p: argparse.ArgumentParser, top: bool) -> None:
    """``-v/--verbose`` and ``-q/--quiet``: on the program (``top``) and on every command (where
    they must not reset what was given before the command)."""
    default = False if top else argparse.SUPPRESS
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="show full tracebacks on errors")
    p.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="no progress bars or notes, only results and errors")


def add_out(p: argparse.ArgumentParser, help: str, required: bool = True) -> None:
    """``-o/--out`` into ``args.out``."""
    p.add_argument("-o", "--out", dest="out", metavar="PATH", required=required, help=help)


def add_seed(p: argparse.ArgumentParser, help: str = "random seed (default: 0)",
             default: int | None = 0) -> None:
    """``--seed``."""
    p.add_argument("--seed", type=int, default=default, help=help)


def add_device(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    """``--device`` (auto, cpu, cuda)."""
    shown = "the preset's, auto" if default is None else default
    p.add_argument("--device", default=default,
                   help=f"auto (CUDA when present), cpu or cuda (default: {shown})")


def add_threads(p: argparse.ArgumentParser) -> None:
    """``--threads``."""
    p.add_argument("--threads", type=int, help="torch CPU threads for this command "
                   "(default: torch's choice)")


def add_force(p: argparse.ArgumentParser, what: str = "an existing output") -> None:
    """``--force``."""
    p.add_argument("--force", action="store_true", help=f"overwrite {what}")


def add_progress(p: argparse.ArgumentParser) -> None:
    """``--no-progress``."""
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_dask(p: argparse.ArgumentParser, workers: bool = True) -> None:
    """``--dask``, ``--shards``, ``--merge`` and (where the command has none) ``--workers``:
    a run in shards on a Dask cluster (:mod:`caloforge.scale`)."""
    g = p.add_argument_group("dask", "split the run into shards computed on a Dask cluster "
                             "(pip install 'caloforge[dask]'; docs/scale.md)")
    g.add_argument("--dask", metavar="ADDRESS", help="local (a LocalCluster of processes on "
                   "this machine), a scheduler's address (tcp://host:8786) or its "
                   "--scheduler-file (.json)")
    g.add_argument("--shards", type=int, metavar="K", help="shards, one file each in "
                   "OUT.shards/ (default: 16, at most one per chunk)")
    if workers:
        g.add_argument("--workers", type=int, help="worker processes of --dask local "
                       "(default: the CPU count)")
    g.add_argument("--merge", action="store_true", help="write OUT as one plain file and "
                   "remove the shards (default: OUT is a virtual dataset over them)")


def check_dask(args: argparse.Namespace, workers: bool = True) -> None:
    """Refuse the flags of :func:`add_dask` without ``--dask`` (``workers``: and
    ``--workers``)."""
    from caloforge.errors import InputError

    given = [flag for flag, value in (("--shards", args.shards is not None),
                                      ("--merge", args.merge),
                                      ("--workers", workers and args.workers is not None))
             if value]
    if given and not args.dask:
        raise InputError(f"{' and '.join(given)} belong{'s' * (len(given) == 1)} to --dask",
                         "add --dask local (or a scheduler's address), or drop them")
