"""The training engine every model uses, and run directories (``Run.load(path)``)."""

from caloforge.train.config import TrainConfig, parse_duration
from caloforge.train.engine import Trainable, TrainResult, fit, resolve_device

__all__ = ["TrainConfig", "TrainResult", "Trainable", "fit", "parse_duration", "resolve_device"]
