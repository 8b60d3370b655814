"""Incident particles: energies, angles, impact points and photon conversion depths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caloforge.errors import InputError
from caloforge.simulate.config import IncidenceConfig, SimulationConfig, SpectrumConfig

__all__ = [
    "PHOTON_CONVERSION_X0",
    "Incidence",
    "chunk_streams",
    "conversion_depth",
    "load_energies",
    "power_law",
    "sample_energies",
    "sample_incidence",
]

#: Mean free path of a high-energy photon before pair conversion, in X0 (PDG eq. 34.31).
PHOTON_CONVERSION_X0 = 9.0 / 7.0


@dataclass
class Incidence:
    """Per-shower incidence: polar angle ``theta`` from the beam (y) axis and azimuth ``phi``
    in rad, impact point ``(x0, y0)`` on the front face in mm."""

    theta: np.ndarray
    phi: np.ndarray
    x0: np.ndarray
    y0: np.ndarray

    @classmethod
    def normal(cls, n: int) -> Incidence:
        """Normal incidence through the origin."""
        zero = np.zeros(n)
        return cls(np.full(n, np.pi / 2), zero, zero.copy(), zero.copy())

    @property
    def cos_incidence(self) -> np.ndarray:
        """Cosine of the angle between the direction and the layer normal (z)."""
        return np.sin(self.theta) * np.cos(self.phi)

    @property
    def slopes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(dx/dz, dy/dz)`` of the shower axis: ``(tan phi, cot theta / cos phi)``."""
        return np.tan(self.phi), 1.0 / (np.tan(self.theta) * np.cos(self.phi))

    @property
    def directions(self) -> np.ndarray:
        """Unit vectors of the shower axes, ``(n, 3)``, with ``z`` into the calorimeter:
        ``(sin theta sin phi, cos theta, sin theta cos phi)``, whose slopes are :attr:`slopes`.

        Example:
            >>> Incidence.normal(1).directions.round(6).tolist()
            [[0.0, 0.0, 1.0]]
        """
        st = np.sin(self.theta)
        return np.stack([st * np.sin(self.phi), np.cos(self.theta), st * np.cos(self.phi)], 1)


def power_law(lo: float, hi: float, index: float, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of ``dN/dE ~ E^-index`` on ``[lo, hi]`` at uniform ``u``.

    Example:
        >>> power_law(1.0, 100.0, 2.0, np.array([0.0, 1.0])).round(6).tolist()
        [1.0, 100.0]
        >>> float(power_law(1.0, 100.0, 1.0, np.array([0.5]))[0])  # log-uniform: the geometric mean
        10.0
    """
    if abs(index - 1.0) < 1e-12:
        return np.asarray(lo * (hi / lo) ** u, dtype=np.float64)
    k = 1.0 - index
    return np.asarray((lo**k + u * (hi**k - lo**k)) ** (1.0 / k), dtype=np.float64)


def sample_energies(spec: SpectrumConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` incident energies in MeV from a spectrum.

    Example:
        >>> spec = SpectrumConfig(kind="log-uniform", e_min_mev=1e3, e_max_mev=1e6)
        >>> e = sample_energies(spec, 1000, np.random.default_rng(0))
        >>> bool(e.min() >= 1e3 and e.max() <= 1e6)
        True
    """
    if spec.kind == "discrete":
        values = np.asarray(spec.values_mev, dtype=np.float64)
        p = np.asarray(spec.weights, dtype=np.float64)
        return values[rng.choice(len(values), size=n, p=p / p.sum())]
    if spec.kind == "log-uniform":
        lo, hi = np.log(spec.e_min_mev), np.log(spec.e_max_mev)
        return np.exp(rng.uniform(lo, hi, n))
    if spec.kind == "uniform":
        return rng.uniform(spec.e_min_mev, spec.e_max_mev, n)
    if spec.kind == "power-law":
        return power_law(spec.e_min_mev, spec.e_max_mev, spec.index, rng.uniform(size=n))
    return np.full(n, float(spec.e_min_mev))


def sample_incidence(cfg: IncidenceConfig, n: int, rng: np.random.Generator) -> Incidence:
    """Draw angles (theta uniform in its range, fixed phi) and impact points."""
    theta = np.deg2rad(rng.uniform(cfg.theta_min_deg, cfg.theta_max_deg, n))
    phi = np.full(n, np.deg2rad(cfg.phi_deg))
    if cfg.offset_mm > 0:
        x0, y0 = rng.uniform(-cfg.offset_mm, cfg.offset_mm, (2, n))
    else:
        x0, y0 = np.zeros(n), np.zeros(n)
    return Incidence(theta, phi, x0, y0)


def chunk_streams(cfg: SimulationConfig, energies: np.ndarray | None = None
                  ) -> Iterator[tuple[np.ndarray, np.random.Generator]]:
    """Incident energies of chunk ``k`` (``chunk_size`` showers, ``n`` in all, or one per given
    energy) and the chunk's generator ``default_rng([seed, k])``, which drew them. Both engines
    use it, so the same seed gives the same incident energies and angles in either.

    Example:
        >>> from caloforge.simulate.config import load_config
        >>> cfg = load_config("calogan", {"n": 5, "chunk_size": 2})
        >>> [len(e) for e, _ in chunk_streams(cfg)]
        [2, 2, 1]
    """
    n = cfg.n if energies is None else len(energies)
    for k, start in enumerate(range(0, n, cfg.chunk_size)):
        rng = np.random.default_rng([cfg.seed, k])
        m = min(cfg.chunk_size, n - start)
        yield (sample_energies(cfg.spectrum, m, rng) if energies is None
               else np.asarray(energies[start : start + m], dtype=np.float64)), rng


def conversion_depth(particle: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Depth in X0 at which the shower starts: 0 for e+-, exponential (mean 9/7) for photons."""
    if particle == "photon":
        return rng.exponential(PHOTON_CONVERSION_X0, n)
    return np.zeros(n)


def load_energies(path: str | Path) -> np.ndarray:
    """Incident energies in MeV from ``.npy``, text (one per line) or a shower ``.h5`` file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"energy file '{path}' not found", "check the path")
    try:
        if path.suffix == ".npy":
            values = np.load(path)
        elif path.suffix in (".h5", ".hdf5"):
            from caloforge.data.io import ShowerFile

            values = ShowerFile(path).read().energies
        else:
            values = np.loadtxt(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"could not read energies from '{path}' ({exc})",
                         "give .npy, a text file of numbers in MeV, or a shower .h5") from None
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)) or values.min() <= 0:
        raise InputError(f"energies in '{path}' must be finite and > 0 MeV", "fix the file")
    return values
