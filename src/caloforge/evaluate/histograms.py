"""Feature histograms with the CaloChallenge binnings and the separation power.

Separation power (triangular discrimination, arXiv:2009.03796 eq. 15) of two histograms
normalised to unit sum over the binned range: ``S = 1/2 sum_i (h1_i - h2_i)^2 / (h1_i + h2_i)``;
0 for identical shapes, 1 for disjoint ones.

Binnings: the CaloChallenge ones (``code/evaluate_plotting_helper.py``) for the CaloChallenge
geometries: E_tot/E_inc in [0.5, 1.5] (100 bins), layer energies in 39 log-spaced bins from the
evaluation's ``min_energy`` to the reference maximum (``plot_E_layers``), centres in [-30, 30]
mm (ds2/ds3), [-500, 500] mm (ds1 layers 12, 13) or [-100, 100] mm, widths from 0 to 30, 400 or
100 mm (100 bins). Other geometries and the features the challenge did not plot (r centre and
width, sparsity) use ranges from the reference's 0.1 %-99.9 % quantiles, so the generated sample
never moves the bins.

The lower edge of the energy histograms (:func:`min_energy`) is fixed, never taken from the data:
``evaluate.py`` sets ``min_energy`` to 10 MeV for ds1 (photons and pions) and to the ds2/ds3 readout
threshold 0.5 keV / 0.033 = 0.01515 MeV; other geometries use the readout threshold. Layers or
voxels below it are outside the histogram for both samples (the histograms are normalised over
the binned range, as ``density=True`` times the bin widths is in the official code).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from caloforge.geometry import LayeredGeometry

__all__ = [
    "CALOCHALLENGE_MIN_ENERGY_MEV",
    "FeatureComparison",
    "compare_feature",
    "feature_bins",
    "log_bins",
    "min_energy",
    "normalised_histogram",
    "over_floor",
    "quantile_bins",
    "separation_power",
]


def over_floor(separation: float, floor: float, floor_std: float) -> bool:
    """Whether a separation power exceeds its statistical floor: more than twice the floor and
    more than three of its standard deviations above it.

    Example:
        >>> over_floor(0.05, 0.01, 0.002), over_floor(0.015, 0.01, 0.002)
        (True, False)
    """
    return separation > max(2.0 * floor, floor + 3.0 * floor_std)


def normalised_histogram(values: np.ndarray, bins: np.ndarray,
                         weights: np.ndarray | None = None) -> np.ndarray:
    """Counts in ``bins`` divided by their in-range sum (zeros if nothing falls in range)."""
    counts, _ = np.histogram(values, bins=bins, weights=weights)
    total = counts.sum()
    return counts / total if total > 0 else counts.astype(np.float64)


def separation_power(h1: np.ndarray, h2: np.ndarray) -> float:
    """Separation power of two unit-sum histograms.

    Example:
        >>> separation_power(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
        0.0
        >>> separation_power(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
        1.0
    """
    den = h1 + h2
    mask = den > 0
    return float(0.5 * np.sum((h1[mask] - h2[mask]) ** 2 / den[mask]))


#: ``min_energy`` of the CaloChallenge ``evaluate.py`` in MeV, the lower edge of its log-binned
#: layer-energy and voxel-energy histograms ("ds1: from Michele, ds2/3: 0.5 keV / 0.033").
CALOCHALLENGE_MIN_ENERGY_MEV = {"ds1-photons": 10.0, "ds1-pions": 10.0,
                                "ds2": 0.5e-3 / 0.033, "ds3": 0.5e-3 / 0.033}


def _is_calochallenge(geometry: LayeredGeometry) -> bool:
    return geometry.name in CALOCHALLENGE_MIN_ENERGY_MEV


def min_energy(geometry: LayeredGeometry, threshold: float) -> float | None:
    """Lower edge (MeV) of the log-binned energy histograms: the CaloChallenge ``min_energy`` for
    its geometries, else the readout ``threshold``; None where that is 0 (no fixed edge: the
    caller falls back to the smallest positive reference value).

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> min_energy(get_geometry("ds1-pions"), 1.0), round(min_energy(get_geometry("ds2"), 0), 5)
        (10.0, 0.01515)
    """
    if _is_calochallenge(geometry):
        return CALOCHALLENGE_MIN_ENERGY_MEV[geometry.name]
    return threshold if threshold > 0 else None


def log_bins(low: float, top: float, n_edges: int) -> np.ndarray:
    """``n_edges`` log-spaced edges from ``low`` to ``top`` (to ``10 low`` if ``top <= low``)."""
    top = top if top > low else 10.0 * low
    return np.logspace(np.log10(low), np.log10(top), n_edges)


def quantile_bins(ref: np.ndarray, n: int = 100, log: bool = False) -> np.ndarray:
    """``n`` bins over the 0.1 %-99.9 % quantile range of ``ref`` (padded by 5 %)."""
    finite = ref[np.isfinite(ref)]
    if log:
        finite = finite[finite > 0]
        if finite.size == 0:
            return np.logspace(-3, 0, n + 1)
        lo, hi = np.quantile(np.log10(finite), [0.001, 0.999])
        pad = 0.05 * max(hi - lo, 1e-3)
        return np.logspace(lo - pad, hi + pad, n + 1)
    if finite.size == 0:
        return np.linspace(0.0, 1.0, n + 1)
    lo, hi = np.quantile(finite, [0.001, 0.999])
    pad = 0.05 * max(hi - lo, 1e-9)
    return np.linspace(lo - pad, hi + pad, n + 1)


def feature_bins(name: str, reference: np.ndarray, geometry: LayeredGeometry,
                 threshold: float) -> np.ndarray:
    """Bin edges of a named feature (see the module docstring), from the reference only.

    Example:
        >>> from caloforge.geometry import get_geometry
        >>> feature_bins("EC_eta_12", np.zeros(3), get_geometry("ds1-photons"), 1.0)[[0, -1]]
        array([-500.,  500.])
    """
    kind, _, layer = name.rpartition("_")
    cc = _is_calochallenge(geometry)
    wide = geometry.name.startswith("ds1") and layer in ("12", "13")
    fine = geometry.name in ("ds2", "ds3")
    if name == "E_tot/E_inc":
        return np.linspace(0.5, 1.5, 101) if cc else quantile_bins(reference)
    if kind == "E_layer":
        low = min_energy(geometry, threshold)
        positive = reference[reference > 0]
        if low is None:
            low = max(float(positive.min()) if positive.size else 1e-3, 1e-6)
        return log_bins(low, float(positive.max()) if positive.size else low, 40)
    if cc and kind in ("EC_eta", "EC_phi"):
        lim = 30.0 if fine else 500.0 if wide else 100.0
        return np.linspace(-lim, lim, 101)
    if cc and kind in ("width_eta", "width_phi"):
        lim = 30.0 if fine else 400.0 if wide else 100.0
        return np.linspace(0.0, lim, 101)
    if kind == "sparsity":
        return np.linspace(0.0, 1.0, 51)
    return quantile_bins(reference)


@dataclass
class FeatureComparison:
    """Separation power of one feature with its uncertainties.

    Attributes:
        name: Feature name.
        separation: S between reference and generated.
        bootstrap_std: Spread of S over bootstrap resamples of both samples.
        floor: Mean S between two bootstrap resamples of the reference (what statistics alone
            give for samples of these sizes).
        floor_std: Spread of that S over the resamples. S of statistically identical samples
            follows roughly ``floor * chi2_k / k`` with k the populated bins, so features with
            few populated bins (sparsity of small layers) scatter by tens of percent.
        n_reference, n_generated: Sample sizes.
    """

    name: str
    separation: float
    bootstrap_std: float
    floor: float
    floor_std: float
    n_reference: int
    n_generated: int

    @property
    def consistent_with_floor(self) -> bool:
        """S within twice the floor, or within 3 standard deviations of it."""
        return not over_floor(self.separation, self.floor, self.floor_std)

    def to_dict(self) -> dict[str, float | int | str]:
        """As a JSON-ready dict."""
        return asdict(self)


def compare_feature(name: str, reference: np.ndarray, generated: np.ndarray, bins: np.ndarray,
                    rng: np.random.Generator, n_bootstrap: int = 10) -> FeatureComparison:
    """Separation power of ``generated`` against ``reference`` with Poisson-bootstrap errors.

    Bootstrap resamples use Poisson(1) weights (equivalent to resampling with replacement for
    large samples, and cheap).
    """
    h_ref = normalised_histogram(reference, bins)
    h_gen = normalised_histogram(generated, bins)
    value = separation_power(h_ref, h_gen)
    boots, floors = [], []
    for _ in range(n_bootstrap):
        w_ref = rng.poisson(1.0, len(reference)).astype(np.float64)
        w_gen = rng.poisson(1.0, len(generated)).astype(np.float64)
        boots.append(separation_power(normalised_histogram(reference, bins, w_ref),
                                      normalised_histogram(generated, bins, w_gen)))
        w_other = rng.poisson(1.0, len(reference)).astype(np.float64)
        scale = len(generated) / max(len(reference), 1)
        floors.append(separation_power(normalised_histogram(reference, bins, w_ref),
                                       _subsample_hist(reference, bins, w_other, scale, rng)))
    return FeatureComparison(name, value, float(np.std(boots)) if boots else 0.0,
                             float(np.mean(floors)) if floors else 0.0,
                             float(np.std(floors)) if floors else 0.0,
                             len(reference), len(generated))


def _subsample_hist(values: np.ndarray, bins: np.ndarray, weights: np.ndarray, scale: float,
                    rng: np.random.Generator) -> np.ndarray:
    """A histogram with the statistics of ``scale * len(values)`` draws from ``values``."""
    if scale >= 1.0:
        return normalised_histogram(values, bins, weights)
    keep = rng.random(len(values)) < scale
    return normalised_histogram(values[keep], bins, weights[keep])
