"""Amplification: how many truth (simulated) showers a generated sample is worth.

A model trained on ``N_train`` showers is sampled without limit, but its samples match the truth
only as well as some number ``N_eq`` of truth showers would (GANplification, arXiv:2008.06545;
Calomplification, arXiv:2202.07352). Measured on files only, knowing no model:

1. quantile bins (:mod:`caloforge.evaluate.equal_bins`) are fitted on one part of the reference
   (``fit_fraction``), per feature and for joint projections, with ``n_Q`` quantiles each;
2. the *truth curve*: the distance (quantile chi2 or JSD) of truth samples of size ``M``, drawn
   from the other part of the reference, as a function of ``M`` (``replicas`` draws per size);
3. ``N_eq`` is the size where that curve meets the generated sample's distance (log-log
   interpolation of the curve made non-increasing), and the amplification factor is
   ``N_eq / N_train``. Both parts of the comparison see the same edges, so the edges' own
   statistical error cancels.

Errors are bootstrap percentiles (16 %, 84 %): the replicas of every curve point and the
generated bin counts (multinomial, the resampled distances recentred on the measured one, as a
resample adds a second draw's noise) are resampled together. A generated distance below the curve
at its largest size only bounds ``N_eq`` from below (``bound = "lower"``); the generated sample
itself caps ``N_eq`` near its own size, so it should hold many more showers than ``N_train``.

Example:
    >>> rng = np.random.default_rng(0)
    >>> truth = {"x": rng.normal(size=200_000)}
    >>> gen = {"x": rng.normal(size=2_000)}
    >>> r = amplification(truth, gen, train_size=1_000, n_quantiles=(10,), metrics=("chi2",),
    ...                   n_boot=50, seed=1)
    >>> row = r.rows[0]
    >>> row.projection, row.n_bins, 0.4 < row.n_eq / 2_000 < 2.5
    ('x', 10, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from caloforge.errors import InputError
from caloforge.evaluate.equal_bins import METRICS, QuantileBinning, fit_binning

__all__ = ["AmplificationResult", "AmplificationRow", "TruthCurve", "TruthReference",
           "amplification", "check_sizes", "equivalent_size", "truth_curve", "truth_reference"]

#: Fewest generated showers per bin (of the finest binning asked for).
MIN_GENERATED_PER_BIN = 10
#: The largest truth-curve size is this share of the curve's part of the reference.
MAX_SIZE_SHARE = 0.25


@dataclass
class TruthCurve:
    """A distance of truth samples from the truth bins as a function of their size.

    Attributes:
        sizes: Sample sizes ``M``, ``(S,)``.
        values: The distance of each replica, ``(S, R)``.
    """

    sizes: np.ndarray
    values: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Mean over the replicas, ``(S,)``."""
        return self.values.mean(axis=1)

    @property
    def sem(self) -> np.ndarray:
        """Standard error of that mean, ``(S,)``."""
        return self.values.std(axis=1, ddof=1) / np.sqrt(self.values.shape[1])


def truth_curve(bins: np.ndarray, binning: QuantileBinning, sizes: Sequence[int], replicas: int,
                rng: np.random.Generator, metric: str = "chi2") -> TruthCurve:
    """Distances of ``replicas`` truth samples of each size, drawn without replacement from a
    pool given by its bin indices ``bins`` (disjoint samples until the pool is used up).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> b = fit_binning(rng.uniform(size=(500_000, 1)), ("u",), 10)
        >>> pool = b.assign(rng.uniform(size=(100_000, 1)))
        >>> c = truth_curve(pool, b, [100, 1000], 200, rng)
        >>> np.round(c.mean * c.sizes / 9, 1).tolist()   # E[chi2] = (B - 1) / M (+ 1/N_fit)
        [1.0, 1.0]
    """
    fn = METRICS[metric]
    out = np.empty((len(sizes), replicas))
    order, used = rng.permutation(len(bins)), 0
    for i, m in enumerate(sizes):
        if m > len(bins):
            raise InputError(f"a truth sample of {m} is larger than the pool of {len(bins)}",
                             "use a larger reference sample or smaller curve sizes")
        for r in range(replicas):
            if used + m > len(bins):
                order, used = rng.permutation(len(bins)), 0
            counts = np.bincount(bins[order[used:used + m]], minlength=binning.n_bins)
            used += m
            out[i, r] = fn(counts / m, binning.probabilities)
    return TruthCurve(np.asarray(sizes, dtype=np.float64), out)


