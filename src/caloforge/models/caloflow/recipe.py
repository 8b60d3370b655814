"""The CaloFlow recipe: architecture, preprocessing, the teacher stage and the distilled student.

Presets live in ``caloforge/models/caloflow/presets/<name>.yaml``: ``tiny`` trains in seconds
(smoke tests, demo); geometry-named presets are the defaults for their geometry; ``flow1``
trains Flow I alone (energy calibration); ``default`` serves the rest.

Stages: ``teacher`` (Flow I + Flow II jointly, or Flow I alone with ``model.flows: flow1``), then
``student`` (probability-density distillation of Flow II into an IAF) when the recipe has a
student and Flow II.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import nn

from caloforge.errors import InputError
from caloforge.models.caloflow.distill import DistillConfig, Distiller
from caloforge.models.caloflow.model import CaloFlow, CaloFlowConfig, build_caloflow
from caloforge.models.family import SetupData, Stage
from caloforge.models.flows import FlowSpec
from caloforge.preprocess import fit_state
from caloforge.train.config import TrainConfig

__all__ = ["FIT_SHOWERS", "MAX_VOXELS", "Recipe", "setup", "stages"]

#: Showers used to fit the preprocessing statistics.
FIT_SHOWERS = 50_000
#: Largest voxel count one CaloFlow Flow II handles (a MADE's output grows as voxels x bins).
MAX_VOXELS = 2_000


@dataclass
class Recipe:
    """Everything needed to train and distil a CaloFlow.

    Attributes:
        model: Teacher architecture and preprocessing settings (fitted by :func:`setup`).
        train: Teacher training.
        student: Student Flow II architecture (``kind: iaf``); ``distill: false`` skips it.
        distill: Distillation loss settings.
        distill_train: Student training.
    """

    model: CaloFlowConfig = field(default_factory=CaloFlowConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    student: FlowSpec = field(default_factory=lambda: FlowSpec(kind="iaf"))
    distill: DistillConfig = field(default_factory=DistillConfig)
    distill_train: TrainConfig = field(default_factory=TrainConfig)


def setup(recipe: Recipe, data: SetupData) -> None:
    """Fit the preprocessing statistics on up to :data:`FIT_SHOWERS` training showers.

    Raises:
        InputError: more voxels than one Flow II handles.
    """
    geo = data.geometry
    if geo.n_voxels > MAX_VOXELS and recipe.model.flows == "both":
        raise InputError(f"CaloFlow models every voxel with one autoregressive flow; "
                         f"'{geo.name}' has {geo.n_voxels} voxels (limit {MAX_VOXELS})",
                         "use a geometry with fewer voxels (ds1, calogan); layer-by-layer "
                         "iCaloFlow for large geometries is not built yet")
    fit_state(recipe.model.preprocessing, geo, data.subset(FIT_SHOWERS), data.summary.angles,
              data.seed)


def _student_config(recipe: Recipe) -> CaloFlowConfig:
    return CaloFlowConfig(copy.deepcopy(recipe.model.preprocessing),
                          copy.deepcopy(recipe.model.flow1), copy.deepcopy(recipe.student))


def _distiller(recipe: Recipe, earlier: Mapping[str, nn.Module]) -> Distiller:
    teacher = earlier["teacher"]
    if not isinstance(teacher, CaloFlow):
        raise InputError("the student needs a teacher with Flow II", "train the teacher first")
    return Distiller(teacher, recipe.student, recipe.distill)


def stages(recipe: Recipe) -> list[Stage]:
    """``teacher``, then ``student`` when the model has Flow II and ``distill.enabled``."""
    out = [Stage("teacher", recipe.train, build=lambda earlier: build_caloflow(recipe.model))]
    if recipe.model.flows == "both" and recipe.distill.enabled:
        out.append(Stage("student", recipe.distill_train,
                         build=lambda earlier: _distiller(recipe, earlier),
                         model=lambda: CaloFlow(_student_config(recipe)),
                         keep=lambda distiller: distiller.student))
    return out
