"""Every metric between two samples: histograms, classifiers, distances, physics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from caloforge.evaluate.classifier import ClassifierResult, run_classifier
from caloforge.evaluate.classifier_inputs import HighLevelRows, RowSource, VoxelRows
from caloforge.evaluate.distances import DistanceResult, fpd, kpd
from caloforge.evaluate.histograms import (
    FeatureComparison,
    compare_feature,
    feature_bins,
    quantile_bins,
)
from caloforge.evaluate.modes import ALL_MODES, MODES
from caloforge.evaluate.prdc import prdc
from caloforge.evaluate.sample import Sample
from caloforge.evaluate.voxel_spectrum import VOXEL_FEATURE, compare_voxel_spectra
from caloforge.geometry import LayeredGeometry

__all__ = ["ALL_MODES", "MODES", "MetricSet", "compare_samples", "discrete_energies"]

MAX_DISCRETE_ENERGIES = 20


@dataclass
class MetricSet:
    """All numbers comparing one sample with the reference."""

    histograms: list[FeatureComparison] = field(default_factory=list)
    classifiers: list[ClassifierResult] = field(default_factory=list)
    distances: list[DistanceResult] = field(default_factory=list)
    physics: list[FeatureComparison] = field(default_factory=list)
    condition_points: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {
            "histograms": [h.to_dict() for h in self.histograms],
            "classifiers": [c.to_dict() for c in self.classifiers],
            "distances": [d.to_dict() for d in self.distances],
            "physics": [p.to_dict() for p in self.physics],
            "condition_points": self.condition_points,
        }

    def summary(self) -> dict[str, float]:
        """Headline numbers: mean separation power (and the voxel spectrum's), AUCs, FPD, KPD,
        PRDC."""
        out: dict[str, float] = {}
        if self.histograms:
            out["mean_separation_power"] = float(np.mean([h.separation for h in self.histograms]))
        for h in self.histograms:
            if h.name == VOXEL_FEATURE:
                out[f"{VOXEL_FEATURE}_separation_power"] = h.separation
        for c in self.classifiers:
            out[f"{c.mode}_auc"] = c.auc
        for d in self.distances:
            out[d.name] = d.value
        return out


def discrete_energies(e_inc: np.ndarray) -> np.ndarray | None:
    """The distinct incident energies if there are few (ds1-like), else None."""
    values = np.unique(np.round(e_inc, 6))
    return values if len(values) <= MAX_DISCRETE_ENERGIES else None


#: ds1's incident-energy ranges [2^k, 2^(k+1)) MeV, k = 8..22 (the CaloChallenge evaluation's).
DS1_ENERGY_EXPONENTS = range(8, 23)
#: From this exponent on, ds1-photons' E_tot/E_inc histograms use the narrow 0.9-1.1 binning.
DS1_NARROW_FROM = 12


def _energy_groups(ref: Sample, gen: Sample, geometry: LayeredGeometry
                   ) -> list[tuple[float, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(energy, reference mask, generated mask, fixed bins or None) per incident energy: ds1
    geometries by range [2^k, 2^(k+1)) MeV as the CaloChallenge evaluation selects them (so
    continuous energies get them too), other geometries by their discrete energies."""
    e_ref, e_gen = ref.features.e_inc, gen.features.e_inc
    if geometry.name.startswith("ds1"):
        groups = []
        for k in DS1_ENERGY_EXPONENTS:
            narrow = geometry.name == "ds1-photons" and k >= DS1_NARROW_FROM
            bins = np.linspace(0.9, 1.1, 21) if narrow else np.linspace(0.4, 1.4, 21)
            groups.append((2.0**k, (e_ref >= 2.0**k) & (e_ref < 2.0 ** (k + 1)),
                           (e_gen >= 2.0**k) & (e_gen < 2.0 ** (k + 1)), bins))
        return groups
    energies = discrete_energies(e_ref)
    if energies is None:
        return []
    return [(float(e), np.isclose(e_ref, e), np.isclose(e_gen, e), None) for e in energies]


def _per_energy(ref: Sample, gen: Sample, geometry: LayeredGeometry,
                rng: np.random.Generator, n_boot: int) -> list[FeatureComparison]:
    out = []
    r_ratio = ref.features.e_tot / ref.features.e_inc
    g_ratio = gen.features.e_tot / gen.features.e_inc
    for e, r_mask, g_mask, bins in _energy_groups(ref, gen, geometry):
        r, g = r_ratio[r_mask], g_ratio[g_mask]
        if len(r) < 10 or len(g) < 10:
            continue
        label = f"{e:.0f}" if float(e).is_integer() else f"{e:g}"  # 2^20 MeV as 1048576
        out.append(compare_feature(f"E_tot/E_inc@{label}MeV", r, g,
                                   quantile_bins(r, 20) if bins is None else bins, rng, n_boot))
    return out


def _condition_points(ref: Sample, gen: Sample) -> list[dict[str, float]]:
    """Mean and spread of E_vis and n_hits at up to 9 (E, theta) points of the reference."""
    rp, gp = ref.physics, gen.physics
    if rp is None or gp is None:
        return []
    e_points = np.quantile(rp.e_inc, [0.2, 0.5, 0.8])
    have_theta = rp.theta_true is not None and gp.theta_true is not None
    t_points = np.quantile(rp.theta_true, [0.2, 0.5, 0.8]) if have_theta else [None]
    rows = []
    for e in e_points:
        for t in t_points:
            row: dict[str, float] = {"E_inc": float(e)}
            masks = []
            for p in (rp, gp):
                m = np.abs(p.e_inc / e - 1.0) < 0.05
                if t is not None and p.theta_true is not None:
                    m &= np.abs(p.theta_true - t) < np.deg2rad(3.0)
                masks.append(m)
            if t is not None:
                row["theta"] = float(t)
            for tag, p, m in (("ref", rp, masks[0]), ("gen", gp, masks[1])):
                row[f"n_{tag}"] = int(m.sum())
                for obs in ("e_vis", "n_hits"):
                    v = getattr(p, obs)[m].astype(np.float64)
                    row[f"{obs}_mean_{tag}"] = float(v.mean()) if v.size else float("nan")
                    row[f"{obs}_std_{tag}"] = float(v.std()) if v.size else float("nan")
            rows.append(row)
    return rows


def compare_samples(ref: Sample, gen: Sample, geometry: LayeredGeometry, modes: tuple[str, ...],
                    protocol: str = "fast", seed: int = 42, n_bootstrap: int = 10,
                    threshold: float | None = None, progress: bool = False) -> MetricSet:
    """Compute the requested metrics of ``gen`` against ``ref``.

    ``hist`` includes the voxel-energy spectrum (``E_voxel``) when both samples were loaded with
    ``voxel_spectrum=True``; ``prdc`` adds four distances (:mod:`caloforge.evaluate.prdc`).
    """
    rng = np.random.default_rng(seed)
    thr = geometry.readout_threshold_mev if threshold is None else threshold
    out = MetricSet()
    if "hist" in modes:
        for name in ref.features.names():  # one feature in memory at a time
            r_values = ref.features.feature(name)
            bins = feature_bins(name, r_values, geometry, thr)
            out.histograms.append(compare_feature(name, r_values, gen.features.feature(name),
                                                  bins, rng, n_bootstrap))
        if ref.spectrum is not None and gen.spectrum is not None:  # the official 30th one
            out.histograms.append(compare_voxel_spectra(ref.spectrum, gen.spectrum, geometry,
                                                        thr))
        out.histograms += _per_energy(ref, gen, geometry, rng, n_bootstrap)
    theta = ref.features.has("theta") and gen.features.has("theta")
    high = (HighLevelRows(ref.features, theta), HighLevelRows(gen.features, theta))
    for mode in ("cls-low", "cls-low-normed", "cls-high", "cls-resnet"):
        if mode not in modes:
            continue
        xr: np.ndarray | RowSource
        xg: np.ndarray | RowSource
        if mode == "cls-high":  # built block by block from the feature tables on disk
            xr, xg = high
        else:
            if ref.voxels is None or gen.voxels is None:
                raise ValueError(f"{mode} needs the voxels: load the samples with keep_voxels")
            xr, xg = (VoxelRows(s.voxels, s.features.e_inc, geometry, mode, thr,  # by block
                                s.features.theta if theta else None) for s in (ref, gen))
        out.classifiers.append(run_classifier(xr, xg, mode, protocol, seed, progress))
    if {"fpd", "kpd", "prdc"} & set(modes):  # the high-level vectors without conditions
        mr = HighLevelRows(ref.features).matrix()
        mg = HighLevelRows(gen.features).matrix()
        if "fpd" in modes:
            out.distances.append(fpd(mr, mg, seed=seed))
        if "kpd" in modes:
            out.distances.append(kpd(mr, mg, seed=seed))
        if "prdc" in modes:
            out.distances += prdc(mr, mg, seed=seed)
    if "physics" in modes and ref.physics is not None and gen.physics is not None:
        r_named, g_named = ref.physics.named(), gen.physics.named()
        for name, r_values in r_named.items():
            if name not in g_named:
                continue
            r_ok = r_values[np.isfinite(r_values)]
            g_ok = g_named[name][np.isfinite(g_named[name])]
            out.physics.append(compare_feature(name, r_ok, g_ok, quantile_bins(r_ok, 50), rng,
                                               n_bootstrap))
        out.condition_points = _condition_points(ref, gen)
    return out
