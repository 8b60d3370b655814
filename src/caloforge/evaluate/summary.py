"""The terminal summary of an evaluation: one table of the headline metrics with their errors,
sample sizes, floors and a verdict, read from the ``metrics.json`` dict.

Columns: ``metric``, ``value``, ``error``, ``n`` (showers compared, reference/generated; per
class for the classifiers), ``floor``, ``floor n`` (the sizes the floor was measured at) and
``verdict``. Floors: for separation powers the bootstrap floor of
:func:`~caloforge.evaluate.histograms.compare_feature` (two resamples of the reference at the
sizes compared, so at the same n); for the other rows the same metric between two random halves
of the reference (``--reference-split``), at half the reference's size. Unbiased estimates that
come out negative (KPD's MMD) read "consistent with 0" instead of a bare negative number.

(The command line's ``caloforge.cli._format.table`` is not used: ``evaluate`` may not import
``cli``; :func:`format_table` lays out the same left-aligned columns.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from caloforge.evaluate.histograms import over_floor

__all__ = ["COLUMNS", "CONSISTENT_WITH_ZERO", "format_table", "summary_lines", "summary_rows"]

COLUMNS = ("metric", "value", "error", "n", "floor", "floor n", "verdict")
#: What a value compatible with zero (within two errors, or negative) reads as.
CONSISTENT_WITH_ZERO = "consistent with 0"
#: Estimates that are unbiased for a true value of 0 and so come out negative by chance.
UNBIASED_AT_ZERO = ("kpd",)


def _num(x: Any, fmt: str = ".4g") -> str:
    return "-" if x is None else format(float(x), fmt)


def _n(a: int, b: int) -> str:
    return f"{a}/{b}"


def _at_floor(value: float, err: float, floor: float | None, floor_err: float) -> str:
    if floor is None:
        return "no floor (--reference-split)"
    diff = value - floor
    if abs(diff) <= 2.0 * float(np.hypot(err, floor_err)):
        return "at floor"
    return "above floor" if diff > 0 else "below floor"


def _hist_rows(model: dict[str, Any]) -> list[dict[str, str]]:
    hists = model.get("histograms") or []
    if not hists:
        return []
    k = len(hists)
    ok = [not over_floor(h["separation"], h["floor"], h["floor_std"]) for h in hists]
    value = float(np.mean([h["separation"] for h in hists]))
    err = float(np.sqrt(np.sum([h["bootstrap_std"] ** 2 for h in hists]))) / k
    floor = float(np.mean([h["floor"] for h in hists]))
    n = _n(hists[0]["n_reference"], hists[0]["n_generated"])
    rows = [{"metric": f"mean separation power ({k} histograms)", "value": _num(value),
             "error": _num(err, ".2g"), "n": n, "floor": _num(floor), "floor n": n,
             "verdict": f"{sum(ok)}/{k} at floor"}]
    for h, good in zip(hists, ok, strict=True):
        if h["name"] == "E_voxel":  # the official voxel-energy histogram gets its own row
            rows.append({"metric": "separation power E_voxel", "value": _num(h["separation"]),
                         "error": _num(h["bootstrap_std"], ".2g"),
                         "n": _n(h["n_reference"], h["n_generated"]),
                         "floor": _num(h["floor"]), "floor n": n,
                         "verdict": "at floor" if good else "above floor"})
    return rows


def _classifier_rows(model: dict[str, Any], floor: dict[str, Any]) -> list[dict[str, str]]:
    floors = {c["mode"]: c for c in floor.get("classifiers", [])}
    rows = []
    for c in model.get("classifiers", []):
        f = floors.get(c["mode"])
        if abs(c["auc"] - 0.5) <= 2.0 * c["auc_err"]:
            verdict = "indistinguishable (AUC 0.5)"
        else:
            verdict = _at_floor(c["auc"], c["auc_err"], None if f is None else f["auc"],
                                0.0 if f is None else f["auc_err"])
            verdict = "separable" if verdict == "above floor" else verdict
        rows.append({"metric": f"{c['mode']} AUC", "value": _num(c["auc"]),
                     "error": _num(c["auc_err"], ".2g"), "n": f"{c['n_per_class']}/class",
                     "floor": "-" if f is None else _num(f["auc"]),
                     "floor n": "-" if f is None else f"{f['n_per_class']}/class",
                     "verdict": verdict})
    return rows


def _distance_rows(model: dict[str, Any], floor: dict[str, Any]) -> list[dict[str, str]]:
    floors = {d["name"]: d for d in floor.get("distances", [])}
    rows = []
    for d in model.get("distances", []):
        f = floors.get(d["name"])
        value, err = d["value"], d["error"]
        zero_ok = d["name"] in UNBIASED_AT_ZERO or d["name"] == "fpd"
        if zero_ok and value - 2.0 * err <= 0:
            verdict = CONSISTENT_WITH_ZERO
        else:
            verdict = _at_floor(value, err, None if f is None else f["value"],
                                0.0 if f is None else f["error"])
        shown = (CONSISTENT_WITH_ZERO if d["name"] in UNBIASED_AT_ZERO and value < 0
                 else _num(value))
        floor_shown = "-"
        if f is not None:
            floor_shown = (CONSISTENT_WITH_ZERO if d["name"] in UNBIASED_AT_ZERO
                           and f["value"] < 0 else _num(f["value"]))
        rows.append({"metric": d["name"], "value": shown, "error": _num(err, ".2g"),
                     "n": _n(d["n_reference"], d["n_generated"]), "floor": floor_shown,
                     "floor n": "-" if f is None else _n(f["n_reference"], f["n_generated"]),
                     "verdict": verdict})
    return rows


def summary_rows(metrics: dict[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    """The table rows (one dict per metric, keys :data:`COLUMNS`) and the notes under it."""
    model = metrics["generated_vs_reference"]
    floor = metrics.get("reference_floor") or {}
    rows = (_hist_rows(model) + _classifier_rows(model, floor) + _distance_rows(model, floor))
    notes = []
    if model.get("histograms"):
        notes.append("floor of separation powers: two bootstrap resamples of the reference at "
                     "the sizes compared (n ref/gen); at floor: S <= max(2 floor, floor + 3 sd)")
    if rows and (model.get("classifiers") or model.get("distances")):
        if metrics.get("reference_floor"):
            half = metrics["reference"]["n"] // 2
            notes.append(f"floor of the other rows: the same metric between two random halves "
                         f"of the reference (~{half} showers each, 'floor n'); half the "
                         f"statistics, so its noise is about 1.4x that at the full n")
        else:
            notes.append("no floor for AUC/distances: rerun with --reference-split")
    if any(d["name"].startswith("prdc_") for d in model.get("distances", [])):
        notes.append("prdc: precision, recall and coverage depend on the sample sizes (coverage "
                     "of matching samples of equal size: 1 - 2^-5 = 0.97); density: 1")
    notes.append("n: showers compared (reference/generated); AUC rows: showers per class; "
                 "verdicts use 2 errors")
    return rows, notes


def format_table(rows: Sequence[dict[str, str]], columns: Sequence[str] = COLUMNS) -> list[str]:
    """Left-aligned text columns (missing cells print as ``-``).

    Example:
        >>> format_table([{"a": "1", "b": "x"}, {"a": "22"}], ["a", "b"])
        ['a   b', '1   x', '22  -']
    """
    cells = [[str(row.get(c, "-")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return lines


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """The summary table and its notes as lines of text."""
    rows, notes = summary_rows(metrics)
    return [*format_table(rows), *(f"  {note}" for note in notes)] if rows else notes
