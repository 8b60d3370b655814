"""Run directories: all that ``generate`` and ``log-prob`` need, and :class:`Run` to use them.

Layout::

    config.yaml        kind, geometry, model config (with fitted preprocessing), training
    checkpoints/       best.pt (used), last.pt (resume)
    metrics.csv/.json  training history

Example (with a run made by ``caloforge train``)::

    run = Run.load("runs/ds1")
    showers = run.sample(np.full(1000, 65536.0))
    ll = run.log_prob(showers)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm

from caloforge import __version__
from caloforge.config import from_dict, to_dict
from caloforge.data.showers import Showers
from caloforge.errors import InputError
from caloforge.geometry import get_geometry
from caloforge.models.caloflow import CaloFlow, CaloFlowConfig
from caloforge.train.engine import resolve_device

__all__ = ["KINDS", "MEMBER_PREFIX", "Run", "load_runs", "prepare_run_dir", "read_run_config",
           "write_run_config"]

#: Model kinds a run directory can hold, and the prefix of their weights in checkpoints.
KINDS = {"caloflow": "", "caloflow-student": "student."}
CONFIG = "config.yaml"
#: Ensemble members made by ``caloforge train --members K`` live in ``OUT/member-<k>``.
MEMBER_PREFIX = "member-"


def read_run_config(path: str | Path) -> dict[str, Any]:
    """The parsed ``config.yaml`` of a run directory.

    Raises:
        InputError: ``path`` holds no ``config.yaml``.
    """
    cfg = Path(path) / CONFIG
    if not cfg.is_file():
        raise InputError(f"'{path}' is not a caloforge run directory (no {CONFIG})",
                         "pass the --out folder of 'caloforge train' or 'distill'")
    return yaml.safe_load(cfg.read_text()) or {}


def prepare_run_dir(path: str | Path, kind: str, force: bool) -> tuple[Path, bool]:
    """Create a run directory, or find one to resume.

    Returns:
        The path and whether an earlier run of the same kind is to be resumed.

    Raises:
        InputError: the path exists but is not a run of this kind (and not ``force``).
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
            found = read_run_config(path).get("kind")
            if found != kind:
                raise InputError(f"'{path}' holds a '{found}' run, not '{kind}'",
                                 "choose another --out or pass --force to replace it")
            return path, True
    path.mkdir(parents=True, exist_ok=True)
    return path, False


def write_run_config(path: Path, config: dict[str, Any]) -> None:
    """Write ``config.yaml`` atomically (with the caloforge version)."""
    text = yaml.safe_dump({"caloforge_version": __version__, **config}, sort_keys=False)
    tmp = path / f".{CONFIG}.tmp"
    tmp.write_text(text)
    tmp.replace(path / CONFIG)


