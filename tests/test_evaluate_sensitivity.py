"""The metrics see what they should: nothing between independent samples, clear shifts."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import textbook_showers

from caloforge import Showers, get_geometry
from caloforge.cli.main import main
from caloforge.data import write_showers
from caloforge.evaluate import compare_samples, evaluate_files, load_samples
from caloforge.evaluate.classifier import run_classifier
from caloforge.evaluate.classifier_inputs import low_level_vector
from caloforge.geometry import CylindricalGeometry
from caloforge.simulate import simulate

N = 10_000


@pytest.fixture(scope="module")
def sim_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("eval")
    paths = []
    for seed in (11, 12):
        showers = textbook_showers("ds1-photons", N, seed)
        paths.append(write_showers(folder / f"sim{seed}.h5", showers,
                                   metadata={"producer": "caloforge.simulate", "seed": seed}))
    return paths[0], paths[1]


def _shift_outward(showers: Showers, geo: CylindricalGeometry) -> Showers:
    """Move every voxel's energy one radial bin outwards (the last bin keeps its own)."""
    out = np.zeros_like(showers.voxels)
    for layer, sl in zip(geo.layers, geo.layer_slices(), strict=True):
        block = showers.voxels[:, sl].reshape(len(showers), layer.n_alpha, layer.n_r)
        moved = np.zeros_like(block)
        moved[:, :, 1:] = block[:, :, :-1]
        moved[:, :, -1] += block[:, :, -1]
        out[:, sl] = moved.reshape(len(showers), -1)
    return showers.with_voxels(out)


def test_independent_samples_at_statistical_floor(sim_pair: tuple[Path, Path]) -> None:
    geo = get_geometry("ds1-photons")
    ref, gen = (load_samples(p, geo)[0] for p in sim_pair)
    metrics = compare_samples(ref, gen, geo, ("hist",), n_bootstrap=20, seed=3)
    assert len(metrics.histograms) > 40
    within_twice = [h.separation <= 2 * h.floor for h in metrics.histograms]
    assert np.mean(within_twice) >= 0.9
    for h in metrics.histograms:
        assert h.consistent_with_floor, h.name


@pytest.mark.slow
def test_outward_radial_shift_is_caught(sim_pair: tuple[Path, Path]) -> None:
    from caloforge.data import read_showers

    geo = get_geometry("ds1-photons")
    ref, gen = read_showers(sim_pair[0]), read_showers(sim_pair[1])
    shifted = _shift_outward(gen, geo)
    res = run_classifier(low_level_vector(ref.voxels, ref.energies, geo),
                         low_level_vector(shifted.voxels, shifted.energies, geo), seed=1)
    assert res.auc > 0.9


def test_energy_scale_seen_by_histograms(sim_pair: tuple[Path, Path]) -> None:
    from caloforge.data import read_showers

    geo = get_geometry("ds1-photons")
    gen = read_showers(sim_pair[1])
    scaled = write_showers(sim_pair[0].parent / "scaled.h5", gen.with_voxels(gen.voxels * 1.05),
                           force=True)
    a, b = load_samples(sim_pair[0], geo)[0], load_samples(scaled, geo)[0]
    metrics = compare_samples(a, b, geo, ("hist",), n_bootstrap=10)
    etot = next(h for h in metrics.histograms if h.name == "E_tot/E_inc")
    assert etot.separation > 10 * etot.floor


@pytest.mark.slow
def test_energy_scale_caught_by_classifier_at_high_energy() -> None:
    """Voxels x 1.05, E_inc >= 64 GeV (2^16 MeV), 20k showers per class, cls-low, fast."""
    geo = get_geometry("ds1-photons")
    spectrum = {"values_mev": [2.0**k for k in range(16, 23)],
                "weights": [10000, 10000, 10000, 5000, 3000, 2000, 1000]}
    ref = textbook_showers("ds1-photons", 20_000, 11, spectrum=spectrum)
    gen = textbook_showers("ds1-photons", 20_000, 12, spectrum=spectrum)
    gen = gen.with_voxels(gen.voxels * 1.05)
    res = run_classifier(low_level_vector(ref.voxels, ref.energies, geo),
                         low_level_vector(gen.voxels, gen.energies, geo), "cls-low", seed=2)
    assert res.auc > 0.9


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("alt") or "")
        elif tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def test_evaluate_files_report_and_floor(sim_pair: tuple[Path, Path], tmp_path: Path) -> None:
    res = evaluate_files(sim_pair[0], sim_pair[1], tmp_path / "out", modes="hist,cls-high,fpd",
                         reference_split=True, max_showers=2000, n_bootstrap=3)
    m = res.metrics
    assert m["reference_is_simulated"] is True
    assert m["reference_floor"] is not None
    assert {c["mode"] for c in m["generated_vs_reference"]["classifiers"]} == {"cls-high"}
    assert m["reference"]["n"] == 2000
    parser = _Collector()
    html = res.report_path.read_text()
    parser.feed(html)
    assert parser.ok and not parser.stack
    assert sorted(parser.images) == sorted(p.name for p in res.plots)
    assert len(res.plots) >= 8
    assert "caloforge&#x27;s reference shower simulator" in html or "reference shower simulator" \
        in html


def test_physics_mode_on_ild(tmp_path: Path) -> None:
    paths = []
    for seed in (1, 2):
        s = textbook_showers("ild-photons", 300, seed)
        paths.append(write_showers(tmp_path / f"ild{seed}.h5", s))
    res = evaluate_files(paths[0], paths[1], tmp_path / "ev", modes="physics", n_bootstrap=2)
    phys = {p["name"]: p for p in res.metrics["generated_vs_reference"]["physics"]}
    assert {"E_vis", "n_hits", "cog_z", "theta_rec", "theta_rec-theta_true"} <= set(phys)
    points = res.metrics["generated_vs_reference"]["condition_points"]
    assert len(points) == 9 and "theta" in points[0]
    ref = load_samples(paths[0], get_geometry("ild-photons"), physics=True)[0].physics
    resid = ref.theta_rec - ref.theta_true
    assert np.nanmedian(np.abs(resid)) < np.deg2rad(5.0)
    peak = np.argmax(ref.hit_spectrum)
    from caloforge.evaluate.physics import SPECTRUM_BINS_MIP

    assert 0.7 < SPECTRUM_BINS_MIP[peak] < 1.5  # the MIP peak


def test_cli_evaluate_errors(sim_pair: tuple[Path, Path], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    other = write_showers(tmp_path / "ds2.h5", simulate("ds2", n=20, seed=1))
    args = ["evaluate", "--reference", str(sim_pair[0]), "--generated", str(other), "--out",
            str(tmp_path / "e")]
    assert main(args) == 2
    assert "voxels per shower" in capsys.readouterr().err
    args = ["evaluate", "--reference", str(sim_pair[0]), "--generated", str(sim_pair[1]),
            "--out", str(tmp_path / "e"), "--mode", "hist,bogus"]
    assert main(args) == 2
    assert "unknown evaluation mode 'bogus'" in capsys.readouterr().err
    args[-1] = "hist"
    assert main([*args, "--max-showers", "500", "--no-progress"]) == 0
    assert "report:" in capsys.readouterr().out
    assert main([*args, "--max-showers", "500"]) == 2
    assert "--force" in capsys.readouterr().err
