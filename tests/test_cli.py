from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from caloforge.cli.main import main


def _bad_files(tmp: Path, good: Path) -> dict[str, tuple[Path, str]]:
    def raw(name: str, **datasets: np.ndarray) -> Path:
        with h5py.File(tmp / name, "w") as f:
            for k, v in datasets.items():
                f[k] = v
        return tmp / name

    e, x = np.full((3, 1), 100.0), np.ones((3, 368))
    corrupt = tmp / "corrupt.h5"
    corrupt.write_bytes(good.read_bytes()[:2000])
    return {
        "missing": (tmp / "nope.h5", "not found"),
        "missing-key": (raw("k.h5", showers=x), "no 'incident_energies' dataset"),
        "n-mismatch": (raw("n.h5", incident_energies=e[:2], showers=x), "2 incident energies"),
        "nan": (raw("nan.h5", incident_energies=e, showers=x * np.nan), "NaN or inf"),
        "negative": (raw("neg.h5", incident_energies=e, showers=-x), "negative energy"),
        "empty": (raw("empty.h5", incident_energies=e[:0], showers=x[:0]), "holds no showers"),
        "corrupt": (corrupt, "not a readable HDF5 file"),
    }


def test_info_ok(shower_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(shower_file)]) == 0
    out = capsys.readouterr().out
    assert "ds1-photons" in out
    assert "showers        50" in out


@pytest.mark.parametrize("case", ["missing", "missing-key", "n-mismatch", "nan", "negative",
                                  "empty", "corrupt"])
def test_info_bad_input_one_line(case: str, tmp_path: Path, shower_file: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path, message = _bad_files(tmp_path, shower_file)[case]
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_mismatched_geometry_and_unknown_geometry(shower_file: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(shower_file), "--geometry", "ds3"]) == 2
    assert "pass the --geometry that matches" in capsys.readouterr().err
    assert main(["info", str(shower_file), "--geometry", "nope"]) == 2
    assert "unknown geometry 'nope'" in capsys.readouterr().err


def test_verbose_shows_traceback(tmp_path: Path) -> None:
    from caloforge.errors import InputError

    with pytest.raises(InputError):
        main(["--verbose", "info", str(tmp_path / "nope.h5")])


def test_geometries_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["geometries"]) == 0
    out = capsys.readouterr().out
    for name, n in [("ds1-photons", 368), ("ds3", 40500), ("ild-photons", 54000)]:
        assert name in out
        assert str(n) in out


def test_console_script_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "caloforge"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "caloforge.cli.main"]
    proc = subprocess.run([*cmd, "info", str(tmp_path / "nope.h5")], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("caloforge: error: file")
    assert "Traceback" not in proc.stderr
