"""A self-contained HTML report: a table of contents, the run (sample sizes, seeds, how the floor
was made), every metric beside the reference floor, and the figures embedded as data URIs (PNG,
or SVG with ``evaluate --svg``), so one file opens offline: no external CSS, scripts or fonts.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from caloforge.evaluate.report_tables import (
    KNOWN_GROUPS,
    generic_html,
    run_rows,
    separation_rows,
    table,
)

__all__ = ["CAPTIONS", "amplification_html", "write_amplification_report", "write_report"]

CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;
padding:1em 2em 3em;max-width:1280px;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
tr.over td{background:#fde4e1}table.kv td,table.kv th{text-align:left}
.note{background:#fff6d6;border:1px solid #e0c060;padding:.6em 1em}
figure{margin:1em 0 2em}img{width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444;margin-top:.3em}
h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
nav.toc{background:#f7f7f7;border:1px solid #ddd;padding:.4em 1.2em;display:inline-block}
nav.toc ol{margin:.3em 0;padding-left:1.4em}
nav.toc ol.figs{list-style:none;padding-left:1em;font-size:.85em;columns:3}
nav.toc a{text-decoration:none}
p.top{font-size:.8em;text-align:right;margin:.2em 0}"""

_RATIO = ("Ratio panels: generated / reference; the band is the Poisson error of both "
          "histograms propagated; bins with fewer than 5 reference entries are masked.")
#: Caption of each figure by file stem (``hist_*`` and ``profile_*`` by prefix).
CAPTIONS = {
    "etot_einc": "Left: response E_tot / E_inc of all showers (unit-sum histograms; the "
                 "CaloChallenge binning for its geometries). Right: incident energies, the "
                 "conditions of both samples. " + _RATIO,
    "mean_energy_per_layer": "Longitudinal profile: mean energy per shower in each layer (MeV), "
                             "band from the errors of the means. " + _RATIO,
    "hist_": "Per-layer high-level features (CaloChallenge definitions and binnings; at most 12 "
             "layers, evenly spread). " + _RATIO,
    "voxel_spectrum": "Energies of all voxels of all showers (voxels per shower, log bins). "
                      + _RATIO,
    "average_images": "Average shower per layer: mean energy per voxel of the reference and the "
                      "generated sample on a common log scale, and (gen - ref) / ref. "
                      "Cylindrical layers are drawn as polar wedges over their (r, alpha) bins "
                      "with one ring per radial bin (ring labels: bin edges in mm).",
    "profile_": "Per-layer profiles binned on the voxel edges of each layer (so no comb-like "
                "spikes), mean energy per shower per unit of the axis; band from the errors of "
                "the means; bins with a reference error above 50 % are masked.",
    "physics": "Physics observables: cell-energy spectrum in MIPs, longitudinal profile, and "
               "the radial profile on voxel edges where the voxels were available. " + _RATIO,
    "physics_observables": "Per-shower physics observables in the binning of their separation "
                           "powers. " + _RATIO,
    "roc": "ROC curves of the classifiers (solid: generated vs reference) and of the reference "
           "floor (dashed: two halves of the reference, same protocol), with the AUCs.",
    "amplification": "Amplification: distance of the generated sample and of truth samples of "
                     "growing size from the quantile bins.",
}
#: Figure sections: (anchor, title, stem patterns).
FIGURE_SECTIONS = (
    ("fig-response", "Figures: energy response and layer energies",
     ("etot_einc", "mean_energy_per_layer")),
    ("fig-features", "Figures: high-level features per layer", ("hist_",)),
    ("fig-voxels", "Figures: voxel energies, average showers, profiles",
     ("voxel_spectrum", "average_images", "profile_")),
    ("fig-physics", "Figures: physics observables", ("physics", "physics_observables")),
)
_MIME = {".png": "image/png", ".svg": "image/svg+xml"}


def _caption(stem: str) -> str:
    if stem in CAPTIONS:
        return CAPTIONS[stem]
    for prefix in ("hist_", "profile_"):
        if stem.startswith(prefix):
            return CAPTIONS[prefix]
    return ""


def _matches(stem: str, patterns: Sequence[str]) -> bool:
    return any(stem == p or (p.endswith("_") and stem.startswith(p)) for p in patterns)


def _anchor(stem: str) -> str:
    """The element id of the figure with file stem ``stem``."""
    return "figure-" + re.sub(r"[^A-Za-z0-9_-]", "-", stem)


def _figure(plot: Path) -> str:
    """One figure embedded as a data URI (the image's ``alt`` is its file name)."""
    path = Path(plot)
    mime = _MIME.get(path.suffix.lower(), "image/png")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    anchor = _anchor(path.stem)
    title = html.escape(path.stem)
    caption = html.escape(_caption(path.stem))
    return (f"<figure id='{anchor}'><img alt='{name}' src='data:{mime};base64,{data}'>"
            f"<figcaption><strong>{title}</strong>. {caption}</figcaption></figure>")


