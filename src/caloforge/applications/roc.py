"""Anomaly-detection figures of merit from scores (higher = more anomalous).

ROC, AUC, significance improvement ``SI = TPR / sqrt(FPR)`` against ``1/FPR``, its maximum
(over working points with at least ``min_background`` background events passing), and
``R_30 = 1/FPR`` at ``TPR = 0.3``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = ["AnomalyMetrics", "anomaly_metrics"]


@dataclass
class AnomalyMetrics:
    """Figures of merit of one signal against background.

    Attributes:
        auc: Area under the ROC curve.
        max_si: Largest significance improvement.
        r30: Background rejection 1/FPR at 30 % signal efficiency.
        fpr, tpr: The ROC curve (thinned).
        n_background: Background events behind the curve (SI counts only working points that
            keep ``min_background`` of them).
    """

    auc: float
    max_si: float
    r30: float
    n_background: int = 0
    fpr: list[float] = field(default_factory=list)
    tpr: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return asdict(self)


def anomaly_metrics(background: np.ndarray, signal: np.ndarray,
                    min_background: int = 10) -> AnomalyMetrics:
    """ROC-based metrics of anomaly scores.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> m = anomaly_metrics(rng.normal(0, 1, 20000), rng.normal(3, 1, 20000))
        >>> round(m.auc, 2)
        0.98
    """
    scores = np.concatenate([background, signal])
    labels = np.concatenate([np.zeros(len(background)), np.ones(len(signal))])
    fpr, tpr, _ = roc_curve(labels, scores)
    auc = float(roc_auc_score(labels, scores))
    ok = fpr * len(background) >= min_background
    si = np.where(ok, tpr / np.sqrt(np.where(fpr > 0, fpr, 1.0)), 0.0)
    fpr_30 = float(np.interp(0.3, tpr, fpr))
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 300)).astype(int))
    return AnomalyMetrics(auc=auc, max_si=float(si.max()),
                          r30=1.0 / fpr_30 if fpr_30 > 0 else float("inf"),
                          n_background=len(background),
                          fpr=fpr[keep].tolist(), tpr=tpr[keep].tolist())
