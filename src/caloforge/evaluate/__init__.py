"""Evaluation of shower files: CaloChallenge metrics, physics observables, plots, report.

Works on files and knows no model: any CaloChallenge-format file can be judged.

Example:
    >>> from caloforge.evaluate import PROTOCOLS
    >>> sorted(PROTOCOLS)
    ['challenge', 'fast']
"""

from caloforge.evaluate.classifier import PROTOCOLS, ClassifierResult, run_classifier
from caloforge.evaluate.distances import fpd, frechet_distance, kpd
from caloforge.evaluate.features import HighLevelFeatures, compute_features
from caloforge.evaluate.histograms import compare_feature, feature_bins, separation_power
from caloforge.evaluate.metrics import MetricSet, compare_samples
from caloforge.evaluate.physics import PhysicsObservables, compute_physics
from caloforge.evaluate.runner import EvaluationResult, evaluate_files
from caloforge.evaluate.sample import Sample, load_samples

__all__ = [
    "PROTOCOLS",
    "ClassifierResult",
    "EvaluationResult",
    "HighLevelFeatures",
    "MetricSet",
    "PhysicsObservables",
    "Sample",
    "compare_feature",
    "compare_samples",
    "compute_features",
    "compute_physics",
    "evaluate_files",
    "feature_bins",
    "fpd",
    "frechet_distance",
    "kpd",
    "load_samples",
    "run_classifier",
    "separation_power",
]
