"""Tune the fast simulator to Geant4 showers (``caloforge tune``).

:func:`tune` reads Geant4 files of one geometry, groups them by incident energy, fits the
simulator's shape corrections and readout (:mod:`caloforge.tune.fit`) and returns the tuned
config; :func:`write_params` writes it as a simulation config that ``caloforge simulate
--config`` and :func:`caloforge.simulate.load_config` read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.data.io import ShowerFile
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.geometry import get_geometry
from caloforge.simulate.config import PDG_IDS, SimulationConfig, load_config
from caloforge.tune.fit import STAGES, StageResult, Tuner
from caloforge.tune.targets import Group, energy_groups, residuals

__all__ = ["TuneResult", "load_reference", "tune", "write_params"]

#: Geant4 showers per energy group that the fit uses (the rest only enter the summaries' n).
DEFAULT_N_FIT = 400


@dataclass
class TuneResult:
    """The tuned config with how the fit went.

    Attributes:
        config: The tuned simulation config.
        stages: Each step's loss before and after.
        loss_before, loss_after: Mean squared scaled residual, untuned and tuned.
        per_key_before, per_key_after: Root mean square residual of each quantity.
        groups: The energy groups' labels and sizes.
        seconds: Wall time.
    """

    config: SimulationConfig
    stages: list[StageResult]
    loss_before: float
    loss_after: float
    per_key_before: dict[str, float] = field(default_factory=dict)
    per_key_after: dict[str, float] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the config)."""
        return {"loss_before": self.loss_before, "loss_after": self.loss_after,
                "per_key_before": self.per_key_before, "per_key_after": self.per_key_after,
                "groups": self.groups, "seconds": self.seconds,
                "stages": [asdict(s) for s in self.stages]}


def load_reference(paths: Sequence[str | Path], geometry_name: str) -> Showers:
    """The showers of every file, checked to be of ``geometry_name``."""
    parts = []
    geo = get_geometry(geometry_name)
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"Geant4 file '{path}' not found", "check the path")
        f = ShowerFile(path)
        if f.n_voxels != geo.n_voxels:
            raise InputError(f"'{path}' has {f.n_voxels} voxels, geometry {geometry_name} "
                             f"has {geo.n_voxels}", "give --preset the file's geometry")
        parts.append(f.read())
    return Showers.concatenate(parts)


def _per_key(tuner: Tuner, summaries: list[Any]) -> dict[str, float]:
    out = {}
    for key in tuner.all_keys:
        r = np.concatenate([residuals(g.summary, s, (key,))
                            for g, s in zip(tuner.groups, summaries, strict=True)])
        out[key] = float(np.sqrt(np.mean(np.square(r)))) if r.size else 0.0
    return out


def tune(paths: Sequence[str | Path], preset: str | Path, *, n_fit: int = DEFAULT_N_FIT,
         evaluations: int = 12, rounds: int = 2, seed: int = 0,
         start: SimulationConfig | None = None,
         progress: bool = True, log: Callable[[StageResult], None] | None = None
         ) -> TuneResult:
    """Fit ``preset``'s simulator (or ``start``) to the Geant4 showers in ``paths``.

    Arguments:
        paths: Geant4 shower files of the preset's geometry.
        preset: Simulation preset name or YAML config.
        n_fit: Showers per energy group used by the fit.
        evaluations: Simulator runs per fitted parameter in each stage.
        rounds: Passes over the stages (later ones with smaller first steps).
        seed: Seeds the fast simulator's fixed streams.
        start: Starting config (default: the preset with the textbook shape).
        progress: Progress bars.
        log: Called with each finished step.
    """
    t0 = time.perf_counter()
    cfg = start or load_config(preset)
    geo = get_geometry(cfg.geometry)
    showers = load_reference(paths, cfg.geometry)
    if showers.particle is not None:
        names = {v: k for k, v in PDG_IDS.items()}
        pid = int(np.asarray(showers.particle)[0])
        if pid in names:
            cfg.particle = names[pid]
    groups = [Group.build(showers, idx, geo, n_fit) for idx in energy_groups(showers.energies)]
    tuner = Tuner(cfg, geo, groups, seed=seed, evaluations=evaluations)
    before = tuner.simulate(tuner.config)
    stages = tuner.run(STAGES, progress=progress, log=log, rounds=rounds)
    after = tuner.simulate(tuner.config)
    return TuneResult(tuner.config, stages, tuner.loss(before), tuner.loss(after),
                      _per_key(tuner, before), _per_key(tuner, after),
                      [f"{g.label} (n={len(g.showers)})" for g in groups],
                      time.perf_counter() - t0)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.5g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def write_params(result: TuneResult, out: str | Path, command: str, force: bool = False) -> Path:
    """Write the tuned config as YAML (atomic; refuses to overwrite without ``force``)."""
    import yaml

    from caloforge.tables import write_text

    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"'{out}' exists", "pass --force to overwrite it")
    data = _rounded(asdict(result.config))
    header = (f"# Fitted to Geant4 by: {command}\n"
              f"# loss (mean squared scaled residual) {result.loss_before:.3g} -> "
              f"{result.loss_after:.3g}; groups: {', '.join(result.groups)}\n")
    return write_text(out, header + yaml.safe_dump(data, sort_keys=False))
