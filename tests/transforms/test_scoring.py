"""transforms.forecast.score: the flows' scoring with context hours, totals, severity,
availability and holidays."""

import numpy as np
import pandas as pd
import pytest

from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast import (
    CONTEXT_POINTS,
    TOTAL,
    ForecastOptions,
    anomalies,
    day_type,
    fit_models,
    metric_series,
    score,
    series_candidates,
    with_totals,
)
from transforms.metrics import hourly_tables

START = pd.Timestamp("2024-01-08", tz="UTC")  # a Monday
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


def endpoint(
    days: int, *, service="checkout", endpoint="/orders", peak=300.0, seed=0, start=START
) -> pd.DataFrame:
    """endpoint_hourly rows of a healthy endpoint with a daily cycle."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, periods=days * 24, freq="h")
    cycle = 0.5 - 0.5 * np.cos(2 * np.pi * (hours.hour.to_numpy() - 3) / 24)
    requests = rng.poisson(peak * (0.2 + 0.8 * cycle))
    errors = rng.binomial(requests, 0.02)
    p95 = 120 * np.exp(0.2 * cycle + rng.normal(0, 0.3, len(hours)) / np.sqrt(requests + 1))
    return pd.DataFrame(
        {
            EH.hour_start: hours,
            EH.service: service,
            EH.endpoint: endpoint,
            EH.requests: requests,
            EH.error_rate: errors / np.maximum(requests, 1),
            EH.latency_p95_ms: p95,
        }
    )


def models_of(frame: pd.DataFrame, day: pd.Timestamp, options=None) -> dict:
    hours = pd.date_range(day - 28 * DAY, day, freq="h", inclusive="left")
    history = metric_series(frame[frame[EH.hour_start] < day], hours=hours)
    return fit_models(history, trained_through=day, options=options or ForecastOptions())


def actuals(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return metric_series(frame, hours=pd.date_range(start, end, freq="h", inclusive="left"))


@pytest.fixture(scope="module")
def shifted() -> tuple[pd.DataFrame, dict, dict]:
    """Ten days of one endpoint whose traffic triples from day 9 at 18:00 on; the models of
    days 9 and 10."""
    frame = endpoint(10, seed=5)
    after = frame[EH.hour_start] >= START + 8 * DAY + 18 * HOUR
    frame.loc[after, EH.requests] *= 3
    return frame, models_of(frame, START + 8 * DAY), models_of(frame, START + 9 * DAY)


def test_scoring_hour_by_hour_gives_the_rows_of_scoring_the_day(shifted):
    frame, day9, day10 = shifted
    day = START + 9 * DAY
    hours = pd.date_range(day, periods=24, freq="h")
    seen = actuals(frame, day - CONTEXT_POINTS * HOUR, day + DAY)
    whole, whole_anomalies = score(day10, seen, hours=hours, previous=day9)
    assert len(whole) == 24 * 3 and whole[Forecast.hour_start].isin(hours).all()
    parts = [score(day10, seen, hours=hours[i : i + 1], previous=day9) for i in range(24)]
    pd.testing.assert_frame_equal(pd.concat([p[0] for p in parts], ignore_index=True), whole)
    pd.testing.assert_frame_equal(
        pd.concat([p[1] for p in parts], ignore_index=True), whole_anomalies
    )
    # and the day's rows of scoring two days at once
    both, _ = score(
        day10,
        actuals(frame, day - DAY - CONTEXT_POINTS * HOUR, day + DAY),
        hours=pd.date_range(day - DAY, periods=48, freq="h"),
        previous=day9,
    )
    pd.testing.assert_frame_equal(
        both[both[Forecast.hour_start] >= day].reset_index(drop=True), whole
    )


def test_a_shift_seen_in_the_context_hours_is_followed_after_midnight(shifted):
    frame, day9, day10 = shifted
    day = START + 9 * DAY
    night = pd.date_range(day, periods=6, freq="h")
    seen = actuals(frame, day - CONTEXT_POINTS * HOUR, day + DAY)
    with_context, _ = score(day10, seen, hours=night, previous=day9)
    without, _ = score(day10, seen, hours=night)  # no model served the hours before midnight
    requests = Forecast.metric
    flagged_with = with_context[(with_context[requests] == EH.requests)][Forecast.is_anomaly]
    flagged_without = without[(without[requests] == EH.requests)][Forecast.is_anomaly]
    assert flagged_without.sum() >= 3  # the tripled night is far above the model's level
    assert flagged_with.sum() == 0  # the six shifted hours before midnight set the level


def test_hours_before_the_model_with_no_previous_model_get_no_row(shifted):
    frame, _, day10 = shifted
    day = START + 9 * DAY
    hours = pd.date_range(day - 2 * HOUR, periods=4, freq="h")
    got, _ = score(day10, actuals(frame, day - 12 * HOUR, day + 2 * HOUR), hours=hours)
    assert sorted(got[Forecast.hour_start].unique()) == list(hours[2:])


def forecast_rows(scores, actual=300.0, metric=EH.latency_p95_ms, start=START):
    hours = pd.date_range(start, periods=len(scores), freq="h")
    return Forecast.validate(
        pd.DataFrame(
            {
                Forecast.hour_start: hours,
                Forecast.service: "checkout",
                Forecast.endpoint: "/orders",
                Forecast.metric: metric,
                Forecast.actual: actual,
                Forecast.yhat: 100.0,
                Forecast.yhat_lower: 50.0,
                Forecast.yhat_upper: 200.0,
                Forecast.score: scores,
                Forecast.surprise: [4.3 * s for s in scores],
                Forecast.is_anomaly: [s >= 0.9 for s in scores],
                Forecast.method: "prophet",
            }
        )
    )


def test_a_third_anomalous_hour_in_a_row_is_one_severity_level_higher():
    got = anomalies(forecast_rows([0.92, 0.92, 0.92, 0.92, 0.0, 0.92, 0.995, 0.9995]))
    assert list(got[Anomaly.severity]) == [
        "low", "low", "medium", "medium", "low", "high", "critical",
    ]  # fmt: skip


def test_a_run_changes_side_or_breaks_on_a_gap():
    rows = forecast_rows([0.92] * 4)
    rows.loc[2, Forecast.actual] = 10.0  # a drop between spikes
    assert list(anomalies(rows)[Anomaly.severity]) == ["low"] * 4
    gap = forecast_rows([0.92] * 4).drop(index=1).reset_index(drop=True)
    assert list(anomalies(gap)[Anomaly.severity]) == ["low"] * 3


def test_no_request_where_traffic_was_expected_is_an_availability_anomaly():
    rows = forecast_rows([0.95, 0.95], actual=0.0, metric=EH.requests)
    rows.loc[1, Forecast.actual] = 20.0
    got = anomalies(rows)
    assert list(got[Anomaly.kind]) == ["availability", "deviation"]
    assert list(got[Anomaly.direction]) == ["drop", "drop"]


def requests_frame(seed=3) -> pd.DataFrame:
    """Two hours of requests: service a with two endpoints, service b with one."""
    rng = np.random.default_rng(seed)
    size = 3000
    return pd.DataFrame(
        {
            "ts": START + pd.to_timedelta(rng.integers(0, 7200, size), unit="s"),
            "service": rng.choice(["a", "a", "b"], size),
            "endpoint": rng.choice(["/x", "/y"], size),
            "status_code": rng.choice([200, 200, 200, 404, 500], size),
            "latency_ms": rng.lognormal(4, 1, size),
        }
    )


def test_totals_match_sql_over_the_requests():
    import duckdb

    events = requests_frame()
    tables = hourly_tables(events)
    metrics = (EH.requests, EH.error_rate, EH.latency_p95_ms, EH.latency_avg_ms)
    got = with_totals(tables["endpoint_hourly"], tables["latency_sketches"], metrics=metrics)
    con = duckdb.connect()
    con.register("r", events)
    expected = con.sql(
        """
        SELECT date_trunc('hour', ts) AS hour_start, coalesce(service, '*') AS service,
               count(*) AS requests, avg((status_code >= 400)::int) AS error_rate,
               quantile_cont(latency_ms, 0.95) AS p95, avg(latency_ms) AS avg_ms
        FROM r GROUP BY GROUPING SETS ((1, r.service), (1)) ORDER BY 1, 2
        """
    ).df()
    totals = got[got[EH.endpoint] == TOTAL].sort_values([EH.hour_start, EH.service])
    assert len(totals) == len(expected) == 2 * 3
    assert list(totals[EH.service]) == list(expected["service"])
    assert list(totals[EH.requests]) == list(expected["requests"])
    np.testing.assert_allclose(totals[EH.error_rate], expected["error_rate"], rtol=1e-12)
    np.testing.assert_allclose(totals[EH.latency_avg_ms], expected["avg_ms"], rtol=1e-9)
    np.testing.assert_allclose(totals[EH.latency_p95_ms], expected["p95"], rtol=0.01)
    # the endpoint rows are kept as they were
    assert len(got[got[EH.endpoint] != TOTAL]) == len(tables["endpoint_hourly"])


def test_totals_that_only_repeat_another_series_are_not_modelled():
    one_service = pd.concat(
        [endpoint(4, endpoint="/a", seed=1), endpoint(4, endpoint="/b", seed=2)]
    )
    two_services = pd.concat([endpoint(4, service="s1", seed=1), endpoint(4, service="s2", seed=2)])
    single = endpoint(4, seed=1)
    day = START + 4 * DAY
    keys = {}
    for name, frame in (("one", one_service), ("two", two_services), ("single", single)):
        history = metric_series(
            with_totals(frame, metrics=(EH.requests, EH.error_rate)),
            hours=pd.date_range(START, day, freq="h", inclusive="left"),
            metrics=(EH.requests, EH.error_rate),
        )
        options = ForecastOptions(metrics=(EH.requests, EH.error_rate))
        models = fit_models(history, trained_through=day, options=options)
        keys[name] = {(s, e) for s, e, _ in models}
        assert series_candidates(history, options.metrics) == len(models)
    assert keys["one"] == {("checkout", "/a"), ("checkout", "/b"), (TOTAL, TOTAL)}
    assert keys["two"] == {("s1", "/orders"), ("s2", "/orders"), (TOTAL, TOTAL)}
    assert keys["single"] == {("checkout", "/orders")}


def test_public_holidays_are_their_own_day_type():
    days = pd.date_range("2024-07-03", periods=4, freq="D", tz="UTC")  # Wed .. Sat
    assert list(day_type(days)) == ["weekday", "weekday", "weekday", "weekend"]
    assert list(day_type(days, "US")) == ["weekday", "holiday", "weekday", "weekend"]
    with pytest.raises(ValueError, match="'XX' is not a country code"):
        ForecastOptions(holidays_country="XX")


def test_an_unseen_holiday_gets_a_wider_interval_than_a_weekday():
    # two weeks after Juneteenth up to Independence Day: no holiday in the history
    start = pd.Timestamp("2024-06-20", tz="UTC")
    frame = endpoint(15, seed=2, start=start)
    day = start + 14 * DAY
    hours = pd.date_range(day, periods=24, freq="h")
    seen = actuals(frame, day - CONTEXT_POINTS * HOUR, day + DAY)
    width = {}
    for country in ("", "US"):
        options = ForecastOptions(holidays_country=country)
        got, _ = score(models_of(frame, day, options), seen, hours=hours, options=options)
        rows = got[got[Forecast.metric] == EH.requests]
        width[country] = (rows[Forecast.yhat_upper] - rows[Forecast.yhat_lower]).mean()
    assert width["US"] > 1.3 * width[""]


def test_a_sparse_counters_routine_one_is_not_rare():
    from transforms.forecast.calibration import log_sampling_tail

    # an hourly counter that is 0, and 1 in one hour of 20: on the log scale its mean is
    # 0.05 * log(2) with sd log(2) * sqrt(0.05 * 0.95); the Poisson mean that implies is close
    # to the 0.05 it really has, and a 1 has the chance of about one hour in 20
    hours = np.r_[np.zeros(95), np.ones(5)]
    logs = np.log1p(hours)
    got = log_sampling_tail(
        "count", np.array([1.0]), np.array([logs.mean()]), None, np.array([True]), None,
        sigma=logs.std(),
    )  # fmt: skip
    assert np.exp(got[0]) == pytest.approx(0.05, rel=0.15)
    median_only = log_sampling_tail(
        "count", np.array([1.0]), np.array([logs.mean()]), None, np.array([True]), None
    )
    assert median_only[0] < got[0]  # the back-transformed log mean alone makes it rarer
