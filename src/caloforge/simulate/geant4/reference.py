"""Geant4 validation sets per preset, built once and cached in the user's data directory.

Each preset has a plan sized for about 20 minutes on 2 cores (measured figures:
``docs/geant4.md`` and ``benchmarks/results/geant4-speed.json``): fixed-energy sets of 2000
showers at 1 and 10 GeV and 1000 at 100 GeV (the preset's angles), and for ``ild-photons`` also
3000 showers of the preset's spectrum. ds1-photons, ds3 and ild-photons take longer than 20
minutes at these sizes on a slow 2-core machine (``docs/geant4.md``). A set that exists is
reused; an interrupted one resumes.

Example:
    >>> [(s.label, s.n) for s in plan("calogan")]
    [('positron-1GeV', 2000), ('positron-10GeV', 2000), ('positron-100GeV', 1000)]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caloforge.errors import InputError, suggest

if TYPE_CHECKING:
    from caloforge.simulate.config import SimulationConfig

__all__ = ["REFERENCE_PLANS", "ReferenceSet", "build", "data_dir", "plan"]

#: Showers at 1, 10 and 100 GeV in each fixed-energy plan.
N_1GEV, N_10GEV, N_100GEV = 2000, 2000, 1000
#: Showers of the ild-photons preset's spectrum (10-100 GeV, 30-90 degrees).
N_ILD = 3000


@dataclass(frozen=True)
class ReferenceSet:
    """One file of a plan: ``n`` showers of ``particle``, at ``energy_mev`` (None: the
    preset's spectrum)."""

    preset: str
    particle: str
    energy_mev: float | None
    n: int

    @property
    def label(self) -> str:
        """``particle-<E>GeV`` or ``particle-spectrum``."""
        what = "spectrum" if self.energy_mev is None else f"{self.energy_mev / 1000:g}GeV"
        return f"{self.particle}-{what}"

    def overrides(self, seed: int) -> dict[str, Any]:
        """Config overrides for :func:`caloforge.simulate.load_config`."""
        over: dict[str, Any] = {"n": self.n, "seed": seed, "particle": self.particle,
                                "chunk_size": 20}
        if self.energy_mev is not None:
            over["spectrum"] = {"kind": "fixed", "e_min_mev": self.energy_mev}
        return over


def _fixed(preset: str, particle: str) -> tuple[ReferenceSet, ...]:
    return (ReferenceSet(preset, particle, 1_000.0, N_1GEV),
            ReferenceSet(preset, particle, 10_000.0, N_10GEV),
            ReferenceSet(preset, particle, 100_000.0, N_100GEV))


#: Preset -> its sets.
REFERENCE_PLANS: dict[str, tuple[ReferenceSet, ...]] = {
    "calogan": _fixed("calogan", "positron"),
    "ds1-photons": _fixed("ds1-photons", "photon"),
    "ds2": _fixed("ds2", "electron"),
    "ds3": _fixed("ds3", "electron"),
    "ild-photons": (*_fixed("ild-photons", "photon"),
                    ReferenceSet("ild-photons", "photon", None, N_ILD)),
}


def plan(preset: str) -> tuple[ReferenceSet, ...]:
    """The sets of ``preset``."""
    if preset not in REFERENCE_PLANS:
        raise InputError(f"no Geant4 reference set for {preset!r}",
                         suggest(preset, list(REFERENCE_PLANS)))
    return REFERENCE_PLANS[preset]


def data_dir() -> Path:
    """``$CALOFORGE_DATA_DIR``, else ``$XDG_DATA_HOME/caloforge``, else
    ``~/.local/share/caloforge``."""
    if os.environ.get("CALOFORGE_DATA_DIR"):
        return Path(os.environ["CALOFORGE_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "caloforge"


#: Config fields that only the fast simulator reads; they do not name a Geant4 set.
FAST_ONLY = ("max_slice_x0", "shape")
FAST_ONLY_READOUT = ("stochastic_term", "constant_term", "max_direct_crossings")


def geant4_settings(cfg: SimulationConfig) -> dict[str, Any]:
    """The part of a config that shapes Geant4 showers (everything but the fast simulator's
    parametrisation, shape corrections and sampling model)."""
    from dataclasses import asdict

    data = {k: v for k, v in asdict(cfg).items() if k not in FAST_ONLY}
    data["readout"] = {k: v for k, v in data["readout"].items() if k not in FAST_ONLY_READOUT}
    return data


def settings_key(ref: ReferenceSet, seed: int) -> str:
    """Eight hex digits of a hash of everything that shapes the set: the Geant4 part of the
    resolved config (:func:`geant4_settings`), the geometry's material stack and readout
    threshold, the physics mode. A change to any of them (a corrected preset, installed Geant4
    data) names a new file instead of reusing a stale one; retuning the fast simulator does
    not."""
    import hashlib
    import json

    from caloforge.geometry import get_geometry
    from caloforge.simulate import load_config
    from caloforge.simulate.geant4.environment import physics_mode

    geo = get_geometry(ref.preset)
    text = json.dumps([geant4_settings(load_config(ref.preset, ref.overrides(seed))),
                       repr(geo.materials), geo.readout_threshold_mev, physics_mode()],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def path_of(ref: ReferenceSet, seed: int, root: Path | None = None) -> Path:
    """Where the set lives in the cache."""
    root = root or data_dir()
    name = f"{ref.label}-n{ref.n}-seed{seed}-{settings_key(ref, seed)}.h5"
    return root / "reference" / ref.preset / name


def build(preset: str, *, seed: int = 1, workers: int = 2, root: Path | None = None,
          force: bool = False, progress: bool = True) -> list[tuple[ReferenceSet, Path, str]]:
    """Simulate (or reuse) every set of ``preset``; returns ``(set, path, status)`` with
    status ``cached`` or the seconds it took."""
    from caloforge.simulate import load_config
    from caloforge.simulate.geant4.engine import simulate_geant4
    from caloforge.simulate.geant4.parts import parts_dir

    done = []
    for ref in plan(preset):
        path = path_of(ref, seed, root)
        if path.is_file() and not force:
            done.append((ref, path, "cached"))
            continue
        cfg = load_config(preset, ref.overrides(seed))
        result = simulate_geant4(cfg, path, workers=workers, force=force,
                                 resume=parts_dir(path).exists() and not force,
                                 progress=progress)
        done.append((ref, path, f"{result.seconds:.0f} s"))
    return done
