"""CaloFlow preprocessing: exact inverses and log-Jacobians against autograd."""

from __future__ import annotations

import pytest
import torch

from caloforge.preprocess import PreprocessingState, Preprocessor

SIZES = [3, 4, 2]


@pytest.fixture
def pre_and_data() -> tuple[Preprocessor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    voxels = torch.rand(200, sum(SIZES), generator=gen, dtype=torch.float64) * 100.0
    voxels[voxels < 20.0] = 0.0  # sparse, as real showers
    energies = voxels.sum(1) * (1.1 + torch.rand(200, generator=gen, dtype=torch.float64))
    pre = Preprocessor(PreprocessingState(layer_sizes=SIZES, threshold_mev=0.5)).double()
    pre.fit(voxels, energies, generator=gen)
    return pre, pre.dequantize(voxels, gen), energies


def test_fit_sets_k_and_standardises(pre_and_data: tuple) -> None:
    pre, voxels, energies = pre_and_data
    ratio = (voxels.sum(1) / energies).max().item()
    assert pre.state.k == pytest.approx(1.05 * ratio, rel=1e-3)
    w, _ = pre.encode_layers(pre.layer_energies(voxels), energies)
    assert w.mean(0).abs().max() < 0.05
    assert (w.std(0) - 1).abs().max() < 0.05


def test_layers_round_trip(pre_and_data: tuple) -> None:
    pre, voxels, energies = pre_and_data
    layers = pre.layer_energies(voxels)
    w, _ = pre.encode_layers(layers, energies)
    assert torch.allclose(pre.decode_layers(w, energies), layers, rtol=1e-6, atol=1e-9)


def test_voxels_round_trip_and_threshold(pre_and_data: tuple) -> None:
    pre, voxels, _ = pre_and_data
    layers = pre.layer_energies(voxels)
    y, _ = pre.encode_voxels(voxels, layers)
    back = pre.decode_voxels(y, layers)
    kept = voxels >= 0.5
    assert torch.allclose(back[kept], voxels[kept], rtol=1e-5)
    assert (back[~kept] == 0).all()  # generated voxels below the threshold are zeroed


def test_layer_log_jacobian_matches_autograd(pre_and_data: tuple) -> None:
    pre, voxels, energies = pre_and_data
    layers = pre.layer_energies(voxels)[:5]
    _, ladj = pre.encode_layers(layers, energies[:5])
    for i in range(5):
        jac = torch.autograd.functional.jacobian(
            lambda x, i=i: pre.encode_layers(x[None], energies[i : i + 1])[0][0], layers[i])
        assert ladj[i].item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-6)


def test_voxel_log_jacobian_matches_autograd(pre_and_data: tuple) -> None:
    pre, voxels, _ = pre_and_data
    layers = pre.layer_energies(voxels)[:3]
    _, ladj = pre.encode_voxels(voxels[:3], layers)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(
            lambda v, i=i: pre.encode_voxels(v[None], layers[i : i + 1])[0][0], voxels[i])
        assert ladj[i].item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-6)


def test_theta_condition_required() -> None:
    pre = Preprocessor(PreprocessingState(layer_sizes=[2], use_theta=True))
    with pytest.raises(ValueError, match="theta"):
        pre.context1(torch.ones(3))
    assert pre.context1(torch.ones(3), torch.zeros(3)).shape == (3, 2)
