import json

import numpy as np
import pandas as pd

from transforms.report import anomaly_table, json_safe, summary_markdown, top_anomalies

H = pd.Timestamp("2026-11-01T10:00:00Z")


def anomalies():
    return pd.DataFrame(
        {
            "hour_start": pd.Series([H, H, H + pd.Timedelta(hours=1)], dtype="datetime64[us, UTC]"),
            "service": ["s", "s", "s"],
            "endpoint": ["/a", "/b", "/a"],
            "metric": ["requests", "error_rate", "latency_p95_ms"],
            "actual": [0.0, 0.4, 900.0],
            "yhat": [50.0, 0.02, 150.0],
            "yhat_lower": [20.0, 0.0, 100.0],
            "yhat_upper": [90.0, 0.06, 220.0],
            "score": [0.97, 1.0, 1.0],  # the two critical ones tie at a score of 1 ...
            "surprise": [5.0, 12.0, 9.0],  # ... and their surprise tells them apart
            "direction": ["drop", "spike", "spike"],
            "kind": ["deviation", "deviation", "deviation"],
            "severity": ["medium", "critical", "critical"],
            "method": ["prophet"] * 3,
        }
    )


def test_json_safe_converts_numpy_timestamps_and_missing():
    assert json_safe(np.int64(3)) == 3 and isinstance(json_safe(np.int64(3)), int)
    assert json_safe(np.float64(0.5)) == 0.5
    assert json_safe(H) == "2026-11-01T10:00:00Z"
    assert (
        json_safe(float("nan")) is None and json_safe(pd.NA) is None and json_safe(pd.NaT) is None
    )


def test_top_anomalies_most_severe_then_most_surprising_first():
    top = top_anomalies(anomalies())
    assert top["metric"].tolist() == ["error_rate", "latency_p95_ms", "requests"]


def test_anomaly_table_is_plain_json():
    rows = anomaly_table(anomalies())
    assert json.loads(json.dumps(rows)) == rows
    assert rows[0]["hour_start"] == "2026-11-01T10:00:00Z" and rows[0]["severity"] == "critical"
    assert rows[0]["surprise"] == 12.0
    assert anomaly_table(anomalies().iloc[0:0]) == []


def test_summary_markdown_states_accounting_and_anomalies():
    summary = {
        "window": "2026-11-01 10:00 UTC",
        "files": {
            "ingested": 2, "skipped": 1, "rejected": 1, "records_read": 10, "rows_kept": 7,
            "rows_quarantined": 3, "rejected_files": [{"path": "/l/x.bin", "reason": "file is empty"}],
            "warnings": ["/l/a.csv: endpoint cap of 500 reached for source 'api'"],
        },
        "hours_rebuilt": 2, "endpoint_hourly_rows": 4, "series": 3, "forecasts": 6, "anomalies": 3,
    }  # fmt: skip
    markdown = summary_markdown("logcast hourly", summary, anomalies())
    assert markdown.startswith("# logcast hourly\n")
    assert "records read: 10 = kept 7 + quarantined 3" in markdown
    assert "rejected `/l/x.bin`: file is empty" in markdown
    assert "- warning: /l/a.csv: endpoint cap of 500 reached for source 'api'" in markdown
    assert (
        "| 2026-11-01 11:00 | /a | latency_p95_ms | critical | spike | 900.0 | 150.0 | 1.000 | 9.000 |"
        in markdown
    )
    assert (
        "| 2026-11-01 10:00 | /b | error_rate | critical | spike | 0.400 | 0.020 | 1.000 | 12.0 |"
        in markdown
    )
    quiet = summary_markdown("t", summary, anomalies().iloc[0:0])
    assert "No anomalies." in quiet
    assert "incident events" not in markdown
    sent = {**summary, "incident_events": {"opened": 2, "updated": 0, "resolved": 1}}
    assert (
        "- incident events sent to Prefect: 2 `logcast.incident.opened`, "
        "1 `logcast.incident.resolved`\n"
    ) in summary_markdown("t", sent, anomalies())


def test_summary_markdown_splits_kept_rows_into_requests_and_events_when_events_were_kept():
    files = {"records_read": 40, "rows_kept": 39, "rows_quarantined": 1}
    with_events = summary_markdown(
        "t", {"files": {**files, "requests": 4, "events": 35}}, anomalies()
    )
    assert "- records read: 40 = kept 39 + quarantined 1; kept 39: 4 requests, 35 events\n" in (
        with_events
    )
    requests_only = summary_markdown(
        "t", {"files": {**files, "requests": 39, "events": 0}}, anomalies()
    )
    assert "- records read: 40 = kept 39 + quarantined 1\n" in requests_only
