"""Where the benchmark scripts write their JSON tables (``benchmarks/results/``), and the CPU
model they record (float results of training differ between CPU models)."""

from __future__ import annotations

import platform
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


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
