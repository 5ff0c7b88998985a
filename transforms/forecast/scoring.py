"""Scoring values against a fitted model: one point's tail probability, surprise and score
(`score_series`), with the model's spread, the point before it (`deviation`) and the level a
series shifted to; runs of points combining their evidence (`with_persistence`). scipy is
loaded on first use."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from schemas.forecasts import Forecast
from transforms.forecast.calibration import (
    LN10,
    SD_FLOOR,
    UNSEEN_DAY_TYPE_SD,
    expected_rate,
    interval_edge,
    log_sampling_tail,
    log_tail,
    reference_edge,
    reference_log_tail,
    sampling_factor,
    score_of,
    surprise_of,
)
from transforms.forecast.days import day_type
from transforms.forecast.fitting import predict
from transforms.forecast.options import ForecastOptions
from transforms.forecast.series import from_model_scale, metric_family, to_model_scale

SHIFT_HOURS = pd.Timedelta(hours=6)
"""How long a shift must last (and at least 3 points) before the forecast follows it."""


def shift_points(step: pd.Timedelta) -> int:
    """Points before a point that `walk_scores` looks at for a level shift, on a grid of `step`."""
    return max(3, round(SHIFT_HOURS / step))


def _spread(
    spec: dict[str, Any], hours: pd.DatetimeIndex, yhat: np.ndarray, n: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(sigma, a, n_eff) of each point: the model's spread around `yhat` (model scale), with
    the extra variance of a day type the history has not shown; n_eff stands in the typical
    requests where an hour had none."""
    family = metric_family(spec["metric"])
    cal = spec["calibration"]
    typical = spec.get("typical_requests") or 1.0
    n_eff = None if n is None else np.where(np.nan_to_num(n) > 0, np.nan_to_num(n), typical)
    if n_eff is None and family != "count" and spec.get("typical_requests") is not None:
        n_eff = np.full(len(hours), typical)
    unseen = ~np.isin(day_type(hours, spec.get("holidays_country", "")), spec.get("day_types", []))
    a = cal["a"] + np.where(unseen, UNSEEN_DAY_TYPE_SD[family] ** 2, 0.0)
    c = sampling_factor(family, yhat, n_eff, spec.get("pooled_rate"))
    return np.sqrt(a + cal["b"] * c), a, n_eff


def model_sigma(
    spec: dict[str, Any], hours: pd.DatetimeIndex, yhat: np.ndarray, n: np.ndarray | None
) -> np.ndarray:
    """The model's spread of each point around `yhat` (model scale): what an error is
    standardised by."""
    return _spread(spec, hours, yhat, n)[0]


def standardised(
    spec: dict[str, Any],
    hours: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    yhat: np.ndarray,
    previous: np.ndarray | None = None,
) -> np.ndarray:
    """The `deviation` of each point: what a reference calibration is measured on (NaN where
    there is no actual)."""
    sigma = _spread(spec, hours, yhat, n)[0]
    with np.errstate(invalid="ignore"):
        y = to_model_scale(spec["metric"], np.asarray(actual, dtype="float64"))
        return deviation((y - yhat) / sigma, previous, sigma, spec.get("ar1", 0.0))


AR_MIN = 0.1
"""Residual autocorrelation below which the point before is not consulted."""


def deviation(
    z: np.ndarray, previous: np.ndarray | None, sigma: np.ndarray, ar1: float
) -> np.ndarray:
    """A point's standardised deviation from what was expected of it: from the forecast
    (z = residual / sigma) and, when the series' residuals persist from one point to the next
    (lag-1 autocorrelation ar1 >= AR_MIN), also from where the point before left it
    (innovation (residual - ar1 * previous residual) / (sigma * sqrt(1 - ar1^2))). It is the
    smaller of the two when they agree in sign, else 0: a point is surprising only if it is far
    from both. So a lasting shift is surprising where it starts and not at every point after,
    and the point after a spike is not surprising for being back to normal. Where the point
    before is unknown, z."""
    z = np.asarray(z, dtype="float64")
    if previous is None or ar1 < AR_MIN:
        return z
    with np.errstate(invalid="ignore"):
        innovation = (z - ar1 * np.asarray(previous, dtype="float64") / sigma) / math.sqrt(
            1 - ar1**2
        )
        agree = np.sign(innovation) == np.sign(z)
        both = np.where(agree, np.sign(z) * np.minimum(np.abs(z), np.abs(innovation)), 0.0)
    return np.where(np.isfinite(innovation), both, z)


