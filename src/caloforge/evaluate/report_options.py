"""Options of the evaluation figures (a light module: the command line imports it without
matplotlib).

Example:
    >>> plot_format(None), plot_format("svg")
    ('png', 'svg')
"""

from __future__ import annotations

__all__ = ["DEFAULT_FORMAT", "FORMATS", "plot_format"]

#: Figure formats the report can embed.
FORMATS = ("png", "svg")
#: Figure format when none is asked for.
DEFAULT_FORMAT = "png"


def plot_format(fmt: str | None) -> str:
    """``fmt`` checked against :data:`FORMATS` (``None``: :data:`DEFAULT_FORMAT`).

    Raises:
        ValueError: an unknown format.
    """
    out = DEFAULT_FORMAT if fmt is None else fmt
    if out not in FORMATS:
        raise ValueError(f"unknown plot format {out!r}; use one of {', '.join(FORMATS)}")
    return out
