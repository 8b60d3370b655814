"""CaloFlow fidelity and speed on ds1-photons: train, distil, generate, evaluate, time.

Simulates a training set and a held-out reference with fixed seeds (caloforge's fast simulator
as tuned to Geant4, not Geant4), trains the teacher and distils the student within wall-clock
budgets, evaluates (cls-low, cls-high, FPD, KPD, separation power; teacher on 5k vs 5k, student
on the full held-out set and on 5k for an equal-size comparison), evaluates teacher snapshots
(learning curve), times the student, and scores the baseline family trained on the same showers
(the trivial reference point); prints a table and writes ``benchmarks/results/fidelity[-TAG].json``.

    python benchmarks/fidelity.py --work runs/fidelity --teacher-budget 60m \
        --student-budget 40m --curve 15m,30m,60m --tag cpu
    python benchmarks/fidelity.py --device cuda --teacher-budget 5m --student-budget 2m \
        --curve 1m,2m,5m --tag h100
    python benchmarks/fidelity.py --train-n 150000 --teacher-budget 15m --teacher-schedule 60m \
        --curve 15m --teacher-only --tag cpu-15m      # the 15-minute point of a 60-minute run
    python benchmarks/fidelity.py --train-n 150000 --teacher-budget none --teacher-epochs 11 \
        --teacher-max-steps 710 --teacher-only --tag cpu-710steps   # the same in steps

``--reference geant4`` also scores the models against the cached Geant4 sets of the geometry
(``caloforge reference-set ds1-photons``: 1, 10 and 100 GeV), beside the tuned fast simulator
scored the same way, the Geant4-vs-Geant4 floor, and the models against the fast simulator at
the same energies:

    python benchmarks/fidelity.py --work runs/fid-g4 --train-n 100000 --teacher-budget 15m \
        --curve 15m --teacher-only --reference geant4 --tag geant4-cpu-15m

Every stage skips what its output already holds (a finished run resumes to a no-op), so an
interrupted benchmark continues where it stopped. ``--teacher-run DIR`` reuses a finished
teacher (trained by an earlier call on the same data) to distil and evaluate a new student.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _results import results_path
from caloforge import __version__
from caloforge.data.io import ShowerFile
from caloforge.evaluate.runner import evaluate_files
from caloforge.generation import generate as generate_file
from caloforge.simulate import ReferenceSimulator, load_config
from caloforge.train import Run, fork_run, parse_duration, train_run
from caloforge.train.run import read_status, stage_dir

MODES = "cls-low,cls-high,fpd,kpd,hist"


def simulate(path: Path, n: int, seed: int, geometry: str = "ds1-photons") -> Path:
    """Fast-simulator showers of the geometry's preset, as tuned to Geant4 (skipped when the
    file exists)."""
    if not path.exists():
        ReferenceSimulator(load_config(geometry, {"n": n, "seed": seed})).write(
            path, progress=False)
    return path


def generate(run: Run, reference: Path, out: Path, n: int, batch: int) -> Path:
    """Showers for the first ``n`` incident energies of the reference (kept if present)."""
    if not out.exists():
        energies = ShowerFile(reference).read(0, n).energies
        generate_file(run, energies, out, batch_size=batch)
    return out


def baseline_run(train: Path, work: Path) -> Run:
    """The baseline family (per-energy-bin voxel statistics) on the same training showers: the
    trivial reference point of the table."""
    train_run("baseline", train, work / "baseline", progress=False)
    return Run.load(work / "baseline")


def evaluate(reference: Path, generated: Path, out: Path, n: int, modes: str,
             floor: bool = False) -> dict[str, Any]:
    """Headline metrics (with AUC bootstrap errors) of one comparison."""
    result = evaluate_files(reference, generated, out, modes=modes, max_showers=n,
                            reference_split=floor, plots=False)
    model = result.metrics["generated_vs_reference"]
    row: dict[str, Any] = {"n_per_sample": n, **model["summary"]}
    for c in model.get("classifiers", []):
        row[f"{c['mode']}_auc_err"] = c["auc_err"]
    if floor:
        row["floor"] = result.metrics["reference_floor"]["summary"]
    return row


def student_timing(run: Run, reference: Path, chunks: list[int], threads: int) -> list[dict]:
    """ms/shower for a batch of 10k showers, sampled in chunks of the given sizes (CPU)."""
    cpu = Run.load(run.path, device="cpu", stage=run.stage)
    if threads:
        torch.set_num_threads(threads)
    energies = ShowerFile(reference).read(0, 10_000).energies
    rows = []
    for chunk in chunks:
        cpu.sample(energies[:chunk], batch_size=chunk)  # warm-up
        best = min(_timed(cpu, energies, chunk) for _ in range(2))
        rows.append({"batch": len(energies), "chunk": chunk, "ms_per_shower": 1e3 * best,
                     "threads": torch.get_num_threads()})
    return rows


def _timed(run: Run, energies: np.ndarray, chunk: int) -> float:
    t0 = time.perf_counter()
    run.sample(energies, batch_size=chunk)
    return (time.perf_counter() - t0) / len(energies)


def export_run(run: Path, out: Path, part_mb: float = 15.0) -> None:
    """A run's config, status and student weights (float16, split into parts) for transfer;
    see :func:`import_run`."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "status.json"):
        (out / name).write_text((run / name).read_text())
    state = torch.load(stage_dir(run, "student") / "model.pt", map_location="cpu")
    part: dict[str, torch.Tensor] = {}
    size, k = 0, 0
    for key, value in state.items():
        value = value.half() if value.is_floating_point() else value
        if part and size + value.nbytes > part_mb * 1e6:
            torch.save(part, out / f"weights-{k}.pt")
            part, size, k = {}, 0, k + 1
        part[key], size = value, size + value.nbytes
    torch.save(part, out / f"weights-{k}.pt")


