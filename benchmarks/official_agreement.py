"""Check caloforge's evaluation against the official CaloChallenge evaluation on the same files.

Usage (a CaloChallenge ``homepage/code`` checkout, and two files in the CaloChallenge layout)::

    python benchmarks/official_agreement.py --official-code /path/to/CaloChallenge/homepage/code \\
        --reference ref.h5 --generated gen.h5

The official ``evaluate.py`` runs as an external program (``--mode hist``, in the official code
folder, with the caller's ``PYTHONPATH``); nothing of it is copied here. Two adaptations are made
from the outside: where no ``latex`` executable exists, ``plt.rc('text', usetex=True)`` is
ignored (a small runner that then executes ``evaluate.py`` unchanged with ``runpy``), and the
reference file is linked into a temporary folder, because ``evaluate.py`` writes (and later
reuses) a ``.pkl`` cache next to the reference. caloforge runs as ``caloforge evaluate
--mode hist,fpd,kpd --no-plots`` on the same pair (by default with ``--threshold 0``: the
official code applies no readout threshold; ``--threshold`` changes it).

Separation powers are paired by observable (``Etot / Einc`` <-> ``E_tot/E_inc``, ``E layer k``
<-> ``E_layer_k``, ``EC Eta layer k`` <-> ``EC_eta_k``, ``Width Phi layer k`` <-> ``width_phi_k``,
``Etot / Einc at E = e`` <-> ``E_tot/E_inc@eMeV``, ``Voxel distribution`` <-> ``E_voxel``); two
values agree to 4 significant digits when they round to the same 4 digits or differ by at most
5e-5 relative.

FPD/KPD: if the official ``evaluate.py`` offers ``--mode fpd``/``kpd`` they are run and their
printed values parsed. Otherwise (older snapshots) jetnet's ``fpd``/``kpd`` (needs ``jetnet`` on
``PYTHONPATH``; its unused optional imports ``awkward``/``coffea`` are stubbed when missing) are
computed on (a) caloforge's own FPD/KPD feature matrix, compared with the ``caloforge evaluate``
values, and (b) the official ``prepare_high_data_for_classifier`` vectors (without the label
column), compared with :func:`caloforge.evaluate.distances.fpd`/``kpd`` on the same matrix.
Both use ``min_samples`` 10,000 (FPD) and batches of 10,000 (KPD), caloforge's settings.

Writes ``benchmarks/results/official_agreement.json`` (``--out`` changes it) and prints a table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "official_agreement.json"

#: dataset flag of the official script -> (caloforge geometry, particle, binning file)
DATASETS = {
    "1-photons": ("ds1-photons", "photon", "binning_dataset_1_photons.xml"),
    "1-pions": ("ds1-pions", "pion", "binning_dataset_1_pions.xml"),
    "2": ("ds2", "electron", "binning_dataset_2.xml"),
    "3": ("ds3", "electron", "binning_dataset_3.xml"),
}

#: Runs a script with ``plt.rc('text', usetex=...)`` and the LaTeX preamble ignored.
NO_TEX_RUNNER = """\
import os, runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
_rc = plt.rc
def _rc_without_tex(group, **kwargs):
    if group == "text.latex":
        return None
    if group == "text":
        kwargs.pop("usetex", None)
        if not kwargs:
            return None
    return _rc(group, **kwargs)
plt.rc = _rc_without_tex
script = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.dirname(script))
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""

#: Makes ``import jetnet.evaluation`` work without jetnet's optional heavy dependencies.
JETNET_IMPORT = """\
import importlib.util, sys, types
STUBBED = []
def _missing(name):
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True
for _name in ("awkward", "coffea", "coffea.nanoevents", "coffea.nanoevents.methods"):
    if _missing(_name):
        sys.modules[_name] = types.ModuleType(_name)
        STUBBED.append(_name)
if "awkward" in STUBBED:
    sys.modules["awkward"].behavior = {}
if "coffea.nanoevents.methods" in STUBBED:
    _vector = types.ModuleType("vector")
    _vector.behavior = {}
    sys.modules["coffea.nanoevents.methods"].vector = _vector
import jetnet.evaluation as jev
"""

