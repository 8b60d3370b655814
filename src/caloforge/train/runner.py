"""Run a family's recipe: its stages in order, each resumable, the status kept in the run.

``caloforge train --model NAME`` calls :func:`train_run`. A killed run continues from the last
finished stage and, within the running stage, from its last checkpoint (the same command again).
In data-parallel training (:mod:`caloforge.train.distributed`) every rank runs this and rank 0
writes the run directory.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caloforge.config import from_dict, merge, to_dict
from caloforge.data.io import ShowerFile
from caloforge.data.scan import DataSummary, scan_training_file
from caloforge.errors import InputError
from caloforge.models.family import Family, SetupData, Stage
from caloforge.models.registry import get_family, load_recipe
from caloforge.seeds import seeded_init
from caloforge.train import distributed
from caloforge.train.checkpoint import atomic_save
from caloforge.train.config import TrainConfig
from caloforge.train.engine import TrainResult, fit
from caloforge.train.run import (
    MODEL,
    Run,
    prepare_run_dir,
    read_run_config,
    read_status,
    stage_dir,
    write_run_config,
    write_status,
)
from caloforge.train.sources import FileSource, ShowerSource, TensorSource, showers_to_batch

__all__ = ["StageReport", "fork_run", "train_run"]

log = logging.getLogger("caloforge")

#: Data sets up to this size (float32 voxels) are held in memory; larger ones are streamed.
IN_MEMORY_MB = 2048.0


@dataclass
class StageReport:
    """What one stage did: its result, or None when it had finished before."""

    stage: str
    result: TrainResult | None


class _Data:
    """The training showers, in memory or streamed, split per stage's seed."""

    def __init__(self, summary: DataSummary, stream: bool | None) -> None:
        self.summary = summary
        big = summary.voxel_bytes > IN_MEMORY_MB * 2**20
        self.stream = big if stream is None else stream
        self.tensors = None
        if not self.stream:
            showers = ShowerFile(summary.path).read(0, summary.n)
            self.tensors = showers_to_batch(showers, summary.angles)

    def source(self, config: TrainConfig) -> ShowerSource:
        if self.tensors is not None:
            return TensorSource(self.tensors, config.val_fraction, config.seed)
        return FileSource(self.summary.path, config.val_fraction, config.seed,
                          angles=self.summary.angles, max_showers=self.summary.n)


def _apply_overrides(stages: Sequence[Stage], overrides: Mapping[str, dict[str, Any]]) -> None:
    """Per-stage training settings: ``overrides['*']`` for every stage, then by stage name."""
    names = [s.name for s in stages]
    for key in overrides:
        if key != "*" and key not in names:
            raise InputError(f"no stage '{key}' in this recipe", f"stages: {', '.join(names)}")
    for stage in stages:
        values = merge(overrides.get("*", {}), overrides.get(stage.name, {}))
        updated = from_dict(type(stage.train), merge(to_dict(stage.train), values), stage.name)
        for key, value in to_dict(updated.validate()).items():
            setattr(stage.train, key, value)


def _load_recipe(family: Family, path: Path, resume: bool, geo_name: str,
                 preset: str | Path | None, overrides: dict[str, Any] | None) -> Any:
    if not resume:
        return load_recipe(family, preset, geo_name, overrides)
    stored = read_run_config(path)
    if stored.get("geometry") != geo_name:
        raise InputError(f"run '{path}' models '{stored.get('geometry')}' showers, the data are "
                         f"'{geo_name}' showers", "use data of the run's geometry or another --out")
    if preset is not None or overrides:  # the same command again: the stored recipe wins
        log.info("resuming '%s' with its stored recipe (--preset and --set apply to new runs; "
                 "--force starts afresh)", path)
    return from_dict(family.recipe_class, stored["recipe"], f"{path}/config.yaml")


