"""The models: building and fitting one series' Prophet model or cold-start baseline, the day's
fit jobs (in this process or in workers), and predicting from a stored model."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.forecasts import Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.calibration import (
    baseline_residuals,
    day_level_variance,
    default_tails,
    fit_tails,
    hour_of_day_centres,
    inliers,
    pooled_rate_of,
    sampling_factor,
    variance,
)
from transforms.forecast.days import day_types_seen
from transforms.forecast.options import DAY, HOUR, MODEL_VERSION, VALUE, ForecastOptions
from transforms.forecast.series import (
    metric_family,
    redundant_totals,
    to_model_scale,
    utc_column,
    utc_timestamp,
    wide_by_series,
)

# Prophet: daily seasonality with a flat level, daily + weekly and a damped linear trend from
# _LONG_MODEL_DAYS on; no yearly; uncertainty_samples=0 (the interval comes from the residuals:
# see calibration).
# Weekly seasonality and a trend only from two whole weeks on: with less, a weekday's level is
# seen once at most and a slope through a few days extrapolates noise (a first weekend).
_LONG_MODEL_DAYS = 14.0

FIT_STEP = pd.Timedelta(minutes=15)
"""Prophet is fitted on means over this step when the grid is finer."""


def quiet_stan() -> None:
    """cmdstanpy logs two INFO lines per fit; keep WARNING and above, without propagation.
    Prophet's note that plotly (optional, for plots) is missing is not worth a line either,
    nor its warning that L-BFGS failed and Newton's method took over (the fit goes on)."""
    logger = logging.getLogger("cmdstanpy")
    if not logger.handlers:
        # A handler stops cmdstanpy from installing its own INFO handler on first use.
        logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    logging.getLogger("prophet.models").setLevel(logging.ERROR)


PARALLEL_FROM = 48
"""Fewer series than this are fitted in the calling process: starting a worker (importing
Prophet) costs about as much as fitting 20 series."""


@dataclass(frozen=True, eq=False)
class FitJob:
    """One series to fit for a day: picklable, so that it can run in a worker process or on a
    Dask cluster (`fit_job`)."""

    key: tuple[str, str, str]  # (service, endpoint, metric)
    values: pd.Series  # the metric's hourly values, indexed by hour_start; no NaN
    counts: pd.Series | None  # requests behind each value (None without a requests column)
    span_days: float  # days from the first value to trained_through
    trained_through: pd.Timestamp  # the model serves the hours from here on
    options: ForecastOptions

    @property
    def metric(self) -> str:
        return self.key[2]


