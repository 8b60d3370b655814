"""Invertible preprocessing between showers (MeV) and network space, with Jacobians.

Shared by the model families and usable by :mod:`caloforge.evaluate` (intrinsic dimension on
preprocessed showers) without importing any model.
"""

from caloforge.preprocess.caloflow import (
    PreprocessedModel,
    PreprocessingState,
    Preprocessor,
    fit_state,
)
from caloforge.preprocess.transforms import dequantize, expand_layers, expit, layer_sums, logit

__all__ = ["PreprocessedModel", "PreprocessingState", "Preprocessor", "dequantize",
           "expand_layers", "expit", "fit_state", "layer_sums", "logit"]