def train_run(family: str | Family, data: str | Path, out: str | Path, *,
              preset: str | Path | None = None, overrides: dict[str, Any] | None = None,
              train: Mapping[str, dict[str, Any]] | None = None,
              stages: Sequence[str] | None = None, geometry: str | None = None,
              max_showers: int | None = None, force: bool = False, progress: bool = True,
              stream: bool | None = None) -> tuple[Run, list[StageReport]]:
    """Train a family's stages on a shower file into run directory ``out``.

    Arguments:
        family: Family name or object.
        data: Training showers (CaloChallenge HDF5). The run records the data its setup saw
            (``config.yaml``) and each stage's (``status.json``); a later stage may train on
            other showers (distillation on a subset), a started stage resumes on its own.
        out: Run directory; an existing run of the family is resumed.
        preset: Recipe preset or YAML file (default: the geometry's preset).
        overrides: Nested recipe values (``--set``).
        train: Training settings by stage name, ``*`` for every stage (``--epochs`` ...).
        stages: Train only these stages (the earlier ones must be finished).
        geometry: Geometry of the data (default: from the file).
        max_showers: Use only the first showers of the file.
        force: Replace an existing run.
        progress: Progress bars.
        stream: Stream the file from disk (default: when its voxels exceed
            :data:`IN_MEMORY_MB`).

    Returns:
        The run and one :class:`StageReport` per stage.
    """
    fam = get_family(family) if isinstance(family, str) else family
    path, resume = distributed.on_main(prepare_run_dir, out, fam.name, force)
    main = distributed.world().main
    if resume and max_showers is None:
        max_showers = read_run_config(path)["data"]["n"]
    try:
        geo, summary = scan_training_file(data, geometry, max_showers)
        recipe = _load_recipe(fam, path, resume, geo.name, preset, overrides)
        all_stages = fam.stages(recipe)
        _apply_overrides(all_stages, train or {})
        showers = _Data(summary, stream)
        if not resume:
            first = all_stages[0].train
            fam.setup(recipe, SetupData(geo, summary,
                                        lambda n: showers.source(first).subset(n, first.seed),
                                        first.seed))
            all_stages = fam.stages(recipe)  # rebuilt on the fitted recipe
            _apply_overrides(all_stages, train or {})
    except BaseException:
        if not resume and main:  # a refused new run leaves no directory behind
            shutil.rmtree(path, ignore_errors=True)
        raise
    data_record = read_run_config(path)["data"] if resume else summary.to_json()
    if main:
        write_run_config(path, {"family": fam.name, "geometry": geo.name, "data": data_record,
                                "recipe": to_dict(recipe), "stages": [s.name for s in all_stages]})
    status = read_status(path)
    distributed.barrier()  # every rank has read the status before rank 0 writes it
    wanted = list(stages) if stages else [s.name for s in all_stages]
    unknown = set(wanted) - {s.name for s in all_stages}
    if unknown:
        raise InputError(f"no stage {', '.join(sorted(unknown))} in the {fam.name} recipe",
                         f"stages: {', '.join(s.name for s in all_stages)}")
    reports = []
    for k, stage in enumerate(all_stages):
        done = status.get(stage.name, {}).get("status") == "done"
        if stage.name not in wanted or done:
            if done and stage.name in wanted:
                reports.append(StageReport(stage.name, None))
            continue
        missing = [s.name for s in all_stages[:k]
                   if status.get(s.name, {}).get("status") != "done"]
        if missing:
            raise InputError(f"stage '{stage.name}' needs the finished stage(s) "
                             f"{', '.join(missing)}", "train them first (leave out --stages)")
        data_key = {"path": summary.path, "n": summary.n}
        started = status.get(stage.name, {}).get("data")
        if started and started != data_key:
            raise InputError(f"stage '{stage.name}' of '{path}' started on {started['n']} showers "
                             f"of '{started['path']}'", "resume it on the same data "
                             "(--data, --max-showers) or pass --force to start afresh")
        earlier = Run(path).model if k else None
        status[stage.name] = {"status": "running", "data": data_key,
                              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        if main:
            write_status(path, status)
        with seeded_init(stage.train.seed):
            module = stage.build({s.name: earlier(s.name) for s in all_stages[:k]}
                                 if earlier else {})
        log.info("stage %d/%d: %s", k + 1, len(all_stages), stage.name)
        result = fit(module, showers.source(stage.train), stage.train, stage_dir(path, stage.name),
                     progress=progress, resume=True)
        kept = stage.keep(module)
        if main:
            atomic_save(kept.state_dict(), stage_dir(path, stage.name) / MODEL)
        prefix = next(f"{name}." if name else "" for name, m in module.named_modules()
                      if m is kept)  # where the kept weights sit in the engine's checkpoints
        status[stage.name] = {"status": "done", "data": data_key, "weights_prefix": prefix,
                              "epochs": result.epochs, "steps": result.steps,
                              "best_epoch": result.best_epoch,
                              "best_val_loss": result.best_val_loss, "stopped": result.stopped,
                              "train_minutes": round(result.train_seconds / 60, 3)}
        if main:
            write_status(path, status)
        distributed.barrier()  # the next stage reads this one's kept model
        reports.append(StageReport(stage.name, result))
    return Run(path), reports


def fork_run(source: str | Path, out: str | Path, stages: Sequence[str], force: bool = False
             ) -> Path:
    """A new run directory holding copies of finished ``stages`` of ``source`` (their kept
    models, metrics and snapshots, not the resume checkpoints): the start of, e.g., another
    student from the same teacher.

    Raises:
        InputError: ``out`` exists (without ``force``) or a stage is not finished in ``source``.
    """
    src, dst = Path(source), Path(out)
    config = read_run_config(src)
    status = read_status(src)
    for name in stages:
        if status.get(name, {}).get("status") != "done":
            raise InputError(f"run '{src}' has no finished stage '{name}'", "train it first")
    path, resume = prepare_run_dir(dst, config["family"], force)
    if resume:
        raise InputError(f"'{dst}' already holds a run", "pass --force to replace it")
    for name in stages:  # hard links where the file system allows (snapshots are large)
        shutil.copytree(stage_dir(src, name), stage_dir(path, name),
                        ignore=shutil.ignore_patterns("last.pt"), copy_function=_link_or_copy)
    write_run_config(path, {k: v for k, v in config.items() if k != "caloforge_version"})
    write_status(path, {name: status[name] for name in stages})
    return path


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
