"""The anomaly-detection study before and after tuning the fast simulator to Geant4: AUC and
maximum significance improvement of the flow's anomaly score (and of the supervised classifier)
per chi -> gamma gamma signal point, side by side.

    # before: a CaloFlow trained on the textbook simulator (commit dc25474)
    #   -> benchmarks/results/anomaly/study.json
    # after: the same recipe on the Geant4-tuned calogan preset
    caloforge simulate --config benchmarks/configs/anomaly-calogan-photons.yaml --seed 3 \
        -o train.h5
    caloforge train --data train.h5 -o runs/anom --preset calogan-cpu --stages teacher \\
        --time-budget 65m --threads 1
    caloforge anomaly-study --run runs/anom -o benchmarks/results/anomaly-tuned --threads 1
    python benchmarks/anomaly_tuning.py

The config is the calogan preset with ``particle: photon``, ``n: 100000`` and a log-uniform
1-100 GeV spectrum. Prints the table and writes
``benchmarks/results/anomaly-tuning.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from caloforge.cli._format import table
from caloforge.tables import write_json

RESULTS = Path(__file__).parent / "results"
#: Columns of each study's table compared side by side.
COLUMNS = ("flow_auc", "flow_max_si", "sup_auc", "sup_max_si")


def side_by_side(before: list[dict[str, Any]], after: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """One row per signal point (energy, separation) present in both tables."""
    index = {(r["E_GeV"], r["d_mm"]): r for r in before}
    rows = []
    for r in after:
        old = index.get((r["E_GeV"], r["d_mm"]))
        if old is None:
            continue
        row: dict[str, Any] = {"E_GeV": r["E_GeV"], "d_mm": r["d_mm"]}
        for key in COLUMNS:
            row[f"{key} before"], row[f"{key} after"] = old[key], r[key]
        rows.append(row)
    return rows


def training(run: str) -> dict[str, Any] | str:
    """The run's training length (epochs, steps, minutes per stage) when its folder is here."""
    status = Path(run) / "status.json"
    if not status.is_file():
        return "run folder not available"
    return {stage: {k: info.get(k) for k in ("epochs", "steps", "train_minutes", "stopped")}
            for stage, info in json.loads(status.read_text()).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=str(RESULTS / "anomaly" / "study.json"))
    parser.add_argument("--after", default=str(RESULTS / "anomaly-tuned" / "study.json"))
    parser.add_argument("--out", default=str(RESULTS / "anomaly-tuning.json"))
    args = parser.parse_args()
    before, after = (json.loads(Path(p).read_text()) for p in (args.before, args.after))
    rows = side_by_side(before["table"], after["table"])
    print(table(rows))
    write_json(Path(args.out), {"before": {"run": before["run"], "simulator": "textbook",
                                           "training": training(before["run"])},
                                "after": {"run": after["run"], "simulator": "Geant4-tuned",
                                          "training": training(after["run"])},
                                "config": after["config"], "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
