"""Scoring values against fitted models: one point's score (score_series), level shifts and runs
of points along a grid of model blocks (walk_scores), and `score`, the flows' scoring of the
day's stored models. scipy is loaded on first use."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.common import empty_frame
from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.anomalies import anomalies
from transforms.forecast.calibration import (
    SD_FLOOR,
    UNSEEN_DAY_TYPE_SD,
    expected_rate,
    interval_edge,
    log_sampling_tail,
    log_tail,
    reference_edge,
    reference_log_tail,
    sampling_factor,
)
from transforms.forecast.days import day_type
from transforms.forecast.fitting import predict, quiet_stan
from transforms.forecast.options import HOUR, SCORE_DECADES, ForecastOptions
from transforms.forecast.series import (
    from_model_scale,
    metric_family,
    to_model_scale,
    utc_column,
    utc_hours,
    utc_timestamp,
    wide_by_series,
)

# Score. p is the one-sided tail probability of the observed value under the series' spread
# (calibration; for error rates with known request counts: beta-binomial with the forecast rate
# and the series' extra-binomial spread, so 1 error in 20 requests is judged as a count, not as
# 5 %; for request counts p is never below the exact Poisson tail). With
# p_edge = (1 - interval_width) / 2, the interval is where p = p_edge and
#
#     score = 1 - (p / p_edge) ** (1 / SCORE_DECADES)      (0 inside the interval)
#
# so one threshold means one tail probability on every series, quiet or noisy. With the defaults
# (interval_width 0.99, SCORE_DECADES 2) a score of 0.9 means p = 0.005 * 0.1**2 = 5e-5: a healthy
# series goes that far in that direction about once in 20,000 hours (2.3 years); 0.99 means 5e-7.
# That strictness is deliberate: a deployment runs thousands of (series, hour) tests a day.

SHIFT_HOURS = pd.Timedelta(hours=6)
"""How long a shift must last (and at least 3 points) before the forecast follows it."""


def shift_points(step: pd.Timedelta) -> int:
    """Points before a point that `walk_scores` looks at for a level shift, on a grid of `step`."""
    return max(3, round(SHIFT_HOURS / step))


LN10 = math.log(10.0)


def surprise_of(log_p: np.ndarray) -> np.ndarray:
    """-log10 of a one-sided tail probability given as its natural log: unbounded, so the
    extreme cases stay apart (a score saturates at 1); 0 where nothing was judged (NaN)."""
    return np.maximum(-np.nan_to_num(np.asarray(log_p, dtype="float64"), nan=0.0) / LN10, 0.0)


def score_of(surprise: np.ndarray, interval_width: float) -> np.ndarray:
    """The 0..1 score of a surprise: 0 inside the interval (tail probability above
    p_edge = (1 - interval_width) / 2), 1 - (p / p_edge) ** (1 / SCORE_DECADES) beyond."""
    p_edge = (1 - interval_width) / 2
    excess = np.clip(-np.asarray(surprise, dtype="float64") * LN10 - math.log(p_edge), None, 0.0)
    return np.clip(1.0 - np.exp(excess / SCORE_DECADES), 0.0, 1.0)


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


@dataclass
class Block:
    """One model and the grid positions it forecasts."""

    spec: dict[str, Any]
    positions: np.ndarray  # grid positions scored with this model
    yhat: np.ndarray  # model scale, per position
    centre: float = 0.0  # linear kind: the training window's median and robust spread
    spread: float = 1.0

    def residuals(self, v: np.ndarray, metric: str) -> np.ndarray:
        """Model-scale residuals of the grid values `v` at this block's positions, in the units
        of the series (times a linear block's spread)."""
        actual = (v[self.positions] - self.centre) / self.spread
        return (to_model_scale(metric, actual) - self.yhat) * self.spread


def grid_residuals(
    grid: pd.DatetimeIndex, v: np.ndarray, blocks: list[Block], metric: str
) -> np.ndarray:
    """The residual of each grid point from its block's forecast (model scale, in the units of
    the series: times a linear block's spread), NaN where it is missing or has no block."""
    resid = np.full(len(grid), np.nan)
    for block in blocks:
        resid[block.positions] = block.residuals(v, metric)
    return resid


RECENT_WINDOW = pd.Timedelta(days=1)
"""How far back a point's error is compared with the series' own recent errors."""
RECENT_MIN_POINTS = 10
"""Errors the recent window needs before it is consulted."""
RECENT_SD_FLOOR = 0.1
"""Smallest spread of recent standardised errors (in model sigmas): a series its model fits
almost exactly is not judged by rounding noise."""
RECENT_RUN_POINTS = 6
"""Inside a run of points outside the interval on one side, each is judged against the window
before the run began, at most this many points back."""


def recent_points(step: pd.Timedelta) -> int:
    """Grid points in the recent window before a point (at least RECENT_MIN_POINTS)."""
    return max(int(RECENT_WINDOW / step), RECENT_MIN_POINTS)


def recent_reference(units: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sd) of the standardised errors in the `points` grid points strictly before each
    point, NaN where fewer than RECENT_MIN_POINTS of them are known."""
    before = pd.Series(units, dtype="float64").shift(1)
    window = before.rolling(points, min_periods=RECENT_MIN_POINTS)
    return window.mean().to_numpy(), window.std().to_numpy()


def recent_surprise(units: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """-log10 of the normal tail beyond the point's standardised error, measured from the mean
    of the errors in the window before it in units of their sd (at least RECENT_SD_FLOOR):
    how unusual this error is for the series now, its routine bursts included. NaN where the
    window is not known."""
    from scipy.special import log_ndtr

    known = np.isfinite(mean) & np.isfinite(sd) & np.isfinite(units)
    out = np.full(len(units), np.nan)
    z = np.abs(units[known] - mean[known]) / np.maximum(sd[known], RECENT_SD_FLOOR)
    out[known] = surprise_of(log_ndtr(-z))
    return out


def run_lengths(side: np.ndarray, most: int) -> np.ndarray:
    """For each point, how many points right before it are on its side (non-zero), at most
    `most`."""
    out = np.zeros(len(side), dtype=int)
    for k in range(1, most + 1):
        same = np.zeros(len(side), dtype=bool)
        same[k:] = (side[k:] != 0) & (side[:-k] == side[k:])
        if k > 1:
            same &= out == k - 1
        out[same] = k
    return out


def capped_by_recent(surprise: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """A point is surprising only if it is far outside what the model expects and also unusual
    against the series' recent errors: the smaller of the two surprises (the model's alone
    where the recent window is not known yet)."""
    return np.where(np.isfinite(recent), np.minimum(surprise, recent), surprise)


LEVEL_WINDOW = pd.Timedelta(days=7)
"""How far back a point's value is compared with the series' own values (a week: every day
of the week is in it)."""


def level_reference(
    v: np.ndarray, step: pd.Timedelta, known_from: int = 0
) -> tuple[np.ndarray, ...]:
    """(mean, sd, lowest, highest) of the grid values `v` in the LEVEL_WINDOW strictly before
    each point; NaN until a RECENT_WINDOW of them is known, and before `known_from` (where
    the series was not known yet)."""
    before = pd.Series(v, dtype="float64")
    before.iloc[:known_from] = np.nan
    day_points = recent_points(step)
    week = before.shift(1).rolling(
        max(int(LEVEL_WINDOW / step), day_points), min_periods=day_points
    )
    return tuple(part.to_numpy() for part in (week.mean(), week.std(), week.min(), week.max()))


def level_surprise(
    values: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    lowest: np.ndarray,
    highest: np.ndarray,
    family: str,
) -> np.ndarray:
    """For a value outside the range of the series' values of the week before it: -log10 of
    the normal tail beyond its distance from their mean, in units of their sd; 0 inside that
    range (a series whose bursts are routine seldom sets a new record), NaN where the window
    is not known. The sd is at least the Poisson noise of the mean for counts (at least 1: a
    quiet endpoint's one request is no news), else a billionth of the mean's size."""
    from scipy.special import log_ndtr

    values = np.asarray(values, dtype="float64")
    known = np.isfinite(mean) & np.isfinite(sd) & np.isfinite(values) & np.isfinite(lowest)
    out = np.full(len(values), np.nan)
    x, m = values[known], mean[known]
    floor = np.sqrt(np.maximum(m, 1.0)) if family == "count" else 1e-9 * np.maximum(np.abs(m), 1)
    z = np.abs(x - m) / np.maximum(sd[known], floor)
    record = (x > highest[known]) | (x < lowest[known])
    out[known] = np.where(record, surprise_of(log_ndtr(-z)), 0.0)
    return out


def final_surprise(
    surprise: np.ndarray, recent: np.ndarray, level: np.ndarray | None
) -> np.ndarray:
    """A point's final surprise: the model's, capped by its error against the recent errors
    (`capped_by_recent`), or, when larger, how far its value is outside the series' values of
    the week before it (`level_surprise`; None or NaN where that is not consulted)."""
    capped = capped_by_recent(surprise, recent)
    if level is None:
        return capped
    return np.fmax(capped, np.nan_to_num(level, nan=0.0))


def level_checked(family: str, counts: np.ndarray | None) -> bool:
    """Whether a series' values are also judged against its values of the week before: counts
    always (their noise is known), other metrics only where no request counts stand behind
    the values (where they do, a quiet hour's rate or percentile is judged by the model,
    which weighs it by its requests)."""
    return family == "count" or counts is None


def grid_sigmas(
    grid: pd.DatetimeIndex, counts: np.ndarray | None, blocks: list[Block]
) -> np.ndarray:
    """The model's spread at each grid point (model scale, in the units of the series), NaN
    where it has no block: what an error is standardised by, so an hour of few requests
    counts for less."""
    sigma = np.full(len(grid), np.nan)
    for block in blocks:
        n = None if counts is None else counts[block.positions]
        sigma[block.positions] = (
            model_sigma(block.spec, grid[block.positions], block.yhat, n) * block.spread
        )
    return sigma


def walk_scores(
    grid: pd.DatetimeIndex,
    v: np.ndarray,
    counts: np.ndarray | None,
    blocks: list[Block],
    metric: str,
    adapt_points: int,
    options: ForecastOptions,
    bounds: np.ndarray | None = None,
    known_from: int = 0,
) -> dict[str, Any]:
    """Scores of the grid values `v` given the blocks of models that forecast them: each
    point against its block's forecast and, when the `adapt_points` before it left the
    interval on one side, against the level they shifted to (the lower score wins); then runs
    of points outside on one side combine their evidence (`with_persistence`); then each
    point's surprise is capped by how unusual its error is against the series' errors of the
    day before it (`recent_surprise`, `capped_by_recent`); last, a value beyond everything the
    series did in the week before it is judged by its distance from that week's mean too,
    whatever the model says (`level_surprise`, `final_surprise`; the grid positions before
    `known_from` are not part of that week). Causal: a point's result depends only on the
    points before it, so scoring a stretch with enough points of context before it gives
    what scoring the whole series gives (`CONTEXT_POINTS`).

    Returns the per-point block, offset, persistent surprise and side (for scoring repeats of a
    point), and `slots`: the Forecast columns of each grid point (the interval only where
    `bounds` is set, when given)."""
    observed = np.isfinite(v)
    residuals = grid_residuals(grid, v, blocks, metric)
    previous = np.concatenate([[np.nan], residuals[:-1]])  # of the point before each
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
        before = previous[block.positions] / block.spread
        raw = score_series(
            block.spec,
            grid[block.positions],
            actual,
            n,
            options,
            yhat=block.yhat,
            bounds=where,
            previous=before,
        )
        scored_blocks.append((block, actual, n, raw, before))
        outside = raw[Forecast.score] > 0
        above = actual > raw[Forecast.yhat]
        direction[block.positions] = np.where(outside, np.where(above, 1.0, -1.0), 0.0)
        resid[block.positions] = to_model_scale(metric, actual) - block.yhat
    direction[~observed] = np.nan
    offset = _level_offsets(direction, resid, adapt_points)
    # the slots' own scores (against the model's level or the shifted one), then persistence
    slot_surprise = np.zeros(len(grid))
    slot_side = np.zeros(len(grid))
    slots = {
        Forecast.yhat: np.full(len(grid), np.nan),
        Forecast.yhat_lower: np.full(len(grid), np.nan),
        Forecast.yhat_upper: np.full(len(grid), np.nan),
        Forecast.method: np.full(len(grid), "", dtype=object),
    }
    for block, actual, n, raw, before in scored_blocks:
        where = None if bounds is None else bounds[block.positions]
        result = best_of(
            block,
            grid[block.positions],
            actual,
            n,
            offset[block.positions],
            options,
            raw=raw,
            bounds=where,
            previous=before,
        )
        scored = np.isfinite(actual)
        slot_surprise[block.positions] = np.where(scored, result[Forecast.surprise], 0.0)
        side = np.where(actual > result[Forecast.yhat], 1.0, -1.0)
        # a cold-start baseline does not know the daily cycle yet: a rising morning would read
        # as a run, so only model-based scores persist
        judged = scored & (result[Forecast.score] > 0) & (block.spec["method"] == "prophet")
        slot_side[block.positions] = np.where(judged, side, 0.0)
        for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
            slots[column][block.positions] = result[column] * block.spread + block.centre
        slots[Forecast.method][block.positions] = block.spec["method"]
    persistent = with_persistence(slot_surprise, slot_side)
    # the recent errors: each point's error in model sigmas, against the day before it (inside
    # a run on one side, the day before the run began: the run does not make itself routine)
    units = residuals / grid_sigmas(grid, counts, blocks)
    step = grid[1] - grid[0] if len(grid) > 1 else HOUR
    start = np.arange(len(grid)) - run_lengths(slot_side, RECENT_RUN_POINTS)
    recent = tuple(part[start] for part in recent_reference(units, recent_points(step)))
    # the values themselves, against the values of the week before each point
    family = metric_family(metric)
    level = level_reference(v, step, known_from) if level_checked(family, counts) else None
    level_s = None if level is None else level_surprise(v, *level, family)
    # persistence only lifts a point that is itself outside on the run's side
    slots[Forecast.surprise] = np.where(
        observed, final_surprise(persistent, recent_surprise(units, *recent), level_s), 0.0
    )
    slots[Forecast.score] = score_of(slots[Forecast.surprise], options.interval_width)
    slots[Forecast.is_anomaly] = observed & (slots[Forecast.score] >= options.threshold)
    slots["direction"] = np.where(
        slots[Forecast.score] > 0, np.where(v > slots[Forecast.yhat], 1.0, -1.0), 0.0
    )
    return {
        "blocks": blocks,
        "block_of": block_of,
        "offset": offset,
        "persistent": persistent,
        "previous": previous,
        "recent": recent,
        "level": level,
        "side": slot_side,
        "slots": slots,
    }


def best_of(
    block: Block,
    times: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    offset: np.ndarray,
    options: ForecastOptions,
    yhat: np.ndarray | None = None,
    raw: dict[str, np.ndarray] | None = None,
    bounds: np.ndarray | None = None,
    previous: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scored against the model's level (`raw`, when already scored) and, where a shift is in
    force, the shifted level: the lower score wins (a point is anomalous only if it is far
    from both)."""
    yhat = block.yhat if yhat is None else yhat
    result = (
        raw
        if raw is not None
        else score_series(
            block.spec, times, actual, n, options, yhat=yhat, bounds=bounds, previous=previous
        )
    )
    if (offset != 0).any():
        shifted = score_series(
            block.spec,
            times,
            actual,
            n,
            options,
            offset=offset,
            yhat=yhat,
            bounds=bounds,
            previous=previous,
        )
        better = shifted[Forecast.surprise] < result[Forecast.surprise]
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


CONTEXT_POINTS = max(int(LEVEL_WINDOW / HOUR), recent_points(HOUR) + 2 * RECENT_RUN_POINTS)
"""Hours scored before the first one asked for, so that what it is judged against is what
scoring the whole series gives: the values of the week before it (`level_reference`), and
the recent errors of the day before it, or before the run of up to RECENT_RUN_POINTS hours it
is in, whose own sides need the level offset of the 6 hours before each (this also covers
its runs of hours, 2 + 2 back)."""


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
    is 0, a missing other metric NaN (no traffic: nothing to judge); the hours before a
    series' first row are not among the values of the week a value is compared with. Each
    series is scored by the walk-forward core (`walk_scores`): level shifts and runs of hours
    are judged from the context hours, so an hourly run and a backfill give the same rows. An
    hour no model was trained before gets no row.
    """
    quiet_stan()
    hours = utc_hours(hours).unique().sort_values()
    if not len(hours) or not models:
        return empty_frame(Forecast), empty_frame(Anomaly)
    grid = pd.date_range(hours[0] - CONTEXT_POINTS * HOUR, hours[-1], freq="h")
    asked = grid.isin(hours)
    observed = wide_by_series(actuals)
    previous = previous or {}
    columns: dict[str, list] = {c: [] for c in Forecast.to_schema().columns}
    for key, model_json in sorted(models.items()):
        service, endpoint, metric = key
        specs = [json.loads(previous[key])] if key in previous else []
        specs.append(json.loads(model_json))
        blocks = []
        for i, spec in enumerate(specs):
            since = utc_timestamp(spec["trained_through"])
            inside = grid >= since
            if i + 1 < len(specs):
                inside &= grid < utc_timestamp(specs[i + 1]["trained_through"])
            positions = np.flatnonzero(inside)
            if len(positions):
                blocks.append(Block(spec, positions, predict(spec, grid[positions])))
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
        seen = np.flatnonzero(np.isfinite(v))
        known_from = int(seen[0]) if len(seen) else len(grid)
        if metric == EH.requests:
            v = np.nan_to_num(v, nan=0.0)
        slots = walk_scores(
            grid, v, n, blocks, metric, shift_points(HOUR), options, asked, known_from
        )
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
    scored[Forecast.hour_start] = utc_column(scored[Forecast.hour_start])
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
