"""``caloforge calibrate``, ``anomaly-score`` and ``anomaly-study``: uses of the likelihood."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from caloforge.cli._flags import add_device, add_force, add_out, add_progress, add_seed, add_threads
from caloforge.errors import InputError

if TYPE_CHECKING:
    from caloforge.data.showers import Showers
    from caloforge.train.run import Run

__all__ = ["register"]

CAL_EPILOG = """examples:
  caloforge train --data train.h5 -o runs/flow1 --preset flow1 --members 5
  caloforge calibrate test.h5 --run runs/flow1 -o cal.h5            # the 5-member ensemble
  caloforge calibrate test.h5 --run runs/flow1/member-0 --ensemble runs/flow1/member-1 \\
      runs/flow1/member-2 -o cal.h5
  caloforge calibrate test.h5 --run runs/calogan --part full -o cal.h5 --force

output columns: e_hat, sigma_left, sigma_right, sigma (MeV), log_l_max, and the file's own
incident_energies for comparison.
"""
STUDY_EPILOG = """example:
  caloforge anomaly-study --run runs/calogan -o anomaly/ --energies 20000 50000 \\
      --separations 0 10 20 50 100 -n 2000
"""


def _common(p: argparse.ArgumentParser, run_help: str, output_help: str,
            with_file: bool = True) -> None:
    if with_file:
        p.add_argument("file", help="shower .h5 of the run's geometry")
    p.add_argument("--run", required=True, help=run_help)
    add_out(p, output_help)
    p.add_argument("--response", type=float,
                   help="median E_dep/E_inc (default: the run's, from its training data)")
    add_seed(p)
    add_device(p)
    add_threads(p)
    add_force(p, "existing outputs")
    add_progress(p)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the three commands."""
    p = sub.add_parser(
        "calibrate", help="maximum-likelihood incident energies with per-shower intervals",
        description="E_hat = argmax_E log p(x | E) per shower from the run's layer-energy "
        "density (default; CaloFlow's Flow I) or its whole-shower density, on a grid of 0.5-2x "
        "the deposit-based first guess refined "
        "by golden section; sigma_L, sigma_R where -2 Delta ln L = 1. Several runs "
        "(--ensemble) are averaged as likelihoods.", epilog=CAL_EPILOG)
    _common(p, "run directory (a layer-energy density suffices, e.g. --preset flow1), or an "
            "ensemble from 'train --members K'",
            "output .h5 (columns per shower)")
    p.add_argument("--ensemble", nargs="+", default=[], metavar="DIR",
                   help="more run directories, averaged with --run as likelihoods")
    p.add_argument("--part", choices=["layers", "full", "flow1"], default="layers",
                   help="layers: layer energies (default; 'flow1' is its older name); full: "
                   "the whole shower")
    p.set_defaults(func=run_calibrate)

    q = sub.add_parser(
        "anomaly-score", help="anomaly score -log p(x | E_rec) per shower",
        description="Score = -log p(x | E_rec) in physical voxel space (any family with a "
        "shower density; CaloFlow: Flow I + Flow II with "
        "the preprocessing Jacobian); E_rec = deposited energy / detector response measured on "
        "the run's training data. The file's incident energies are not used.")
    _common(q, "run directory of a family with a shower density", "output .h5 (score, e_rec)")
    q.set_defaults(func=run_anomaly_score)

    s = sub.add_parser(
        "anomaly-study", help="flow anomaly scores vs a supervised classifier on chi -> gg",
        description="Simulate single photons (background) and chi -> gamma gamma decays "
        "labelled by the photon separation on the front face with the reference simulator, "
        "score them with the run, and compare with a supervised classifier trained on one "
        "signal point: AUC, max significance improvement, R_30; table, JSON and plots.",
        epilog=STUDY_EPILOG)
    _common(s, "run directory of a family with a shower density",
            "output folder (study.json, plots)",
            with_file=False)
    s.add_argument("--energies", type=float, nargs="+", help="chi energies in MeV "
                   "(default: 20000 50000)")
    s.add_argument("--separations", type=float, nargs="+",
                   help="photon separations in mm (default: 0 10 20 50 100)")
    s.add_argument("--mass", type=float, help="chi mass in MeV (default: 500)")
    s.add_argument("-n", type=int, help="showers per sample (default: 2000)")
    s.add_argument("--supervised-separation", type=float,
                   help="signal point of the supervised classifier, mm (default: 20)")
    s.set_defaults(func=run_anomaly_study)


