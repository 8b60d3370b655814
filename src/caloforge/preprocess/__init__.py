"""Invertible preprocessing between showers (MeV) and network space, with Jacobians.

Shared by the model families and usable by :mod:`caloforge.evaluate` (intrinsic dimension on
preprocessed showers) without importing any model.
"""

from caloforge.preprocess.caloflow import PreprocessingState, Preprocessor
from caloforge.preprocess.transforms import dequantize, expand_layers, expit, layer_sums, logit

__all__ = ["PreprocessingState", "Preprocessor", "dequantize", "expand_layers", "expit",
           "layer_sums", "logit"]
