"""The flags every command spells the same way (``docs/cli.md``).

``-o/--out`` (``--output`` still accepted), ``--seed``, ``--device``, ``--threads``, ``--force``,
``--no-progress``; ``-v/--verbose`` is the program's own flag.
"""

from __future__ import annotations

import argparse

__all__ = ["add_device", "add_force", "add_out", "add_progress", "add_seed", "add_threads"]


def add_out(p: argparse.ArgumentParser, help: str, required: bool = True) -> None:
    """``-o/--out`` (``--output`` is an alias) into ``args.out``."""
    p.add_argument("-o", "--out", "--output", dest="out", required=required, help=help)


def add_seed(p: argparse.ArgumentParser, help: str = "random seed (default: 0)",
             default: int | None = 0) -> None:
    """``--seed``."""
    p.add_argument("--seed", type=int, default=default, help=help)


def add_device(p: argparse.ArgumentParser, default: str | None = "cpu") -> None:
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