class Run:
    """A trained model loaded from its run directory.

    Arguments:
        path: The run directory.
        config: Its parsed ``config.yaml``.
        model: The model with the best weights, in eval mode.
    """

    def __init__(self, path: Path, config: dict[str, Any], model: CaloFlow) -> None:
        self.path = path
        self.config = config
        self.model = model
        self.kind: str = config["kind"]
        self.geometry = get_geometry(config["geometry"])

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", checkpoint: str = "best") -> Run:
        """Load ``checkpoints/<checkpoint>.pt`` of a run directory.

        Raises:
            InputError: not a run directory, unknown kind, or no checkpoint yet.
        """
        path = Path(path)
        config = read_run_config(path)
        kind = config.get("kind")
        if kind not in KINDS:
            raise InputError(f"run '{path}' has unknown model kind '{kind}'",
                             f"known kinds: {', '.join(KINDS)}")
        ckpt = path / "checkpoints" / f"{checkpoint}.pt"
        if not ckpt.is_file():
            raise InputError(f"run '{path}' has no checkpoint '{checkpoint}.pt' yet",
                             "train it first (or wait for the first epoch to finish)")
        model = CaloFlow(from_dict(CaloFlowConfig, config["model"], f"{path}/{CONFIG}"))
        state = torch.load(ckpt, map_location="cpu", weights_only=False)["model"]
        prefix = KINDS[kind]
        model.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                               if k.startswith(prefix)})
        model.to(resolve_device(device)).eval()
        return cls(path, config, model)

    @property
    def device(self) -> torch.device:
        """Where the model lives."""
        return next(self.model.buffers()).device

    @property
    def uses_theta(self) -> bool:
        """Whether the model is conditioned on the incident angle."""
        return bool(self.model.config.preprocessing.use_theta)

    def require_flow2(self, what: str) -> None:
        """Refuse whole-shower use (``what``) of a run trained with Flow I only."""
        if not self.model.has_flow2:
            raise InputError(f"run '{self.path}' has only Flow I (layer energies); it cannot "
                             f"{what}", "train with flows: both (e.g. --preset calogan-cpu)")

    def check_geometry(self, showers: Showers, source: str) -> None:
        """Refuse showers whose voxel count is not the run geometry's."""
        if showers.n_voxels != self.geometry.n_voxels:
            recorded = f" ({showers.geometry!r})" if showers.geometry else ""
            raise InputError(
                f"{source} has {showers.n_voxels} voxels per shower{recorded}, but run "
                f"'{self.path}' models '{self.geometry.name}' ({self.geometry.n_voxels} voxels)",
                "use a file of the run's geometry")

    def _chunks(self, n: int, batch_size: int, progress: bool, desc: str) -> Iterator[slice]:
        with tqdm(total=n, disable=not progress, unit="shower", desc=desc) as bar:
            for start in range(0, n, batch_size):
                stop = min(n, start + batch_size)
                yield slice(start, stop)
                bar.update(stop - start)

    def angles(self, theta: np.ndarray | None, n: int) -> np.ndarray | None:
        """The incident angles (rad) the model is conditioned on, broadcast to ``n`` showers;
        None for a model without angles.

        Raises:
            InputError: the model needs angles and none are given.
        """
        if not self.uses_theta:
            return None
        if theta is None:
            raise InputError(f"run '{self.path}' is conditioned on the incident angle",
                             "pass angles (an energies .h5 with incident_theta, or --theta)")
        return np.broadcast_to(np.asarray(theta, dtype=np.float64), (n,))

    @torch.inference_mode()
    def sample(self, energies: np.ndarray, theta: np.ndarray | None = None,
               batch_size: int = 10_000, seed: int = 0, progress: bool = False) -> Showers:
        """Generate showers for incident energies (MeV), in batches.

        Returns:
            :class:`Showers` of the run's geometry (float32 voxels in MeV).
        """
        self.require_flow2("generate showers")
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        if energies.size == 0 or not np.all(np.isfinite(energies)) or energies.min() <= 0:
            raise InputError("incident energies must be finite and > 0 MeV", "fix the energies")
        theta = self.angles(theta, len(energies))
        torch.manual_seed(seed)
        out = np.empty((len(energies), self.geometry.n_voxels), dtype=np.float32)
        for rows in self._chunks(len(energies), batch_size, progress, "generating"):
            e = torch.as_tensor(energies[rows], dtype=torch.float32, device=self.device)
            t = (None if theta is None else
                 torch.as_tensor(theta[rows], dtype=torch.float32, device=self.device))
            out[rows] = self.model.sample(e, t).float().cpu().numpy()
        return Showers(energies, out, theta=theta, geometry=self.geometry.name)

    @torch.inference_mode()
    def log_prob(self, showers: Showers | np.ndarray, energies: np.ndarray | None = None,
                 batch_size: int = 10_000, seed: int = 0, physical: bool = True,
                 progress: bool = False) -> np.ndarray:
        """``log p(voxels | E_inc)`` per shower (per MeV^V when ``physical``), float64.

        Arguments:
            showers: :class:`Showers`, or a voxel matrix ``(N, V)`` in MeV with ``energies``.
            energies: Incident energies (MeV); they replace those of ``showers`` when given.
        """
        self.require_flow2("score whole showers (use Flow I log_prob_layers)")
        if not isinstance(showers, Showers):
            if energies is None:
                raise InputError("a voxel matrix needs its incident energies",
                                 "pass energies=... (MeV)")
            showers = Showers(energies, showers, geometry=self.geometry.name)
        elif energies is not None:
            showers = Showers(energies, showers.voxels, showers.theta, showers.phi,
                              showers.particle, showers.geometry)
        self.check_geometry(showers, "the shower file")
        theta = self.angles(showers.theta, len(showers))
        gen = torch.Generator(device=self.device).manual_seed(seed)
        out = np.empty(len(showers))
        for rows in self._chunks(len(showers), batch_size, progress, "log-prob"):
            batch = {"energies": torch.as_tensor(showers.energies[rows], dtype=torch.float32),
                     "voxels": torch.as_tensor(showers.voxels[rows], dtype=torch.float32)}
            if theta is not None:
                batch["theta"] = torch.as_tensor(theta[rows], dtype=torch.float32)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            out[rows] = self.model.log_prob(batch, physical, gen).double().cpu().numpy()
        return out

    def summary(self) -> dict[str, Any]:
        """Kind, geometry and parameter counts."""
        return {"kind": self.kind, "geometry": self.geometry.name,
                "parameters": self.model.parameter_counts(),
                "model": to_dict(self.model.config)["flow2" if self.model.has_flow2
                                                    else "flow1"]}


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
