"""Recipes (model + training settings) shipped as YAML inside the package.

``caloforge/train/presets/<name>.yaml`` holds a :class:`Recipe`: the CaloFlow architecture,
how to train the teacher, the student's architecture and how to distil it. ``tiny`` trains in
seconds (smoke tests, demo); geometry-named presets are the defaults for their geometry;
``default`` serves the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from caloforge.config import from_dict, merge, read_yaml
from caloforge.errors import InputError
from caloforge.models.caloflow import CaloFlowConfig
from caloforge.models.distill import DistillConfig
from caloforge.models.flows import FlowSpec
from caloforge.train.config import TrainConfig

__all__ = ["Recipe", "list_recipes", "load_recipe"]


@dataclass
class Recipe:
    """Everything needed to train and distil a CaloFlow.

    Attributes:
        model: Teacher architecture and preprocessing settings.
        train: Teacher training.
        student: Student Flow II architecture (``kind: iaf``).
        distill: Distillation loss settings.
        distill_train: Student training.
    """

    model: CaloFlowConfig = field(default_factory=CaloFlowConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    student: FlowSpec = field(default_factory=lambda: FlowSpec(kind="iaf"))
    distill: DistillConfig = field(default_factory=DistillConfig)
    distill_train: TrainConfig = field(default_factory=TrainConfig)


def _folder() -> Path:
    return Path(str(files("caloforge.train") / "presets"))


def list_recipes() -> list[str]:
    """Names of the packaged presets.

    Example:
        >>> {"tiny", "default", "ds1-photons"} <= set(list_recipes())
        True
    """
    return sorted(p.stem for p in _folder().glob("*.yaml"))


def load_recipe(source: str | Path | None = None, geometry: str | None = None,
                overrides: dict[str, Any] | None = None) -> Recipe:
    """A recipe from a preset name or YAML file, with nested ``overrides`` applied.

    Arguments:
        source: Preset name or YAML path; None picks the geometry's preset, else ``default``.
        geometry: Geometry name used when ``source`` is None.
        overrides: Nested values that win over the file (None values are ignored).

    Example:
        >>> r = load_recipe("tiny", overrides={"train": {"epochs": 1}})
        >>> r.train.epochs, r.model.flow2.kind, r.student.kind
        (1, 'maf', 'iaf')
    """
    if source is None:
        source = geometry if geometry in list_recipes() else "default"
    path = Path(source) if str(source).endswith((".yaml", ".yml")) else _folder() / f"{source}.yaml"
    if not path.is_file():
        raise InputError(f"no model preset or recipe '{source}'",
                         f"use one of {', '.join(list_recipes())} or a YAML file")
    recipe = from_dict(Recipe, merge(read_yaml(path), overrides or {}), path.name)
    recipe.train.validate()
    recipe.distill_train.validate()
    return recipe
