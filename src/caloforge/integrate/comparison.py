"""Run several integrators on one process with the same call budget; one table."""

from __future__ import annotations

import math
from collections.abc import Sequence

from caloforge.errors import InputError
from caloforge.integrate.drell_yan import DrellYan
from caloforge.integrate.methods import (
    IntegrationResult,
    NISConfig,
    flat,
    nis,
    vegas_mapped,
    vegas_plain,
)
from caloforge.integrate.names import METHODS, PROCESS_NAMES
from caloforge.integrate.processes import Camel, MultiChannelProcess, Process, Ring
from caloforge.integrate.three_body import ThreeBody

__all__ = ["METHODS", "PROCESSES", "compare", "get_process", "table"]


def _processes() -> dict[str, type | object]:
    out: dict[str, object] = {f"camel-{d}d": (lambda d=d: Camel(d)) for d in range(2, 9)}
    out.update({"ring": Ring, "dy": lambda: DrellYan(z_prime=False), "dy-zprime": DrellYan,
                "3body-2bw": ThreeBody})
    return out  # its keys are PROCESS_NAMES (tests/test_integrate.py keeps them together)


PROCESSES = PROCESS_NAMES


def get_process(name: str) -> Process:
    """A process by name.

    Example:
        >>> get_process("camel-4d").dims
        4
    """
    factory = _processes().get(name)
    if factory is None:
        raise InputError(f"unknown process '{name}'", f"use one of {', '.join(PROCESSES)}")
    return factory()  # type: ignore[operator]


def compare(process: Process, train_calls: int, eval_calls: int, channels: int = 1,
            methods: Sequence[str] = METHODS, seed: int = 0,
            nis_config: NISConfig | None = None) -> list[IntegrationResult]:
    """Every method with ``train_calls + eval_calls`` integrand calls (flat MC gets all of
    them as its sample)."""
    results = []
    for method in methods:
        if method == "flat":
            results.append(flat(process, train_calls + eval_calls, seed))
        elif method == "vegas":
            results.append(vegas_plain(process, train_calls, eval_calls, seed=seed))
        elif method == "vegas-mapped":
            if isinstance(process, MultiChannelProcess):
                results.append(vegas_mapped(process, train_calls, eval_calls, seed=seed))
        elif method == "nis":
            results.append(nis(process, train_calls, eval_calls, channels, nis_config, seed)[0])
        else:
            raise InputError(f"unknown method '{method}'", f"use {', '.join(METHODS)}")
    return results


def table(results: Sequence[IntegrationResult], exact: float | None = None) -> str:
    """A text table of results (with the pull against ``exact`` when known)."""
    head = (f"{'method':<13} {'integral':>14} {'error':>11} {'rel. std':>9} {'unw. eff':>9} "
            f"{'max w/<w>':>10} {'calls':>9}{'  pull':>7}")
    lines = [head]
    for r in results:
        pull = f"{(r.integral - exact) / r.error:7.2f}" if exact is not None and r.error else ""
        w_max = r.extra.get("weights", {}).get("quantiles", {}).get("max", math.nan)
        lines.append(f"{r.method:<13} {r.integral:>14.6g} {r.error:>11.3g} {r.rel_std:>9.3f} "
                     f"{r.unweighting_efficiency:>9.4f} {w_max:>10.3g} {r.calls:>9}{pull}")
    return "\n".join(lines)
