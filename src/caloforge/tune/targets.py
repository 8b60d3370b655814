"""What tuning matches: Geant4 showers grouped by incident energy, their realism summaries, and
the residuals of a fast-simulated sample against them.

Example:
    >>> e = np.array([1e4, 1e4, 1e5, 1e5, 1e5])
    >>> [g.tolist() for g in energy_groups(e)]
    [[0, 1], [2, 3, 4]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caloforge.data.showers import Showers
from caloforge.evaluate.realism import LAYER_SHARE_MIN, ShowerSummary, summarise
from caloforge.geometry import LayeredGeometry

__all__ = ["RESIDUAL_KEYS", "SCALES", "Group", "energy_groups", "residuals"]

#: Largest number of distinct energies treated as a discrete spectrum.
MAX_DISCRETE = 20
#: Energy bins of a continuous spectrum.
CONTINUOUS_BINS = 4
#: The size of a residual of one: what tuning treats as one standard miss of each quantity.
SCALES = {
    "response": 0.005,        # absolute, E_tot / E_inc
    "resolution": 0.05,       # relative
    "fractions": 0.01,        # absolute, per layer
    "widths": 0.03,           # relative, per layer holding >= 2 % of the energy
    "width_std": 0.10,        # relative
    "centroid": 0.10,         # relative
    "occupancy": 0.03,        # relative
    "halo": 0.10,             # log(1 + sub-MeV cells)
}
RESIDUAL_KEYS = tuple(SCALES)


def energy_groups(energies: np.ndarray) -> list[np.ndarray]:
    """Indices of the showers of each incident energy (a discrete spectrum) or of each of
    four quantile bins (a continuous one)."""
    energies = np.asarray(energies, dtype=np.float64)
    values = np.unique(energies)
    if len(values) <= MAX_DISCRETE:
        return [np.flatnonzero(energies == v) for v in values]
    edges = np.quantile(energies, np.linspace(0.0, 1.0, CONTINUOUS_BINS + 1))
    which = np.clip(np.searchsorted(edges, energies, side="right") - 1, 0, CONTINUOUS_BINS - 1)
    return [np.flatnonzero(which == k) for k in range(CONTINUOUS_BINS)]


@dataclass
class Group:
    """One energy group of the Geant4 sample: its showers (at most ``n_fit``, for the fit),
    all of its showers' summary, and the label of its energy."""

    label: str
    showers: Showers
    summary: ShowerSummary

    @classmethod
    def build(cls, showers: Showers, index: np.ndarray, geometry: LayeredGeometry,
              n_fit: int) -> Group:
        """The group of ``showers[index]``; the fit uses its first ``n_fit`` showers."""
        index = index[:n_fit]
        part = showers[index]
        e = part.energies
        label = (f"{e[0] / 1000:g} GeV" if np.all(e == e[0])
                 else f"{e.min() / 1000:.0f}-{e.max() / 1000:.0f} GeV")
        return cls(label, part, summarise(part, geometry))


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64) / np.maximum(np.asarray(b, dtype=np.float64),
                                                         1e-12) - 1.0


def residuals(ref: ShowerSummary, cand: ShowerSummary, keys: tuple[str, ...]) -> np.ndarray:
    """Scaled misses of ``cand`` against ``ref`` for the quantities in ``keys``
    (see :data:`SCALES`).

    Example:
        >>> from caloforge.evaluate.realism import ShowerSummary
        >>> one = np.ones(2)
        >>> a = ShowerSummary(10, 0.95, 0.02, one / 2, one, one, one, 100.0, 10.0)
        >>> b = ShowerSummary(10, 0.96, 0.02, one / 2, one, one, one, 103.0, 10.0)
        >>> residuals(a, b, ("response", "occupancy")).round(3).tolist()
        [2.0, 1.0]
    """
    keep = ref.layer_fraction >= LAYER_SHARE_MIN
    parts: list[np.ndarray] = []
    for key in keys:
        if key == "response":
            r = np.array([cand.response - ref.response])
        elif key == "resolution":
            r = np.array([_rel(cand.resolution, ref.resolution)])
        elif key == "fractions":
            r = cand.layer_fraction - ref.layer_fraction
        elif key == "widths":
            r = _rel(cand.width_mean[keep], ref.width_mean[keep])
        elif key == "width_std":
            r = _rel(cand.width_std[keep], ref.width_std[keep])
        elif key == "centroid":
            use = keep & (ref.centroid_std > 0)
            r = _rel(cand.centroid_std[use], ref.centroid_std[use])
        elif key == "occupancy":
            r = np.array([_rel(cand.occupancy, ref.occupancy)])
        elif key == "halo":
            r = np.array([np.log1p(cand.halo_cells) - np.log1p(ref.halo_cells)])
        else:
            raise KeyError(key)
        parts.append(np.atleast_1d(r) / SCALES[key])
    return np.concatenate(parts) if parts else np.zeros(0)
