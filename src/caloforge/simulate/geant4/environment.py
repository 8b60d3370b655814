"""Prepare the process environment for Geant4 before ``geant4_pybind`` is imported.

The ``geant4-pybind`` wheel looks for Geant4's data files when it is imported. Without them it
asks on stdin whether to download them; with ``CI=true`` it downloads them from CERN without
asking. caloforge never lets either happen: ``GEANT4_DATA_DIR`` is always set before the
import (the wheel's hook then returns at once), and unless real data are installed every data
variable points at an empty directory. Electromagnetic showers then run with the data-free
physics of :mod:`caloforge.simulate.geant4.physics`. Where data are installed (``G4LEDATA``
names a non-empty directory, or ``GEANT4_DATA_DIR`` holds a ``G4EMLOW*`` dataset) nothing is
overridden and the stock ``FTFP_BERT`` list is used (this path could not be tested here: no
data files).

This module imports nothing from Geant4, so the main process can call it safely; only worker
processes import ``geant4_pybind`` (see :mod:`caloforge.simulate.geant4.worker`).

Example:
    >>> physics_mode({"G4LEDATA": "/no/such/dir"})
    'datafree'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from caloforge.errors import InputError

__all__ = ["INSTALL_HINT", "PINNED_WHEEL", "physics_mode", "prepare", "require_geant4"]

#: The wheel whose exported symbols the data-free physics reaches through ctypes.
PINNED_WHEEL = "geant4-pybind==0.1.3"
#: How to install the backend.
INSTALL_HINT = "pip install 'caloforge[geant4]' (it installs " + PINNED_WHEEL + ")"
#: Data variables that must name a directory even when no data are used (an unset one makes a
#: stock constructor fail with "basic_string: construction from null").
DATA_VARS = ("G4LEDATA", "G4LEVELGAMMADATA", "G4RADIOACTIVEDATA", "G4PARTICLEXSDATA",
             "G4NEUTRONHPDATA", "G4PIIDATA", "G4REALSURFACEDATA", "G4SAIDXSDATA",
             "G4ABLADATA", "G4INCLDATA", "G4CHANNELINGDATA")


#: Set once the environment is prepared (it is inherited by child processes).
_PREPARED = "CALOFORGE_GEANT4_ENV"


def require_geant4() -> None:
    """Raise a one-line :class:`InputError` naming the fix when the extra is not installed."""
    if find_spec("geant4_pybind") is None:
        raise InputError("the Geant4 engine needs geant4-pybind, which is not installed",
                         INSTALL_HINT)


def physics_mode(env: Mapping[str, str] | None = None) -> Literal["stock", "datafree"]:
    """``stock`` where real Geant4 EM data are installed (``G4LEDATA`` is a non-empty
    directory, or ``GEANT4_DATA_DIR`` holds a ``G4EMLOW*`` dataset), else ``datafree``."""
    env = os.environ if env is None else env
    data = env.get("G4LEDATA")
    if data and Path(data).is_dir() and any(Path(data).iterdir()):
        return "stock"
    root = env.get("GEANT4_DATA_DIR")
    if root and Path(root).is_dir() and any(Path(root).glob("G4EMLOW*")):
        return "stock"
    return "datafree"


def prepare(scratch: str | Path | None = None) -> Literal["stock", "datafree"]:
    """Set the variables ``geant4_pybind`` needs so that its import neither prompts nor
    downloads; returns the physics mode. Call it before the first ``import geant4_pybind``.

    Arguments:
        scratch: Where to create the empty data directories (default: a new temp directory).
    """
    if os.environ.get(_PREPARED):
        return physics_mode()
    mode = physics_mode()
    os.environ[_PREPARED] = "1"
    if mode == "stock":
        # GEANT4_DATA_DIR set (to anything) makes the wheel's import hook return at once,
        # whatever CI says; datasets are usually siblings of G4LEDATA's.
        if "GEANT4_DATA_DIR" not in os.environ:
            os.environ["GEANT4_DATA_DIR"] = str(Path(os.environ["G4LEDATA"]).parent)
        return mode
    root = Path(scratch) if scratch else Path(tempfile.mkdtemp(prefix="caloforge_g4_"))
    os.environ["GEANT4_DATA_DIR"] = str(root)
    ens = root / "G4ENSDFSTATEDATA"          # G4NuclideTable opens it when the run manager
    ens.mkdir(parents=True, exist_ok=True)   # is created: an empty file is enough
    (ens / "ENSDFSTATE.dat").touch()
    os.environ["G4ENSDFSTATEDATA"] = str(ens)
    for var in DATA_VARS:
        (root / var).mkdir(exist_ok=True)
        os.environ[var] = str(root / var)
    return mode
