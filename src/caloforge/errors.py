"""Errors that caloforge reports to users as one line (problem + fix)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = ["CaloforgeError", "InputError", "suggest"]


class CaloforgeError(Exception):
    """Base class of errors that the command line prints as a single line.

    Arguments:
        problem: What went wrong, naming the offending file, key or value.
        fix: What the user can do about it.

    Example:
        >>> err = CaloforgeError("file 'x.h5' not found", "check the path")
        >>> str(err)
        "file 'x.h5' not found; check the path"
    """

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}; {fix}")


class InputError(CaloforgeError, ValueError):
    """Bad user input: a missing or corrupt file, wrong shapes, invalid values."""


def suggest(name: str, choices: Sequence[str], extra: str = "") -> str:
    """The fix for a mistyped choice: ``did you mean 'X'?`` for the closest one, else the list.

    Example:
        >>> suggest("caloflwo", ["baseline", "caloflow"])
        "did you mean 'caloflow'?"
        >>> suggest("zzz", ["a", "b"], " or a YAML file")
        'choose one of a, b or a YAML file'
    """
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean '{close[0]}'?" if close else f"choose one of {', '.join(choices)}{extra}"
