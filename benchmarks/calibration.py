"""Energy-calibration study: maximum likelihood (Flow I ensembles) against MSE regression and a
linear calibration, each trained on several priors p(E_inc), tested at fixed energies.

    python benchmarks/calibration.py --case sampling --work .scratch/cal-sampling   # prior study
    python benchmarks/calibration.py --case calogan --work .scratch/calibration      # CaloGAN
    python benchmarks/calibration.py --case sampling --members 2 --n-test 500        # a quick look

Cases (photons from caloforge's fast simulator, Geant4-tuned CaloGAN preset; not Geant4):

* ``calogan``: the CaloGAN cells' total deposit (no sampling fluctuations), uniform and
  log-uniform priors over 1-100 GeV. The calorimeter resolves energy so well (1-5 %) that the
  prior barely matters.
* ``sampling``: the same stack read out as a coarse sampling calorimeter (calibrated sampled
  signal with a stochastic term of 60 %/sqrt(E/GeV) and a 2 % constant term), trained on a
  uniform prior over 1-100 GeV, a falling power law E^-2 over 1-100 GeV and a narrow uniform prior
  over 15-40 GeV: the case where a regression's answer depends on the prior.

Missing training files are simulated and missing Flow I runs trained into ``--work`` (each run
resumes if interrupted). Prints tables and writes ``benchmarks/results/calibration-CASE.json``
with the response and pull plots next to it. Prior-to-prior response differences use the same
test showers for both priors and a paired bootstrap for their errors.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from caloforge.applications.calibration import pulls, response_summary
from caloforge.applications.likelihood import calibrate_showers
from caloforge.applications.plots import plot_prior_study, plot_pulls
from caloforge.applications.regression import LinearCalibration, RegressionConfig, RegressorEnsemble
from caloforge.cli._format import table
from caloforge.data.io import read_showers
from caloforge.data.showers import Showers
from caloforge.geometry import get_geometry
from caloforge.simulate.config import load_config
from caloforge.simulate.simulator import ReferenceSimulator
from caloforge.tables import write_json
from caloforge.train import Run, train_run

RESULTS = Path(__file__).parent / "results"
GEOMETRY = "calogan"
_RANGE = {"e_min_mev": 1_000.0, "e_max_mev": 100_000.0}
CASES: dict[str, dict[str, Any]] = {
    "calogan": {
        "readout": {},
        "priors": {"uniform": {"kind": "uniform", **_RANGE},
                   "log-uniform": {"kind": "log-uniform", **_RANGE}},
        "energies": [5, 10, 20, 50, 80],
    },
    "sampling": {
        "readout": {"energy_scale": "calibrated", "stochastic_term": 0.6, "constant_term": 0.02},
        "priors": {"uniform": {"kind": "uniform", **_RANGE},
                   "power-law": {"kind": "power-law", "index": 2.0, **_RANGE},
                   "narrow": {"kind": "uniform", "e_min_mev": 15_000.0, "e_max_mev": 40_000.0}},
        "energies": [5, 10, 20, 30, 50, 80],
    },
}
#: Seed of each prior's training showers (test showers use 1000 + E/GeV).
TRAIN_SEED = {"uniform": 12, "log-uniform": 11, "power-law": 13, "narrow": 14}
#: Bootstrap resamples of the paired prior-to-prior differences.
RESAMPLES = 20


def simulator(case: str, spectrum: dict[str, Any], n: int, seed: int) -> ReferenceSimulator:
    over: dict[str, Any] = {"particle": "photon", "n": n, "seed": seed, "spectrum": spectrum}
    if CASES[case]["readout"]:
        over["readout"] = CASES[case]["readout"]
    return ReferenceSimulator(load_config(GEOMETRY, over))


def inside(spectrum: dict[str, Any], energy_gev: float) -> bool:
    """Whether a test energy lies within a prior's support."""
    return bool(spectrum["e_min_mev"] <= energy_gev * 1e3 <= spectrum["e_max_mev"])


