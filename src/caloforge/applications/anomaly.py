"""Unsupervised anomaly detection with a run's shower density, and the chi -> gamma gamma study.

The score of a shower is ``-log p(x | E_rec)`` in physical voxel space (any family with a
:class:`~caloforge.models.base.ShowerDensity`; CaloFlow: Flow I + Flow II with the preprocessing
Jacobians), where ``E_rec`` is the deposited energy over the detector response
measured on the training data: the true incident energy is never used. Showers no single photon
would make (two separated photons from a displaced ``chi -> gamma gamma`` decay) score high.

:func:`anomaly_study` scores single photons (background) and signal points labelled by the photon
separation on the front face, and compares with a supervised classifier trained on one point.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from caloforge.applications.likelihood import (
    RunLikelihood,
    reconstructed_energy,
    run_response,
)
from caloforge.applications.roc import AnomalyMetrics, anomaly_metrics
from caloforge.data.showers import Showers
from caloforge.evaluate.classifier_inputs import low_level_vector
from caloforge.geometry import LayeredGeometry
from caloforge.simulate.config import load_config
from caloforge.simulate.simulator import ReferenceSimulator
from caloforge.train.run import Run

#: Showers per network call when scoring.
SCORE_BATCH = 5_000

__all__ = ["AnomalyStudyConfig", "AnomalyStudyResult", "anomaly_scores", "anomaly_study",
           "decay_distance_mm"]


def anomaly_scores(run: Run, showers: Showers, response: float | None = None,
                   seed: int = 0, progress: bool = False) -> np.ndarray:
    """``-log p(x | E_rec)`` per shower (per MeV^V), ``E_rec = E_dep / response``.

    Arguments:
        run: A run whose family has a shower density.
        showers: The showers to score (their incident energies are not used).
        response: Median ``E_dep / E_inc``; default: the run's, from its training data.
        seed: Seed of the dequantisation noise.
    """
    e_rec = reconstructed_energy(showers, run_response(run, response))
    return -RunLikelihood(run, showers, "full", seed, SCORE_BATCH)(e_rec, progress)


def decay_distance_mm(separation_mm: float, energy_mev: float, mass_mev: float) -> float:
    """Decay distance before the face that puts the photons about ``separation_mm`` apart:
    the smallest opening angle is ``2 m / E`` (symmetric decay), where most decays sit.

    Example:
        >>> decay_distance_mm(100.0, 50_000.0, 500.0)
        5000.0
    """
    return separation_mm * energy_mev / (2.0 * mass_mev)


@dataclass
class AnomalyStudyConfig:
    """The signal grid.

    Attributes:
        energies_mev: chi (and background photon) energies.
        separations_mm: Target photon separations on the front face (0 = collinear).
        mass_mev: chi mass.
        n: Showers per background sample and per signal point (test), and per training sample
            of the supervised classifier.
        supervised_separation_mm: The one signal point the supervised classifier trains on.
        seed: Seed of all simulation.
    """

    energies_mev: list[float] = field(default_factory=lambda: [20_000.0, 50_000.0])
    separations_mm: list[float] = field(default_factory=lambda: [0.0, 10.0, 20.0, 50.0, 100.0])
    mass_mev: float = 500.0
    n: int = 2000
    supervised_separation_mm: float = 20.0
    seed: int = 0


@dataclass
class AnomalyPoint:
    """One signal point: measured separation and the two methods' figures of merit."""

    energy_mev: float
    separation_mm: float
    measured_separation_mm: list[float]
    flow: AnomalyMetrics
    supervised: AnomalyMetrics


