from __future__ import annotations

import itertools

import pytest

from caloforge.geometry import get_geometry
from caloforge.geometry.materials import LAR, PB, SI, LayerMaterial, MaterialStack, W


def test_pure_material_constants() -> None:
    # PDG: X0(W) = 0.3504 cm, R_M(W) = 0.9327 cm; X0(Pb) = 0.5612 cm, R_M(Pb) = 1.602 cm
    assert W.x0_mm == pytest.approx(3.504, rel=2e-3)
    assert W.moliere_radius_mm == pytest.approx(9.327, rel=2e-3)
    assert PB.x0_mm == pytest.approx(5.612, rel=2e-3)
    assert PB.moliere_radius_mm == pytest.approx(16.02, rel=5e-3)


def test_effective_x0_is_mass_weighted_hand_computation() -> None:
    # One ds2 sampling cell, 1.4 mm W + 0.3 mm Si, by hand:
    m_w, m_si = 0.14 * 19.30, 0.03 * 2.329  # g/cm^2
    w_w, w_si = m_w / (m_w + m_si), m_si / (m_w + m_si)
    x0 = 1.0 / (w_w / 6.76 + w_si / 21.82)  # g/cm^2
    rho = (m_w + m_si) / 0.17  # g/cm^3
    stack = MaterialStack((LayerMaterial(W, 1.4, SI, 0.3, 2),))
    assert stack.x0 == pytest.approx(x0, rel=1e-12)
    assert stack.x0_mm == pytest.approx(10 * x0 / rho, rel=1e-12)
    assert stack.x0_mm == pytest.approx(4.2194, abs=1e-3)
    # a length-weighted average would be very different: guard against that mistake
    length_weighted = (1.4 * W.x0_mm + 0.3 * SI.x0_mm) / 1.7
    assert abs(stack.x0_mm - length_weighted) > 5.0
    rm = 21.2052 / (w_w * 7.97 / 6.76 + w_si * 40.19 / 21.82)
    assert stack.moliere_radius == pytest.approx(rm, rel=1e-12)


def test_sampling_fraction_and_mip() -> None:
    layer = LayerMaterial(PB, 1.5, LAR, 4.5)
    act = 0.45 * 1.396 * 1.519
    pas = 0.15 * 11.35 * 1.122
    assert layer.sampling_fraction_mip == pytest.approx(act / (act + pas))
    si = LayerMaterial(W, 2.1, SI, 0.5)
    assert si.mip_mean_mev == pytest.approx(0.05 * 2.329 * 1.664)
    # most probable loss in 500 um Si is ~ 0.28 keV/um at minimum ionisation (PDG fig. 34.8)
    assert si.mip_mpv_mev() == pytest.approx(0.140, rel=0.06)


@pytest.mark.parametrize(("name", "x0_total"), [("ds2", 36.3), ("ild-photons", 24.1)])
def test_stack_depths(name: str, x0_total: float) -> None:
    stack = get_geometry(name).materials
    assert stack.thickness_x0 == pytest.approx(x0_total, abs=0.15)
    bounds = stack.layer_boundaries_x0()
    assert bounds[0][0] == 0.0
    assert all(b[1] == pytest.approx(n[0]) for b, n in itertools.pairwise(bounds))


def test_ds1_layers_roughly_atlas_like() -> None:
    stack = get_geometry("ds1-photons").materials
    x0 = [round(layer.thickness_x0, 1) for layer in stack.layers[1:4]]
    assert x0[0] == pytest.approx(4.5, abs=0.3)
    assert x0[1] == pytest.approx(16.0, abs=0.5)
    assert x0[2] == pytest.approx(2.1, abs=0.3)
    assert stack.layers[0].dead_x0 == pytest.approx(1.69, abs=0.05)