def score_series(
    spec: dict[str, Any],
    hours: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    options: ForecastOptions,
    offset: np.ndarray | None = None,
    yhat: np.ndarray | None = None,
    bounds: np.ndarray | None = None,
    previous: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Forecast columns for `hours`. `yhat` (model scale) may be given when already predicted;
    `offset` (model scale) moves the forecast to a level the series has shifted to;
    `previous` is the model-scale residual of the grid point before each (NaN where unknown),
    for `deviation` (see there). `bounds`
    (a mask) limits where the interval is computed when that is costly (rates: beta-binomial
    quantiles); elsewhere it is NaN (the score does not need it)."""
    metric = spec["metric"]
    family = metric_family(metric)
    cal = spec["calibration"]
    yhat = predict(spec, hours) if yhat is None else np.asarray(yhat, dtype="float64")
    if offset is not None:
        yhat = yhat + offset
    pooled = spec.get("pooled_rate")
    sigma, a, n_eff = _spread(spec, hours, yhat, n)
    p_edge = (1 - options.interval_width) / 2
    reference = spec.get("reference")
    if reference is not None:
        edge_lo = reference_edge(reference["lo"], p_edge)
        edge_hi = reference_edge(reference["hi"], p_edge)
    else:
        edge_lo = interval_edge(cal["u_lo"], cal["scale_lo"], cal["shape_lo"], p_edge)
        edge_hi = interval_edge(cal["u_hi"], cal["scale_hi"], cal["shape_hi"], p_edge)
    lower, upper = yhat - edge_lo * sigma, yhat + edge_hi * sigma

    if family == "rate" and n is not None and pooled is not None:
        return _score_rate(spec, yhat, actual, n, n_eff, a, p_edge, options, bounds)

    y = to_model_scale(metric, actual)
    if offset is not None and previous is not None:
        previous = previous - offset
    z = deviation((y - yhat) / sigma, previous, sigma, spec.get("ar1", 0.0))
    above = z > 0
    with np.errstate(invalid="ignore"):
        if reference is not None:  # the deviations the series' models really made
            log_p = np.where(
                above,
                reference_log_tail(np.abs(z), reference["hi"]),
                reference_log_tail(np.abs(z), reference["lo"]),
            )
        else:  # the model's own tails
            log_p = np.where(
                above,
                log_tail(np.abs(z), cal["u_hi"], cal["scale_hi"], cal["shape_hi"]),
                log_tail(np.abs(z), cal["u_lo"], cal["scale_lo"], cal["shape_lo"]),
            )
    log_p = np.maximum(log_p, log_sampling_tail(family, actual, yhat, n, above, pooled, sigma))
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
    from scipy import stats

    rate = np.clip(expected_rate(yhat, spec["pooled_rate"]), 1e-6, 1 - 1e-6)
    rho = np.clip(4 * a, 4 * SD_FLOOR["rate"] ** 2, 0.5)
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
    surprise = surprise_of(log_p)
    score = score_of(surprise, options.interval_width)
    return {
        Forecast.actual: np.asarray(actual, dtype="float64"),
        Forecast.yhat: yhat,
        Forecast.yhat_lower: lower,
        Forecast.yhat_upper: upper,
        Forecast.score: score,
        Forecast.surprise: surprise,
        Forecast.is_anomaly: score >= options.threshold,
        Forecast.method: np.full(len(yhat), spec["method"]),
    }


PERSISTENCE_RUN = 3
"""Consecutive hours on the same side of the interval whose evidence is combined."""


def with_persistence(surprise: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Surprises of time-ordered points of one series, raised where a run of 2 or 3 consecutive
    points left the interval on the same side: their one-sided tail probabilities are combined
    (Fisher) and corrected for the run lengths tried (Bonferroni), so three hours each a little
    outside count as the evidence they are together. `direction` is +1 above, -1 below, 0
    inside or unscored. A surprise never goes down."""
    from scipy import stats

    surprise = np.asarray(surprise, dtype="float64")
    direction = np.nan_to_num(np.asarray(direction, dtype="float64"))
    log_p = np.where(direction != 0, -surprise * LN10, math.log(0.5))
    best = np.zeros(len(surprise))
    if np.count_nonzero(direction) < 2:
        return surprise
    for run in range(2, PERSISTENCE_RUN + 1):
        if len(surprise) < run:
            break
        windows = np.lib.stride_tricks.sliding_window_view(direction, run)
        same = (np.abs(windows.sum(axis=1)) == run) & (windows[:, 0] != 0)
        if not same.any():
            continue
        total = -2 * np.lib.stride_tricks.sliding_window_view(log_p, run).sum(axis=1)
        log_combined = stats.chi2.logsf(total, 2 * run) + math.log(PERSISTENCE_RUN - 1)
        combined = np.where(same, surprise_of(log_combined), 0.0)
        best[run - 1 :] = np.maximum(best[run - 1 :], combined)
    return np.maximum(surprise, best)
