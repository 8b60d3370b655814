"""Likelihoods of trained CaloFlow runs as functions of the incident energy.

:func:`run_log_likelihood` turns one or several runs (an ensemble, averaged as likelihoods) and a
set of showers into ``log_like(E) -> log p(x_i | E_i)``, the input of
:func:`~caloforge.applications.calibration.calibrate` and of the anomaly score. ``part="flow1"``
uses Flow I only (the layer energies, per MeV^L); ``part="full"`` adds Flow II (the whole shower,
per MeV^V). The voxels are dequantised once with a fixed seed, so the likelihood is a smooth
function of ``E``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from caloforge.applications.calibration import CalibrationResult, LogLikelihood, calibrate, ensemble
from caloforge.data.io import ShowerFile
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.train.caloflow import deposit_response
from caloforge.train.run import Run

__all__ = ["Part", "calibrate_showers", "reconstructed_energy", "run_log_likelihood",
           "run_response"]

Part = Literal["flow1", "full"]
#: Showers read to measure a run's detector response when its config lacks it.
RESPONSE_SHOWERS = 50_000


def run_response(run: Run, response: float | None = None) -> float:
    """``response`` if given, else the median deposited/incident energy of the run's training
    data (a calibration factor fitted on training data, never on the showers being scored):
    recorded in its config, or measured on its training file for older runs.

    Raises:
        InputError: the run records no response and its training file is gone.
    """
    if response is not None:
        return response
    data = run.config.get("data") or {}
    if data.get("response_median"):
        return float(data["response_median"])
    path = data.get("path")
    if not path or not Path(path).is_file():
        raise InputError(f"run '{run.path}' records no detector response and its training file "
                         f"'{path}' is gone", "pass --response (median E_dep/E_inc)")
    showers = ShowerFile(path).read(0, RESPONSE_SHOWERS)
    return deposit_response({"energies": torch.as_tensor(showers.energies),
                             "voxels": torch.as_tensor(showers.voxels)})


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


class _RunLikelihood:
    """``log p(x | E)`` of one run for fixed showers, evaluated in chunks."""

    def __init__(self, run: Run, showers: Showers, part: Part, seed: int, batch_size: int
                 ) -> None:
        run.check_geometry(showers, "the shower file")
        if part == "full":
            run.require_flow2("score whole showers (use part='flow1')")
        theta = run.angles(showers.theta, len(showers))
        self.model, self.part, self.batch_size = run.model, part, batch_size
        device = run.device
        gen = torch.Generator(device=device).manual_seed(seed)
        voxels = torch.as_tensor(showers.voxels, dtype=torch.float32, device=device)
        self.theta = (None if theta is None
                      else torch.as_tensor(theta, dtype=torch.float32, device=device))
        with torch.inference_mode():
            noisy = self.model.pre.dequantize(voxels, gen)
            self.layers = self.model.pre.layer_energies(noisy)
            if part == "full":
                self.y, self.ladj2 = self.model.pre.encode_voxels(noisy, self.layers)
                self.y = self.y.float()

    @torch.inference_mode()
    def __call__(self, energies: np.ndarray) -> np.ndarray:
        out = np.empty(len(energies))
        e_all = torch.as_tensor(energies, dtype=torch.float32, device=self.layers.device)
        for start in range(0, len(out), self.batch_size):
            rows = slice(start, start + self.batch_size)
            e, layers = e_all[rows], self.layers[rows]
            theta = None if self.theta is None else self.theta[rows]
            log_p = self.model.log_prob_layers(layers, e, theta)
            if self.part == "full":
                c2 = self.model.pre.context2(e, layers, theta)
                log_p = (log_p + self.model.voxel_flow()(c2).log_prob(self.y[rows])
                         + self.ladj2[rows])
            out[rows] = log_p.double().cpu().numpy()
        return out


def run_log_likelihood(runs: Run | Sequence[Run], showers: Showers, part: Part = "flow1",
                       seed: int = 0, batch_size: int = 20_000) -> LogLikelihood:
    """``log p(x_i | E_i)`` of fixed showers at candidate incident energies (MeV).

    Arguments:
        runs: One run, or an ensemble whose likelihoods are averaged.
        showers: The showers ``x_i`` (their recorded incident energies are not used).
        part: ``flow1`` (layer energies) or ``full`` (Flow I + Flow II).
        seed: Seed of the one dequantisation of the voxels.
        batch_size: Showers per network call.

    Raises:
        InputError: wrong geometry, a Flow-I-only run with ``full``, missing angles.
    """
    runs = [runs] if isinstance(runs, Run) else list(runs)
    if not runs:
        raise InputError("no run to evaluate", "pass --run DIR")
    members = [_RunLikelihood(run, showers, part, seed, batch_size) for run in runs]
    return members[0] if len(members) == 1 else ensemble(members)


def calibrate_showers(runs: Run | Sequence[Run], showers: Showers, part: Part = "flow1",
                      response: float | None = None, seed: int = 0, lo: float = 0.5,
                      hi: float = 2.0, grid: int = 21) -> CalibrationResult:
    """Maximum-likelihood incident energies and intervals for showers from run(s).

    The first guess is the deposited energy over the detector response (the first run's, from
    its training data, unless ``response`` is given).

    Returns:
        The :class:`CalibrationResult` (MeV).
    """
    runs = [runs] if isinstance(runs, Run) else list(runs)
    log_like = run_log_likelihood(runs, showers, part, seed)
    guess = reconstructed_energy(showers, run_response(runs[0], response))
    return calibrate(log_like, guess, lo=lo, hi=hi, grid=grid)
