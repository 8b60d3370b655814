"""The evaluation modes (a light module: the command line lists them without importing the
metrics)."""

__all__ = ["ALL_MODES", "MODES"]

MODES = ("hist", "cls-low", "cls-low-normed", "cls-high", "cls-resnet", "fpd", "kpd", "prdc",
         "physics")
#: What ``--mode all`` means: every mode.
ALL_MODES = MODES
