"""Model families behind one contract (:mod:`caloforge.models.base`), found by name in the
registry (:mod:`caloforge.models.registry`); shared flow builders in :mod:`caloforge.models.flows`.

Families: ``caloflow`` (MAF teacher, IAF student), ``baseline`` (per-energy-bin voxel
statistics); more through the ``caloforge.models`` entry-point group.
"""

from caloforge.models.base import (
    Conditions,
    LayerDensity,
    OptimizerSpec,
    ShowerDensity,
    ShowerGenerator,
    StepContext,
    TrainingModule,
    TrainingPlan,
    require,
)
from caloforge.models.family import Family, SetupData, Stage
from caloforge.models.registry import family_names, get_family, load_recipe, register_family

__all__ = ["Conditions", "Family", "LayerDensity", "OptimizerSpec", "SetupData",
           "ShowerDensity", "ShowerGenerator", "Stage", "StepContext", "TrainingModule",
           "TrainingPlan", "family_names", "get_family", "load_recipe", "register_family",
           "require"]
