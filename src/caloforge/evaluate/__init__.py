"""Evaluation of shower files: CaloChallenge metrics, physics observables, plots, report.

Works on files and knows no model: any CaloChallenge-format file can be judged.

Example:
    >>> from caloforge.evaluate import PROTOCOLS
    >>> sorted(PROTOCOLS)
    ['challenge', 'fast']
"""

from caloforge._lazy import lazy_exports

__all__ = [
    "PROTOCOLS",
    "ClassifierResult",
    "DimensionEstimate",
    "EvaluationResult",
    "HighLevelFeatures",
    "MetricSet",
    "PhysicsObservables",
    "Sample",
    "ShowerDimension",
    "compare_feature",
    "compare_samples",
    "compute_features",
    "compute_physics",
    "estimate_dimension",
    "evaluate_files",
    "feature_bins",
    "fpd",
    "frechet_distance",
    "kpd",
    "load_samples",
    "run_classifier",
    "separation_power",
    "shower_dimension",
]

__getattr__ = lazy_exports(__name__, {
    "PROTOCOLS": ".classifier",
    "ClassifierResult": ".classifier",
    "run_classifier": ".classifier",
    "DimensionEstimate": ".dimension",
    "ShowerDimension": ".dimension",
    "estimate_dimension": ".dimension",
    "shower_dimension": ".dimension",
    "fpd": ".distances",
    "frechet_distance": ".distances",
    "kpd": ".distances",
    "HighLevelFeatures": ".features",
    "compute_features": ".features",
    "compare_feature": ".histograms",
    "feature_bins": ".histograms",
    "separation_power": ".histograms",
    "MetricSet": ".metrics",
    "compare_samples": ".metrics",
    "PhysicsObservables": ".physics",
    "compute_physics": ".physics",
    "EvaluationResult": ".runner",
    "evaluate_files": ".runner",
    "Sample": ".sample",
    "load_samples": ".sample",
})
