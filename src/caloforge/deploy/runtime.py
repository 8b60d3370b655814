"""Run exported samplers: ONNX Runtime or TorchScript, batch-size aware, on CPU.

:class:`ExportedSampler` loads a file written by :func:`~caloforge.deploy.export.export_run`
and maps input rows to showers. Large batches are cut into chunks of ``chunk`` rows (the
activations of a chunk stay in cache, so batch 10k costs no more per shower than batch 100);
intra-op threads are set per session.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from caloforge.deploy.export import metadata_path
from caloforge.deploy.layout import IOLayout
from caloforge.errors import InputError
from caloforge.threads import torch_threads

if TYPE_CHECKING:
    from caloforge.train.run import Run

__all__ = ["BACKENDS", "DEFAULT_CHUNK", "ExportedSampler", "backend_for_run", "read_metadata"]

#: Backends of ``generate --backend`` besides ``torch`` (caloforge's own sampler).
BACKENDS = ("onnxruntime", "torchscript")
#: Rows per call of the exported graph within one batch.
DEFAULT_CHUNK = 1024


def read_metadata(model_file: str | Path) -> dict:
    """The JSON metadata beside an exported model (``<file>.json``)."""
    meta = metadata_path(model_file)
    if not meta.is_file():
        raise InputError(f"'{meta}' not found: an exported model needs its metadata file",
                         "export again with caloforge export")
    return json.loads(meta.read_text())


def _layout(meta: dict) -> IOLayout:
    raw = dict(meta["layout"])
    raw.pop("n_inputs", None)
    return IOLayout(**raw)


class ExportedSampler:
    """An exported sampler, ready to run.

    Arguments:
        path: The ``.onnx`` or TorchScript ``.pt`` file.
        fmt: ``onnx`` or ``torchscript`` (default: from the metadata).
        layout: Inputs and outputs (default: from the metadata).
        threads: Intra-op threads (default: all cores).
        chunk: Rows per graph call.
    """

    def __init__(self, path: str | Path, fmt: str | None = None, layout: IOLayout | None = None,
                 threads: int | None = None, chunk: int = DEFAULT_CHUNK) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"exported model '{self.path}' not found", "check the path")
        if fmt is None or layout is None:
            meta = read_metadata(self.path)
            fmt, layout = fmt or meta["format"], layout or _layout(meta)
        self.format, self.layout = fmt, layout
        self.threads = threads or os.cpu_count() or 1
        self.chunk = max(int(chunk), 1)
        if fmt == "onnx":
            try:
                import onnxruntime as ort
            except ImportError as err:
                raise InputError("onnxruntime is not installed",
                                 "pip install 'caloforge[deploy]'") from err
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.path), options,
                                                 providers=["CPUExecutionProvider"])
        elif fmt == "torchscript":
            self._module = torch.jit.load(str(self.path), map_location="cpu").eval()
        else:
            raise InputError(f"unknown export format '{fmt}'", "use onnx or torchscript")

    def _call(self, rows: np.ndarray) -> np.ndarray:
        if self.format == "onnx":
            return self._session.run(None, {"x": rows})[0]
        with torch.inference_mode(), torch_threads(self.threads):
            return self._module([torch.from_numpy(rows)]).numpy()

    def run(self, rows: np.ndarray) -> np.ndarray:
        """Showers ``(N, V)`` in the graph's output order for input rows ``(N, n_inputs)``.

        Raises:
            InputError: rows of the wrong width.
        """
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.layout.n_inputs:
            raise InputError(f"input rows have shape {rows.shape}, the model takes "
                             f"(N, {self.layout.n_inputs})", "see the metadata's input columns")
        parts = [self._call(rows[i : i + self.chunk]) for i in range(0, len(rows), self.chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, self.layout.n_voxels), np.float32)

    def sample(self, noise: np.ndarray, energy: np.ndarray, theta: np.ndarray | None = None,
               phi: np.ndarray | None = None) -> np.ndarray:
        """Showers in CaloChallenge order for noise ``(N, latent)`` and conditions."""
        rows = self.layout.rows(noise, energy, theta, phi)
        return self.layout.to_calochallenge(self.run(rows))


def backend_for_run(run: Run, backend: str, threads: int | None = None,
                    chunk: int = DEFAULT_CHUNK, progress: bool = False) -> ExportedSampler | None:
    """The exported sampler ``generate --backend`` uses for ``run`` (None for ``torch``):
    ``RUN/export/<stage>.onnx`` (or ``.pt``), exported with a parity check when missing or
    older than the stage's weights.

    Raises:
        InputError: an unknown backend, or a family that cannot be exported.
    """
    if backend == "torch":
        return None
    if backend not in BACKENDS:
        raise InputError(f"unknown backend '{backend}'",
                         f"choose torch or {' or '.join(BACKENDS)}")
    from caloforge.deploy.export import export_run, exportable
    from caloforge.train.run import MODEL, stage_dir

    stage, _ = exportable(run, None)
    fmt = "onnx" if backend == "onnxruntime" else "torchscript"
    path = run.path / "export" / f"{stage}.{'onnx' if fmt == 'onnx' else 'pt'}"
    weights = stage_dir(run.path, stage) / MODEL
    fresh = (path.is_file() and metadata_path(path).is_file()
             and path.stat().st_mtime >= weights.stat().st_mtime)
    if not fresh:
        if progress:
            print(f"exporting {run.name}:{stage} to {path} (once; the file is reused)")
        export_run(run, path, fmt=fmt, stage=stage, layout="calochallenge", force=True)
    return ExportedSampler(path, threads=threads, chunk=chunk)
