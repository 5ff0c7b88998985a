"""Forecasts and anomaly scores for the hourly endpoint metrics, and the anomaly rows: one model
per (service, endpoint, metric): Prophet once min_history_days are known, a robust baseline before.

Scales. Counts and latencies are modelled on log1p, rates on arcsin(sqrt(rate)) (the binomial
variance-stabilising scale, bounded to [0, pi/2]), so back-transformed forecasts and bounds can
never leave [0, inf) or [0, 1]. Prophet: daily seasonality with a flat level below two weeks of
history (a slope through a few days extrapolates noise), daily + weekly and a damped linear trend
from two weeks on; no yearly; uncertainty_samples=0 (the interval comes from the residuals).

Spread. An hour's deviation from the forecast (model scale) has variance `a + b * c_t`, where
c_t is the sampling noise the hour's traffic implies (exact Poisson / binomial variance of the
transformed count while counts are small, 1/n for a latency percentile) and a, b are fitted on
the series' own in-sample residuals (incidents removed, never below the sampling theory nor a
small floor), plus the variance of a new day's level that in-sample residuals understate, plus a
prior for a day type (weekday / weekend) the history has not shown yet. Beyond their 90th
percentile the standardised residuals get generalised Pareto tails per side (peaks over
threshold, shrunk towards a slightly heavier-than-exponential prior when there are few).

Score. p is the one-sided tail probability of the observed value under that distribution (for
error rates with known request counts: beta-binomial with the forecast rate and the series'
extra-binomial spread, so 1 error in 20 requests is judged as a count, not as 5 %; for request
counts p is never below the exact Poisson tail). With p_edge = (1 - interval_width) / 2, the
interval is where p = p_edge and

    score = 1 - (p / p_edge) ** (1 / SCORE_DECADES)      (0 inside the interval)

so one threshold means one tail probability on every series, quiet or noisy. With the defaults
(interval_width 0.99, SCORE_DECADES 2) a score of 0.9 means p = 0.005 * 0.1**2 = 5e-5: a healthy
series goes that far in that direction about once in 20,000 hours (2.3 years); 0.99 means 5e-7.
That strictness is deliberate: a deployment runs thousands of (series, hour) tests a day.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from schemas._types import empty_frame
from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH

METRICS: tuple[str, ...] = (EH.requests, EH.error_rate, EH.latency_p95_ms)
VALUE = "value"
"""Value column of the long `metric_series` frame (hour_start, service, endpoint, metric, value)."""

SCORE_DECADES = 2.0
"""A score of s means a tail probability of p_edge * (1 - s) ** SCORE_DECADES."""

_MODEL_VERSION = 1
_HOUR = pd.Timedelta(hours=1)
_DAY = pd.Timedelta(days=1)
_TAIL_QUANTILE = 0.90  # tails are modelled beyond the 90th percentile of standardised residuals
_TAIL_DEFAULT = 0.7  # tail scale (in sigmas) assumed when residuals are few
_SHAPE_DEFAULT = 0.1  # tail shape assumed when residuals are few: a little heavier than exponential
_TAIL_PRIOR_WEIGHT = 10.0  # pseudo-exceedances of the defaults in the shrunk estimates
_SCALE_BOUNDS = (0.4, 3.0)
_SHAPE_BOUNDS = (0.0, 0.5)
_OUTLIER_SIGMAS = 6.0  # training hours further than this from the hour-of-day median are incidents
_TRIM_SIGMAS = 4.0  # residuals beyond this are left to the tail model when fitting the variance
# Weekly seasonality and a trend only from two whole weeks on: with less, a weekday's level is
# seen once at most and a slope through a few days extrapolates noise (a first weekend).
_LONG_MODEL_DAYS = 14.0
_Z90 = 1.2815515655446004  # standard normal 90th percentile
# Smallest unexplained variation per metric family (model-scale sd): real services wobble more
# than sampling noise, even when a short or unusually calm history does not show it. Linear
# values are in units of their training window's robust spread.
_SD_FLOOR = {"count": 0.10, "log": 0.05, "rate": 0.01, "linear": 0.25}
# Sampling-noise coefficient the theory guarantees (b >= this): Poisson, binomial, unknown.
_B_MIN = {"count": 1.0, "rate": 1.0, "log": 0.0, "linear": 0.0}
# Extra model-scale sd for a day of a type (weekday / weekend) the history has not shown yet:
# weekend traffic commonly differs by a third or more, and nothing in a weekday-only history
# says by how much. Gone once that day type has been seen (then the fit's own spread covers it).
_UNSEEN_DAY_TYPE_SD = {"count": 0.35, "log": 0.15, "rate": 0.05, "linear": 0.15}
_SEVERITY_BANDS = ((0.999, "critical"), (0.99, "high"), (0.95, "medium"))


@dataclass(frozen=True)
class ForecastOptions:
    """Knobs of the forecasting step; the defaults are the product's."""

    metrics: tuple[str, ...] = METRICS
    interval_width: float = 0.99
    threshold: float = 0.9  # score >= threshold -> is_anomaly
    training_days: int = 28  # trailing window
    min_history_days: float = 3.0  # below this: robust baseline (method "baseline")
    min_median_requests: float = 1.0  # series with less median traffic/hour are skipped
    uncertainty_samples: int = 0  # Prophet's own sampling is not needed: see module docstring
    fit_workers: int = 0  # processes for the daily fits; 0: one per core


# ---------------------------------------------------------------------------------------------
# scales


def _family(metric: str) -> str:
    if metric == EH.requests:
        return "count"
    if metric.endswith("_rate"):
        return "rate"
    if metric.endswith("_linear"):
        return "linear"  # any sign; walk_forward standardises it by the training window first
    return "log"


def to_model_scale(metric: str, values: Any) -> np.ndarray:
    """Values of `metric` on the scale it is modelled on (log1p, or arcsine-sqrt for rates)."""
    x = np.asarray(values, dtype="float64")
    family = _family(metric)
    if family == "rate":
        return np.arcsin(np.sqrt(np.clip(x, 0.0, 1.0)))
    if family == "linear":
        return x
    return np.log1p(np.clip(x, 0.0, None))


def from_model_scale(metric: str, values: Any) -> np.ndarray:
    """Inverse of `to_model_scale`; model-scale values out of range map to the metric's bounds."""
    x = np.asarray(values, dtype="float64")
    family = _family(metric)
    if family == "rate":
        return np.sin(np.clip(x, 0.0, np.pi / 2)) ** 2
    if family == "linear":
        return x
    return np.expm1(np.clip(x, 0.0, None))


# ---------------------------------------------------------------------------------------------
# series


def _utc_hours(hours: pd.DatetimeIndex | pd.Series | list) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(hours)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("us")


