"""CPU inference latency of CaloFlow students: caloforge (torch), TorchScript and ONNX Runtime at
batch 1, 10, 100 and 10k, p50 and p99 per call, ms per shower.

The models are the students of the given presets (ds1-photons: 6 IAF blocks of 2 x 256;
ds1-photons-compact: 6 x 2 x 48) with their preprocessing fitted to 2000 fast-simulator showers
and weights at initialisation (the work per shower does not depend on the weights); ``--run``
times a trained run instead. Every backend maps the same pre-drawn noise (the same numbers
``caloforge generate`` would draw); the parity of the exported files is recorded.

    python benchmarks/inference.py                              # both presets, 2 threads
    python benchmarks/inference.py --run runs/ds1 --tag trained

Writes ``benchmarks/results/inference[-TAG].json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from _results import cpu_model, results_path
from caloforge.deploy import ExportedSampler, IOLayout
from caloforge.deploy.export import check_parity, write_graph
from caloforge.geometry import get_geometry
from caloforge.models.base import Conditions
from caloforge.models.caloflow import CaloFlow, CaloFlowConfig
from caloforge.models.flows import FlowSpec, count_parameters
from caloforge.preprocess import PreprocessingState
from caloforge.simulate import simulate
from caloforge.train.run import Run

#: Calls timed per batch size (after one warm-up call), at most ``--seconds`` each.
CALLS = {1: 300, 10: 200, 100: 60, 1_000: 20, 10_000: 7}


def preset_model(preset: str, showers: Any) -> CaloFlow:
    """The student of a caloflow preset with preprocessing fitted to ``showers``."""
    text = resources.files("caloforge.models.caloflow").joinpath(f"presets/{preset}.yaml")
    recipe = yaml.safe_load(text.read_text())
    geo = get_geometry("ds1-photons")
    pre = PreprocessingState(layer_sizes=list(geo.layer_sizes), **recipe["model"]["preprocessing"])
    cfg = CaloFlowConfig(pre, FlowSpec(**recipe["model"]["flow1"]), FlowSpec(**recipe["student"]))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = CaloFlow(cfg)
    model.fit_preprocessing({"energies": torch.as_tensor(showers.energies, dtype=torch.float32),
                             "voxels": torch.as_tensor(showers.voxels)})
    return model.eval()


def latencies(call: Any, rows: np.ndarray, batch: int, seconds: float) -> list[float]:
    """Wall seconds of repeated calls on ``batch`` rows (one warm-up first)."""
    x = rows[:batch]
    call(x)
    out: list[float] = []
    t_end = time.perf_counter() + seconds
    while len(out) < CALLS.get(batch, 20) and (len(out) < 3 or time.perf_counter() < t_end):
        t0 = time.perf_counter()
        call(x)
        out.append(time.perf_counter() - t0)
    return out


def backends(model: CaloFlow, lay: IOLayout, rows: np.ndarray, work: Path, threads: int,
             chunk: int) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Callables ``rows -> showers`` for each backend, and the exported files' parity."""
    energies = torch.as_tensor(rows[:, lay.latent])
    noise = torch.as_tensor(rows[:, : lay.latent])
    cond = Conditions.from_numpy(energies.double().numpy())
    parity = {}
    calls: dict[str, Any] = {}

    @torch.inference_mode()
    def eager(x: np.ndarray) -> np.ndarray:  # in chunks, as generate's --batch-size does
        parts = []
        for i in range(0, len(x), chunk):
            t = torch.from_numpy(x[i : i + chunk])
            parts.append(model.sample_from_noise(t[:, : lay.latent],
                                                 Conditions(t[:, lay.latent])).numpy())
        return np.concatenate(parts)

    calls["torch"] = eager
    for fmt, name in (("torchscript", "torchscript"), ("onnx", "onnxruntime")):
        path = work / f"model.{'pt' if fmt == 'torchscript' else 'onnx'}"
        write_graph(model, lay, path, fmt, rows[:2])  # type: ignore[arg-type]
        parity[name] = check_parity(model, lay, path, fmt, rows[:64],  # type: ignore[arg-type]
                                    cond[:64], noise[:64])
        calls[name] = ExportedSampler(path, fmt, lay, threads=threads, chunk=chunk).run
    return calls, parity


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="ds1-photons,ds1-photons-compact")
    p.add_argument("--run", type=Path, help="time this trained run's sampler instead")
    p.add_argument("--batches", default="1,10,100,10000")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--chunk", type=int, default=1024, help="rows per network call (every backend)")
    p.add_argument("--seconds", type=float, default=20.0, help="time budget per measurement")
    p.add_argument("--tag", default="")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    showers = simulate("ds1-photons", n=2000, seed=5)
    models: dict[str, CaloFlow] = {}
    if args.run:
        run = Run.load(args.run)
        models[run.name] = run.model_for("sample", "generate showers")  # type: ignore[assignment]
    else:
        models = {preset: preset_model(preset, showers) for preset in args.presets.split(",")}
    rng = np.random.default_rng(1)
    results: list[dict[str, Any]] = []
    parities: dict[str, Any] = {}
    for name, model in models.items():
        lay = IOLayout(latent=model.latent_features, n_voxels=model.pre.n_voxels,
                       layout="calochallenge")
        n = max(batches)
        energies = np.exp(rng.uniform(np.log(256.0), np.log(4.2e6), n))
        noise = model.draw_noise(n, generator=torch.Generator().manual_seed(2)).numpy()
        rows = lay.rows(noise, energies)
        n_params = count_parameters(model)  # before export freezes the weights
        with tempfile.TemporaryDirectory() as tmp:
            calls, parities[name] = backends(model, lay, rows, Path(tmp), args.threads,
                                             args.chunk)
            for backend, call in calls.items():
                for batch in batches:
                    t = np.array(latencies(call, rows, batch, args.seconds)) * 1e3
                    row = {"model": name, "parameters": n_params,
                           "backend": backend, "batch": batch, "calls": len(t),
                           "p50_ms": float(np.percentile(t, 50)),
                           "p99_ms": float(np.percentile(t, 99)),
                           "ms_per_shower": float(np.percentile(t, 50)) / batch}
                    results.append(row)
                    print(f"{name:22s} {backend:12s} batch {batch:6d}: p50 {row['p50_ms']:9.3f} "
                          f"ms, p99 {row['p99_ms']:9.3f} ms, {row['ms_per_shower']:.4f} "
                          "ms/shower", flush=True)
    print("\n| model | parameters | backend | batch | p50 ms | p99 ms | ms/shower |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['model']} | {r['parameters'] / 1e6:.2f} M | {r['backend']} | {r['batch']} "
              f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['ms_per_shower']:.4f} |")
    out = {"meta": {"torch": torch.__version__, "cpu": cpu_model(), "threads": args.threads,
                    "chunk": args.chunk, "python": platform.python_version(),
                    "date": time.strftime("%Y-%m-%d"),
                    "weights": "trained run" if args.run else "initialisation (preprocessing "
                               "fitted to 2000 fast-simulator showers); time does not depend "
                               "on the weights",
                    "command": "python benchmarks/inference.py"
                               + (f" --tag {args.tag}" if args.tag else "")},
           "parity": parities, "results": results}
    path = results_path("inference", args.tag)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
