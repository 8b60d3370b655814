"""caloforge: fast deep generative surrogates for calorimeter simulation.

Example:
    >>> import caloforge
    >>> caloforge.get_geometry("ds1-photons").n_voxels
    368
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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
    "Showers",
    "__version__",
    "get_geometry",
    "list_geometries",
]
