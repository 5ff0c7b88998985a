"""Threshold rules: judged minute by minute (or hour by hour), firing once the condition held
for its whole `for`, as anomalies of kind rule and in the incidents' causes."""

import pandas as pd
import pytest

from transforms.incidents import incidents
from transforms.rules import (
    RuleError,
    parse_duration,
    rule_anomalies,
    rule_from,
    rule_steps,
    rule_stretches,
)

T = pd.Timestamp("2026-11-03T10:00:00Z")
M = pd.Timedelta(minutes=1)
H = pd.Timedelta(hours=1)


def minutely(values, start=T, endpoint="/pay", service="checkout"):
    """One endpoint_minutely row per value (None: a minute without requests, no row) of the
    latency_p95_ms, from `start`; errors are a tenth of the value."""
    rows = [
        (start + i * M, v) for i, v in enumerate(values) if v is not None
    ]  # a None leaves its minute out
    return pd.DataFrame(
        {
            "minute_start": pd.Series([t for t, _ in rows], dtype="datetime64[us, UTC]"),
            "service": service,
            "endpoint": endpoint,
            "requests": 100,
            "errors": [int(v // 10) for _, v in rows],
            "latency_p50_ms": [v / 2 for _, v in rows],
            "latency_p95_ms": [float(v) for _, v in rows],
        }
    )


def hourly(values, start=T, endpoint="/pay"):
    return pd.DataFrame(
        {
            "hour_start": pd.Series(
                [start + i * H for i in range(len(values))], dtype="datetime64[us, UTC]"
            ),
            "service": "checkout",
            "endpoint": endpoint,
            "requests": values,
        }
    )


P95 = rule_from(
    {
        "name": "checkout p95",
        "metric": "latency_p95_ms",
        "service": "checkout",
        "above": 800,
        "for": "10m",
        "severity": "high",
    }
)


def test_a_breach_exactly_as_long_as_for_fires_on_its_last_minute():
    steps = rule_steps(P95, minutely([100] + [900] * 10 + [100]))
    assert steps["run"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]
    assert steps["firing"].tolist() == [False] * 10 + [True, False]


def test_a_breach_one_minute_shorter_than_for_gives_nothing():
    frame = minutely([100] + [900] * 9 + [100])
    assert not rule_steps(P95, frame)["firing"].any()
    assert rule_anomalies([P95], frame, hourly([]), hours=[T]).empty
    assert rule_stretches(P95, frame).empty


def test_the_threshold_itself_does_not_breach_and_a_missing_minute_breaks_the_stretch():
    at_threshold = minutely([800] * 15)
    assert not rule_steps(P95, at_threshold)["firing"].any()
    gap = minutely([900] * 6 + [None] + [900] * 6)
    assert not rule_steps(P95, gap)["firing"].any()


def test_anomaly_rows_carry_the_worst_firing_value_of_each_hour_and_the_threshold():
    # 10:50..11:14 above 800: firing from 10:59 (the tenth minute), through 11:14
    values = [100] * 50 + [900] * 9 + [1240] + [1000] * 15 + [100]
    rows = rule_anomalies([P95], minutely(values), hourly([]), hours=[T, T + H])
    assert rows[["hour_start", "service", "endpoint", "metric"]].values.tolist() == [
        [T, "checkout", "/pay", "rule:checkout p95"],
        [T + H, "checkout", "/pay", "rule:checkout p95"],
    ]
    assert rows["actual"].tolist() == [1240.0, 1000.0]
    assert rows["yhat"].tolist() == rows["yhat_lower"].tolist() == [800.0, 800.0]
    assert rows["yhat_upper"].tolist() == [800.0, 800.0]
    assert set(rows["kind"]) == set(rows["method"]) == {"rule"}
    assert rows["severity"].tolist() == ["high", "high"]
    assert rows["direction"].tolist() == ["spike", "spike"]
    assert rows["score"].tolist() == [1.0, 1.0] and rows["surprise"].tolist() == [0.0, 0.0]


def test_an_hour_is_judged_on_the_data_up_to_its_end_so_hour_by_hour_equals_all_at_once():
    # the stretch starts at 10:55 and reaches 10 minutes at 11:04: hour 10 never fires
    values = [100] * 55 + [900] * 30 + [100] * 40
    frame = minutely(values)
    together = rule_anomalies([P95], frame, hourly([]), hours=[T, T + H, T + 2 * H])
    by_hour = pd.concat(
        [
            rule_anomalies(
                [P95],
                frame[
                    (frame["minute_start"] >= hour - P95.hold) & (frame["minute_start"] < hour + H)
                ],
                hourly([]),
                hours=[hour],
            )
            for hour in (T, T + H, T + 2 * H)
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(by_hour, together)
    assert together["hour_start"].tolist() == [T + H]


def test_below_and_scope_globs_and_error_rate_from_the_minutely_counts():
    rule = rule_from(
        {"name": "errors", "metric": "error_rate", "endpoint": "/p*", "above": 0.05, "for": "3m"}
    )
    frame = pd.concat(
        [minutely([100, 900, 900, 900]), minutely([900] * 4, endpoint="/other")],
        ignore_index=True,
    )
    rows = rule_anomalies([rule], frame, hourly([]), hours=[T])
    # errors = value // 10 of 100 requests: 0.9 error rate on /pay's minutes 1..3 only
    assert rows[["endpoint", "actual", "severity"]].values.tolist() == [["/pay", 0.9, "medium"]]
    low = rule_from(
        {"name": "quiet", "metric": "requests", "below": 5, "for": "2h", "severity": "low"}
    )
    rows = rule_anomalies([low], minutely([]), hourly([10, 3, 2, 1, 7]), hours=[T + 2 * H])
    assert rows[["hour_start", "actual", "direction"]].values.tolist() == [[T + 2 * H, 2.0, "drop"]]


def test_a_stretch_names_how_long_it_held_and_its_worst_value_in_the_incident_cause():
    values = [100] * 50 + [900] * 9 + [1240] + [1000] * 15 + [100]
    frame = minutely(values)
    stretches = rule_stretches(P95, frame)
    assert stretches[["start", "end", "minutes", "worst"]].values.tolist() == [
        [T + 50 * M, T + 75 * M, 25, 1240.0]
    ]
    found = incidents(
        rule_anomalies([P95], frame, hourly([]), hours=[T, T + H]),
        newest_hour=T + H,
        rule_stretches=stretches,
    )
    assert found["probable_cause"].tolist() == [
        "rule 'checkout p95': latency_p95_ms 1,240 above 800 for 25 min"
    ]
    assert found[["peak_severity", "metrics", "hours"]].values.tolist() == [
        ["high", "rule:checkout p95", 2]
    ]
    without = incidents(rule_anomalies([P95], frame, hourly([]), hours=[T, T + H]))
    assert without["probable_cause"].tolist() == ["rule 'checkout p95': value 1,240 above 800"]


def test_durations():
    assert parse_duration("10m") == pd.Timedelta(minutes=10)
    assert parse_duration("2h") == pd.Timedelta(hours=2)
    assert parse_duration("1h30m") == pd.Timedelta(minutes=90)
    for bad in ("", "10", "0m", "10s", "m", 10):
        with pytest.raises(RuleError):
            parse_duration(bad)
