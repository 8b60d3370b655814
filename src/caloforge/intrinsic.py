"""The maximum-likelihood intrinsic dimension of a point cloud (shared by
:mod:`caloforge.evaluate.dimension`, which adds shower files, and the ``caloman`` family, which
sizes its latent space with it: models may not import ``evaluate``).

For a point ``x`` with neighbour distances ``T_1(x) <= ... <= T_k(x)`` (itself excluded), the
local MLE is ``m_k(x) = [1/(k-1) sum_{j<k} ln(T_k(x) / T_j(x))]^-1`` (Levina & Bickel 2004),
aggregated over points by averaging (Levina-Bickel) or by averaging ``1/m_k(x)`` (MacKay &
Ghahramani 2005), for every ``k`` of a range from one exact neighbour query (scikit-learn,
brute force). Duplicate points are dropped first and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from caloforge.errors import InputError, suggest

__all__ = [
    "DEFAULT_K",
    "METHODS",
    "METHOD_NAMES",
    "DimensionEstimate",
    "check_choice",
    "estimate_dimension",
    "k_range",
    "neighbour_distances",
    "pointwise_mle",
]

#: The neighbour counts scanned by default (inclusive).
DEFAULT_K = (10, 20)
#: Aggregations of ``m_k(x)`` over points.
METHODS = ("levina-bickel", "mackay-ghahramani")
METHOD_NAMES = {"levina-bickel": "Levina-Bickel", "mackay-ghahramani": "MacKay-Ghahramani"}
#: Floats per block of the exact neighbour distances (memory ~ 8 bytes each).
BLOCK_FLOATS = 1 << 22


def k_range(k: int | Sequence[int]) -> tuple[int, int]:
    """``(k_min, k_max)`` from one ``k`` or a pair, checked (``2 <= k_min <= k_max``).

    Example:
        >>> k_range(15), k_range((10, 20))
        ((15, 15), (10, 20))
    """
    pair = np.atleast_1d(np.asarray(k, dtype=np.int64))
    lo, hi = int(pair[0]), int(pair[-1])
    if lo < 2 or hi < lo:
        raise InputError(f"bad neighbour range k = {lo}..{hi}",
                         "use 2 <= k_min <= k_max (m_k needs two neighbours or more)")
    return lo, hi


def pointwise_mle(distances: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """``m_k(x)``, ``(N, len(ks))``, from ``(N, k_max)`` ascending positive neighbour
    distances (one row per point) for every ``k`` of ``ks`` (each in ``2..k_max``).

    Example:
        >>> pointwise_mle(np.array([[1.0, np.e], [1.0, 4.0]]), [2]).round(4).ravel().tolist()
        [1.0, 0.7213]
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or not np.all(d[:, 0] > 0):
        raise InputError("neighbour distances must be an (N, k) array of positive values",
                         "drop duplicate points first (estimate_dimension does)")
    logs = np.log(d)
    sums = np.cumsum(logs, axis=1)  # sums[:, j - 1] = sum_{i <= j} ln T_i
    with np.errstate(divide="ignore"):
        return np.stack([(k - 1) / ((k - 1) * logs[:, k - 1] - sums[:, k - 2]) for k in ks], 1)


def check_choice(name: str, choices: Sequence[str], what: str) -> None:
    """Refuse ``name`` unless it is one of ``choices`` (one line, with the nearest choice)."""
    if name not in choices:
        raise InputError(f"unknown {what} '{name}'", suggest(name, choices))


