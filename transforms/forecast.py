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
import functools
import json
import logging
import math
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from schemas._types import empty_frame
from schemas.forecasts import SEVERITIES, Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH

METRICS: tuple[str, ...] = (EH.requests, EH.error_rate, EH.latency_p95_ms)
VALUE = "value"
"""Value column of the long `metric_series` frame (hour_start, service, endpoint, metric, value)."""

SCORE_DECADES = 2.0
"""A score of s means a tail probability of p_edge * (1 - s) ** SCORE_DECADES."""

MODEL_VERSION = 2
"""Version of the stored model format: models stored by another version are fitted again."""
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
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


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
    totals: bool = True  # also forecast each service's total and the global total
    holidays_country: str = ""  # e.g. "US": public holidays as Prophet holidays, "" for none

    def __post_init__(self) -> None:
        if not 0 < self.interval_width < 1:
            raise ValueError(f"interval_width must be between 0 and 1, got {self.interval_width}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.training_days < 1:
            raise ValueError(f"training_days must be at least 1, got {self.training_days}")
        if self.holidays_country:
            _holiday_days(self.holidays_country, (2000,))  # raises for an unknown country


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


TOTAL = "*"
"""Endpoint (and service) of a total series: (service, "*") sums a service's endpoints,
("*", "*") every service."""

_LATENCY_QUANTILE = re.compile(r"^latency_p(\d{1,2})_ms$")
# Rates recomputed from the summed counts of a total: (numerator columns, denominator).
_TOTAL_RATES = {
    EH.error_rate: ((EH.status_4xx, EH.status_5xx), EH.requests),
    EH.server_error_rate: ((EH.status_5xx,), EH.requests),
    EH.slow_rate: ((EH.slow_requests,), EH.timed_requests),
}


def with_totals(
    endpoint_hourly: pd.DataFrame,
    sketches: pd.DataFrame | None = None,
    *,
    metrics: tuple[str, ...] = METRICS,
) -> pd.DataFrame:
    """`endpoint_hourly` rows plus, per hour, one total row per service (endpoint "*") and one
    for everything (service and endpoint "*"), holding `requests` and `metrics`.

    Counts add up; rates are recomputed from the summed counts (error_rate = (4xx + 5xx) /
    requests); latency_avg_ms is weighted by timed requests; latency percentiles come from the
    merged `latency_sketches` (within their 1 % relative error; NaN without sketches); distinct
    counts such as unique_users do not add up and stay NaN.
    """
    if endpoint_hourly.empty:
        return endpoint_hourly
    eh = endpoint_hourly.assign(**{EH.hour_start: _utc_column(endpoint_hourly[EH.hour_start])})
    wanted = list(dict.fromkeys([EH.requests, *metrics]))
    parts = [eh]
    for keys, fixed in (
        ([EH.hour_start, EH.service], {EH.endpoint: TOTAL}),
        ([EH.hour_start], {EH.service: TOTAL, EH.endpoint: TOTAL}),
    ):
        groups = eh.groupby(keys, sort=True, observed=True)
        total = groups[[EH.requests]].sum()
        for metric in wanted:
            if metric == EH.requests or metric not in eh:
                continue
            quantile = _LATENCY_QUANTILE.match(metric)
            parts_known = metric in _TOTAL_RATES and {
                *_TOTAL_RATES[metric][0],
                _TOTAL_RATES[metric][1],
            } <= set(eh.columns)
            if parts_known:
                numerators, denominator = _TOTAL_RATES[metric]
                top = groups[list(numerators)].sum().sum(axis=1)
                bottom = groups[denominator].sum()
                total[metric] = (top / bottom).where(bottom > 0)
            elif quantile:
                total[metric] = _sketch_quantile(
                    sketches, keys, int(quantile.group(1)) / 100, total.index
                )
            elif metric == EH.latency_avg_ms:
                timed = eh[EH.timed_requests].where(eh[metric].notna(), 0)
                weighted = (eh[metric].fillna(0) * timed).groupby([eh[k] for k in keys]).sum()
                weight = timed.groupby([eh[k] for k in keys]).sum()
                total[metric] = (weighted / weight).where(weight > 0)
            elif metric == EH.latency_max_ms:
                total[metric] = groups[metric].max()
            elif metric == "unique_users":
                total[metric] = np.nan
            elif metric.endswith("_rate"):
                weight = eh[EH.requests].where(eh[metric].notna(), 0)
                weighted = (eh[metric].fillna(0) * weight).groupby([eh[k] for k in keys]).sum()
                total[metric] = weighted / weight.groupby([eh[k] for k in keys]).sum()
            else:
                total[metric] = groups[metric].sum(min_count=1)
        parts.append(total.reset_index().assign(**fixed))
    columns = [EH.hour_start, EH.service, EH.endpoint, *[m for m in wanted if m in eh]]
    return pd.concat([p[columns] for p in parts], ignore_index=True)


def _sketch_quantile(
    sketches: pd.DataFrame | None, keys: list[str], q: float, index: pd.Index
) -> pd.Series:
    """Quantile q of the merged latency sketches per group of `keys`, aligned to `index`."""
    if sketches is None or sketches.empty:
        return pd.Series(np.nan, index=index)
    from transforms.metrics import sketch_quantiles

    frame = sketches.assign(**{EH.hour_start: _utc_column(sketches[EH.hour_start])})
    codes, uniques = (
        pd.MultiIndex.from_frame(frame[keys]).factorize()
        if len(keys) > 1
        else (pd.factorize(frame[keys[0]]))
    )
    groups, (values,) = sketch_quantiles(
        np.asarray(codes, dtype="int64"),
        frame["bucket"].to_numpy(dtype="int64"),
        frame["count"].to_numpy(dtype="int64"),
        [q],
    )
    labels = uniques[groups]
    if len(keys) == 1:
        labels = pd.Index(labels, name=keys[0])
    else:
        labels = pd.MultiIndex.from_tuples(list(labels), names=keys)
    return pd.Series(values, index=labels).reindex(index)


def total_level(service: str, endpoint: str) -> str:
    """endpoint, service or global: what a series key stands for."""
    if endpoint != TOTAL:
        return "endpoint"
    return "global" if service == TOTAL else "service"


def _redundant_totals(history: pd.DataFrame) -> set[tuple[str, str]]:
    """Total series that would only repeat another: a service's total when there is one
    service (the global total is the same) or it has one endpoint; the global total when
    there is one endpoint in all."""
    if history.empty:
        return set()
    pairs = history.loc[history[EH.endpoint] != TOTAL, [EH.service, EH.endpoint]]
    pairs = pairs.drop_duplicates()
    per_service = pairs.groupby(EH.service).size()
    redundant = {
        (str(service), TOTAL)
        for service, count in per_service.items()
        if count < 2 or len(per_service) < 2
    }
    if len(pairs) < 2:
        redundant.add((TOTAL, TOTAL))
    return redundant


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
    wide = frame.pivot(
        index=[EH.service, EH.endpoint, EH.hour_start], columns=Forecast.metric, values=VALUE
    ).sort_index()
    wide.columns = [str(c) for c in wide.columns]
    keys = wide.index.droplevel(EH.hour_start)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    stops = np.r_[starts[1:], len(wide)]
    hours = wide.index.get_level_values(EH.hour_start)
    out = {}
    for begin, stop in zip(starts, stops, strict=True):
        service, endpoint = keys[begin]
        part = wide.iloc[begin:stop]
        out[(str(service), str(endpoint))] = part.set_axis(hours[begin:stop], axis=0).rename_axis(
            EH.hour_start
        )
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
    redundant = _redundant_totals(history)
    for (service, endpoint), wide in _wide_by_series(history).items():
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
    present = present[present[Forecast.metric].isin(metrics)].drop_duplicates()
    redundant = _redundant_totals(history)
    keys = zip(present[EH.service], present[EH.endpoint], strict=True)
    return sum(key not in redundant for key in keys)


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


@functools.lru_cache(maxsize=64)
def _holiday_days(country: str, years: tuple[int, ...]) -> np.ndarray:
    """The public holidays of `country` (ISO code, as the holidays package knows it) in
    `years`, as datetime64[D]."""
    import holidays

    try:
        calendar = holidays.country_holidays(country, years=list(years))
    except NotImplementedError:
        raise ValueError(
            f"holidays_country: {country!r} is not a country code the holidays package knows "
            "(ISO 3166-1 alpha-2, e.g. US, GB, DE)"
        ) from None
    return np.array(sorted(calendar), dtype="datetime64[D]")


def _day_type(index: pd.DatetimeIndex, country: str = "") -> np.ndarray:
    """weekday / weekend per timestamp, and holiday for a public holiday of `country`."""
    types = np.where(index.day_of_week.to_numpy() >= 5, "weekend", "weekday")
    if country and len(index):
        days = index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[D]")
        years = tuple(sorted({int(y) for y in index.year}))
        types = np.where(np.isin(days, _holiday_days(country, years)), "holiday", types)
    return types


def _day_types_seen(index: pd.DatetimeIndex, country: str = "") -> list[str]:
    """Day types with at least half a day of training hours."""
    types, counts = np.unique(_day_type(index, country), return_counts=True)
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
        "version": MODEL_VERSION,
        "metric": metric,
        "history_days": round(float(span_days), 4),
        "typical_requests": _typical(counts),
        "pooled_rate": pooled,
        "day_types": _day_types_seen(index[keep], options.holidays_country),
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
        hour_us = 3_600_000_000
        since = hours.as_unit("us").asi8 - _utc(spec["trained_through"]).value // 1000
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


def _score_series(
    spec: dict[str, Any],
    hours: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    options: ForecastOptions,
    offset: np.ndarray | None = None,
    yhat: np.ndarray | None = None,
    bounds: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Forecast columns for `hours`. `yhat` (model scale) may be given when already predicted;
    `offset` (model scale) moves the forecast to a level the series has shifted to. `bounds`
    (a mask) limits where the interval is computed when that is costly (rates: beta-binomial
    quantiles); elsewhere it is NaN (the score does not need it)."""
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
    unseen = ~np.isin(_day_type(hours, spec.get("holidays_country", "")), spec.get("day_types", []))
    extra = np.where(unseen, _UNSEEN_DAY_TYPE_SD[family] ** 2, 0.0)
    a = cal["a"] + extra
    sigma = np.sqrt(a + cal["b"] * _sampling_factor(family, yhat, n_eff, pooled))
    p_edge = (1 - options.interval_width) / 2
    lower = yhat - _edge(cal["u_lo"], cal["scale_lo"], cal["shape_lo"], p_edge) * sigma
    upper = yhat + _edge(cal["u_hi"], cal["scale_hi"], cal["shape_hi"], p_edge) * sigma

    if family == "rate" and n is not None and pooled is not None:
        return _score_rate(spec, yhat, actual, n, n_eff, a, p_edge, options, bounds)

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
    bounds: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Rates with known request counts are judged in count space: errors ~ beta-binomial with
    the forecast rate and the series' extra-binomial spread (rho = 4 a: `a` is that spread on
    the arcsine scale). A handful of requests then cannot make a rate anomalous, while a burst of
    errors over real traffic is judged by how unlikely its count is."""
    rate = np.clip(_expected_rate(yhat, spec["pooled_rate"]), 1e-6, 1 - 1e-6)
    rho = np.clip(4 * a, 4 * _SD_FLOOR["rate"] ** 2, 0.5)
    alpha, beta = rate * (1 / rho - 1), (1 - rate) * (1 / rho - 1)
    trials = np.round(n_eff).astype("int64")
    lower, upper = np.full(len(rate), np.nan), np.full(len(rate), np.nan)
    at = slice(None) if bounds is None else np.flatnonzero(bounds)
    if bounds is None or len(at):
        ppf = stats.betabinom.ppf(p_edge, trials[at], alpha[at], beta[at])
        isf = stats.betabinom.isf(p_edge, trials[at], alpha[at], beta[at])
        lower[at] = np.minimum(ppf / trials[at], rate[at])
        upper[at] = np.maximum(isf / trials[at], rate[at])
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
    if np.count_nonzero(direction) < 2:
        return score
    for run in range(2, PERSISTENCE_RUN + 1):
        if len(score) < run:
            break
        windows = np.lib.stride_tricks.sliding_window_view(direction, run)
        same = (np.abs(windows.sum(axis=1)) == run) & (windows[:, 0] != 0)
        if not same.any():
            continue
        total = -2 * np.lib.stride_tricks.sliding_window_view(log_p, run).sum(axis=1)
        log_combined = stats.chi2.logsf(total, 2 * run) + math.log(PERSISTENCE_RUN - 1)
        excess = np.clip(log_combined - math.log(p_edge), None, 0.0)
        combined = np.where(same, 1.0 - np.exp(excess / SCORE_DECADES), 0.0)
        best[run - 1 :] = np.maximum(best[run - 1 :], combined)
    return np.maximum(score, best)


CONTEXT_POINTS = 6 + 2 * (PERSISTENCE_RUN - 1)
"""Points scored before the first one asked for, so that its level offset (the 6 points
before it), its run of hours (the 2 before it) and the run that raises its severity (the 2
before it, each with their own context) are what scoring the whole series gives."""


def score(
    models: dict[tuple[str, str, str], str],
    actuals: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    options: ForecastOptions = ForecastOptions(),
    previous: dict[tuple[str, str, str], str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(forecasts, anomalies) of `hours` for every series in `models`.

    `models` serve the hours from their `trained_through` on; `previous` (the models of the
    day before) serve the context hours before that. `actuals` are metric_series rows
    covering `hours` and the CONTEXT_POINTS hours before them; a missing `requests` actual
    is 0, a missing other metric NaN (no traffic: nothing to judge). Each series is scored by
    the walk-forward core (`_walk_scores`): level shifts and runs of hours are judged from the
    context hours, so an hourly run and a backfill give the same rows. An hour no model was
    trained before gets no row.
    """
    _quiet_stan()
    hours = _utc_hours(hours).unique().sort_values()
    if not len(hours) or not models:
        return empty_frame(Forecast), empty_frame(Anomaly)
    plan = WalkForwardPlan.for_step(_HOUR)
    grid = pd.date_range(hours[0] - CONTEXT_POINTS * _HOUR, hours[-1], freq="h")
    asked = grid.isin(hours)
    observed = _wide_by_series(actuals)
    previous = previous or {}
    columns: dict[str, list] = {c: [] for c in Forecast.to_schema().columns}
    for key, model_json in sorted(models.items()):
        service, endpoint, metric = key
        specs = [json.loads(previous[key])] if key in previous else []
        specs.append(json.loads(model_json))
        blocks = []
        for i, spec in enumerate(specs):
            since = _utc(spec["trained_through"])
            inside = grid >= since
            if i + 1 < len(specs):
                inside &= grid < _utc(specs[i + 1]["trained_through"])
            positions = np.flatnonzero(inside)
            if len(positions):
                blocks.append(_Block(spec, positions, _predict(spec, grid[positions])))
        if not blocks:
            continue
        wide = observed.get((service, endpoint))
        v = np.full(len(grid), np.nan)
        n = None
        if wide is not None:
            wide = wide.reindex(grid)
            if metric in wide:
                v = wide[metric].to_numpy(dtype="float64")
            if EH.requests in wide:
                n = np.nan_to_num(wide[EH.requests].to_numpy(dtype="float64"), nan=0.0)
        if metric == EH.requests:
            v = np.nan_to_num(v, nan=0.0)
        slots = _walk_scores(grid, v, n, blocks, metric, plan.adapt_points, options, asked)
        rows = np.sort(np.concatenate([b.positions for b in blocks]))
        columns[Forecast.hour_start].append(grid[rows])
        for name, value in ((Forecast.service, service), (Forecast.endpoint, endpoint)):
            columns[name].append(np.full(len(rows), value, dtype=object))
        columns[Forecast.metric].append(np.full(len(rows), metric, dtype=object))
        columns[Forecast.actual].append(v[rows])
        for name in columns:
            if name in slots["slots"]:
                columns[name].append(slots["slots"][name][rows])
    if not columns[Forecast.hour_start]:
        return empty_frame(Forecast), empty_frame(Anomaly)
    scored = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
    scored[Forecast.hour_start] = _utc_column(scored[Forecast.hour_start])
    flagged = anomalies(scored, validate=False)
    order = [Forecast.hour_start, Forecast.service, Forecast.endpoint, Forecast.metric]
    scored = scored.sort_values(order, ignore_index=True)
    keep = scored[Forecast.hour_start].isin(hours)
    return (
        Forecast.validate(scored[keep].reset_index(drop=True)),
        Anomaly.validate(flagged[flagged[Anomaly.hour_start].isin(hours)].reset_index(drop=True)),
    )


def forecasts(
    models: dict[tuple[str, str, str], str],
    actuals: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    options: ForecastOptions = ForecastOptions(),
    previous: dict[tuple[str, str, str], str] | None = None,
) -> pd.DataFrame:
    """The forecasts of `score`: one row per (model series) x (hour in `hours`)."""
    return score(models, actuals, hours=hours, options=options, previous=previous)[0]


SUSTAINED_HOURS = 3
"""An anomaly whose series was anomalous on the same side for the hours before it, this many
in all, is one severity level higher."""


def _severity(score: pd.Series) -> pd.Series:
    severity = pd.Series("low", index=score.index, dtype="str")
    for bound, name in reversed(_SEVERITY_BANDS):
        severity = severity.mask(score >= bound, name)
    return severity


def anomalies(forecasts: pd.DataFrame, *, validate: bool = True) -> pd.DataFrame:
    """The is_anomaly rows of `forecasts`, with direction, kind and severity.

    direction: spike when the actual is above the forecast (and so above the interval), else
    drop. kind: `availability`
    for a series that served no request where the forecast expected traffic, else
    `deviation`. severity from the score (the distance outside the interval, with runs of
    hours already combined in it): low below 0.95, medium below 0.99, high below 0.999,
    critical from 0.999 (with the default calibration: tail probabilities above 1.25e-5,
    5e-7, 5e-9 and below), one level higher when the series was also anomalous on the same
    side in the SUSTAINED_HOURS - 1 hours before (rows of `forecasts` itself).
    """
    columns = list(Anomaly.to_schema().columns)
    keys = [Forecast.service, Forecast.endpoint, Forecast.metric]
    ordered = forecasts.sort_values([*keys, Forecast.hour_start], ignore_index=True)
    flagged_all = ordered[Forecast.is_anomaly].astype(bool).to_numpy()
    spike = (ordered[Forecast.actual] > ordered[Forecast.yhat]).to_numpy()
    side = np.where(flagged_all, np.where(spike, 1, -1), 0)
    hour = _utc_column(ordered[Forecast.hour_start])
    same_series = (ordered[keys] == ordered[keys].shift(1)).all(axis=1).to_numpy()
    follows = same_series & (hour.diff() == _HOUR).to_numpy()
    run = np.zeros(len(ordered), dtype="int64")
    for i in range(len(ordered)):  # length of the same-side run ending at each row
        if side[i] != 0:
            run[i] = run[i - 1] + 1 if i and follows[i] and side[i - 1] == side[i] else 1
    flagged = ordered[flagged_all].copy()
    flagged[Anomaly.direction] = np.where(spike[flagged_all], "spike", "drop")
    silent = (flagged[Forecast.metric] == EH.requests) & (flagged[Forecast.actual] == 0)
    flagged[Anomaly.kind] = np.where(silent, "availability", "deviation")
    band = _severity(flagged[Forecast.score]).to_numpy()
    rank = np.array([SEVERITY_RANK[name] for name in band], dtype="int64")
    raised = np.minimum(rank + (run[flagged_all] >= SUSTAINED_HOURS), len(SEVERITIES) - 1)
    flagged[Anomaly.severity] = [SEVERITIES[i] for i in raised]
    flagged = flagged.sort_values([Forecast.hour_start, *keys], ignore_index=True)
    return Anomaly.validate(flagged[columns]) if validate else flagged[columns]


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
    """Fits the blocks of models the plan asks for, then scores the grid with them."""
    blocks = _fit_blocks(values, kind, plan, options, counts)
    return _walk_scores(
        pd.DatetimeIndex(values.index),
        values.to_numpy(),
        None if counts is None else counts.to_numpy(),
        blocks,
        _KIND_METRIC[kind],
        plan.adapt_points,
        options,
        bounds=np.zeros(len(values), dtype=bool),  # the rows are scored with their interval
    )


def _fit_blocks(
    values: pd.Series,
    kind: str,
    plan: WalkForwardPlan,
    options: ForecastOptions,
    counts: pd.Series | None = None,
) -> list[_Block]:
    """Models along the grid, each trained only on the points before the block it scores."""
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
    return blocks


def _walk_scores(
    grid: pd.DatetimeIndex,
    v: np.ndarray,
    counts: np.ndarray | None,
    blocks: list[_Block],
    metric: str,
    adapt_points: int,
    options: ForecastOptions,
    bounds: np.ndarray | None = None,
) -> dict[str, Any]:
    """Scores of the grid values `v` given the blocks of models that forecast them: each
    point against its block's forecast and, when the `adapt_points` before it left the
    interval on one side, against the level they shifted to (the lower score wins); then runs
    of points outside on one side combine their evidence (`with_persistence`). Causal: a
    point's result depends only on the points before it, so scoring a stretch with enough
    points of context before it gives what scoring the whole series gives (`CONTEXT_POINTS`).

    Returns the per-point block, offset, persistent score and side (for scoring repeats of a
    point), and `slots`: the Forecast columns of each grid point (the interval only where
    `bounds` is set, when given)."""
    observed = np.isfinite(v)
    # raw scores of the grid values, then the level offset each point is also judged against
    block_of = np.full(len(grid), -1)
    direction = np.zeros(len(grid))
    resid = np.full(len(grid), np.nan)
    scored_blocks = []
    for number, block in enumerate(blocks):
        block_of[block.positions] = number
        actual = (v[block.positions] - block.centre) / block.spread
        n = None if counts is None else counts[block.positions]
        where = None if bounds is None else bounds[block.positions]
        raw = _score_series(
            block.spec, grid[block.positions], actual, n, options, yhat=block.yhat, bounds=where
        )
        scored_blocks.append((block, actual, n, raw))
        outside = raw[Forecast.score] > 0
        above = actual > raw[Forecast.yhat]
        direction[block.positions] = np.where(outside, np.where(above, 1.0, -1.0), 0.0)
        resid[block.positions] = to_model_scale(metric, actual) - block.yhat
    direction[~observed] = np.nan
    offset = _level_offsets(direction, resid, adapt_points)
    # the slots' own scores (against the model's level or the shifted one), then persistence
    slot_score = np.zeros(len(grid))
    slot_side = np.zeros(len(grid))
    slots = {
        Forecast.yhat: np.full(len(grid), np.nan),
        Forecast.yhat_lower: np.full(len(grid), np.nan),
        Forecast.yhat_upper: np.full(len(grid), np.nan),
        Forecast.method: np.full(len(grid), "", dtype=object),
    }
    for block, actual, n, raw in scored_blocks:
        where = None if bounds is None else bounds[block.positions]
        result = _best_of(
            block,
            grid[block.positions],
            actual,
            n,
            offset[block.positions],
            options,
            raw=raw,
            bounds=where,
        )
        scored = np.isfinite(actual)
        slot_score[block.positions] = np.where(scored, result[Forecast.score], 0.0)
        side = np.where(actual > result[Forecast.yhat], 1.0, -1.0)
        # a cold-start baseline does not know the daily cycle yet: a rising morning would read
        # as a run, so only model-based scores persist
        judged = scored & (result[Forecast.score] > 0) & (block.spec["method"] == "prophet")
        slot_side[block.positions] = np.where(judged, side, 0.0)
        for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
            slots[column][block.positions] = result[column] * block.spread + block.centre
        slots[Forecast.method][block.positions] = block.spec["method"]
    persistent = with_persistence(slot_score, slot_side, options.interval_width)
    # persistence only lifts a point that is itself outside on the run's side
    slots[Forecast.score] = np.where(observed, persistent, 0.0)
    slots[Forecast.is_anomaly] = observed & (slots[Forecast.score] >= options.threshold)
    slots["direction"] = np.where(
        slots[Forecast.score] > 0, np.where(v > slots[Forecast.yhat], 1.0, -1.0), 0.0
    )
    return {
        "blocks": blocks,
        "block_of": block_of,
        "offset": offset,
        "persistent": persistent,
        "side": slot_side,
        "slots": slots,
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
    bounds: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scored against the model's level (`raw`, when already scored) and, where a shift is in
    force, the shifted level: the lower score wins (a point is anomalous only if it is far
    from both)."""
    yhat = block.yhat if yhat is None else yhat
    result = (
        raw
        if raw is not None
        else _score_series(block.spec, times, actual, n, options, yhat=yhat, bounds=bounds)
    )
    if (offset != 0).any():
        shifted = _score_series(
            block.spec, times, actual, n, options, offset=offset, yhat=yhat, bounds=bounds
        )
        better = shifted[Forecast.score] < result[Forecast.score]
        result = {k: np.where(better, shifted[k], result[k]) for k in result}
    return result


def _level_offsets(direction: np.ndarray, resid: np.ndarray, points: int) -> np.ndarray:
    """Model-scale shift per point: when at least 80 % of the `points` before it (observed
    ones, at least 80 % of them observed) left the interval on the same side, the median of
    their residuals; else 0. Only points before each point count."""
    size = len(direction)
    position = np.arange(size)

    def before(flags: np.ndarray) -> np.ndarray:  # how many of the `points` before are set
        total = np.concatenate([[0.0], np.cumsum(flags, dtype="float64")])
        return total[position] - total[np.maximum(position - points, 0)]

    need = 0.8 * points
    seen = before(~np.isnan(direction))
    shifted = (seen >= need) & ((before(direction > 0) >= need) | (before(direction < 0) >= need))
    offset = np.zeros(size)
    if shifted.any():
        padded = np.concatenate([np.full(points, np.nan), resid])
        windows = np.lib.stride_tricks.sliding_window_view(padded, points)[:size]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window of NaN only: no shift
            median = np.nanmedian(windows[shifted], axis=1)
        offset[shifted] = np.nan_to_num(median, nan=0.0)
    return offset


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
        side = np.where(actual > result[Forecast.yhat], 1.0, -1.0)
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
