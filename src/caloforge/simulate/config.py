"""Typed simulation configs, loadable from YAML; one preset per geometry ships in the package.

A preset (``caloforge/simulate/presets/<geometry>.yaml``) fixes the spectrum, incidence and
readout of a geometry. :func:`load_config` reads a preset or a user YAML file and applies
overrides (as the CLI flags do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from caloforge.config import from_dict, merge, read_yaml
from caloforge.errors import InputError, suggest
from caloforge.simulate.shape import ShapeConfig

__all__ = [
    "IncidenceConfig",
    "ReadoutConfig",
    "ShapeConfig",
    "SimulationConfig",
    "SpectrumConfig",
    "list_presets",
    "load_config",
]

PARTICLES = ("photon", "electron", "positron")
PDG_IDS = {"photon": 22, "electron": 11, "positron": -11}


@dataclass
class SpectrumConfig:
    """Incident-energy spectrum.

    Attributes:
        kind: ``discrete`` (``values`` with relative ``weights``), ``log-uniform``, ``uniform``,
            ``power-law`` (``dN/dE ~ E^-index`` on the range: a falling spectrum) or ``fixed``
            (``e_min_mev``).
        e_min_mev, e_max_mev: Range for the continuous spectra, MeV.
        index: Spectral index of ``power-law`` (1 is log-uniform, 0 uniform).
        values_mev, weights: Energies and relative frequencies of a discrete spectrum.
    """

    kind: Literal["discrete", "log-uniform", "uniform", "power-law", "fixed"] = "log-uniform"
    e_min_mev: float = 1_000.0
    e_max_mev: float = 100_000.0
    index: float = 2.0
    values_mev: list[float] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


@dataclass
class IncidenceConfig:
    """Angles and impact points.

    Attributes:
        theta_min_deg, theta_max_deg: Polar angle from the beam (y) axis, uniform in this range
            (90 = normal incidence).
        phi_deg: Azimuth of the direction about the beam axis, relative to the layer normal.
        offset_mm: Impact points uniform in ``[-offset_mm, offset_mm]`` in x and y.
        store_angles: Write ``incident_theta``/``incident_phi`` to the file.
    """

    theta_min_deg: float = 90.0
    theta_max_deg: float = 90.0
    phi_deg: float = 0.0
    offset_mm: float = 0.0
    store_angles: bool = False


@dataclass
class ReadoutConfig:
    """Sampling readout.

    Attributes:
        stochastic_term: Target ``a`` of ``sigma/E = a/sqrt(E/GeV) (+) b``; it sets the shower
            energy per charged-particle crossing of an active layer.
        constant_term: ``b``, applied as a per-shower gain spread.
        energy_scale: ``calibrated`` (cells in MeV of deposited energy, divided by the sampling
            fraction as in the CaloChallenge files), ``visible`` (MeV in the active material)
            or ``total`` (MeV deposited in the whole cell, absorber and active, as CaloGAN
            records it; no sampling fluctuations).
        sampling_fraction: Visible over deposited energy that ``calibrated`` divides by in the
            Geant4 engine (None: each layer's MIP sampling fraction); the parametrised
            simulator calibrates itself.
        noise_mip: Gaussian cell noise in units of the layer's MIP most probable value.
        threshold_mip: Cell threshold in MIP units; ``threshold_mev`` adds an absolute one in
            output units (the larger wins).
        max_direct_crossings: Cells with up to this many crossings sum individual Moyal MIP
            signals; more crossings use the central limit.
    """

    stochastic_term: float = 0.10
    constant_term: float = 0.0
    energy_scale: Literal["calibrated", "visible", "total"] = "calibrated"
    sampling_fraction: float | None = None
    noise_mip: float = 0.0
    threshold_mip: float = 0.0
    threshold_mev: float = 0.0
    max_direct_crossings: int = 8


@dataclass
class SimulationConfig:
    """Everything the reference simulator needs.

    Attributes:
        geometry: Geometry preset name.
        particle: ``photon``, ``electron`` or ``positron``.
        n: Number of showers.
        seed: Seed of all random draws.
        chunk_size: Showers per batch (each batch has its own seeded stream).
        max_slice_x0: Longest depth slice in X0 over which the radial profile is taken constant.
        spectrum, incidence, readout: See their classes.
        shape: Corrections to the parametrisation fitted to Geant4 (``caloforge tune``; see
            :mod:`caloforge.simulate.shape`); the default is the textbook parametrisation.
    """

    geometry: str = "ds1-photons"
    particle: str = "photon"
    n: int = 10_000
    seed: int = 0
    chunk_size: int = 1000
    max_slice_x0: float = 1.5
    spectrum: SpectrumConfig = field(default_factory=SpectrumConfig)
    incidence: IncidenceConfig = field(default_factory=IncidenceConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    shape: ShapeConfig = field(default_factory=ShapeConfig)

    def validate(self) -> SimulationConfig:
        """Check values; raise :class:`InputError` with the fix."""
        if self.particle in ("pion", "pi+", "pi-", "proton", "neutron"):
            raise InputError(f"particle '{self.particle}' is not yet supported",
                             "the reference simulator makes EM showers: photon, electron, positron")
        if self.particle not in PARTICLES:
            raise InputError(f"unknown particle '{self.particle}'",
                             suggest(self.particle, list(PARTICLES)))
        if self.n < 1 or self.chunk_size < 1:
            raise InputError("n and chunk_size must be >= 1", "give a positive count")
        s = self.spectrum
        if s.kind == "discrete" and (not s.values_mev or len(s.values_mev) != len(s.weights)):
            raise InputError("discrete spectrum needs values_mev and as many weights",
                             "fix the spectrum block")
        if s.kind in ("uniform", "log-uniform", "power-law") and not 0 < s.e_min_mev <= s.e_max_mev:
            raise InputError("spectrum needs 0 < e_min_mev <= e_max_mev", "fix the energy range")
        if s.kind == "fixed" and s.e_min_mev <= 0:
            raise InputError("fixed energy must be > 0 MeV", "fix e_min_mev")
        if not 0 < self.incidence.theta_min_deg <= self.incidence.theta_max_deg <= 90:
            raise InputError("theta range must lie in (0, 90] degrees", "fix theta_min/max")
        if not abs(self.incidence.phi_deg) < 90:
            raise InputError("phi must lie in (-90, 90) degrees (the particle must head into "
                             "the calorimeter)", "fix incidence.phi_deg")
        fraction = self.readout.sampling_fraction
        if fraction is not None and not 0 < fraction <= 1:
            raise InputError("sampling_fraction must lie in (0, 1]", "fix the readout block")
        if self.readout.stochastic_term <= 0:
            raise InputError("stochastic_term must be > 0", "fix the readout block")
        self.shape.validate()
        return self


def _preset_path(name: str) -> Path:
    return Path(str(files("caloforge.simulate") / "presets" / f"{name}.yaml"))


def list_presets() -> list[str]:
    """Names of the packaged simulation presets (one per geometry).

    Example:
        >>> "ds1-photons" in list_presets()
        True
    """
    folder = Path(str(files("caloforge.simulate") / "presets"))
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_config(source: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> SimulationConfig:
    """A config from a preset name or YAML file, with nested ``overrides`` applied.

    Arguments:
        source: Preset (geometry) name, or a YAML file; default: ``overrides['geometry']``'s
            preset, else ``ds1-photons``.
        overrides: Nested dict of values that win over the file (None values are ignored).

    Returns:
        The validated config.

    Example:
        >>> cfg = load_config("ild-photons", {"n": 10, "readout": {"noise_mip": 0.0}})
        >>> cfg.n, cfg.readout.stochastic_term, cfg.incidence.theta_min_deg
        (10, 0.165, 30.0)
    """
    overrides = overrides or {}
    source = source or overrides.get("geometry") or "ds1-photons"
    path = Path(source) if str(source).endswith((".yaml", ".yml")) else _preset_path(str(source))
    if not path.is_file():
        raise InputError(f"no simulation preset or config '{source}'",
                         suggest(str(source), list_presets(), " or a YAML file"))
    data = read_yaml(path)
    return from_dict(SimulationConfig, merge(data, overrides), str(path.name)).validate()
