"""``caloforge completion SHELL``: a tab-completion script for bash, zsh or tcsh."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge completion bash > ~/.local/share/bash-completion/completions/caloforge
  caloforge completion zsh > ~/.zfunc/_caloforge     # with fpath+=~/.zfunc in ~/.zshrc
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``completion`` command."""
    p = sub.add_parser("completion", help="print a shell completion script",
                       description="Print a tab-completion script of every command and flag "
                       "(generated from the parser by shtab); source it or install it where "
                       "your shell looks for completions.", epilog=EPILOG)
    p.add_argument("shell", choices=["bash", "zsh", "tcsh"], help="the shell")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the script."""
    import shtab

    from caloforge.cli.main import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0
