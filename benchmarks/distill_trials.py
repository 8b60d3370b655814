"""Short distillation trials: which batch size and learning rate distil fastest on a budget.

Each trial distils a trained CaloFlow teacher's Flow II for the same wall-clock budget on the
same subset of showers (the preset's student architecture and loss; seeded split) and reports
the best validation ``KL(student || teacher)`` per feature, the checkpoint criterion of
distillation. Trials run one after another, so they do not share the CPU. Prints a table and
writes ``benchmarks/results/distill_trials[-TAG].json``.

    python benchmarks/fidelity.py --work runs/fid --stop-after-training ...   # a teacher
    python benchmarks/distill_trials.py --teacher runs/fid/run --data runs/fid/train.h5 \
        --trials 500:3e-4,250:2e-3 --budget 4m

Each trial is a copy of the teacher's run (``fork_run``) whose ``student`` stage is trained.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from _results import results_path
from caloforge import __version__
from caloforge.train import fork_run, parse_duration, train_run

DEFAULT_TRIALS = "500:3e-4,500:1e-3,500:2e-3,250:3e-4,250:6e-4,250:1e-3,250:2e-3,125:3e-4,125:6e-4"


def trial(teacher: Path, data: Path, n: int, batch: int, lr: float, budget_s: float,
          work: Path) -> dict[str, Any]:
    """One distillation of ``budget_s`` seconds; its epochs and best validation KL."""
    run = fork_run(teacher, work / f"b{batch}-lr{lr:g}", ["teacher"], force=True)
    over = {"epochs": 10_000, "patience": 0, "time_budget_s": budget_s, "batch_size": batch,
            "lr": lr}
    _, reports = train_run("caloflow", data, run, train={"student": over}, stages=["student"],
                           max_showers=n, progress=False)
    result = reports[0].result
    assert result is not None
    return {"batch": batch, "lr": lr, "epochs": result.epochs,
            "val_kl_per_feature": result.best_val_loss,
            "val_kl_by_epoch": [h["val_loss"] for h in result.history],
            "minutes": result.train_seconds / 60}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", type=Path, required=True, help="a trained CaloFlow run")
    p.add_argument("--data", type=Path, required=True, help="the teacher's training file")
    p.add_argument("--n", type=int, default=20_000, help="showers used (first n of the file)")
    p.add_argument("--trials", default=DEFAULT_TRIALS, help="BATCH:LR,...")
    p.add_argument("--budget", default="4m", help="wall-clock budget of each trial")
    p.add_argument("--tag", default="")
    args = p.parse_args()
    budget = parse_duration(args.budget)
    rows = []
    with tempfile.TemporaryDirectory(prefix="distill-trials-") as tmp:
        for item in args.trials.split(","):
            batch, lr = item.split(":")
            row = trial(args.teacher, args.data, args.n, int(batch), float(lr), budget, Path(tmp))
            rows.append(row)
            print(f"batch {row['batch']:>4}  lr {row['lr']:<7g} epochs {row['epochs']:>2}  "
                  f"val KL/feature {row['val_kl_per_feature']:.3f}", flush=True)
    out = {"meta": {"caloforge": __version__, "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                    "cpu": platform.processor() or platform.machine(),
                    "date": time.strftime("%Y-%m-%d"), "n": args.n,
                    "budget_s": budget, "teacher": str(args.teacher),
                    "note": "caloforge reference data (its simulator), not Geant4"},
           "trials": rows}
    path = results_path("distill_trials", args.tag)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
