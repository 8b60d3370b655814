from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloforge.errors import InputError
from caloforge.geometry import (
    CartesianGeometry,
    CylindricalGeometry,
    geometry_for_voxels,
    get_geometry,
    list_geometries,
    xml_path,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "geometry"
XMLS = ["binning_dataset_1_photons.xml", "binning_dataset_1_pions.xml",
        "binning_dataset_2.xml", "binning_dataset_3.xml"]


@pytest.mark.parametrize(
    ("name", "n_voxels", "n_layers"),
    [("ds1-photons", 368, 5), ("ds1-pions", 533, 7), ("ds2", 6480, 45), ("ds3", 40500, 45),
     ("ild-photons", 54000, 30), ("calogan", 504, 3)],
)
def test_preset_counts(name: str, n_voxels: int, n_layers: int) -> None:
    geo = get_geometry(name)
    assert geo.n_voxels == n_voxels
    assert geo.n_layers == n_layers
    assert geo.voxel_xy().shape == (n_voxels, 2)
    assert geo.materials is not None
    assert len(geo.materials.layers) == n_layers


@pytest.mark.parametrize("name", list_geometries())
def test_layer_slices_cover_voxels_once(name: str) -> None:
    geo = get_geometry(name)
    covered = np.zeros(geo.n_voxels, dtype=int)
    for sl in geo.layer_slices():
        covered[sl] += 1
    assert (covered == 1).all()
    assert np.array_equal(np.bincount(geo.voxel_layer()), geo.layer_sizes)


@pytest.mark.parametrize("filename", XMLS)
def test_packaged_xml_parse_and_match_shared(filename: str) -> None:
    geo = CylindricalGeometry.from_xml(xml_path(filename))
    assert geo.n_voxels > 0
    shared = SHARED / filename
    if shared.exists():
        assert shared.read_bytes() == xml_path(filename).read_bytes()


def test_ds1_photon_relevant_layers_and_voxel_order() -> None:
    geo = get_geometry("ds1-photons")
    assert isinstance(geo, CylindricalGeometry)
    assert geo.layer_ids == (0, 1, 2, 3, 12)
    r, alpha = geo.voxel_r_alpha()
    sl = geo.layer_slice(1)  # 16 radial bins x 10 alpha bins, r fastest
    r1, a1 = r[sl], alpha[sl]
    assert r1[0] == pytest.approx(1.0)
    assert r1[1] == pytest.approx(3.0)
    assert np.all(a1[:16] == a1[0])
    edges = np.linspace(-np.pi, np.pi, 11)
    assert a1[0] == pytest.approx(0.5 * (edges[0] + edges[1]))
    assert a1[16] == pytest.approx(0.5 * (edges[1] + edges[2]))
    xy = geo.voxel_xy()[sl]
    assert np.allclose(xy[:, 0], r1 * np.cos(a1))
    assert np.allclose(xy[:, 1], r1 * np.sin(a1))


def test_calogan_layers() -> None:
    geo = get_geometry("calogan")
    assert isinstance(geo, CartesianGeometry)
    assert [(lay.n_x, lay.n_y) for lay in geo.layers] == [(3, 96), (12, 12), (12, 6)]
    widths = [(lay.n_x * lay.pitch_x, lay.n_y * lay.pitch_y) for lay in geo.layers]
    assert widths == [(480.0, 480.0)] * 3
    # 90, 347 and 43 mm in whole cells of 2 mm Pb + 4 mm LAr: 15, 58 and 7 cells, 480 mm deep
    depths = [layer.thickness_mm for layer in geo.materials.layers]
    assert depths == pytest.approx([90.0, 348.0, 42.0])
    assert [layer.n_samplings for layer in geo.materials.layers] == [15, 58, 7]


def test_cartesian_layer_images_reshape() -> None:
    geo = get_geometry("calogan")
    voxels = np.arange(geo.n_voxels, dtype=float)[None]
    img = geo.layer_images(voxels, 2)
    assert img.shape == (1, 12, 6)
    assert img[0, 1, 0] == geo.layer_slice(2).start + 6


def test_layer_energies_sum() -> None:
    geo = get_geometry("ds1-photons")
    voxels = np.ones((2, geo.n_voxels))
    assert geo.layer_energies(voxels).tolist() == [list(map(float, geo.layer_sizes))] * 2


def test_unknown_geometry_is_input_error() -> None:
    with pytest.raises(InputError, match="unknown geometry 'ds9'"):
        get_geometry("ds9")


def test_bad_xml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<Bins><Bin><Layer id='0' r_edges='0,5,3' n_bin_alpha='1'/></Bin></Bins>")
    with pytest.raises(InputError, match="not increasing"):
        CylindricalGeometry.from_xml(bad)
    bad.write_text("<Bins><Bin")
    with pytest.raises(InputError, match="not valid XML"):
        CylindricalGeometry.from_xml(bad)
    with pytest.raises(InputError, match="not found"):
        CylindricalGeometry.from_xml(tmp_path / "missing.xml")


def test_geometry_for_voxels() -> None:
    assert geometry_for_voxels(6480).name == "ds2"
    assert geometry_for_voxels(12345) is None
