"""Maximum-likelihood calibration of the incident energy with a per-shower interval.

Given any ``log p(x_i | E)`` evaluable for many showers at once, :func:`calibrate` finds
``E_hat = argmax_E log p(x | E)`` per shower: a coarse grid ``first guess x [0.5, 2]`` (geometric),
refined by a bounded golden-section search around the best grid point, then the interval where
``-2 (ln L - ln L_max) <= 1`` by bisection on each side, giving ``sigma_L``, ``sigma_R`` and
``sigma = (sigma_L + sigma_R) / 2``. An ensemble of models is combined by averaging their
likelihoods (:func:`ensemble`). Everything is vectorised over showers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import logsumexp
from scipy.stats import gaussian_kde

__all__ = ["CalibrationResult", "LogLikelihood", "ResponseSummary", "calibrate", "ensemble",
           "pulls", "response_summary"]

#: ``log_like(energies) -> (n,)``: log-likelihood of each shower at its own candidate energy.
LogLikelihood = Callable[[np.ndarray], np.ndarray]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass
class CalibrationResult:
    """Per-shower calibration (MeV).

    Attributes:
        e_hat: Maximum-likelihood energy.
        sigma_left, sigma_right: Distances to the ``Delta(-2 ln L) = 1`` points.
        sigma: Their mean.
        log_l_max: ``ln L`` at ``e_hat``.
    """

    e_hat: np.ndarray
    sigma_left: np.ndarray
    sigma_right: np.ndarray
    sigma: np.ndarray
    log_l_max: np.ndarray

    def to_json(self) -> dict[str, list[float]]:
        """A JSON-ready dict of lists."""
        return {k: np.asarray(v).tolist() for k, v in asdict(self).items()}


def ensemble(models: Sequence[LogLikelihood]) -> LogLikelihood:
    """Average the likelihoods (not the log-likelihoods) of several models.

    Example:
        >>> one = lambda e: -0.5 * (e - 1.0) ** 2
        >>> float(ensemble([one, one])(np.array([1.0]))[0])
        0.0
    """
    def combined(energies: np.ndarray) -> np.ndarray:
        values = np.stack([m(energies) for m in models])
        return logsumexp(values, axis=0) - np.log(len(models))

    return combined


def _golden(log_like: LogLikelihood, lo: np.ndarray, hi: np.ndarray, iterations: int
            ) -> np.ndarray:
    """Vectorised bounded golden-section maximisation on ``[lo, hi]``."""
    a, b = lo.copy(), hi.copy()
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = log_like(c), log_like(d)
    for _ in range(iterations):
        left = fc > fd  # maximum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new = np.where(left, b - _GOLDEN * (b - a), a + _GOLDEN * (b - a))
        f_new = log_like(new)
        d, fd, c, fc = (np.where(left, c, new), np.where(left, fc, f_new),
                        np.where(left, new, d), np.where(left, f_new, fd))
    return 0.5 * (a + b)


def _crossing(log_like: LogLikelihood, inside: np.ndarray, outside: np.ndarray,
              target: np.ndarray, iterations: int) -> np.ndarray:
    """Bisection for ``log_like(E) = target`` between ``inside`` (above) and ``outside``."""
    a, b = inside.copy(), outside.copy()
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        above = log_like(mid) >= target
        a, b = np.where(above, mid, a), np.where(above, b, mid)
    return 0.5 * (a + b)


def evaluations(grid: int = 21, iterations: int = 25) -> int:
    """How many times :func:`calibrate` evaluates the likelihood (grid, golden section, the
    maximum, two bisections): the length of its progress bar.

    Example:
        >>> calls = []
        >>> _ = calibrate(lambda e: calls.append(1) or -((e - 3.0) ** 2), np.array([3.0]))
        >>> len(calls) == evaluations()
        True
    """
    return grid + (iterations + 2) + 1 + 2 * iterations


def calibrate(log_like: LogLikelihood, first_guess: np.ndarray, lo: float = 0.5,
              hi: float = 2.0, grid: int = 21, iterations: int = 25) -> CalibrationResult:
    """Maximum-likelihood energies and profile-likelihood intervals.

    Arguments:
        log_like: ``log p(x_i | E_i)`` for every shower ``i`` at candidate energies ``E_i``.
        first_guess: A first estimate per shower (e.g. the deposited energy over the sampling
            fraction), MeV.
        lo, hi: The grid spans ``[lo, hi] x first_guess``; intervals are searched within it.
        grid: Grid points.
        iterations: Golden-section and bisection steps.

    Returns:
        The :class:`CalibrationResult`.

    Example:
        >>> x = np.array([10.0, 20.0])
        >>> res = calibrate(lambda e: -0.5 * ((x - e) / 1.0) ** 2, first_guess=x * 0.9)
        >>> np.round(res.e_hat, 4).tolist(), np.round(res.sigma, 3).tolist()
        ([10.0, 20.0], [1.0, 1.0])
    """
    guess = np.asarray(first_guess, dtype=np.float64)
    factors = np.geomspace(lo, hi, grid)
    table = np.stack([log_like(guess * f) for f in factors], axis=1)
    best = table.argmax(axis=1)
    left = guess * factors[np.maximum(best - 1, 0)]
    right = guess * factors[np.minimum(best + 1, grid - 1)]
    e_hat = _golden(log_like, left, right, iterations)
    l_max = log_like(e_hat)
    target = l_max - 0.5
    e_left = _crossing(log_like, e_hat, guess * lo, target, iterations)
    e_right = _crossing(log_like, e_hat, guess * hi, target, iterations)
    sigma_left, sigma_right = e_hat - e_left, e_right - e_hat
    return CalibrationResult(e_hat, sigma_left, sigma_right, 0.5 * (sigma_left + sigma_right),
                             l_max)


@dataclass
class ResponseSummary:
    """Response and resolution of ``E_hat / E_true`` at one true energy.

    Attributes:
        response, response_err: Mode (Gaussian KDE) of the ratio: mean and std over bootstrap
            resamples.
        resolution: Half-width of the interval around the mode holding 68 % of the ratios,
            divided by the mode.
        predicted: Mean per-shower ``sigma / E_hat`` (NaN when no intervals are given).
        pull_std, pull_width: Standard deviation and 68 % half-width of ``(E_hat - E) / sigma``.
    """

    response: float
    response_err: float
    resolution: float
    predicted: float = float("nan")
    pull_std: float = float("nan")
    pull_width: float = float("nan")


def _mode(values: np.ndarray) -> float:
    kde = gaussian_kde(values)
    lo, hi = np.percentile(values, [1, 99])
    grid = np.linspace(lo, hi, 801)
    return float(grid[np.argmax(kde(grid))])


def pulls(e_hat: np.ndarray, e_true: float | np.ndarray, sigma_left: np.ndarray,
          sigma_right: np.ndarray) -> np.ndarray:
    """Pulls with asymmetric intervals: ``(E_hat - E) / sigma_L`` where the truth lies below the
    estimate, ``/ sigma_R`` where it lies above (the side of the interval that covers it).

    Example:
        >>> pulls(np.array([12.0, 8.0]), 10.0, np.array([1.0, 1.0]), np.array([4.0, 4.0])).tolist()
        [2.0, -0.5]
    """
    e_hat = np.asarray(e_hat, dtype=np.float64)
    side = np.where(e_hat >= e_true, np.asarray(sigma_left), np.asarray(sigma_right))
    return np.asarray((e_hat - e_true) / side)


def response_summary(e_hat: np.ndarray, e_true: float | np.ndarray,
                     sigma: np.ndarray | None = None, resamples: int = 20,
                     seed: int = 0,
                     interval: tuple[np.ndarray, np.ndarray] | None = None) -> ResponseSummary:
    """Response (bootstrap + KDE mode of ``E_hat / E``), resolution and pulls.

    With ``interval = (sigma_left, sigma_right)`` the pulls use the side of the interval that
    faces the truth (:func:`pulls`); otherwise the symmetric ``sigma``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> e_hat = 50.0 * (1.0 + 0.02 * rng.standard_normal(4000))
        >>> s = response_summary(e_hat, 50.0, sigma=np.full(4000, 1.0))
        >>> round(s.response, 2), round(s.resolution, 3), round(s.pull_std, 1)
        (1.0, 0.02, 1.0)
    """
    ratio = np.asarray(e_hat, dtype=np.float64) / e_true
    rng = np.random.default_rng(seed)
    modes = [_mode(rng.choice(ratio, len(ratio))) for _ in range(resamples)]
    mode = _mode(ratio)
    half = float(np.quantile(np.abs(ratio - mode), 0.68))
    out = ResponseSummary(float(np.mean(modes)), float(np.std(modes)), half / mode)
    if sigma is not None:
        pull = (pulls(e_hat, e_true, *interval) if interval is not None
                else (np.asarray(e_hat) - e_true) / np.asarray(sigma))
        q16, q84 = np.percentile(pull, [16, 84])
        out.predicted = float(np.mean(np.asarray(sigma) / np.asarray(e_hat)))
        out.pull_std, out.pull_width = float(np.std(pull)), float(0.5 * (q84 - q16))
    return out
