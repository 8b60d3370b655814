"""Shower files in the CaloChallenge HDF5 format and the :class:`Showers` container.

Reading and writing need no torch; training streams files through
:class:`caloforge.train.sources.FileSource`, which reads them with :class:`ShowerFile`.
"""

from caloforge.data.io import (
    ShowerFile,
    ShowerWriter,
    check_writable,
    read_showers,
    write_chunks,
    write_showers,
)
from caloforge.data.scan import DataSummary, deposit_response, scan_training_file
from caloforge.data.showers import Showers
from caloforge.data.summary import FileSummary, summarize_file
from caloforge.data.validate import check_values, open_validated, resolve_geometry

__all__ = [
    "DataSummary",
    "FileSummary",
    "ShowerFile",
    "ShowerWriter",
    "Showers",
    "check_values",
    "check_writable",
    "deposit_response",
    "open_validated",
    "read_showers",
    "resolve_geometry",
    "scan_training_file",
    "summarize_file",
    "write_chunks",
    "write_showers",
]
