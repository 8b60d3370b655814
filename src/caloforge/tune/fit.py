"""Fit the fast simulator to Geant4 showers by the method of simulated moments.

The fast simulator re-simulates each Geant4 energy group (same energies and angles) with fixed
random streams (common random numbers, so the objective is a deterministic function of the
parameters) and the realism summaries (:mod:`caloforge.evaluate.realism`) of both are compared
through scaled residuals (:func:`caloforge.tune.targets.residuals`). The parameters are fitted in
stages, each a Nelder-Mead search over a few of them on the whole loss (the mean squared scaled
residual over every quantity and group), keeping a stage's result only if it lowers the loss:

1. ``gains``: each sampling structure's response (closed form, ratio of mean layer energies);
2. ``resolution``: the readout's stochastic, constant and noise terms and the response's
   energy slope (sigma/E and the response dominate an untuned loss);
3. ``longitudinal``: shifts of ``ln T`` and ``ln alpha`` and their energy slopes, the deep tail
   (layer fractions);
4. ``halo``: halo share, radius and spot energy, and the spot count (occupancy, sub-MeV cells,
   widths);
5. ``radial``: core and tail radii, core share, the early spread and the radii's energy
   slope (widths);
6. ``fluctuations``: width fluctuations, the axis wander and the spot count (width and
   centroid spreads);

then the resolution and the gains again.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
from tqdm.auto import tqdm

from caloforge.data.showers import Showers
from caloforge.evaluate.realism import ShowerSummary, summarise
from caloforge.geometry import LayeredGeometry
from caloforge.seeds import derive
from caloforge.simulate.config import SimulationConfig
from caloforge.simulate.incidence import Incidence, sample_incidence
from caloforge.simulate.simulator import ReferenceSimulator
from caloforge.tune.targets import RESIDUAL_KEYS, Group, residuals

__all__ = ["RESOLUTION", "STAGES", "Param", "Stage", "StageResult", "Tuner"]


@dataclass(frozen=True)
class Param:
    """One fitted ``shape`` field; ``kind`` is how the search moves it (``free``; ``log`` for
    positive scales; ``abs`` for values >= 0) and ``step`` its first step in natural units
    (``log``: in ln). The resolution terms start from the readout block's when unset."""

    name: str
    kind: Literal["free", "log", "abs"]
    step: float

    def get(self, cfg: SimulationConfig) -> float:
        """The current value."""
        value = getattr(cfg.shape, self.name)
        return float(getattr(cfg.readout, self.name) if value is None else value)

    def set(self, cfg: SimulationConfig, value: float) -> None:
        """Store ``value`` (in natural units)."""
        setattr(cfg.shape, self.name, float(value))

    def to_search(self, value: float) -> float:
        return float(np.log(value)) if self.kind == "log" else value

    def from_search(self, x: float) -> float:
        if self.kind == "log":
            return float(np.exp(np.clip(x, -5.0, 5.0)))
        return abs(x) if self.kind == "abs" else x


@dataclass(frozen=True)
class Stage:
    """Parameters fitted together and the residuals they are fitted on."""

    name: str
    params: tuple[Param, ...]
    keys: tuple[str, ...]