def flow_runs(work: Path, prior: str, data: Path, members: int, threads: int) -> list[Run]:
    """The prior's Flow I ensemble (trained, resumed where not finished, or kept)."""
    for k in range(members):
        train_run("caloflow", data, work / prior / f"member-{k}", preset="flow1",
                  train={"*": {"seed": k, "threads": threads}}, progress=True)
    return [Run.load(work / prior / f"member-{k}") for k in range(members)]


Estimates = dict[str, dict[float, dict[str, np.ndarray]]]


def cached(path: Path) -> Estimates | None:
    """Estimates saved by an earlier run (``method/E/key`` arrays in an ``.npz``)."""
    if not path.is_file():
        return None
    out: Estimates = {}
    with np.load(path) as data:
        for name in data.files:
            method, energy, key = name.split("/")
            out.setdefault(method, {}).setdefault(float(energy), {})[key] = data[name]
    return out


def estimates(case: str, work: Path, prior: str, args: argparse.Namespace,
              tests: dict[float, Showers]) -> Estimates:
    """Per method and test energy: ``e_hat`` (and the flow's interval), for one prior; saved in
    ``work`` so that tables and plots can be remade without recalibrating."""
    spectrum = CASES[case]["priors"][prior]
    data = work / f"train-{prior}.h5"
    if not data.is_file():
        simulator(case, spectrum, args.n_train, TRAIN_SEED[prior]).write(data, progress=True)
    runs = flow_runs(work, prior, data, args.members, args.threads)
    train = read_showers(data)
    mlp = RegressorEnsemble(get_geometry(GEOMETRY), RegressionConfig(members=args.members))
    mlp.fit(train.voxels, train.energies)
    linear = LinearCalibration().fit(train.voxels, train.energies)
    out: dict[str, dict[float, dict[str, np.ndarray]]] = {"flow": {}, "MSE": {}, "linear": {}}
    for energy, showers in tests.items():
        if not inside(spectrum, energy):
            continue
        res = calibrate_showers(runs, showers, "layers")
        out["flow"][energy] = {"e_hat": res.e_hat, "sigma": res.sigma,
                               "sigma_left": res.sigma_left, "sigma_right": res.sigma_right}
        out["MSE"][energy] = {"e_hat": mlp.predict(showers.voxels)}
        out["linear"][energy] = {"e_hat": linear.predict(showers.voxels)}
        print(f"  {prior}: {energy:g} GeV done", flush=True)
    np.savez(work / f"estimates-{prior}-n{args.n_test}.npz",
             **{f"{m}/{e:g}/{k}": v for m, by_e in out.items() for e, est in by_e.items()
                for k, v in est.items()})
    return out


def summary_row(method: str, prior: str, energy: float, est: dict[str, np.ndarray]
                ) -> dict[str, Any]:
    """One table row: response, resolution and (for the flow) side-aware pulls."""
    interval = (est["sigma_left"], est["sigma_right"]) if "sigma" in est else None
    s = response_summary(est["e_hat"], energy * 1e3, est.get("sigma"), interval=interval)
    return {"method": method, "prior": prior, "E_GeV": energy,
            **{k: round(float(v), 5) for k, v in vars(s).items()}}


def paired_shift(a: np.ndarray, b: np.ndarray, e_true: float, seed: int
                 ) -> dict[str, float]:
    """How far the estimates move between two priors, on the same showers, with
    paired-bootstrap errors: the difference of the responses (KDE modes of E_hat / E, noisy at
    poor resolution) and the median per-shower shift ``(E_hat_a - E_hat_b) / E`` (precise)."""
    rng = np.random.default_rng(seed)

    def both(rows: np.ndarray | slice) -> tuple[float, float]:
        mode = response_summary(a[rows], e_true, resamples=1).response - \
            response_summary(b[rows], e_true, resamples=1).response
        return mode, float(np.median((a[rows] - b[rows]) / e_true))

    mode, median = both(slice(None))
    boot = np.array([both(rng.integers(0, len(a), len(a))) for _ in range(RESAMPLES)])
    return {"mode_shift": round(mode, 5), "mode_shift_err": round(float(boot[:, 0].std()), 5),
            "shower_shift": round(median, 5),
            "shower_shift_err": round(float(boot[:, 1].std()), 5)}