def equivalent_size(sizes: np.ndarray, curve: np.ndarray, value: float) -> tuple[float, str]:
    """The size where a decreasing ``curve`` over ``sizes`` meets ``value`` (log-log
    interpolation), and ``""``, or ``"lower"``/``"upper"`` when it lies beyond the curve (the
    size returned is then the bound).

    Example:
        >>> s = np.array([10.0, 100.0, 1000.0])
        >>> equivalent_size(s, 9 / s, 9 / 300)
        (300.0, '')
        >>> equivalent_size(s, 9 / s, 1e-6)
        (1000.0, 'lower')
    """
    c = np.minimum.accumulate(np.asarray(curve, dtype=np.float64))
    if value >= c[0]:
        return float(sizes[0]), "upper"
    if value <= c[-1]:
        return float(sizes[-1]), "lower"
    i = int(np.argmax(c <= value))
    lc, lv = np.log(c[i - 1:i + 1]), np.log(value)
    t = (lv - lc[0]) / (lc[1] - lc[0]) if lc[1] < lc[0] else 1.0
    ls = np.log(sizes[i - 1:i + 1])
    return float(np.round(np.exp(ls[0] + t * (ls[1] - ls[0])), 6)), ""


@dataclass
class AmplificationRow:
    """One feature (or joint projection), quantile count and distance.

    Attributes:
        projection: Feature name, or ``a : b`` for a joint projection.
        n_quantiles, n_bins: Quantiles per feature and bins in all.
        metric: ``chi2`` or ``jsd``.
        generated: The generated sample's distance.
        n_eq, n_eq_low, n_eq_high: Equivalent truth size and its 16 %/84 % bootstrap range.
        factor, factor_err: ``n_eq / train_size`` and its bootstrap standard deviation.
        significance: ``(factor - 1) / factor_err``.
        bound: ``""``, ``"lower"`` (N_eq beyond the largest truth size) or ``"upper"``.
    """

    projection: str
    n_quantiles: int
    n_bins: int
    metric: str
    generated: float
    n_eq: float
    n_eq_low: float
    n_eq_high: float
    factor: float
    factor_err: float
    significance: float
    bound: str


@dataclass
class AmplificationResult:
    """The rows, the truth curves behind them and the sample sizes."""

    train_size: int
    n_reference_fit: int
    n_reference_curve: int
    n_generated: int
    rows: list[AmplificationRow] = field(default_factory=list)
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def table_lines(self) -> list[str]:
        """A plain-text table, one line per row."""
        head = (f"{'projection':<28} {'n_Q':>4} {'metric':>6} {'N_eq':>10} "
                f"{'68% range':>19} {'factor':>8} {'± err':>7}")
        lines = [head, "-" * len(head)]
        for r in self.rows:
            mark = {"lower": ">", "upper": "<"}.get(r.bound, " ")
            rng = f"{r.n_eq_low:.4g}-{r.n_eq_high:.4g}"
            lines.append(f"{r.projection[:28]:<28} {r.n_quantiles:>4} {r.metric:>6} "
                         f"{mark}{r.n_eq:>9.4g} {rng:>19} {r.factor:>8.3g} {r.factor_err:>7.2g}")
        return lines


def _columns(sample: Mapping[str, np.ndarray], names: Sequence[str], what: str) -> np.ndarray:
    missing = [n for n in names if n not in sample]
    if missing:
        raise InputError(f"the {what} sample has no feature {missing[0]!r}",
                         f"choose among {', '.join(sorted(sample))}")
    out = np.stack([np.asarray(sample[n], dtype=np.float64).reshape(-1) for n in names], axis=1)
    bad = ~np.isfinite(out)
    if bad.any():
        name = names[int(np.argmax(bad.any(axis=0)))]
        raise InputError(f"the {what} sample has {int(bad.any(axis=1).sum())} non-finite values "
                         f"of {name!r}", "drop those showers or that feature")
    return out


