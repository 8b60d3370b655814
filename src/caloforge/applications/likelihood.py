"""Likelihoods of trained runs as functions of the incident energy, through the family contract.

:func:`run_log_likelihood` turns one or several runs (an ensemble, averaged as likelihoods) and a
set of showers into ``log_like(E) -> log p(x_i | E_i)``, the input of
:func:`~caloforge.applications.calibration.calibrate` and of the anomaly score. ``part="layers"``
uses the run's layer-energy density (:class:`~caloforge.models.base.LayerDensity`, per MeV^L;
CaloFlow's Flow I); ``part="full"`` its shower density (per MeV^V). Any noise the density adds
(dequantisation) is drawn from the same seed at every energy, so the likelihood is a smooth
function of ``E``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from caloforge.applications.calibration import (
    CalibrationResult,
    LogLikelihood,
    calibrate,
    ensemble,
    evaluations,
)
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.seeds import torch_generator
from caloforge.train.run import Run

__all__ = ["PARTS", "Part", "RunLikelihood", "calibrate_showers", "reconstructed_energy",
           "run_log_likelihood", "run_response"]

Part = Literal["layers", "full", "flow1"]
#: Which capability each ``part`` uses (``flow1`` is the older name of ``layers``).
PARTS = {"layers": "log_prob_layers", "flow1": "log_prob_layers", "full": "log_prob"}


def run_response(run: Run, response: float | None = None) -> float:
    """``response`` if given, else the median deposited/incident energy of the run's training
    data (a calibration factor fitted on training data, never on the showers being scored)."""
    return run.response if response is None else response


def reconstructed_energy(showers: Showers, response: float) -> np.ndarray:
    """Deposited energy over the detector response, MeV (no use of the true energy).

    Raises:
        InputError: a shower deposits nothing.
    """
    deposit = showers.total_energy().astype(np.float64)
    if np.any(deposit <= 0):
        raise InputError(f"shower {int(np.argmin(deposit))} deposits no energy",
                         "drop empty showers")
    return deposit / response


class RunLikelihood:
    """``log p(x | E)`` of one run for fixed showers, evaluated in chunks (with a progress bar
    over the chunks when called with ``progress=True``)."""

    def __init__(self, run: Run, showers: Showers, part: Part, seed: int, batch_size: int
                 ) -> None:
        if part not in PARTS:
            raise InputError(f"unknown likelihood part '{part}'", "use layers or full")
        run.check_geometry(showers, "the shower file")
        what = "score layer energies" if PARTS[part] == "log_prob_layers" else \
            "score whole showers"
        model = run.model_for(PARTS[part], what)
        self.method = getattr(model, PARTS[part])
        self.device, self.seed, self.batch_size = run.device, seed, batch_size
        self.conditions = run.conditions(showers.energies, showers.theta, model).to(run.device)
        self.voxels = torch.as_tensor(showers.voxels, dtype=torch.float32, device=run.device)

    @torch.inference_mode()
    def __call__(self, energies: np.ndarray, progress: bool = False) -> np.ndarray:
        out = np.empty(len(energies))
        e_all = torch.as_tensor(energies, dtype=torch.float32, device=self.device)
        gen = torch_generator(self.seed, self.device)  # the same noise at every energy
        starts = range(0, len(out), self.batch_size)
        for start in tqdm(starts, disable=not progress, desc="scoring", unit="chunk"):
            rows = slice(start, start + self.batch_size)
            cond = self.conditions[rows].with_energy(e_all[rows])
            out[rows] = self.method(self.voxels[rows], cond, generator=gen).double().cpu().numpy()
        return out


def run_log_likelihood(runs: Run | Sequence[Run], showers: Showers, part: Part = "layers",
                       seed: int = 0, batch_size: int = 20_000) -> LogLikelihood:
    """``log p(x_i | E_i)`` of fixed showers at candidate incident energies (MeV).

    Arguments:
        runs: One run, or an ensemble whose likelihoods are averaged.
        showers: The showers ``x_i`` (their recorded incident energies are not used).
        part: ``layers`` (the layer-energy density) or ``full`` (the shower density).
        seed: Seed of the density's noise (the same at every energy).
        batch_size: Showers per network call.

    Raises:
        InputError: wrong geometry, a run without the density asked for, missing angles.
    """
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise InputError("no run to evaluate", "pass --run DIR")
    members = [RunLikelihood(run, showers, part, seed, batch_size) for run in runs]
    return members[0] if len(members) == 1 else ensemble(members)


def calibrate_showers(runs: Run | Sequence[Run], showers: Showers, part: Part = "layers",
                      response: float | None = None, seed: int = 0, lo: float = 0.5,
                      hi: float = 2.0, grid: int = 21, progress: bool = False
                      ) -> CalibrationResult:
    """Maximum-likelihood incident energies and intervals for showers from run(s).

    The first guess is the deposited energy over the detector response (the first run's, from
    its training data, unless ``response`` is given).

    Returns:
        The :class:`CalibrationResult` (MeV).
    """
    runs = [runs] if isinstance(runs, Run) else list(runs)
    log_like = run_log_likelihood(runs, showers, part, seed)
    guess = reconstructed_energy(showers, run_response(runs[0], response))
    with tqdm(total=evaluations(grid), disable=not progress, desc="calibrating",
              unit="pass") as bar:

        def counted(energies: np.ndarray) -> np.ndarray:
            values = log_like(energies)
            bar.update(1)
            return values

        return calibrate(counted, guess, lo=lo, hi=hi, grid=grid)
