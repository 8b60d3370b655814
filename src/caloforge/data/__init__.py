"""Shower files in the CaloChallenge HDF5 format and the :class:`Showers` container.

The torch datasets live in :mod:`caloforge.data.dataset` (imported on demand, so that reading
files needs no torch).
"""

from caloforge.data.io import ShowerFile, ShowerWriter, check_writable, read_showers, write_showers
from caloforge.data.showers import Showers
from caloforge.data.summary import FileSummary, summarize_file
from caloforge.data.validate import check_values, open_validated, resolve_geometry

__all__ = [
    "FileSummary",
    "ShowerFile",
    "ShowerWriter",
    "Showers",
    "check_values",
    "check_writable",
    "open_validated",
    "read_showers",
    "resolve_geometry",
    "summarize_file",
    "write_showers",
]