def fit_models(
    history: pd.DataFrame,
    *,
    trained_through: pd.Timestamp,
    options: ForecastOptions = ForecastOptions(),
    workers: int = 1,
    parallel_from: int = PARALLEL_FROM,
) -> dict[tuple[str, str, str], str]:
    """{(service, endpoint, metric): model JSON} trained on `history` (metric_series rows).

    Only hours in [trained_through - training_days, trained_through) are used. A series' history
    starts at its first hour with traffic; series whose median hourly requests are below
    `min_median_requests`, or with no value at all, get no model. Histories shorter than
    `min_history_days` get the robust hour-of-day baseline, longer ones Prophet. The JSON holds
    the Prophet model (prophet.serialize.model_to_json) or the baseline, the calibration, and
    the model-scale forecast of the day after `trained_through` (what the hourly runs read, so
    they need no Prophet at all). `workers` > 1 fits series in that many processes once there
    are `parallel_from` series or more.
    """
    quiet_stan()
    jobs = fit_jobs(history, trained_through=trained_through, options=options)
    if workers > 1 and len(jobs) >= parallel_from:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a forked copy of a threaded parent (Prefect, Arrow) can deadlock
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            specs = list(pool.map(fit_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        specs = [fit_job(job) for job in jobs]
    return {job.key: spec for job, spec in zip(jobs, specs, strict=True)}


def fit_jobs(
    history: pd.DataFrame,
    *,
    trained_through: pd.Timestamp,
    options: ForecastOptions = ForecastOptions(),
) -> list[FitJob]:
    """One job per series `fit_models` models (see there), in key order."""
    trained_through = utc_timestamp(trained_through)
    window_start = trained_through - options.training_days * DAY
    if history.empty:
        return []
    when = utc_column(history[EH.hour_start])
    history = history[(when >= window_start) & (when < trained_through)]
    jobs = []
    redundant = redundant_totals(history)
    for (service, endpoint), wide in wide_by_series(history).items():
        if (service, endpoint) in redundant:
            continue
        counts = wide.get(EH.requests)
        if counts is not None:
            busy = counts.index[counts.fillna(0) > 0]
            if busy.empty:
                continue
            # Hours before an endpoint's first request are not history of its behaviour.
            wide = wide.loc[busy.min() :]
            counts = wide[EH.requests]
            if counts.fillna(0).median() < options.min_median_requests:
                continue
        for metric in options.metrics:
            if metric not in wide:
                continue
            values = wide[metric].dropna()
            if values.empty:
                continue
            n = None if counts is None else counts.reindex(values.index).fillna(0)
            span_days = (trained_through - values.index.min()) / DAY
            key = (service, endpoint, metric)
            jobs.append(FitJob(key, values, n, span_days, trained_through, options))
    return jobs


def fit_job(job: FitJob) -> str:
    """One series' model JSON (runs in a worker process when fits are parallel)."""
    quiet_stan()
    started = time.perf_counter()
    method = "prophet" if job.span_days >= job.options.min_history_days else "baseline"
    spec = fit_series(
        job.metric,
        job.values,
        job.counts,
        method=method,
        span_days=job.span_days,
        options=job.options,
    )
    spec["trained_through"] = job.trained_through.isoformat()
    spec["fit_seconds"] = round(time.perf_counter() - started, 4)
    day = pd.date_range(job.trained_through, periods=24, freq="h")
    spec["day_forecast"] = predict(spec, day).tolist()
    return json.dumps(spec)


def series_candidates(history: pd.DataFrame, metrics: tuple[str, ...]) -> int:
    """The (service, endpoint, metric) series `history` holds: those fit_models may model."""
    if history.empty:
        return 0
    present = history.loc[history[VALUE].notna(), [EH.service, EH.endpoint, Forecast.metric]]
    present = present[present[Forecast.metric].isin(metrics)].drop_duplicates()
    redundant = redundant_totals(history)
    keys = zip(present[EH.service], present[EH.endpoint], strict=True)
    return sum(key not in redundant for key in keys)


def model_parameters(model_json: str) -> dict[str, Any]:
    """What the catalog records of a fitted model: method, history, fit time, calibration."""
    spec = json.loads(model_json)
    return {
        "method": spec["method"],
        "history_days": spec["history_days"],
        "fit_seconds": spec.get("fit_seconds", 0.0),
        "weekend_regressor": spec.get("weekend_regressor", False),
        "calibration": spec["calibration"],
    }


def _seasonal_terms(span_days: float, freq: pd.Timedelta) -> tuple[bool, bool]:
    """(daily, weekly): a daily cycle below a day's grid step, a weekly one (and a trend) from
    two weeks of history on."""
    long = span_days >= _LONG_MODEL_DAYS
    return freq < DAY, long and freq <= DAY


def _prophet(span_days: float, options: ForecastOptions, freq: pd.Timedelta = HOUR):
    from prophet import Prophet

    long = span_days >= _LONG_MODEL_DAYS
    daily, weekly = _seasonal_terms(span_days, freq)
    return Prophet(
        growth="linear",
        n_changepoints=int(min(25, span_days)) if long else 0,
        changepoint_prior_scale=0.01,
        daily_seasonality=daily,
        weekly_seasonality=weekly,
        yearly_seasonality=False,
        uncertainty_samples=options.uncertainty_samples,
    )


def _naive(index: pd.DatetimeIndex, weekend: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame({"ds": index.tz_convert("UTC").tz_localize(None).as_unit("ns")})
    if weekend:
        frame["weekend"] = (index.day_of_week >= 5).astype("float64")
    return frame


def _typical(counts: np.ndarray | None) -> float | None:
    """Median requests of the busy hours: stands in for n when scoring an hour without traffic."""
    if counts is None:
        return None
    busy = counts[counts > 0]
    return float(np.median(busy)) if len(busy) else 1.0


def fit_series(
    metric: str,
    values: pd.Series,
    n: pd.Series | None,
    *,
    method: str,
    span_days: float,
    options: ForecastOptions,
    freq: pd.Timedelta = HOUR,
) -> dict[str, Any]:
    """One series' model spec (JSON-able): Prophet or the hour-of-day baseline (`method`), with
    its calibration; Prophet falls back to the baseline when its optimisation fails."""
    family = metric_family(metric)
    index = pd.DatetimeIndex(values.index)
    t = to_model_scale(metric, values.to_numpy())
    hod = index.hour.to_numpy()
    counts = None if n is None else n.to_numpy(dtype="float64")
    pooled = pooled_rate_of(family, values.to_numpy(), counts, None)
    keep = inliers(t, hod, family, counts, pooled)
    if keep.sum() < max(2, len(t) // 2):
        # Most of the history looking abnormal says more about the outlier rule than the history.
        keep = np.ones(len(t), dtype=bool)
    pooled = pooled_rate_of(family, values.to_numpy(), counts, keep)
    spec: dict[str, Any] = {
        "version": MODEL_VERSION,
        "metric": metric,
        "history_days": round(float(span_days), 4),
        "typical_requests": _typical(counts),
        "pooled_rate": pooled,
        "day_types": day_types_seen(index[keep], options.holidays_country),
        "holidays_country": options.holidays_country,
    }
    if method == "prophet":
        try:
            from prophet.serialize import model_to_json

            model = _prophet(span_days, options, freq)
            daily, weekly = _seasonal_terms(span_days, freq)
            # Before a weekly cycle can be fitted, one weekend level (when weekends and
            # weekdays have both been seen) keeps a weekend from passing for noise.
            weekend = not weekly and {"weekday", "weekend"} <= set(spec["day_types"])
            if weekend:
                model.add_regressor("weekend")
            if options.holidays_country:
                model.add_country_holidays(country_name=options.holidays_country)
            frame = _naive(index[keep], weekend).assign(y=t[keep])
            if freq < FIT_STEP:
                # Fine grids are fitted on their FIT_STEP means: the same daily and weekly
                # shape, from a tenth of the points (Stan's optimiser slows down, and
                # sometimes gives up, on tens of thousands of noisy points)
                frame = frame.groupby(frame["ds"].dt.floor(FIT_STEP), as_index=False).mean()
            model.fit(frame)
            yhat = model.predict(_naive(index, weekend))["yhat"].to_numpy()
            params = (2 * 4 if daily else 0) + 1 + (2 * 3 + 1 if weekly else 0) + weekend
            day_params = 1 + (2 * 3 + 1 if weekly else 0) + weekend
            spec["prophet"] = model_to_json(model)
            spec["weekend_regressor"] = weekend
        except Exception:  # a failed optimisation must not stop the other series
            method = "baseline"
    if method == "baseline":
        centres = hour_of_day_centres(t[keep], hod[keep], min_count=1)
        yhat = centres[hod]
        spec["baseline"] = {"hour_of_day": centres.tolist()}
    c = sampling_factor(family, yhat[keep], None if counts is None else counts[keep], pooled)
    if method == "prophet":
        resid = (t - yhat)[keep]
        dof = len(resid) / max(len(resid) - params, 1.0)
    else:
        resid, c, dof = baseline_residuals(t[keep], yhat[keep], index[keep], c, freq)
    spec["method"] = method
    a, b = variance(resid, c, family, dof)
    if method == "prophet":
        a += day_level_variance(resid, index[keep], day_params)
    tail = default_tails() if method == "baseline" else fit_tails(resid / np.sqrt(a + b * c))
    spec["calibration"] = {"a": a, "b": b, **tail}
    spec["ar1"] = (
        lag_one_correlation((t - yhat)[keep], index[keep], freq) if method == "prophet" else 0.0
    )
    return spec


def lag_one_correlation(resid: np.ndarray, index: pd.DatetimeIndex, freq: pd.Timedelta) -> float:
    """The correlation of residuals one grid step apart (pairs of adjacent points only), in
    [0, 0.95]: how much of a deviation is still there at the next point."""
    if len(resid) < 3:
        return 0.0
    pairs = np.flatnonzero((index[1:] - index[:-1]) == freq)
    if len(pairs) < 10:
        return 0.0
    first, second = resid[pairs], resid[pairs + 1]
    if np.std(first) == 0 or np.std(second) == 0:
        return 0.0
    return float(np.clip(np.corrcoef(first, second)[0, 1], 0.0, 0.95))


def predict(spec: dict[str, Any], hours: pd.DatetimeIndex) -> np.ndarray:
    """Model-scale forecast of `hours`: from the stored day's forecast when it covers them."""
    cached = spec.get("day_forecast")
    if cached is not None:
        hour_us = 3_600_000_000
        since = hours.as_unit("us").asi8 - utc_timestamp(spec["trained_through"]).value // 1000
        offset = since // hour_us
        inside = (since >= 0) & (offset < len(cached)) & (since % hour_us == 0)
        if inside.all():
            return np.asarray(cached, dtype="float64")[offset]
    if spec["method"] == "prophet":
        from prophet.serialize import model_from_json

        model = model_from_json(spec["prophet"])
        return model.predict(_naive(hours, spec.get("weekend_regressor", False)))["yhat"].to_numpy()
    centres = np.asarray(spec["baseline"]["hour_of_day"], dtype="float64")
    return centres[hours.hour.to_numpy()]
