"""The one training engine (:func:`fit`), the recipe runner (:func:`train_run`) and run
directories (:class:`Run`)."""

from caloforge.train.config import TrainConfig, parse_duration
from caloforge.train.engine import TrainResult, fit, resolve_device
from caloforge.train.run import Run, load_runs
from caloforge.train.runner import StageReport, fork_run, train_run
from caloforge.train.sources import FileSource, ShowerSource, TensorSource

__all__ = ["FileSource", "Run", "ShowerSource", "StageReport", "TensorSource", "TrainConfig",
           "TrainResult", "fit", "fork_run", "load_runs", "parse_duration", "resolve_device",
           "train_run"]
