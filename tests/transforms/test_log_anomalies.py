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
    TEMPLATE_COUNT,
    counted_templates,
    log_error_series,
    new_patterns,
    template_count_series,
    with_log_kinds,
    without_remined,
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


def minutely_rows(rows) -> pd.DataFrame:
    """log_templates_minutely rows: (minute_start, service, template_id, level, events)."""
    frame = pd.DataFrame(
        rows, columns=["minute_start", "service", "template_id", "level", "events"]
    )
    frame["minute_start"] = frame["minute_start"].astype("datetime64[us, UTC]")
    return frame


def catalog_rows(rows) -> pd.DataFrame:
    """log_templates rows: (service, template_id, template, first_seen)."""
    frame = pd.DataFrame(rows, columns=["service", "template_id", "template", "first_seen"])
    frame["first_seen"] = frame["first_seen"].astype("datetime64[us, UTC]")
    frame["last_seen"] = frame["first_seen"] + 5 * D
    frame["events"] = 10
    frame["examples"] = "[]"
    return frame


def test_a_templates_count_series_sums_its_levels_per_hour_from_its_first_seen_hour():
    m = pd.Timedelta(minutes=1)
    minutely = minutely_rows(
        [
            (START + 5 * m, "checkout", "a" * 16, "INFO", 4),
            (START + 6 * m, "checkout", "a" * 16, "ERROR", 2),
            (START + 2 * H + 59 * m, "checkout", "a" * 16, "INFO", 1),
            (START + H + 30 * m, "checkout", "b" * 16, "WARNING", 3),
            (START + 2 * H, "checkout", "b" * 16, "WARNING", 1),
            (START + H, "payments", "a" * 16, "INFO", 7),  # another service's own template
        ]
    )
    # b was first seen (in an hour before these rows) at 00:40: its series starts at 00:00;
    # c's first event lies in the second hour: its series starts there, all zeros
    catalog = catalog_rows(
        [
            ("checkout", "b" * 16, "queue <*> is slow", START + 40 * m),
            ("checkout", "c" * 16, "cache warmed", START + H + 10 * m),
        ]
    )
    hours = pd.date_range(START, periods=3, freq="h")
    series = template_count_series(
        minutely,
        catalog,
        hours=hours,
        templates=[("checkout", "a" * 16), ("checkout", "b" * 16), ("checkout", "c" * 16)],
    )
    assert list(series.columns) == ["hour_start", "service", "endpoint", "metric", "value"]
    assert set(series["endpoint"]) == {LOG_ENDPOINT} and set(series["service"]) == {"checkout"}
    by_metric = {
        metric: (list(rows["hour_start"]), rows["value"].tolist())
        for metric, rows in series.groupby("metric")
    }
    assert by_metric == {
        "template:" + "a" * 16: (list(hours), [6.0, 0.0, 1.0]),
        "template:" + "b" * 16: (list(hours), [0.0, 3.0, 1.0]),
        "template:" + "c" * 16: (list(hours[1:]), [0.0, 0.0]),
    }
    assert series["value"].dtype == "float64"
    empty = template_count_series(minutely, catalog, hours=hours, templates=[])
    assert empty.empty and list(empty.columns) == list(series.columns)