STAGES = (
    Stage("longitudinal", (Param("t_shift", "free", 0.1), Param("t_slope", "free", 0.05),
                           Param("alpha_shift", "free", 0.1), Param("alpha_slope", "free", 0.05),
                           Param("tail_fraction", "abs", 0.05)), ("fractions",)),
    Stage("halo", (Param("halo_fraction", "abs", 0.02), Param("halo_radius", "log", 0.4),
                   Param("halo_spot_mev", "log", 0.5), Param("spot_scale", "log", 0.4)),
          ("occupancy", "halo", "widths")),
    Stage("radial", (Param("core_scale", "log", 0.2), Param("tail_scale", "log", 0.2),
                     Param("core_share", "log", 0.1), Param("early_spread", "abs", 0.1),
                     Param("radial_slope", "free", 0.03)), ("widths",)),
    Stage("fluctuations", (Param("width_sigma", "abs", 0.05),
                           Param("width_sigma_slice", "abs", 0.05),
                           Param("wander_mm", "abs", 0.5), Param("spot_scale", "log", 0.3)),
          ("width_std", "centroid")),
)
#: Fitted first and again last: the response's spread dominates the loss when untuned.
RESOLUTION = Stage("resolution", (Param("stochastic_term", "log", 0.15),
                                  Param("constant_term", "abs", 0.004),
                                  Param("noise_term", "abs", 0.02),
                                  Param("response_slope", "free", 0.01),
                                  Param("response_curvature", "free", 0.005)),
                   ("resolution", "response"))


@dataclass
class StageResult:
    """Loss (mean squared scaled residual over all quantities) before and after a stage."""

    name: str
    loss_before: float
    loss_after: float
    evaluations: int
    seconds: float
    values: dict[str, float] = field(default_factory=dict)


def _incidence(cfg: SimulationConfig, showers: Showers, rng: np.random.Generator) -> Incidence:
    inc = sample_incidence(cfg.incidence, len(showers), rng)
    if showers.theta is not None:
        inc = Incidence(np.asarray(showers.theta, dtype=np.float64),
                        inc.phi if showers.phi is None else np.asarray(showers.phi,
                                                                       dtype=np.float64),
                        inc.x0, inc.y0)
    return inc


