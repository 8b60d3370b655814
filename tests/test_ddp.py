"""Data-parallel training: 2 CPU ranks (gloo, launched by torchrun) end with the parameters of one
process on the same global batches in float64, because every shower's noise is keyed by its row
of the global batch; a kill and resume on 2 ranks changes nothing; only rank 0 writes; and
``caloforge train --ddp`` runs under torchrun and refuses to run without it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from tests.conftest import simulate_file

from caloforge.cli.main import main
from caloforge.noise import BatchRows, RowGenerator, batch_noise
from caloforge.train.distributed import DataParallel, World, shard

HERE = Path(__file__).resolve().parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
            "2"]
#: Environment of the launched ranks: one thread each, no inherited process group.
ENV = {**{k: v for k, v in os.environ.items()
          if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")},
       "OMP_NUM_THREADS": "1"}
TOLERANCE = 1e-8


def _worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ddp_worker", HERE / "ddp_worker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _torchrun(args: list[str], cwd: Path) -> None:
    done = subprocess.run([*TORCHRUN, *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_two_ranks_equal_one_process_in_float64(tmp_path: Path) -> None:
    w = _worker()
    _torchrun([str(HERE / "ddp_worker.py"), str(tmp_path / "ddp")], tmp_path)
    ranks = [torch.load(tmp_path / "ddp" / f"rank-{r}.pt", weights_only=False) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]

    model, result = w.train(tmp_path / "one")  # the same training in this process, no group
    one = w.parameters(model)
    initial = w.parameters(w.Noisy())
    assert result.steps == w.STEPS and result.stopped == "max steps"
    keyed = ranks[0]["keyed"]
    assert keyed["steps"] == w.STEPS
    diff = (keyed["params"] - one).abs().max().item()
    print(f"max |param_1rank - param_2rank| = {diff:.3g}")
    assert diff <= TOLERANCE
    assert torch.equal(keyed["params"], ranks[1]["keyed"]["params"])  # the ranks agree
    # validation and training losses: the same number on both ranks, and as one process's
    assert keyed["history"] == ranks[1]["keyed"]["history"]
    for mine, theirs in zip(result.history, keyed["history"], strict=True):
        for key in ("train_loss", "train_abs", "val_loss", "val_abs", "lr"):
            assert theirs[key] == pytest.approx(mine[key], rel=1e-12, abs=1e-12), key

    # the noise matters: training moved the weights, another seed ends elsewhere, and noise
    # drawn per rank (not keyed by row) ends far from one process
    assert (one - initial).abs().max().item() > 1e3 * TOLERANCE
    other, _ = w.train(tmp_path / "seed1", seed=1)
    assert (w.parameters(other) - one).abs().max().item() > 1e3 * TOLERANCE
    per_rank = (ranks[0]["per_rank"]["params"] - one).abs().max().item()
    assert per_rank > 1e3 * TOLERANCE

    # killed after 13 steps on 2 ranks and resumed on 2 ranks: the uninterrupted result
    resumed = ranks[0]["resumed"]
    assert resumed["calls"] == w.STEPS - w.CRASH_AFTER
    assert (resumed["params"] - one).abs().max().item() <= TOLERANCE

    # only rank 0 wrote: one line per epoch and one for the stop, not two of each
    log = (tmp_path / "ddp" / "keyed" / "train.log").read_text().splitlines()
    assert len(log) == len(result.history) + 1 and log[-1].startswith("stopped: max steps")


def test_rows_of_the_global_batch() -> None:
    assert [shard(16, World(r, 2)).rows for r in range(2)] == [BatchRows(0, 8, 16),
                                                               BatchRows(8, 16, 16)]
    stand_in = shard(1, World(1, 2))  # a 1-row last batch: rank 1 computes, weighted 0
    assert stand_in.rows == BatchRows(0, 1, 1) and stand_in.weight == 0.0
    whole = batch_noise(torch.randn, (5, 3), torch.Generator().manual_seed(4))
    parts = [batch_noise(torch.randn, (s.rows.n, 3),
                         RowGenerator(rows=s.rows).manual_seed(4))
             for s in (shard(5, World(r, 2)) for r in range(2))]
    assert torch.equal(torch.cat(parts), whole)
    with pytest.raises(ValueError, match="rows 0:3"):
        batch_noise(torch.rand, (2,), RowGenerator(rows=BatchRows(0, 3, 5)))
    dp = DataParallel(World(1, 2), split=False)  # modules without optimizers: whole batches
    batch = {"x": torch.arange(4.0)}
    assert dp.split(batch, dp.generator(0)) is batch


def test_ddp_without_torchrun_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "d.h5"), "-o", str(out), "--ddp"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "torchrun" in err[0] and "RANK and WORLD_SIZE unset" in err[0]
    assert "Traceback" not in err[0] and not out.exists()


@pytest.mark.slow
def test_cli_train_ddp_under_torchrun(tmp_path: Path) -> None:
    """``caloforge train --ddp`` on 2 CPU ranks: teacher and distilled student, as one process
    trains them (float32 here, so to float rounding)."""
    from caloforge.train.run import Run

    data = simulate_file(tmp_path / "ds1.h5", "ds1-photons", 300, 3)
    flags = ["--data", str(data), "--preset", "tiny", "--epochs", "1", "--batch-size", "64",
             "--device", "cpu", "--threads", "1", "--no-progress"]
    _torchrun(["-m", "caloforge.cli.main", "train", *flags, "-o", str(tmp_path / "ddp"),
               "--ddp"], tmp_path)
    assert main(["train", *flags, "-o", str(tmp_path / "one")]) == 0
    ddp, one = Run.load(tmp_path / "ddp"), Run.load(tmp_path / "one")
    assert ddp.done == one.done == ["teacher", "student"]
    for stage in ddp.done:
        folder = tmp_path / "ddp" / "stages" / stage
        assert len((folder / "train.log").read_text().splitlines()) == 2  # rank 0's only
        a, b = (torch.load(tmp_path / run / "stages" / stage / "model.pt") for run in
                ("ddp", "one"))
        worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a
                    if a[k].is_floating_point())
        print(f"{stage}: max |param_1rank - param_2rank| = {worst:.3g} (float32)")
        assert worst < 1e-4, (stage, worst)
