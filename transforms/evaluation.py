"""Scoring detected anomalies against labelled incidents (synthetic data, evaluation runs)."""

from __future__ import annotations

import pandas as pd

from schemas.forecasts import Anomaly as A

NO_TOLERANCE = pd.Timedelta(0)


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
    """Anomalies outside every labelled incident window of their endpoint: false alarms."""
    if anomalies.empty:
        return anomalies
    explained = pd.Series(False, index=anomalies.index)
    for label in labels.itertuples(index=False):
        explained |= (
            (anomalies[A.endpoint] == label.endpoint)
            & (anomalies[A.hour_start] >= label.start)
            & (anomalies[A.hour_start] < label.end + tolerance)
        )
    return anomalies[~explained]
