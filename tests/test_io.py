from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from tests.conftest import make_showers

from caloforge import Showers
from caloforge.data import (
    ShowerFile,
    ShowerWriter,
    open_validated,
    read_showers,
    summarize_file,
    write_showers,
)
from caloforge.errors import InputError


def test_round_trip_bit_exact(tmp_path: Path) -> None:
    s = make_showers(37, angles=True)
    path = write_showers(tmp_path / "a.h5", s, metadata={"seed": 5})
    back = read_showers(path)
    for name in ("energies", "voxels", "theta", "phi", "particle"):
        a, b = getattr(s, name), getattr(back, name)
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    assert back.geometry == "ds1-photons"
    meta = ShowerFile(path).metadata
    assert meta["seed"] == 5
    assert meta["producer"] == "caloforge"
    assert meta["geometry"] == "ds1-photons"


def test_written_file_has_the_usual_permissions(shower_file: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    assert shower_file.stat().st_mode & 0o777 == 0o666 & ~mask


def test_calochallenge_layout(shower_file: Path) -> None:
    with h5py.File(shower_file) as f:
        assert f["incident_energies"].shape == (50, 1)
        assert f["showers"].shape == (50, 368)
        assert f["showers"].compression == "gzip"


def test_chunked_read_equals_full_read(shower_file: Path) -> None:
    full = read_showers(shower_file)
    chunks = list(ShowerFile(shower_file).iter_chunks(7))
    assert [len(c) for c in chunks] == [7] * 7 + [1]
    joined = Showers.concatenate(chunks)
    assert np.array_equal(joined.voxels, full.voxels)
    assert np.array_equal(joined.energies, full.energies)


def test_streamed_writer_equals_single_write(tmp_path: Path) -> None:
    s = make_showers(30)
    with ShowerWriter(tmp_path / "w.h5", s.n_voxels) as w:
        for start in range(0, 30, 8):
            w.append(s[start : start + 8])
    assert np.array_equal(read_showers(tmp_path / "w.h5").voxels, s.voxels)


def test_no_overwrite_without_force(shower_file: Path, showers: Showers) -> None:
    with pytest.raises(InputError, match="already exists; pass --force"):
        write_showers(shower_file, showers)
    write_showers(shower_file, showers[:3], force=True)
    assert ShowerFile(shower_file).n == 3


def _write_then_crash(target: Path, force: bool = False) -> None:
    with ShowerWriter(target, 368, force=force) as w:
        w.append(make_showers(5, seed=9))
        raise RuntimeError("killed mid-way")


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError, match="killed"):
        _write_then_crash(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_old_file(shower_file: Path) -> None:
    before = shower_file.read_bytes()
    with pytest.raises(RuntimeError, match="killed"):
        _write_then_crash(shower_file, force=True)
    assert shower_file.read_bytes() == before


def _write_raw(path: Path, **datasets: np.ndarray) -> Path:
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f[key] = value
    return path


E = np.full((4, 1), 1000.0)
X = np.ones((4, 368))


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"showers": X}, "no 'incident_energies' dataset"),
        ({"incident_energies": E}, "no 'showers' dataset"),
        ({"incident_energies": E[:3], "showers": X}, "3 incident energies but 4 showers"),
        ({"incident_energies": E, "showers": X[:, :, None]}, "expected (N, n_voxels)"),
        ({"incident_energies": E[:0], "showers": X[:0]}, "holds no showers"),
    ],
)
def test_bad_headers(tmp_path: Path, datasets: dict, message: str) -> None:
    path = _write_raw(tmp_path / "bad.h5", **datasets)
    with pytest.raises(InputError) as info:
        ShowerFile(path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("voxels", "energies", "message"),
    [
        (np.where(np.eye(4, 368) > 0, np.nan, 1.0), E, "NaN or inf in 'showers' at row 0"),
        (np.where(np.eye(4, 368, 2) > 0, -2.0, 1.0), E, "negative energy -2 MeV"),
        (X, np.array([[1.0], [0.0], [1.0], [1.0]]), "non-positive incident energy at row 1"),
        (X, np.array([[1.0], [np.inf], [1.0], [1.0]]), "NaN or inf in 'incident_energies'"),
    ],
)
def test_bad_values(tmp_path: Path, voxels: np.ndarray, energies: np.ndarray, message: str) -> None:
    path = _write_raw(tmp_path / "bad.h5", incident_energies=energies, showers=voxels)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        open_validated(path)


def test_geometry_mismatch(shower_file: Path) -> None:
    with pytest.raises(InputError, match="has 368 voxels per shower but geometry 'ds2' has 6480"):
        open_validated(shower_file, geometry="ds2")


def test_not_hdf5_and_truncated(tmp_path: Path, shower_file: Path) -> None:
    text = tmp_path / "x.h5"
    text.write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        ShowerFile(text)
    cut = tmp_path / "cut.h5"
    data = shower_file.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        open_validated(cut)
    with pytest.raises(InputError, match="not found"):
        ShowerFile(tmp_path / "missing.h5")


def test_summary(shower_file: Path, showers: Showers) -> None:
    summary = summarize_file(shower_file, chunk_size=16)
    ratio = showers.total_energy() / showers.energies
    assert summary.n_showers == 50
    assert summary.geometry == "ds1-photons"
    assert summary.etot_over_einc_mean == pytest.approx(ratio.mean(), rel=1e-6)
    assert summary.etot_over_einc_std == pytest.approx(ratio.std(), rel=1e-4)
    nonzero = np.count_nonzero(showers.voxels) / showers.voxels.size
    assert summary.nonzero_fraction == pytest.approx(nonzero)