def prior_table(results: dict[str, Any], energies: list[float]) -> list[dict[str, Any]]:
    """Response difference of each prior from the uniform one, per method and energy."""
    rows = []
    for prior in results:
        if prior == "uniform":
            continue
        for method in ("flow", "MSE", "linear"):
            for energy in energies:
                a, b = results[prior][method].get(energy), results["uniform"][method].get(energy)
                if a is None or b is None:
                    continue
                rows.append({"method": method, "prior": f"{prior} - uniform", "E_GeV": energy,
                             **paired_shift(a["e_hat"], b["e_hat"], energy * 1e3, int(energy))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), default="sampling")
    parser.add_argument("--work", help="data and runs folder (default .scratch/cal-CASE)")
    parser.add_argument("--members", type=int, default=3, help="flows and regressors per prior")
    parser.add_argument("--n-train", type=int, default=100_000, help="training showers")
    parser.add_argument("--n-test", type=int, default=4000, help="test showers per energy")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", help="JSON (default benchmarks/results/calibration-CASE.json)")
    parser.add_argument("--replot", action="store_true",
                        help="redraw the response plot from the JSON")
    args = parser.parse_args()
    if args.replot:
        out = Path(args.out or RESULTS / f"calibration-{args.case}.json")
        rows = json.loads(out.read_text())["rows"]
        print(plot_prior_study(rows, out.with_name(f"calibration-{args.case}_response.png")))
        return
    torch.set_num_threads(args.threads)
    case, energies = args.case, CASES[args.case]["energies"]
    work = Path(args.work or f".scratch/cal-{case}")
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, Estimates] = {}
    tests: dict[float, Showers] = {}
    for prior in CASES[case]["priors"]:
        saved = cached(work / f"estimates-{prior}-n{args.n_test}.npz")
        if saved is None and not tests:
            tests = {e: simulator(case, {"kind": "fixed", "e_min_mev": e * 1e3}, args.n_test,
                                  1000 + int(e)).simulate() for e in energies}
        results[prior] = saved if saved is not None else estimates(case, work, prior, args, tests)
    rows = [summary_row(method, prior, energy, est)
            for prior, by_method in results.items() for method, by_e in by_method.items()
            for energy, est in by_e.items()]
    shifts = prior_table(results, energies)
    print("\n" + table(rows) + "\n\nprior dependence of the response (paired)\n" + table(shifts))
    out = Path(args.out or RESULTS / f"calibration-{case}.json")
    plot_prior_study(rows, out.with_name(f"calibration-{case}_response.png"))
    flow_pulls = {f"flow ({prior})": np.concatenate(
        [pulls(est["e_hat"], e * 1e3, est["sigma_left"], est["sigma_right"])
         for e, est in by_method["flow"].items()]) for prior, by_method in results.items()}
    plot_pulls(flow_pulls, out.with_name(f"calibration-{case}_pulls.png"))
    write_json(out, {"meta": {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
                              "threads": args.threads, "geometry": GEOMETRY, "case": case,
                              "readout": CASES[case]["readout"], "priors": CASES[case]["priors"],
                              "data": "caloforge fast simulator, Geant4-tuned preset (photons),"
                                      " not Geant4",
                              "members": args.members, "n_train": args.n_train,
                              "n_test": args.n_test,
                              "minutes": round((time.perf_counter() - t0) / 60, 1)},
                     "rows": rows, "prior_dependence": shifts})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
