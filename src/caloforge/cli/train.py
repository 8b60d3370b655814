"""``caloforge train`` and ``caloforge distill``: fit a CaloFlow teacher, distil a student."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from caloforge.config import from_dict, merge
from caloforge.errors import InputError
from caloforge.train.caloflow import distill_caloflow, load_training_data, train_caloflow
from caloforge.train.config import parse_duration
from caloforge.train.engine import TrainResult
from caloforge.train.presets import Recipe, list_recipes, load_recipe
from caloforge.train.run import MEMBER_PREFIX, read_run_config

__all__ = ["register", "run_distill", "run_train"]

TRAIN_EPILOG = """examples:
  caloforge train --model caloflow --data ds1.h5 --out runs/ds1
  caloforge train --model caloflow --data ds1.h5 --out runs/ds1 --time-budget 60m
  caloforge train --model caloflow --data ds1.h5 --out runs/smoke --preset tiny --epochs 1
  caloforge train --data calogan.h5 --out runs/flow1 --preset flow1 --members 5
      (an ensemble: runs/flow1/member-0 ... member-4, seeds seed ... seed+4,
       for 'caloforge calibrate FILE --run runs/flow1')

An interrupted run resumes when the same command is given again (--force starts afresh).
"""

DISTILL_EPILOG = """examples:
  caloforge distill --teacher runs/ds1 --out runs/ds1-student
  caloforge distill --teacher runs/ds1 --out runs/ds1-student --time-budget 50m --beta 0.5
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help=f"recipe: {', '.join(list_recipes())} or a YAML file "
                   "(default: the geometry's, else 'default')")
    p.add_argument("--epochs", type=int, help="maximum epochs")
    p.add_argument("--batch-size", type=int, help="showers per step")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--time-budget", help="stop after this training time, e.g. 90s, 60m, 1.5h")
    p.add_argument("--device", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--checkpoint-every", type=float, metavar="SECONDS",
                   help="checkpoint within epochs this often (default: the preset's, 60 s)")
    p.add_argument("--seed", type=int, help="seed of split, shuffling and initialisation")
    p.add_argument("--max-showers", type=int, help="use at most this many showers of --data")
    p.add_argument("--geometry", help="geometry of --data (default: from the file)")
    p.add_argument("--force", action="store_true", help="replace an existing run in --out")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` and ``distill`` commands."""
    p = sub.add_parser(
        "train", help="train a generative model on a shower file",
        description="Train a CaloFlow (Flow I: layer energies, Flow II: voxels; MAF teacher) "
        "on a CaloChallenge file. Writes a run directory (config.yaml, checkpoints/, "
        "metrics.csv) that is all 'generate' and 'log-prob' need. Checkpoints within epochs; "
        "an interrupted run resumes.", epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["caloflow"], default="caloflow", help="model family")
    p.add_argument("--data", required=True, help="training showers (.h5)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--members", type=int, default=1,
                   help="train an ensemble of this many runs in OUT/member-K with seeds "
                   "seed+K (calibration uses 5; default 1)")
    _common(p)
    p.set_defaults(func=run_train)

    d = sub.add_parser(
        "distill", help="distil a CaloFlow teacher into a fast IAF student",
        description="Probability-density distillation: train an IAF student (one-pass "
        "sampling) to reproduce the teacher's Flow II, loss beta MSE_x + (1 - beta) MSE_z; "
        "the checkpoint with the lowest KL(student || teacher) is kept.",
        epilog=DISTILL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--teacher", required=True, help="teacher run directory")
    d.add_argument("--out", required=True, help="student run directory")
    d.add_argument("--data", help="showers (default: the teacher's training file)")
    d.add_argument("--beta", type=float, help="weight of the x-path loss (default 0.5)")
    _common(d)
    d.set_defaults(func=run_distill)


def _train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    budget = parse_duration(args.time_budget) if args.time_budget else None
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "time_budget_s": budget, "device": args.device, "threads": args.threads,
            "seed": args.seed, "checkpoint_every_s": args.checkpoint_every}


def _report(what: str, n: int, geometry: str, result: TrainResult, out: str) -> None:
    print(f"{what} on {n} showers ({geometry}): best validation loss {result.best_val_loss:.5g} "
          f"at epoch {result.best_epoch}/{result.epochs} (stopped: {result.stopped}), "
          f"{result.train_seconds / 60:.1f} min; run directory: {out}")


def _announce_resume(out: str, force: bool) -> None:
    last = Path(out) / "checkpoints" / "last.pt"
    if last.is_file() and not force:
        print(f"resuming the run in {out} from its last checkpoint", file=sys.stderr)


def run_train(args: argparse.Namespace) -> int:
    """Train (one run, or ``--members`` runs with consecutive seeds); a summary line each."""
    if args.members < 1:
        raise InputError("--members must be >= 1", "give the number of ensemble members")
    data = load_training_data(args.data, args.max_showers, args.geometry)
    outs = ([args.out] if args.members == 1 else
            [str(Path(args.out) / f"{MEMBER_PREFIX}{k}") for k in range(args.members)])
    for k, out in enumerate(outs):
        _announce_resume(out, args.force)
        over = _train_overrides(args)
        if args.members > 1:
            over["seed"] = (args.seed or 0) + k
        recipe = load_recipe(args.preset, data.geometry, {"train": over})
        run, result = train_caloflow(data, out, recipe, force=args.force,
                                     progress=not args.no_progress)
        _report(f"trained caloflow ({sum(run.model.parameter_counts().values())} parameters)",
                data.n, data.geometry, result, out)
    return 0


def run_distill(args: argparse.Namespace) -> int:
    """Distil and print one summary line."""
    _announce_resume(args.out, args.force)
    teacher = Path(args.teacher)
    stored = read_run_config(teacher)
    data = load_training_data(args.data or stored["data"]["path"], args.max_showers,
                              args.geometry)
    over = {"distill_train": _train_overrides(args), "distill": {"beta": args.beta}}
    if args.preset:
        recipe = load_recipe(args.preset, data.geometry, over)
    else:
        teacher_recipe = {"model": stored.get("model", {}), **stored.get("recipe", {})}
        recipe = from_dict(Recipe, merge(teacher_recipe, over), str(teacher / "config.yaml"))
        recipe.distill_train.validate()
    _, result = distill_caloflow(teacher, data, args.out, recipe, force=args.force,
                                 progress=not args.no_progress)
    _report("distilled caloflow student", data.n, data.geometry, result, args.out)
    return 0
