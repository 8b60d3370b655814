"""The ``cls-resnet`` classifier: image layouts, voxel rows streamed from disk, the network, and
that it tells different showers apart but not identical ones (tiny geometry, seconds)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from caloforge.evaluate.classifier import RESNET_PROTOCOLS, run_classifier
from caloforge.evaluate.classifier_inputs import (
    VoxelRows,
    VoxelStore,
    join_voxels,
    low_level_vector,
)
from caloforge.evaluate.modes import MODES
from caloforge.evaluate.resnet import REFERENCE, TINY, ImageLayout, ResNet3d
from caloforge.geometry import get_geometry
from caloforge.geometry.cylindrical import CylindricalGeometry, CylindricalLayer

#: Three layers, the middle one binned differently (as ds1's are).
TINY_GEO = CylindricalGeometry("tiny", [
    CylindricalLayer(0, (0.0, 2.0, 4.0, 8.0, 16.0), 4),
    CylindricalLayer(1, (0.0, 4.0, 16.0), 1),
    CylindricalLayer(2, (0.0, 2.0, 4.0, 8.0, 16.0), 4),
])
#: A short schedule for the tests.
QUICK = replace(RESNET_PROTOCOLS["fast"], name="quick", epochs=8, patience=None, batch_size=100)


def _showers(n: int, width: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Voxel energies falling off in r with a scale ``width`` (mm), with noise; E_inc."""
    r, _ = TINY_GEO.voxel_r_alpha()
    e_inc = rng.uniform(1e3, 1e4, n)
    profile = np.exp(-r / width)[None, :] * rng.lognormal(0.0, 0.3, (n, TINY_GEO.n_voxels))
    return profile / profile.sum(axis=1, keepdims=True) * e_inc[:, None] * 0.5, e_inc


def test_layouts_of_the_challenge_geometries() -> None:
    assert ImageLayout.from_geometry(get_geometry("ds3")).shape == (45, 50, 18)
    assert ImageLayout.from_geometry(get_geometry("ds2")).shape == (45, 16, 9)
    geo = get_geometry("ds1-photons")
    layout = ImageLayout.from_geometry(geo)
    assert layout.shape[:2] == (5, 10) and layout.matrix is not None
    x = np.random.default_rng(0).exponential(1.0, (4, geo.n_voxels))
    images = layout.images(x).reshape(4, 5, -1)
    np.testing.assert_allclose(images.sum(axis=2), geo.layer_energies(x), rtol=1e-5)


def test_identical_binnings_are_a_reordering_and_mixed_ones_share_by_area() -> None:
    ds3 = ImageLayout.from_geometry(get_geometry("ds3"))
    assert ds3.matrix is None
    x = np.arange(2 * 40500, dtype=np.float32).reshape(2, 40500)
    np.testing.assert_array_equal(ds3.images(x), x)
    layout = ImageLayout.from_geometry(TINY_GEO)
    assert layout.shape == (3, 4, 4)
    x = np.zeros((1, TINY_GEO.n_voxels))
    x[0, 16] = 1.0  # the middle layer's inner bin (0-4 mm, all alpha)
    image = layout.images(x).reshape(3, 4, 4)
    assert image[0].sum() == 0 and image[2].sum() == 0
    # r 0-2 holds a quarter of the 0-4 mm disc's area, r 2-4 three quarters; 4 alpha bins
    np.testing.assert_allclose(image[1, :, 0], 0.25 / 4, rtol=1e-6)
    np.testing.assert_allclose(image[1, :, 1], 0.75 / 4, rtol=1e-6)


def test_cartesian_geometries_are_refused() -> None:
    with pytest.raises(ValueError, match="cylindrical"):
        ImageLayout.from_geometry(get_geometry("calogan"))


def test_voxel_store_round_trip_and_join() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random((5, 7)), rng.random((3, 7))
    store = VoxelStore()
    store.append(a[:2])
    store.append(a[2:])
    assert store.shape == (5, 7)
    np.testing.assert_array_equal(store.read(1, 4), a[1:4].astype(np.float32))
    joined = join_voxels([store, b])
    assert isinstance(joined, VoxelStore) and len(joined) == 8
    np.testing.assert_array_equal(joined.read(3, 7),
                                  np.concatenate([a, b])[3:7].astype(np.float32))
    assert isinstance(join_voxels([a, b]), np.ndarray)


