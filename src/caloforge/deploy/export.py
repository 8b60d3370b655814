"""``caloforge export``: a run's sampler as one ONNX or TorchScript graph, with its metadata
and a parity check against caloforge.

* ONNX (Geant4 Par04 through ONNX Runtime): ``torch.onnx.export`` (the ``torch.export``
  exporter), one input ``x`` float32 ``(B, latent + 3)``, one output ``showers`` ``(B, V)``,
  the batch dimension dynamic (Par04 calls it with ``B = 1``).
* TorchScript (key4hep DDML through LibTorch): ``torch.jit.trace`` of the same graph behind
  ``forward(inputs: List[Tensor]) -> Tensor`` (:class:`~caloforge.deploy.graph.DDMLModule`).

Beside the model, ``<file>.json`` records the geometry, the input and output layout
(:class:`~caloforge.deploy.layout.IOLayout`), the source run and the parity figures. The
parity check samples showers with caloforge and with the exported file from the same noise and
reports the largest absolute difference relative to the shower energy.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from caloforge.data.io import check_writable
from caloforge.deploy.graph import DDMLModule, SamplerGraph
from caloforge.deploy.layout import IOLayout, par04_grid, resolve_layout
from caloforge.errors import InputError
from caloforge.models.base import Conditions, NoiseSampler
from caloforge.seeds import derive, torch_generator
from caloforge.tables import write_json
from caloforge.train.run import Run

__all__ = ["FORMATS", "ExportResult", "check_parity", "export_run", "metadata_path",
           "parity_rows", "write_graph"]

FORMATS = ("onnx", "torchscript")
Format = Literal["onnx", "torchscript"]
#: Showers of the parity check, and the seed of its noise.
PARITY_SHOWERS = 64
PARITY_SEED = 12345
#: ONNX operator set of the exported graph.
OPSET = 18


@dataclass
class ExportResult:
    """What :func:`export_run` wrote.

    Attributes:
        path: The model file.
        metadata: Its JSON metadata file.
        format: ``onnx`` or ``torchscript``.
        layout: Inputs and outputs (see :class:`IOLayout`).
        stage: The exported stage of the run.
        parameters: Trainable parameters of the exported model.
        seconds: Export wall time (the parity check included).
        parity: ``max_abs_diff_mev`` and ``max_rel_diff`` (largest voxel difference over the
            shower energy) against caloforge on :data:`PARITY_SHOWERS` showers; empty without
            a check.
    """

    path: str
    metadata: str
    format: str
    layout: IOLayout
    stage: str
    parameters: int
    seconds: float
    parity: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "layout": self.layout.to_json()}


def metadata_path(model_file: str | Path) -> Path:
    """The metadata file beside an exported model: ``model.onnx`` -> ``model.onnx.json``."""
    model_file = Path(model_file)
    return model_file.with_name(model_file.name + ".json")


def exportable(run: Run, stage: str | None) -> tuple[str, NoiseSampler]:
    """The stage to export and its model, refused with one line when the family's sampler
    is not a deterministic map of noise."""
    stage = stage or run.stage_for("sample", "generate showers")
    model = run.model(stage)
    if not isinstance(model, NoiseSampler):
        raise InputError(
            f"run '{run.path}' ({run.family.name}:{stage}) cannot be exported: its sampler is "
            "not a deterministic map of latent noise (no sample_from_noise(), NoiseSampler), so "
            "it has no single graph", "export a run of a family that has one (caloflow)")
    return stage, model


def io_layout(run: Run, model: NoiseSampler, layout: str) -> IOLayout:
    """The input/output layout of ``model`` on the run's geometry."""
    kind = resolve_layout(layout, run.geometry)
    grid = par04_grid(run.geometry) if kind == "par04" else None
    names = getattr(model, "condition_names", ("energy",))
    uses = ["energy_mev"] + [f"{a}_rad" for a in ("theta", "phi") if a in names]
    return IOLayout(latent=model.latent_features, n_voxels=run.geometry.n_voxels, layout=kind,
                    grid=None if grid is None else list(grid), uses=uses)


def parity_rows(run: Run, model: NoiseSampler, lay: IOLayout, n: int = PARITY_SHOWERS,
                seed: int = PARITY_SEED) -> tuple[np.ndarray, Conditions, torch.Tensor]:
    """Input rows, their conditions and their noise for a parity check: energies log-uniform
    over the training range, angles (when used) spread around the preprocessing's mean."""
    rng = np.random.default_rng(derive(seed, "export-parity"))
    data = run.config["data"]
    e_lo, e_hi = float(data["energy_min_mev"]), float(data["energy_max_mev"])
    energy = np.exp(rng.uniform(np.log(e_lo), np.log(max(e_hi, e_lo * 1.0001)), n))
    theta = phi = None
    pre = getattr(getattr(model, "pre", None), "state", None)
    if "theta_rad" in lay.uses:
        mean = float(getattr(pre, "theta_mean", 0.0))
        width = float(getattr(pre, "theta_std", 0.1))
        theta = mean + width * rng.uniform(-1.0, 1.0, n)
    if "phi_rad" in lay.uses:
        phi = rng.uniform(-np.pi, np.pi, n)
    conditions = Conditions.from_numpy(energy, theta, phi)
    noise = model.draw_noise(n, generator=torch_generator(derive(seed, "export-noise")))
    return lay.rows(noise.numpy(), energy, theta, phi), conditions, noise