def test_the_busiest_templates_and_those_at_warning_or_above_get_models_once_old_enough():
    day = START + 7 * D
    ids = {name: name * 16 for name in "abcdefg"}
    minutely = minutely_rows(
        [
            (START + H, "checkout", ids["a"], "INFO", 100),  # busiest
            (START + H, "checkout", ids["b"], "INFO", 50),  # second: past the limit of 1
            (START + H, "checkout", ids["c"], "WARNING", 5),  # most WARNING+ events
            (START + H, "checkout", ids["d"], "ERROR", 2),  # second WARNING+: past the limit
            (day - 2 * H, "checkout", ids["e"], "CRITICAL", 90),  # too new: 2 h of history
            (START + H, "payments", ids["f"], "INFO", 1),  # each service chooses its own
            (START + 2 * H, "payments", ids["g"], "DEBUG", 1),  # tie on events: the id decides
        ]
    )
    chosen = counted_templates(
        minutely, None, trained_through=day, limit=1, min_history=pd.Timedelta(days=1)
    )
    assert chosen == [("checkout", ids["a"]), ("checkout", ids["c"]), ("payments", ids["f"])]
    # first_seen of log_templates says how old a template is, not its first row in the window
    catalog = catalog_rows([("checkout", ids["e"], "disk full", START)])
    chosen = counted_templates(
        minutely, catalog, trained_through=day, limit=1, min_history=pd.Timedelta(days=1)
    )
    assert ("checkout", ids["e"]) in chosen and ("checkout", ids["c"]) not in chosen
    assert counted_templates(minutely, None, trained_through=day, limit=0, min_history=H) == []


def steady_templates(days: int, jump_at: pd.Timestamp | None = None) -> pd.DataFrame:
    """`days` of checkout logging three templates every hour (an INFO one 30 to 40 times, a
    WARNING one 2 to 4 times, an ERROR one 1 to 3 times); with `jump_at`, the ERROR one logs
    300 events in that hour."""
    rng = np.random.default_rng(5)
    rows = []
    for hour in pd.date_range(START, periods=days * 24, freq="h"):
        rows.append(
            (
                hour + pd.Timedelta(minutes=1),
                "checkout",
                "i" * 16,
                "INFO",
                int(rng.integers(30, 41)),
            )
        )
        rows.append(
            (
                hour + pd.Timedelta(minutes=2),
                "checkout",
                "w" * 16,
                "WARNING",
                int(rng.integers(2, 5)),
            )
        )
        errors = int(rng.integers(1, 4)) + (300 if hour == jump_at else 0)
        rows.append((hour + pd.Timedelta(minutes=3), "checkout", "e" * 16, "ERROR", errors))
    return minutely_rows(rows)  # fmt: skip


def test_a_template_whose_count_jumps_is_a_template_count_anomaly_and_the_steady_ones_are_not():
    day = START + 7 * D
    jump = day + 9 * H
    minutely = steady_templates(8, jump_at=jump)
    history_rows = minutely[minutely["minute_start"] < day]
    chosen = counted_templates(
        history_rows, None, trained_through=day, limit=20, min_history=pd.Timedelta(days=1)
    )
    assert chosen == [("checkout", "e" * 16), ("checkout", "i" * 16), ("checkout", "w" * 16)]
    history = template_count_series(
        history_rows, None, hours=pd.date_range(START, day, freq="h", inclusive="left"),
        templates=chosen,
    )  # fmt: skip
    options = ForecastOptions(metrics=tuple(sorted(set(history["metric"]))))
    models = fit_models(history, trained_through=day, options=options)
    assert len(models) == 3
    actuals = template_count_series(
        minutely, None, hours=pd.date_range(day - 8 * D + D, day + D, freq="h", inclusive="left"),
        templates=chosen,
    )  # fmt: skip
    scored = pd.date_range(day, periods=24, freq="h")
    forecasts, anomalies = score(models, actuals, hours=scored, options=options)
    anomalies = with_log_kinds(anomalies)
    Anomaly.validate(anomalies)
    assert len(forecasts) == 3 * 24
    assert list(anomalies["metric"]) == ["template:" + "e" * 16]
    row = anomalies.iloc[0]
    assert row["hour_start"] == jump and row["kind"] == TEMPLATE_COUNT
    assert row["direction"] == "spike" and row["endpoint"] == LOG_ENDPOINT
    assert 301 <= row["actual"] <= 303 and row["yhat"] < 5


