"""caloforge: fast deep generative surrogates for calorimeter simulation.

The public API: :func:`get_geometry`, :class:`Showers`, :func:`train_run` (a family's recipe
into a run directory), :class:`Run` (``Run.load(path)``, ``run.sample(...)``,
``run.log_prob(...)``) and :func:`generate` (a run into a file). ``Run``, ``train_run`` and
``generate`` import torch when first used.

Example:
    >>> import caloforge
    >>> caloforge.get_geometry("ds1-photons").n_voxels
    368
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from caloforge.data.showers import Showers
from caloforge.errors import CaloforgeError, InputError
from caloforge.geometry import get_geometry, list_geometries

try:
    __version__ = version("caloforge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CaloforgeError",
    "InputError",
    "Run",
    "Showers",
    "__version__",
    "generate",
    "get_geometry",
    "list_geometries",
    "train_run",
]

_LAZY = {"Run": ("caloforge.train.run", "Run"),
         "generate": ("caloforge.generation", "generate"),
         "train_run": ("caloforge.train.runner", "train_run")}


def __getattr__(name: str) -> Any:
    """``Run``, ``generate`` and ``train_run``, imported on first use (they need torch)."""
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'caloforge' has no attribute {name!r}")
