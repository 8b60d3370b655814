"""Realism of the fast simulator against Geant4, before and after tuning, per preset and energy.

For each preset and each fixed-energy Geant4 reference set (``caloforge reference-set``): the
response E_vis/E, sigma/E, layer fractions, widths and their spread, occupancy and sub-MeV cells
of the whole Geant4 set against as many fast-simulated showers (same energy and angles), then
every high-level feature's separation power and the cls-low AUC on half of the Geant4 set
against as many fast showers, beside the Geant4-vs-Geant4 floor (one half against the other).
"Before" is the textbook parametrisation (``shape`` reset), "after" the preset as shipped
(tuned by ``caloforge tune``). The speed-up divides Geant4's CPU time per shower
(``results/geant4-speed.json``, one worker) by the fast simulator's (one thread, batch 1000).

    CALOFORGE_DATA_DIR=/tmp/refdata python benchmarks/realism.py
    python benchmarks/realism.py --presets calogan --energies 10 --no-cls --tag quick

Prints a table and writes ``benchmarks/results/realism[-TAG].json`` and one plot per preset.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from _results import RESULTS, cpu_model, results_path
from caloforge._version import __version__
from caloforge.data.io import ShowerFile
from caloforge.data.showers import Showers
from caloforge.evaluate.classifier import run_classifier
from caloforge.evaluate.classifier_inputs import low_level_vector
from caloforge.evaluate.realism import HALO_MEV, RealismComparison, compare
from caloforge.geometry import LayeredGeometry, get_geometry
from caloforge.simulate import ReferenceSimulator, ShapeConfig, load_config
from caloforge.simulate.geant4 import reference
from caloforge.tables import write_json
from caloforge.threads import torch_threads

PRESETS = ("calogan", "ds1-photons", "ds2", "ild-photons")
#: Acceptance of the realism table (issue 24), checked on the "after" rows.
LIMITS = {"response": 0.01, "resolution": 0.10, "layer_pp": 2.0, "width": 0.05,
          "occupancy": 0.05, "sp_floor_factor": 2.0, "sp_min": 0.05}


def fast(preset: str, energy_mev: float, n: int, seed: int, tuned: bool) -> tuple[Showers,
                                                                                   float]:
    """``n`` fast showers at ``energy_mev`` with the preset's angles; and ms per shower."""
    cfg = load_config(preset, {"n": n, "seed": seed, "chunk_size": 1000,
                               "spectrum": {"kind": "fixed", "e_min_mev": energy_mev}})
    if not tuned:
        cfg.shape = ShapeConfig()
    sim = ReferenceSimulator(cfg)
    t0 = time.perf_counter()
    showers = sim.simulate()
    return showers, 1000 * (time.perf_counter() - t0) / n


def auc(a: Showers, b: Showers, geometry: LayeredGeometry, seed: int,
        threshold: float | None = None) -> float:
    """cls-low AUC (protocol ``fast``) of ``a`` (reference) against ``b``; ``threshold`` (MeV)
    replaces the geometry's readout threshold (to see what the sub-threshold cells weigh)."""
    xa = low_level_vector(a.voxels, a.energies, geometry, theta=a.theta, threshold=threshold)
    xb = low_level_vector(b.voxels, b.energies, geometry, theta=b.theta, threshold=threshold)
    return float(run_classifier(xa, xb, "cls-low", "fast", seed=seed, n_bootstrap=20).auc)


def row(c: RealismComparison) -> dict[str, Any]:
    """The acceptance quantities of one comparison."""
    return {"response_diff": c.response_diff, "resolution_diff": c.resolution_diff,
            "layer_fraction_pp": c.layer_fraction_pp, "width_diff": c.width_diff,
            "width_std_diff": c.width_std_diff, "occupancy_diff": c.occupancy_diff,
            "halo_ratio": c.halo_ratio}


def passes(r: dict[str, Any]) -> dict[str, bool]:
    """Each acceptance item of an "after" row."""
    floor = r["floor"]["mean_separation"]
    return {
        "response": abs(r["after"]["response_diff"]) <= LIMITS["response"],
        "resolution": abs(r["after"]["resolution_diff"]) <= LIMITS["resolution"],
        "layer_fractions": r["after"]["layer_fraction_pp"] <= LIMITS["layer_pp"],
        "widths": abs(r["after"]["width_diff"]) <= LIMITS["width"],
        "occupancy": abs(r["after"]["occupancy_diff"]) <= LIMITS["occupancy"],
        "mean_separation": r["after"]["mean_separation"]
        <= max(LIMITS["sp_min"], LIMITS["sp_floor_factor"] * floor),
    }


