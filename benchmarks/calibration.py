"""Energy-calibration study: maximum-likelihood (Flow I ensembles) against MSE regression,
each trained on a uniform and on a log-uniform prior over 1-100 GeV (CaloGAN geometry, photons
from caloforge's reference simulator), tested at fixed energies.

    python benchmarks/calibration.py --work .scratch/calibration            # everything
    python benchmarks/calibration.py --work W --members 2 --n-test 300      # a quick look

Missing training files are simulated and missing Flow I runs trained into ``--work`` (each run
resumes if interrupted), so the script can be stopped and restarted. Prints a table and writes
``benchmarks/results/calibration.json`` and the plots next to it.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from caloforge.applications.calibration import response_summary
from caloforge.applications.likelihood import calibrate_showers
from caloforge.applications.plots import plot_calibration, plot_pulls
from caloforge.applications.regression import RegressionConfig, RegressorEnsemble
from caloforge.cli._format import table
from caloforge.data.io import read_showers
from caloforge.geometry import get_geometry
from caloforge.simulate.config import load_config
from caloforge.simulate.simulator import ReferenceSimulator
from caloforge.tables import write_json
from caloforge.train import Run, train_run

#: Prior -> seed of its training showers.
PRIORS = {"uniform": 12, "log-uniform": 11}
GEOMETRY = "calogan"
RESULTS = Path(__file__).parent / "results"


def _simulator(spectrum: dict[str, object] | None, n: int, seed: int) -> ReferenceSimulator:
    over: dict[str, object] = {"particle": "photon", "n": n, "seed": seed}
    if spectrum:
        over["spectrum"] = spectrum
    return ReferenceSimulator(load_config(GEOMETRY, over))


def training_file(work: Path, prior: str, n: int) -> Path:
    """The prior's training showers (simulated once)."""
    path = work / f"train-{prior}.h5"
    if not path.is_file():
        spectrum = {"kind": prior, "e_min_mev": 1_000.0, "e_max_mev": 100_000.0}
        _simulator(spectrum, n, PRIORS[prior]).write(path, progress=True)
    return path


def flow_runs(work: Path, prior: str, data: Path, members: int, threads: int) -> list[Run]:
    """The prior's Flow I ensemble (trained, resumed where not finished, or kept)."""
    for k in range(members):
        train_run("caloflow", data, work / prior / f"member-{k}", preset="flow1",
                  train={"*": {"seed": k, "threads": threads}}, progress=True)
    return [Run.load(work / prior / f"member-{k}") for k in range(members)]


def summarise(e_hat: np.ndarray, e_true: float, sigma: np.ndarray | None) -> dict[str, float]:
    return {k: round(v, 5) for k, v in asdict(response_summary(e_hat, e_true, sigma)).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=".scratch/calibration", help="data and runs folder")
    parser.add_argument("--members", type=int, default=5, help="flows and regressors per prior")
    parser.add_argument("--n-train", type=int, default=100_000, help="training showers")
    parser.add_argument("--n-test", type=int, default=1000, help="test showers per energy")
    parser.add_argument("--energies", type=float, nargs="+", default=[5, 10, 20, 50, 80],
                        help="test energies, GeV")
    parser.add_argument("--full-run", help="a Flow I + Flow II run to add a 'full' row")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", default=str(RESULTS / "calibration.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    geo = get_geometry(GEOMETRY)
    tests = {e: _simulator({"kind": "fixed", "e_min_mev": e * 1e3}, args.n_test,
                           seed=1000 + int(e)).simulate() for e in args.energies}
    rows: list[dict[str, object]] = []
    curves: dict[str, dict[str, list[float]]] = {}
    pulls: dict[str, np.ndarray] = {}
    timing: dict[str, float] = {}
    for prior in PRIORS:
        data = training_file(work, prior, args.n_train)
        runs = flow_runs(work, prior, data, args.members, args.threads)
        t0 = time.perf_counter()
        train = read_showers(data)
        mlp = RegressorEnsemble(geo, RegressionConfig(members=args.members)).fit(
            train.voxels, train.energies)
        timing[f"mlp_fit_{prior}_s"] = round(time.perf_counter() - t0, 1)
        methods: dict[str, list[Run] | None] = {f"flow ({prior})": runs, f"MSE ({prior})": None}
        if args.full_run and prior == "log-uniform":
            methods["flow I+II (log-uniform, 1 run)"] = [Run.load(args.full_run)]
        for label, members in methods.items():
            curve: dict[str, list[float]] = {}
            pull_all = []
            for energy, showers in tests.items():
                t0 = time.perf_counter()
                if members is None:
                    e_hat, sigma = mlp.predict(showers.voxels), None
                else:
                    part = "full" if "I+II" in label else "layers"
                    res = calibrate_showers(members, showers, part)  # type: ignore[arg-type]
                    e_hat, sigma = res.e_hat, res.sigma
                    pull_all.append((e_hat - energy * 1e3) / sigma)
                timing[f"{label} @ {energy:g} GeV s"] = round(time.perf_counter() - t0, 1)
                summary = summarise(e_hat, energy * 1e3, sigma)
                rows.append({"method": label, "E_GeV": energy, **summary})
                for key, value in summary.items():
                    curve.setdefault(key, []).append(value)
                print(table([rows[-1]]), flush=True)
            curves[label] = {k: v for k, v in curve.items() if not np.all(np.isnan(v))}
            if pull_all:
                pulls[label] = np.concatenate(pull_all)
    prior_shift = []
    for kind in ("flow", "MSE"):
        a, b = curves[f"{kind} (uniform)"]["response"], curves[f"{kind} (log-uniform)"]["response"]
        prior_shift += [{"method": kind, "E_GeV": e, "uniform": x, "log_uniform": y,
                         "difference": round(x - y, 5)}
                        for e, x, y in zip(args.energies, a, b, strict=True)]
    print("\n" + table(rows))
    print("\nprior dependence of the response\n" + table(prior_shift))
    pull_table = {k: {"std": round(float(np.std(v)), 4),
                      "width68": round(float(0.5 * np.subtract(*np.percentile(v, [84, 16]))), 4)}
                  for k, v in pulls.items()}
    print("\npulls", pull_table)
    out = Path(args.out)
    plot_calibration(args.energies, curves, out.with_name("calibration_response.png"))
    plot_pulls(pulls, out.with_name("calibration_pulls.png"))
    write_json(out, {"meta": {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
                              "threads": args.threads, "geometry": GEOMETRY,
                              "data": "caloforge reference simulator (photons), not Geant4",
                              "members": args.members, "n_train": args.n_train,
                              "n_test": args.n_test},
                     "rows": rows, "prior_dependence": prior_shift, "pulls": pull_table,
                     "timing_s": timing})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
