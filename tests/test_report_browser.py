"""The evaluation report in a real browser: headless Chromium loads every image, logs no console
error, fetches nothing from outside the file, and renders at 1280 px (screenshot saved).

Skipped where no Chromium is installed (``.ci/run`` installs it on Debian-based CI images).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import textbook_showers

from caloforge.data import write_showers
from caloforge.evaluate import evaluate_files
from caloforge.evaluate.plot_roc import roc_figure
from caloforge.evaluate.report import write_report
from caloforge.evaluate.report_browser import Renderer, find_chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None,
                       reason="chromium not installed (apt-get install chromium)"),
]

#: Figures whose natural width must reach this many pixels (readable at 1280 px).
MIN_FIGURE_PX = 1000


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full report (voxels kept by cls-low, so every figure is there) with the floor."""
    folder = tmp_path_factory.mktemp("browser")
    paths = [write_showers(folder / f"s{seed}.h5", textbook_showers("ds1-photons", 600, seed),
                           metadata={"producer": "caloforge.simulate", "seed": seed})
             for seed in (21, 22)]
    res = evaluate_files(paths[0], paths[1], folder / "eval", modes="hist,cls-low,physics",
                         reference_split=True, n_bootstrap=2)
    return res.report_path


def _check(page: Path, shots: Path | None = None) -> list[dict[str, object]]:
    with Renderer(width=1280, height=900) as browser:
        check = browser.open(page)
        assert check.images, "no images in the page"
        assert not check.broken_images, f"images that did not load: {check.broken_images}"
        assert not check.console_errors, check.console_errors
        assert not check.outside_requests, check.outside_requests
        if shots is not None:
            top = browser.screenshot(shots / "report_top.png")
            section = browser.screenshot(shots / "report_voxels.png", element="fig-voxels")
            for shot in (top, section):
                assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                assert int.from_bytes(shot.read_bytes()[16:20], "big") == 1280
        return check.images


def test_report_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    images = _check(report, tmp_path)
    alts = {str(i["alt"]) for i in images}
    assert {"average_images.png", "voxel_spectrum.png", "profile_r.png", "roc.png",
            "physics.png"} <= alts
    narrow = [i["alt"] for i in images if int(i["width"]) < MIN_FIGURE_PX]  # type: ignore
    assert not narrow, f"figures narrower than {MIN_FIGURE_PX} px: {narrow}"
    shown = [int(i["shown"]) for i in images]  # type: ignore[call-overload]
    assert min(shown) >= MIN_FIGURE_PX  # drawn at least that wide in a 1280 px window


def test_svg_report_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    import json

    metrics = json.loads((report.parent / "metrics.json").read_text())
    roc = roc_figure(metrics["generated_vs_reference"]["classifiers"], tmp_path / "roc.svg",
                     metrics["reference_floor"]["classifiers"])
    assert roc is not None
    images = _check(write_report(metrics, [roc], tmp_path / "report.html"))
    assert [i["alt"] for i in images] == ["roc.svg"]
