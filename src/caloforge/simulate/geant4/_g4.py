"""The one place that imports ``geant4_pybind``: the environment is prepared first, so the
import never prompts or downloads (see :mod:`caloforge.simulate.geant4.environment`)."""

from __future__ import annotations

from caloforge.simulate.geant4 import environment

#: ``stock`` or ``datafree``, decided before the import.
PHYSICS_MODE = environment.prepare()

import geant4_pybind as g4  # noqa: E402

__all__ = ["PHYSICS_MODE", "g4"]
