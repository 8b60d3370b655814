"""Errors that caloforge reports to users as one line (problem + fix)."""

from __future__ import annotations

__all__ = ["CaloforgeError", "InputError"]


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
