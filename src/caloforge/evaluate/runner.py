"""Evaluate a generated file against a reference file: metrics.json, plots, report.html."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caloforge.data.io import ShowerFile
from caloforge.data.validate import resolve_geometry
from caloforge.errors import InputError, suggest
from caloforge.evaluate.metrics import ALL_MODES, MODES, compare_samples
from caloforge.evaluate.plots import plot_all
from caloforge.evaluate.report import write_report
from caloforge.evaluate.sample import Sample, load_samples
from caloforge.evaluate.summary import summary_lines
from caloforge.geometry import LayeredGeometry
from caloforge.tables import write_text

__all__ = ["EvaluationResult", "evaluate_files", "parse_modes", "resolve_pair"]


def parse_modes(modes: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Expand ``all`` and check names.

    Example:
        >>> parse_modes("hist,fpd")
        ('hist', 'fpd')
    """
    items = modes.split(",") if isinstance(modes, str) else list(modes)
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item == "all":
            out += list(ALL_MODES)
        elif item in MODES:
            out.append(item)
        else:
            raise InputError(f"unknown evaluation mode '{item}'",
                             suggest(item, ["all", *MODES], " (comma-separated)"))
    return tuple(dict.fromkeys(out))


@dataclass
class EvaluationResult:
    """Everything an evaluation produced: the metrics dict (as in ``metrics.json``) and files."""

    metrics: dict[str, Any]
    metrics_path: Path
    report_path: Path
    plots: list[Path]

    def to_json(self) -> str:
        """The metrics as JSON."""
        return json.dumps(self.metrics, indent=2)

    def summary_lines(self) -> list[str]:
        """One table of the headline metrics: value, error, n, floor, floor n and verdict, then
        how the floors were made (:mod:`caloforge.evaluate.summary`)."""
        return summary_lines(self.metrics)


def resolve_pair(reference: ShowerFile, generated: ShowerFile, geometry: str | None,
                 threshold: float | None = None) -> tuple[LayeredGeometry, float]:
    """The common geometry of two files (or ``geometry``) and the readout threshold (MeV,
    default the geometry's); files of different geometries are refused."""
    if reference.n_voxels != generated.n_voxels:
        raise InputError(f"reference has {reference.n_voxels} voxels per shower, generated "
                         f"{generated.n_voxels}", "compare files of the same geometry")
    geo_r = resolve_geometry(reference, geometry)
    geo_g = resolve_geometry(generated, geometry)
    if geometry is None and geo_r and geo_g and geo_r.name != geo_g.name:
        raise InputError(f"reference is '{geo_r.name}' but generated is '{geo_g.name}'",
                         "compare files of the same geometry or pass --geometry")
    geo = geo_r or geo_g
    if geo is None:
        raise InputError(f"cannot tell the geometry of '{reference.path}'",
                         "pass --geometry (a preset or a binning XML)")
    return geo, geo.readout_threshold_mev if threshold is None else threshold