@dataclass
class AnomalyStudyResult:
    """All points, the score distributions' medians and the settings."""

    run: str
    response: float
    config: AnomalyStudyConfig
    points: list[AnomalyPoint]
    background_score_median: dict[str, float]

    def table(self) -> list[dict[str, float | str]]:
        """One row per point: AUC, max SI, R_30 of both methods (R_30 above the background
        sample size reads ``>N``)."""
        def r30(m: AnomalyMetrics) -> float | str:
            return round(m.r30, 1) if np.isfinite(m.r30) else f">{m.n_background}"

        return [{"E_GeV": p.energy_mev / 1e3, "d_mm": p.separation_mm,
                 "d_measured_mm": p.measured_separation_mm[1],
                 "flow_auc": round(p.flow.auc, 4), "flow_max_si": round(p.flow.max_si, 2),
                 "flow_r30": r30(p.flow), "sup_auc": round(p.supervised.auc, 4),
                 "sup_max_si": round(p.supervised.max_si, 2),
                 "sup_r30": r30(p.supervised)} for p in self.points]

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (with ROC curves)."""
        return {"run": self.run, "response": self.response, "config": asdict(self.config),
                "table": self.table(), "points": [asdict(p) for p in self.points],
                "background_score_median": self.background_score_median}


class _Samples:
    """Background and signal showers from the reference simulator, seeded per role."""

    def __init__(self, geometry: str, config: AnomalyStudyConfig) -> None:
        self.config = config
        self.sim = ReferenceSimulator(load_config(geometry, {"particle": "photon"}))

    def _rng(self, *key: float) -> np.random.Generator:
        return np.random.default_rng([self.config.seed, *(int(k) for k in key)])

    def background(self, energy: float, role: int) -> Showers:
        energies = np.full(self.config.n, energy)
        return self.sim.simulate_batch(energies, self._rng(energy, role, 0))

    def signal(self, energy: float, separation: float, role: int) -> tuple[Showers, np.ndarray]:
        distance = decay_distance_mm(separation, energy, self.config.mass_mev)
        return self.sim.simulate_signal(self.config.mass_mev, distance,
                                        np.full(self.config.n, energy),
                                        self._rng(energy, role, 1, separation * 1000))


def _inputs(showers: Showers, geometry: LayeredGeometry, response: float) -> np.ndarray:
    """Low-level classifier inputs with the reconstructed (not the true) energy."""
    return low_level_vector(showers.voxels, reconstructed_energy(showers, response), geometry)


def _supervised(train_bg: Showers, train_sig: Showers, geometry: LayeredGeometry,
                response: float, seed: int) -> Pipeline:
    """An MLP classifier of one signal point against single photons."""
    x = np.concatenate([_inputs(train_bg, geometry, response),
                        _inputs(train_sig, geometry, response)])
    y = np.r_[np.zeros(len(train_bg)), np.ones(len(train_sig))]
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=100, early_stopping=True,
                        random_state=seed)
    with warnings.catch_warnings():  # max_iter is a budget, not a failure
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(StandardScaler(), clf).fit(x, y)


def anomaly_study(run: Run, config: AnomalyStudyConfig | None = None,
                  response: float | None = None, progress: bool = True) -> AnomalyStudyResult:
    """Flow anomaly scores and a supervised classifier over the chi -> gamma gamma grid.

    Returns:
        The :class:`AnomalyStudyResult` (figures on caloforge reference showers).
    """
    cfg = config or AnomalyStudyConfig()
    run.model_for("log_prob", "score whole showers for anomaly detection")
    factor = run_response(run, response)
    samples = _Samples(run.geometry.name, cfg)
    geo = run.geometry
    points: list[AnomalyPoint] = []
    medians: dict[str, float] = {}
    steps = len(cfg.energies_mev) * (len(cfg.separations_mm) + 2)
    with tqdm(total=steps, disable=not progress, desc="anomaly study") as bar:
        for energy in cfg.energies_mev:
            bg_test = samples.background(energy, role=1)
            bg_scores = anomaly_scores(run, bg_test, factor)
            medians[f"{energy:g}"] = float(np.median(bg_scores))
            train_bg = samples.background(energy, role=2)
            train_sig, _ = samples.signal(energy, cfg.supervised_separation_mm, role=2)
            clf = _supervised(train_bg, train_sig, geo, factor, cfg.seed)
            bg_sup = clf.predict_proba(_inputs(bg_test, geo, factor))[:, 1]
            bar.update(2)
            for sep in cfg.separations_mm:
                sig, measured = samples.signal(energy, sep, role=1)
                sig_scores = anomaly_scores(run, sig, factor)
                sig_sup = clf.predict_proba(_inputs(sig, geo, factor))[:, 1]
                points.append(AnomalyPoint(
                    energy, sep, np.percentile(measured, [16, 50, 84]).round(2).tolist(),
                    anomaly_metrics(bg_scores, sig_scores), anomaly_metrics(bg_sup, sig_sup)))
                bar.update(1)
    return AnomalyStudyResult(str(run.path), factor, cfg, points, medians)
