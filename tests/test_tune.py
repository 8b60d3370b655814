"""Tuning the fast simulator: the shape corrections do what they say, the fit moves towards the
target, and ``caloforge tune`` writes a config that ``simulate`` reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloforge.cli.main import main
from caloforge.errors import InputError
from caloforge.evaluate.realism import compare, summarise
from caloforge.geometry import get_geometry
from caloforge.simulate import ReferenceSimulator, ShapeConfig, load_config
from caloforge.simulate.geant4.reference import ReferenceSet, geant4_settings, settings_key
from caloforge.tune import load_reference
from caloforge.tune.fit import Stage, Tuner
from caloforge.tune.targets import Group, energy_groups


def _sim(preset: str, energy: float, n: int, seed: int, **shape: object):
    cfg = load_config(preset, {"n": n, "seed": seed,
                               "spectrum": {"kind": "fixed", "e_min_mev": energy}})
    cfg.shape = ShapeConfig(**shape)  # type: ignore[arg-type]
    return ReferenceSimulator(cfg).simulate()


def test_textbook_default_and_validation() -> None:
    assert ShapeConfig().is_textbook()
    assert not ShapeConfig(halo_fraction=0.01).is_textbook()
    for bad in ({"halo_fraction": -0.1}, {"core_scale": 0.0}, {"tail_fraction": 0.6,
                                                                 "halo_fraction": 0.5},
                {"stochastic_term": 0.0}):
        with pytest.raises(InputError, match="shape"):
            ShapeConfig(**bad).validate()  # type: ignore[arg-type]
    with pytest.raises(InputError, match="layer_gain needs 3"):
        ShapeConfig(layer_gain=[1.0, 1.0]).validate(3)


def test_each_correction_moves_its_quantity() -> None:
    geo = get_geometry("calogan")
    base = summarise(_sim("calogan", 10_000.0, 300, 1), geo)
    halo = summarise(_sim("calogan", 10_000.0, 300, 1, halo_fraction=0.02), geo)
    assert base.halo_cells < 1.0 < 20.0 < halo.halo_cells         # sub-MeV cells appear
    assert halo.occupancy > 1.3 * base.occupancy
    deep = summarise(_sim("calogan", 10_000.0, 300, 1, t_shift=0.2), geo)
    assert deep.layer_fraction[0] < base.layer_fraction[0] - 0.03  # a later maximum
    wide = summarise(_sim("calogan", 10_000.0, 300, 1, core_scale=1.5, tail_scale=1.5), geo)
    assert np.all(wide.width_mean[:2] > 1.1 * base.width_mean[:2])
    wander = summarise(_sim("calogan", 10_000.0, 300, 1, wander_mm=2.0), geo)
    assert wander.centroid_std[1] > 2 * base.centroid_std[1]
    gain = summarise(_sim("calogan", 10_000.0, 300, 1, layer_gain=[0.9, 0.9, 0.9]), geo)
    assert gain.response == pytest.approx(0.9 * base.response, rel=1e-3)


def test_wander_in_cylindrical_geometry_moves_centroids() -> None:
    geo = get_geometry("ds2")
    base = summarise(_sim("ds2", 10_000.0, 100, 2), geo)
    moved = summarise(_sim("ds2", 10_000.0, 100, 2, wander_mm=1.0), geo)
    assert moved.centroid_std[10] > 1.3 * base.centroid_std[10]
    assert moved.response == pytest.approx(base.response, rel=0.02)   # energy kept


def test_energy_groups_discrete_and_continuous() -> None:
    rng = np.random.default_rng(0)
    assert len(energy_groups(np.repeat([1e3, 1e4, 1e5], 5))) == 3
    groups = energy_groups(rng.uniform(1e4, 1e5, 400))
    assert len(groups) == 4 and sum(len(g) for g in groups) == 400


def test_fit_recovers_a_halo_and_a_shift(tmp_path: Path) -> None:
    """A target made by the simulator itself with known corrections: the tuned loss falls well
    below the textbook one, and the halo share is found within a factor of two."""
    geo = get_geometry("calogan")
    truth = _sim("calogan", 10_000.0, 300, 5, halo_fraction=0.02, t_shift=0.1)
    groups = [Group.build(truth, idx, geo, 300) for idx in energy_groups(truth.energies)]
    cfg = load_config("calogan")
    cfg.shape = ShapeConfig()
    tuner = Tuner(cfg, geo, groups, seed=3, evaluations=6)
    before = tuner.loss(tuner.simulate(tuner.config))
    from caloforge.tune.fit import STAGES

    tuner.run((STAGES[0], STAGES[1]))
    after = tuner.loss(tuner.simulate(tuner.config))
    assert after < 0.2 * before
    assert 0.01 < tuner.config.shape.halo_fraction < 0.04


def test_stage_keeps_the_start_when_nothing_improves() -> None:
    geo = get_geometry("calogan")
    truth = _sim("calogan", 10_000.0, 100, 5)
    groups = [Group.build(truth, idx, geo, 100) for idx in energy_groups(truth.energies)]
    cfg = load_config("calogan")
    cfg.shape = ShapeConfig()
    tuner = Tuner(cfg, geo, groups, seed=3, evaluations=2)
    result = tuner.fit_stage(Stage("none", (), ("widths",)))
    assert result.loss_after == result.loss_before


def test_cli_tune_writes_a_config_simulate_reads(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "g4.h5"
    assert main(["simulate", "--geometry", "calogan", "--particle", "positron", "-n", "120",
                 "--energy", "10000", "--seed", "9", "-o", str(target), "--no-progress"]) == 0
    out = tmp_path / "tuned.yaml"
    assert main(["tune", str(target), "--preset", "calogan", "--n-fit", "60",
                 "--evaluations", "1", "-o", str(out), "--no-progress",
                 "--json", str(tmp_path / "fit.json")]) == 0
    text = out.read_text()
    assert text.startswith("# Fitted to Geant4 by:") and "shape:" in text
    assert "halo" in capsys.readouterr().out
    cfg = load_config(out)
    assert cfg.geometry == "calogan" and cfg.particle == "positron"
    assert main(["simulate", "--config", str(out), "-n", "5", "-o", str(tmp_path / "s.h5"),
                 "--no-progress"]) == 0
    assert main(["tune", str(target), "--preset", "calogan", "-o", str(out)]) == 2  # exists
    assert main(["tune", str(tmp_path / "none.h5"), "--preset", "calogan",
                 "-o", str(tmp_path / "x.yaml")]) == 2


def test_reference_wrong_geometry(tmp_path: Path) -> None:
    target = tmp_path / "ds1.h5"
    assert main(["simulate", "--geometry", "ds1-photons", "-n", "5", "-o", str(target),
                 "--no-progress"]) == 0
    with pytest.raises(InputError, match="368 voxels"):
        load_reference([target], "calogan")


def test_retuning_does_not_rename_geant4_sets() -> None:
    ref = ReferenceSet("calogan", "positron", 10_000.0, 2000)
    key = settings_key(ref, 1)
    cfg = load_config("calogan")
    data = geant4_settings(cfg)
    assert "shape" not in data and "stochastic_term" not in data["readout"]
    assert "energy_scale" in data["readout"] and len(key) == 8


def test_compare_of_a_sample_with_itself_is_zero() -> None:
    geo = get_geometry("calogan")
    s = _sim("calogan", 10_000.0, 100, 1)
    c = compare(s, s, geo)
    assert c.mean_separation == 0.0 and c.response_diff == 0.0 and c.layer_fraction_pp == 0.0


@pytest.mark.parametrize("preset", ["calogan", "ds1-photons", "ds2", "ds3", "ild-photons"])
def test_presets_ship_a_tuning(preset: str) -> None:
    shape = load_config(preset).shape
    assert not shape.is_textbook()
    assert len(shape.layer_gain) == get_geometry(preset).n_layers
    text = (Path(__file__).resolve().parents[1] / "src" / "caloforge" / "simulate" / "presets"
            / f"{preset}.yaml").read_text()
    assert "caloforge tune" in text          # the command that made it
