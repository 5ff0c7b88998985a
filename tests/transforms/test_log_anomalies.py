"""Anomalies of service logs: error bursts against their forecast, new patterns at WARNING or
above, and incidents that join them with the same service's request anomalies."""

import json

import numpy as np
import pandas as pd

from schemas.forecasts import Anomaly
from transforms.forecast import ForecastOptions, fit_models, score
from transforms.incidents import incidents
from transforms.log_anomalies import (
    LOG_ENDPOINT,
    LOG_ERRORS,
    log_error_series,
    new_patterns,
    with_log_kinds,
)

START = pd.Timestamp("2024-05-20T00:00:00Z")
H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)
OPTIONS = ForecastOptions(metrics=(LOG_ERRORS,))


def levels(rows) -> pd.DataFrame:
    """log_levels_minutely rows: (minute_start, service, level, events)."""
    return pd.DataFrame(
        {
            "minute_start": pd.Series([r[0] for r in rows], dtype="datetime64[us, UTC]"),
            "service": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "events": [r[3] for r in rows],
        }
    )


def service_log(days: int, burst_at: pd.Timestamp | None = None) -> pd.DataFrame:
    """`days` of a checkout service logging INFO every hour and 0 to 3 errors an hour, plus a
    quiet payments service; with `burst_at`, 60 ERROR + CRITICAL events in that hour."""
    rng = np.random.default_rng(3)
    rows = []
    for hour in pd.date_range(START, periods=days * 24, freq="h"):
        rows.append((hour + pd.Timedelta(minutes=5), "checkout", "INFO", 40))
        rows.append((hour + pd.Timedelta(minutes=7), "payments", "INFO", 10))
        errors = int(rng.integers(0, 4))
        if errors:
            rows.append((hour + pd.Timedelta(minutes=9), "checkout", "ERROR", errors))
        if hour == burst_at:
            rows.append((hour + pd.Timedelta(minutes=20), "checkout", "ERROR", 50))
            rows.append((hour + pd.Timedelta(minutes=21), "checkout", "CRITICAL", 10))
    return levels(rows)


def test_the_error_series_counts_error_and_critical_per_hour_and_fills_quiet_hours():
    frame = levels(
        [
            (START + pd.Timedelta(minutes=1), "checkout", "ERROR", 2),
            (START + pd.Timedelta(minutes=2), "checkout", "CRITICAL", 1),
            (START + pd.Timedelta(minutes=3), "checkout", "WARNING", 5),
            (START + 2 * H, "checkout", "INFO", 4),
            (START + H, "payments", "INFO", 1),
        ]
    )
    series = log_error_series(frame, hours=pd.date_range(START, periods=3, freq="h"))
    assert list(series["endpoint"].unique()) == [LOG_ENDPOINT]
    assert list(series["metric"].unique()) == [LOG_ERRORS]
    checkout = series[series["service"] == "checkout"]["value"].tolist()
    assert checkout == [3.0, 0.0, 0.0]
    # payments starts logging in the second hour: its series starts there
    assert series[series["service"] == "payments"]["value"].tolist() == [0.0, 0.0]


def test_an_error_burst_in_one_services_hourly_errors_is_a_log_errors_anomaly():
    day = START + 7 * D
    burst = day + 14 * H
    frame = service_log(8, burst_at=burst)
    hours = pd.date_range(START, day, freq="h", inclusive="left")
    history = log_error_series(frame[frame["minute_start"] < day], hours=hours)
    models = fit_models(history, trained_through=day, options=OPTIONS)
    assert (("checkout", LOG_ENDPOINT, LOG_ERRORS)) in models
    scored = pd.date_range(day, periods=24, freq="h")
    actuals = log_error_series(
        frame, hours=pd.date_range(day - 30 * H, day + D, freq="h", inclusive="left")
    )
    forecasts, anomalies = score(models, actuals, hours=scored, options=OPTIONS)
    anomalies = with_log_kinds(anomalies)
    Anomaly.validate(anomalies)
    assert len(forecasts) == 48  # both services, every hour of the day
    flagged = anomalies[anomalies["service"] == "checkout"]
    assert burst in set(flagged["hour_start"])
    row = flagged[flagged["hour_start"] == burst].iloc[0]
    assert row["kind"] == LOG_ERRORS and row["direction"] == "spike"
    assert row["actual"] >= 60
    assert anomalies[anomalies["service"] == "payments"].empty


def templates_frames(rows):
    """rows: (template_id, template, first_seen, [(minute, level, events)])."""
    catalog = pd.DataFrame(
        {
            "service": "checkout",
            "template_id": [r[0] for r in rows],
            "template": [r[1] for r in rows],
            "first_seen": pd.Series([r[2] for r in rows], dtype="datetime64[us, UTC]"),
            "last_seen": pd.Series([r[2] + 5 * H for r in rows], dtype="datetime64[us, UTC]"),
            "events": 10,
            "examples": [json.dumps([r[1].replace("<NUM>", "123")]) for r in rows],
        }
    )
    minutely = pd.DataFrame(
        [
            {
                "minute_start": m,
                "service": "checkout",
                "template_id": r[0],
                "level": lv,
                "events": n,
            }
            for r in rows
            for m, lv, n in r[3]
        ]
    )
    minutely["minute_start"] = minutely["minute_start"].astype("datetime64[us, UTC]")
    return catalog, minutely


