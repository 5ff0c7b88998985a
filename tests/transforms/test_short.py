"""Minute-grain episodes: an endpoint's minutes judged against its hour's expected level, a run
of 5 or more deviating minutes flagged as an anomaly of kind short."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.forecasts import Anomaly
from tests.helpers import examples
from transforms.incidents import incidents
from transforms.short import (
    CONTEXT_HOURS,
    MIN_RUN,
    run_lengths,
    short_anomalies,
)

DAY_START = pd.Timestamp("2026-11-02T00:00:00Z")
SCORED = DAY_START + pd.Timedelta(hours=CONTEXT_HOURS)  # the hour judged
M = pd.Timedelta(minutes=1)
H = pd.Timedelta(hours=1)
MINUTES = (CONTEXT_HOURS + 2) * 60  # the context, the scored hour and the one after


def traffic(rate=60.0, seed=1, error_rate=0.01, p95=200.0):
    """Per-minute arrays over the context and the two hours after it: Poisson requests at
    `rate` a minute, binomial errors, a p95 with a small lognormal spread."""
    rng = np.random.default_rng(seed)
    requests = rng.poisson(rate, MINUTES).astype(float)
    errors = rng.binomial(requests.astype(int), error_rate).astype(float)
    latency = p95 * np.exp(0.05 * rng.standard_normal(MINUTES))
    return requests, errors, latency


def minutely(requests, errors, latency, endpoint="/pay", service="checkout"):
    """endpoint_minutely rows: a minute with no request has no row."""
    keep = requests > 0
    return pd.DataFrame(
        {
            "minute_start": pd.date_range(DAY_START, periods=MINUTES, freq="min")[keep],
            "service": service,
            "endpoint": endpoint,
            "requests": requests[keep].astype(int),
            "errors": errors[keep].astype(int),
            "latency_p50_ms": latency[keep] / 2,
            "latency_p95_ms": latency[keep],
        }
    )


def forecast(hour=SCORED, requests=3600.0, error_rate=0.01, p95=200.0, endpoint="/pay"):
    """`forecasts` rows of one hour (only the columns the detector reads matter)."""
    metrics = ["requests", "error_rate", "latency_p95_ms"]
    yhat = [requests, error_rate, p95]
    return pd.DataFrame(
        {
            "hour_start": [hour] * 3,
            "service": "checkout",
            "endpoint": endpoint,
            "metric": metrics,
            "yhat": yhat,
            "yhat_lower": [v * 0.8 for v in yhat],
            "yhat_upper": [v * 1.2 for v in yhat],
        }
    )


def minute(hour, m):
    """Index of minute `m` of the hour `hour` hours after SCORED."""
    return CONTEXT_HOURS * 60 + hour * 60 + m


def judged(requests, errors, latency, expected=None, hours=(SCORED,)):
    return short_anomalies(
        minutely(requests, errors, latency),
        forecast() if expected is None else expected,
        hours=list(hours),
    )


def test_a_five_minute_outage_in_a_busy_hour_is_a_short_drop():
    requests, errors, latency = traffic()
    requests[minute(0, 20) : minute(0, 25)] = 0  # five minutes without a row
    found = judged(requests, errors, latency)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["metric"] == "short:requests"
    assert row["kind"] == "short" and row["method"] == "minutely"
    assert row["direction"] == "drop"
    assert row["actual"] == 0.0
    # judged against the lower of the forecast's 60 a minute and the hour's own median minute
    assert 55.0 <= row["yhat"] <= 60.0
    assert row["score"] >= 0.9 and row["surprise"] > 4.3
    assert row["severity"] in {"low", "medium", "high"}
    Anomaly.validate(found)


def test_a_four_minute_outage_is_not_flagged():
    requests, errors, latency = traffic()
    requests[minute(0, 20) : minute(0, 24)] = 0
    assert judged(requests, errors, latency).empty


def test_a_six_minute_tripling_is_a_short_spike():
    requests, errors, latency = traffic()
    requests[minute(0, 40) : minute(0, 46)] *= 3
    found = judged(requests, errors, latency)
    assert list(found["metric"]) == ["short:requests"]
    assert found.iloc[0]["direction"] == "spike"
    assert 150 < found.iloc[0]["actual"] < 210


def test_a_five_minute_error_burst_is_flagged():
    requests, errors, latency = traffic()
    burst = slice(minute(0, 10), minute(0, 15))
    errors[burst] = np.floor(requests[burst] * 0.4)
    found = judged(requests, errors, latency)
    assert list(found["metric"]) == ["short:error_rate"]
    row = found.iloc[0]
    assert row["direction"] == "spike"
    assert abs(row["actual"] - 0.4) < 0.02
    assert row["yhat"] >= 0.01


def test_a_five_minute_p95_jump_is_flagged():
    requests, errors, latency = traffic()
    latency[minute(0, 30) : minute(0, 35)] *= 3
    found = judged(requests, errors, latency)
    assert list(found["metric"]) == ["short:latency_p95_ms"]
    assert found.iloc[0]["direction"] == "spike"
    assert 540 < found.iloc[0]["actual"] < 660


def test_a_quiet_endpoint_with_missing_minutes_is_not_flagged():
    # a few requests an hour: most minutes have none, and 20 empty minutes in a row are routine
    requests, errors, latency = traffic(rate=0.1)
    requests[minute(0, 0) : minute(0, 20)] = 0
    expected = forecast(requests=6.0)
    assert judged(requests, errors, latency, expected).empty


def test_an_hour_whose_forecast_expects_the_drop_is_not_flagged():
    # the night: the hour runs at a tenth of the day's traffic, and its forecast says so
    requests, errors, latency = traffic()
    night = slice(minute(0, 0), minute(1, 0))
    requests[night] = np.random.default_rng(2).poisson(6.0, 60)
    assert judged(requests, errors, latency, forecast(requests=360.0)).empty


def test_an_hour_whose_whole_level_is_off_is_left_to_the_hourly_detector():
    # every minute at half the forecast: a deviation of the hour, not a short episode
    requests, errors, latency = traffic(rate=30.0)
    assert judged(requests, errors, latency, forecast(requests=3600.0)).empty


def test_an_outage_across_the_hour_boundary_is_flagged_in_the_hour_it_ends_in():
    requests, errors, latency = traffic()
    requests[minute(0, -3) : minute(0, 3)] = 0  # 3 minutes before the hour, 3 in it
    found = judged(requests, errors, latency)
    assert list(found["metric"]) == ["short:requests"]
    assert found.iloc[0]["hour_start"] == SCORED


def test_an_episode_the_day_before_already_held_is_routine():
    requests, errors, latency = traffic()
    requests[minute(0, 20) : minute(0, 30)] *= 3
    requests[minute(-5, 10) : minute(-5, 20)] *= 3.5  # a bigger one five hours earlier
    assert judged(requests, errors, latency).empty


def test_scoring_hour_by_hour_gives_the_rows_of_scoring_them_together():
    requests, errors, latency = traffic()
    requests[minute(0, 20) : minute(0, 26)] = 0
    requests[minute(1, 50) : minute(1, 58)] *= 3
    both = pd.concat([forecast(), forecast(hour=SCORED + H)], ignore_index=True)
    frame = minutely(requests, errors, latency)
    together = short_anomalies(frame, both, hours=[SCORED, SCORED + H])
    one_by_one = pd.concat(
        [
            short_anomalies(frame[frame["minute_start"] < hour + H], both, hours=[hour])
            for hour in (SCORED, SCORED + H)
        ],
        ignore_index=True,
    )
    assert list(together["direction"]) == ["drop", "spike"]
    pd.testing.assert_frame_equal(together, one_by_one)


def test_endpoints_are_judged_each_on_its_own():
    requests, errors, latency = traffic()
    quiet = requests.copy()
    requests[minute(0, 5) : minute(0, 12)] = 0
    frame = pd.concat(
        [
            minutely(requests, errors, latency, endpoint="/pay"),
            minutely(quiet, errors, latency, endpoint="/cart"),
        ],
        ignore_index=True,
    )
    expected = pd.concat([forecast(endpoint="/pay"), forecast(endpoint="/cart")])
    found = short_anomalies(frame, expected, hours=[SCORED])
    assert list(found["endpoint"]) == ["/pay"]


def test_no_forecast_no_judgement():
    requests, errors, latency = traffic()
    requests[minute(0, 20) : minute(0, 30)] = 0
    assert judged(requests, errors, latency, forecast().iloc[:0]).empty


def test_a_short_episode_opens_an_incident_named_by_its_cause():
    requests, errors, latency = traffic()
    requests[minute(0, 20) : minute(0, 27)] = 0
    found = incidents(judged(requests, errors, latency), newest_hour=SCORED)
    assert len(found) == 1
    incident = found.iloc[0]
    assert incident["metrics"] == "short:requests"
    assert incident["start"] == SCORED and incident["hours"] == 1
    assert "requests 0 a minute" in incident["probable_cause"]
    assert "expected (short drop)" in incident["probable_cause"]


def naive_run_lengths(held):
    out = []
    for row in held:
        count, lengths = 0, []
        for value in row:
            count = count + 1 if value else 0
            lengths.append(count)
        out.append(lengths)
    return np.array(out)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=12, max_size=12), min_size=1, max_size=5))
def test_run_lengths_match_counting_minute_by_minute(rows):
    held = np.array(rows, dtype=bool)
    assert (run_lengths(held) == naive_run_lengths(held)).all()


@settings(max_examples=examples(40), deadline=None)
@given(
    length=st.integers(min_value=0, max_value=14),
    start=st.integers(min_value=0, max_value=45),
    spike=st.booleans(),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_a_busy_hour_is_flagged_exactly_when_the_injected_run_lasts_five_minutes(
    length, start, spike, seed
):
    # the oracle is the injection itself: on a busy Poisson endpoint a full outage or a
    # quadrupling is unmistakable minute by minute, so only its length decides
    requests, errors, latency = traffic(rate=100.0, seed=seed)
    window = slice(minute(0, start), minute(0, start + length))
    requests[window] = requests[window] * 4 if spike else 0
    found = judged(requests, errors, latency, forecast(requests=6000.0))
    assert (len(found) == 1) == (length >= MIN_RUN)
    if length >= MIN_RUN:
        assert found.iloc[0]["direction"] == ("spike" if spike else "drop")


def test_totals_are_not_judged_minute_by_minute():
    # a service's total (endpoint "*") has no minutes of its own: no outage is read into it
    requests, errors, latency = traffic()
    expected = pd.concat([forecast(), forecast(endpoint="*")], ignore_index=True)
    assert judged(requests, errors, latency, expected).empty
