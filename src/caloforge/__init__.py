"""caloforge: fast deep generative surrogates for calorimeter simulation.

The public API: :func:`get_geometry`, :class:`Showers`, :func:`train_run` (a family's recipe
into a run directory), :class:`Run` (``Run.load(path)``, ``run.sample(...)``,
``run.log_prob(...)``) and :func:`generate` (a run into a file). Names are imported on first use
(``import caloforge`` stays fast; ``Run``, ``train_run`` and ``generate`` bring torch).

Example:
    >>> import caloforge
    >>> caloforge.get_geometry("ds1-photons").n_voxels
    368
"""

from caloforge._lazy import lazy_exports
from caloforge.errors import CaloforgeError, InputError

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

__getattr__ = lazy_exports(__name__, {
    "__version__": "._version", "Showers": ".data.showers", "get_geometry": ".geometry",
    "list_geometries": ".geometry",
    "Run": ".train.run", "generate": ".generation", "train_run": ".train.runner"})
