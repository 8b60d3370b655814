"""The evaluation report and its figures: contents, self-containment, ratio panels, voxel edges."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from caloforge.cli.main import build_parser
from caloforge.evaluate.plot_roc import roc_figure
from caloforge.evaluate.plot_style import MIN_REF_ENTRIES, hist_with_ratio, plt
from caloforge.evaluate.plot_voxels import spectrum_edges, voxel_stats
from caloforge.evaluate.report import write_report
from caloforge.evaluate.report_options import plot_format
from caloforge.geometry import get_geometry


class _Page(HTMLParser):
    """Ids, links, image sources and tag balance of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.sources: list[str] = []
        self.alts: list[str] = []
        self.stack: list[str] = []
        self.balanced = True
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "img":
            self.sources.append(str(a.get("src")))
            self.alts.append(str(a.get("alt")))
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(str(a.get("href") or a.get("src")))
        if tag not in ("meta", "br", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.balanced = False


def _classifier(mode: str, auc: float, n: int) -> dict[str, Any]:
    x = np.linspace(0, 1, 11)
    return {"mode": mode, "protocol": "fast", "auc": auc, "auc_err": 0.01, "jsd": 0.01,
            "accuracy": 0.5, "best_epoch": 3, "epochs_run": 10, "n_per_class": n,
            "seconds": 1.0, "roc_fpr": x.tolist(), "roc_tpr": np.sqrt(x).tolist()}


def _hist(name: str, s: float, n: int) -> dict[str, Any]:
    return {"name": name, "separation": s, "bootstrap_std": 0.001, "floor": 0.002,
            "floor_std": 0.0005, "n_reference": n, "n_generated": n}


def _metrics() -> dict[str, Any]:
    model = {"histograms": [_hist("E_layer_0", 0.003, 1000), _hist("E_layer_1", 0.2, 1000)],
             "classifiers": [_classifier("cls-low", 0.7, 1000)], "distances": [],
             "physics": [], "condition_points": [],
             "prdc": {"precision": 0.9, "recall": 0.8, "k": 5},
             "summary": {"mean_separation_power": 0.1, "cls-low_auc": 0.7}}
    floor = {**model, "histograms": [_hist("E_layer_0", 0.004, 500)],
             "classifiers": [_classifier("cls-low", 0.51, 500)],
             "prdc": {"precision": 0.95, "recall": 0.94, "k": 5},
             "summary": {"mean_separation_power": 0.004, "cls-low_auc": 0.51}}
    return {"geometry": "ds1-photons", "modes": ["hist", "cls-low", "prdc"],
            "protocol": "fast", "seed": 7, "threshold_mev": 1.0,
            "reference": {"path": "ref.h5", "n": 1000, "metadata": {"producer": "x", "seed": 1}},
            "generated": {"path": "gen.h5", "n": 1000, "metadata": {}},
            "reference_is_simulated": False, "generated_vs_reference": model,
            "reference_floor": floor, "versions": {"caloforge": "0"}, "seconds": 1.0,
            "new_top_level_key": 3}


def test_report_contents_links_and_self_containment(tmp_path: Path) -> None:
    m = _metrics()
    with plt.rc_context({}):
        roc = roc_figure(m["generated_vs_reference"]["classifiers"], tmp_path / "roc.svg")
    assert roc is not None
    path = write_report(m, [roc], tmp_path / "report.html")
    text = path.read_text()
    page = _Page()
    page.feed(text)
    assert page.balanced and not page.stack
    anchors = [link[1:] for link in page.links if link.startswith("#")]
    assert {"run", "summary", "classifiers", "separation", "metric-prdc"} <= set(anchors)
    assert set(anchors) <= page.ids  # every contents entry resolves
    assert page.alts == ["roc.svg"]
    assert all(s.startswith("data:image/svg+xml;base64,") for s in page.sources)
    assert not page.external and "http://" not in text and "https://" not in text
    assert "seed 7" in text and "seed 8" in text  # how the floor was made
    assert "500 / 500" in text  # the halves' sizes
    assert "new_top_level_key" in text
    assert "class='over'" in text  # E_layer_1 is far above its statistical floor
    assert re.search(r"<td>precision</td><td>0\.9</td><td>0\.95</td>", text)


def test_report_without_floor_or_figures(tmp_path: Path) -> None:
    m = _metrics()
    m["reference_floor"] = None
    del m["seed"]
    text = write_report(m, [], tmp_path / "report.html").read_text()
    assert "--reference-split" in text and "not computed" in text
    assert "<img" not in text


def test_ratio_panel_masks_sparse_reference_bins() -> None:
    rng = np.random.default_rng(1)
    ref, gen = rng.normal(size=2000), rng.normal(size=2000)
    bins = np.linspace(-5, 5, 41)
    fig = plt.figure()
    _, rax = hist_with_ratio(fig, fig.add_gridspec(1, 1)[0], ref, gen, bins, "x [mm]")
    counts = np.histogram(ref, bins)[0]
    line = next(p for p in rax.patches if not p.get_fill())
    ratio = line.get_data().values
    assert np.isnan(ratio[counts < MIN_REF_ENTRIES]).all()
    assert np.isfinite(ratio[counts >= MIN_REF_ENTRIES]).all()
    assert rax.get_xlabel() == "x [mm]"
    plt.close(fig)


@pytest.mark.parametrize("name", ["ds1-pions", "calogan"])
def test_profiles_sit_on_voxel_edges(name: str) -> None:
    geo = get_geometry(name)
    rng = np.random.default_rng(2)
    voxels = rng.exponential(5.0, (50, geo.n_voxels)) * (rng.random((50, geo.n_voxels)) < 0.3)
    stats = voxel_stats(geo, 1.0, spectrum_edges(1.0, 1e3), voxels)
    assert stats is not None and stats.n == 50
    thresholded = np.where(voxels >= 1.0, voxels, 0.0)
    kinds = ("r", "alpha") if name.startswith("ds1") else ("x", "y")
    for kind in kinds:
        for prof in stats.profiles[kind]:
            layer = geo.layers[prof.layer]
            edges = {"r": getattr(layer, "r_edges", None),
                     "alpha": getattr(layer, "alpha_edges", None),
                     "x": getattr(layer, "x_edges", None),
                     "y": getattr(layer, "y_edges", None)}[kind]
            np.testing.assert_allclose(prof.edges, edges)
            np.testing.assert_allclose(prof.total.sum(),
                                       thresholded[:, geo.layer_slice(prof.layer)].sum())
    assert stats.spectrum.sum() == (thresholded > 0).sum()


def test_svg_flag_is_an_explicit_format() -> None:
    """``--svg`` reaches the runner as an argument; nothing global is left behind."""
    parser = build_parser()
    common = ["evaluate", "--reference", "a.h5", "--generated", "b.h5", "-o", "out"]
    assert parser.parse_args([*common, "--svg"]).svg is True
    assert build_parser().parse_args(common).svg is False
    assert plot_format(None) == "png"
    assert plot_format("svg") == "svg"
    with pytest.raises(ValueError, match="unknown plot format"):
        plot_format("gif")
