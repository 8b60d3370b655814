"""Equal-probability (quantile) bins fitted on a truth sample, and the two distances of a
sample's bin fractions from the truth's: the quantile chi2 and the Jensen-Shannon divergence.

For ``B`` bins with truth probabilities ``p_j`` and a sample's fractions ``x_j``,
``chi2 = sum_j (x_j - p_j)^2 / p_j``, which for equal-probability bins (``p_j = 1/n_Q``) is the
GANplification paper's ``n_Q sum_j (x_j - 1/n_Q)^2`` (arXiv:2008.06545). For ``M`` independent
draws from the truth its expectation is exactly ``(B - 1) / M`` (multinomial variance).
``jsd`` is in bits (base-2 logarithms), as the classifier's JSD elsewhere in caloforge.

Joint projections of two features are binned nested: the first feature in ``n_Q`` quantiles,
then the second in ``n_Q`` quantiles inside each of those slices, so each of the ``n_Q^2`` cells
holds the same share of the truth sample (the bins follow the correlation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caloforge.errors import InputError

__all__ = ["METRICS", "QuantileBinning", "chi2_distance", "fit_binning", "js_divergence"]

#: Fewest truth showers per bin when fitting the edges.
MIN_FIT_PER_BIN = 20


def chi2_distance(fractions: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``sum_j (x_j - p_j)^2 / p_j`` over the last axis.

    Example:
        >>> p = np.full(4, 0.25)
        >>> float(chi2_distance(np.array([0.5, 0.5, 0.0, 0.0]), p))
        1.0
        >>> float(chi2_distance(p, p))
        0.0
    """
    return np.sum((fractions - probabilities) ** 2 / probabilities, axis=-1)


def js_divergence(fractions: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits over the last axis (0 for equal, 1 for disjoint).

    Example:
        >>> p = np.full(2, 0.5)
        >>> float(js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
        1.0
        >>> float(js_divergence(p, p))
        0.0
    """
    fractions, probabilities = np.broadcast_arrays(np.asarray(fractions, dtype=np.float64),
                                                   np.asarray(probabilities, dtype=np.float64))
    m = 0.5 * (fractions + probabilities)

    def kl(a: np.ndarray) -> np.ndarray:
        ratio = np.divide(a, m, out=np.ones_like(a), where=a > 0)
        return np.sum(a * np.log2(ratio), axis=-1)

    return 0.5 * kl(fractions) + 0.5 * kl(probabilities)


#: Name -> distance of bin fractions from the truth probabilities.
METRICS = {"chi2": chi2_distance, "jsd": js_divergence}


def _inner_edges(values: np.ndarray, n_q: int) -> np.ndarray:
    """The ``n_Q - 1`` inner quantile edges, ties merged (a feature with many equal values,
    e.g. zero layer energies, gets fewer bins of unequal probability)."""
    return np.unique(np.quantile(values, np.arange(1, n_q) / n_q))


@dataclass
class QuantileBinning:
    """Quantile bins of one feature or a nested joint projection of two.

    Attributes:
        names: The binned features (one or two).
        n_quantiles: Quantiles per feature.
        outer: Inner edges of the first feature.
        inner: For a joint projection, the inner edges of the second feature in each slice.
        probabilities: The truth's share of each bin, ``(B,)``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> b = fit_binning(rng.normal(size=(10_000, 1)), ("x",), 10)
        >>> b.n_bins, np.round(b.probabilities[:2], 3).tolist()
        (10, [0.1, 0.1])
        >>> b.fractions(np.array([[-5.0], [5.0]])).tolist()
        [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]
    """

    names: tuple[str, ...]
    n_quantiles: int
    outer: np.ndarray
    inner: list[np.ndarray] | None
    probabilities: np.ndarray

    @property
    def n_bins(self) -> int:
        """Number of bins ``B``."""
        return len(self.probabilities)

    @property
    def label(self) -> str:
        """``x`` or ``x : y`` for a joint projection."""
        return " : ".join(self.names)

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Bin index of each row of ``values`` ``(N, 1 or 2)``."""
        first = np.searchsorted(self.outer, values[:, 0], side="left")
        if self.inner is None:
            return first
        offsets = np.cumsum([0] + [len(e) + 1 for e in self.inner])
        out = np.empty(len(values), dtype=np.int64)
        for i, edges in enumerate(self.inner):
            rows = first == i
            out[rows] = offsets[i] + np.searchsorted(edges, values[rows, 1], side="left")
        return out

    def counts(self, values: np.ndarray) -> np.ndarray:
        """Counts per bin, ``(B,)``."""
        return np.bincount(self.assign(values), minlength=self.n_bins)

    def fractions(self, values: np.ndarray) -> np.ndarray:
        """Share of ``values`` in each bin, ``(B,)``."""
        return self.counts(values) / len(values)


def fit_binning(values: np.ndarray, names: tuple[str, ...], n_quantiles: int) -> QuantileBinning:
    """Fit quantile bins of one feature ``(N, 1)`` or a joint projection ``(N, 2)``.

    Raises:
        InputError: Too few truth values for the bins, or a bin the truth leaves empty.

    Example:
        >>> x = np.random.default_rng(1).uniform(size=(40_000, 2))
        >>> b = fit_binning(x, ("a", "b"), 5)
        >>> b.n_bins, round(float(b.probabilities.max() - b.probabilities.min()), 3)
        (25, 0.0)
    """
    if values.ndim != 2 or values.shape[1] not in (1, 2) or values.shape[1] != len(names):
        raise InputError(f"quantile bins take one or two features, got values of shape "
                         f"{values.shape} for {names}", "pass one feature or a pair")
    n_bins = n_quantiles ** values.shape[1]
    if len(values) < MIN_FIT_PER_BIN * n_bins:
        raise InputError(f"{len(values)} truth values are too few to fit {n_bins} quantile bins "
                         f"of {' : '.join(names)} (at least {MIN_FIT_PER_BIN} per bin)",
                         "use a larger reference sample or fewer quantiles")
    outer = _inner_edges(values[:, 0], n_quantiles)
    inner = None
    if values.shape[1] == 2:
        first = np.searchsorted(outer, values[:, 0], side="left")
        inner = [_inner_edges(values[first == i, 1], n_quantiles) for i in range(len(outer) + 1)]
    binning = QuantileBinning(tuple(names), n_quantiles, outer, inner, np.empty(0))
    n_b = len(outer) + 1 if inner is None else sum(len(e) + 1 for e in inner)
    binning.probabilities = np.bincount(binning.assign(values), minlength=n_b) / len(values)
    if np.any(binning.probabilities == 0):
        raise InputError(f"the truth leaves a quantile bin of {binning.label} empty",
                         "use a larger reference sample or fewer quantiles")
    return binning