def test_voxel_rows_match_the_matrices() -> None:
    rng = np.random.default_rng(2)
    x, e_inc = _showers(30, 4.0, rng)
    store = VoxelStore()
    store.append(x)
    low = VoxelRows(store, e_inc, TINY_GEO, "cls-low", 0.0)
    np.testing.assert_allclose(low.read(5, 20), low_level_vector(x, e_inc, TINY_GEO,
                                                                 threshold=0.0)[5:20], rtol=1e-6)
    theta = rng.uniform(0, 1, 30)
    res = VoxelRows(x, e_inc, TINY_GEO, "cls-resnet", 0.0, theta)
    assert res.image_shape == (3, 4, 4) and res.n_scalars == 2
    rows = res.read(0, 30)
    assert rows.shape == (30, 2 + 48)
    np.testing.assert_allclose(rows[:, 0], np.log10(e_inc), rtol=1e-6)
    np.testing.assert_allclose(rows[:, 2:].sum(axis=1), x.sum(axis=1) / e_inc, rtol=1e-5)
    with pytest.raises(ValueError, match="voxel mode"):
        VoxelRows(x, e_inc, TINY_GEO, "cls-high")


def test_network_shapes_and_sizes() -> None:
    for spec in (TINY, REFERENCE):
        net = ResNet3d((5, 10, 30), n_scalars=2, spec=spec).eval()
        assert net(torch.zeros(3, 2 + 1500)).shape == (3, 1)
    n_tiny = sum(p.numel() for p in ResNet3d((45, 50, 18), 1, TINY).parameters())
    assert n_tiny < 20_000
    assert "cls-resnet" in MODES


def test_resnet_needs_an_image_shape() -> None:
    x = np.zeros((50, 49), dtype=np.float32)
    with pytest.raises(ValueError, match="image shape"):
        run_classifier(x, x, "cls-resnet", QUICK)
    with pytest.raises(ValueError, match="scalars"):
        run_classifier(x, x, "cls-resnet", QUICK, image_shape=(3, 4, 5))


def test_resnet_separates_different_showers_and_not_identical_ones() -> None:
    rng = np.random.default_rng(3)
    n = 1500
    ref, e_ref = _showers(n, 4.0, rng)
    same, e_same = _showers(n, 4.0, rng)
    wider, e_wider = _showers(n, 6.0, rng)

    def rows(x: np.ndarray, e: np.ndarray) -> VoxelRows:
        return VoxelRows(x, e, TINY_GEO, "cls-resnet", 0.0)

    different = run_classifier(rows(ref, e_ref), rows(wider, e_wider), "cls-resnet", QUICK,
                               seed=0, n_bootstrap=20)
    identical = run_classifier(rows(ref, e_ref), rows(same, e_same), "cls-resnet", QUICK,
                               seed=0, n_bootstrap=20)
    assert different.protocol == "quick" and different.n_per_class == n
    assert different.auc > 0.8, different.auc
    assert abs(identical.auc - 0.5) < 0.08, identical.auc
    again = run_classifier(rows(ref, e_ref), rows(wider, e_wider), "cls-resnet", QUICK,
                           seed=0, n_bootstrap=20)
    assert again.auc == different.auc  # seeded


def test_evaluate_files_streams_the_voxels_for_cls_resnet(tmp_path, monkeypatch) -> None:
    """End to end on ds1-photons with the reference floor: the voxels of both halves go to
    temporary files (joined for the whole reference), the ResNet sees ds1's resampled images."""
    from tests.conftest import textbook_showers

    from caloforge.data import write_showers
    from caloforge.evaluate import classifier, evaluate_files, load_samples

    monkeypatch.setitem(classifier.RESNET_PROTOCOLS, "fast",
                        replace(QUICK, epochs=2, batch_size=50))
    paths = [write_showers(tmp_path / f"s{seed}.h5", textbook_showers("ds1-photons", 400, seed))
             for seed in (1, 2)]
    halves = load_samples(paths[0], get_geometry("ds1-photons"), keep_voxels=True, split=True)
    assert all(isinstance(h.voxels, VoxelStore) for h in halves)
    res = evaluate_files(paths[0], paths[1], tmp_path / "ev", modes="cls-resnet",
                         reference_split=True, plots=False, n_bootstrap=2)
    for part in ("generated_vs_reference", "reference_floor"):
        (c,) = res.metrics[part]["classifiers"]
        assert c["mode"] == "cls-resnet" and c["protocol"] == "quick" and c["epochs_run"] == 2
    assert res.metrics["generated_vs_reference"]["classifiers"][0]["n_per_class"] == 400
