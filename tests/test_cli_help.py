"""Every command's help: wrapped to 100 columns, the shared flags spelled one way everywhere,
quick to start, global flags anywhere, and shell completion."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from caloforge.cli._flags import HELP_WIDTH
from caloforge.cli.main import build_parser, main

#: dest -> the one spelling of the flags in the convention (docs/cli.md).
CONVENTION = {"out": ["-o", "--out"], "seed": ["--seed"], "device": ["--device"],
              "threads": ["--threads"], "force": ["--force"], "no_progress": ["--no-progress"],
              "verbose": ["-v", "--verbose"], "quiet": ["-q", "--quiet"]}


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"(program)": parser, **sub.choices}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_is_wrapped_and_flags_follow_the_convention(name: str) -> None:
    parser = _commands()[name]
    env_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "200"  # even a wide terminal gets at most HELP_WIDTH columns
    try:
        text = parser.format_help()
    finally:
        if env_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = env_columns
    too_long = [line for line in text.splitlines() if len(line) > HELP_WIDTH]
    assert not too_long, f"{name}: lines over {HELP_WIDTH} columns: {too_long}"
    for action in parser._actions:
        if action.dest in CONVENTION and action.option_strings:
            assert action.option_strings == CONVENTION[action.dest], (name, action.option_strings)
    names = {o for a in parser._actions for o in a.option_strings}
    assert {"-v", "--verbose", "-q", "--quiet"} <= names, name


def test_verbose_and_quiet_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    missing = str(tmp_path) + "/nothing.h5"
    assert main(["info", missing, "-q"]) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(Exception, match="not found"):
        main(["info", missing, "--verbose"])  # the traceback is raised, not printed
    with pytest.raises(Exception, match="not found"):
        main(["-v", "info", missing])


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys, argparse; from caloforge.cli.main import build_parser; "
            "p = build_parser(); sub = [a for a in p._actions "
            "if isinstance(a, argparse._SubParsersAction)][0]; "
            "[q.format_help() for q in [p, *sub.choices.values()]]; "
            "print(sorted(m for m in ('torch', 'h5py', 'scipy', 'matplotlib', 'sklearn', "
            "'madnis', 'zuko') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_completion_script_knows_commands_and_flags(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "_shtab_caloforge" in script and "--time-budget" in script and "anomaly-score" in script


def test_mistyped_names_get_the_nearest(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--geometry", "ds1-photon", "-n", "2", "-o",
                 str(tmp_path) + "/x.h5"]) == 2
    assert "did you mean 'ds1-photons'?" in capsys.readouterr().err
    assert main(["simulate", "--particle", "photn", "-n", "2", "-o",
                 str(tmp_path) + "/x.h5"]) == 2
    assert "did you mean 'photon'?" in capsys.readouterr().err
    assert main(["evaluate", "--reference", "r.h5", "--generated", "g.h5", "--mode", "hsit",
                 "-o", str(tmp_path / "ev")]) == 2
    assert "did you mean 'hist'?" in capsys.readouterr().err


def test_defects_of_the_first_user_trial(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """README's import works; calibrate's help names the ensemble folders train makes; distill
    has no recipe preset of its own; every --device defaults to auto; integrate refuses --plot
    for a process it cannot plot before doing any work."""
    import caloforge
    from caloforge.train import Run

    assert caloforge.Run is Run
    commands = _commands()
    calibrate = commands["calibrate"].format_help()
    assert "member-1" in calibrate and "flow1-0" not in calibrate
    for name in ("calibrate", "anomaly-score", "anomaly-study"):
        assert "--no-progress" in {o for a in commands[name]._actions for o in a.option_strings}
    assert "--preset" not in {o for a in commands["distill"]._actions for o in a.option_strings}
    for name, parser in commands.items():
        for action in parser._actions:
            if action.dest == "device":
                assert action.default in ("auto", None), name  # None: the preset's, auto
    plot = tmp_path / "p.png"
    assert main(["integrate", "--process", "camel-2d", "--train-calls", "100000000",
                 "--eval-calls", "10", "--plot", str(plot)]) == 2
    assert "--plot shows m_ll and cos theta of Drell-Yan" in capsys.readouterr().err
