"""``caloforge train``, ``caloforge distill`` and ``caloforge models``: a family's recipe into a
run directory."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from caloforge.cli._flags import add_device, add_force, add_out, add_progress, add_seed, add_threads
from caloforge.errors import InputError

__all__ = ["register", "run_distill", "run_models", "run_train"]

log = logging.getLogger("caloforge")

TRAIN_EPILOG = """examples:
  caloforge train --model caloflow --data ds1.h5 -o runs/ds1         # teacher, then student
  caloforge train --model caloflow --data ds1.h5 -o runs/ds1 --time-budget teacher=60m \\
      --time-budget student=50m
  caloforge train --model caloflow --data ds1.h5 -o runs/smoke --preset tiny --epochs 1
  caloforge train --model caloflow --data ds1.h5 -o runs/t --stages teacher --set distill.beta=0.7
  caloforge train --model baseline --data ds3.h5 -o runs/base          # streamed, any size
  caloforge train --data calogan.h5 -o runs/flow1 --preset flow1 --members 5
      (an ensemble: runs/flow1/member-0 ... member-4, seeds seed ... seed+4,
       for 'caloforge calibrate FILE --run runs/flow1')
  torchrun --nproc-per-node 4 -m caloforge.cli.main train --data ds1.h5 -o runs/ddp --ddp
      (data-parallel on 4 GPUs, or 4 CPU processes; docs/ddp.md)

The same command again resumes an interrupted run: finished stages are kept, the running stage
continues from its last checkpoint (--force starts afresh). 'caloforge models' lists families,
their stages and presets.
"""

DISTILL_EPILOG = """examples:
  caloforge distill --run runs/ds1                           # the student stage of runs/ds1
  caloforge distill --run runs/ds1 -o runs/ds1-b --beta 0.7  # another student, same teacher
"""


def _set(text: str) -> tuple[list[str], Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InputError(f"cannot read --set '{text}'", "write KEY=VALUE, e.g. "
                         "model.flow2.hidden=[256,256]")
    return key.split("."), yaml.safe_load(value)


def _nested(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in pairs:
        keys, value = _set(text)
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return out


def _training_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, help="maximum epochs (every stage)")
    p.add_argument("--batch-size", type=int, help="showers per step (every stage)")
    p.add_argument("--lr", type=float, help="peak learning rate (every stage)")
    p.add_argument("--time-budget", action="append", default=[], metavar="[STAGE=]DURATION",
                   help="stop a stage after this training time, e.g. 60m, 1.5h; "
                   "STAGE=DURATION for one stage (repeatable)")
    p.add_argument("--checkpoint-every", type=float, metavar="SECONDS",
                   help="checkpoint within epochs this often (default: the preset's, 60 s)")
    p.add_argument("--max-showers", type=int, help="use at most this many showers of --data")
    p.add_argument("--geometry", help="geometry of --data (default: from the file)")
    p.add_argument("--stream", action="store_true",
                   help="stream the data from disk (default: when they exceed 2 GB)")
    p.add_argument("--ddp", action="store_true",
                   help="data-parallel training over the processes torchrun starts (gloo on "
                   "CPU, NCCL on GPUs); --batch-size is the global batch")
    add_seed(p, "seed of split, shuffling, noise and initialisation (default: the preset's, 0)",
             None)
    add_device(p, None)
    add_threads(p)
    add_force(p, "(replace) an existing run in --out")
    add_progress(p)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train``, ``distill`` and ``models`` commands."""
    p = sub.add_parser(
        "train", help="train a model family on a shower file",
        description="Train a model family's recipe on a CaloChallenge file: its stages in "
        "order (caloflow: MAF teacher, then the IAF student distilled from it; baseline: one "
        "statistics pass). Writes a run directory (config.yaml, status.json, stages/NAME/ with "
        "checkpoints and metrics.csv) that is all 'generate', 'log-prob', 'calibrate' and "
        "'anomaly-score' need.", epilog=TRAIN_EPILOG)
    p.add_argument("--model", default="caloflow", metavar="FAMILY",
                   help="model family (default: caloflow; 'caloforge models' lists them)")
    p.add_argument("--data", required=True, help="training showers (.h5)")
    add_out(p, "run directory")
    p.add_argument("--preset", help="recipe preset of the family or a YAML file (default: the "
                   "geometry's, else 'default')")
    p.add_argument("--stages", help="train only these stages, comma-separated (default: all)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value (YAML), e.g. model.flow2.hidden=[256,256]")
    p.add_argument("--members", type=int, default=1,
                   help="train an ensemble of this many runs in OUT/member-K with seeds "
                   "seed+K (calibration uses 5; default 1)")
    _training_flags(p)
    p.set_defaults(func=run_train)

    d = sub.add_parser(
        "distill", help="distil a trained teacher into its fast student (caloflow)",
        description="Run the 'student' stage of a run whose teacher has finished: "
        "probability-density distillation of the MAF into an IAF (one-pass sampling), loss "
        "beta MSE_x + (1 - beta) MSE_z; the checkpoint with the lowest KL(student || teacher) "
        "is kept. With -o, a new run directory gets a copy of the teacher and its own student.",
        epilog=DISTILL_EPILOG)
    d.add_argument("--run", "--teacher", dest="run", required=True,
                   help="run directory with a finished teacher")
    add_out(d, "new run directory (copy of the teacher + this student; default: --run itself)",
            required=False)
    d.add_argument("--data", help="showers (default: the run's training file)")
    d.add_argument("--beta", type=float, help="weight of the x-path loss (default 0.5)")
    _training_flags(d)
    d.set_defaults(func=run_distill)

    m = sub.add_parser("models", help="list model families, their stages and presets",
                       description="Model families known to this installation (built in and "
                       "from the 'caloforge.models' entry-point group).")
    m.set_defaults(func=run_models)


