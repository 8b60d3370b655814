"""Real Geant4 showers: the ``geant4`` engine of ``caloforge simulate`` (extra ``geant4``).

Builds any caloforge geometry (CaloChallenge (r, alpha) readouts with ring and phi-replica cell
volumes, cartesian grids) with its material stack in Geant4, scores the cells with compiled
scorers, applies the preset's readout and writes CaloChallenge HDF5. Worker processes (one
Geant4 each) simulate seeded chunks that survive a killed run. Without Geant4 data files the
electromagnetic physics uses analytic models only (:mod:`~caloforge.simulate.geant4.physics`).

Modules: :mod:`~caloforge.simulate.geant4.environment` (no prompt, no download),
``physics``, ``detector`` and ``actions`` (imported in workers only),
:mod:`~caloforge.simulate.geant4.worker`, :mod:`~caloforge.simulate.geant4.parts`,
:mod:`~caloforge.simulate.geant4.readout`, :mod:`~caloforge.simulate.geant4.engine`.

Example:
    >>> from caloforge.simulate.geant4 import G4_PARTICLES
    >>> G4_PARTICLES["positron"]
    'e+'
"""

from caloforge._lazy import lazy_exports

__all__ = ["DEFAULT_CUT_MM", "G4_PARTICLES", "Geant4Result", "require_geant4",
           "simulate_geant4"]

__getattr__ = lazy_exports(__name__, {
    "DEFAULT_CUT_MM": ".engine",
    "G4_PARTICLES": ".engine",
    "Geant4Result": ".engine",
    "simulate_geant4": ".engine",
    "require_geant4": ".environment",
})
