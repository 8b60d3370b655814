"""The baseline family: per-energy-bin voxel statistics, fitted by the engine in one streamed
epoch; any geometry (ds3 included) in bounded memory. The trivial reference point of every
report, and the template of a new family (``docs/families.md``)."""

from dataclasses import dataclass, field
from importlib.resources import files

from caloforge.models.baseline.model import BaselineConfig, VoxelStatistics
from caloforge.models.family import Family, SetupData, Stage
from caloforge.train.config import TrainConfig

__all__ = ["FAMILY", "BaselineConfig", "Recipe", "VoxelStatistics"]


@dataclass
class Recipe:
    """The baseline's settings and its one statistics epoch."""

    model: BaselineConfig = field(default_factory=BaselineConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=1, batch_size=256, val_batch_size=256, patience=0))


def setup(recipe: Recipe, data: SetupData) -> None:
    """Energy range and voxel count from the data; empty below the readout threshold."""
    model = recipe.model
    model.e_min_mev, model.e_max_mev = data.summary.energy_min_mev, data.summary.energy_max_mev
    model.n_voxels = data.geometry.n_voxels
    model.zero_below_mev = float(getattr(data.geometry, "readout_threshold_mev", 0.0) or 0.0)


def stages(recipe: Recipe) -> list[Stage]:
    """One stage, ``fit``."""
    return [Stage("fit", recipe.train, build=lambda earlier: VoxelStatistics(recipe.model))]


FAMILY = Family(name="baseline", summary="per-energy-bin voxel statistics (hit rate, log-normal "
                "energies); any geometry, one streamed epoch", recipe_class=Recipe,
                stages=stages, setup=setup, presets=files("caloforge.models.baseline") / "presets")
