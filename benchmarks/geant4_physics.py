"""Physics checks of the Geant4 engine with larger samples than the tests: energy bookkeeping,
shower maximum against the PDG formula, containment in one Moliere radius, the ds2 sampling
fraction, and the CaloGAN response.

Prints a table and writes ``benchmarks/results/geant4-physics.json``. Needs caloforge[geant4].

    python benchmarks/geant4_physics.py [--n 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import h5py
import numpy as np

from _results import cpu_model, results_path
from caloforge import __version__
from caloforge.geometry import get_geometry
from caloforge.geometry.cylindrical import CylindricalGeometry, CylindricalLayer
from caloforge.simulate import load_config
from caloforge.simulate.geant4 import simulate_geant4
from caloforge.simulate.longitudinal import fit_shower_maximum


def run(tmp: Path, preset: str, particle: str, gev: float, n: int, workers: int,
        **kw: object) -> dict[str, np.ndarray]:
    over = {"n": n, "seed": 101, "chunk_size": 20, "particle": particle,
            "spectrum": {"kind": "fixed", "e_min_mev": 1000.0 * gev}, **kw.pop("over", {})}
    path = tmp / "g4.h5"
    simulate_geant4(load_config(preset, over), path, workers=workers, force=True,
                    progress=True, diagnostics=True, **kw)
    with h5py.File(path) as f:
        return {k: f[k][:] for k in ("showers", "cell_deposit", "other_deposit",
                                     "escaped_energy")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="showers per sample")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows: dict[str, object] = {}
    geo = get_geometry("ds2")
    stack = geo.materials
    assert stack is not None
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for gev in (10.0, 100.0):
            out = run(tmp, "ds2", "electron", gev, args.n // (1 if gev < 50 else 4),
                      args.workers)
            seen = out["cell_deposit"] + out["other_deposit"] + out["escaped_energy"]
            depth = np.array(stack.layer_boundaries_x0()).mean(1)
            profile = geo.layer_energies(out["showers"]).mean(0)
            rows[f"ds2_e-_{gev:g}GeV"] = {
                "n": len(seen),
                "bookkeeping_max_rel_dev": float(np.abs(seen / (1000 * gev) - 1).max()),
                "sampling_fraction": float(out["cell_deposit"].sum()
                                           / (out["cell_deposit"] + out["other_deposit"]).sum()),
                "sampling_fraction_preset": 0.033,
                "t_max_fit_x0": fit_shower_maximum(depth, profile),
                "t_max_pdg_x0": math.log(1000 * gev / stack.critical_energy) - 0.5,
                "response_mean": float((out["showers"].sum(1) / (1000 * gev)).mean()),
            }
        r_m = stack.moliere_radius_mm
        rings = CylindricalGeometry("ds2-moliere", [CylindricalLayer(i, (0.0, r_m, 2 * r_m,
                                                                          40 * r_m), 1)
                                                     for i in range(45)], materials=stack)
        out = run(tmp, "ds2", "electron", 10.0, args.n // 2, args.workers, geometry=rings,
                  over={"readout": {"energy_scale": "total", "threshold_mev": 0.0}})
        share = out["showers"].reshape(-1, 45, 3).sum(1).sum(0)
        rows["ds2_moliere_10GeV"] = {"n": len(out["showers"]), "r_m_mm": r_m,
                                     "inside_1_r_m": float(share[0] / share.sum()),
                                     "inside_2_r_m": float(share[:2].sum() / share.sum())}
        out = run(tmp, "calogan", "positron", 10.0, args.n, args.workers)
        e = out["showers"].sum(1)
        layers = get_geometry("calogan").layer_energies(out["showers"])
        rows["calogan_e+_10GeV"] = {
            "n": len(e), "response_mean": float(e.mean() / 1e4),
            "response_rel_std": float(e.std() / e.mean()),
            "layer_shares": (layers.mean(0) / e.mean()).round(4).tolist(),
            "bookkeeping_max_rel_dev": float(np.abs(
                (out["cell_deposit"] + out["other_deposit"] + out["escaped_energy"])
                / (1e4 + 1.022) - 1).max()),
        }
    for key, row in rows.items():
        print(key, json.dumps(row))
    record = {"caloforge": __version__, "cpu": cpu_model(), "seed": 101, "cut_mm": 0.7,
              "physics": "data-free EM (analytic models)", "results": rows}
    path = results_path("geant4-physics")
    path.write_text(json.dumps(record, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
