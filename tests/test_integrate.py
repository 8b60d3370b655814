"""Phase-space integration: known integrals, Drell-Yan physics checks, NIS vs VEGAS, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import pytest
import torch
from scipy.special import beta as beta_fn

from caloforge.cli.main import main
from caloforge.integrate import Camel, DrellYan, Ring, ToyPDF, compare, nis, vegas_plain
from caloforge.integrate.diagnostics import weight_summary
from caloforge.integrate.drell_yan import DrellYanParameters
from caloforge.integrate.methods import NISConfig, vegas_mapped


@pytest.mark.parametrize("process", [Camel(2), Camel(4), Ring()], ids=lambda p: p.name)
def test_known_integrals_within_three_sigma(process: Camel | Ring) -> None:
    cfg = NISConfig(batch_size=1024, buffered_steps=1)
    results = compare(process, train_calls=20_000, eval_calls=20_000, seed=1, nis_config=cfg)
    assert [r.method for r in results] == ["flat", "vegas", "nis"]
    for r in results:
        assert abs(r.integral - process.exact()) < 3 * r.error, (r.method, r.integral, r.error)
        assert 0 < r.unweighting_efficiency <= 1 and r.calls > 0


def test_defensive_sampler_integrates_and_caps_the_weights() -> None:
    process = Camel(2)
    cfg = NISConfig(batch_size=1024, buffered_steps=1, defensive=0.2)
    result, batch = nis(process, 20_000, 20_000, config=cfg, seed=1)
    assert abs(result.integral - process.exact()) < 3 * result.error
    # g = 0.8 q + 0.2 >= 0.2 everywhere: no weight above f_max / 0.2
    f_max = process(torch.tensor([[1 / 3, 1 / 3]], dtype=torch.float64)).item()
    assert batch.weights.max().item() <= f_max / 0.2 * 1.001
    assert (batch.q_sample < 0.5).double().mean().item() > 0.1  # uniform points in the tails


def test_process_names_list_every_process() -> None:
    """The light name list the command line offers is the processes get_process builds."""
    from caloforge.integrate.comparison import _processes
    from caloforge.integrate.names import PROCESS_NAMES

    assert tuple(_processes()) == PROCESS_NAMES


def test_camel_closed_form() -> None:
    x = torch.rand(2_000_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    values = Camel(2, sigma=0.2)(x)
    assert values.mean().item() == pytest.approx(Camel(2, sigma=0.2).exact(), rel=5e-3)


def test_toy_pdf_sum_rules() -> None:
    pdf = ToyPDF()
    assert pdf.nu * beta_fn(0.5, 4.0) == pytest.approx(2.0)  # two u valence quarks
    assert pdf.nd * beta_fn(0.5, 5.0) == pytest.approx(1.0)
    assert pdf.momentum_fraction() == pytest.approx(0.55, abs=1e-3)


def test_partonic_qed_and_z_peak() -> None:
    dy = DrellYan()
    cos = torch.linspace(-1, 1, 20_001, dtype=torch.float64)
    s = torch.full_like(cos, 50.0**2)
    qed = torch.trapezoid(dy.partonic(s, cos, "u", "photon"), cos).item()
    assert qed == pytest.approx(4 * math.pi * dy.p.alpha**2 * (4 / 9) / (9 * 50.0**2), rel=1e-6)
    on_peak = dy.partonic(torch.full_like(cos, dy.p.m_z**2), cos, "u").mean()
    off_peak = dy.partonic(torch.full_like(cos, 60.0**2), cos, "u").mean()
    assert on_peak / off_peak > 100  # the Z resonance
    forward = dy.partonic(s[:1] * 0 + dy.p.m_z**2, torch.tensor([0.9], dtype=torch.float64), "u")
    backward = dy.partonic(s[:1] * 0 + dy.p.m_z**2, torch.tensor([-0.9], dtype=torch.float64),
                           "u")
    assert forward.item() != pytest.approx(backward.item(), rel=0.05)  # A_FB from interference


def test_channel_priors_sum_to_one_and_pick_the_resonance() -> None:
    dy = DrellYan()
    s_hat = torch.tensor([30.0**2, dy.p.m_z**2, dy.p.m_zp**2], dtype=torch.float64)
    alpha = dy.prior(s_hat)
    assert torch.allclose(alpha.sum(1), torch.ones(3, dtype=torch.float64))
    assert alpha.argmax(1).tolist() == [0, 1, 2]


@pytest.mark.slow
def test_nis_drell_yan_agrees_with_high_statistics_vegas() -> None:
    dy = DrellYan()
    reference = vegas_plain(dy, 1_000_000, 1_000_000, seed=5)
    result, _ = nis(dy, 200_000, 100_000, channels=3, seed=2)
    combined = math.hypot(reference.error, result.error)
    assert abs(result.integral - reference.integral) < 3 * combined
    assert result.calls_train > 190_000 and result.calls == 300_000  # whole batches


def test_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["integrate", "--process", "ttbar", "--train-calls", "10",
                 "--eval-calls", "10"]) == 2
    assert "unknown process 'ttbar'" in capsys.readouterr().err
    assert main(["integrate", "--process", "camel-2d", "--train-calls", "0",
                 "--eval-calls", "10"]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert main(["integrate", "--process", "camel-2d", "--channels", "3", "--train-calls", "100",
                 "--eval-calls", "100", "--no-progress"]) == 2
    assert "no channels" in capsys.readouterr().err
    assert main(["integrate", "--process", "camel-2d", "--vegas-share", "1.5", "--train-calls",
                 "100", "--eval-calls", "100", "--no-progress"]) == 2
    assert "--vegas-share must lie in [0, 1)" in capsys.readouterr().err
    assert main(["integrate", "--process", "camel-2d", "--renyi-alpha", "1.5", "--train-calls",
                 "100", "--eval-calls", "100", "--no-progress"]) == 2
    assert "Rényi orders need 1 < start <= end" in capsys.readouterr().err


def test_cli_events_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events, plot = tmp_path / "events.h5", tmp_path / "dy.png"
    assert main(["integrate", "--process", "dy-zprime", "--channels", "1", "--train-calls",
                 "20000", "--eval-calls", "5000", "-o", str(events), "--plot", str(plot),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "nis" in out and "unweighted events" in out
    with h5py.File(events) as f:
        m_ll = f["m_ll"][:]
        assert len(m_ll) > 10 and m_ll.min() >= 15.0 and f.attrs["unit"] == "pb"
    assert plot.stat().st_size > 10_000


def test_resonance_maps_are_inverted_exactly_and_keep_their_tails() -> None:
    dy = DrellYan(DrellYanParameters(continuum_share=0.2))
    r = torch.rand(2000, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for k in (1, 2):
        c = torch.full((2000,), k)
        s_hat, jac = dy._map_s(r, c)
        assert torch.allclose(dy._cdf_s(s_hat, k), r, atol=1e-12)
        step = 1e-7
        s_up, _ = dy._map_s(r + step, c)
        assert torch.allclose((s_up - s_hat) / step / jac, torch.ones_like(r), rtol=1e-3)
    # the continuum share keeps the tail below the Z: m_ll < 60 GeV gets at least 0.2 of its
    # share of log s_hat, 0.2 ln(60^2 / 15^2) / ln(13000^2 / 15^2) = 0.041
    s_60 = torch.tensor([60.0**2], dtype=torch.float64)
    assert dy._cdf_s(s_60, 1).item() > 0.2 * math.log(16) / math.log(dy.s / dy.s_min)
    assert DrellYan()._cdf_s(s_60, 1).item() < 0.01  # a pure Breit-Wigner squeezes it
    # the same cross section through the mixed maps (multi-channel VEGAS, 3 sigma)
    mixed = vegas_mapped(dy, 60_000, 60_000, seed=1)
    pure = vegas_mapped(DrellYan(), 60_000, 60_000, seed=1)
    assert abs(mixed.integral - pure.integral) < 3 * math.hypot(mixed.error, pure.error)


def test_weight_summary_locates_the_largest_weights_and_unweights_per_channel() -> None:
    # two channels, each with constant weights: unweighted channel by channel every event is
    # kept (efficiency 1), together only <w>/w_max = 1.5/2
    w = torch.cat([torch.ones(1000), 2 * torch.ones(1000)])
    labels = torch.cat([torch.zeros(1000, dtype=torch.long), torch.ones(1000, dtype=torch.long)])
    x = torch.rand(2000, 3)
    summary = weight_summary(w, x, labels, channel_count=2, largest=3)
    assert summary["uweff_channelwise"] == pytest.approx(1.0)
    shares = [row["integral_share"] for row in summary["per_channel"]]
    assert shares == pytest.approx([1 / 3, 2 / 3])
    assert [row["points"] for row in summary["per_channel"]] == [1000, 1000]
    assert summary["per_channel"][1]["max_over_mean"] == pytest.approx(2 / 1.5)
    assert summary["quantiles"]["max"] == pytest.approx(2 / 1.5)
    assert sum(summary["hist_counts"]) == 2000
    assert [e["channel"] for e in summary["largest"]] == [1, 1, 1]
    top = summary["largest"][0]
    assert top["w_over_mean"] == pytest.approx(2 / 1.5)
    assert top["x"] in x[1000:].double().tolist()
