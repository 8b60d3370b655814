"""The reference shower simulator: incidence -> deposition -> readout, in seeded batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from caloforge.data.io import write_chunks
from caloforge.data.showers import Showers
from caloforge.geometry import LayeredGeometry, get_geometry
from caloforge.simulate.config import PDG_IDS, SimulationConfig
from caloforge.simulate.deposit import DepositionModel
from caloforge.simulate.incidence import (
    Incidence,
    chunk_streams,
    conversion_depth,
    sample_incidence,
)
from caloforge.simulate.longitudinal import mean_params, slice_fractions
from caloforge.simulate.readout import Readout
from caloforge.simulate.signals import chi_to_gamma_gamma

__all__ = ["ReferenceSimulator", "simulate"]


def _typical_layer_shares(model: DepositionModel, energy_mev: float) -> np.ndarray:
    """Layer shares of the mean GFLASH electron profile at ``energy_mev`` (normal incidence)."""
    params = mean_params(energy_mev, model.z_eff, model.critical_energy)
    s = model.slices
    shares = slice_fractions(params, s.lo_x0[None, :], s.hi_x0[None, :])[0]
    return np.bincount(s.layer, weights=shares, minlength=model.geometry.n_layers) + 1e-12


class ReferenceSimulator:
    """Physics-based EM shower simulator for any preset geometry.

    Arguments:
        config: The simulation config (see :func:`caloforge.simulate.load_config`).

    Example:
        >>> from caloforge.simulate import load_config
        >>> sim = ReferenceSimulator(load_config("ds1-photons", {"n": 20, "seed": 3}))
        >>> showers = sim.simulate()
        >>> len(showers), showers.n_voxels, bool((showers.voxels >= 0).all())
        (20, 368, True)
    """

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config.validate()
        self.geometry: LayeredGeometry = get_geometry(config.geometry)
        self.model = DepositionModel(self.geometry, config.max_slice_x0, config.shape)
        spec = config.spectrum
        e_ref = float(np.sqrt(spec.e_min_mev * spec.e_max_mev)) if spec.kind != "discrete" \
            else float(np.exp(np.mean(np.log(spec.values_mev))))
        readout = config.readout
        if config.shape.stochastic_term is not None or config.shape.constant_term is not None:
            readout = replace(readout, **{k: v for k, v in (
                ("stochastic_term", config.shape.stochastic_term),
                ("constant_term", config.shape.constant_term)) if v is not None})
        self.readout = Readout(self.geometry, readout,
                               _typical_layer_shares(self.model, max(e_ref, 100.0)),
                               config.shape)

    @property
    def pdg_id(self) -> int:
        """PDG id of the simulated particle."""
        return PDG_IDS[self.config.particle]

    def deposit(self, energies: np.ndarray, incidence: Incidence, particle: str,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """Fluctuated deposited energy per voxel (MeV) before the readout, and the halo's
        expected deposits (None without a halo)."""
        t_start = conversion_depth(particle, len(energies), rng)
        return self.model.deposit(energies, t_start, incidence, rng)

    def simulate_batch(self, energies: np.ndarray, rng: np.random.Generator,
                       incidence: Incidence | None = None) -> Showers:
        """Simulate one batch with given energies (MeV) and optional incidence."""
        energies = np.asarray(energies, dtype=np.float64)
        if incidence is None:
            incidence = sample_incidence(self.config.incidence, len(energies), rng)
        deposits, halo = self.deposit(energies, incidence, self.config.particle, rng)
        voxels = self.readout(deposits, rng, halo, energies)
        angles = {}
        if self.config.incidence.store_angles:
            angles = {"theta": incidence.theta, "phi": incidence.phi}
        return Showers(energies, voxels, particle=np.full(len(energies), self.pdg_id),
                       geometry=self.geometry.name, **angles)

    def _chunks(self, energies: np.ndarray | None
                ) -> Iterator[tuple[np.ndarray, np.random.Generator]]:
        return chunk_streams(self.config, energies)

    def batches(self, energies: np.ndarray | None = None) -> Iterator[Showers]:
        """Yield seeded batches of ``chunk_size`` showers (``n`` in all, or one per energy).

        Batch ``k`` draws from ``default_rng([seed, k])``, so a file is reproducible bit for
        bit for the same seed and chunk size.
        """
        for e, rng in self._chunks(energies):
            yield self.simulate_batch(e, rng)

    def signal_batches(self, mass_mev: float, distance_mm: float,
                       energies: np.ndarray | None = None
                       ) -> Iterator[tuple[Showers, dict[str, np.ndarray]]]:
        """chi -> gamma gamma events in chunks (seeded as :meth:`batches`), each with its
        ``signal_separation_mm`` column."""
        for e, rng in self._chunks(energies):
            showers, separation = self.simulate_signal(mass_mev, distance_mm, e, rng)
            yield showers, {"signal_separation_mm": separation}

    def simulate(self, energies: np.ndarray | None = None, progress: bool = False) -> Showers:
        """All showers in memory (use :meth:`write` for large samples)."""
        total = self.config.n if energies is None else len(energies)
        batches = tqdm(self.batches(energies), disable=not progress, desc="simulate",
                       total=-(-total // self.config.chunk_size), unit="chunk")
        return Showers.concatenate(list(batches))

    def write(self, path: str | Path, energies: np.ndarray | None = None, force: bool = False,
              progress: bool = True) -> Path:
        """Simulate straight to a CaloChallenge file, batch by batch (atomic)."""
        meta = {"geometry": self.geometry.name, "seed": self.config.seed,
                "producer": "caloforge.simulate", "particle": self.config.particle,
                "config": asdict(self.config)}
        total = self.config.n if energies is None else len(energies)
        return write_chunks(path, self.geometry.n_voxels, self.batches(energies), total=total,
                            force=force, metadata=meta, progress=progress, desc="simulate")

    def simulate_signal(self, mass_mev: float, distance_mm: float,
                        energies: np.ndarray, rng: np.random.Generator) -> tuple[Showers,
                                                                                 np.ndarray]:
        """chi -> gamma gamma events: both photon showers summed before one readout.

        Returns:
            The showers (incident energy = chi energy, particle id 0) and the photon separation
            on the front face in mm.
        """
        energies = np.asarray(energies, dtype=np.float64)
        decay = chi_to_gamma_gamma(mass_mev, energies, distance_mm, rng)
        dep1, halo1 = self.deposit(decay.e1, decay.incidence(1), "photon", rng)
        dep2, halo2 = self.deposit(decay.e2, decay.incidence(2), "photon", rng)
        halo = None if halo1 is None or halo2 is None else halo1 + halo2
        voxels = self.readout(dep1 + dep2, rng, halo, energies)
        showers = Showers(energies, voxels, particle=np.zeros(len(energies), dtype=np.int64),
                          geometry=self.geometry.name)
        return showers, decay.separation_mm


def simulate(geometry: str = "ds1-photons", n: int = 1000, seed: int = 0,
             **overrides: object) -> Showers:
    """Simulate ``n`` showers with a geometry's preset (overrides as nested dicts).

    Example:
        >>> s = simulate("calogan", n=5, seed=1)
        >>> s.voxels.shape
        (5, 504)
    """
    from caloforge.simulate.config import load_config

    cfg = load_config(geometry, {"n": n, "seed": seed, **overrides})
    return ReferenceSimulator(cfg).simulate()