class Tuner:
    """Fits ``config``'s shape and readout to Geant4 ``groups`` (see the module docstring).

    Arguments:
        config: The starting simulation config (its ``shape`` and ``readout`` are fitted).
        geometry: The geometry of the showers.
        groups: The Geant4 energy groups.
        seed: Seeds the fast simulator's fixed streams.
        evaluations: Simulator runs per fitted parameter in each Nelder-Mead stage.
    """

    def __init__(self, config: SimulationConfig, geometry: LayeredGeometry, groups: list[Group],
                 seed: int = 0, evaluations: int = 12) -> None:
        self.config = copy.deepcopy(config)
        self.geometry = geometry
        self.groups = groups
        self.seed = seed
        self.evaluations = evaluations
        self.count = 0
        self.all_keys = RESIDUAL_KEYS

    def simulate(self, cfg: SimulationConfig) -> list[ShowerSummary]:
        """Summaries of the fast simulator with ``cfg`` on every group (fixed streams)."""
        self.count += 1
        sim = ReferenceSimulator(cfg)
        out = []
        for k, g in enumerate(self.groups):
            rng = np.random.default_rng(derive(self.seed, "tune", k))
            inc = _incidence(cfg, g.showers, rng)
            out.append(summarise(sim.simulate_batch(g.showers.energies, rng, inc), self.geometry))
        return out

    def loss(self, summaries: list[ShowerSummary], keys: tuple[str, ...] | None = None) -> float:
        """Mean squared scaled residual over the groups."""
        res = [residuals(g.summary, s, keys or self.all_keys)
               for g, s in zip(self.groups, summaries, strict=True)]
        flat = np.concatenate(res)
        return float(np.mean(np.square(flat))) if flat.size else 0.0

    def fit_gains(self) -> StageResult:
        """Each sampling structure's gain: Geant4 over fast mean layer energy (closed form)."""
        t0 = time.perf_counter()
        cfg = self.config
        before = self.simulate(cfg)
        loss0 = self.loss(before)
        structures = _structures(self.geometry)
        gains = cfg.shape.gains(self.geometry.n_layers).copy()
        for members in structures:
            g4 = sum(float(g.summary.response * g.summary.layer_fraction[members].sum())
                     for g in self.groups)
            fast = sum(float(s.response * s.layer_fraction[members].sum()) for s in before)
            if fast > 0 and g4 > 0:
                gains[members] *= g4 / fast
        previous = cfg.shape.layer_gain
        cfg.shape.layer_gain = [round(float(v), 5) for v in gains]
        after = self.loss(self.simulate(cfg))
        if after > loss0:                                   # keep the better
            cfg.shape.layer_gain, after = previous, loss0
        return StageResult("gains", loss0, after, 2, time.perf_counter() - t0,
                           {f"gain[{m[0]}]": float(gains[m[0]]) for m in structures})

    def fit_stage(self, stage: Stage, progress: bool = False) -> StageResult:
        """Nelder-Mead over ``stage.params`` on the whole loss (``stage.keys`` name what they
        shape most); keeps the better point."""
        from scipy.optimize import minimize

        t0, count0 = time.perf_counter(), self.count
        cfg = self.config
        params = [p for p in stage.params if _applies(p, cfg)]
        start = np.array([p.to_search(p.get(cfg)) for p in params])
        loss0 = self.loss(self.simulate(cfg))
        if not params:
            return StageResult(stage.name, loss0, loss0, 1, time.perf_counter() - t0)
        trial = copy.deepcopy(cfg)
        bar = tqdm(total=self.evaluations * len(params), disable=not progress,
                   desc=f"tune {stage.name}", leave=False)

        def objective(x: np.ndarray) -> float:
            for p, v in zip(params, x, strict=True):
                p.set(trial, p.from_search(float(v)))
            bar.update()
            try:
                trial.shape.validate(self.geometry.n_layers)
            except ValueError:
                return 1e6
            return self.loss(self.simulate(trial))

        simplex = np.vstack([start] + [start + np.eye(len(params))[i] * p.step
                                       for i, p in enumerate(params)])
        best = minimize(objective, start, method="Nelder-Mead",
                        options={"maxfev": self.evaluations * len(params),
                                 "initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3})
        bar.close()
        f_start = objective(start)
        if best.fun < f_start:
            for p, v in zip(params, best.x, strict=True):
                p.set(cfg, p.from_search(float(v)))
        after = self.loss(self.simulate(cfg))
        return StageResult(stage.name, loss0, after, self.count - count0,
                           time.perf_counter() - t0, {p.name: p.get(cfg) for p in params})

    def run(self, stages: tuple[Stage, ...] = STAGES, progress: bool = False,
            log: Callable[[StageResult], None] | None = None,
            rounds: int = 1) -> list[StageResult]:
        """Gains, resolution, every stage (``rounds`` times, later rounds with half the first
        steps), resolution and gains again; returns each step's result."""
        results: list[StageResult] = []
        steps: list[Callable[[], StageResult]] = [self.fit_gains]
        for k in range(rounds):
            todo = (RESOLUTION, *stages) if k == 0 else stages
            steps += [partial(self.fit_stage, _finer(st, 0.5**k), progress) for st in todo]
        steps.append(partial(self.fit_stage, RESOLUTION, progress))
        for step in [*steps, self.fit_gains]:
            results.append(step())
            if log:
                log(results[-1])
        return results


def _finer(stage: Stage, factor: float) -> Stage:
    """``stage`` with its first steps scaled by ``factor``."""
    if factor == 1.0:
        return stage
    return Stage(stage.name, tuple(Param(p.name, p.kind, p.step * factor)
                                   for p in stage.params), stage.keys)


def _applies(param: Param, cfg: SimulationConfig) -> bool:
    """The stochastic term means nothing to a total-deposit readout."""
    return not (param.name == "stochastic_term" and cfg.readout.energy_scale == "total")


def _structures(geometry: LayeredGeometry) -> list[np.ndarray]:
    """Layers grouped by sampling structure (identical absorber/active materials)."""
    stack = geometry.materials
    assert stack is not None
    keys: dict[object, list[int]] = {}
    for i, m in enumerate(stack.layers):
        keys.setdefault((m.absorber, m.absorber_mm, m.active, m.active_mm), []).append(i)
    return [np.array(v) for v in keys.values()]
