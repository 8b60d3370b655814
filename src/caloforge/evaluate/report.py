"""A self-contained HTML report: metrics table beside the reference floor, embedded PNG plots."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

__all__ = ["amplification_html", "write_amplification_report", "write_report"]

CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.note{background:#fff6d6;border:1px solid #e0c060;padding:.6em 1em}img{max-width:100%;
margin:.5em 0;border:1px solid #eee}h2{margin-top:1.6em}"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def write_report(metrics: dict[str, Any], plots: list[Path], path: Path) -> Path:
    """Write ``report.html`` from the ``metrics.json`` content and the plot files.

    Returns:
        The report path.
    """
    model, floor = metrics["generated_vs_reference"], metrics.get("reference_floor")
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>caloforge evaluation</title><style>{CSS}</style></head><body>",
             "<h1>caloforge evaluation</h1>",
             _table(["", "value"], [["geometry", metrics["geometry"]],
                                    ["reference", metrics["reference"]["path"]],
                                    ["generated", metrics["generated"]["path"]],
                                    ["showers (reference / generated)",
                                     f"{metrics['reference']['n']} / {metrics['generated']['n']}"],
                                    ["classifier protocol", metrics["protocol"]],
                                    ["caloforge", metrics["versions"]["caloforge"]]])]
    if metrics.get("reference_is_simulated"):
        parts.append("<p class='note'>The reference sample was made by caloforge's reference "
                     "shower simulator, not by Geant4: figures here are on caloforge reference "
                     "data.</p>")
    if floor is None:
        parts.append("<p>No reference floor: run with <code>--reference-split</code> to compare "
                     "two halves of the reference with the same metrics.</p>")
    else:
        parts.append("<p>The reference floor compares two random halves of the reference with "
                     "the same metrics. Each half has half the showers, so its purely "
                     "statistical separation powers are about twice those of the full-size "
                     "comparison; the <em>statistical floor</em> column gives the expectation "
                     "for the full sample sizes.</p>")
    floor = floor or {}
    parts.append("<h2>Summary</h2>")
    summary_floor = floor.get("summary", {})
    parts.append(_table(["metric", "generated vs reference", "reference floor"],
                        [[k, v, summary_floor.get(k, "-")]
                         for k, v in model["summary"].items()]))
    if model["classifiers"]:
        parts.append("<h2>Classifier tests</h2>")
        f_cls = _by_name(floor.get("classifiers", []), "mode")
        rows = [[c["mode"], f"{c['auc']:.4f} ± {c['auc_err']:.4f}", c["jsd"],
                 f_cls.get(c["mode"], {}).get("auc", "-"), c["n_per_class"], c["best_epoch"]]
                for c in model["classifiers"]]
        parts.append(_table(["mode", "AUC", "JSD", "floor AUC", "showers per class",
                             "best epoch"], rows))
    if model["distances"]:
        parts.append("<h2>FPD / KPD</h2>")
        f_d = _by_name(floor.get("distances", []), "name")
        parts.append(_table(["distance", "value", "error", "floor"],
                            [[d["name"], d["value"], d["error"],
                              f_d.get(d["name"], {}).get("value", "-")]
                             for d in model["distances"]]))
    for key, title in (("histograms", "Separation power of high-level features"),
                       ("physics", "Physics observables (separation power)")):
        if model[key]:
            parts.append(f"<h2>{title}</h2>")
            f_h = _by_name(floor.get(key, []), "name")
            parts.append(_table(["feature", "separation", "bootstrap std", "statistical floor",
                                 "reference floor"],
                                [[h["name"], h["separation"], h["bootstrap_std"], h["floor"],
                                  f_h.get(h["name"], {}).get("separation", "-")]
                                 for h in model[key]]))
    if model.get("condition_points"):
        parts.append("<h2>Condition points</h2>")
        keys = list(model["condition_points"][0])
        parts.append(_table(keys, [[row.get(k, "-") for k in keys]
                                   for row in model["condition_points"]]))
    if metrics.get("amplification"):
        parts.append(amplification_html(metrics["amplification"]))
    return _finish(parts, plots, path)


def _finish(parts: list[str], plots: list[Path], path: Path) -> Path:
    """Append the plots (embedded PNG) and write the page atomically."""
    if plots:
        parts.append("<h2>Plots</h2>")
    for plot in plots:
        data = base64.b64encode(Path(plot).read_bytes()).decode("ascii")
        name = html.escape(Path(plot).name)
        parts.append(f"<figure><img alt='{name}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{name}</figcaption></figure>")
    parts.append("</body></html>")
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path


def amplification_html(data: dict[str, Any]) -> str:
    """The report section of an amplification result (:mod:`caloforge.evaluate.amplification`,
    its ``to_json()``)."""
    marks = {"lower": "> ", "upper": "< "}
    rows = [[r["projection"], r["n_quantiles"], r["n_bins"], r["metric"], r["generated"],
             marks.get(r["bound"], "") + f"{r['n_eq']:.4g}",
             f"{r['n_eq_low']:.4g} - {r['n_eq_high']:.4g}",
             f"{r['factor']:.3g} ± {r['factor_err']:.2g}"] for r in data["rows"]]
    return (f"<h2>Amplification</h2><p>Equivalent truth size N_eq of the generated sample "
            f"({data['n_generated']} showers) for a model trained on {data['train_size']}: the "
            f"size at which truth samples (drawn from {data['n_reference_curve']} reference "
            f"showers) have the same distance from quantile bins fitted on "
            f"{data['n_reference_fit']} others. Factor = N_eq / N_train; errors from the "
            f"bootstrap (16-84 %). '&gt;' marks a lower bound (beyond the largest truth size)."
            f"</p>" + _table(["projection", "n_Q", "bins", "metric", "distance", "N_eq",
                              "68 % range", "factor"], rows))


def write_amplification_report(data: dict[str, Any], title: str, plots: list[Path],
                               path: Path) -> Path:
    """A self-contained ``report.html`` holding only the amplification section."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", amplification_html(data)]
    return _finish(parts, plots, path)