def _graph(model: NoiseSampler, lay: IOLayout) -> SamplerGraph:
    graph = SamplerGraph(model, lay).eval()
    for p in graph.parameters():
        p.requires_grad_(False)
    return graph


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Silence the exporter's prints, log records below ERROR and warnings."""
    if verbose:
        yield
        return
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(before)


def _write_onnx(graph: SamplerGraph, example: torch.Tensor, tmp: Path, verbose: bool) -> None:
    batch = torch.export.Dim("batch")
    with _quiet(verbose):
        program = torch.onnx.export(graph, (example,), dynamo=True, opset_version=OPSET,
                                    input_names=["x"], output_names=["showers"],
                                    dynamic_shapes={"x": {0: batch}}, verbose=verbose)
        program.save(str(tmp))


def _write_torchscript(graph: SamplerGraph, example: torch.Tensor, tmp: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings: the traced control flow is static
        traced = torch.jit.trace(graph, (example,), check_trace=False)
        module = torch.jit.script(DDMLModule(traced))
    module.save(str(tmp))


def write_graph(model: NoiseSampler, lay: IOLayout, out: Path, fmt: Format,
                example: np.ndarray, verbose: bool = False) -> int:
    """Write ``model``'s sampler graph to ``out`` atomically; returns its parameter count.
    ``example``: a few input rows to capture the graph with."""
    graph = _graph(model, lay)
    x = torch.from_numpy(np.ascontiguousarray(example, dtype=np.float32))
    with torch.no_grad():
        graph(x)  # caches the autoregressive orders as Python ints before capture
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "onnx":
            _write_onnx(graph, x, tmp, verbose)
        else:
            _write_torchscript(graph, x, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return sum(p.numel() for p in graph.parameters())


def check_parity(model: NoiseSampler, lay: IOLayout, out: Path, fmt: Format, rows: np.ndarray,
                 conditions: Conditions, noise: torch.Tensor) -> dict[str, float]:
    """The exported file against caloforge on the same noise: the largest voxel difference
    (MeV) and that difference over the shower energy."""
    from caloforge.deploy.runtime import ExportedSampler

    with torch.no_grad():
        expected = model.sample_from_noise(noise, conditions).double().numpy()
    got = lay.to_calochallenge(ExportedSampler(out, fmt, lay).run(rows)).astype(np.float64)
    diff = np.abs(got - expected).max(axis=1)
    energy = np.maximum(expected.sum(axis=1), 1e-30)
    return {"showers": float(len(rows)), "max_abs_diff_mev": float(diff.max()),
            "max_rel_diff": float((diff / energy).max())}


def export_run(run: Run | str | Path, out: str | Path, *, fmt: Format = "onnx",
               layout: str = "auto", stage: str | None = None, force: bool = False,
               check: bool = True, verbose: bool = False) -> ExportResult:
    """Export the sampler of a run to ``out`` and write ``<out>.json`` beside it.

    Arguments:
        run: A :class:`Run` or its directory.
        out: The model file (``.onnx`` or ``.pt``).
        fmt: ``onnx`` (Par04, ONNX Runtime) or ``torchscript`` (DDML, LibTorch).
        layout: ``auto``, ``par04`` or ``calochallenge`` output order (see
            :mod:`caloforge.deploy.layout`).
        stage: The stage to export (default: the one ``generate`` samples with).
        force: Overwrite existing files.
        check: Run the parity check (the exported file against caloforge).
        verbose: Show the exporter's own messages.

    Raises:
        InputError: unknown format or layout, a family that cannot be exported, an existing
            file without ``force``.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format '{fmt}'", f"choose one of {', '.join(FORMATS)}")
    t0 = time.perf_counter()
    run = run if isinstance(run, Run) else Run.load(run)
    stage, model = exportable(run, stage)
    lay = io_layout(run, model, layout)
    out = check_writable(out, force)
    meta_file = check_writable(metadata_path(out), force)
    rows, conditions, noise = parity_rows(run, model, lay)
    n_params = write_graph(model, lay, out, fmt, rows[:2], verbose)
    parity = check_parity(model, lay, out, fmt, rows, conditions, noise) if check else {}
    result = ExportResult(str(out), str(meta_file), fmt, lay, stage, n_params,
                          time.perf_counter() - t0, parity)
    write_json(meta_file, metadata(run, result))
    return result


def metadata(run: Run, result: ExportResult) -> dict[str, Any]:
    """The JSON written beside an exported model."""
    import caloforge

    geo = run.geometry
    lay = result.layout
    return {
        "format": result.format, "file": Path(result.path).name,
        "caloforge": caloforge.__version__, "torch": torch.__version__,
        "opset": OPSET if result.format == "onnx" else None,
        "run": str(run.path.resolve()), "family": run.family.name, "stage": result.stage,
        "parameters": result.parameters,
        "geometry": {"name": geo.name, "n_voxels": geo.n_voxels, "n_layers": geo.n_layers,
                     "layer_sizes": list(geo.layer_sizes)},
        "input": {"name": "x", "dtype": "float32", "shape": ["batch", lay.n_inputs],
                  "columns": f"noise[0:{lay.latent}] ~ N(0, 1), then "
                             + ", ".join(lay.conditions)},
        "output": {"name": "showers", "dtype": "float32", "shape": ["batch", lay.n_voxels],
                   "unit": "MeV", "order": lay.layout},
        "layout": lay.to_json(),
        "torchscript_signature": "forward(inputs: List[Tensor]) -> Tensor (inputs concatenated "
                                 "along columns)" if result.format == "torchscript" else None,
        "parity": result.parity,
    }
