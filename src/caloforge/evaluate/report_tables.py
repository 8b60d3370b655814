"""The tables of the evaluation report: run information and every metric beside its floor.

Known metric groups (summary, classifiers, distances, histograms, physics, condition points) get
their own columns; any other group in ``metrics.json`` (a new mode) is rendered generically: a
list of records as a table matched to the floor's records by ``name``, ``mode`` or ``metric``, a
mapping as key/value rows, nested mappings as sub-tables.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from caloforge.evaluate.histograms import over_floor

__all__ = ["KNOWN_GROUPS", "fmt", "generic_html", "run_rows", "separation_rows", "table"]

#: Metric groups of ``generated_vs_reference`` with a dedicated section.
KNOWN_GROUPS = ("summary", "classifiers", "distances", "histograms", "physics",
                "condition_points")
_KEY_FIELDS = ("name", "mode", "metric", "feature")
_NO_FLOOR = ("n_", "seconds", "epoch", "best_", "protocol")


def fmt(value: Any) -> str:
    """A cell: floats to 4 significant digits, everything else escaped.

    Example:
        >>> fmt(0.123456), fmt("<b>"), fmt(None)
        ('0.1235', '&lt;b&gt;', '-')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          classes: Sequence[str] | None = None, raw: bool = False, kind: str = "") -> str:
    """An HTML table; ``classes`` gives a CSS class per row; ``raw`` cells are not escaped;
    ``kind`` is the table's CSS class (``kv``: key/value rows, left-aligned)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for k, row in enumerate(rows):
        cls = f" class='{classes[k]}'" if classes and classes[k] else ""
        cells = "".join(f"<td>{v if raw and isinstance(v, str) else fmt(v)}</td>" for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    attr = f" class='{kind}'" if kind else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _floor_size(floor: Mapping[str, Any] | None) -> str | None:
    """``"n_a / n_b"`` showers of the two reference halves, from the floor's records."""
    if not floor:
        return None
    for item in floor.get("histograms") or floor.get("physics") or []:
        if "n_reference" in item and "n_generated" in item:
            return f"{item['n_reference']} / {item['n_generated']}"
    for item in floor.get("classifiers") or []:
        if "n_per_class" in item:
            return f"{item['n_per_class']} per class (classifier)"
    return None


def run_rows(metrics: Mapping[str, Any]) -> list[list[Any]]:
    """Rows of the run table: files, sample sizes, seeds, how the floor was made, versions;
    top-level entries it does not know are listed as they are."""
    ref, gen = metrics.get("reference") or {}, metrics.get("generated") or {}
    seed = metrics.get("seed")
    floor = metrics.get("reference_floor")
    rows: list[list[Any]] = [
        ["geometry", metrics.get("geometry", "-")],
        ["reference file", ref.get("path", "-")],
        ["generated file", gen.get("path", "-")],
        ["showers: reference / generated", f"{ref.get('n', '?')} / {gen.get('n', '?')}"],
        ["modes", ", ".join(metrics.get("modes", [])) or "-"],
        ["classifier protocol", metrics.get("protocol", "-")],
        ["seed (splits, classifiers, bootstraps, FPD/KPD batches)",
         "-" if seed is None else seed],
        ["readout threshold [MeV]", metrics.get("threshold_mev", "-")],
    ]
    if floor is None:
        how = "not computed (run evaluate with --reference-split)"
    else:
        size = _floor_size(floor)
        how = ("two random halves of the reference"
               + (f" ({size} showers)" if size else "")
               + (f", dealt with seed {seed}" if seed is not None else "")
               + ", compared with the same metrics"
               + (f" with seed {seed + 1}" if isinstance(seed, int) else ""))
    rows.append(["reference floor (reference vs reference)", how])
    rows.append(["statistical floor (separation power)",
                 "mean S between Poisson-bootstrap resamples of the reference, one thinned to "
                 "the generated sample size"])
    for tag, meta in (("reference", ref.get("metadata")), ("generated", gen.get("metadata"))):
        if isinstance(meta, Mapping):
            for key in ("producer", "seed", "model", "run"):
                if key in meta:
                    rows.append([f"{tag} file: {key}", meta[key]])
    versions = metrics.get("versions") or {}
    if versions:
        rows.append(["versions", ", ".join(f"{k} {v}" for k, v in versions.items())])
    if "seconds" in metrics:
        rows.append(["evaluation time [s]", metrics["seconds"]])
    known = {"geometry", "reference", "generated", "modes", "protocol", "seed", "threshold_mev",
             "reference_floor", "versions", "seconds", "generated_vs_reference",
             "reference_is_simulated", "amplification"}
    for key, value in metrics.items():
        if key not in known and not isinstance(value, Mapping | list):
            rows.append([key, value])
    return rows


def separation_rows(items: Sequence[Mapping[str, Any]], floor: Sequence[Mapping[str, Any]]
                    ) -> tuple[list[list[Any]], list[str]]:
    """Rows of a separation-power table and a CSS class per row (``over`` where S exceeds
    twice the statistical floor and three of its standard deviations)."""
    by_name = {f.get("name"): f for f in floor}
    rows, classes = [], []
    for h in items:
        s, fl, fs = h.get("separation"), h.get("floor"), h.get("floor_std", 0.0)
        over = (isinstance(s, float) and isinstance(fl, float)
                and over_floor(s, fl, fs or 0.0))
        rows.append([h.get("name"), s, h.get("bootstrap_std"), fl,
                     by_name.get(h.get("name"), {}).get("separation")])
        classes.append("over" if over else "")
    return rows, classes


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _records(items: Sequence[Mapping[str, Any]], floor: Any) -> str:
    cols: list[str] = []
    for item in items:
        cols += [k for k, v in item.items() if _scalar(v) and k not in cols]
    key = next((k for k in _KEY_FIELDS if k in cols), None)
    f_by = ({f.get(key): f for f in floor if isinstance(f, Mapping)}
            if key and isinstance(floor, list) else {})
    numeric = [c for c in cols if c != key and not c.startswith(_NO_FLOOR)
               and any(isinstance(i.get(c), float) for i in items)] if f_by else []
    headers = cols + [f"floor {c}" for c in numeric]
    rows = [[i.get(c) for c in cols] + [f_by.get(i.get(key), {}).get(c) for c in numeric]
            for i in items]
    return table(headers, rows)


def generic_html(value: Any, floor: Any = None, depth: int = 0) -> str:
    """A metric group of unknown shape as HTML tables (with the floor's values where the
    shapes match)."""
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            return _records(value, floor)
        scalars = [v for v in value if _scalar(v)]
        return f"<p>{', '.join(fmt(v) for v in scalars[:50])}</p>" if scalars else ""
    if isinstance(value, Mapping):
        f_map = floor if isinstance(floor, Mapping) else {}
        flat = [[k, v, f_map.get(k)] for k, v in value.items() if _scalar(v)]
        parts = [table(["quantity", "generated vs reference", "reference floor"], flat)
                 if flat else ""]
        for k, v in value.items():
            if not _scalar(v) and depth < 3:
                inner = generic_html(v, f_map.get(k), depth + 1)
                if inner:
                    parts.append(f"<h4>{html.escape(str(k))}</h4>{inner}")
        return "".join(parts)
    return table(["value", "reference floor"], [[value, floor]])
