"""transforms.forecast: series, model scales, cold start, scoring, anomalies."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from prophet.serialize import model_from_json

from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast import (
    METRICS,
    ForecastOptions,
    anomalies,
    fit_models,
    forecasts,
    from_model_scale,
    metric_series,
    to_model_scale,
)

START = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday
DAY = pd.Timedelta(days=1)
OPTIONS = ForecastOptions()


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def day_hours(day: int, start: pd.Timestamp = START) -> pd.DatetimeIndex:
    return pd.date_range(start + day * DAY, periods=24, freq="h")


def hourly(
    days: int,
    *,
    endpoint: str = "/api/orders",
    service: str = "checkout",
    peak: float = 200.0,
    error_share: float = 0.02,
    median_ms: float = 120.0,
    jitter: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """endpoint_hourly rows of a healthy endpoint: a daily cycle, Poisson traffic, binomial
    errors, log-normal p95; `jitter` adds extra-sampling (overdispersed) noise to all three."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(START, periods=days * 24, freq="h")
    cycle = 0.5 - 0.5 * np.cos(2 * np.pi * (hours.hour.to_numpy() - 3) / 24)
    wobble = np.exp(jitter * rng.standard_normal((3, len(hours))))
    requests = rng.poisson(peak * (0.2 + 0.8 * cycle) * wobble[0])
    errors = rng.binomial(requests, np.minimum(error_share * wobble[1], 1.0))
    p95 = median_ms * np.exp(0.2 * cycle + rng.normal(0, 0.3, len(hours)) / np.sqrt(requests + 1))
    frame = pd.DataFrame(
        {
            EH.hour_start: hours,
            EH.service: service,
            EH.endpoint: endpoint,
            EH.requests: requests,
            EH.error_rate: errors / np.maximum(requests, 1),
            EH.latency_p95_ms: p95 * wobble[2],
        }
    )
    return frame[frame[EH.requests] > 0].reset_index(drop=True)


def series_of(frame: pd.DataFrame, days: int) -> pd.DataFrame:
    return metric_series(frame, hours=pd.date_range(START, periods=days * 24, freq="h"))


def score_day(frame: pd.DataFrame, day: int, options: ForecastOptions = OPTIONS) -> pd.DataFrame:
    """Fit on everything before `day`, score its 24 hours (as the flows do)."""
    series = series_of(frame, day + 1)
    trained_through = START + day * DAY
    models = fit_models(
        series[series[EH.hour_start] < trained_through],
        trained_through=trained_through,
        options=options,
    )
    hours = day_hours(day)
    actuals = series[series[EH.hour_start].isin(hours)]
    return forecasts(models, actuals, hours=hours, options=options)


def row(frame: pd.DataFrame, hour: pd.Timestamp, metric: str) -> pd.Series:
    hit = frame[(frame[Forecast.hour_start] == hour) & (frame[Forecast.metric] == metric)]
    assert len(hit) == 1
    return hit.iloc[0]


@pytest.fixture(scope="module")
def week() -> pd.DataFrame:
    """A healthy endpoint's first eight days."""
    return hourly(8, seed=1)


@pytest.fixture(scope="module")
def week_scored(week: pd.DataFrame) -> pd.DataFrame:
    """Day 8 scored by Prophet models of the seven days before it."""
    return score_day(week, 7)


# --- metric_series ---------------------------------------------------------------------------


def test_metric_series_zero_fills_requests_and_leaves_other_metrics_undefined():
    given = pd.DataFrame(
        {
            EH.hour_start: [ts("2024-01-01 00:00"), ts("2024-01-01 02:00"), ts("2024-01-01 01:00")],
            EH.service: ["checkout", "checkout", "search"],
            EH.endpoint: ["/orders", "/orders", "/search"],
            EH.requests: [10, 4, 7],
            EH.error_rate: [0.1, 0.0, 0.5],
            EH.latency_p95_ms: [120.0, 80.0, 30.0],
        }
    )
    hours = pd.date_range(ts("2024-01-01 00:00"), periods=3, freq="h")

    got = metric_series(given, hours=hours, metrics=(EH.requests, EH.error_rate))

    h0, h1, h2 = hours
    nan = np.nan
    expected = pd.DataFrame(
        {
            EH.hour_start: [h0, h1, h2, h0, h1, h2] * 2,
            EH.service: ["checkout"] * 6 + ["search"] * 6,
            EH.endpoint: ["/orders"] * 6 + ["/search"] * 6,
            "metric": ["error_rate"] * 3 + ["requests"] * 3 + ["error_rate"] * 3 + ["requests"] * 3,
            "value": [0.1, nan, 0.0, 10, 0, 4, nan, 0.5, nan, 0, 7, 0],
        }
    )
    expected[EH.hour_start] = expected[EH.hour_start].dt.as_unit("us")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert str(got[EH.hour_start].dtype) == "datetime64[us, UTC]"


