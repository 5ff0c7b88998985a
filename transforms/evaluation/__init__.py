"""Scoring detectors against labels: incident-level matching of anomaly rows (`incidents`) and
streaming-benchmark metrics of scored series: window score, point-adjusted F1, false alarms per
series-week (`benchmark`).
"""

from transforms.evaluation.benchmark import (
    PROFILES,
    F1Score,
    FalseAlarms,
    Profile,
    ScoredSeries,
    WindowScore,
    best_f1,
    false_alarms,
    label_windows,
    segments,
    warmup_rows,
    window_score,
)
from transforms.evaluation.incidents import (
    NO_TOLERANCE,
    ONE_HOUR,
    alarm_events,
    incident_matches,
    incident_scores,
    unexplained_anomalies,
)

__all__ = [
    "NO_TOLERANCE",
    "ONE_HOUR",
    "PROFILES",
    "F1Score",
    "FalseAlarms",
    "Profile",
    "ScoredSeries",
    "WindowScore",
    "alarm_events",
    "best_f1",
    "false_alarms",
    "incident_matches",
    "incident_scores",
    "label_windows",
    "segments",
    "unexplained_anomalies",
    "warmup_rows",
    "window_score",
]