def neighbour_distances(points: np.ndarray, k_max: int,
                        on_block: Callable[[int], object] | None = None) -> np.ndarray:
    """Exact Euclidean distances ``(N, k_max)``, ascending, from each of ``N > k_max`` distinct
    points to its ``k_max`` nearest neighbours (itself excluded): found by scikit-learn (brute
    force), then measured again as norms of differences (no cancellation in
    ``|a|^2 + |b|^2 - 2ab``). ``on_block`` gets the points of each finished block.

    Example:
        >>> neighbour_distances(np.array([[0.0], [1.0], [3.0]]), 2).tolist()
        [[1.0, 3.0], [1.0, 2.0], [2.0, 3.0]]
    """
    x = np.asarray(points, dtype=np.float64)
    x = x - x.mean(0)
    n = len(x)
    nn = NearestNeighbors(n_neighbors=min(k_max + 1, n), algorithm="brute").fit(x)
    out = np.empty((n, k_max))
    block = max(16, BLOCK_FLOATS // (k_max * max(x.shape[1], 1)))
    for start in range(0, n, block):
        rows = x[start:start + block]
        idx = nn.kneighbors(rows, return_distance=False)
        own = idx == np.arange(start, start + len(rows))[:, None]
        own[~own.any(1), -1] = True  # the point itself not among them: drop the farthest
        idx = idx[~own].reshape(len(rows), k_max)
        diff = x[idx] - rows[:, None, :]
        out[start:start + len(rows)] = np.sort(np.sqrt(np.einsum("bkd,bkd->bk", diff, diff)), 1)
        if on_block is not None:
            on_block(len(rows))
    return out


@dataclass(frozen=True)
class DimensionEstimate:
    """Intrinsic-dimension estimates for a range of neighbour counts.

    Attributes:
        ks: The neighbour counts ``k``.
        levina_bickel, levina_bickel_err: ``mean_x m_k(x)`` and its standard error, per k.
        mackay_ghahramani, mackay_ghahramani_err: ``[mean_x 1/m_k(x)]^-1`` and its standard
            error (delta method), per k.
        n_points: Distinct points used.
        n_duplicates: Duplicate points dropped.
    """

    ks: np.ndarray
    levina_bickel: np.ndarray
    levina_bickel_err: np.ndarray
    mackay_ghahramani: np.ndarray
    mackay_ghahramani_err: np.ndarray
    n_points: int
    n_duplicates: int = 0

    @classmethod
    def from_pointwise(cls, ks: Sequence[int], m: np.ndarray,
                       n_duplicates: int = 0) -> DimensionEstimate:
        """Aggregate ``(N, len(ks))`` local estimates ``m_k(x)``."""
        inv, root_n = 1.0 / m, np.sqrt(len(m))
        mg = 1.0 / inv.mean(0)
        return cls(np.asarray(ks), m.mean(0), m.std(0, ddof=1) / root_n, mg,
                   mg**2 * inv.std(0, ddof=1) / root_n, len(m), n_duplicates)

    def values(self, method: str = "mackay-ghahramani") -> tuple[np.ndarray, np.ndarray]:
        """Estimates and standard errors per k of one aggregation (:data:`METHODS`)."""
        check_choice(method, METHODS, "aggregation")
        key = method.replace("-", "_")
        return getattr(self, key), getattr(self, f"{key}_err")

    def average(self, method: str = "mackay-ghahramani") -> tuple[float, float]:
        """The estimate averaged over the k range (Levina-Bickel's final step) and the mean of
        the standard errors (the values at neighbouring k are almost fully correlated)."""
        value, err = self.values(method)
        return float(np.mean(value)), float(np.mean(err))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per-k values, the k-range averages and the counts."""
        out: dict[str, Any] = {"k": self.ks.tolist(), "n_points": self.n_points,
                               "n_duplicates": self.n_duplicates}
        for key in (m.replace("-", "_") for m in METHODS):
            out |= {key: getattr(self, key).tolist(), f"{key}_err": getattr(self, f"{key}_err")
                    .tolist(), f"{key}_average": float(np.mean(getattr(self, key)))}
        return out


def estimate_dimension(points: np.ndarray, k: int | Sequence[int] = DEFAULT_K, *,
                       on_block: Callable[[int], object] | None = None) -> DimensionEstimate:
    """Levina-Bickel and MacKay-Ghahramani MLE intrinsic dimension of a point cloud.

    Arguments:
        points: ``(N, D)`` points (float64 internally); duplicates are dropped.
        k: One neighbour count or ``(k_min, k_max)``; needs ``k_max`` < distinct points.
        on_block: Called with the points of each finished block (e.g. a progress bar's update).

    Raises:
        InputError: bad shape, NaN/inf, ``k < 2`` or ``k_max`` not below the distinct points.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> plane = rng.normal(size=(2000, 2)) @ rng.normal(size=(2, 50))  # 2-d in 50-d
        >>> est = estimate_dimension(plane, k=(10, 20))
        >>> est.ks.tolist()[:3], round(est.average("mackay-ghahramani")[0], 1)
        ([10, 11, 12], 2.0)
    """
    k_min, k_max = k_range(k)
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.size == 0 or not np.isfinite(x).all():
        raise InputError(f"points must be a non-empty (N, D) array of finite values, got shape "
                         f"{x.shape}", "pass one row per point, without NaN or inf")
    first = np.sort(np.unique(x, axis=0, return_index=True)[1])
    x, n_dup = x[first], len(x) - len(first)
    if k_max >= len(x):
        raise InputError(f"k = {k_max} needs more than {k_max} distinct points, got {len(x)}",
                         "lower k or use more points")
    ks = list(range(k_min, k_max + 1))
    d = neighbour_distances(x, k_max, on_block)
    return DimensionEstimate.from_pointwise(ks, pointwise_mle(d, ks), n_dup)
