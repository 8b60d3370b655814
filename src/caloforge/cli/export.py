"""``caloforge export``: a run's sampler as one ONNX or TorchScript graph for Geant4."""

from __future__ import annotations

import argparse
from pathlib import Path

from caloforge.cli._flags import add_force, add_out

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge export --run runs/ds1 --format onnx -o ds1.onnx            # Par04, ONNX Runtime
  caloforge export --run runs/ds1 --format torchscript -o ds1.pt       # DDML, LibTorch
  caloforge generate --run runs/ds1 --backend onnxruntime -n 10000 -o gen.h5

input rows (float32, one per shower): noise[latent] ~ N(0, 1), E_inc (MeV), theta (rad),
phi (rad); output: voxel energies (MeV) in Par04 (R, phi, Z) order where the geometry has one
(R, phi) grid, else in CaloChallenge order. Both are written to <file>.json.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    p = sub.add_parser(
        "export", help="export a run's sampler to ONNX or TorchScript",
        description="Write the sampler of a trained run (noise + conditions in, one shower "
        "out) as one graph: ONNX for Geant4's Par04 example (ONNX Runtime), TorchScript for "
        "key4hep DDML (LibTorch, forward on a list of tensors). A metadata file with the "
        "geometry and the input/output layout is written beside it, and the exported file is "
        "checked against caloforge on the same noise (largest difference printed).",
        epilog=EPILOG)
    p.add_argument("--run", required=True, help="run directory")
    p.add_argument("--format", choices=["onnx", "torchscript"], default="onnx",
                   help="onnx (default) or torchscript")
    p.add_argument("--stage", help="export this stage (default: the one generate uses, e.g. "
                   "the caloflow student)")
    p.add_argument("--layout", choices=["auto", "par04", "calochallenge"], default="auto",
                   help="output voxel order (default auto: par04 where possible)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the parity check against caloforge")
    add_out(p, "model file (.onnx or .pt); metadata goes to <file>.json")
    add_force(p, "the model and metadata files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print what was written."""
    from caloforge.deploy import export_run

    result = export_run(args.run, Path(args.out), fmt=args.format, layout=args.layout,
                        stage=args.stage, force=args.force, check=not args.no_check,
                        verbose=bool(getattr(args, "verbose", False)))
    lay = result.layout
    print(f"wrote {result.path} ({result.format}, stage '{result.stage}', "
          f"{result.parameters:,} parameters) and {result.metadata}")
    print(f"input x: float32 (batch, {lay.n_inputs}) = noise[{lay.latent}] + "
          f"{', '.join(lay.conditions)}; output showers: (batch, {lay.n_voxels}) MeV, "
          f"{lay.layout} order")
    if result.parity:
        print(f"parity on {int(result.parity['showers'])} showers: max |diff| "
              f"{result.parity['max_abs_diff_mev']:.3g} MeV, "
              f"{result.parity['max_rel_diff']:.3g} of the shower energy")
    return 0
