"""The CaloChallenge histograms re-derived independently of caloforge's code, from
``code/evaluate_plotting_helper.py`` and ``code/evaluate.py`` of CaloChallenge/homepage:

* ``plot_E_layers``: ``np.logspace(log10(min_energy), log10(reference layer max), 40)`` with
  ``min_energy`` 10 MeV for ds1 and 0.5e-3 / 0.033 MeV for ds2/ds3 (``evaluate.py``);
* ``plot_cell_dist``: every voxel of every shower in ``np.logspace(log10(min_energy),
  log10(reference voxel max), 50)``;
* ``_separation_power``: ``density=True`` histograms times the bin widths,
  ``0.5 sum (h1 - h2)^2 / (h1 + h2 + 1e-16)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloforge import Showers, get_geometry
from caloforge.data import write_showers
from caloforge.evaluate import compare_samples, evaluate_files, feature_bins, load_samples

DS23_MIN_ENERGY = 0.5e-3 / 0.033  # evaluate.py: "0.5 keV / 0.033 scaling factor"


def _official_separation(ref: np.ndarray, gen: np.ndarray, bins: np.ndarray) -> float:
    """``_separation_power`` of two ``plt.hist(..., density=True)`` histograms."""
    h1, _ = np.histogram(ref, bins=bins, density=True)
    h2, _ = np.histogram(gen, bins=bins, density=True)
    h1, h2 = h1 * np.diff(bins), h2 * np.diff(bins)
    return float(0.5 * np.sum((h1 - h2) ** 2 / (h1 + h2 + 1e-16)))


def _voxels(n: int, shift: float, seed: int) -> np.ndarray:
    """ds1-photons-sized voxels that are 0 or at least 1 MeV (the ds1 readout threshold, so the
    threshold caloforge applies before its features changes nothing): log-normal energies, 40 %
    occupancy, in steps of 1/4 MeV so that they and their layer sums are exact in float32 (the
    file's and the feature table's precision)."""
    rng = np.random.default_rng(seed)
    v = rng.lognormal(1.5 + shift, 1.5, size=(n, 368)) * (rng.random((n, 368)) < 0.4)
    v = np.round(v * 4.0) / 4.0
    v[v < 1.0] = 0.0
    return v


@pytest.fixture(scope="module")
def ds1_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hist")
    out = []
    for name, n, shift, seed in (("ref", 1500, 0.0, 1), ("gen", 1200, 0.15, 2)):
        energies = np.full(n, 65536.0)
        out.append(write_showers(folder / f"{name}.h5",
                                 Showers(energies, _voxels(n, shift, seed),
                                         geometry="ds1-photons")))
    return out[0], out[1]


@pytest.mark.parametrize(("geometry", "min_energy"), [("ds1-photons", 10.0), ("ds1-pions", 10.0),
                                                      ("ds2", DS23_MIN_ENERGY),
                                                      ("ds3", DS23_MIN_ENERGY)])
def test_layer_energy_bins_start_at_the_official_min_energy(geometry: str,
                                                            min_energy: float) -> None:
    """The lower edge is evaluate.py's ``min_energy``, not the smallest reference value (2 MeV
    here, above both), and the upper edge the reference maximum."""
    geo = get_geometry(geometry)
    reference = np.array([0.0, 2.0, 35.0, 700.0])
    bins = feature_bins("E_layer_1", reference, geo, geo.readout_threshold_mev)
    expected = np.logspace(np.log10(min_energy), np.log10(700.0), 40)
    np.testing.assert_allclose(bins, expected, rtol=1e-12)


def test_layer_energy_separation_is_the_official_one(ds1_pair: tuple[Path, Path]) -> None:
    """Every E_layer separation power of ``compare_samples`` against ``plot_E_layers`` computed
    from the voxels directly (layer sums over the binning's layer slices)."""
    geo = get_geometry("ds1-photons")
    ref, gen = (load_samples(p, geo)[0] for p in ds1_pair)
    metrics = compare_samples(ref, gen, geo, ("hist",), n_bootstrap=2)
    got = {h.name: h.separation for h in metrics.histograms}
    v_ref, v_gen = _voxels(1500, 0.0, 1), _voxels(1200, 0.15, 2)
    for label, sl in zip(geo.layer_ids, geo.layer_slices(), strict=True):
        e_ref, e_gen = v_ref[:, sl].sum(axis=1), v_gen[:, sl].sum(axis=1)
        bins = np.logspace(np.log10(10.0), np.log10(e_ref.max()), 40)
        assert got[f"E_layer_{label}"] == pytest.approx(
            _official_separation(e_ref, e_gen, bins), rel=1e-9, abs=1e-12), label


def test_voxel_spectrum_is_plot_cell_dist(ds1_pair: tuple[Path, Path], tmp_path: Path) -> None:
    """The 30th observable: S of every voxel energy in the official 49 log bins. caloforge
    counts the voxels in a fixed grid of 1/1000 decade while reading and rebins at the end, which
    moves a count by at most the share of one fine bin per edge: 1 % of S here."""
    res = evaluate_files(*ds1_pair, tmp_path / "ev", modes="hist", plots=False, n_bootstrap=3)
    model = res.metrics["generated_vs_reference"]
    voxel = {h["name"]: h for h in model["histograms"]}["E_voxel"]
    v_ref, v_gen = _voxels(1500, 0.0, 1), _voxels(1200, 0.15, 2)
    bins = np.logspace(np.log10(10.0), np.log10(v_ref.max()), 50)
    expected = _official_separation(v_ref.ravel(), v_gen.ravel(), bins)
    assert voxel["separation"] == pytest.approx(expected, rel=0.01)
    assert model["summary"]["E_voxel_separation_power"] == voxel["separation"]
    assert voxel["n_reference"] == 1500 and voxel["n_generated"] == 1200
    assert 0 < voxel["floor"] < voxel["separation"] and voxel["bootstrap_std"] > 0
    assert any(line.lstrip().startswith("separation power E_voxel")
               for line in res.summary_lines())


def test_voxel_spectrum_does_not_depend_on_the_chunks(ds1_pair: tuple[Path, Path]) -> None:
    """Streamed counts: 37 showers per read give the same histogram and maximum as one read."""
    geo = get_geometry("ds1-photons")
    one = load_samples(ds1_pair[0], geo, voxel_spectrum=True, chunk_size=10_000)[0].spectrum
    many = load_samples(ds1_pair[0], geo, voxel_spectrum=True, chunk_size=37)[0].spectrum
    assert one is not None and many is not None
    np.testing.assert_array_equal(one.counts, many.counts)
    assert one.max_value == many.max_value == _voxels(1500, 0.0, 1).max()
    assert one.counts.sum() == np.count_nonzero(_voxels(1500, 0.0, 1))


def test_voxel_spectrum_of_a_split_joins_to_the_whole(ds1_pair: tuple[Path, Path]) -> None:
    geo = get_geometry("ds1-photons")
    whole = load_samples(ds1_pair[0], geo, voxel_spectrum=True)[0].spectrum
    halves = load_samples(ds1_pair[0], geo, voxel_spectrum=True, split=True, seed=3)
    from caloforge.evaluate.sample import Sample

    joined = Sample.join(halves, "joined").spectrum
    assert whole is not None and joined is not None
    np.testing.assert_array_equal(whole.counts, joined.counts)
    assert joined.n_showers == 1500