def import_run(folder: Path, out: Path) -> Path:
    """Rebuild a run directory with a loadable student from :func:`export_run`'s parts
    (float32 again)."""
    stage_dir(out, "student").mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "status.json"):
        (out / name).write_text((folder / name).read_text())
    state: dict[str, torch.Tensor] = {}
    for part in sorted(folder.glob("weights-*.pt")):
        state.update(torch.load(part, map_location="cpu"))
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, stage_dir(out, "student") / "model.pt")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("runs/fidelity"))
    p.add_argument("--preset", default="ds1-photons")
    p.add_argument("--train-n", type=int, default=100_000)
    p.add_argument("--test-n", type=int, default=20_000)
    p.add_argument("--teacher-eval-n", type=int, default=5_000)
    p.add_argument("--teacher-budget", default="60m", help="wall-clock budget, or none")
    p.add_argument("--teacher-epochs", type=int, default=10_000,
                   help="teacher epochs (the schedule runs over them without a time budget)")
    p.add_argument("--teacher-max-steps", type=int,
                   help="stop the teacher after this many steps (a learning-curve point that "
                   "does not depend on the machine's speed; with --teacher-budget none)")
    p.add_argument("--teacher-schedule", help="run the teacher's learning-rate schedule over "
                   "this much time (default: --teacher-budget); with a shorter budget, a point "
                   "of a longer run's learning curve")
    p.add_argument("--teacher-only", action="store_true", help="no student: train, score and "
                   "snapshot the teacher (and the baseline)")
    p.add_argument("--student-budget", default="40m")
    p.add_argument("--curve", default="15m,30m,60m", help="teacher snapshot times")
    p.add_argument("--device", default="auto")
    p.add_argument("--chunks", default="1000,10000", help="student timing chunk sizes")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--tag", default="")
    p.add_argument("--no-timing", action="store_true", help="skip the CPU student timing")
    p.add_argument("--geometry", default="ds1-photons", help="simulation preset of the data")
    p.add_argument("--reference", choices=["fast", "geant4"], default="fast",
                   help="geant4: also score against the cached Geant4 reference sets "
                   "(caloforge reference-set GEOMETRY)")
    p.add_argument("--stop-after-training", action="store_true")
    p.add_argument("--teacher-batch", type=int, help="teacher batch size (default: preset's)")
    p.add_argument("--teacher-lr", type=float, help="teacher peak learning rate")
    p.add_argument("--student-batch", type=int, help="distillation batch size")
    p.add_argument("--student-lr", type=float, help="distillation peak learning rate")
    p.add_argument("--teacher-run", type=Path, metavar="DIR",
                   help="reuse the finished teacher of this run (copied into WORK/run; trained on "
                        "the same --train-n data) and distil, evaluate and time afresh")
    p.add_argument("--time-export", type=Path, metavar="DIR",
                   help="only time an exported student (see --export-student) on this machine's "
                        "CPU and add the table to the JSON of --tag")
    p.add_argument("--export-student", type=Path,
                   help="copy the student run here with half-precision weights in <= 16 MB parts")
    args = p.parse_args()
    if args.time_export:
        time_export(args)
        return
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    run_dir = work / "run"
    if args.teacher_run and not run_dir.exists():
        fork_run(args.teacher_run, run_dir, ["teacher"])
    t_start = time.perf_counter()
    train = simulate(work / "train.h5", args.train_n, seed=101, geometry=args.geometry)
    test = simulate(work / "test.h5", args.test_n, seed=202, geometry=args.geometry)
    curve = [parse_duration(t) for t in args.curve.split(",") if t]
    stages = {
        "teacher": {"epochs": args.teacher_epochs, "snapshots_s": curve, "device": args.device,
                    "patience": 0, "max_steps": args.teacher_max_steps,
                    "time_budget_s": None if args.teacher_budget == "none"
                    else parse_duration(args.teacher_budget),
                    **_given(batch_size=args.teacher_batch, lr=args.teacher_lr,
                             schedule_budget_s=args.teacher_schedule and
                             parse_duration(args.teacher_schedule))},
        "student": {"epochs": 10_000, "patience": 0, "device": args.device,
                    "time_budget_s": parse_duration(args.student_budget),
                    **_given(batch_size=args.student_batch, lr=args.student_lr)}}
    train_run("caloflow", train, run_dir, preset=None if run_dir.exists() else args.preset,
              train=stages, stages=["teacher"] if args.teacher_only else None, progress=False)
    status = read_status(run_dir)
    print("trained: " + ", ".join(f"{k} {v['train_minutes']:.1f} min ({v['epochs']} epochs)"
                                  for k, v in status.items()), flush=True)
    if args.export_student:
        export_run(run_dir, args.export_student)
    if args.stop_after_training:
        return
    dev = "cuda" if torch.cuda.is_available() and args.device != "cpu" else "cpu"
    teacher = Run.load(run_dir, device=dev, stage="teacher")
    n_t = args.teacher_eval_n
    gen_t = generate(teacher, test, work / "gen_teacher.h5", n_t, batch=n_t)
    table: dict[str, Any] = {
        "teacher": evaluate(test, gen_t, work / "eval_teacher", n_t, MODES),
        "baseline": evaluate(test, generate(baseline_run(train, work), test,
                                            work / "gen_baseline.h5", n_t, batch=n_t),
                             work / "eval_baseline", n_t, MODES)}
    timing: list[dict] = []
    if not args.teacher_only:
        student = Run.load(run_dir, device=dev, stage="student")
        gen_s = generate(student, test, work / "gen_student.h5", args.test_n, batch=10_000)
        table["student"] = evaluate(test, gen_s, work / "eval_student", args.test_n, MODES,
                                    floor=True)
        table["student_at_teacher_n"] = evaluate(test, gen_s, work / "eval_student_5k", n_t,
                                                 "cls-low,cls-high")
        if not args.no_timing:
            timing = student_timing(student, test, [int(c) for c in args.chunks.split(",")],
                                    args.threads)
    geant4: list[dict[str, Any]] = []
    if args.reference == "geant4":
        from _geant4_reference import geant4_rows

        runs = {"teacher": teacher}
        if not args.teacher_only:
            runs["student"] = Run.load(run_dir, device=dev, stage="student")
        geant4 = geant4_rows(runs, args.geometry, work, evaluate)
    learning = []
    for t in curve:
        name = f"snapshot-{t:g}s"
        if not (stage_dir(run_dir, "teacher") / "checkpoints" / f"{name}.pt").exists():
            continue
        snap = Run.load(run_dir, device=dev, stage="teacher", checkpoint=name)
        gen = generate(snap, test, work / f"gen_{name}.h5", n_t, batch=n_t)
        learning.append({"teacher_minutes": t / 60,
                         **evaluate(test, gen, work / f"eval_{name}", n_t, "cls-low,cls-high")})
    recipe = teacher.recipe
    training: dict[str, Any] = {
        "teacher_batch": recipe.train.batch_size, "teacher_lr": recipe.train.lr,
        "teacher_schedule_minutes": (recipe.train.schedule_budget_s or
                                     recipe.train.time_budget_s or 0) / 60,
        "teacher_schedule_epochs": recipe.train.epochs,
        "teacher_max_steps": recipe.train.max_steps,
        **{f"{k}_steps": v.get("steps") for k, v in status.items()},
        **{f"{k}_minutes": v["train_minutes"] for k, v in status.items()},
        **{f"{k}_epochs": v["epochs"] for k, v in status.items()},
        "parameters": {k: Run.load(run_dir, stage=k).model(k).parameter_counts()
                       for k in status}}
    if "student" in status:
        training.update(student_batch=recipe.distill_train.batch_size,
                        student_lr=recipe.distill_train.lr)
    out = {
        "meta": {"caloforge": __version__, "torch": torch.__version__, "device": dev,
                 "device_name": torch.cuda.get_device_name() if dev == "cuda"
                 else platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                 "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
                 "preset": args.preset, "geometry": args.geometry, "train_n": args.train_n,
                 "test_n": args.test_n,
                 "seeds": {"train": 101, "test": 202},
                 "note": "trained and scored on caloforge's fast simulator (tuned to Geant4) "
                         "unless a row says geant4; classifier protocol 'fast'",
                 "wall_minutes": (time.perf_counter() - t_start) / 60,
                 "teacher_reused_from": str(args.teacher_run) if args.teacher_run else None},
        "training": training, "metrics": table, "geant4": geant4, "learning_curve": learning,
        "student_timing_cpu": timing}
    print(json.dumps({k: out[k] for k in ("training", "metrics", "geant4", "learning_curve",
                                         "student_timing_cpu")}, indent=1))
    path = results_path("fidelity", args.tag)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None)."""
    return {k: v for k, v in values.items() if v is not None}


def time_export(args: argparse.Namespace) -> None:
    """CPU timing of a student trained elsewhere (weights moved in float16, run in float32),
    added to that run's JSON table."""
    path = results_path("fidelity", args.tag)
    out = json.loads(path.read_text())
    run = Run.load(import_run(args.time_export, args.work / "imported-student"), device="cpu",
                   stage="student")
    test = simulate(args.work / "test.h5", args.test_n, seed=202)
    out["student_timing_cpu"] = student_timing(run, test, [int(c) for c in
                                                          args.chunks.split(",")], args.threads)
    out["meta"]["student_timing_note"] = (
        f"trained student weights from the {out['meta']['device']} run, moved in float16 and run "
        f"in float32 on {platform.processor() or platform.machine()} ({os.cpu_count()} cpus); a "
        "batch of 10,000 ds1 showers sampled in chunks of 'chunk'")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["student_timing_cpu"], indent=1))
    print(f"updated {path}")


if __name__ == "__main__":
    main()