def one(preset: str, ref: reference.ReferenceSet, path: Path, seed: int, cls: bool
        ) -> dict[str, Any]:
    """Every comparison at one energy."""
    geo = get_geometry(preset)
    g4 = ShowerFile(path).read()
    n, half = len(g4), len(g4) // 2
    out: dict[str, Any] = {"energy_gev": ref.energy_mev / 1000, "n_geant4": n, "n_half": half}
    a, b = g4[np.arange(half)], g4[np.arange(half, 2 * half)]
    floor = compare(a, b, geo)
    out["floor"] = {"mean_separation": floor.mean_separation}
    samples = {}
    for label, tuned in (("before", False), ("after", True)):
        showers, ms = fast(preset, ref.energy_mev, n, seed, tuned)
        samples[label] = showers
        full = compare(g4, showers, geo)
        sp = compare(a, showers[np.arange(half)], geo)
        out[label] = {**row(full), "fast_ms_per_shower": ms,
                      "mean_separation": sp.mean_separation,
                      "worst_features": sp.worst_features(4),
                      "summary": full.candidate.to_dict()}
    out["geant4"] = full.reference.to_dict()
    if cls:
        out["floor"]["cls_low_auc"] = auc(a, b, geo, seed)
        for label in ("before", "after"):
            out[label]["cls_low_auc"] = auc(a, samples[label][np.arange(half)], geo, seed)
        # what dominates: the same classifier without the cells below 1 MeV
        out["after"]["cls_low_auc_above_1mev"] = auc(a, samples["after"][np.arange(half)], geo,
                                                     seed, threshold=HALO_MEV)
    out["passes"] = passes(out)
    return out


def plot(preset: str, rows: list[dict[str, Any]], out: Path) -> Path:
    """Layer fractions and mean widths per layer: Geant4, before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(rows), figsize=(4.2 * len(rows), 6.5), squeeze=False)
    for k, r in enumerate(rows):
        for i, (key, ylabel) in enumerate((("layer_fraction", "mean share of E_vis"),
                                           ("width_mean", "mean radial width [mm]"))):
            ax = axes[i, k]
            for label, src, style in (("Geant4", r["geant4"], "k-"),
                                      ("fast, textbook", r["before"]["summary"], "C1--"),
                                      ("fast, tuned", r["after"]["summary"], "C0-")):
                y = np.asarray(src[key])
                ax.plot(np.arange(len(y)), y, style, label=label, marker=".")
            ax.set_xlabel("layer")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{preset}, {r['energy_gev']:g} GeV")
        axes[0, k].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def g4_ms(preset: str, gev: float) -> float | None:
    """Geant4 CPU ms per shower, one worker (results/geant4-speed.json)."""
    data = json.loads((RESULTS / "geant4-speed.json").read_text())
    for r in data["rows"]:
        if r["preset"] == preset and r["gev"] == gev and r["workers"] == 1:
            return float(r["cpu_ms_per_shower"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--energies", default="1,10,100", help="GeV, from the reference plans")
    parser.add_argument("--no-cls", action="store_true", help="skip the classifier")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    energies = {float(e) * 1000 for e in args.energies.split(",")}
    result: dict[str, Any] = {"meta": {"caloforge": __version__, "cpu": cpu_model(),
                                       "date": time.strftime("%Y-%m-%d"), "limits": LIMITS,
                                       "note": "Geant4 (data-free EM physics) vs the fast "
                                       "simulator; before = textbook GFLASH, after = tuned"},
                              "presets": {}}
    with torch_threads(2):
        for preset in args.presets.split(","):
            rows = []
            for ref in reference.plan(preset):
                path = reference.path_of(ref, 1)
                if ref.energy_mev not in energies:
                    continue
                if not path.is_file():
                    print(f"{preset} {ref.label}: no Geant4 set ({path}); run "
                          f"caloforge reference-set {preset}")
                    continue
                r = one(preset, ref, path, args.seed, not args.no_cls)
                g4 = g4_ms(preset, r["energy_gev"])
                r["geant4_ms_per_shower"] = g4
                r["speedup"] = g4 / r["after"]["fast_ms_per_shower"] if g4 else None
                rows.append(r)
                print(format_row(preset, r), flush=True)
            if rows:
                png = plot(preset, rows, RESULTS / f"realism_{preset}.png")
                result["presets"][preset] = {"rows": rows, "plot": png.name}
    out = write_json(results_path("realism", args.tag), result)
    print(f"wrote {out}")


def format_row(preset: str, r: dict[str, Any]) -> str:
    """Before -> after, one line per energy."""
    def pair(key: str, scale: float = 100.0, fmt: str = "{:+.1f}") -> str:
        return (fmt.format(scale * r["before"][key]) + " -> "
                + fmt.format(scale * r["after"][key]))

    cls = ""
    if "cls_low_auc" in r["after"]:
        cls = (f" AUC {r['before']['cls_low_auc']:.3f}->{r['after']['cls_low_auc']:.3f}"
               f" (>1 MeV {r['after']['cls_low_auc_above_1mev']:.3f},"
               f" floor {r['floor']['cls_low_auc']:.3f})")
    speed = f" x{r['speedup']:.0f}" if r.get("speedup") else ""
    return (f"{preset:<12} {r['energy_gev']:>4g} GeV n={r['n_geant4']}: "
            f"resp% {pair('response_diff')}"
            f" sigma% {pair('resolution_diff')} layer-pp {pair('layer_fraction_pp', 1)}"
            f" width% {pair('width_diff')} occ% {pair('occupancy_diff')}"
            f" SP {pair('mean_separation', 1, '{:.3f}')} (floor "
            f"{r['floor']['mean_separation']:.3f}){cls}{speed}"
            f" pass={all(r['passes'].values())}")


if __name__ == "__main__":
    main()