def test_metric_series_keeps_only_the_requested_hours():
    given = hourly(2)
    got = metric_series(given, hours=day_hours(1))
    assert set(got[EH.hour_start]) == set(day_hours(1))
    assert len(got) == 24 * len(METRICS)


def test_metric_series_of_nothing_is_empty():
    got = metric_series(hourly(1).iloc[:0], hours=day_hours(0))
    assert got.empty
    assert list(got.columns) == [EH.hour_start, EH.service, EH.endpoint, "metric", "value"]


# --- model scales ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "values"),
    [
        (EH.requests, [0.0, 1.0, 17.0, 12_345.0]),
        (EH.latency_p95_ms, [0.0, 0.4, 250.0, 98_000.0]),
        (EH.error_rate, [0.0, 0.001, 0.5, 0.97, 1.0]),
    ],
)
def test_model_scales_round_trip(metric, values):
    np.testing.assert_allclose(from_model_scale(metric, to_model_scale(metric, values)), values)


def test_model_scales_keep_metrics_in_their_domain():
    wild = np.array([-50.0, -0.1, 0.0, 2.0, 50.0])
    assert (from_model_scale(EH.requests, wild) >= 0).all()
    assert (from_model_scale(EH.latency_p95_ms, wild) >= 0).all()
    rates = from_model_scale(EH.error_rate, wild)
    assert ((rates >= 0) & (rates <= 1)).all()


# --- fitting ---------------------------------------------------------------------------------


def test_nothing_to_learn_from_gives_no_models_and_an_empty_valid_forecast():
    empty = series_of(hourly(1).iloc[:0], 1)
    assert fit_models(empty, trained_through=START, options=OPTIONS) == {}
    # Day one: rows exist, but none before trained_through.
    assert fit_models(series_of(hourly(1), 1), trained_through=START, options=OPTIONS) == {}
    got = forecasts({}, series_of(hourly(1), 1), hours=day_hours(0), options=OPTIONS)
    assert got.empty
    assert list(got.columns) == list(Forecast.to_schema().columns)


def test_fit_ignores_hours_at_or_after_trained_through_and_before_the_window():
    options = ForecastOptions(training_days=2, min_history_days=10)  # baseline: fast
    frame = hourly(4)
    series = series_of(frame, 4)
    trained_through = START + 3 * DAY
    inside = series[
        (series[EH.hour_start] >= START + DAY) & (series[EH.hour_start] < trained_through)
    ]
    assert untimed(fit_models(series, trained_through=trained_through, options=options)) == (
        untimed(fit_models(inside, trained_through=trained_through, options=options))
    )


def untimed(models: dict) -> dict:
    """Models without their fit time (the one part of a model that differs run to run)."""
    return {
        key: {k: v for k, v in json.loads(value).items() if k != "fit_seconds"}
        for key, value in models.items()
    }


def test_quiet_endpoints_are_skipped():
    quiet = hourly(2, endpoint="/rare", peak=1.0, seed=3)
    models = fit_models(series_of(quiet, 2), trained_through=START + 2 * DAY, options=OPTIONS)
    assert models == {}


def test_models_are_json_with_a_serialised_prophet_inside(week: pd.DataFrame):
    series = series_of(week, 7)
    models = fit_models(series, trained_through=START + 7 * DAY, options=OPTIONS)
    assert set(models) == {("checkout", "/api/orders", metric) for metric in METRICS}
    assert logging.getLogger("cmdstanpy").level == logging.WARNING
    spec = json.loads(models[("checkout", "/api/orders", EH.requests)])
    assert spec["method"] == "prophet"
    assert model_from_json(spec["prophet"]).history is not None


# --- forecasts -------------------------------------------------------------------------------


def test_forecast_intervals_are_ordered_and_stay_in_each_metrics_domain(week_scored):
    got = week_scored
    assert len(got) == 24 * len(METRICS)
    assert set(got[Forecast.method]) == {"prophet"}
    assert (got[Forecast.yhat_lower] <= got[Forecast.yhat]).all()
    assert (got[Forecast.yhat] <= got[Forecast.yhat_upper]).all()
    assert (got[Forecast.yhat_lower] >= 0).all()
    rates = got[got[Forecast.metric] == EH.error_rate]
    assert (rates[Forecast.yhat_upper] <= 1).all()
    assert got[Forecast.score].between(0, 1).all()


