"""``caloforge intrinsic-dim``: maximum-likelihood intrinsic dimension of a shower file."""

from __future__ import annotations

import argparse

from caloforge.cli._flags import add_force, add_out, add_progress, add_seed

__all__ = ["parse_k", "register", "run"]

EPILOG = """examples:
  caloforge intrinsic-dim data/ds1_photons.h5 -o dim/              # k = 10..20, table + plot
  caloforge intrinsic-dim data/ds1_photons.h5 --k 15 --max-points 0 -o dim/ --force
  caloforge intrinsic-dim gen.h5 --preprocessing log --max-points 2000

Per group (each incident energy, or log-spaced bins of continuous energies, and inclusive):
m_k(x) = [1/(k-1) sum_{j<k} ln(T_k(x)/T_j(x))]^-1 averaged over showers (Levina-Bickel) and
inverse-averaged (MacKay-Ghahramani), each then averaged over the k range; docs/dimension.md.
"""


def parse_k(text: str) -> tuple[int, int]:
    """``K`` or ``K_MIN-K_MAX`` (also ``K_MIN..K_MAX``) -> ``(k_min, k_max)``.

    Example:
        >>> parse_k("15"), parse_k("10-20"), parse_k("10..20")
        ((15, 15), (10, 20), (10, 20))
    """
    parts = text.replace("..", "-").split("-")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not K or K_MIN-K_MAX") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"'{text}' is not K or K_MIN-K_MAX")
    return values[0], values[-1]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``intrinsic-dim`` command."""
    p = sub.add_parser(
        "intrinsic-dim", help="maximum-likelihood intrinsic dimension per incident energy",
        description="Levina-Bickel and MacKay-Ghahramani maximum-likelihood intrinsic dimension "
        "of the preprocessed showers of a CaloChallenge file, per incident energy and "
        "inclusive, from exact nearest neighbours (scikit-learn). Prints a table; with --out "
        "writes dimension.json and the k-scan plot k_scan.png.", epilog=EPILOG)
    p.add_argument("file", help="shower .h5 (CaloChallenge format)")
    add_out(p, "output folder for dimension.json and k_scan.png (default: print only)",
            required=False)
    p.add_argument("--k", type=parse_k, default=(10, 20), metavar="K|K_MIN-K_MAX",
                   help="neighbour count, or the range scanned (default: 10-20)")
    p.add_argument("--max-points", type=int, default=10_000, metavar="N",
                   help="showers drawn per group, 0 for all (default: 10000)")
    p.add_argument("--preprocessing", choices=["caloflow", "log"], default="caloflow",
                   help="caloflow: CaloFlow's standardised logit space; log: "
                   "ln(1 + voxel / (1e-6 E_inc)) (default: caloflow)")
    p.add_argument("--geometry", help="preset or binning XML (default: from the file)")
    p.add_argument("--energy-bins", type=int, default=6, metavar="N",
                   help="log-spaced bins of continuous incident energies (default: 6)")
    add_seed(p, "seed of the shower draws (default: 0)")
    add_force(p, "dimension.json and k_scan.png in --out")
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Estimate; print the table; write the JSON and the plot when asked."""
    from pathlib import Path

    from caloforge.cli._format import table
    from caloforge.data.io import check_writable
    from caloforge.errors import InputError
    from caloforge.evaluate.dimension import k_range, plot_k_scan, shower_dimension
    from caloforge.tables import write_json

    k_min, k_max = k_range(args.k)
    if args.energy_bins < 1:
        raise InputError(f"--energy-bins {args.energy_bins} is below 1", "use 1 or more")
    targets = []
    if args.out is not None:
        targets = [check_writable(Path(args.out) / name, args.force)
                   for name in ("dimension.json", "k_scan.png")]
    result = shower_dimension(args.file, (k_min, k_max), max_points=args.max_points,
                              preprocessing=args.preprocessing, geometry=args.geometry,
                              energy_bins=args.energy_bins, seed=args.seed,
                              progress=not args.no_progress)
    print(f"intrinsic dimension of {args.file} ({args.preprocessing} preprocessing), averaged "
          f"over k = {k_min}..{k_max}, ± standard error:")
    print(table(result.table()))
    if result.skipped:
        print(f"skipped (at most k = {k_max} showers): {', '.join(result.skipped)}")
    if targets:
        write_json(targets[0], {"k_min": k_min, "k_max": k_max, **result.to_dict()})
        plot_k_scan(result, targets[1], title=f"{Path(args.file).name}: {args.preprocessing}")
        print(f"wrote {targets[0]} and {targets[1]}")
    return 0
