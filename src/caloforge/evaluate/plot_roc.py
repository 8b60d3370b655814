"""ROC curves of the classifier tests beside the reference floor (reference vs reference).

The floor's classifiers are trained on two random halves of the reference with the same
protocol (``evaluate --reference-split``); their ROC curves are drawn dashed in the colour of
the mode. Without a floor only the diagonal (AUC 0.5, what identical samples give in the limit
of infinite statistics) is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caloforge.evaluate.plot_style import WIDTH_IN, plt, save

__all__ = ["roc_figure"]


def _as_dict(result: Any) -> dict[str, Any]:
    if is_dataclass(result) and not isinstance(result, type):
        return asdict(result)
    return dict(result)


def roc_figure(results: Sequence[Any], path: Path,
               floor: Sequence[Mapping[str, Any]] | None = None) -> Path | None:
    """ROC curves (left) and AUCs with their errors (right) of the generated sample and, where
    given, of the reference floor.

    Arguments:
        results: :class:`~caloforge.evaluate.classifier.ClassifierResult` or their dicts.
        path: Output file (its suffix sets the format).
        floor: The floor's classifier dicts (``metrics["reference_floor"]["classifiers"]``).

    Returns:
        ``path``, or None without results.
    """
    model = [_as_dict(r) for r in results]
    if not model:
        return None
    by_mode = {f["mode"]: dict(f) for f in (floor or [])}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(WIDTH_IN, 5.2),
                                 gridspec_kw={"width_ratios": (1.1, 1), "wspace": 0.28})
    ax.plot([0, 1], [0, 1], color="0.5", ls=":", lw=0.9, label="diagonal (AUC 0.5)")
    for k, res in enumerate(model):
        colour = f"C{k}"
        if res.get("roc_fpr"):
            ax.plot(res["roc_fpr"], res["roc_tpr"], color=colour, lw=1.5,
                    label=f"{res['mode']}: gen vs ref, AUC {res['auc']:.3f}")
        f = by_mode.get(res["mode"])
        if f and f.get("roc_fpr"):
            ax.plot(f["roc_fpr"], f["roc_tpr"], color=colour, lw=1.2, ls="--",
                    label=f"{res['mode']}: ref vs ref floor, AUC {f['auc']:.3f}")
    ax.set(xlabel="false positive rate (reference called generated)",
           ylabel="true positive rate (generated called generated)", xlim=(0, 1), ylim=(0, 1),
           title="ROC curves (validation split, calibrated)")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")
    x = np.arange(len(model))
    bx.errorbar(x - 0.1, [r["auc"] for r in model], yerr=[r.get("auc_err", 0.0) for r in model],
                fmt="o", color="tab:red", label="generated vs reference")
    have = [i for i, r in enumerate(model) if r["mode"] in by_mode]
    if have:
        bx.errorbar(x[have] + 0.1, [by_mode[model[i]["mode"]]["auc"] for i in have],
                    yerr=[by_mode[model[i]["mode"]].get("auc_err", 0.0) for i in have],
                    fmt="s", color="0.4", label="reference floor (half vs half)")
    bx.axhline(0.5, color="0.5", ls=":", lw=0.9)
    bx.set_xticks(x, [r["mode"] for r in model], rotation=20, fontsize=8)
    bx.set(ylabel="AUC (0.5: indistinguishable, 1: separable)", xlim=(-0.6, len(model) - 0.4),
           title="AUC per classifier" + ("" if have else " (no floor: run --reference-split)"))
    top = max([r["auc"] + r.get("auc_err", 0.0) for r in model] + [0.6])
    bx.set_ylim(0.45, min(1.02, top + 0.05))
    bx.legend(fontsize=8, loc="upper left")
    return save(fig, path)
