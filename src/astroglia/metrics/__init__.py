"""Metrics, one definition each (specs/evaluation.md): forecasting and context sensing."""

from astroglia.metrics.forecasting import (
    AttractorStatistics,
    ValidPredictionTime,
    attractor_statistics,
    divergence_index,
    is_diverged,
    normalized_error,
    nrmse,
    spectrum_distance,
    valid_prediction_time,
)
from astroglia.metrics.sensing import ContextAccuracy, cluster_signature, context_accuracy, switch_latency

__all__ = [
    "AttractorStatistics",
    "ContextAccuracy",
    "ValidPredictionTime",
    "attractor_statistics",
    "cluster_signature",
    "context_accuracy",
    "divergence_index",
    "is_diverged",
    "normalized_error",
    "nrmse",
    "spectrum_distance",
    "switch_latency",
    "valid_prediction_time",
]
