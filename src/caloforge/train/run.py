"""Run directories, and :class:`Run` to use the models they hold through the family contract.

Layout (written by :func:`caloforge.train.runner.train_run`)::

    config.yaml            family, geometry, data summary (absolute path), the full recipe
                           (with fitted preprocessing), stage names
    status.json            per stage: pending / running / done, epochs, best loss, minutes
    stages/<name>/         the engine's checkpoints/, metrics.csv, train.log; model.pt (kept)

Example (with a run made by ``caloforge train``)::

    run = Run.load("runs/ds1")
    showers = run.sample(np.full(1000, 65536.0), seed=1)   # the last stage that samples
    ll = run.log_prob(showers)                               # the first stage with a density
"""

from __future__ import annotations

import inspect
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import yaml
from torch import nn
from tqdm.auto import tqdm

from caloforge._version import __version__
from caloforge.config import from_dict
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.geometry import get_geometry
from caloforge.models.base import CAPABILITIES, Conditions, require
from caloforge.models.registry import get_family
from caloforge.seeds import derive, seeded_init, torch_generator
from caloforge.tables import write_text
from caloforge.train.engine import resolve_device

if TYPE_CHECKING:
    from caloforge.deploy.runtime import ExportedSampler

__all__ = ["CONFIG", "MEMBER_PREFIX", "Run", "load_runs", "prepare_run_dir", "read_run_config",
           "read_status", "stage_dir", "write_run_config", "write_status"]

CONFIG = "config.yaml"
STATUS = "status.json"
MODEL = "model.pt"
#: Ensemble members made by ``caloforge train --members K`` live in ``OUT/member-<k>``.
MEMBER_PREFIX = "member-"


def stage_dir(path: str | Path, stage: str) -> Path:
    """The folder of one stage of a run."""
    return Path(path) / "stages" / stage


def read_run_config(path: str | Path) -> dict[str, Any]:
    """The parsed ``config.yaml`` of a run directory.

    Raises:
        InputError: ``path`` holds no ``config.yaml``.
    """
    cfg = Path(path) / CONFIG
    if not cfg.is_file():
        raise InputError(f"'{path}' is not a caloforge run directory (no {CONFIG})",
                         "pass the --out folder of 'caloforge train'")
    return yaml.safe_load(cfg.read_text()) or {}


def write_run_config(path: Path, config: dict[str, Any]) -> None:
    """Write ``config.yaml`` atomically (with the caloforge version)."""
    write_text(path / CONFIG, yaml.safe_dump({"caloforge_version": __version__, **config},
                                             sort_keys=False))


def read_status(path: str | Path) -> dict[str, dict[str, Any]]:
    """Per-stage status of a run (empty before the first stage starts)."""
    file = Path(path) / STATUS
    return json.loads(file.read_text()) if file.is_file() else {}


def write_status(path: Path, status: dict[str, dict[str, Any]]) -> None:
    """Write ``status.json`` atomically."""
    write_text(path / STATUS, json.dumps(status, indent=1) + "\n")


def prepare_run_dir(path: str | Path, family: str, force: bool) -> tuple[Path, bool]:
    """Create a run directory, or find one of the same family to resume.

    Returns:
        The path and whether an earlier run is to be resumed.

    Raises:
        InputError: the path exists but is not a run of this family (and not ``force``).
    """
    path = Path(path)
    cfg = path / CONFIG
    if path.exists() and force:
        if cfg.is_file() or not any(path.iterdir()):
            shutil.rmtree(path)
        else:
            raise InputError(f"'{path}' exists and is not a caloforge run directory",
                             "choose another --out; --force only replaces run directories")
    elif path.exists():
        if not cfg.is_file():
            if any(path.iterdir()):
                raise InputError(f"'{path}' exists and is not a caloforge run directory",
                                 "choose another --out")
        else:
            found = read_run_config(path).get("family")
            if found != family:
                raise InputError(f"'{path}' holds a '{found}' run, not '{family}'",
                                 "choose another --out or pass --force to replace it")
            return path, True
    path.mkdir(parents=True, exist_ok=True)
    return path, False