#: jetnet FPD/KPD on the matrices of an .npz file (``reference``, ``generated``).
JETNET_DISTANCES = JETNET_IMPORT + """\
import json, warnings
import numpy as np
warnings.simplefilter("ignore")
data = np.load(sys.argv[1])
x, y = data["reference"], data["generated"]
fv, fe = jev.fpd(x, y, min_samples=int(sys.argv[3]))
kv, ke = jev.kpd(x, y, batch_size=int(sys.argv[4]))
import jetnet
json.dump({"fpd": [float(fv), float(fe)], "kpd": [float(kv), float(ke)],
           "jetnet": getattr(jetnet, "__version__", "?"), "stubbed": STUBBED},
          open(sys.argv[2], "w"))
"""

#: The official cls-high vectors of two files (run in the official code folder).
OFFICIAL_FEATURES = """\
import inspect, sys
import h5py, matplotlib
import numpy as np
matplotlib.use("Agg")
particle, binning, ref_path, gen_path, out = sys.argv[1:6]
sys.path.insert(0, ".")
sys.argv = ["evaluate.py"]
import HighLevelFeatures as HLF
import evaluate as ev
def vectors(path, label):
    with h5py.File(path, "r") as f:
        shower, energy = f["showers"][:], f["incident_energies"][:]
    hlf = HLF.HighLevelFeatures(particle, filename=binning)
    hlf.CalculateFeatures(shower)
    hlf.Einc = energy
    first = next(iter(inspect.signature(ev.prepare_high_data_for_classifier).parameters))
    if first == "E_inc":
        arr = ev.prepare_high_data_for_classifier(energy, hlf, label)
    else:
        arr = ev.prepare_high_data_for_classifier(shower, energy, hlf, label)
    return arr[:, :-1]
np.savez(out, reference=vectors(ref_path, 1.0), generated=vectors(gen_path, 0.0))
"""

FPD_MIN_SAMPLES = 10_000
KPD_BATCH_SIZE = 10_000


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(cmd: list[str], cwd: Path | None = None, log: Path | None = None) -> str:
    """Run a command with the caller's environment; raise with its output tail on failure."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if log is not None:
        log.write_text(text)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    return text


def official_modes(evaluate_py: Path) -> list[str]:
    """The ``--mode`` choices of the official script (read from its argparse call)."""
    match = re.search(r"'--mode'.*?choices=\[(.*?)\]", evaluate_py.read_text(), re.S)
    return re.findall(r"'([^']+)'", match.group(1)) if match else []


def parse_separations(path: Path) -> dict[str, float]:
    """``name: value`` blocks of the official ``histogram_chi2_<dataset>.txt``."""
    out: dict[str, float] = {}
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line.endswith(":") and lines[i + 1]:
            try:
                out[line[:-1].strip()] = float(lines[i + 1])
            except ValueError:
                continue
    return out


def finite_or_none(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(v) for v in obj]
    return obj


def caloforge_name(official: str) -> str | None:
    """caloforge's histogram name for an official observable name."""
    if official == "Etot / Einc":
        return "E_tot/E_inc"
    if official == "Voxel distribution":
        return "E_voxel"
    if m := re.fullmatch(r"Etot / Einc at E = ([0-9.eE+]+)", official):
        e = float(m.group(1))
        return f"E_tot/E_inc@{e:.0f}MeV" if e.is_integer() else f"E_tot/E_inc@{e:g}MeV"
    if m := re.fullmatch(r"E layer (\d+)", official):
        return f"E_layer_{m.group(1)}"
    if m := re.fullmatch(r"(EC|Width) (Eta|Phi) layer (\d+)", official):
        kind = "EC" if m.group(1) == "EC" else "width"
        return f"{kind}_{m.group(2).lower()}_{m.group(3)}"
    return None