class _Page:
    """Sections in order, with the table of contents built from their titles."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[tuple[str, str, str, list[str]]] = []

    def add(self, anchor: str, title: str, body: str, figures: Sequence[str] = ()) -> None:
        """A section; ``figures``: stems of its figures, listed under it in the contents."""
        self.sections.append((anchor, title, body, list(figures)))

    def html(self, intro: str = "") -> str:
        toc = []
        for a, t, _, figs in self.sections:
            sub = "".join(f"<li><a href='#{_anchor(f)}'>{html.escape(f)}</a></li>" for f in figs)
            toc.append(f"<li><a href='#{a}'>{html.escape(t)}</a>"
                       + (f"<ol class='figs'>{sub}</ol>" if sub else "") + "</li>")
        body = "".join(f"<section id='{a}'><h2>{html.escape(t)}</h2>{b}<p class='top'>"
                       f"<a href='#contents'>back to contents</a></p></section>"
                       for a, t, b, _ in self.sections)
        toc = "".join(toc)
        return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>{intro}"
                f"<nav class='toc' id='contents'><strong>Contents</strong><ol>{toc}</ol></nav>"
                f"{body}</body></html>")


def _roc_with_floor(metrics: Mapping[str, Any], plots: list[Path]) -> None:
    """Redraw ``roc.*`` with the floor's ROC curves (the plots are made before the floor's
    results reach them)."""
    floor = (metrics.get("reference_floor") or {}).get("classifiers") or []
    model = (metrics.get("generated_vs_reference") or {}).get("classifiers") or []
    if not floor or not model or not any(f.get("roc_fpr") for f in floor):
        return
    for plot in plots:
        if Path(plot).stem == "roc" and Path(plot).exists():
            from caloforge.evaluate.plot_roc import roc_figure
            from caloforge.evaluate.plot_style import STYLE, plt

            with plt.rc_context(STYLE):
                roc_figure(model, Path(plot), floor)


def _metric_sections(page: _Page, metrics: Mapping[str, Any], figures: dict[str, Path]) -> None:
    model = metrics["generated_vs_reference"]
    floor = metrics.get("reference_floor") or {}
    f_sum = floor.get("summary", {})
    keys = list(model.get("summary", {})) + [k for k in f_sum if k not in model.get("summary", {})]
    page.add("summary", "Summary", table(["metric", "generated vs reference", "reference floor"],
                                         [[k, model.get("summary", {}).get(k), f_sum.get(k)]
                                          for k in keys]))
    if model.get("classifiers"):
        f_cls = {c.get("mode"): c for c in floor.get("classifiers", [])}
        rows = []
        for c in model["classifiers"]:
            f = f_cls.get(c.get("mode"), {})
            rows.append([c.get("mode"), c.get("protocol"),
                         f"{c['auc']:.4f} ± {c.get('auc_err', 0.0):.4f}", c.get("jsd"),
                         f"{f['auc']:.4f} ± {f.get('auc_err', 0.0):.4f}" if f else "-",
                         c.get("n_per_class"), f.get("n_per_class"), c.get("best_epoch"),
                         c.get("seconds")])
        body = table(["mode", "protocol", "AUC", "JSD", "floor AUC", "showers per class",
                      "floor showers per class", "best epoch", "time [s]"], rows)
        if not f_cls:
            body += ("<p>No reference floor: the ROC figure shows the diagonal (AUC 0.5) only; "
                     "run with <code>--reference-split</code> for the floor's curves.</p>")
        roc = ["roc"] if "roc" in figures else []
        if roc:
            body += _figure(figures.pop("roc"))
        page.add("classifiers", "Classifier tests", body, roc)
    if model.get("distances"):
        f_d = {d.get("name"): d for d in floor.get("distances", [])}
        page.add("distances", "FPD / KPD", table(
            ["distance", "value", "error", "reference floor"],
            [[d.get("name"), d.get("value"), d.get("error"),
              f_d.get(d.get("name"), {}).get("value")] for d in model["distances"]]))
    for key, anchor, title in (("histograms", "separation", "Separation power of high-level "
                                "features"), ("physics", "physics-metrics",
                                              "Physics observables (separation power)")):
        if model.get(key):
            rows, classes = separation_rows(model[key], floor.get(key, []))
            page.add(anchor, title, "<p>Rows in red: S above twice the statistical floor and "
                     "three of its standard deviations.</p>" + table(
                         ["feature", "separation S", "bootstrap std", "statistical floor",
                          "reference floor"], rows, classes))
    if model.get("condition_points"):
        cols = list(dict.fromkeys(k for row in model["condition_points"] for k in row))
        page.add("condition-points", "Condition points", table(
            cols, [[row.get(k) for k in cols] for row in model["condition_points"]]))
    for key, value in model.items():  # any other metric group (a new mode)
        if key not in KNOWN_GROUPS and value not in (None, [], {}):
            anchor = "metric-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)
            page.add(anchor, f"Metric: {key}", generic_html(value, floor.get(key)))


def write_report(metrics: dict[str, Any], plots: list[Path], path: Path) -> Path:
    """Write ``report.html`` from the ``metrics.json`` content and the plot files.

    Returns:
        The report path.
    """
    plots = [Path(p) for p in plots]
    _roc_with_floor(metrics, plots)
    figures = {p.stem: p for p in plots}
    page = _Page("caloforge evaluation")
    notes = ""
    if metrics.get("reference_is_simulated"):
        notes += ("<p class='note'>The reference sample was made by caloforge's reference "
                  "shower simulator, not by Geant4: figures here are on caloforge reference "
                  "data.</p>")
    floor_text = ("<p>No reference floor: run with <code>--reference-split</code> to compare two "
                  "halves of the reference with the same metrics.</p>"
                  if metrics.get("reference_floor") is None else
                  "<p>The reference floor compares two random halves of the reference with the "
                  "same metrics. Each half has half the showers, so its purely statistical "
                  "separation powers are about twice those of the full-size comparison; the "
                  "<em>statistical floor</em> column gives the expectation for the full sample "
                  "sizes.</p>")
    page.add("run", "Run: samples, seeds, floor", table(["", "value"], run_rows(metrics), kind="kv")
             + floor_text)
    _metric_sections(page, metrics, figures)
    if metrics.get("amplification"):
        body = amplification_html(metrics["amplification"], heading=False)
        amp = ["amplification"] if "amplification" in figures else []
        if amp:
            body += _figure(figures.pop("amplification"))
        page.add("amplification", "Amplification", body, amp)
    for anchor, title, patterns in FIGURE_SECTIONS:
        stems = sorted((s for s in figures if _matches(s, patterns)),
                       key=lambda s: next(k for k, p in enumerate(patterns)
                                          if _matches(s, (p,))))
        body = "".join(_figure(figures.pop(s)) for s in stems)
        if anchor == "fig-voxels" and "average_images" not in stems and plots:
            body += ("<p class='note'>No average shower images or profiles on voxel edges: the "
                     "voxels were not kept (the evaluation keeps them for the cls-low, "
                     "cls-low-normed and cls-resnet modes; <code>plot_all(..., "
                     "sources=(reference, generated))</code> streams them from the files)."
                     "</p>")
        if body:
            page.add(anchor, title, body, stems)
    if figures:
        page.add("fig-other", "Other figures", "".join(_figure(p) for p in figures.values()),
                 list(figures))
    return _write(page.html(notes), path)


def _write(text: str, path: Path) -> Path:
    """Write the page atomically."""
    path = Path(path)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def amplification_html(data: dict[str, Any], heading: bool = True) -> str:
    """The report section of an amplification result (:mod:`caloforge.evaluate.amplification`,
    its ``to_json()``)."""
    marks = {"lower": "> ", "upper": "< "}
    rows = [[r["projection"], r["n_quantiles"], r["n_bins"], r["metric"], r["generated"],
             marks.get(r["bound"], "") + f"{r['n_eq']:.4g}",
             f"{r['n_eq_low']:.4g} - {r['n_eq_high']:.4g}",
             f"{r['factor']:.3g} ± {r['factor_err']:.2g}"] for r in data["rows"]]
    return (("<h2>Amplification</h2>" if heading else "")
            + f"<p>Equivalent truth size N_eq of the generated sample "
            f"({data['n_generated']} showers) for a model trained on {data['train_size']}: the "
            f"size at which truth samples (drawn from {data['n_reference_curve']} reference "
            f"showers) have the same distance from quantile bins fitted on "
            f"{data['n_reference_fit']} others. Factor = N_eq / N_train; errors from the "
            f"bootstrap (16-84 %). '&gt;' marks a lower bound (beyond the largest truth size)."
            f"</p>" + table(["projection", "n_Q", "bins", "metric", "distance", "N_eq",
                             "68 % range", "factor"], rows))


def write_amplification_report(data: dict[str, Any], title: str, plots: list[Path],
                               path: Path) -> Path:
    """A self-contained ``report.html`` holding only the amplification section."""
    page = _Page(title)
    body = amplification_html(data, heading=False)
    page.add("amplification", "Amplification", body)
    if plots:
        page.add("figures", "Figures", "".join(_figure(Path(p)) for p in plots))
    return _write(page.html(), path)
