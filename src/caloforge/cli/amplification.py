"""``caloforge amplification``: how many truth showers a generated file is worth."""

from __future__ import annotations

import argparse

from caloforge.cli._flags import add_force, add_out, add_progress, add_seed
from caloforge.errors import InputError

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge amplification --reference heldout.h5 --generated gen.h5 --train-size 5000 \\
      --out amp/
  caloforge amplification --reference heldout.h5 --generated gen.h5 --train-size 5000 \\
      --features 'E_tot/E_inc,EC_r_*' --joint E_layer_1:E_layer_2 --n-quantiles 10 --out amp/

The reference must not contain the training showers; the generated file should hold many more
showers than --train-size (N_eq cannot exceed about its own size).
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``amplification`` command."""
    p = sub.add_parser(
        "amplification", help="equivalent truth size N_eq and amplification factor N_eq/N_train",
        description="Bin high-level features in equal-probability (quantile) bins of the "
        "reference, measure the quantile chi2 and JSD of truth samples of size M drawn from "
        "the reference as a function of M, and find the M at which the generated file's "
        "distance is reached (N_eq). Prints N_eq and N_eq/N_train per feature with bootstrap "
        "errors; writes amplification.json, amplification.png and report.html to --out.",
        epilog=EPILOG)
    p.add_argument("--reference", required=True,
                   help="truth .h5, independent of the training showers (e.g. held-out Geant4)")
    p.add_argument("--generated", required=True, help="generated .h5")
    p.add_argument("--train-size", type=int, required=True, metavar="N",
                   help="showers the model was trained on")
    add_out(p, "output folder")
    p.add_argument("--features", default="E_tot/E_inc,E_layer_*",
                   help="comma-separated features binned one by one; 'prefix*' matches a family "
                   "(default: E_tot/E_inc,E_layer_*)")
    p.add_argument("--joint", default="", metavar="A:B,...",
                   help="feature pairs binned jointly (nested quantiles), e.g. E_layer_1:E_layer_2")
    p.add_argument("--n-quantiles", default="10,20", metavar="Q,...",
                   help="quantiles per feature, one row each (default: 10,20)")
    p.add_argument("--metrics", default="chi2,jsd", help="chi2 and/or jsd (default: both)")
    p.add_argument("--geometry", help="preset or binning XML (default: from the files)")
    p.add_argument("--threshold", type=float, help="readout threshold in MeV "
                   "(default: the geometry's)")
    p.add_argument("--max-showers", type=int, help="use at most this many showers per file")
    p.add_argument("--replicas", type=int, default=40,
                   help="truth samples per point of the truth curve (default: 40)")
    p.add_argument("--bootstrap", type=int, default=200, metavar="B",
                   help="bootstrap replicas of the errors (default: 200)")
    add_seed(p, "seed of the reference split, truth draws and bootstrap (default: 0)")
    p.add_argument("--no-plots", action="store_true", help="skip the plot")
    add_force(p, "an existing amplification.json in --out")
    add_progress(p)
    p.set_defaults(func=run)


def _ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 2:
        raise InputError(f"{flag} {text!r} is not a list of integers >= 2", f"e.g. {flag} 10,20")
    return values


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = [tuple(p.split(":")) for p in text.split(",") if p.strip()]
    bad = [":".join(p) for p in pairs if len(p) != 2]
    if bad:
        raise InputError(f"--joint {bad[0]!r} is not a pair A:B",
                         "e.g. --joint E_layer_1:E_layer_2")
    return [(a.strip(), b.strip()) for a, b in pairs]


def run(args: argparse.Namespace) -> int:
    """Measure, print the table and the output paths."""
    from pathlib import Path

    from caloforge.data.io import check_writable
    from caloforge.evaluate.amplification_files import amplification_files

    out = Path(args.out)
    check_writable(out / "amplification.json", args.force)
    result = amplification_files(
        args.reference, args.generated, args.train_size, out, geometry=args.geometry,
        features=[f.strip() for f in args.features.split(",") if f.strip()],
        joint=_pairs(args.joint), n_quantiles=_ints(args.n_quantiles, "--n-quantiles"),
        metrics=[m.strip() for m in args.metrics.split(",") if m.strip()],
        threshold=args.threshold, max_showers=args.max_showers, replicas=args.replicas,
        n_boot=args.bootstrap, seed=args.seed, plots=not args.no_plots,
        progress=not args.no_progress)
    print(f"reference: {result.n_reference_fit} showers fit the bins, {result.n_reference_curve} "
          f"draw truth samples; generated: {result.n_generated}; N_train = {result.train_size}")
    for line in result.table_lines():
        print(line)
    print(f"results: {out / 'amplification.json'}")
    print(f"report:  {out / 'report.html'}")
    return 0
