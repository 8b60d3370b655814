"""``caloforge geometries``: the table of built-in geometries."""

from __future__ import annotations

import argparse
import json

from caloforge.cli._format import table

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``geometries`` command."""
    p = sub.add_parser("geometries", help="list the built-in geometries",
                       description="List the built-in geometries with voxel and layer counts and "
                       "the effective radiation length and Moliere radius of their material.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    from caloforge.geometry import get_geometry, list_geometries

    rows = [get_geometry(name).summary() for name in list_geometries()]
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0