def agree_4(a: float, b: float) -> bool:
    """Same value to 4 significant digits (same rounding, or within 5e-5 relative)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    if float(f"{a:.4g}") == float(f"{b:.4g}"):
        return True
    return abs(a - b) <= 5e-5 * max(abs(a), abs(b))


def rel_diff(a: float, b: float) -> float | None:
    """``(b - a) / |a|`` (None when undefined)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return None
    if a == 0:
        return 0.0 if b == 0 else None
    return (b - a) / abs(a)


def distance_row(name: str, features: str, official: tuple[float, float], official_from: str,
                 caloforge: tuple[float, float], caloforge_from: str) -> dict[str, Any]:
    """One FPD/KPD comparison: values with errors and whether they agree within them."""
    diff = abs(official[0] - caloforge[0])
    combined = math.hypot(official[1], caloforge[1])
    return {"observable": name, "features": features,
            "official": official[0], "official_error": official[1], "official_from": official_from,
            "caloforge": caloforge[0], "caloforge_error": caloforge[1],
            "caloforge_from": caloforge_from, "abs_difference": diff,
            "relative_difference": rel_diff(official[0], caloforge[0]),
            "within_errors": bool(diff <= combined), "combined_error": combined}


def caloforge_matrix(path: Path, geometry: str, threshold: float) -> np.ndarray:
    """The FPD/KPD feature matrix ``caloforge evaluate`` builds for a file."""
    from caloforge.evaluate.classifier_inputs import HighLevelRows
    from caloforge.evaluate.sample import load_samples
    from caloforge.geometry import get_geometry

    sample = load_samples(path, get_geometry(geometry), threshold=threshold)[0]
    return HighLevelRows(sample.features).matrix()


def jetnet_distances(npz: Path, work: Path, tag: str) -> dict[str, Any]:
    """jetnet FPD/KPD of the matrices in ``npz`` (subprocess, caller's PYTHONPATH)."""
    script, out = work / "jetnet_distances.py", work / f"jetnet_{tag}.json"
    script.write_text(JETNET_DISTANCES)
    run([sys.executable, str(script), str(npz), str(out), str(FPD_MIN_SAMPLES),
         str(KPD_BATCH_SIZE)], log=work / f"jetnet_{tag}.log")
    return json.loads(out.read_text())


