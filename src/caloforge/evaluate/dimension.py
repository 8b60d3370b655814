"""Intrinsic dimension of point clouds and shower files: the maximum-likelihood estimator.

For a point ``x`` with neighbour distances ``T_1(x) <= ... <= T_k(x)`` (itself excluded), the
local MLE is ``m_k(x) = [1/(k-1) sum_{j<k} ln(T_k(x) / T_j(x))]^-1`` (Levina & Bickel 2004),
aggregated over points by averaging (Levina-Bickel) or by averaging ``1/m_k(x)`` (MacKay &
Ghahramani 2005), for every ``k`` of a range from one exact neighbour query (scikit-learn,
brute force). Duplicate points are dropped first and counted. Standard errors treat the points
as independent (neighbourhoods overlap, so they understate the spread between samples).
Shower files are preprocessed with :mod:`caloforge.preprocess` (default CaloFlow's flow
space), grouped by incident energy (ds1's distinct energies, else log-spaced bins) and
inclusive, and subsampled per group with a seeded numpy generator (docs/dimension.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm.auto import tqdm

from caloforge.data.io import KEY_ENERGY, ShowerFile
from caloforge.data.validate import check_values, resolve_geometry
from caloforge.errors import InputError
from caloforge.intrinsic import (
    DEFAULT_K,
    METHOD_NAMES,
    METHODS,
    DimensionEstimate,
    check_choice,
    estimate_dimension,
    k_range,
    neighbour_distances,
    pointwise_mle,
)

__all__ = ["DEFAULT_K", "DEFAULT_MAX_POINTS", "METHODS", "PREPROCESSINGS", "DimensionEstimate",
           "DimensionGroup", "ShowerDimension", "estimate_dimension", "k_range",
           "neighbour_distances", "plot_k_scan", "pointwise_mle", "preprocess_showers",
           "shower_dimension"]

#: Showers per group (each energy, and inclusive) by default.
DEFAULT_MAX_POINTS = 10_000
#: Maps of showers to the space whose dimension is estimated (see :func:`preprocess_showers`).
PREPROCESSINGS = ("caloflow", "log")
#: ``log``: ln(1 + voxel / (LOG_SCALE E_inc)), CaloFlow's logit regulariser as the scale.
LOG_SCALE = 1e-6


def preprocess_showers(voxels: np.ndarray, energies: np.ndarray, preprocessing: str = "caloflow",
                       layer_sizes: Sequence[int] | None = None, seed: int = 0) -> np.ndarray:
    """Showers (MeV) -> the points whose dimension is estimated, ``(N, features)`` float64.

    * ``caloflow`` (default): CaloFlow's invertible preprocessing
      (:class:`caloforge.preprocess.Preprocessor`, fitted on these showers, no dequantisation
      noise): Flow I's ``L`` logit layer-energy shares and Flow II's ``V`` logit voxel shares of
      their layer, each standardised: the space the flows model.
    * ``log``: ``ln(1 + voxel / (1e-6 E_inc))``, no per-layer normalisation or scaling.

    Example:
        >>> v, e = np.array([[1.0, 0.0, 2.0], [0.5, 0.5, 1.0]]), np.array([1e6, 1e6])
        >>> preprocess_showers(v, e, "log").round(3).tolist()
        [[0.693, 0.0, 1.099], [0.405, 0.405, 0.693]]
        >>> preprocess_showers(v, e, "caloflow", [1, 2]).shape
        (2, 5)
    """
    check_choice(preprocessing, PREPROCESSINGS, "preprocessing")
    share = np.asarray(voxels, dtype=np.float64) / np.asarray(energies, np.float64)[:, None]
    if preprocessing == "log":
        return np.log1p(share / LOG_SCALE)
    import torch

    from caloforge.preprocess import PreprocessingState, Preprocessor

    sizes = list(layer_sizes or [share.shape[1]])
    pre = Preprocessor(PreprocessingState(layer_sizes=sizes, noise_mev=0.0))
    vox, e = (torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in (voxels, energies))
    with torch.no_grad():
        pre.fit(vox, e, generator=torch.Generator().manual_seed(seed))
        return pre.encode(vox, e).double().numpy()


@dataclass(frozen=True)
class DimensionGroup:
    """One energy group (or ``inclusive``): energy range (MeV), showers, estimate."""

    label: str
    e_min: float
    e_max: float
    n_showers: int
    estimate: DimensionEstimate


@dataclass(frozen=True)
class ShowerDimension:
    """Intrinsic dimension of a shower file per energy group and inclusive (the last group)."""

    path: str
    geometry: str | None
    preprocessing: str
    max_points: int
    seed: int
    groups: tuple[DimensionGroup, ...]
    skipped: tuple[str, ...] = ()

    def table(self) -> list[dict[str, object]]:
        """Rows for :func:`caloforge.cli._format.table`: k-range averages of both methods."""
        return [{"group": g.label, "showers": g.n_showers, "used": g.estimate.n_points,
                 **{METHOD_NAMES[m]: "{:.2f} ± {:.2f}".format(*g.estimate.average(m))
                    for m in METHODS}} for g in self.groups]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"file": self.path, "geometry": self.geometry, "preprocessing": self.preprocessing,
                "max_points": self.max_points, "seed": self.seed, "skipped": list(self.skipped),
                "groups": [{"label": g.label, "e_min_mev": g.e_min, "e_max_mev": g.e_max,
                            "n_showers": g.n_showers, **g.estimate.to_dict()}
                           for g in self.groups]}


def _energy_groups(e: np.ndarray, n_bins: int) -> list[tuple[str, float, float, np.ndarray]]:
    from caloforge.evaluate.metrics import discrete_energies

    values = discrete_energies(e)
    if values is not None:
        return [(f"{v / 1000:g} GeV", float(v), float(v), np.flatnonzero(np.isclose(e, v)))
                for v in values]
    edges = np.geomspace(e.min(), e.max(), n_bins + 1)
    which = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, n_bins - 1)
    return [(f"{lo / 1000:.3g}-{hi / 1000:.3g} GeV", float(lo), float(hi),
             np.flatnonzero(which == i)) for i, (lo, hi) in enumerate(pairwise(edges))]


def shower_dimension(path: str | Path, k: int | Sequence[int] = DEFAULT_K, *,
                     max_points: int = DEFAULT_MAX_POINTS, preprocessing: str = "caloflow",
                     geometry: str | Path | None = None, energy_bins: int = 6, seed: int = 0,
                     progress: bool = True) -> ShowerDimension:
    """Intrinsic dimension of a CaloChallenge file per incident energy and inclusive.

    Arguments:
        path: The ``.h5`` shower file.
        k: One neighbour count or ``(k_min, k_max)``.
        max_points: Showers drawn (without replacement) per group; 0 takes all.
        preprocessing: One of :data:`PREPROCESSINGS` (see :func:`preprocess_showers`), fitted
            on each group's drawn showers (standardised to that group's spread).
        geometry: Preset or binning XML (default: the file's); gives CaloFlow's layers.
        energy_bins: Log-spaced bins for continuous energies (ds1's distinct energies are
            groups of their own); groups with ``k_max`` showers or fewer are skipped.
        seed: Seed of the draws (``numpy.random.default_rng(seed)``).
        progress: Progress bars over reading and the neighbour queries.

    Example:
        >>> import tempfile; from caloforge.data import Showers, write_showers
        >>> path = Path(tempfile.mkdtemp()) / "s.h5"
        >>> vox = np.random.default_rng(0).exponential(size=(200, 368)).astype(np.float32)
        >>> showers = Showers(np.repeat([1e3, 1e4], 100), vox, geometry="ds1-photons")
        >>> _ = write_showers(path, showers)
        >>> res = shower_dimension(path, (5, 8), progress=False)
        >>> [(g.label, g.estimate.n_points) for g in res.groups]
        [('1 GeV', 100), ('10 GeV', 100), ('inclusive', 200)]
        >>> plot_k_scan(res, path.with_suffix(".png")).name
        's.png'
    """
    k_min, k_max = k_range(k)
    if max_points < 0 or 0 < max_points <= k_max:
        raise InputError(f"max_points = {max_points} leaves too few showers for k = {k_max}",
                         f"use more than {k_max} (or 0 for all)")
    file = ShowerFile(path)
    check_choice(preprocessing, PREPROCESSINGS, "preprocessing")
    geo = resolve_geometry(file, geometry)
    if preprocessing == "caloflow" and geo is None:
        raise InputError(f"cannot tell the geometry of '{file.path}' (CaloFlow's layers)",
                         "pass --geometry, or --preprocessing log")
    with h5py.File(file.path, "r") as f:  # the energies alone, to draw the showers to read
        e = np.asarray(f[KEY_ENERGY][:], dtype=np.float64).reshape(-1)
    if not (np.isfinite(e).all() and (e > 0).all()):
        raise InputError(f"file '{file.path}' has bad incident energies", "repair the file")
    rng = np.random.default_rng(seed)
    groups, skipped = [], []
    for label, lo, hi, idx in [*_energy_groups(e, energy_bins),
                               ("inclusive", float(e.min()), float(e.max()), np.arange(len(e)))]:
        if len(idx) <= k_max and label != "inclusive":  # inclusive: estimate_dimension says
            skipped.append(f"{label} ({len(idx)} showers)")
            continue
        take = len(idx) if max_points == 0 else min(max_points, len(idx))
        groups.append((label, lo, hi, len(idx), np.sort(rng.choice(idx, take, replace=False))))
    chosen = np.unique(np.concatenate([g[4] for g in groups]))
    voxels = np.empty((len(chosen), file.n_voxels), np.float32)
    chunk = max(100, 2_000_000 // file.n_voxels)
    for start in tqdm(range(0, file.n, chunk), unit="chunk", desc="read", disable=not progress):
        lo_i, hi_i = np.searchsorted(chosen, [start, start + chunk])
        if hi_i > lo_i:  # chunks without a drawn shower are not read
            part = file.read(start, start + chunk)
            check_values(part, source=f"file '{file.path}'", offset=start)
            voxels[lo_i:hi_i] = part.voxels[chosen[lo_i:hi_i] - start]
    sizes = None if geo is None else geo.layer_sizes
    results = []
    with tqdm(total=sum(len(g[4]) for g in groups), unit="shower", desc="neighbours",
              disable=not progress) as bar:
        for label, lo, hi, n, idx in groups:
            bar.set_postfix_str(label)
            points = preprocess_showers(voxels[np.searchsorted(chosen, idx)], e[idx],
                                        preprocessing, sizes, seed)
            est = estimate_dimension(points, (k_min, k_max), on_block=bar.update)
            bar.update(est.n_duplicates)  # dropped before the query
            results.append(DimensionGroup(label, lo, hi, n, est))
    return ShowerDimension(str(file.path), None if geo is None else geo.name, preprocessing,
                           max_points, seed, tuple(results), tuple(skipped))


def plot_k_scan(result: ShowerDimension | Sequence[tuple[str, DimensionEstimate]],
                path: str | Path, title: str = "") -> Path:
    """The estimates against k, one panel per aggregation, one line (with its standard-error
    band) per group, ``inclusive`` in black; written to ``path`` atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from caloforge.evaluate.plots import STYLE

    curves = ([(g.label, g.estimate) for g in result.groups]
              if isinstance(result, ShowerDimension) else list(result))
    (path := Path(path)).parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(curves)))
        for ax, method in zip(axes, METHODS, strict=True):
            for (label, est), colour in zip(curves, colours, strict=True):
                value, err = est.values(method)
                colour = "k" if label == "inclusive" else colour
                ax.plot(est.ks, value, color=colour, lw=1.0 + (label == "inclusive"), label=label)
                ax.fill_between(est.ks, value - err, value + err, alpha=0.2, color=colour)
            ax.set(xlabel="neighbours k", title=f"{METHOD_NAMES[method]} MLE")
        axes[0].set_ylabel("intrinsic dimension estimate")
        axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
        fig.suptitle(title)
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return tmp.replace(path)