def _budgets(values: list[str]) -> dict[str, dict[str, float]]:
    from caloforge.train.config import parse_duration

    out: dict[str, dict[str, float]] = {}
    for text in values:
        stage, sep, duration = text.rpartition("=")
        out.setdefault(stage if sep else "*", {})["time_budget_s"] = parse_duration(duration)
    return out


def _train_overrides(args: argparse.Namespace, seed: int | None) -> dict[str, dict[str, Any]]:
    every = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "device": args.device, "threads": args.threads, "seed": seed,
             "checkpoint_every_s": args.checkpoint_every}
    out: dict[str, dict[str, Any]] = {"*": {k: v for k, v in every.items() if v is not None}}
    for stage, values in _budgets(args.time_budget).items():
        out.setdefault(stage, {}).update(values)
    return out


def _report(out: str | Path, reports: list[Any], run: Any) -> None:
    for rep in reports:
        if rep.result is None:
            log.info("%s: stage '%s' had finished before", out, rep.stage)
            continue
        r = rep.result
        print(f"{run.family.name} stage '{rep.stage}' on {run.config['data']['n']} showers "
              f"({run.geometry.name}): best validation loss {r.best_val_loss:.5g} at epoch "
              f"{r.best_epoch}/{r.epochs} (stopped: {r.stopped}), {r.train_seconds / 60:.1f} min")
    counts = ", ".join(f"{k} {v}" for k, v in run.parameter_counts().items())
    print(f"run directory: {out} (stages {', '.join(run.done)}; parameters: {counts})")


def _announce_resume(out: str | Path, force: bool) -> None:
    if (Path(out) / "config.yaml").is_file() and not force:
        log.info("resuming the run in %s (finished stages are kept)", out)


@contextmanager
def _ranks(args: argparse.Namespace) -> Iterator[bool]:
    """With ``--ddp``, join torchrun's process group for the command (only rank 0 reports);
    yields whether this process reports."""
    if not args.ddp:
        yield True
        return
    from caloforge.train.distributed import session

    with session(args.device) as world:
        if not world.main:
            log.setLevel(logging.WARNING)
        yield world.main


def run_train(args: argparse.Namespace) -> int:
    """Train (one run, or ``--members`` runs with consecutive seeds); a summary each."""
    from caloforge.train.runner import train_run

    if args.members < 1:
        raise InputError("--members must be >= 1", "give the number of ensemble members")
    outs = ([args.out] if args.members == 1 else
            [str(Path(args.out) / f"member-{k}") for k in range(args.members)])
    stages = args.stages.split(",") if args.stages else None
    with _ranks(args) as main:
        for k, out in enumerate(outs):
            if main:
                _announce_resume(out, args.force)
            seed = args.seed if args.members == 1 else (args.seed or 0) + k
            run, reports = train_run(args.model, args.data, out, preset=args.preset,
                                     overrides=_nested(args.set),
                                     train=_train_overrides(args, seed), stages=stages,
                                     geometry=args.geometry, max_showers=args.max_showers,
                                     force=args.force, progress=not args.no_progress,
                                     stream=args.stream or None)
            if main:
                _report(out, reports, run)
    return 0


def run_distill(args: argparse.Namespace) -> int:
    """The ``student`` stage of a run (or of a copy of it with ``-o``)."""
    from caloforge.train.run import read_run_config
    from caloforge.train.runner import fork_run, train_run

    stored = read_run_config(args.run)
    if "student" not in stored.get("stages", []):
        raise InputError(f"run '{args.run}' ({stored.get('family')}) has no 'student' stage",
                         "distil a caloflow run trained with a student in its recipe")
    data = args.data or stored["data"]["path"]
    if not Path(data).is_file():
        raise InputError(f"the run's training file '{data}' is gone", "pass --data FILE")
    over = _train_overrides(args, args.seed)
    train = {"student": {**over["*"], **over.get("student", {})}}
    with _ranks(args) as main:
        from caloforge.train.distributed import barrier, on_main

        target = args.run
        if args.out and Path(args.out).resolve() != Path(args.run).resolve():
            target = on_main(fork_run, args.run, args.out, ["teacher"], force=args.force)
        if args.beta is not None:
            on_main(_distill_beta, target, args.beta)
        barrier()  # the copied teacher and the stored beta are there for every rank
        if main:
            _announce_resume(target, False)
        run, reports = train_run(stored["family"], data, target, train=train,
                                 stages=["student"], geometry=args.geometry,
                                 progress=not args.no_progress, stream=args.stream or None)
        if main:
            _report(target, reports, run)
    return 0


def _distill_beta(run_dir: str | Path, beta: float) -> None:
    """Store ``distill.beta`` in a run whose student has not started."""
    from caloforge.train.run import read_run_config, read_status, write_run_config

    if read_status(run_dir).get("student"):
        raise InputError(f"the student of '{run_dir}' has started; its beta cannot change",
                         "distil into a new run with -o DIR")
    config = read_run_config(run_dir)
    config["recipe"].setdefault("distill", {})["beta"] = beta
    write_run_config(Path(run_dir), {k: v for k, v in config.items()
                                     if k != "caloforge_version"})


def run_models(args: argparse.Namespace) -> int:
    """One block per family: summary, stages, presets."""
    from caloforge.models.registry import family_names, get_family, load_recipe

    for name in family_names():
        family = get_family(name)
        stages = [s.name for s in family.stages(load_recipe(family))]
        print(f"{name}: {family.summary}\n  stages: {' -> '.join(stages)}\n  presets: "
              f"{', '.join(family.preset_names()) or '-'}")
    return 0
