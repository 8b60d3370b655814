"""Shower files in the CaloChallenge HDF5 format and the :class:`Showers` container.

Reading and writing need no torch; training streams files through
:class:`caloforge.train.sources.FileSource`, which reads them with :class:`ShowerFile`.
"""

from caloforge._lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, {
    "ShowerFile": ".io",
    "ShowerWriter": ".io",
    "check_writable": ".io",
    "read_showers": ".io",
    "write_chunks": ".io",
    "write_showers": ".io",
    "DataSummary": ".scan",
    "deposit_response": ".scan",
    "scan_training_file": ".scan",
    "Showers": ".showers",
    "FileSummary": ".summary",
    "summarize_file": ".summary",
    "check_values": ".validate",
    "open_validated": ".validate",
    "resolve_geometry": ".validate",
})