def test_a_healthy_day_raises_no_flags(week_scored):
    assert not week_scored[Forecast.is_anomaly].any()


def test_cold_start_uses_the_baseline_and_stays_quiet_on_a_steady_series():
    frame = hourly(3, seed=2)
    for day in (1, 2):
        got = score_day(frame, day)
        assert len(got) == 24 * len(METRICS)
        assert set(got[Forecast.method]) == {"baseline"}
        assert (got[Forecast.yhat_lower] <= got[Forecast.yhat]).all()
        assert (got[Forecast.yhat] <= got[Forecast.yhat_upper]).all()
        assert not got[Forecast.is_anomaly].any()


def test_spikes_bursts_and_an_outage_are_flagged_in_the_right_direction(week: pd.DataFrame):
    spike, outage, burst = ts("2024-01-08 12:00"), ts("2024-01-08 15:00"), ts("2024-01-08 18:00")
    frame = week.copy()
    frame.loc[frame[EH.hour_start] == spike, EH.latency_p95_ms] *= 4
    frame.loc[frame[EH.hour_start] == burst, EH.error_rate] = 0.3
    frame = frame[frame[EH.hour_start] != outage]  # no request at all: no row

    got = score_day(frame, 7)
    found = anomalies(got)

    flagged = {(r.hour_start, r.metric): r.direction for r in found.itertuples()}
    assert flagged == {
        (spike, EH.latency_p95_ms): "spike",
        (outage, EH.requests): "drop",
        (burst, EH.error_rate): "spike",
    }
    assert row(got, outage, EH.requests)[Forecast.actual] == 0
    # No traffic: latency and error rate are undefined there, never anomalous.
    assert np.isnan(row(got, outage, EH.latency_p95_ms)[Forecast.actual])
    assert row(got, outage, EH.error_rate)[Forecast.score] == 0


def test_a_whole_day_of_outage_is_scored_even_without_actual_rows(week: pd.DataFrame):
    series = series_of(week, 7)
    models = fit_models(series, trained_through=START + 7 * DAY, options=OPTIONS)
    got = forecasts(models, series.iloc[:0], hours=day_hours(7), options=OPTIONS)
    requests = got[got[Forecast.metric] == EH.requests]
    assert (requests[Forecast.actual] == 0).all()
    busy = requests[requests[Forecast.yhat] > 50]
    assert len(busy) > 0
    assert busy[Forecast.is_anomaly].all()


def test_a_few_errors_on_a_quiet_endpoint_are_not_an_anomaly():
    quiet = hourly(8, peak=20, error_share=0.01, seed=4)
    hour = ts("2024-01-08 14:00")
    at = quiet[EH.hour_start] == hour
    for errors in (1, 2):
        frame = quiet.copy()
        frame.loc[at, EH.error_rate] = errors / frame.loc[at, EH.requests]
        got = row(score_day(frame, 7), hour, EH.error_rate)
        assert got[Forecast.actual] >= 0.05
        assert not got[Forecast.is_anomaly], (errors, got[Forecast.score])


def test_the_score_means_the_same_on_quiet_and_noisy_series():
    """The same deviation, counted in each series' own noise, gets about the same score."""
    hour = ts("2024-01-08 13:00")
    scores = {}
    for jitter in (0.05, 0.25):
        base = hourly(8, jitter=jitter, seed=5)
        noise = np.log(base[EH.latency_p95_ms]).diff().std() / np.sqrt(2)
        for sigmas in (2, 12):
            frame = base.copy()
            at = frame[EH.hour_start] == hour
            frame.loc[at, EH.latency_p95_ms] *= np.exp(sigmas * noise)
            scores[(jitter, sigmas)] = row(score_day(frame, 7), hour, EH.latency_p95_ms)
    for jitter in (0.05, 0.25):
        # 2 sigmas: at most just past the interval's edge, far from a flag, on both
        assert scores[(jitter, 2)][Forecast.score] < 0.3
        assert scores[(jitter, 12)][Forecast.is_anomaly]


@pytest.mark.slow  # Prophet fits over a week
def test_a_clean_noisy_endpoint_raises_at_most_one_flag_over_a_week():
    frame = hourly(11, jitter=0.15, peak=80, seed=6)
    scored = pd.concat([score_day(frame, day) for day in range(4, 11)])
    flagged_hours = scored.loc[scored[Forecast.is_anomaly], Forecast.hour_start].nunique()
    assert flagged_hours <= 1


