"""Scoring detectors against labels: incident-level matching of anomaly rows (`incidents`).

Modules: incidents (labelled incidents, alarm episodes, incident-level scores).
"""

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
    "alarm_events",
    "incident_matches",
    "incident_scores",
    "unexplained_anomalies",
]