def parse_official_distance(text: str, name: str) -> tuple[float, float] | None:
    """``FPD (x10^3): v ± e`` style lines printed by newer official scripts."""
    for line in text.splitlines():
        m = re.search(rf"{name}[^:]*:\s*([-+0-9.eE]+)\s*(?:±|\+-|\+/-)\s*([-+0-9.eE]+)", line)
        if m:
            scale = 1e-3 if re.search(r"x\s*10\^?3|1e3", line) else 1.0
            return float(m.group(1)) * scale, float(m.group(2)) * scale
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--official-code", type=Path, required=True,
                   help="folder with the official evaluate.py and binning XML files")
    p.add_argument("--reference", type=Path, required=True)
    p.add_argument("--generated", type=Path, required=True)
    p.add_argument("--dataset", default="1-photons", choices=sorted(DATASETS))
    p.add_argument("--threshold", type=float, default=0.0,
                   help="caloforge readout threshold in MeV (default 0, as the official code)")
    p.add_argument("--official-mode", default="hist", help="official --mode for histograms")
    p.add_argument("--no-distances", action="store_true", help="skip FPD/KPD")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = p.parse_args(argv)

    code = args.official_code.resolve()
    evaluate_py = code / "evaluate.py"
    ref, gen = args.reference.resolve(), args.generated.resolve()
    geometry, particle, binning = DATASETS[args.dataset]
    work = Path(args.keep or tempfile.mkdtemp(prefix="official-agreement-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    # 1. official histograms (reference linked into a fresh folder: evaluate.py caches a .pkl)
    ref_dir = work / "reference"
    shutil.rmtree(ref_dir, ignore_errors=True)
    ref_dir.mkdir()
    (ref_dir / ref.name).symlink_to(ref)
    off_out = work / "official"
    runner = work / "no_tex_runner.py"
    runner.write_text(NO_TEX_RUNNER)
    tex = shutil.which("latex") is not None
    launcher = [sys.executable] if tex else [sys.executable, str(runner)]
    cmd = [*launcher, str(evaluate_py), "--input_file", str(gen), "--reference_file",
                      str(ref_dir / ref.name), "--mode", args.official_mode,
                      "--dataset", args.dataset, "--output_dir", str(off_out)]
    print("official:", " ".join(cmd), flush=True)
    run(cmd, cwd=code, log=work / "official_hist.log")
    official = parse_separations(off_out / f"histogram_chi2_{args.dataset}.txt")

    # 2. caloforge on the same pair
    cf_out = work / "caloforge"
    modes = "hist" if args.no_distances else "hist,fpd,kpd"
    exe = shutil.which("caloforge", path=str(Path(sys.executable).parent)) or "caloforge"
    cmd = [exe, "evaluate", "--reference", str(ref), "--generated", str(gen), "-o", str(cf_out),
           "--mode", modes, "--no-plots", "--no-progress", "--threshold", str(args.threshold)]
    print("caloforge:", " ".join(cmd), flush=True)
    run(cmd, log=work / "caloforge.log")
    metrics = json.loads((cf_out / "metrics.json").read_text())
    cf_hist = {h["name"]: float(h["separation"])
               for h in metrics["generated_vs_reference"]["histograms"]}

    rows = []
    for name, value in official.items():
        cf_key = caloforge_name(name)
        cf_value = cf_hist.get(cf_key, float("nan")) if cf_key else float("nan")
        rows.append({"observable": name, "caloforge_name": cf_key, "official": value,
                     "caloforge": cf_value, "relative_difference": rel_diff(value, cf_value),
                     "agree_4_significant": agree_4(value, cf_value),
                     "note": None if math.isfinite(value) else
                     "official NaN: a sample has no entries in the fixed bin range (0/0 density)"})
    paired = {r["caloforge_name"] for r in rows}
    unpaired = sorted(set(cf_hist) - paired)

    # 3. FPD / KPD
    distances: list[dict[str, Any]] = []
    notes: list[str] = []
    if not args.no_distances:
        cf_dist = {d["name"]: (float(d["value"]), float(d["error"]))
                   for d in metrics["generated_vs_reference"]["distances"]}
        choices = official_modes(evaluate_py)
        for mode in ("fpd", "kpd"):
            if mode not in choices:
                continue
            cmd = [*launcher, str(evaluate_py), "--input_file", str(gen), "--reference_file",
                              str(ref_dir / ref.name), "--mode", mode, "--dataset",
                              args.dataset, "--output_dir", str(off_out)]
            text = run(cmd, cwd=code, log=work / f"official_{mode}.log")
            got = parse_official_distance(text, mode.upper())
            if got is not None and mode in cf_dist:
                distances.append(distance_row(mode, "each code's own", got,
                                              f"official evaluate.py --mode {mode}",
                                              cf_dist[mode], "caloforge evaluate"))
        if not distances:
            notes.append(f"official evaluate.py has no fpd/kpd mode (choices: {choices}); "
                         "jetnet is run on the same feature matrices instead")
            from caloforge.evaluate.distances import fpd, kpd

            # (a) caloforge's feature matrix: caloforge evaluate vs jetnet
            npz = work / "caloforge_features.npz"
            np.savez(npz, reference=caloforge_matrix(ref, geometry, args.threshold),
                     generated=caloforge_matrix(gen, geometry, args.threshold))
            jet = jetnet_distances(npz, work, "caloforge_features")
            width = np.load(npz)["reference"].shape[1]
            for mode in ("fpd", "kpd"):
                distances.append(distance_row(
                    mode, f"caloforge high-level vector ({width} columns)", tuple(jet[mode]),
                    f"jetnet {jet['jetnet']}.evaluation.{mode}", cf_dist[mode],
                    "caloforge evaluate (metrics.json)"))
            # (b) the official cls-high vectors: jetnet vs caloforge's distance functions
            npz = work / "official_features.npz"
            script = work / "official_features.py"
            script.write_text(OFFICIAL_FEATURES)
            run([sys.executable, str(script), particle, binning, str(ref), str(gen), str(npz)],
                cwd=code, log=work / "official_features.log")
            jet_o = jetnet_distances(npz, work, "official_features")
            data = np.load(npz)
            x, y = data["reference"], data["generated"]
            own = {"fpd": fpd(x, y, min_samples=FPD_MIN_SAMPLES),
                   "kpd": kpd(x, y, batch_size=KPD_BATCH_SIZE)}
            for mode in ("fpd", "kpd"):
                distances.append(distance_row(
                    mode, f"official prepare_high_data_for_classifier ({x.shape[1]} columns)",
                    tuple(jet_o[mode]), f"jetnet {jet_o['jetnet']}.evaluation.{mode}",
                    (own[mode].value, own[mode].error), f"caloforge.evaluate.distances.{mode}"))
            if jet.get("stubbed"):
                notes.append(f"stubbed (unused by fpd/kpd) jetnet imports: {jet['stubbed']}")

    n_agree = sum(r["agree_4_significant"] for r in rows)
    result = {
        "command": " ".join([Path(sys.argv[0]).name] + (argv or sys.argv[1:])),
        "official_code": str(code),
        "official_files_sha256": {f.name: sha256(f) for f in sorted(code.glob("*.py"))
                                  if f.name in ("evaluate.py", "HighLevelFeatures.py",
                                                "XMLHandler.py", "evaluate_plotting_helper.py")},
        "official_mode": args.official_mode, "latex_available": tex,
        "reference": {"path": str(ref), "sha256": sha256(ref)},
        "generated": {"path": str(gen), "sha256": sha256(gen)},
        "dataset": args.dataset, "caloforge_threshold_mev": args.threshold,
        "caloforge_versions": metrics.get("versions"),
        "summary": {"observables": len(rows), "agree_4_significant": n_agree,
                    "disagree": [r["observable"] for r in rows if not r["agree_4_significant"]],
                    "caloforge_only": unpaired},
        "histograms": rows, "distances": distances,
        "distance_settings": {"fpd_min_samples": FPD_MIN_SAMPLES,
                              "kpd_batch_size": KPD_BATCH_SIZE, "seed": 42},
        "notes": notes, "seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(finite_or_none(result), indent=2, allow_nan=False) + "\n")

    print(f"\n{'observable':<28} {'official':>13} {'caloforge':>13} {'rel.diff':>10}  4 digits")
    for r in rows:
        rd = "-" if r["relative_difference"] is None else f"{r['relative_difference']:+.2e}"
        print(f"{r['observable']:<28} {r['official']:>13.6g} {r['caloforge']:>13.6g} {rd:>10}  "
              f"{'yes' if r['agree_4_significant'] else 'NO'}")
    print(f"\n{n_agree}/{len(rows)} observables agree to 4 significant digits")
    for d in distances:
        print(f"{d['observable'].upper()} [{d['features']}]: official-side {d['official']:.4e} "
              f"± {d['official_error']:.1e} ({d['official_from']}), caloforge "
              f"{d['caloforge']:.4e} ± {d['caloforge_error']:.1e} -> within errors: "
              f"{'yes' if d['within_errors'] else 'NO'}")
    for note in notes:
        print("note:", note)
    print("written:", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