def _read(path: str, runs: list[Run]) -> Showers:
    """The validated showers of ``path``, refused unless every run models their geometry."""
    from caloforge.data.validate import open_validated

    file, _ = open_validated(path, runs[0].geometry.name)
    showers = file.read()
    for run in runs:
        run.check_geometry(showers, f"file '{path}'")
    return showers


def run_calibrate(args: argparse.Namespace) -> int:
    """Calibrate; print the median response and resolution against the file's energies."""
    import numpy as np

    from caloforge.applications.likelihood import calibrate_showers
    from caloforge.data.io import check_writable
    from caloforge.tables import write_table
    from caloforge.threads import torch_threads
    from caloforge.train.run import load_runs

    out = check_writable(args.out, args.force)
    runs = [r for d in [args.run, *args.ensemble] for r in load_runs(d, args.device)]
    showers = _read(args.file, runs)
    t0 = time.perf_counter()
    with torch_threads(args.threads):
        res = calibrate_showers(runs, showers, args.part, args.response, args.seed,
                                progress=not args.no_progress)
    dt = time.perf_counter() - t0
    write_table(out, {"e_hat": res.e_hat, "sigma_left": res.sigma_left,
                      "sigma_right": res.sigma_right, "sigma": res.sigma,
                      "log_l_max": res.log_l_max, "incident_energies": showers.energies},
                {"unit": "MeV", "part": args.part, "runs": json.dumps([str(r.path) for r in runs])},
                force=True)
    ratio = res.e_hat / showers.energies
    print(f"calibrated {len(showers)} showers with {len(runs)} run(s) ({args.part}) in {dt:.1f} s:"
          f" median E_hat/E_file {np.median(ratio):.4f}, median sigma/E_hat "
          f"{np.median(res.sigma / res.e_hat):.4f}; written to {out}")
    return 0


def run_anomaly_score(args: argparse.Namespace) -> int:
    """Score every shower; print the score quantiles."""
    import numpy as np

    from caloforge.applications.anomaly import anomaly_scores
    from caloforge.applications.likelihood import reconstructed_energy, run_response
    from caloforge.data.io import check_writable
    from caloforge.tables import write_table
    from caloforge.threads import torch_threads
    from caloforge.train.run import Run

    out = check_writable(args.out, args.force)
    run = Run.load(args.run, device=args.device)
    showers = _read(args.file, [run])
    factor = run_response(run, args.response)
    with torch_threads(args.threads):
        scores = anomaly_scores(run, showers, factor, args.seed, progress=not args.no_progress)
    write_table(out, {"score": scores, "e_rec": reconstructed_energy(showers, factor)},
                {"score": "-log p(x | E_rec) per MeV^V", "response": factor,
                 "run": str(run.path)}, force=True)
    q = np.percentile(scores, [5, 50, 95])
    print(f"scored {len(scores)} showers: score 5/50/95 % = {q[0]:.1f} / {q[1]:.1f} / "
          f"{q[2]:.1f}; written to {out}")
    return 0


def run_anomaly_study(args: argparse.Namespace) -> int:
    """Run the study; print the table; write study.json and plots."""
    from caloforge.applications.anomaly import AnomalyStudyConfig, anomaly_study
    from caloforge.applications.plots import plot_anomaly_study
    from caloforge.cli._format import table
    from caloforge.data.io import check_writable
    from caloforge.tables import write_json
    from caloforge.threads import torch_threads
    from caloforge.train.run import Run

    out = Path(args.out)
    target = out / "study.json"
    check_writable(target, args.force)
    cfg = AnomalyStudyConfig(seed=args.seed)
    for name, value in (("energies_mev", args.energies), ("separations_mm", args.separations),
                        ("mass_mev", args.mass), ("n", args.n),
                        ("supervised_separation_mm", args.supervised_separation)):
        if value is not None:
            setattr(cfg, name, value)
    if cfg.n < 10 or min(cfg.energies_mev) <= cfg.mass_mev or min(cfg.separations_mm) < 0:
        raise InputError("the study needs n >= 10, energies above the chi mass and "
                         "separations >= 0", "fix -n, --energies, --mass or --separations")
    with torch_threads(args.threads):
        result = anomaly_study(Run.load(args.run, device=args.device), cfg, args.response,
                               progress=not args.no_progress)
    print(table(result.table()))
    plots = plot_anomaly_study(result, out)
    write_json(target, result.to_json())
    print(f"wrote {target} and {', '.join(p.name for p in plots)}")
    return 0