def test_models_survive_a_json_round_trip_unchanged(week: pd.DataFrame):
    series = series_of(week, 8)
    trained_through = START + 7 * DAY
    models = fit_models(
        series[series[EH.hour_start] < trained_through],
        trained_through=trained_through,
        options=OPTIONS,
    )
    reloaded = json.loads(json.dumps({"|".join(k): v for k, v in models.items()}))
    again = {tuple(k.split("|")): json.dumps(json.loads(v)) for k, v in reloaded.items()}
    actuals = series[series[EH.hour_start] >= trained_through]
    pd.testing.assert_frame_equal(
        forecasts(models, actuals, hours=day_hours(7), options=OPTIONS),
        forecasts(again, actuals, hours=day_hours(7), options=OPTIONS),
    )


# --- anomalies -------------------------------------------------------------------------------


def test_anomalies_keep_flagged_rows_with_direction_and_severity_by_score():
    hours = pd.date_range(ts("2024-01-08 00:00"), periods=5, freq="h")
    given = pd.DataFrame(
        {
            Forecast.hour_start: hours,
            Forecast.service: "checkout",
            Forecast.endpoint: "/orders",
            Forecast.metric: EH.requests,
            Forecast.actual: [300.0, 0.0, 400.0, 5.0, 110.0],
            Forecast.yhat: 100.0,
            Forecast.yhat_lower: 50.0,
            Forecast.yhat_upper: 200.0,
            Forecast.score: [0.92, 0.97, 0.995, 0.9999, 0.0],
            Forecast.surprise: [4.4, 5.3, 6.9, 10.3, 0.5],
            Forecast.is_anomaly: [True, True, True, True, False],
            Forecast.method: "prophet",
        }
    )
    got = anomalies(Forecast.validate(given))
    assert list(got.columns) == list(Anomaly.to_schema().columns)
    assert list(got[Anomaly.hour_start]) == list(hours[:4])
    assert list(got[Anomaly.direction]) == ["spike", "drop", "spike", "drop"]
    assert list(got[Anomaly.severity]) == ["low", "medium", "high", "critical"]


def test_anomalies_of_a_quiet_day_are_an_empty_valid_table(week_scored):
    got = anomalies(week_scored)
    assert got.empty
    assert list(got.columns) == list(Anomaly.to_schema().columns)


# --- stored models and parallel fits --------------------------------------------------------


def test_a_stored_model_gives_the_forecast_prophet_gives(week: pd.DataFrame):
    """The hourly run reads the day's forecast cached in the model; a model loaded back from
    its JSON predicts the same hours with Prophet to the same values."""
    series = series_of(week, 7)
    trained_through = START + 7 * DAY
    models = fit_models(series, trained_through=trained_through, options=OPTIONS)
    hours = day_hours(7)
    for model_json in models.values():
        spec = json.loads(json.dumps(json.loads(model_json)))  # a save/load round trip
        assert len(spec["day_forecast"]) == 24
        model = model_from_json(spec["prophet"])
        naive = pd.DataFrame({"ds": hours.tz_localize(None)})
        if spec.get("weekend_regressor"):
            naive["weekend"] = (hours.day_of_week >= 5).astype(float)
        np.testing.assert_allclose(
            spec["day_forecast"], model.predict(naive)["yhat"].to_numpy(), rtol=1e-12
        )
    actuals = series_of(week, 8)
    actuals = actuals[actuals[EH.hour_start].isin(hours)]
    again = {key: json.dumps(json.loads(value)) for key, value in models.items()}
    pd.testing.assert_frame_equal(
        forecasts(models, actuals, hours=hours, options=OPTIONS),
        forecasts(again, actuals, hours=hours, options=OPTIONS),
    )


@pytest.mark.slow  # 18 Prophet fits, twice, the second time in two worker processes
def test_fits_in_worker_processes_equal_fits_in_one():
    frames = [hourly(5, endpoint=f"/api/e{i}", seed=i) for i in range(6)]  # 18 series
    series = series_of(pd.concat(frames, ignore_index=True), 4)
    trained_through = START + 4 * DAY
    one = fit_models(series, trained_through=trained_through, options=OPTIONS, workers=1)
    two = fit_models(
        series, trained_through=trained_through, options=OPTIONS, workers=2, parallel_from=2
    )
    assert len(one) == 18 and untimed(two) == untimed(one)