def test_a_new_warning_or_worse_template_is_a_new_pattern_once_and_an_info_one_is_not():
    t = START + 10 * H
    catalog, minutely = templates_frames(
        [
            ("a" * 16, "payment failed for order <NUM>", t + pd.Timedelta(minutes=12),
             [(t + pd.Timedelta(minutes=12), "ERROR", 3), (t + H, "ERROR", 9),
              (t + 3 * H, "ERROR", 2)]),
            ("b" * 16, "cart saved <NUM>", t + pd.Timedelta(minutes=3),
             [(t + pd.Timedelta(minutes=3), "INFO", 5), (t + 2 * H, "ERROR", 1)]),
            ("c" * 16, "old known warning", t - 5 * D,
             [(t + pd.Timedelta(minutes=30), "WARNING", 4)]),
        ]
    )  # fmt: skip
    # hour by hour and all at once: the same single row
    hourly = [
        new_patterns(catalog, minutely, hours=pd.DatetimeIndex([t + i * H])) for i in range(5)
    ]
    at_once = new_patterns(catalog, minutely, hours=pd.date_range(t, periods=5, freq="h"))
    joined = pd.concat(hourly, ignore_index=True)
    pd.testing.assert_frame_equal(joined, at_once)
    assert len(at_once) == 1
    row = at_once.iloc[0]
    assert row["kind"] == "new_pattern" and row["metric"] == "new_pattern:" + "a" * 16
    assert row["hour_start"] == t and row["actual"] == 3 and row["severity"] == "high"
    Anomaly.validate(at_once)


def anomaly(hour, endpoint, metric, kind, actual=30.0, yhat=3.0):
    return {
        "hour_start": hour,
        "service": "checkout",
        "endpoint": endpoint,
        "metric": metric,
        "actual": actual,
        "yhat": yhat,
        "yhat_lower": 0.0,
        "yhat_upper": yhat * 2,
        "score": 0.99,
        "surprise": 3.0,
        "direction": "spike",
        "kind": kind,
        "severity": "high",
        "method": "first_seen" if kind == "new_pattern" else "prophet",
    }


def test_an_incident_joins_a_services_log_anomalies_with_its_request_anomaly():
    t = START + 10 * H
    catalog, _ = templates_frames(
        [("a" * 16, "payment failed for order <NUM>", t, [(t, "ERROR", 3)])]
    )
    frame = pd.DataFrame(
        [
            anomaly(t, "/pay", "error_rate", "deviation", 0.3, 0.02),
            anomaly(t, LOG_ENDPOINT, LOG_ERRORS, LOG_ERRORS),
            anomaly(t + H, LOG_ENDPOINT, "new_pattern:" + "a" * 16, "new_pattern", 3.0, 0.0),
            anomaly(t + 9 * H, LOG_ENDPOINT, LOG_ERRORS, LOG_ERRORS),
        ]
    )
    frame["hour_start"] = frame["hour_start"].astype("datetime64[us, UTC]")
    found = incidents(Anomaly.validate(frame), log_templates=catalog)
    assert len(found) == 2
    merged = found[found["endpoint"] == "/pay"].iloc[0]
    assert merged["hours"] == 2
    assert merged["metrics"] == f"error_rate,{LOG_ERRORS},new_pattern:{'a' * 16}"
    assert "new pattern 'payment failed for order <NUM>'" in merged["probable_cause"]
    assert "payment failed for order 123" in merged["probable_cause"]
    assert "log errors at 10x their forecast" in merged["probable_cause"]
    alone = found[found["endpoint"] == LOG_ENDPOINT].iloc[0]
    assert alone["start"] == t + 9 * H


def test_the_report_section_shows_level_mix_top_error_templates_and_new_patterns():
    from transforms.log_report import log_markdown, log_section

    t = START + 10 * H
    catalog, minutely = templates_frames(
        [("a" * 16, "payment failed for order <NUM>", t, [(t, "ERROR", 3), (t + H, "ERROR", 9)])]
    )
    frame = pd.DataFrame([anomaly(t, LOG_ENDPOINT, "new_pattern:" + "a" * 16, "new_pattern", 3.0)])
    frame["hour_start"] = frame["hour_start"].astype("datetime64[us, UTC]")
    mix = levels([(t, "checkout", "INFO", 7), (t, "checkout", "ERROR", 3)])
    page, charts = log_section(mix, minutely, catalog, frame, START)
    assert charts == ["log-levels-checkout"]
    assert "payment failed for order &lt;NUM&gt;" in page
    assert "<td>12</td>" in page  # the day's ERROR events of the template
    assert "payment failed for order 123" in page  # the new pattern's example
    text = log_markdown(mix, minutely, catalog, frame, START)
    assert "Levels: INFO 7, ERROR 3" in text
    assert "new pattern at 10:00 (high)" in text
    assert log_section(mix.iloc[:0], minutely, catalog, frame, START) == ("", [])
