"""Plain-text tables for command output."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["table"]


def table(rows: Sequence[dict[str, object]], columns: Sequence[str] | None = None) -> str:
    """Left-aligned text table of ``rows``; missing cells print as ``-``.

    Example:
        >>> print(table([{"a": 1, "b": "x"}, {"a": 22}]))
        a   b
        1   x
        22  -
    """
    columns = list(columns or dict.fromkeys(k for row in rows for k in row))
    cells = [[str(row.get(c, "-")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)
