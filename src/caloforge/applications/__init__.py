"""Uses of a flow's likelihood: energy calibration and anomaly detection (building blocks)."""

from caloforge.applications.anomaly_metrics import AnomalyMetrics, anomaly_metrics
from caloforge.applications.calibration import CalibrationResult, calibrate, ensemble

__all__ = ["AnomalyMetrics", "CalibrationResult", "anomaly_metrics", "calibrate", "ensemble"]
