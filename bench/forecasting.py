"""Forecasting benchmark, on the same series in one run.

Per series: a plain `Prophet().fit(df).predict(future)` (Prophet's defaults, the next 24 hours),
our daily fit (`fit_models`: Prophet plus the calibration, and the day's forecast cached in
the model), and our hourly scoring with the cached models (`forecasts` for one hour). Then the
daily fits of all series with one process and with one per core.
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np
import pandas as pd

from transforms import forecast as fc

SERIES = 201  # 67 endpoints x 3 metrics
DAYS = 28
PLAIN_SAMPLE = 12
DAY = pd.Timestamp("2026-10-29T00:00:00Z")


def endpoint_hourly(endpoints: int = SERIES // 3, days: int = DAYS, seed: int = 3) -> pd.DataFrame:
    """`endpoint_hourly` rows of `days` days before DAY: a daily and weekly cycle, Poisson
    traffic, binomial errors and a log-normal p95 per endpoint."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(DAY - pd.Timedelta(days=days), DAY, freq="h", inclusive="left")
    hod = hours.hour.to_numpy()
    weekend = hours.day_of_week.to_numpy() >= 5
    frames = []
    for i in range(endpoints):
        peak = rng.uniform(40, 400)
        shape = 0.2 + 0.8 * (0.5 - 0.5 * np.cos(2 * np.pi * (hod - 3) / 24))
        requests = rng.poisson(peak * shape * np.where(weekend, 0.65, 1.0)) + 1
        errors = rng.binomial(requests, rng.uniform(0.002, 0.02))
        p95 = rng.uniform(50, 400) * np.exp(rng.normal(0, 0.15, len(hours)))
        frames.append(
            pd.DataFrame(
                {
                    "hour_start": hours,
                    "service": f"svc{i % 8}",
                    "endpoint": f"/api/e{i}",
                    "requests": requests,
                    "error_rate": errors / requests,
                    "latency_p95_ms": p95,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def untimed(models: dict) -> dict:
    return {
        key: {k: v for k, v in json.loads(value).items() if k != "fit_seconds"}
        for key, value in models.items()
    }


def plain_prophet(series: pd.DataFrame) -> None:
    from prophet import Prophet

    model = Prophet()
    model.fit(series)
    model.predict(model.make_future_dataframe(periods=24, freq="h", include_history=False))


def main() -> None:
    fc.quiet_stan()
    logging.getLogger("prophet").setLevel(logging.WARNING)
    hourly = endpoint_hourly()
    hours = pd.date_range(DAY - pd.Timedelta(days=DAYS), DAY, freq="h", inclusive="left")
    history = fc.metric_series(hourly, hours=hours)
    options = fc.ForecastOptions()
    series = history.groupby(["service", "endpoint", "metric"], sort=True)
    count = series.ngroups

    sample = list(series)[:PLAIN_SAMPLE]
    plain_prophet(
        sample[0][1]
        .rename(columns={"hour_start": "ds", "value": "y"})[["ds", "y"]]
        .assign(ds=lambda f: f["ds"].dt.tz_localize(None))
    )  # warm-up
    started = time.perf_counter()
    for _, rows in sample:
        frame = rows.rename(columns={"hour_start": "ds", "value": "y"})[["ds", "y"]]
        plain_prophet(frame.assign(ds=frame["ds"].dt.tz_localize(None)))
    plain_ms = (time.perf_counter() - started) / len(sample) * 1000

    started = time.perf_counter()
    models = fc.fit_models(history, trained_through=DAY, options=options, workers=1)
    one_core = time.perf_counter() - started
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    parallel = fc.fit_models(history, trained_through=DAY, options=options, workers=cores)
    all_cores = time.perf_counter() - started
    assert untimed(parallel) == untimed(models), "parallel fits differ from sequential ones"

    hour = pd.DatetimeIndex([DAY + pd.Timedelta(hours=13)])
    # the hour and the hours before it that judge level shifts and runs
    context = pd.date_range(hour[0] - fc.CONTEXT_POINTS * pd.Timedelta(hours=1), hour[0], freq="h")
    actuals = fc.metric_series(
        hourly.assign(hour_start=hourly["hour_start"] + pd.Timedelta(days=1)), hours=context
    )
    fc.forecasts(models, actuals, hours=hour, options=options)  # warm-up
    started = time.perf_counter()
    scored = fc.forecasts(models, actuals, hours=hour, options=options)
    hourly_ms = (time.perf_counter() - started) / len(models) * 1000
    assert len(scored) == len(models)

    fit_ms = one_core / len(models) * 1000
    print(f"\nforecasting: {count} series of {DAYS} days hourly, on {cores} cores")
    print(f"{'per series':<44} {'ms':>8} {'vs plain':>9}")
    print(
        f"{'plain Prophet().fit().predict(24 h), ' + str(len(sample)) + ' series':<44} {plain_ms:8.1f} {1:9.2f}"
    )
    print(f"{'our daily fit (one process)':<44} {fit_ms:8.1f} {fit_ms / plain_ms:9.2f}")
    print(
        f"{'our hourly scoring (cached models)':<44} {hourly_ms:8.1f} {hourly_ms / plain_ms:9.3f}"
    )
    print(
        f"daily fits of {len(models)} series: one process {one_core:.1f} s, {cores} processes "
        f"{all_cores:.1f} s, speed-up {one_core / all_cores:.2f}x"
    )


if __name__ == "__main__":
    main()
