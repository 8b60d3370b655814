"""The CaloMan recipe: preprocessing and latent size fitted by the setup, stage ``autoencoder``
then stage ``latent_flow``.

``model.autoencoder.latent: 0`` (the default) sets the latent size to the intrinsic dimension of
the training showers: the MacKay-Ghahramani maximum-likelihood estimate, averaged over
``k = 10..20``, on up to :data:`DIM_SHOWERS` showers in the autoencoder's input space (the
estimator of ``caloforge intrinsic-dim``: :mod:`caloforge.intrinsic`, shared with
:mod:`caloforge.evaluate.dimension`). On few showers this estimate is a
lower bound (``docs/dimension.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import Tensor, nn

from caloforge.errors import InputError
from caloforge.intrinsic import estimate_dimension
from caloforge.models.caloman.model import Autoencoder, CaloMan, CaloManConfig
from caloforge.models.family import SetupData, Stage
from caloforge.preprocess import fit_state
from caloforge.train.config import TrainConfig

__all__ = ["DIM_K", "DIM_SHOWERS", "FIT_SHOWERS", "Recipe", "mle_dimension", "setup", "stages"]

#: Showers used to fit the preprocessing statistics.
FIT_SHOWERS = 50_000
#: Showers used for the intrinsic-dimension estimate of ``latent: 0``.
DIM_SHOWERS = 2_000
#: Neighbour counts of that estimate.
DIM_K = (10, 20)


@dataclass
class Recipe:
    """Everything needed to train a CaloMan.

    Attributes:
        model: Preprocessing (fitted by :func:`setup`), autoencoder and latent flow.
        train: Stage ``autoencoder``.
        flow_train: Stage ``latent_flow``.
    """

    model: CaloManConfig = field(default_factory=CaloManConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    flow_train: TrainConfig = field(default_factory=TrainConfig)


def mle_dimension(points: Tensor, k: tuple[int, int] = DIM_K) -> float:
    """MacKay-Ghahramani intrinsic dimension of ``(N, D)`` points, averaged over ``k``
    (:func:`caloforge.intrinsic.estimate_dimension`; an :class:`InputError`, a ``ValueError``,
    for too few distinct points).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> plane = torch.randn(1000, 3, generator=g) @ torch.randn(3, 40, generator=g)
        >>> round(mle_dimension(plane))
        3
    """
    return estimate_dimension(points.double().cpu().numpy(), k).average("mackay-ghahramani")[0]


def setup(recipe: Recipe, data: SetupData) -> None:
    """Fit the preprocessing, and the latent size when it is 0 (auto).

    Raises:
        InputError: a latent size larger than the voxel count, or too few showers to estimate
            it.
    """
    geo = data.geometry
    ae = recipe.model.autoencoder
    if ae.latent > geo.n_voxels or ae.latent < 0:
        raise InputError(f"latent size {ae.latent} must be between 1 and the {geo.n_voxels} "
                         f"voxels of '{geo.name}'",
                         "lower model.autoencoder.latent (0 = the estimated intrinsic dimension)")
    batch = data.subset(FIT_SHOWERS)
    pre = fit_state(recipe.model.preprocessing, geo, batch, data.summary.angles, data.seed)
    if ae.latent == 0:
        n = min(DIM_SHOWERS, len(batch["energies"]))
        voxels, energies = batch["voxels"][:n].double(), batch["energies"][:n].double()
        try:
            estimate = mle_dimension(pre.encode(voxels, energies))
        except ValueError as exc:
            raise InputError(f"latent size 0 (auto) needs an intrinsic-dimension estimate: {exc}",
                             "set model.autoencoder.latent or train on more showers") from None
        ae.latent = max(1, min(geo.n_voxels, math.ceil(estimate)))


def _latent_model(recipe: Recipe, earlier: Mapping[str, nn.Module]) -> CaloMan:
    autoencoder = earlier["autoencoder"]
    if not isinstance(autoencoder, Autoencoder):
        raise InputError("the latent flow needs the trained autoencoder", "train it first")
    return CaloMan(recipe.model, autoencoder)


def stages(recipe: Recipe) -> list[Stage]:
    """``autoencoder``, then ``latent_flow`` (the flow on the frozen autoencoder's codes)."""
    if recipe.model.autoencoder.latent < 1:  # before the setup: shapes are not known yet
        return [Stage("autoencoder", recipe.train, build=lambda earlier: nn.Identity()),
                Stage("latent_flow", recipe.flow_train, build=lambda earlier: nn.Identity())]
    return [Stage("autoencoder", recipe.train, build=lambda earlier: Autoencoder(recipe.model)),
            Stage("latent_flow", recipe.flow_train,
                  build=lambda earlier: _latent_model(recipe, earlier),
                  model=lambda: CaloMan(recipe.model))]
