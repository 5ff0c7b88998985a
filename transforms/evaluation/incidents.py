"""Scoring detected anomalies against labelled incidents (synthetic data, evaluation runs)."""

from __future__ import annotations

import pandas as pd

from schemas.forecasts import Anomaly as A
from transforms.forecast import TOTAL

NO_TOLERANCE = pd.Timedelta(0)
ONE_HOUR = pd.Timedelta(hours=1)


def incident_matches(
    anomalies: pd.DataFrame, labels: pd.DataFrame, *, tolerance: pd.Timedelta = NO_TOLERANCE
) -> pd.DataFrame:
    """One row per label: whether any anomaly of its endpoint fell inside [start, end + tolerance),
    the first such hour and the delay from the incident's start (hours)."""
    rows = []
    for label in labels.itertuples(index=False):
        hits = anomalies[
            (anomalies[A.endpoint] == label.endpoint)
            & (anomalies[A.hour_start] >= label.start)
            & (anomalies[A.hour_start] < label.end + tolerance)
        ]
        first = hits[A.hour_start].min() if len(hits) else pd.NaT
        rows.append(
            {
                **label._asdict(),
                "detected": bool(len(hits)),
                "first_flag": first,
                "delay_hours": (first - label.start) / pd.Timedelta(hours=1) if len(hits) else None,
                "metrics_flagged": ",".join(sorted(hits[A.metric].unique())),
            }
        )
    return pd.DataFrame(rows)


def unexplained_anomalies(
    anomalies: pd.DataFrame, labels: pd.DataFrame, *, tolerance: pd.Timedelta = NO_TOLERANCE
) -> pd.DataFrame:
    """Anomalies outside every labelled incident window of their endpoint: false alarms. An
    anomaly of a total (endpoint "*") is explained by any labelled incident at that time: the
    labels name endpoints, and a total moves with them."""
    if anomalies.empty:
        return anomalies
    explained = pd.Series(False, index=anomalies.index)
    total = anomalies[A.endpoint] == TOTAL
    for label in labels.itertuples(index=False):
        explained |= (
            ((anomalies[A.endpoint] == label.endpoint) | total)
            & (anomalies[A.hour_start] >= label.start)
            & (anomalies[A.hour_start] < label.end + tolerance)
        )
    return anomalies[~explained]


def alarm_events(anomalies: pd.DataFrame, *, gap: pd.Timedelta = ONE_HOUR) -> pd.DataFrame:
    """Flagged hours of one endpoint (any metric) no more than `gap` apart, merged into one
    alarm: endpoint, start, end (exclusive: the last flagged hour + 1 hour), hours flagged.
    An on-call engineer is paged once per alarm, not once per metric and hour."""
    columns = ["endpoint", "start", "end", "hours"]
    if anomalies.empty:
        return pd.DataFrame({c: [] for c in columns})
    hour = pd.Timedelta(hours=1)
    rows = []
    flagged = anomalies[[A.endpoint, A.hour_start]].drop_duplicates()
    for endpoint, own in flagged.sort_values(A.hour_start).groupby(A.endpoint, sort=True):
        times = list(own[A.hour_start])
        start = previous = times[0]
        count = 1
        for when in times[1:]:
            if when - previous > gap:
                rows.append((endpoint, start, previous + hour, count))
                start, count = when, 0
            previous = when
            count += 1
        rows.append((endpoint, start, previous + hour, count))
    return pd.DataFrame(rows, columns=columns)


def incident_scores(
    anomalies: pd.DataFrame, labels: pd.DataFrame, *, tolerance: pd.Timedelta = NO_TOLERANCE
) -> dict[str, float]:
    """Incident-level recall, precision, F1 and median detection delay.

    A labelled incident is detected when an anomaly of its endpoint falls in [start, end +
    tolerance); its delay is the first such hour minus its start. An alarm (`alarm_events`) is
    true when it overlaps such a window of its endpoint. Precision = true alarms / alarms."""
    matches = incident_matches(anomalies, labels, tolerance=tolerance)
    alarms = alarm_events(anomalies)
    true = 0
    for alarm in alarms.itertuples(index=False):
        own = labels[labels["endpoint"] == alarm.endpoint]
        true += bool(((alarm.start < own["end"] + tolerance) & (alarm.end > own["start"])).any())
    detected = int(matches["detected"].sum()) if len(matches) else 0
    recall = detected / len(labels) if len(labels) else 1.0
    precision = true / len(alarms) if len(alarms) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    delays = matches.loc[matches["detected"], "delay_hours"] if len(matches) else pd.Series()
    return {
        "incidents": len(labels),
        "detected": detected,
        "alarms": len(alarms),
        "true_alarms": true,
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "median_delay_hours": float(delays.median()) if len(delays) else float("nan"),
    }