def test_the_probable_cause_names_the_template_its_level_and_its_distance_from_forecast():
    t = START + 10 * H
    catalog = catalog_rows([("checkout", "e" * 16, "Connection to <*> refused", START)])
    minutely = minutely_rows(
        [
            (t + pd.Timedelta(minutes=4), "checkout", "e" * 16, "WARNING", 40),
            (t + pd.Timedelta(minutes=5), "checkout", "e" * 16, "ERROR", 300),
            (t - 3 * H, "checkout", "e" * 16, "CRITICAL", 1),  # before the incident
        ]
    )
    frame = pd.DataFrame(
        [
            anomaly(t, "/pay", "error_rate", "deviation", 0.3, 0.02),
            anomaly(t, LOG_ENDPOINT, "template:" + "e" * 16, TEMPLATE_COUNT, 340.0, 28.0),
        ]
    )
    frame["hour_start"] = frame["hour_start"].astype("datetime64[us, UTC]")
    found = incidents(
        Anomaly.validate(frame), log_templates=catalog, log_templates_minutely=minutely
    )
    assert len(found) == 1  # the template's count joins the request anomaly of the hour
    row = found.iloc[0]
    assert row["endpoint"] == "/pay" and row["metrics"] == "error_rate,template:" + "e" * 16
    assert (
        "template 'Connection to <*> refused' (ERROR) at 12x its forecast: "
        "340 events vs 28 expected"
    ) in row["probable_cause"]
    # without the template tables the id stands in for the text, and no level is claimed
    alone = incidents(Anomaly.validate(frame.iloc[1:]))
    assert alone.iloc[0]["probable_cause"] == (
        f"template '{'e' * 16}' at 12x its forecast: 340 events vs 28 expected"
    )


def test_the_report_section_lists_the_templates_whose_counts_left_their_forecast():
    from transforms.log_report import log_markdown, log_section, template_count_rows

    t = START + 10 * H
    catalog = catalog_rows([("checkout", "e" * 16, "Connection to <*> refused", START)])
    minutely = minutely_rows([(t + pd.Timedelta(minutes=5), "checkout", "e" * 16, "ERROR", 340)])
    frame = pd.DataFrame(
        [anomaly(t, LOG_ENDPOINT, "template:" + "e" * 16, TEMPLATE_COUNT, 340.0, 28.0)]
    )
    frame["hour_start"] = frame["hour_start"].astype("datetime64[us, UTC]")
    rows = template_count_rows(frame, catalog, minutely, "checkout", START)
    assert rows.to_dict("records") == [
        {
            "hour": "10:00",
            "severity": "high",
            "template": "Connection to <*> refused",
            "level": "ERROR",
            "events": 340,
            "expected": "28.0",
            "change": "spike",
        }
    ]
    assert template_count_rows(frame, catalog, minutely, "checkout", START + D).empty
    mix = levels([(t, "checkout", "ERROR", 340)])
    page, _ = log_section(mix, minutely, catalog, frame, START)
    assert "Templates off their forecast" in page
    assert "<td>Connection to &lt;*&gt; refused</td><td>ERROR</td><td>340</td>" in page
    text = log_markdown(mix, minutely, catalog, frame, START)
    assert (
        "- template `Connection to <*> refused` (ERROR) at 10:00 (high, spike): "
        "340 events vs 28.0 expected"
    ) in text


def test_models_of_templates_re_mined_away_since_their_fit_are_not_scored():
    catalog = catalog_rows([("checkout", "a" * 16, "cart <NUM> loaded", START)])
    models = {
        ("checkout", LOG_ENDPOINT, LOG_ERRORS): "{}",
        ("checkout", LOG_ENDPOINT, "template:" + "a" * 16): "{}",
        ("checkout", LOG_ENDPOINT, "template:" + "b" * 16): "{}",  # re-mined away
        ("payments", LOG_ENDPOINT, "template:" + "a" * 16): "{}",  # another service's id
        ("checkout", "/cart", "requests"): "{}",
    }
    assert set(without_remined(models, catalog)) == {
        ("checkout", "/cart", "requests"),
        ("checkout", LOG_ENDPOINT, LOG_ERRORS),
        ("checkout", LOG_ENDPOINT, "template:" + "a" * 16),
    }