def _utc(ts: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).as_unit("us")


def _utc_column(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.as_unit("us")


def metric_series(
    endpoint_hourly: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    metrics: tuple[str, ...] = METRICS,
) -> pd.DataFrame:
    """Long frame: hour_start, service, endpoint, metric, value.

    For every (service, endpoint) present in the input and every hour in `hours`: `requests` is
    0 where the endpoint had no row (zero traffic is a fact), the other metrics are NaN there
    (undefined). Sorted by service, endpoint, metric, hour_start.
    """
    keys = [EH.service, EH.endpoint]
    columns = [EH.hour_start, *keys, Forecast.metric, VALUE]
    hours = _utc_hours(hours).unique().sort_values()
    series = endpoint_hourly[keys].drop_duplicates().sort_values(keys, ignore_index=True)
    if series.empty or len(hours) == 0 or not metrics:
        return _empty_series(columns)
    grid = series.merge(pd.DataFrame({EH.hour_start: hours}), how="cross")
    observed = endpoint_hourly[[EH.hour_start, *keys, *metrics]].assign(
        **{EH.hour_start: _utc_column(endpoint_hourly[EH.hour_start])}
    )
    wide = grid.merge(observed, how="left", on=[EH.hour_start, *keys])
    if EH.requests in metrics:
        wide[EH.requests] = wide[EH.requests].fillna(0)
    long = wide.melt(
        id_vars=[EH.hour_start, *keys],
        value_vars=list(metrics),
        var_name=Forecast.metric,
        value_name=VALUE,
    )
    long[VALUE] = long[VALUE].astype("float64")
    long[Forecast.metric] = long[Forecast.metric].astype("str")
    long = long.sort_values([*keys, Forecast.metric, EH.hour_start], ignore_index=True)
    return long[columns]


def _empty_series(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    frame[EH.hour_start] = pd.Series(dtype="datetime64[us, UTC]")
    frame[VALUE] = pd.Series(dtype="float64")
    return frame[columns]


def _wide_by_series(frame: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """{(service, endpoint): hour_start x metric frame of values} from a metric_series frame."""
    if frame.empty:
        return {}
    frame = frame.assign(**{EH.hour_start: _utc_column(frame[EH.hour_start])})
    frame = frame.drop_duplicates(
        [EH.service, EH.endpoint, Forecast.metric, EH.hour_start], keep="last"
    )
    out = {}
    for (service, endpoint), rows in frame.groupby([EH.service, EH.endpoint], sort=True):
        wide = rows.pivot(index=EH.hour_start, columns=Forecast.metric, values=VALUE).sort_index()
        out[(str(service), str(endpoint))] = wide
    return out


# ---------------------------------------------------------------------------------------------
# fitting


def _quiet_stan() -> None:
    """cmdstanpy logs two INFO lines per fit; keep WARNING and above, without propagation.
    Prophet's note that plotly (optional, for plots) is missing is not worth a line either."""
    logger = logging.getLogger("cmdstanpy")
    if not logger.handlers:
        # A handler stops cmdstanpy from installing its own INFO handler on first use.
        logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)


PARALLEL_FROM = 48
"""Fewer series than this are fitted in the calling process: starting a worker (importing
Prophet) costs about as much as fitting 20 series."""


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
    _quiet_stan()
    trained_through = _utc(trained_through)
    jobs = _fit_jobs(history, trained_through, options)
    if workers > 1 and len(jobs) >= parallel_from:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a forked copy of a threaded parent (Prefect, Arrow) can deadlock
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            specs = list(pool.map(_fit_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        specs = [_fit_job(job) for job in jobs]
    return {job[0]: spec for job, spec in zip(jobs, specs, strict=True)}


def _fit_jobs(
    history: pd.DataFrame, trained_through: pd.Timestamp, options: ForecastOptions
) -> list[tuple]:
    """One (key, metric, values, counts, span_days, trained_through, options) per series."""
    window_start = trained_through - options.training_days * _DAY
    if history.empty:
        return []
    when = _utc_column(history[EH.hour_start])
    history = history[(when >= window_start) & (when < trained_through)]
    jobs = []
    for (service, endpoint), wide in _wide_by_series(history).items():
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
            span_days = (trained_through - values.index.min()) / _DAY
            key = (service, endpoint, metric)
            jobs.append((key, metric, values, n, span_days, trained_through, options))
    return jobs


def _fit_job(job: tuple) -> str:
    """One series' model JSON (runs in a worker process when fits are parallel)."""
    _quiet_stan()
    _, metric, values, n, span_days, trained_through, options = job
    started = time.perf_counter()
    method = "prophet" if span_days >= options.min_history_days else "baseline"
    spec = _fit_series(metric, values, n, method=method, span_days=span_days, options=options)
    spec["trained_through"] = trained_through.isoformat()
    spec["fit_seconds"] = round(time.perf_counter() - started, 4)
    day = pd.date_range(trained_through, periods=24, freq="h")
    spec["day_forecast"] = _predict(spec, day).tolist()
    return json.dumps(spec)


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


def series_candidates(history: pd.DataFrame, metrics: tuple[str, ...]) -> int:
    """The (service, endpoint, metric) series `history` holds: those fit_models may model."""
    if history.empty:
        return 0
    present = history.loc[history[VALUE].notna(), [EH.service, EH.endpoint, Forecast.metric]]
    return int(present[present[Forecast.metric].isin(metrics)].drop_duplicates().shape[0])


def _robust_sd(x: np.ndarray) -> float:
    if len(x) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _hour_of_day_centres(t: np.ndarray, hod: np.ndarray, min_count: int) -> np.ndarray:
    """Median per hour of day where that hour has min_count values, else the overall median."""
    centres = np.full(24, float(np.median(t)))
    for h in range(24):
        values = t[hod == h]
        if len(values) >= min_count:
            centres[h] = float(np.median(values))
    return centres


def _inliers(
    t: np.ndarray, hod: np.ndarray, family: str, n: np.ndarray | None, pooled_rate: float | None
) -> np.ndarray:
    """Training hours that look like normal behaviour (past incidents and outages are not):
    within _OUTLIER_SIGMAS of their hour-of-day median, given the hour's sampling noise."""
    centres = _hour_of_day_centres(t, hod, min_count=3)
    resid = t - centres[hod]
    c = _sampling_factor(family, centres[hod], n, pooled_rate)
    a, b = _variance(resid, c, family, dof=1.0)
    return np.abs(resid) <= _OUTLIER_SIGMAS * np.sqrt(a + b * c)


def _sampling_factor(
    family: str, yhat: np.ndarray, n: np.ndarray | None, pooled_rate: float | None = None
) -> np.ndarray:
    """c_t: the hour's sampling variance on the model scale, per unit of b.

    Counts: variance of log1p(K), K ~ Poisson(expm1(yhat)). Rates: variance of arcsin(sqrt(K/n)),
    K ~ Binomial(n, rate). Both exact while counts are small (where the textbook 1/lambda and
    1/(4n) are off by up to a half), asymptotic beyond. Latency percentiles: 1/n.
    """
    yhat = np.asarray(yhat, dtype="float64")
    if family == "count":
        lam = from_model_scale(EH.requests, yhat)
        return _small_count_variance(lam / (1.0 + lam) ** 2, lam, None, np.log1p)
    if n is None:
        return np.zeros_like(yhat)
    trials = np.maximum(np.round(np.asarray(n, dtype="float64")), 1.0)
    if family == "rate":
        # arcsin(sqrt(x)) is symmetric about 1/2, so the variance is that of min(p, 1 - p).
        rate = _expected_rate(yhat, pooled_rate)
        p = np.clip(np.minimum(rate, 1 - rate), 1e-6, 0.5)
        return _small_count_variance(0.25 / trials, trials * p, trials, None)
    return 1.0 / trials


def _expected_rate(yhat: np.ndarray, pooled_rate: float | None) -> np.ndarray:
    """The rate sampling noise is computed at. The mean of arcsin(sqrt(k / n)) sits below
    arcsin(sqrt(p)) when n p is small, so a quiet hour's forecast understates its rate: never go
    below the series' pooled rate (errors / requests over the training window)."""
    rate = from_model_scale(EH.error_rate, yhat)
    return rate if pooled_rate is None else np.maximum(rate, pooled_rate)


_EXACT_BELOW = 30.0  # expected count under which sampling variances are summed exactly


def _small_count_variance(
    asymptotic: np.ndarray, mean: np.ndarray, trials: np.ndarray | None, transform
) -> np.ndarray:
    """Exact variance of transform(K) where the expected count is small (Poisson if trials is
    None, else Binomial(trials, mean / trials) on the arcsine-sqrt scale)."""
    out = np.asarray(asymptotic, dtype="float64").copy()
    small = np.flatnonzero(mean < _EXACT_BELOW)
    if len(small) == 0:
        return out
    mu = mean[small][:, None]
    k = np.arange(int(_EXACT_BELOW + 10 * math.sqrt(_EXACT_BELOW) + 20))[None, :]
    if trials is None:
        weights = stats.poisson.pmf(k, mu)
        values = np.broadcast_to(transform(k.astype("float64")), weights.shape)
    else:
        size = trials[small][:, None]
        weights = stats.binom.pmf(k, size, mu / size)
        values = np.arcsin(np.sqrt(np.minimum(k / size, 1.0)))
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    centre = (weights * values).sum(axis=1, keepdims=True)
    out[small] = (weights * (values - centre) ** 2).sum(axis=1)
    return out


def _variance(resid: np.ndarray, c: np.ndarray, family: str, dof: float) -> tuple[float, float]:
    """(a, b) of sigma_t^2 = a + b c_t from the residuals, trimming beyond _TRIM_SIGMAS.

    b is the sampling theory's for counts and rates and fitted (non-negative) for latencies;
    a is the extra variation, never below the family's floor. `dof` (>= 1) inflates the
    in-sample spread for the parameters the fit spent on it. Moments rather than a MAD because
    rates are discrete and often zero, where the MAD collapses.
    """
    a_min, b_min = _SD_FLOOR[family] ** 2, _B_MIN[family]
    if len(resid) == 0:
        return a_min, b_min
    r2 = resid**2
    a = max(_robust_sd(resid) ** 2 - b_min * float(np.mean(c)), a_min)
    b = b_min
    for _ in range(3):
        inside = r2 <= _TRIM_SIGMAS**2 * (a + b * c)
        if not inside.any():
            break
        if family == "log" and np.ptp(c[inside]) > 0:
            design = np.column_stack([np.ones(inside.sum()), c[inside]])
            (a, b), _ = optimize.nnls(design, r2[inside])
            b = max(float(b), b_min)
        a = max(float(np.mean(r2[inside] - b * c[inside])), a_min)
    return max(a * dof, a_min), max(b * dof, b_min)


def _tail(z: np.ndarray) -> dict[str, float]:
    """Generalised Pareto tails beyond the 90th percentile of the standardised residuals, per
    side (peaks over threshold; probability-weighted moments, Hosking & Wallis 1987), shrunk
    towards the default by _TAIL_PRIOR_WEIGHT pseudo-exceedances. The shape is kept >= 0: tails
    are never assumed lighter than exponential."""
    out = {}
    for side, x in (("hi", z), ("lo", -z)):
        u, scale, shape, m = _Z90, _TAIL_DEFAULT, _SHAPE_DEFAULT, 0
        if len(x) >= 10:
            u = float(np.quantile(x, _TAIL_QUANTILE))
            excess = np.sort(x[x > u] - u)
            m = len(excess)
        if m >= 3:
            a0 = float(np.mean(excess))
            a1 = float(np.mean(excess * (1 - (np.arange(1, m + 1) - 0.35) / m)))
            if a0 > 2 * a1 > 0:
                shape_hat, scale_hat = 2 - a0 / (a0 - 2 * a1), 2 * a0 * a1 / (a0 - 2 * a1)
            else:
                shape_hat, scale_hat = 0.0, a0
            w = _TAIL_PRIOR_WEIGHT
            scale = (m * scale_hat + w * _TAIL_DEFAULT) / (m + w)
            shape = (m * shape_hat + w * _SHAPE_DEFAULT) / (m + w)
        out[f"u_{side}"] = u
        out[f"scale_{side}"] = float(np.clip(scale, *_SCALE_BOUNDS))
        out[f"shape_{side}"] = float(np.clip(shape, *_SHAPE_BOUNDS))
    return out


def _seasonal_terms(span_days: float, freq: pd.Timedelta) -> tuple[bool, bool]:
    """(daily, weekly): a daily cycle below a day's grid step, a weekly one (and a trend) from
    two weeks of history on."""
    long = span_days >= _LONG_MODEL_DAYS
    return freq < _DAY, long and freq <= _DAY


def _prophet(span_days: float, options: ForecastOptions, freq: pd.Timedelta = _HOUR):
    from prophet import Prophet

    long = span_days >= _LONG_MODEL_DAYS
    daily, weekly = _seasonal_terms(span_days, freq)
    return Prophet(
        growth="linear" if long else "flat",
        n_changepoints=int(min(25, span_days)) if long else 0,
        changepoint_prior_scale=0.01,
        daily_seasonality=daily,
        weekly_seasonality=weekly,
        yearly_seasonality=False,
        uncertainty_samples=options.uncertainty_samples,
    )


def _day_level_variance(resid: np.ndarray, index: pd.DatetimeIndex, day_params: int) -> float:
    """Variance a new day's level adds that in-sample residuals understate.

    Day means of the residuals spread as much as whole days deviate from the model; with
    `day_params` parameters spent on day levels (mean, slope, weekly terms) over k days, a new
    day's level errs by var(day means) * (1 + p / (k - p)); the in-sample part is already in `a`.
    """
    frame = pd.DataFrame({"r": resid, "day": index.floor("D")})
    days = frame.groupby("day")["r"].agg(["mean", "size"])
    means = days.loc[days["size"] >= 12, "mean"].to_numpy()
    k = len(means)
    if k <= day_params:
        return 0.0
    return float(np.mean(means**2)) * day_params / (k - day_params)


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


def _day_type(index: pd.DatetimeIndex) -> np.ndarray:
    return np.where(index.day_of_week.to_numpy() >= 5, "weekend", "weekday")


def _day_types_seen(index: pd.DatetimeIndex) -> list[str]:
    """Day types with at least half a day of training hours."""
    types, counts = np.unique(_day_type(index), return_counts=True)
    return sorted(str(t) for t, c in zip(types, counts, strict=True) if c >= 12)


def _pooled_rate(
    family: str, values: np.ndarray, counts: np.ndarray | None, keep: np.ndarray | None
) -> float | None:
    """(events + 1) / (requests + 2) over the (kept) training hours, for rates whose counts are
    known. The pseudo-counts keep a history without a single error from claiming a zero rate."""
    if family != "rate" or counts is None:
        return None
    keep = np.ones(len(values), dtype=bool) if keep is None else keep
    events = float((values[keep] * counts[keep]).sum())
    return (events + 1.0) / (float(counts[keep].sum()) + 2.0)


def _baseline_residuals(
    t: np.ndarray, yhat: np.ndarray, index: pd.DatetimeIndex, c: np.ndarray, step: pd.Timedelta
) -> tuple[np.ndarray, np.ndarray, float]:
    """(residuals, their sampling factors, dof) measuring a cold-start baseline's error.

    With m >= 2 values per hour of day, residuals from their median understate the error of
    predicting a new value by (m + 1) / (m - 1). With one day, consecutive hours are the only
    repeat measurement: their differences / sqrt(2) estimate the noise (overstated by the daily
    slope), and predicting from a single value doubles its variance.
    """
    days = len(np.unique(index.floor("D")))
    if days >= 2:
        return t - yhat, c, (days + 1) / (days - 1)
    adjacent = np.flatnonzero((index[1:] - index[:-1]) == step)
    if len(adjacent) >= 3:
        diffs = (t[adjacent + 1] - t[adjacent]) / math.sqrt(2)
        return diffs, (c[adjacent + 1] + c[adjacent]) / 2, 2.0
    return t - float(np.median(t)), c, 1.0  # a few scattered hours: their whole spread


def _fit_series(
    metric: str,
    values: pd.Series,
    n: pd.Series | None,
    *,
    method: str,
    span_days: float,
    options: ForecastOptions,
    freq: pd.Timedelta = _HOUR,
) -> dict[str, Any]:
    family = _family(metric)
    index = pd.DatetimeIndex(values.index)
    t = to_model_scale(metric, values.to_numpy())
    hod = index.hour.to_numpy()
    counts = None if n is None else n.to_numpy(dtype="float64")
    pooled = _pooled_rate(family, values.to_numpy(), counts, None)
    keep = _inliers(t, hod, family, counts, pooled)
    if keep.sum() < max(2, len(t) // 2):
        # Most of the history looking abnormal says more about the outlier rule than the history.
        keep = np.ones(len(t), dtype=bool)
    pooled = _pooled_rate(family, values.to_numpy(), counts, keep)
    spec: dict[str, Any] = {
        "version": _MODEL_VERSION,
        "metric": metric,
        "history_days": round(float(span_days), 4),
        "typical_requests": _typical(counts),
        "pooled_rate": pooled,
        "day_types": _day_types_seen(index[keep]),
    }
    if method == "prophet":
        try:
            from prophet.serialize import model_to_json

            model = _prophet(span_days, options, freq)
            daily, weekly = _seasonal_terms(span_days, freq)
            # Before a weekly cycle can be fitted, one weekend level (when weekends and
            # weekdays have both been seen) keeps a weekend from passing for noise.
            weekend = not weekly and len(spec["day_types"]) == 2
            if weekend:
                model.add_regressor("weekend")
            frame = _naive(index[keep], weekend).assign(y=t[keep])
            model.fit(frame)
            yhat = model.predict(_naive(index, weekend))["yhat"].to_numpy()
            params = (2 * 4 if daily else 0) + 1 + (2 * 3 + 1 if weekly else 0) + weekend
            day_params = 1 + (2 * 3 + 1 if weekly else 0) + weekend
            spec["prophet"] = model_to_json(model)
            spec["weekend_regressor"] = weekend
        except Exception:  # a failed optimisation must not stop the other series
            method = "baseline"
    if method == "baseline":
        centres = _hour_of_day_centres(t[keep], hod[keep], min_count=1)
        yhat = centres[hod]
        spec["baseline"] = {"hour_of_day": centres.tolist()}
    c = _sampling_factor(family, yhat[keep], None if counts is None else counts[keep], pooled)
    if method == "prophet":
        resid = (t - yhat)[keep]
        dof = len(resid) / max(len(resid) - params, 1.0)
    else:
        resid, c, dof = _baseline_residuals(t[keep], yhat[keep], index[keep], c, freq)
    spec["method"] = method
    a, b = _variance(resid, c, family, dof)
    if method == "prophet":
        a += _day_level_variance(resid, index[keep], day_params)
    if method == "baseline":
        tail = {
            f"{name}_{side}": value
            for side in ("hi", "lo")
            for name, value in (("u", _Z90), ("scale", _TAIL_DEFAULT), ("shape", _SHAPE_DEFAULT))
        }
    else:
        tail = _tail(resid / np.sqrt(a + b * c))
    spec["calibration"] = {"a": a, "b": b, **tail}
    return spec


# ---------------------------------------------------------------------------------------------
# scoring


def _edge(u: float, scale: float, shape: float, p_edge: float) -> float:
    """Standardised deviation whose one-sided tail probability is p_edge."""
    p_u = 1 - _TAIL_QUANTILE
    if p_edge <= p_u:
        ratio = math.log(p_u / p_edge)
        grow = ratio if shape < 1e-6 else math.expm1(shape * ratio) / shape
        return u + scale * grow
    # Inside the body (interval_width < 0.8): a normal shape joined at u.
    return float(stats.norm.isf(min(p_edge * stats.norm.sf(u) / p_u, 0.5)))


def _log_tail(z: np.ndarray, u: float, scale: float, shape: float) -> np.ndarray:
    """log P(Z >= z) for z >= 0 under the fitted side: generalised Pareto beyond u, normal below."""
    p_u = 1 - _TAIL_QUANTILE
    body = np.log(p_u) + stats.norm.logsf(np.minimum(z, u)) - stats.norm.logsf(u)
    excess = np.maximum(z - u, 0.0) / scale
    decay = excess if shape < 1e-6 else np.log1p(shape * excess) / shape
    tail = np.log(p_u) - decay
    return np.minimum(np.where(z > u, tail, body), np.log(0.5))


def _log_sampling_tail(
    family: str,
    actual: np.ndarray,
    yhat: np.ndarray,
    n: np.ndarray | None,
    upper: np.ndarray,
    pooled_rate: float | None,
) -> np.ndarray:
    """log tail probability of the observed count under pure Poisson / binomial sampling.

    The model's p is never allowed below this: a deviation sampling noise explains is no anomaly.
    """
    out = np.full(len(actual), -np.inf)
    with np.errstate(all="ignore"):
        if family == "count":
            k = np.round(np.nan_to_num(actual))
            lam = np.maximum(from_model_scale(EH.requests, yhat), 1e-9)
            out = np.where(upper, stats.poisson.logsf(k - 1, lam), stats.poisson.logcdf(k, lam))
        elif family == "rate" and n is not None:
            trials = np.round(np.nan_to_num(n)).astype("int64")
            k = np.round(np.nan_to_num(actual) * trials)
            p0 = np.clip(_expected_rate(yhat, pooled_rate), 1e-9, 1 - 1e-9)
            sampled = np.where(
                upper, stats.binom.logsf(k - 1, trials, p0), stats.binom.logcdf(k, trials, p0)
            )
            out = np.where(trials > 0, sampled, -np.inf)
    return np.nan_to_num(out, nan=-np.inf)


def _predict(spec: dict[str, Any], hours: pd.DatetimeIndex) -> np.ndarray:
    cached = spec.get("day_forecast")
    if cached is not None:
        offset = (hours - _utc(spec["trained_through"])) // _HOUR
        inside = (offset >= 0) & (offset < len(cached)) & ((hours - hours.floor("h")) == _HOUR * 0)
        if inside.all():
            return np.asarray(cached, dtype="float64")[np.asarray(offset, dtype="int64")]
    if spec["method"] == "prophet":
        from prophet.serialize import model_from_json

        model = model_from_json(spec["prophet"])
        return model.predict(_naive(hours, spec.get("weekend_regressor", False)))["yhat"].to_numpy()
    centres = np.asarray(spec["baseline"]["hour_of_day"], dtype="float64")
    return centres[hours.hour.to_numpy()]


def _score_series(
    spec: dict[str, Any],
    hours: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    options: ForecastOptions,
    offset: np.ndarray | None = None,
    yhat: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Forecast columns for `hours`. `yhat` (model scale) may be given when already predicted;
    `offset` (model scale) moves the forecast to a level the series has shifted to."""
    metric = spec["metric"]
    family = _family(metric)
    cal = spec["calibration"]
    yhat = _predict(spec, hours) if yhat is None else np.asarray(yhat, dtype="float64")
    if offset is not None:
        yhat = yhat + offset
    typical = spec.get("typical_requests") or 1.0
    n_eff = None if n is None else np.where(np.nan_to_num(n) > 0, np.nan_to_num(n), typical)
    if n_eff is None and family != "count" and spec.get("typical_requests") is not None:
        n_eff = np.full(len(hours), typical)
    pooled = spec.get("pooled_rate")
    unseen = ~np.isin(_day_type(hours), spec.get("day_types", []))
    extra = np.where(unseen, _UNSEEN_DAY_TYPE_SD[family] ** 2, 0.0)
    a = cal["a"] + extra
    sigma = np.sqrt(a + cal["b"] * _sampling_factor(family, yhat, n_eff, pooled))
    p_edge = (1 - options.interval_width) / 2
    lower = yhat - _edge(cal["u_lo"], cal["scale_lo"], cal["shape_lo"], p_edge) * sigma
    upper = yhat + _edge(cal["u_hi"], cal["scale_hi"], cal["shape_hi"], p_edge) * sigma

    if family == "rate" and n is not None and pooled is not None:
        return _score_rate(spec, yhat, actual, n, n_eff, a, p_edge, options)

    y = to_model_scale(metric, actual)
    z = (y - yhat) / sigma
    above = z > 0
    with np.errstate(invalid="ignore"):
        log_p = np.where(
            above,
            _log_tail(np.abs(z), cal["u_hi"], cal["scale_hi"], cal["shape_hi"]),
            _log_tail(np.abs(z), cal["u_lo"], cal["scale_lo"], cal["shape_lo"]),
        )
    log_p = np.maximum(log_p, _log_sampling_tail(family, actual, yhat, n, above, pooled))
    if family == "count":
        # Availability: no request at all where even the interval's lower bound expects some
        # is judged by the chance of zero arrivals at that bound (Poisson), whatever the tails
        # past incidents taught the model.
        expected = from_model_scale(metric, lower)
        silent = np.nan_to_num(actual, nan=1.0) == 0
        log_p = np.where(silent, np.minimum(log_p, -expected), log_p)
    return _scored(
        spec,
        actual,
        from_model_scale(metric, yhat),
        from_model_scale(metric, lower),
        from_model_scale(metric, upper),
        np.where(np.isfinite(y), log_p, 0.0),
        p_edge,
        options,
    )


def _score_rate(
    spec: dict[str, Any],
    yhat: np.ndarray,
    actual: np.ndarray,
    n: np.ndarray,
    n_eff: np.ndarray,
    a: np.ndarray,
    p_edge: float,
    options: ForecastOptions,
) -> dict[str, np.ndarray]:
    """Rates with known request counts are judged in count space: errors ~ beta-binomial with
    the forecast rate and the series' extra-binomial spread (rho = 4 a: `a` is that spread on
    the arcsine scale). A handful of requests then cannot make a rate anomalous, while a burst of
    errors over real traffic is judged by how unlikely its count is."""
    rate = np.clip(_expected_rate(yhat, spec["pooled_rate"]), 1e-6, 1 - 1e-6)
    rho = np.clip(4 * a, 4 * _SD_FLOOR["rate"] ** 2, 0.5)
    alpha, beta = rate * (1 / rho - 1), (1 - rate) * (1 / rho - 1)
    trials = np.round(n_eff).astype("int64")
    lower = np.minimum(stats.betabinom.ppf(p_edge, trials, alpha, beta) / trials, rate)
    upper = np.maximum(stats.betabinom.isf(p_edge, trials, alpha, beta) / trials, rate)
    observed = np.round(np.nan_to_num(n)).astype("int64")
    k = np.round(np.nan_to_num(actual) * observed)
    with np.errstate(all="ignore"):
        log_p = np.where(
            k > observed * rate,
            stats.betabinom.logsf(k - 1, observed, alpha, beta),
            stats.betabinom.logcdf(k, observed, alpha, beta),
        )
        # Far out, scipy's tail underflows (log of 1 - cdf): the point mass bounds it from below.
        point = stats.betabinom.logpmf(k, observed, alpha, beta)
    log_p = np.where(np.isnan(log_p), point, log_p)
    log_p = np.where(np.isfinite(actual) & (observed > 0), np.nan_to_num(log_p, nan=0.0), 0.0)
    return _scored(spec, actual, rate, lower, upper, log_p, p_edge, options)


def _scored(
    spec: dict[str, Any],
    actual: np.ndarray,
    yhat: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    log_p: np.ndarray,
    p_edge: float,
    options: ForecastOptions,
) -> dict[str, np.ndarray]:
    """Forecast columns from original-scale forecasts and the one-sided log tail probability."""
    excess = np.clip(np.nan_to_num(log_p, nan=0.0) - math.log(p_edge), None, 0.0)
    score = np.clip(1.0 - np.exp(excess / SCORE_DECADES), 0.0, 1.0)
    return {
        Forecast.actual: np.asarray(actual, dtype="float64"),
        Forecast.yhat: yhat,
        Forecast.yhat_lower: lower,
        Forecast.yhat_upper: upper,
        Forecast.score: score,
        Forecast.is_anomaly: score >= options.threshold,
        Forecast.method: np.full(len(yhat), spec["method"]),
    }


PERSISTENCE_RUN = 3
"""Consecutive hours on the same side of the interval whose evidence is combined."""


def with_persistence(score: np.ndarray, direction: np.ndarray, interval_width: float) -> np.ndarray:
    """Scores of time-ordered points of one series, raised where a run of 2 or 3 consecutive
    points left the interval on the same side: their one-sided tail probabilities are combined
    (Fisher) and corrected for the run lengths tried (Bonferroni), so three hours each a little
    outside count as the evidence they are together. `direction` is +1 above, -1 below, 0
    inside or unscored. A score never goes down."""
    score = np.asarray(score, dtype="float64")
    direction = np.nan_to_num(np.asarray(direction, dtype="float64"))
    p_edge = (1 - interval_width) / 2
    log_p = math.log(p_edge) + SCORE_DECADES * np.log(np.clip(1 - score, 1e-300, 1.0))
    log_p = np.where(direction != 0, log_p, math.log(0.5))
    best = np.zeros(len(score))
    for run in range(2, PERSISTENCE_RUN + 1):
        if len(score) < run:
            break
        windows = np.lib.stride_tricks.sliding_window_view(direction, run)
        same = (np.abs(windows.sum(axis=1)) == run) & (windows[:, 0] != 0)
        total = -2 * np.lib.stride_tricks.sliding_window_view(log_p, run).sum(axis=1)
        log_combined = stats.chi2.logsf(total, 2 * run) + math.log(PERSISTENCE_RUN - 1)
        excess = np.clip(log_combined - math.log(p_edge), None, 0.0)
        combined = np.where(same, 1.0 - np.exp(excess / SCORE_DECADES), 0.0)
        best[run - 1 :] = np.maximum(best[run - 1 :], combined)
    return np.maximum(score, best)


def forecasts(
    models: dict[tuple[str, str, str], str],
    actuals: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    options: ForecastOptions = ForecastOptions(),
) -> pd.DataFrame:
    """One row per (model series) x (hour in `hours`): actual, forecast, interval, score.

    `actuals` are metric_series rows; a missing `requests` actual is 0, a missing other metric
    is NaN (no traffic: nothing to judge, never an anomaly). Validated against `Forecast`.
    """
    _quiet_stan()
    columns = list(Forecast.to_schema().columns)
    hours = _utc_hours(hours).unique().sort_values()
    observed = _wide_by_series(actuals)
    parts = []
    for (service, endpoint, metric), model_json in sorted(models.items()):
        spec = json.loads(model_json)
        wide = observed.get((service, endpoint), pd.DataFrame()).reindex(hours)
        if metric in wide:
            actual = wide[metric].to_numpy(dtype="float64")
        else:
            actual = np.full(len(hours), np.nan)
        if metric == EH.requests:
            actual = np.nan_to_num(actual, nan=0.0)
        n = None
        if EH.requests in wide:
            n = wide[EH.requests].fillna(0).to_numpy(dtype="float64")
        scored = _score_series(spec, hours, actual, n, options)
        parts.append(
            pd.DataFrame(
                {
                    Forecast.hour_start: hours,
                    Forecast.service: service,
                    Forecast.endpoint: endpoint,
                    Forecast.metric: metric,
                    **scored,
                }
            )
        )
    if not parts:
        return empty_frame(Forecast)
    return Forecast.validate(pd.concat(parts, ignore_index=True)[columns])


def _severity(score: pd.Series) -> pd.Series:
    severity = pd.Series("low", index=score.index, dtype="str")
    for bound, name in reversed(_SEVERITY_BANDS):
        severity = severity.mask(score >= bound, name)
    return severity


def anomalies(forecasts: pd.DataFrame) -> pd.DataFrame:
    """The is_anomaly rows of `forecasts`, with direction and severity.

    direction: spike when the actual is above the interval, else drop. severity from the score:
    low below 0.95, medium below 0.99, high below 0.999, critical from 0.999 (with the default
    calibration: tail probabilities above 1.25e-5, 5e-7, 5e-9 and below).
    """
    columns = list(Anomaly.to_schema().columns)
    flagged = forecasts[forecasts[Forecast.is_anomaly].astype(bool)].copy()
    flagged[Anomaly.direction] = np.where(
        flagged[Forecast.actual] > flagged[Forecast.yhat_upper], "spike", "drop"
    )
    flagged[Anomaly.severity] = _severity(flagged[Forecast.score])
    flagged[Anomaly.direction] = flagged[Anomaly.direction].astype("str")
    return Anomaly.validate(flagged[columns].reset_index(drop=True))


# ---------------------------------------------------------------------------------------------
# walk-forward scoring of any regular series

KINDS = ("count", "rate", "log", "linear")
_KIND_METRIC = {
    "count": EH.requests,
    "rate": "value_rate",
    "log": "value",
    "linear": "value_linear",
}
_MIN_STEP, _MAX_STEP = pd.Timedelta(minutes=1), _DAY


@dataclass(frozen=True)
class WalkForwardPlan:
    """How `walk_forward` trains for a grid step: window, refit cadence, history before Prophet
    and how long a shift must last before the forecast follows it."""

    step: pd.Timedelta
    training_window: pd.Timedelta
    refit_every: pd.Timedelta
    min_history: pd.Timedelta
    adapt_points: int
    min_points: int = 10

    @classmethod
    def for_step(cls, step: pd.Timedelta, **overrides: Any) -> WalkForwardPlan:
        """Hourly grids train on 28 days and refit daily, as the flows do. Finer grids keep
        about 5,000 points of history (1 minute: 3.5 days); coarser ones at least 200 points
        (daily: 200 days) and refit every 7 steps. A shift lasting 6 hours (at least 3 points)
        moves the forecast."""
        window = min(28 * _DAY, 5000 * step) if step < _HOUR else max(28 * _DAY, 200 * step)
        plan = {
            "step": step,
            "training_window": window,
            "refit_every": _DAY if step < _DAY else 7 * step,
            "min_history": max(3 * _DAY, 10 * step),
            "adapt_points": max(3, round(pd.Timedelta(hours=6) / step)),
        }
        for key, value in overrides.items():
            if value is not None:
                plan[key] = pd.Timedelta(value) if key != "adapt_points" else int(value)
        return cls(**plan)


def _infer_kind(y: np.ndarray) -> str:
    """count for non-negative integers, rate for values in [0, 1], log for other non-negative
    values, linear when any value is negative."""
    y = y[np.isfinite(y)]
    if len(y) == 0 or (y < 0).any():
        return "linear"
    if (y == np.round(y)).all() and y.max() > 1:
        return "count"
    if y.max() <= 1:
        return "rate"
    return "log"


def _regular_step(freq: str | pd.Timedelta) -> pd.Timedelta:
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError):
        raise ValueError(
            f"walk_forward: freq {freq!r} is not a fixed step like '5min' or '1h'"
        ) from None
    if not _MIN_STEP <= step <= _MAX_STEP:
        raise ValueError(f"walk_forward: freq must be between 1 minute and 1 day, got {step}")
    return step


def walk_forward(series: pd.DataFrame, *, freq: str | pd.Timedelta, **options: Any) -> pd.DataFrame:
    """Scores every point of a series with models trained only on the points before it.

    `series` has columns `ds` (timestamps; naive ones are taken for UTC) and `y`, and may have
    `n`: the number of requests behind each value (for a rate or a latency percentile), which
    lets a quiet hour's value count for less than a busy one's. Returns it
    (same rows, same order) with `yhat`, `yhat_lower`, `yhat_upper`, `score` (0..1, see the
    module docstring) and `is_anomaly`. Timestamps are put on the regular grid of step `freq`
    (1 minute to 1 day): repeats share their slot's forecast and are each scored, gaps are
    neither trained on nor scored, order does not matter. Points without enough history before
    them (`min_points`) get no forecast and a score of 0.

    Options: `kind` (count, rate, log, linear; inferred from the values when not given),
    `interval_width` (0.99), `threshold` (0.9), and the plan's `training_window`,
    `refit_every`, `min_history`, `adapt_points`, `min_points` (see `WalkForwardPlan`).
    It uses the fitting and scoring the flows use for `endpoint_hourly`.
    """
    _quiet_stan()
    missing = {"ds", "y"} - set(series.columns)
    if missing:
        raise ValueError(f"walk_forward: series needs columns ds and y; missing {sorted(missing)}")
    step = _regular_step(freq)
    known = {f.name for f in dataclasses.fields(ForecastOptions)}
    forecast_options = ForecastOptions(**{k: v for k, v in options.items() if k in known})
    plan_keys = {f.name for f in dataclasses.fields(WalkForwardPlan)} - {"step"}
    unknown = set(options) - known - plan_keys - {"kind"}
    if unknown:
        raise ValueError(f"walk_forward: unknown options {sorted(unknown)}")
    plan = WalkForwardPlan.for_step(step, **{k: options[k] for k in plan_keys & set(options)})

    ds = pd.to_datetime(series["ds"])
    ds = ds.dt.tz_localize("UTC") if ds.dt.tz is None else ds.dt.tz_convert("UTC")
    y = pd.to_numeric(series["y"], errors="coerce").to_numpy(dtype="float64")
    kind = options.get("kind") or _infer_kind(y)
    if kind not in KINDS:
        raise ValueError(f"walk_forward: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out = series.copy()
    for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
        out[column] = np.nan
    out[Forecast.score] = 0.0
    out[Forecast.is_anomaly] = False
    if ds.isna().any():
        raise ValueError("walk_forward: ds has values that are not timestamps")
    if len(series) == 0:
        return out

    slot = ds.dt.floor(step).dt.as_unit("us")
    grid = pd.date_range(slot.min(), slot.max(), freq=step)
    n = None
    if "n" in series.columns:
        n = pd.to_numeric(series["n"], errors="coerce").fillna(0).to_numpy(dtype="float64")
    if n is None:
        values = pd.Series(y).groupby(slot.to_numpy()).mean().reindex(grid)
        slot_n = None
    else:
        # a slot's value is its rows' request-weighted mean, its n their sum
        weighted = pd.DataFrame({"yn": y * n, "n": n, "y": y}).groupby(slot.to_numpy()).sum()
        plain = pd.Series(y).groupby(slot.to_numpy()).mean()
        mean = (weighted["yn"] / weighted["n"]).where(weighted["n"] > 0, plain)
        values, slot_n = mean.reindex(grid), weighted["n"].reindex(grid).fillna(0)
    forecast = _walk(values, kind, plan, forecast_options, slot_n)
    position = grid.get_indexer(slot)
    rows = _score_rows(forecast, position, y, n, slot, kind, forecast_options)
    for column, column_values in rows.items():
        out[column] = column_values
    return out


@dataclass
class _Block:
    spec: dict[str, Any]
    positions: np.ndarray  # grid positions scored with this model
    yhat: np.ndarray  # model scale, per position
    centre: float = 0.0  # linear kind: the training window's median and robust spread
    spread: float = 1.0


def _walk(
    values: pd.Series,
    kind: str,
    plan: WalkForwardPlan,
    options: ForecastOptions,
    counts: pd.Series | None = None,
) -> dict[str, Any]:
    """Per grid point: the model block that forecasts it and the level offset in force."""
    grid = pd.DatetimeIndex(values.index)
    v = values.to_numpy()
    observed = np.isfinite(v)
    metric = _KIND_METRIC[kind]
    blocks: list[_Block] = []
    first = grid[np.argmax(observed)] if observed.any() else grid[-1]
    cursor = grid[0]
    while cursor <= grid[-1]:
        start = max(cursor, grid[0])
        history_start = start - plan.training_window
        train = observed & (grid >= history_start) & (grid < start)
        span = (start - first) if start > first else pd.Timedelta(0)
        cold = span < plan.min_history
        length = plan.refit_every if not cold else max(plan.step, plan.refit_every / 6)
        stop = (start + length).floor(length) if length >= plan.step else start + plan.step
        if stop <= start:
            stop = start + length
        scored = np.flatnonzero((grid >= start) & (grid < stop))
        if train.sum() >= plan.min_points and len(scored):
            train_values = pd.Series(v[train], index=grid[train])
            centre, spread = 0.0, 1.0
            if kind == "linear":
                centre = float(np.median(train_values))
                spread = max(_robust_sd(train_values.to_numpy()), 1e-3 * abs(centre), 1e-9)
                train_values = (train_values - centre) / spread
            span_days = (start - train_values.index.min()) / _DAY
            method = "baseline" if cold else "prophet"
            train_n = None if counts is None else counts[train]
            spec = _fit_series(
                metric,
                train_values,
                train_n,
                method=method,
                span_days=span_days,
                options=options,
                freq=plan.step,
            )
            yhat = _predict(spec, grid[scored])
            blocks.append(_Block(spec, scored, yhat, centre, spread))
        cursor = stop
    # raw scores of the grid means, then the level offset each point is also judged against
    block_of = np.full(len(grid), -1)
    direction = np.zeros(len(grid))
    resid = np.full(len(grid), np.nan)
    scored_blocks = []
    for number, block in enumerate(blocks):
        block_of[block.positions] = number
        actual = (v[block.positions] - block.centre) / block.spread
        n = None if counts is None else counts.to_numpy()[block.positions]
        raw = _score_series(block.spec, grid[block.positions], actual, n, options, yhat=block.yhat)
        scored_blocks.append((block, actual, n, raw))
        outside = raw[Forecast.score] > 0
        above = actual > raw[Forecast.yhat_upper]
        direction[block.positions] = np.where(outside, np.where(above, 1.0, -1.0), 0.0)
        resid[block.positions] = to_model_scale(metric, actual) - block.yhat
    direction[~observed] = np.nan
    offset = _level_offsets(direction, resid, plan.adapt_points)
    # the slots' own scores (against the model's level or the shifted one), then persistence
    slot_score = np.zeros(len(grid))
    slot_side = np.zeros(len(grid))
    for block, actual, n, raw in scored_blocks:
        result = _best_of(
            block, grid[block.positions], actual, n, offset[block.positions], options, raw=raw
        )
        scored = np.isfinite(actual)
        slot_score[block.positions] = np.where(scored, result[Forecast.score], 0.0)
        side = np.where(actual > result[Forecast.yhat_upper], 1.0, -1.0)
        # a cold-start baseline does not know the daily cycle yet: a rising morning would read
        # as a run, so only model-based scores persist
        judged = scored & (result[Forecast.score] > 0) & (block.spec["method"] == "prophet")
        slot_side[block.positions] = np.where(judged, side, 0.0)
    persistent = with_persistence(slot_score, slot_side, options.interval_width)
    return {
        "blocks": blocks,
        "block_of": block_of,
        "offset": offset,
        "persistent": persistent,
        "side": slot_side,
    }


def _best_of(
    block: _Block,
    times: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    offset: np.ndarray,
    options: ForecastOptions,
    yhat: np.ndarray | None = None,
    raw: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Scored against the model's level (`raw`, when already scored) and, where a shift is in
    force, the shifted level: the lower score wins (a point is anomalous only if it is far
    from both)."""
    yhat = block.yhat if yhat is None else yhat
    result = (
        raw if raw is not None else _score_series(block.spec, times, actual, n, options, yhat=yhat)
    )
    if (offset != 0).any():
        shifted = _score_series(block.spec, times, actual, n, options, offset=offset, yhat=yhat)
        better = shifted[Forecast.score] < result[Forecast.score]
        result = {k: np.where(better, shifted[k], result[k]) for k in result}
    return result


def _level_offsets(direction: np.ndarray, resid: np.ndarray, points: int) -> np.ndarray:
    """Model-scale shift per point: when at least 80 % of the `points` before it (observed
    ones, at least 80 % of them observed) left the interval on the same side, the median of
    their residuals; else 0. Only points before each point count."""
    frame = pd.DataFrame({"up": direction > 0, "down": direction < 0, "seen": ~np.isnan(direction)})
    frame = frame.astype("float64")
    window = frame.rolling(points, min_periods=1).sum().shift(1).fillna(0.0)
    median = pd.Series(resid).rolling(points, min_periods=1).median().shift(1)
    need = 0.8 * points
    shifted = (window["seen"] >= need) & ((window["up"] >= need) | (window["down"] >= need))
    return np.where(shifted, median.fillna(0.0), 0.0)


def _score_rows(
    forecast: dict[str, Any],
    position: np.ndarray,
    y: np.ndarray,
    n: np.ndarray | None,
    slot: pd.Series,
    kind: str,
    options: ForecastOptions,
) -> dict[str, np.ndarray]:
    """Each input row scored with its slot's model, against both the model's level and the
    shifted level when one is in force (the lower score wins: a point is anomalous only if it
    is far from both)."""
    size = len(y)
    out = {
        Forecast.yhat: np.full(size, np.nan),
        Forecast.yhat_lower: np.full(size, np.nan),
        Forecast.yhat_upper: np.full(size, np.nan),
        Forecast.score: np.zeros(size),
        Forecast.is_anomaly: np.zeros(size, dtype=bool),
    }
    times = pd.DatetimeIndex(slot)
    for number, block in enumerate(forecast["blocks"]):
        rows = np.flatnonzero(forecast["block_of"][position] == number)
        if not len(rows):
            continue
        local = np.searchsorted(block.positions, position[rows])
        yhat = block.yhat[local]
        actual = (y[rows] - block.centre) / block.spread
        row_n = None if n is None else n[rows]
        offset = forecast["offset"][position[rows]]
        result = _best_of(block, times[rows], actual, row_n, offset, options, yhat=yhat)
        # a run of slots outside on one side lifts the rows on that side
        side = np.where(actual > result[Forecast.yhat_upper], 1.0, -1.0)
        same_side = (result[Forecast.score] > 0) & (side == forecast["side"][position[rows]])
        result[Forecast.score] = np.where(
            same_side,
            np.maximum(result[Forecast.score], forecast["persistent"][position[rows]]),
            result[Forecast.score],
        )
        for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
            out[column][rows] = result[column] * block.spread + block.centre
        scored = np.isfinite(y[rows])
        out[Forecast.score][rows] = np.where(scored, result[Forecast.score], 0.0)
        out[Forecast.is_anomaly][rows] = scored & (result[Forecast.score] >= options.threshold)
    return out
