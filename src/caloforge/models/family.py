"""A model family: its recipe (typed, YAML presets), its stages, and how to rebuild its models.

A family is one :class:`Family` object, registered by name (:mod:`caloforge.models.registry`).
Its *recipe* is a dataclass loaded from a packaged preset or a user's YAML file; its *stages*
run in order, each trained by the one engine and each resumable (CaloFlow: ``teacher`` -> the
``student`` distilled from it). ``setup`` fits what depends on the data (preprocessing
statistics) into the recipe once, before the first stage; the recipe is then stored in the run
directory, so that :func:`Stage.model` can rebuild every stage's model without the data.

Example: the smallest family (it learns one scale per voxel)::

    @dataclass
    class Recipe:
        train: TrainConfig = field(default_factory=TrainConfig)
        n_voxels: int = 0

    def setup(recipe, data):
        recipe.n_voxels = data.geometry.n_voxels

    def stages(recipe):
        return [Stage("fit", recipe.train, build=lambda earlier: Scale(recipe.n_voxels))]

    FAMILY = Family("scale", "one scale per voxel", Recipe, stages, setup)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from caloforge.data.scan import DataSummary
from caloforge.geometry import LayeredGeometry

__all__ = ["Family", "SetupData", "Stage"]


@dataclass
class SetupData:
    """What ``Family.setup`` may use to fit data-dependent settings.

    Attributes:
        geometry: The data's geometry.
        summary: Size, energy range, response and angles of the data.
        subset: ``subset(n)``: up to ``n`` random training showers as float32 tensors
            (``energies``, ``voxels``, ``theta`` when the angle varies), drawn with ``seed``.
        seed: The first stage's seed.
    """

    geometry: LayeredGeometry
    summary: DataSummary
    subset: Callable[[int], dict[str, Tensor]]
    seed: int


def _same(module: nn.Module) -> nn.Module:
    return module


@dataclass
class Stage:
    """One training stage of a family.

    Attributes:
        name: Its name (a folder ``stages/<name>`` of the run directory).
        train: Its training settings (an object of the recipe, so overrides are stored).
        build: ``build(earlier)`` -> the module the engine trains, given the kept models of the
            stages before it by name (weights are initialised from the stage's seed).
        model: ``model()`` -> an untrained model of what the stage keeps, to load its weights
            into (default: ``build`` with no earlier stages).
        keep: ``keep(trained)`` -> the model the stage keeps (default: the trained module
            itself; a distillation keeps its student).
    """

    name: str
    train: Any
    build: Callable[[Mapping[str, nn.Module]], nn.Module]
    model: Callable[[], nn.Module] | None = None
    keep: Callable[[nn.Module], nn.Module] = field(default=_same)

    def empty_model(self) -> nn.Module:
        """An untrained model of what the stage keeps."""
        return self.model() if self.model is not None else self.keep(self.build({}))


def _no_setup(recipe: Any, data: SetupData) -> None:
    return None


@dataclass(frozen=True)
class Family:
    """A model family.

    Attributes:
        name: Registry name (``caloforge train --model NAME``).
        summary: One line for ``--help`` and ``caloforge models``.
        recipe_class: Dataclass of the recipe (YAML-loadable through :mod:`caloforge.config`).
        stages: ``stages(recipe)`` -> the ordered :class:`Stage` list.
        setup: ``setup(recipe, data)`` fills data-dependent settings into the recipe.
        presets: Folder of packaged ``<name>.yaml`` recipes; a preset named like the geometry is
            that geometry's default, else ``default`` (else the recipe's defaults).
    """

    name: str
    summary: str
    recipe_class: type
    stages: Callable[[Any], list[Stage]]
    setup: Callable[[Any, SetupData], None] = _no_setup
    presets: Traversable | Path | None = None

    def preset_names(self) -> list[str]:
        """Names of the packaged presets."""
        if self.presets is None or not self.presets.is_dir():
            return []
        return sorted(p.name[: -len(".yaml")] for p in self.presets.iterdir()
                      if p.name.endswith(".yaml"))

    def stage(self, recipe: Any, name: str) -> Stage:
        """The stage called ``name``."""
        for stage in self.stages(recipe):
            if stage.name == name:
                return stage
        raise KeyError(name)
