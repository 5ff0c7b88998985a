"""Forecasts and anomaly scores for the hourly endpoint metrics, and the anomaly rows: one model
per (service, endpoint, metric): Prophet once min_history_days are known, a robust baseline before.

Modules: options, days (day types), series (series, totals, model scales), calibration (spread,
tails, surprises), fitting (models, fit jobs), scoring (a point's score against its model), checks
(against the series' recent errors and week of values), grid (the walk-forward core), stored
(`score`: the flows' scoring with stored models), walk_forward, anomalies. Importing
this package loads neither Prophet nor scipy nor holidays: the functions that need them do.
"""

from transforms.forecast.anomalies import SUSTAINED_HOURS, anomalies
from transforms.forecast.days import day_type
from transforms.forecast.fitting import (
    PARALLEL_FROM,
    FitJob,
    fit_job,
    fit_jobs,
    fit_models,
    model_parameters,
    quiet_stan,
    series_candidates,
)
from transforms.forecast.options import (
    METRICS,
    MODEL_VERSION,
    SCORE_DECADES,
    SEVERITIES,
    SEVERITY_RANK,
    VALUE,
    ForecastOptions,
)
from transforms.forecast.scoring import PERSISTENCE_RUN, with_persistence
from transforms.forecast.series import (
    TOTAL,
    from_model_scale,
    metric_series,
    to_model_scale,
    total_level,
    with_totals,
)
from transforms.forecast.stored import CONTEXT_POINTS, forecasts, score
from transforms.forecast.walk_forward import KINDS, WalkForwardPlan, walk_forward

__all__ = [
    "CONTEXT_POINTS",
    "KINDS",
    "METRICS",
    "MODEL_VERSION",
    "PARALLEL_FROM",
    "PERSISTENCE_RUN",
    "SCORE_DECADES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "SUSTAINED_HOURS",
    "TOTAL",
    "VALUE",
    "FitJob",
    "ForecastOptions",
    "WalkForwardPlan",
    "anomalies",
    "day_type",
    "fit_job",
    "fit_jobs",
    "fit_models",
    "forecasts",
    "from_model_scale",
    "metric_series",
    "model_parameters",
    "quiet_stan",
    "score",
    "series_candidates",
    "to_model_scale",
    "total_level",
    "walk_forward",
    "with_persistence",
    "with_totals",
]
