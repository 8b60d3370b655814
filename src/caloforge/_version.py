"""The installed version of caloforge (``0.0.0`` when run from a bare source tree)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("caloforge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
