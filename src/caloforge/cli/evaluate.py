"""``caloforge evaluate``: compare a generated shower file with a reference file."""

from __future__ import annotations

import argparse

from caloforge.cli._flags import add_force, add_out, add_progress, add_seed, add_threads
from caloforge.evaluate.modes import MODES

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge evaluate --reference ref.h5 --generated gen.h5 --out eval/ --reference-split
  caloforge evaluate --reference ref.h5 --generated gen.h5 --mode hist,cls-high --out eval/
  caloforge evaluate --reference ref.h5 --generated gen.h5 --mode fpd,kpd,prdc --out eval/
  caloforge evaluate --reference ref.h5 --generated gen.h5 --mode cls-low --protocol challenge \\
      --out eval_challenge/
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command."""
    p = sub.add_parser(
        "evaluate", help="CaloChallenge metrics, physics observables and an HTML report",
        description="Compare a generated CaloChallenge file with a reference file: separation "
        "power of high-level features and of the voxel-energy spectrum (hist), classifier AUC "
        "(cls-low, cls-low-normed, cls-high, cls-resnet), FPD/KPD, "
        "precision/recall/density/coverage (prdc), "
        "physics observables. Prints one table (value, error, n, floor, verdict) and writes "
        "metrics.json, plots and a self-contained report.html to --out.", epilog=EPILOG)
    p.add_argument("--reference", required=True, help="reference .h5 (e.g. Geant4 or simulator)")
    p.add_argument("--generated", required=True, help="generated .h5 to judge")
    add_out(p, "output folder")
    p.add_argument("--geometry", help="preset or binning XML (default: from the files)")
    p.add_argument("--mode", default="all",
                   help=f"all, or a comma-separated list of {', '.join(MODES)} (default: all)")
    p.add_argument("--protocol", choices=["fast", "challenge"], default="fast",
                   help="classifier protocol: fast (2 CPU cores) or challenge (CaloChallenge)")
    p.add_argument("--reference-split", action="store_true",
                   help="also compare two random halves of the reference (the floor)")
    p.add_argument("--threshold", type=float, help="readout threshold in MeV "
                   "(default: the geometry's, 1 MeV for ds1, 0.01515 MeV for ds2/ds3)")
    p.add_argument("--mip-mev", type=float, help="MIP scale for physics observables")
    p.add_argument("--max-showers", type=int, help="use at most this many showers per file")
    p.add_argument("--train-size", type=int, metavar="N", help="showers the model was trained "
                   "on: adds amplification (N_eq / N) to the report (see caloforge amplification)")
    add_seed(p, "seed of the splits, classifiers, bootstraps and FPD/KPD batches (default: 42, "
             "jetnet's and the CaloChallenge evaluation's)", default=42)
    add_threads(p)
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--svg", action="store_true", help="write the figures as SVG (embedded in the "
                   "report) instead of PNG")
    add_force(p, "an existing report in --out")
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the summary and the report path."""
    from pathlib import Path

    from caloforge.data.io import check_writable
    from caloforge.evaluate.runner import evaluate_files
    from caloforge.threads import torch_threads

    check_writable(Path(args.out) / "metrics.json", args.force)
    with torch_threads(args.threads):
        result = evaluate_files(
            args.reference, args.generated, args.out, geometry=args.geometry, modes=args.mode,
            protocol=args.protocol, reference_split=args.reference_split, seed=args.seed,
            threshold=args.threshold, mip_mev=args.mip_mev, max_showers=args.max_showers,
            train_size=args.train_size, plots=not args.no_plots,
            plot_format="svg" if args.svg else "png", progress=not args.no_progress)
    for line in result.summary_lines():
        print(line)
    print(f"metrics: {result.metrics_path}")
    print(f"report:  {result.report_path}")
    return 0
