"""Train a CaloFlow teacher on a shower file, and distil it into a student.

Both write a run directory (see :mod:`caloforge.train.run`) and resume an interrupted run
found there.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from caloforge.config import from_dict, to_dict
from caloforge.data.io import ShowerFile
from caloforge.data.validate import check_values, resolve_geometry
from caloforge.errors import InputError
from caloforge.geometry import get_geometry
from caloforge.models.caloflow import CaloFlow, CaloFlowConfig
from caloforge.models.distill import Distiller
from caloforge.train.engine import TrainResult, fit
from caloforge.train.presets import Recipe
from caloforge.train.run import Run, prepare_run_dir, read_run_config, write_run_config

__all__ = ["TrainingData", "deposit_response", "distill_caloflow", "load_training_data",
           "train_caloflow"]

#: Showers used to fit the preprocessing statistics.
FIT_SHOWERS = 50_000
#: Largest voxel count one CaloFlow Flow II handles (a MADE's output grows as voxels x bins).
MAX_VOXELS = 2_000


@dataclass
class TrainingData:
    """Showers as float32 tensors, with where they came from."""

    tensors: dict[str, torch.Tensor]
    geometry: str
    path: str
    n: int


def load_training_data(path: str | Path, max_showers: int | None = None,
                       geometry: str | None = None) -> TrainingData:
    """Read and check a shower file for training (into memory, float32).

    Raises:
        InputError: bad file, unknown geometry, NaN/negative energies.
    """
    file = ShowerFile(path)
    geo = resolve_geometry(file, geometry)
    if geo is None:
        raise InputError(f"file '{path}' has {file.n_voxels} voxels, which matches no known "
                         "geometry", "pass --geometry NAME or an XML file")
    showers = file.read(0, max_showers)
    check_values(showers, source=f"file '{path}'")
    tensors = {"energies": torch.as_tensor(showers.energies, dtype=torch.float32),
               "voxels": torch.as_tensor(showers.voxels, dtype=torch.float32)}
    if showers.theta is not None and np.ptp(showers.theta) > 0:
        tensors["theta"] = torch.as_tensor(showers.theta, dtype=torch.float32)
    return TrainingData(tensors, geo.name, str(path), len(showers))


def _subset(tensors: dict[str, torch.Tensor], n: int, seed: int) -> dict[str, torch.Tensor]:
    total = len(tensors["energies"])
    rows = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]
    return {k: v[rows] for k, v in tensors.items()}


def deposit_response(tensors: dict[str, torch.Tensor]) -> float:
    """Median of deposited over incident energy: turns a deposit into a first energy guess.

    Example:
        >>> deposit_response({"energies": torch.tensor([10.0, 20.0]),
        ...                   "voxels": torch.tensor([[4.0, 5.0], [9.0, 9.0]])})
        0.9
    """
    ratio = tensors["voxels"].double().sum(1) / tensors["energies"].double()
    return round(float(ratio.median()), 6)


def train_caloflow(data: TrainingData, out: str | Path, recipe: Recipe, force: bool = False,
                   progress: bool = True, extra: dict[str, Any] | None = None
                   ) -> tuple[Run, TrainResult]:
    """Train a CaloFlow teacher (Flow I + Flow II) into run directory ``out``.

    An existing run of the same kind in ``out`` is resumed with its stored config (its
    ``train`` settings may be overridden by ``recipe.train``).

    Returns:
        The loaded best run and the training summary.
    """
    geo = get_geometry(data.geometry)
    if geo.n_voxels > MAX_VOXELS and recipe.model.flows == "both":
        raise InputError(f"CaloFlow models every voxel with one autoregressive flow; "
                         f"'{data.geometry}' has {geo.n_voxels} voxels (limit {MAX_VOXELS})",
                         "use a geometry with fewer voxels (ds1, calogan); layer-by-layer "
                         "iCaloFlow for large geometries is not built yet")
    path, resume = prepare_run_dir(out, "caloflow", force)
    if resume:
        stored = read_run_config(path)
        model_cfg = from_dict(CaloFlowConfig, stored["model"], "config.yaml")
        if stored.get("geometry") != data.geometry:
            raise InputError(f"run '{path}' was trained on '{stored.get('geometry')}', the data "
                             f"are '{data.geometry}'", "use the same data or another --out")
        model = CaloFlow(model_cfg)
    else:
        model_cfg = copy.deepcopy(recipe.model)
        pre = model_cfg.preprocessing
        pre.layer_sizes = list(geo.layer_sizes)
        pre.threshold_mev = float(getattr(geo, "readout_threshold_mev", 0.0) or 0.0)
        pre.use_theta = "theta" in data.tensors
        model = CaloFlow(model_cfg)
        model.fit_preprocessing(_subset(data.tensors, FIT_SHOWERS, recipe.train.seed),
                                seed=recipe.train.seed)
        write_run_config(path, {
            "kind": "caloflow", "geometry": data.geometry,
            "data": {"path": data.path, "n": data.n,
                     "response_median": deposit_response(data.tensors)},
            "model": to_dict(model.config), "train": to_dict(recipe.train),
            "recipe": {"student": to_dict(recipe.student), "distill": to_dict(recipe.distill),
                       "distill_train": to_dict(recipe.distill_train)},
            **(extra or {})})
    result = fit(model, data.tensors, recipe.train, path, progress=progress, resume=resume)
    return Run.load(path), result


def distill_caloflow(teacher: str | Path, data: TrainingData, out: str | Path, recipe: Recipe,
                     force: bool = False, progress: bool = True) -> tuple[Run, TrainResult]:
    """Distil a teacher run's Flow II into an IAF student run at ``out``.

    Returns:
        The loaded best student run and the training summary.
    """
    teacher_run = Run.load(teacher)
    if teacher_run.kind != "caloflow":
        raise InputError(f"run '{teacher}' is a '{teacher_run.kind}', not a CaloFlow teacher",
                         "pass the run directory made by 'caloforge train'")
    teacher_run.require_flow2("be distilled")
    if teacher_run.geometry.name != data.geometry:
        raise InputError(f"teacher '{teacher}' models '{teacher_run.geometry.name}' but the "
                         f"data are '{data.geometry}'", "distil on the teacher's kind of data")
    path, resume = prepare_run_dir(out, "caloflow-student", force)
    student_spec = recipe.student
    if resume:
        stored = read_run_config(path)
        student_spec = from_dict(CaloFlowConfig, stored["model"], "config.yaml").flow2
    distiller = Distiller(teacher_run.model, student_spec, recipe.distill)
    if not resume:
        write_run_config(path, {
            "kind": "caloflow-student", "geometry": data.geometry,
            "teacher": str(Path(teacher).resolve()),
            "data": {"path": data.path, "n": data.n},
            "model": to_dict(distiller.student.config), "distill": to_dict(recipe.distill),
            "train": to_dict(recipe.distill_train)})
    result = fit(distiller, data.tensors, recipe.distill_train, path, progress=progress,
                 resume=resume)
    return Run.load(path), result
