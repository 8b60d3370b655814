"""The reference shower simulator: parametrised EM showers with real fluctuations.

GFLASH longitudinal and radial profiles (:mod:`~caloforge.simulate.longitudinal`,
:mod:`~caloforge.simulate.radial`) integrated over the voxels of any geometry
(:mod:`~caloforge.simulate.transverse`, :mod:`~caloforge.simulate.deposit`), Poisson spot
fluctuations, and a sampling readout with MIP-level cell signals
(:mod:`~caloforge.simulate.readout`). Signals: chi -> gamma gamma
(:mod:`~caloforge.simulate.signals`).

Example:
    >>> from caloforge.simulate import simulate
    >>> simulate("ds1-photons", n=3, seed=0).voxels.shape
    (3, 368)
"""

from caloforge._lazy import lazy_exports

__all__ = [
    "IncidenceConfig",
    "ReadoutConfig",
    "ReferenceSimulator",
    "ShapeConfig",
    "SimulationConfig",
    "SpectrumConfig",
    "list_presets",
    "load_config",
    "simulate",
]

__getattr__ = lazy_exports(__name__, {
    "IncidenceConfig": ".config",
    "ReadoutConfig": ".config",
    "ShapeConfig": ".shape",
    "SimulationConfig": ".config",
    "SpectrumConfig": ".config",
    "list_presets": ".config",
    "load_config": ".config",
    "ReferenceSimulator": ".simulator",
    "simulate": ".simulator",
})
