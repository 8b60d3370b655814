"""Where the benchmark scripts write their JSON tables (``benchmarks/results/``)."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def results_path(name: str, tag: str = "") -> Path:
    """``results/NAME[-TAG].json`` (the folder made if missing), the tag reduced to lowercase
    letters, digits and dashes.

    Example:
        >>> results_path("fidelity", "H100 run!").name
        'fidelity-h100run.json'
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = f"-{re.sub(r'[^a-z0-9-]', '', tag.lower())}" if tag else ""
    return RESULTS / f"{name}{suffix}.json"
