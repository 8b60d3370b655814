"""Precision, recall, density and coverage (PRDC) of a generated sample.

Definitions of M. F. Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative
Models", ICML 2020 (arXiv:2002.09797), as the ``prdc`` package (``compute_prdc``) computes them,
re-implemented block by block so memory is ``O(block x N)`` instead of ``N x N``. With ``r_i``
the distance of reference point i to its k-th nearest other reference point (``s_j`` the same
for generated point j):

* precision: share of generated points within ``r_i`` of some reference point i;
* recall: share of reference points within ``s_j`` of some generated point j;
* density: ``1 / (k M) sum_j #{i : d(i, j) < r_i}`` (M generated points; 1 for matching
  distributions, above 1 where the generated points crowd into dense regions);
* coverage: share of reference points whose nearest generated point lies within ``r_i``
  (``1 - 2^-k`` expected for matching distributions of equal size).

Inputs (the ``prdc`` mode): the high-level vectors of FPD/KPD (jetnet's inputs in the
CaloChallenge evaluation: E_inc, layer energies, centres and widths, without conditions), each
feature divided by the reference's maximum absolute value as for FPD/KPD; ``k = 5`` (the
package's and the paper's recommendation); at most :data:`MAX_POINTS` showers of each sample,
drawn without replacement from ``default_rng(seed)`` (the cost grows as N^2). Errors are binomial
(``sqrt(p (1 - p) / n)``; for density the standard error of the per-point counts / k), which
ignores the correlation between points through the shared radii.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances

from caloforge.evaluate.distances import DistanceResult

__all__ = ["MAX_POINTS", "NEAREST_K", "PRDC_NAMES", "kth_neighbour_radii", "prdc"]

#: Nearest neighbours defining the radii.
NEAREST_K = 5
#: Showers of each sample used at most.
MAX_POINTS = 10_000
#: Names of the four results (in ``metrics.json`` ``distances`` and the summary).
PRDC_NAMES = ("prdc_precision", "prdc_recall", "prdc_density", "prdc_coverage")
_BLOCK = 1024


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return pairwise_distances(a, b, metric="euclidean", n_jobs=1)


def kth_neighbour_radii(x: np.ndarray, k: int, block: int = _BLOCK) -> np.ndarray:
    """Distance of each row of ``x`` to its k-th nearest other row (the (k+1)-th smallest
    distance counting the row itself), block by block."""
    out = np.empty(len(x))
    for i in range(0, len(x), block):
        d = _distances(x[i : i + block], x)
        out[i : i + block] = np.partition(d, k, axis=1)[:, k]
    return out


def prdc(reference: np.ndarray, generated: np.ndarray, nearest_k: int = NEAREST_K,
         max_points: int = MAX_POINTS, normalise: bool = True, seed: int = 42,
         block: int = _BLOCK) -> list[DistanceResult]:
    """Precision, recall, density and coverage of ``generated`` against ``reference``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(400, 2)), rng.normal(size=(400, 2))
        >>> {r.name: round(r.value, 1) for r in prdc(a, b)}["prdc_coverage"]
        1.0
    """
    x, y = (np.asarray(a, dtype=np.float64) for a in (reference, generated))
    rng = np.random.default_rng(seed)
    if len(x) > max_points:
        x = x[np.sort(rng.choice(len(x), max_points, replace=False))]
    if len(y) > max_points:
        y = y[np.sort(rng.choice(len(y), max_points, replace=False))]
    if min(len(x), len(y)) <= nearest_k:
        raise ValueError(f"prdc needs more than k = {nearest_k} showers in each sample")
    if normalise:
        scale = np.max(np.abs(x), axis=0)
        scale[scale == 0] = 1.0
        x, y = x / scale, y / scale
    r_ref = kth_neighbour_radii(x, nearest_k, block)
    r_gen = kth_neighbour_radii(y, nearest_k, block)
    inside = np.zeros(len(y))  # per generated point: reference balls holding it
    recalled = np.zeros(len(x), dtype=bool)
    nearest = np.full(len(x), np.inf)
    for j in range(0, len(y), block):
        d = _distances(x, y[j : j + block])  # (n_ref, block)
        inside[j : j + block] = (d < r_ref[:, None]).sum(axis=0)
        recalled |= (d < r_gen[None, j : j + block]).any(axis=1)
        nearest = np.minimum(nearest, d.min(axis=1))
    n, m = len(x), len(y)
    values = {"prdc_precision": float((inside > 0).mean()),
              "prdc_recall": float(recalled.mean()),
              "prdc_density": float(inside.mean() / nearest_k),
              "prdc_coverage": float((nearest < r_ref).mean())}
    sizes = {"prdc_precision": m, "prdc_recall": n, "prdc_coverage": n}
    out = []
    for name in PRDC_NAMES:
        v = values[name]
        if name == "prdc_density":
            err = float(np.std(inside / nearest_k) / np.sqrt(m))
        else:
            err = float(np.sqrt(max(v * (1.0 - v), 0.0) / sizes[name]))
        out.append(DistanceResult(name, v, err, n, m))
    return out
