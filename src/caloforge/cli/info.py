"""``caloforge info FILE``: validate a shower file and summarise it."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``info`` command."""
    p = sub.add_parser("info", help="validate and summarise a shower file",
                       description="Check a CaloChallenge HDF5 file (keys, shapes, geometry, "
                       "NaN/negative values) and print its geometry, number of showers, energy "
                       "range, mean E_tot/E_inc and voxel occupancy.")
    p.add_argument("file", help="CaloChallenge HDF5 file")
    p.add_argument("--geometry", help="geometry preset or XML to check against "
                   "(default: recorded in the file or inferred from the voxel count)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary."""
    from caloforge.data import summarize_file

    summary = summarize_file(args.file, geometry=args.geometry)
    print(summary.to_json() if args.json else "\n".join(summary.lines()))
    return 0
