"""Speed of caloforge's flow kernels against ``zuko``'s: the rational-quadratic spline
(:class:`~caloforge.models.flows.FastRQSTransform` vs ``MonotonicRQSTransform``) and the MAF's
slow direction (:func:`~caloforge.models.flows.sample_masked` vs ``zuko``'s inverse) for the
ds1-photons teacher's Flow II (6 blocks of 2 x 512, 368 voxels, 8 bins), fresh weights.
Prints a table and writes ``benchmarks/results/flow_kernels.json``.

    python benchmarks/flow_kernels.py [--threads 2]     # about 6 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import torch
from zuko.transforms import MonotonicRQSTransform

from _results import cpu_model, results_path
from caloforge import __version__
from caloforge.models.flows import FastRQSTransform, FlowSpec, build_flow, sample_masked
from caloforge.seeds import seeded_init


def best_of(fn: Callable[[], object], repeats: int = 3, warm_up: bool = True) -> float:
    """The fastest of ``repeats`` calls (after a warm-up call), seconds."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def spline_rows(batches: tuple[int, ...] = (500, 10_000)) -> list[dict[str, object]]:
    """Forward + backward and inverse of one spline layer over (batch x 368) inputs: the ds1
    teacher's training batch (500) and a large sampling batch."""
    rows = []
    for batch in batches:
        g = torch.Generator().manual_seed(0)
        phi = [torch.randn(batch, 368, k, generator=g).requires_grad_() for k in (8, 8, 7)]
        x = 3 * torch.randn(batch, 368, generator=g)
        times = {}
        for name, cls in (("zuko", MonotonicRQSTransform), ("caloforge", FastRQSTransform)):

            def forward_backward(cls: type = cls, phi: list[torch.Tensor] = phi,
                                 x: torch.Tensor = x) -> None:
                y, ladj = cls(*phi).call_and_ladj(x)
                (y.sum() + ladj.sum()).backward()

            def inverse(cls: type = cls, phi: list[torch.Tensor] = phi,
                        x: torch.Tensor = x) -> None:
                with torch.no_grad():
                    cls(*phi).inv(x)

            times[name] = (best_of(forward_backward, 5), best_of(inverse, 5))
        (zf, zi), (cf, ci) = times["zuko"], times["caloforge"]
        rows.append({"kernel": f"spline, batch {batch}", "zuko_forward_backward_s": zf,
                     "caloforge_forward_backward_s": cf, "forward_backward_speed_up": zf / cf,
                     "zuko_inverse_s": zi, "caloforge_inverse_s": ci, "inverse_speed_up": zi / ci})
    return rows


def maf_rows(batches: tuple[int, ...] = (100, 500)) -> list[dict[str, object]]:
    """Sampling the ds1 teacher's Flow II: zuko's inverse (one timed call: it takes minutes)
    against ``sample_masked``."""
    spec = FlowSpec(kind="maf", transforms=6, hidden=[512, 512], bins=8, permutation="layers")
    with seeded_init(0):
        flow = build_flow(368, 6, spec, layer_sizes=[8, 160, 190, 5, 5])
    rows = []
    for batch in batches:
        c = torch.randn(batch, 6, generator=torch.Generator().manual_seed(1))
        z = torch.randn(batch, 368, generator=torch.Generator().manual_seed(2))

        def with_zuko(c: torch.Tensor = c, z: torch.Tensor = z) -> None:
            with torch.no_grad():
                flow(c).transform.inv(z)

        def with_caloforge(c: torch.Tensor = c, z: torch.Tensor = z) -> None:
            sample_masked(flow, c, z=z)

        zuko_s, fast_s = best_of(with_zuko, 1, warm_up=False), best_of(with_caloforge, 2)
        rows.append({"kernel": f"MAF sampling, batch {batch}", "zuko_ms_per_shower":
                     1e3 * zuko_s / batch, "caloforge_ms_per_shower": 1e3 * fast_s / batch,
                     "speed_up": zuko_s / fast_s})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    spline, maf = spline_rows(), maf_rows()
    for row in spline:
        print(f"{row['kernel']}: forward+backward zuko {row['zuko_forward_backward_s']:.3f} s, "
              f"caloforge {row['caloforge_forward_backward_s']:.3f} s "
              f"({row['forward_backward_speed_up']:.2f}x); inverse zuko "
              f"{row['zuko_inverse_s']:.3f} s, caloforge {row['caloforge_inverse_s']:.3f} s "
              f"({row['inverse_speed_up']:.2f}x)")
    for row in maf:
        print(f"{row['kernel']}: zuko {row['zuko_ms_per_shower']:.2f} ms/shower, caloforge "
              f"{row['caloforge_ms_per_shower']:.2f} ms/shower ({row['speed_up']:.1f}x)")
    meta = {"caloforge": __version__, "torch": torch.__version__, "threads": args.threads,
            "cpus": os.cpu_count(), "cpu": cpu_model(),
            "date": time.strftime("%Y-%m-%d"),
            "note": "fresh weights; best of repeats (spline 5, MAF: caloforge 2, zuko 1)"}
    path = results_path("flow_kernels")
    path.write_text(json.dumps({"meta": meta, "spline": spline, "maf": maf}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
