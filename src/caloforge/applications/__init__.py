"""Uses of a flow's likelihood: maximum-likelihood energy calibration with per-shower intervals
(and its MSE-regression baseline), and unsupervised anomaly detection.

The run-based parts (:mod:`~caloforge.applications.likelihood`,
:mod:`~caloforge.applications.anomaly`, :mod:`~caloforge.applications.regression`) import torch
and scikit-learn models; import them from their modules.
"""

from caloforge.applications.anomaly_metrics import AnomalyMetrics, anomaly_metrics
from caloforge.applications.calibration import (
    CalibrationResult,
    ResponseSummary,
    calibrate,
    ensemble,
    response_summary,
)

__all__ = ["AnomalyMetrics", "CalibrationResult", "ResponseSummary", "anomaly_metrics",
           "calibrate", "ensemble", "response_summary"]