def evaluate_files(reference: str | Path, generated: str | Path, out_dir: str | Path,
                   geometry: str | None = None, modes: str | tuple[str, ...] = "all",
                   protocol: str = "fast", reference_split: bool = False, seed: int = 42,
                   threshold: float | None = None, mip_mev: float | None = None,
                   max_showers: int | None = None, n_bootstrap: int = 10,
                   train_size: int | None = None, plots: bool = True,
                   plot_format: str = "png", progress: bool = False) -> EvaluationResult:
    """Compare ``generated`` with ``reference`` and write ``metrics.json``, plots, a report.

    Arguments:
        reference, generated: CaloChallenge HDF5 files.
        out_dir: Output folder (created).
        geometry: Preset name or binning XML (default: from the files).
        modes: ``all`` or a list of ``hist`` (with the voxel-energy spectrum), ``cls-low``,
            ``cls-low-normed``, ``cls-high``, ``cls-resnet``, ``fpd``, ``kpd``, ``prdc``,
            ``physics``.
        protocol: Classifier protocol, ``fast`` or ``challenge``.
        reference_split: Also compare two random halves of the reference (the floor).
        seed: Seed of splits, bootstrap, classifier and FPD/KPD batches (42: jetnet's); the
            reference floor uses ``seed + 1``.
        threshold: Readout threshold in MeV (default: the geometry's).
        mip_mev: MIP scale for the physics observables (default: the geometry's).
        max_showers: Use at most this many showers of each file.
        n_bootstrap: Bootstrap resamples per histogram.
        train_size: Showers the model was trained on: adds the amplification section
            (:mod:`caloforge.evaluate.amplification`, E_tot/E_inc and the layer energies,
            n_Q = 10 and 20) to the metrics and the report.
        plots: Write plots (and embed them in the report).
        plot_format: ``png`` or ``svg`` figures.
        progress: Show progress bars.

    Returns:
        The :class:`EvaluationResult`.
    """
    t0 = time.perf_counter()
    mode_list = parse_modes(modes)
    ref_file, gen_file = ShowerFile(reference), ShowerFile(generated)
    geo, thr = resolve_pair(ref_file, gen_file, geometry, threshold)
    keep = any(m.startswith("cls-low") or m == "cls-resnet" for m in mode_list)
    kwargs = {"threshold": thr, "keep_voxels": keep, "physics": "physics" in mode_list,
              "mip_mev": mip_mev, "max_showers": max_showers, "seed": seed,
              "progress": progress, "voxel_spectrum": "hist" in mode_list}
    floor = None
    if reference_split:  # one pass: the halves, then the whole reference joined from them
        half_a, half_b = load_samples(reference, geo, split=True, **kwargs)
        floor = compare_samples(half_a, half_b, geo, mode_list, protocol, seed + 1, n_bootstrap,
                                thr, progress)
        ref = Sample.join([half_a, half_b], Path(reference).name)
    else:
        ref = load_samples(reference, geo, **kwargs)[0]
    gen = load_samples(generated, geo, stream=1, **kwargs)[0]  # its own bootstrap weights
    model = compare_samples(ref, gen, geo, mode_list, protocol, seed, n_bootstrap, thr, progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    floor_cls = [c.to_dict() for c in floor.classifiers] if floor is not None else None
    plot_paths = plot_all(ref, gen, geo, thr, model.classifiers, out, fmt=plot_format,
                          sources=(reference, generated), max_showers=max_showers,
                          floor_classifiers=floor_cls) if plots else []
    from caloforge._version import __version__

    metrics: dict[str, Any] = {
        "geometry": geo.name, "modes": list(mode_list), "protocol": protocol, "seed": seed,
        "threshold_mev": thr,
        "reference": {"path": str(reference), "n": len(ref), "metadata": ref.metadata},
        "generated": {"path": str(generated), "n": len(gen), "metadata": gen.metadata},
        "reference_is_simulated": str(ref.metadata.get("producer", "")).startswith(
            "caloforge.simulate"),
        "generated_vs_reference": {**model.to_dict(), "summary": model.summary()},
        "reference_floor": None if floor is None else {**floor.to_dict(),
                                                       "summary": floor.summary()},
        "versions": _versions(__version__),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if train_size is not None:
        metrics["amplification"] = _amplification(ref, gen, train_size, seed, progress)
        if plots:
            from caloforge.evaluate.amplification_files import plot_amplification

            plot_paths.append(plot_amplification(metrics["amplification"],
                                                 out / "amplification.png"))
    metrics_path = write_text(out / "metrics.json",
                              json.dumps(metrics, indent=2, default=float) + "\n")
    report = write_report(metrics, plot_paths, out / "report.html")
    return EvaluationResult(metrics, metrics_path, report, plot_paths)


def _amplification(ref: Sample, gen: Sample, train_size: int, seed: int,
                   progress: bool) -> dict[str, Any]:
    from caloforge.evaluate.amplification_files import (
        DEFAULT_FEATURES,
        expand,
        table_amplification,
    )

    names = expand(DEFAULT_FEATURES, ref.features.names())
    return table_amplification(ref.features, gen.features, train_size, names, seed=seed,
                               progress=progress).to_json()


def _versions(caloforge_version: str) -> dict[str, str]:
    import numpy
    import sklearn
    import torch

    return {"caloforge": caloforge_version, "numpy": numpy.__version__,
            "torch": torch.__version__, "scikit-learn": sklearn.__version__,
            "python": platform.python_version()}
