"""Incidents: anomalies merged across hours and metrics, with a probable cause from the data."""

import pandas as pd

from schemas.forecasts import Anomaly
from transforms.incidents import incident_id, incidents

T = pd.Timestamp("2026-11-03T10:00:00Z")
H = pd.Timedelta(hours=1)


def anomaly_rows(rows):
    """rows: (hours after T, endpoint, metric, actual, yhat, severity, score)"""
    return Anomaly.validate(
        pd.DataFrame(
            {
                "hour_start": pd.Series([T + h * H for h, *_ in rows], dtype="datetime64[us, UTC]"),
                "service": "shop",
                "endpoint": [r[1] for r in rows],
                "metric": [r[2] for r in rows],
                "actual": [r[3] for r in rows],
                "yhat": [r[4] for r in rows],
                "yhat_lower": [r[4] * 0.8 for r in rows],
                "yhat_upper": [r[4] * 1.2 for r in rows],
                "score": [r[6] for r in rows],
                "surprise": [10 * r[6] for r in rows],
                "direction": ["spike" if r[3] > r[4] else "drop" for r in rows],
                "kind": ["deviation"] * len(rows),
                "severity": [r[5] for r in rows],
                "method": "prophet",
            }
        )
    )


def counts(rows, column):
    """rows: (hours after T, endpoint, value, requests)"""
    return pd.DataFrame(
        {
            "hour_start": pd.Series([T + h * H for h, *_ in rows], dtype="datetime64[us, UTC]"),
            "service": "shop",
            "endpoint": [r[1] for r in rows],
            column: [r[2] for r in rows],
            "requests": [r[3] for r in rows],
        }
    )


def test_adjacent_hours_and_other_metrics_of_one_endpoint_are_one_incident():
    found = incidents(
        anomaly_rows(
            [
                (0, "/a", "requests", 10.0, 100.0, "high", 0.995),
                (1, "/a", "error_rate", 0.3, 0.01, "critical", 0.9995),
                (1, "/a", "requests", 12.0, 100.0, "medium", 0.96),
                (2, "/a", "requests", 20.0, 100.0, "low", 0.92),
                (4, "/a", "latency_p95_ms", 900.0, 300.0, "low", 0.91),  # after a quiet hour
                (0, "/b", "requests", 0.0, 50.0, "critical", 1.0),
            ]
        )
    )
    rows = found[["endpoint", "start", "end", "hours", "peak_severity", "metrics"]].values.tolist()
    assert rows == [
        ["/a", T, T + 3 * H, 3, "critical", "error_rate,requests"],
        ["/a", T + 4 * H, T + 5 * H, 1, "low", "latency_p95_ms"],
        ["/b", T, T + H, 1, "critical", "requests"],
    ]
    assert found["max_score"].tolist()[0] == 0.9995
    assert "latency_p95_ms at 3x its forecast" in found["probable_cause"].iloc[1]


def test_the_probable_cause_names_the_status_that_grew_and_the_top_error_reason():
    anomalies = anomaly_rows([(0, "/a", "error_rate", 0.5, 0.01, "critical", 0.9999)])
    status = counts(
        [(h, "/a", 200, 100) for h in range(-24, 0)]
        + [(h, "/a", 503, 1) for h in range(-24, 0, 12)]  # 2 of 2,402 before
        + [(0, "/a", 200, 50), (0, "/a", 503, 50), (0, "/b", 503, 500)],
        "status_code",
    )
    reasons = counts(
        [(0, "/a", "upstream timeout", 40), (0, "/a", "pool exhausted", 10), (-3, "/a", "x", 99)],
        "error_reason",
    )
    cause = incidents(anomalies, status, reasons)["probable_cause"].iloc[0]
    assert cause == (
        "error_rate 50.0% against 1.0% expected; "
        "status 503 rose from 0.1% to 50.0% of requests; "
        "top error reason 'upstream timeout' (40 requests, 80%)"
    )
    # without status or reason data, the cause is the deviation alone
    assert (
        incidents(anomalies)["probable_cause"].iloc[0] == "error_rate 50.0% against 1.0% expected"
    )


def test_no_anomalies_no_incidents():
    empty = incidents(anomaly_rows([]).iloc[0:0])
    assert empty.empty and "probable_cause" in empty.columns


def test_an_incident_is_open_while_the_next_hour_could_join_it_then_resolved():
    anomalies = anomaly_rows(
        [
            (0, "/a", "requests", 10.0, 100.0, "high", 0.995),
            (1, "/a", "requests", 12.0, 100.0, "high", 0.995),
            (3, "/b", "requests", 0.0, 50.0, "critical", 1.0),
        ]
    )
    # hour 3 is the newest scored: /b's incident may go on, /a's ended with hour 1
    found = incidents(anomalies, newest_hour=T + 3 * H)
    rows = found[["endpoint", "status", "resolved_at"]].values.tolist()
    assert rows[0] == ["/a", "resolved", T + 3 * H]  # hour 2 was scored back within forecast
    assert rows[1][:2] == ["/b", "open"] and pd.isna(rows[1][2])
    # by default the newest anomalous hour is the newest scored
    assert incidents(anomalies)["status"].tolist() == ["resolved", "open"]
    # an hour later /b is over too, at the end of the hour after it
    later = incidents(anomalies, newest_hour=T + 4 * H)
    assert later["status"].tolist() == ["resolved", "resolved"]
    assert later["resolved_at"].tolist() == [T + 3 * H, T + 5 * H]


def test_an_incident_id_depends_on_service_endpoint_and_start_only():
    one = incidents(anomaly_rows([(0, "/a", "requests", 10.0, 100.0, "high", 0.995)]))
    grown = incidents(
        anomaly_rows(
            [
                (0, "/a", "requests", 10.0, 100.0, "high", 0.995),
                (1, "/a", "error_rate", 0.3, 0.01, "critical", 0.9995),
            ]
        )
    )
    other = incidents(anomaly_rows([(0, "/b", "requests", 10.0, 100.0, "high", 0.995)]))
    assert one["incident_id"].iloc[0] == grown["incident_id"].iloc[0]
    assert one["incident_id"].iloc[0] == incident_id("shop", "/a", T)
    assert other["incident_id"].iloc[0] != one["incident_id"].iloc[0]
    assert len(one["incident_id"].iloc[0]) == 16