class Run:
    """A trained run, its models loaded on demand.

    Arguments:
        path: The run directory.
        device: Where models are loaded.
        stage: Use this stage for everything (default: the last finished stage that samples
            for :meth:`sample`, the first finished one with a density for :meth:`log_prob`).
        checkpoint: With ``stage``: use its weights at this engine checkpoint (``best``,
            ``snapshot-900s``: learning curves) instead of the kept model.
    """

    def __init__(self, path: str | Path, device: str = "cpu", stage: str | None = None,
                 checkpoint: str | None = None) -> None:
        self.path = Path(path)
        self.config = read_run_config(self.path)
        name = self.config.get("family")
        if not name:
            raise InputError(f"run '{self.path}' records no model family (made by an older "
                             "caloforge?)", "train it again with this version")
        self.family = get_family(name)
        self.recipe = from_dict(self.family.recipe_class, self.config["recipe"],
                                f"{self.path}/{CONFIG}")
        self.geometry = get_geometry(self.config["geometry"])
        self.status = read_status(self.path)
        self.done = [s.name for s in self.family.stages(self.recipe)
                     if self.status.get(s.name, {}).get("status") == "done"]
        if not self.done:
            raise InputError(f"run '{self.path}' has no finished stage yet",
                             "train it first (or give the same train command to resume it)")
        if stage is not None and stage not in self.done:
            raise InputError(f"run '{self.path}' has no finished stage '{stage}'",
                             f"finished stages: {', '.join(self.done)}")
        if checkpoint is not None and stage is None:
            raise InputError("a checkpoint belongs to a stage", "pass stage=... too")
        self.stage, self.checkpoint = stage, checkpoint
        self.device = resolve_device(device)
        self._models: dict[str, nn.Module] = {}

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", stage: str | None = None,
             checkpoint: str | None = None) -> Run:
        """Open a run directory (see the class arguments)."""
        return cls(path, device, stage, checkpoint)

    @property
    def name(self) -> str:
        """``family`` or ``family:stage``."""
        return self.family.name + (f":{self.stage}" if self.stage else "")

    @property
    def response(self) -> float:
        """Median deposited / incident energy of the training data."""
        return float(self.config["data"]["response_median"])

    def model(self, stage: str, checkpoint: str | None = None) -> nn.Module:
        """The kept model of a finished stage (loaded once, in eval mode), or its weights at
        one of the engine's checkpoints (``best``, ``snapshot-900s``, ...)."""
        key = f"{stage}@{checkpoint}" if checkpoint else stage
        if key not in self._models:
            with seeded_init(0):  # an empty model's initialisation must not touch global RNG
                model = self.family.stage(self.recipe, stage).empty_model()
            folder = stage_dir(self.path, stage)
            if checkpoint is None:
                state = torch.load(folder / MODEL, map_location="cpu", weights_only=False)
            else:
                file = folder / "checkpoints" / f"{checkpoint}.pt"
                if not file.is_file():
                    raise InputError(f"run '{self.path}' has no checkpoint '{checkpoint}' in "
                                     f"stage '{stage}'", "list stages/<stage>/checkpoints/")
                prefix = self.status[stage].get("weights_prefix", "")
                raw = torch.load(file, map_location="cpu", weights_only=False)["model"]
                state = {k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)}
            model.load_state_dict(state)
            self._models[key] = model.to(self.device).eval()
        return self._models[key]

    def stage_for(self, capability: str, what: str) -> str:
        """The stage whose model serves ``capability`` (``sample``, ``log_prob``,
        ``log_prob_layers``), refused with one line when no finished stage has it."""
        if self.stage is not None:
            candidates = [self.stage]
        else:  # distilled samplers come last, density models first
            candidates = self.done[::-1] if capability == "sample" else self.done
        for stage in candidates:
            if isinstance(self.model(stage), CAPABILITIES[capability]):
                return stage
        require(self.model(candidates[0]), capability, what, f"run '{self.path}' ({self.name})")
        raise AssertionError("unreachable")  # pragma: no cover

    def model_for(self, capability: str, what: str) -> nn.Module:
        """The model of :meth:`stage_for` (at the run's ``checkpoint`` when one is chosen)."""
        stage = self.stage_for(capability, what)
        return self.model(stage, self.checkpoint if stage == self.stage else None)

    def check_geometry(self, showers: Showers, source: str) -> None:
        """Refuse showers whose voxel count is not the run geometry's."""
        if showers.n_voxels != self.geometry.n_voxels:
            recorded = f" ({showers.geometry!r})" if showers.geometry else ""
            raise InputError(
                f"{source} has {showers.n_voxels} voxels per shower{recorded}, but run "
                f"'{self.path}' models '{self.geometry.name}' ({self.geometry.n_voxels} voxels)",
                "use a file of the run's geometry")

    def conditions(self, energies: np.ndarray, theta: np.ndarray | None = None,
                   model: nn.Module | None = None) -> Conditions:
        """Checked conditions for the run's models (angles only where a model uses them).

        Raises:
            InputError: non-positive or non-finite energies; a model needs angles and none
                are given.
        """
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        if energies.size == 0 or not np.all(np.isfinite(energies)) or energies.min() <= 0:
            raise InputError("incident energies must be finite and > 0 MeV", "fix the energies")
        names = getattr(model, "condition_names", ("energy",))
        if "theta" in names and theta is None:
            raise InputError(f"run '{self.path}' is conditioned on the incident angle",
                             "pass angles (an energies .h5 with incident_theta, or --theta)")
        return Conditions.from_numpy(energies, theta if "theta" in names else None)

    @torch.inference_mode()
    def iter_samples(self, conditions: Conditions, seed: int = 0, batch_size: int = 1_000,
                     energies: np.ndarray | None = None, first_chunk: int = 0,
                     backend: ExportedSampler | None = None) -> Iterator[Showers]:
        """Generated showers in chunks of ``batch_size``; chunk ``k`` draws from
        ``derive(seed, "generate", first_chunk + k)`` (same seed and chunk size -> same
        numbers; a shard of a sharded run starts at its first chunk).

        ``energies`` (float64 MeV, one per condition) are written as the showers' incident
        energies instead of the conditions' float32 values. ``backend``: an exported sampler
        (:mod:`caloforge.deploy`) maps the same noise to showers instead of the model."""
        model = self.model_for("sample", "generate showers")
        for k, start in enumerate(range(0, len(conditions), batch_size)):
            part = conditions[start : start + batch_size]
            gen = torch_generator(derive(seed, "generate", first_chunk + k), self.device)
            if backend is None:
                voxels = model.sample(part.to(self.device), generator=gen).float().cpu().numpy()
            else:
                noise = model.draw_noise(len(part), generator=gen, device=self.device).cpu()
                voxels = backend.sample(noise.numpy(), part.energy.numpy(),
                                        None if part.theta is None else part.theta.numpy(),
                                        None if part.phi is None else part.phi.numpy())
            theta = None if part.theta is None else part.theta.double().numpy()
            e = (part.energy.double().numpy() if energies is None
                 else energies[start : start + batch_size])
            yield Showers(e, voxels, theta=theta, geometry=self.geometry.name)

    def sample(self, energies: np.ndarray, theta: np.ndarray | None = None, seed: int = 0,
               batch_size: int = 1_000, progress: bool = False) -> Showers:
        """Generate showers for incident energies (MeV) in memory (see :meth:`iter_samples`).

        Returns:
            :class:`Showers` of the run's geometry (float32 voxels in MeV).
        """
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        cond = self.conditions(energies, theta, self.model_for("sample", "generate showers"))
        chunks = tqdm(self.iter_samples(cond, seed, batch_size, energies), disable=not progress,
                      total=-(-len(cond) // batch_size), unit="chunk", desc="generating")
        return Showers.concatenate(list(chunks))

    @torch.inference_mode()
    def log_prob(self, showers: Showers | np.ndarray, energies: np.ndarray | None = None,
                 batch_size: int = 10_000, seed: int = 0, physical: bool = True,
                 progress: bool = False) -> np.ndarray:
        """``log p(voxels | conditions)`` per shower (per MeV^V when ``physical``), float64.

        Arguments:
            showers: :class:`Showers`, or a voxel matrix ``(N, V)`` in MeV with ``energies``.
            energies: Incident energies (MeV); they replace those of ``showers`` when given.
            seed: Seed of any noise the density adds (dequantisation).
            physical: False asks a flow family for its flow-space value.
        """
        model = self.model_for("log_prob", "score whole showers")
        if not isinstance(showers, Showers):
            if energies is None:
                raise InputError("a voxel matrix needs its incident energies",
                                 "pass energies=... (MeV)")
            showers = Showers(energies, showers, geometry=self.geometry.name)
        self.check_geometry(showers, "the shower file")
        cond = self.conditions(showers.energies if energies is None else energies,
                               showers.theta, model)
        kwargs = {} if physical else {"physical": False}
        if kwargs and "physical" not in inspect.signature(model.log_prob).parameters:
            raise InputError(f"family '{self.family.name}' has no flow-space log-likelihood",
                             "use --space physical")
        gen = torch_generator(seed, self.device)
        out = np.empty(len(showers))
        with tqdm(total=len(out), disable=not progress, unit="shower", desc="log-prob") as bar:
            for start in range(0, len(out), batch_size):
                rows = slice(start, start + batch_size)
                voxels = torch.as_tensor(showers.voxels[rows], dtype=torch.float32)
                values = model.log_prob(voxels.to(self.device), cond[rows].to(self.device),
                                        generator=gen, **kwargs)
                out[rows] = values.double().cpu().numpy()
                bar.update(len(voxels))
        return out

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of every finished stage's model."""
        return {s: sum(p.numel() for p in self.model(s).parameters()) for s in self.done}

    def summary(self) -> dict[str, Any]:
        """Family, geometry, finished stages and their parameter counts."""
        return {"family": self.family.name, "geometry": self.geometry.name,
                "stages": self.done, "parameters": self.parameter_counts()}


def load_runs(path: str | Path, device: str = "cpu") -> list[Run]:
    """One run, or every member of an ensemble directory (``OUT/member-<k>``, in order).

    Raises:
        InputError: neither a run directory nor an ensemble of them.
    """
    path = Path(path)
    if (path / CONFIG).is_file() or not path.is_dir():
        return [Run.load(path, device)]
    members = sorted((p for p in path.glob(f"{MEMBER_PREFIX}*") if (p / CONFIG).is_file()),
                     key=lambda p: int(p.name[len(MEMBER_PREFIX):] or 0))
    if not members:
        raise InputError(f"'{path}' is neither a caloforge run nor an ensemble of them",
                         "pass the --out folder of 'caloforge train'")
    return [Run.load(m, device) for m in members]
