"""CaloMan (arXiv:2211.15380): a conditional autoencoder onto a low-dimensional manifold of
showers, then a conditional spline flow on its latent codes (two-step, manifold-aware density
estimation, which avoids the manifold overfitting of full-dimensional flows).

Stages: ``autoencoder`` -> ``latent_flow``. Presets: ``caloforge/models/caloman/presets``.
Guide: ``docs/caloman.md``.
"""

from importlib.resources import files

from caloforge.models.caloman.model import (
    Autoencoder,
    AutoencoderConfig,
    CaloMan,
    CaloManConfig,
    gaussian_kl,
    mlp,
)
from caloforge.models.caloman.recipe import Recipe, mle_dimension, setup, stages
from caloforge.models.family import Family

__all__ = ["FAMILY", "Autoencoder", "AutoencoderConfig", "CaloMan", "CaloManConfig", "Recipe",
           "gaussian_kl", "mle_dimension", "mlp"]

FAMILY = Family(
    name="caloman",
    summary="CaloMan: conditional VAE/AE onto the showers' manifold (latent size = estimated "
            "intrinsic dimension) + RQ-spline flow on the latent codes",
    recipe_class=Recipe, stages=stages, setup=setup,
    presets=files("caloforge.models.caloman") / "presets")
