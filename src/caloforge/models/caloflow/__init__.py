"""CaloFlow (arXiv:2106.05285, 2110.11377): Flow I over layer energies, Flow II over normalised
voxels; a MAF teacher distilled into a one-pass IAF student.

Stages: ``teacher`` -> ``student``. Presets: ``caloforge/models/caloflow/presets``.
"""

from importlib.resources import files

from caloforge.models.caloflow.distill import DistillConfig, Distiller
from caloforge.models.caloflow.model import CaloFlow, CaloFlowConfig, LayerFlow, build_caloflow
from caloforge.models.caloflow.recipe import Recipe, setup, stages
from caloforge.models.family import Family

__all__ = ["FAMILY", "CaloFlow", "CaloFlowConfig", "DistillConfig", "Distiller", "LayerFlow",
           "Recipe", "build_caloflow"]

FAMILY = Family(
    name="caloflow",
    summary="CaloFlow: MAF teacher (Flow I layer energies + Flow II voxels), IAF student by "
            "distillation; up to 2,000 voxels",
    recipe_class=Recipe, stages=stages, setup=setup,
    presets=files("caloforge.models.caloflow") / "presets")