def _projections(reference: Mapping[str, np.ndarray], features: Sequence[str] | None,
                 joint: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
    singles = list(reference) if features is None else list(features)
    return [(f,) for f in singles] + [tuple(pair) for pair in joint]


def check_sizes(n_gen: int, projections: list[tuple[str, ...]],
                 n_quantiles: Sequence[int], train_size: int) -> None:
    """Refuse a training size below 1, or a generated sample with fewer than
    :data:`MIN_GENERATED_PER_BIN` showers per bin of the finest binning asked for (checked
    before any file is read)."""
    if train_size < 1:
        raise InputError(f"the training size must be positive, got {train_size}",
                         "give the number of showers the model was trained on")
    finest = max(q ** len(p) for p in projections for q in n_quantiles)
    need = MIN_GENERATED_PER_BIN * finest
    if n_gen < need:
        raise InputError(f"the generated sample has {n_gen} showers; {finest} bins "
                         f"(n_Q = {max(n_quantiles)}) need at least {need} "
                         f"({MIN_GENERATED_PER_BIN} per bin)",
                         "generate more showers or ask for fewer quantiles")


@dataclass
class TruthReference:
    """Quantile bins fitted on part of the reference and the truth curves of the rest, for
    every projection, quantile count and metric: computed once, compared with any number of
    generated samples (:meth:`compare`).

    Attributes:
        binnings: ``(projection, n_Q) -> QuantileBinning``.
        curves: ``(projection label, n_Q, metric) -> TruthCurve``.
        n_fit, n_curve: Reference showers that fit the bins / draw the truth samples.
    """

    binnings: dict[tuple[tuple[str, ...], int], QuantileBinning]
    curves: dict[tuple[str, int, str], TruthCurve]
    metrics: tuple[str, ...]
    n_fit: int
    n_curve: int
    n_boot: int
    seed: int

    def compare(self, generated: Mapping[str, np.ndarray], train_size: int) -> AmplificationResult:
        """Equivalent truth sizes and amplification factors of one generated sample."""
        n_gen = len(next(iter(generated.values())))
        projections = list(dict.fromkeys(p for p, _ in self.binnings))
        check_sizes(n_gen, projections, sorted({q for _, q in self.binnings}), train_size)
        rng = np.random.default_rng([self.seed, train_size, n_gen])
        result = AmplificationResult(train_size, self.n_fit, self.n_curve, n_gen)
        for (proj, n_q), binning in self.binnings.items():
            counts = binning.counts(_columns(generated, proj, "generated"))
            for metric in self.metrics:
                curve = self.curves[binning.label, n_q, metric]
                result.rows.append(_row(binning, metric, curve, counts, train_size,
                                        self.n_boot, rng))
                result.curves[f"{binning.label}|{n_q}|{metric}"] = {
                    "sizes": curve.sizes.tolist(), "mean": curve.mean.tolist(),
                    "sem": curve.sem.tolist()}
        return result


def truth_reference(reference: Mapping[str, np.ndarray], *,
                    features: Sequence[str] | None = None,
                    joint: Sequence[tuple[str, str]] = (), n_quantiles: Sequence[int] = (10, 20),
                    metrics: Sequence[str] = ("chi2", "jsd"), fit_fraction: float = 0.5,
                    n_sizes: int = 24, replicas: int = 40, n_boot: int = 200, seed: int = 0,
                    progress: bool = False) -> TruthReference:
    """Fit the bins and draw the truth curves (arguments as in :func:`amplification`)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InputError(f"unknown amplification metric {unknown[0]!r}",
                         f"choose among {', '.join(METRICS)}")
    projections = _projections(reference, features, joint)
    rng = np.random.default_rng(seed)
    n_ref = len(next(iter(reference.values())))
    n_fit = round(fit_fraction * n_ref)
    order = rng.permutation(n_ref)
    fit_rows, pool_rows = order[:n_fit], order[n_fit:]
    top = int(MAX_SIZE_SHARE * len(pool_rows))
    if top < 100:
        raise InputError(f"the reference sample ({n_ref}) is too small for truth curves",
                         "use at least a few thousand reference showers")
    sizes = np.unique(np.geomspace(10, top, n_sizes).astype(np.int64))
    out = TruthReference({}, {}, tuple(metrics), n_fit, len(pool_rows), n_boot, seed)
    tasks = [(p, q) for p in projections for q in n_quantiles]
    for proj, n_q in tqdm(tasks, disable=not progress, desc="truth curves", unit="projection"):
        ref = _columns(reference, proj, "reference")
        binning = fit_binning(ref[fit_rows], proj, n_q)
        pool = binning.assign(ref[pool_rows])
        out.binnings[proj, n_q] = binning
        for metric in metrics:
            out.curves[binning.label, n_q, metric] = truth_curve(pool, binning, sizes, replicas,
                                                                 rng, metric)
    return out


def amplification(reference: Mapping[str, np.ndarray], generated: Mapping[str, np.ndarray],
                  train_size: int, *, features: Sequence[str] | None = None,
                  joint: Sequence[tuple[str, str]] = (), n_quantiles: Sequence[int] = (10, 20),
                  metrics: Sequence[str] = ("chi2", "jsd"), fit_fraction: float = 0.5,
                  n_sizes: int = 24, replicas: int = 40, n_boot: int = 200, seed: int = 0,
                  progress: bool = False) -> AmplificationResult:
    """Equivalent truth sizes and amplification factors of a generated sample.

    Arguments:
        reference: Truth features by name (independent of the training showers).
        generated: The same features of the generated sample.
        train_size: Showers the model was trained on.
        features: Single features to bin (default: every feature of ``reference``).
        joint: Pairs of features binned jointly (nested quantiles).
        n_quantiles: Quantiles per feature, each a separate row.
        metrics: Distances, ``chi2`` and/or ``jsd``.
        fit_fraction: Share of the reference that fits the bins; the rest draws truth samples.
        n_sizes: Points of the truth curve, log-spaced from 10 to a quarter of its pool.
        replicas: Truth samples per curve point.
        n_boot: Bootstrap replicas of the errors.
        seed: Seed of the split, the truth draws and the bootstrap.
        progress: A progress bar over the projections.

    Raises:
        InputError: A generated sample too small for the finest binning (fewer than
            :data:`MIN_GENERATED_PER_BIN` per bin), too small a reference, a missing or
            non-finite feature, an unknown metric, a training size below 1.
    """
    n_gen = len(next(iter(generated.values())))
    check_sizes(n_gen, _projections(reference, features, joint), n_quantiles, train_size)
    truth = truth_reference(reference, features=features, joint=joint, n_quantiles=n_quantiles,
                            metrics=metrics, fit_fraction=fit_fraction, n_sizes=n_sizes,
                            replicas=replicas, n_boot=n_boot, seed=seed, progress=progress)
    return truth.compare(generated, train_size)


def _row(binning: QuantileBinning, metric: str, curve: TruthCurve, gen_counts: np.ndarray,
         train_size: int, n_boot: int, rng: np.random.Generator) -> AmplificationRow:
    fn = METRICS[metric]
    n_gen = int(gen_counts.sum())
    value = float(fn(gen_counts / n_gen, binning.probabilities))
    n_eq, bound = equivalent_size(curve.sizes, curve.mean, value)
    s, r = curve.values.shape
    picks = rng.integers(0, r, size=(n_boot, s, r))
    means = np.take_along_axis(np.broadcast_to(curve.values, (n_boot, s, r)), picks,
                               axis=2).mean(axis=2)
    boot_gen = fn(rng.multinomial(n_gen, gen_counts / n_gen, size=n_boot) / n_gen,
                  binning.probabilities)
    boot_gen = np.clip(boot_gen - (boot_gen.mean() - value), 1e-300, None)  # resampling adds
    # the noise of a second draw of n_gen: recentred on the measured distance
    boot = np.array([equivalent_size(curve.sizes, means[b], float(boot_gen[b]))[0]
                     for b in range(n_boot)])
    low, high = np.percentile(boot, [16, 84])
    factor, err = n_eq / train_size, float(np.std(boot / train_size, ddof=1))
    return AmplificationRow(binning.label, binning.n_quantiles, binning.n_bins, metric, value,
                            n_eq, float(low), float(high), factor, err,
                            (factor - 1.0) / err if err > 0 else float("inf"), bound)
