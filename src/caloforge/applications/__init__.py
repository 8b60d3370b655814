"""Uses of a flow's likelihood: maximum-likelihood energy calibration with per-shower intervals
(and its MSE-regression baseline), and unsupervised anomaly detection.

The run-based parts (:mod:`~caloforge.applications.likelihood`,
:mod:`~caloforge.applications.anomaly`, :mod:`~caloforge.applications.regression`) import torch
and scikit-learn models; import them from their modules.
"""

from caloforge._lazy import lazy_exports

__all__ = ["AnomalyMetrics", "CalibrationResult", "ResponseSummary", "anomaly_metrics",
           "calibrate", "ensemble", "response_summary"]

__getattr__ = lazy_exports(__name__, {
    "AnomalyMetrics": ".roc",
    "anomaly_metrics": ".roc",
    "CalibrationResult": ".calibration",
    "ResponseSummary": ".calibration",
    "calibrate": ".calibration",
    "ensemble": ".calibration",
    "response_summary": ".calibration",
})
