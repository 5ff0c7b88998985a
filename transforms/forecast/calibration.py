"""The spread of a series around its forecast: residual variances, sampling noise, generalised
Pareto tails, and the tail probabilities a score is computed from. scipy is loaded on first use."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from schemas.metrics import EndpointHourly as EH
from transforms.forecast.options import SCORE_DECADES
from transforms.forecast.series import from_model_scale

# Spread. An hour's deviation from the forecast (model scale) has variance `a + b * c_t`, where
# c_t is the sampling noise the hour's traffic implies (exact Poisson / binomial variance of the
# transformed count while counts are small, 1/n for a latency percentile) and a, b are fitted on
# the series' own in-sample residuals (incidents removed, never below the sampling theory nor a
# small floor), plus the variance of a new day's level that in-sample residuals understate, plus a
# prior for a day type (weekday / weekend) the history has not shown yet. Beyond their 90th
# percentile the standardised residuals get generalised Pareto tails per side (peaks over
# threshold, shrunk towards a slightly heavier-than-exponential prior when there are few).

_TAIL_QUANTILE = 0.90  # tails are modelled beyond the 90th percentile of standardised residuals
_TAIL_DEFAULT = 0.7  # tail scale (in sigmas) assumed when residuals are few
_SHAPE_DEFAULT = 0.1  # tail shape assumed when residuals are few: a little heavier than exponential
_TAIL_PRIOR_WEIGHT = 10.0  # pseudo-exceedances of the defaults in the shrunk estimates
_SCALE_BOUNDS = (0.4, 3.0)
_SHAPE_BOUNDS = (0.0, 0.5)
_OUTLIER_SIGMAS = 6.0  # training hours further than this from the hour-of-day median are incidents
_TRIM_SIGMAS = 4.0  # residuals beyond this are left to the tail model when fitting the variance
_Z90 = 1.2815515655446004  # standard normal 90th percentile
# Smallest unexplained variation per metric family (model-scale sd): real services wobble more
# than sampling noise, even when a short or unusually calm history does not show it. Linear
# values are in units of their training window's robust spread.
SD_FLOOR = {"count": 0.10, "log": 0.05, "rate": 0.01, "linear": 0.25}
# Sampling-noise coefficient the theory guarantees (b >= this): Poisson, binomial, unknown.
_B_MIN = {"count": 1.0, "rate": 1.0, "log": 0.0, "linear": 0.0}
# Extra model-scale sd for a day of a type (weekday / weekend) the history has not shown yet:
# weekend traffic commonly differs by a third or more, and nothing in a weekday-only history
# says by how much. Gone once that day type has been seen (then the fit's own spread covers it).
UNSEEN_DAY_TYPE_SD = {"count": 0.35, "log": 0.15, "rate": 0.05, "linear": 0.15}


def robust_sd(x: np.ndarray) -> float:
    """1.4826 times the median absolute deviation: the sd of normal data, robust to outliers."""
    if len(x) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def hour_of_day_centres(t: np.ndarray, hod: np.ndarray, min_count: int) -> np.ndarray:
    """Median per hour of day where that hour has min_count values, else the overall median."""
    centres = np.full(24, float(np.median(t)))
    for h in range(24):
        values = t[hod == h]
        if len(values) >= min_count:
            centres[h] = float(np.median(values))
    return centres


def inliers(
    t: np.ndarray, hod: np.ndarray, family: str, n: np.ndarray | None, pooled_rate: float | None
) -> np.ndarray:
    """Training hours that look like normal behaviour (past incidents and outages are not):
    within _OUTLIER_SIGMAS of their hour-of-day median, given the hour's sampling noise."""
    centres = hour_of_day_centres(t, hod, min_count=3)
    resid = t - centres[hod]
    c = sampling_factor(family, centres[hod], n, pooled_rate)
    a, b = variance(resid, c, family, dof=1.0)
    return np.abs(resid) <= _OUTLIER_SIGMAS * np.sqrt(a + b * c)


def sampling_factor(
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
        rate = expected_rate(yhat, pooled_rate)
        p = np.clip(np.minimum(rate, 1 - rate), 1e-6, 0.5)
        return _small_count_variance(0.25 / trials, trials * p, trials, None)
    return 1.0 / trials


def expected_rate(yhat: np.ndarray, pooled_rate: float | None) -> np.ndarray:
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
    from scipy import stats

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


def variance(resid: np.ndarray, c: np.ndarray, family: str, dof: float) -> tuple[float, float]:
    """(a, b) of sigma_t^2 = a + b c_t from the residuals, trimming beyond _TRIM_SIGMAS.

    b is the sampling theory's for counts and rates and fitted (non-negative) for latencies;
    a is the extra variation, never below the family's floor. `dof` (>= 1) inflates the
    in-sample spread for the parameters the fit spent on it. Moments rather than a MAD because
    rates are discrete and often zero, where the MAD collapses.
    """
    from scipy import optimize

    a_min, b_min = SD_FLOOR[family] ** 2, _B_MIN[family]
    if len(resid) == 0:
        return a_min, b_min
    r2 = resid**2
    a = max(robust_sd(resid) ** 2 - b_min * float(np.mean(c)), a_min)
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


def fit_tails(z: np.ndarray) -> dict[str, float]:
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
            scale, shape = _shrunk_pareto(excess, _TAIL_DEFAULT)
        out[f"u_{side}"] = u
        out[f"scale_{side}"] = float(np.clip(scale, *_SCALE_BOUNDS))
        out[f"shape_{side}"] = float(np.clip(shape, *_SHAPE_BOUNDS))
    return out


def _shrunk_pareto(excess: np.ndarray, default_scale: float) -> tuple[float, float]:
    """(scale, shape) of a generalised Pareto fitted to sorted excesses (at least 3) by
    probability-weighted moments (Hosking & Wallis 1987), shrunk towards (default_scale,
    _SHAPE_DEFAULT) by _TAIL_PRIOR_WEIGHT pseudo-exceedances; not yet clipped to bounds."""
    m = len(excess)
    a0 = float(np.mean(excess))
    a1 = float(np.mean(excess * (1 - (np.arange(1, m + 1) - 0.35) / m)))
    if a0 > 2 * a1 > 0:
        shape_hat, scale_hat = 2 - a0 / (a0 - 2 * a1), 2 * a0 * a1 / (a0 - 2 * a1)
    else:
        shape_hat, scale_hat = 0.0, a0
    w = _TAIL_PRIOR_WEIGHT
    return (m * scale_hat + w * default_scale) / (m + w), (m * shape_hat + w * _SHAPE_DEFAULT) / (
        m + w
    )


def default_tails() -> dict[str, float]:
    """The tails assumed without residuals to fit them on (a cold-start baseline's)."""
    return {
        f"{name}_{side}": value
        for side in ("hi", "lo")
        for name, value in (("u", _Z90), ("scale", _TAIL_DEFAULT), ("shape", _SHAPE_DEFAULT))
    }


def day_level_variance(resid: np.ndarray, index: pd.DatetimeIndex, day_params: int) -> float:
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


def pooled_rate_of(
    family: str, values: np.ndarray, counts: np.ndarray | None, keep: np.ndarray | None
) -> float | None:
    """(events + 1) / (requests + 2) over the (kept) training hours, for rates whose counts are
    known. The pseudo-counts keep a history without a single error from claiming a zero rate."""
    if family != "rate" or counts is None:
        return None
    keep = np.ones(len(values), dtype=bool) if keep is None else keep
    events = float((values[keep] * counts[keep]).sum())
    return (events + 1.0) / (float(counts[keep].sum()) + 2.0)


def baseline_residuals(
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


def interval_edge(u: float, scale: float, shape: float, p_edge: float) -> float:
    """Standardised deviation whose one-sided tail probability is p_edge."""
    from scipy import stats

    p_u = 1 - _TAIL_QUANTILE
    if p_edge <= p_u:
        ratio = math.log(p_u / p_edge)
        grow = ratio if shape < 1e-6 else math.expm1(shape * ratio) / shape
        return u + scale * grow
    # Inside the body (interval_width < 0.8): a normal shape joined at u.
    return float(stats.norm.isf(min(p_edge * stats.norm.sf(u) / p_u, 0.5)))


def log_tail(z: np.ndarray, u: float, scale: float, shape: float) -> np.ndarray:
    """log P(Z >= z) for z >= 0 under the fitted side: generalised Pareto beyond u, normal below."""
    from scipy import stats

    p_u = 1 - _TAIL_QUANTILE
    body = np.log(p_u) + stats.norm.logsf(np.minimum(z, u)) - stats.norm.logsf(u)
    excess = np.maximum(z - u, 0.0) / scale
    decay = excess if shape < 1e-6 else np.log1p(shape * excess) / shape
    tail = np.log(p_u) - decay
    return np.minimum(np.where(z > u, tail, body), np.log(0.5))


def log_sampling_tail(
    family: str,
    actual: np.ndarray,
    yhat: np.ndarray,
    n: np.ndarray | None,
    upper: np.ndarray,
    pooled_rate: float | None,
    sigma: np.ndarray | float = 0.0,
) -> np.ndarray:
    """log tail probability of the observed count under pure Poisson / binomial sampling.

    The model's p is never allowed below this: a deviation sampling noise explains is no anomaly.
    A count's Poisson mean is the mean the log-scale forecast implies (yhat, with spread
    `sigma` on that scale: exp(yhat + sigma^2 / 2) - 1), not its back-transformed median: a
    sparse counter, mostly 0 and now and then 1, has a median of 0 but a mean that makes its
    ones routine.
    """
    from scipy import stats

    out = np.full(len(actual), -np.inf)
    with np.errstate(all="ignore"):
        if family == "count":
            k = np.round(np.nan_to_num(actual))
            mean = np.expm1(np.asarray(yhat, dtype="float64") + np.square(sigma) / 2)
            lam = np.maximum(mean, 1e-9)
            out = np.where(upper, stats.poisson.logsf(k - 1, lam), stats.poisson.logcdf(k, lam))
        elif family == "rate" and n is not None:
            trials = np.round(np.nan_to_num(n)).astype("int64")
            k = np.round(np.nan_to_num(actual) * trials)
            p0 = np.clip(expected_rate(yhat, pooled_rate), 1e-9, 1 - 1e-9)
            sampled = np.where(
                upper, stats.binom.logsf(k - 1, trials, p0), stats.binom.logcdf(k, trials, p0)
            )
            out = np.where(trials > 0, sampled, -np.inf)
    return np.nan_to_num(out, nan=-np.inf)


# Reference calibration. A model's own spread (a, b and in-sample tails) says how far a point
# may stray from the forecast if the model were right; how far points of this series really
# stray, model errors, routine bursts and all, is measured on the standardised residuals
# z = (y - yhat) / sigma of points the models did not see: in walk_forward, the points its
# earlier models scored over the last 7 days (at least 300 points), incidents included; with
# fewer than MIN_REFERENCE of them, the model's own tails serve. Per side the empirical tail is kept at a few
# probabilities down to p_u, and a generalised Pareto tail beyond; a point's tail probability
# is the larger of that and the normal tail of z / REFERENCE_FLOOR.

REFERENCE_FLOOR = 0.1
"""A deviation within this fraction of the model's spread (which never goes below the family's
smallest wobble, SD_FLOOR) is never surprising, however calm the series has been: a noise-free
series is not flagged for its rounding errors."""

MIN_REFERENCE = 200
"""Standardised residuals needed before a reference calibration replaces the model's tails."""

_REF_BODY_POINTS = 12
_REF_SCALE_BOUNDS = (0.25, 50.0)  # times the residuals' robust spread
_REF_SHAPE_BOUNDS = (0.0, 1.0)


def reference_tails(z: np.ndarray) -> dict[str, object] | None:
    """The reference calibration of standardised residuals `z` (None with fewer than
    MIN_REFERENCE finite values): per side ("hi": z, "lo": -z) the quantiles at
    probabilities from 1/2 down to p_u (5 %, or 10 % with fewer than 400 values) and the
    generalised Pareto tail of the excesses over the last one."""
    z = np.asarray(z, dtype="float64")
    z = z[np.isfinite(z)]
    if len(z) < MIN_REFERENCE:
        return None
    return {"n": len(z), "hi": _reference_side(z), "lo": _reference_side(-z)}


def _reference_side(x: np.ndarray) -> dict[str, object]:
    """One side's empirical body and its tail beyond p_u: a generalised Pareto fitted to the
    excesses over p_u's quantile (probability-weighted moments, shrunk towards the default
    tail), each capped at the quantile of p_u / 5 (the 99th percentile when p_u is 5 %). So
    the bursts a series has every day or two shape the tail, while its rarest values, most
    often past incidents, do not make the next incident look ordinary."""
    p_u = 0.05 if len(x) >= 400 else 0.10
    probs = np.geomspace(0.5, p_u, _REF_BODY_POINTS)
    # strictly increasing knots (ties, as in a series of many equal values, would make the
    # interpolation ambiguous)
    quantiles = np.maximum.accumulate(np.quantile(x, 1 - probs)) + np.arange(len(probs)) * 1e-9
    u = float(quantiles[-1])
    cap = float(np.quantile(x, 1 - p_u / 5))
    excess = np.sort(np.minimum(x[x > u], cap) - u)
    m = len(excess)
    # in units of the residuals' own spread, which the model's floor may have made small
    unit = max(robust_sd(x), 1e-9)
    scale, shape = _TAIL_DEFAULT * unit, _SHAPE_DEFAULT
    if m >= 3:
        scale, shape = _shrunk_pareto(excess, _TAIL_DEFAULT * unit)
    low, high = _REF_SCALE_BOUNDS
    return {
        "z": quantiles.tolist(),
        "log_p": np.log(probs).tolist(),
        "scale": float(np.clip(scale, low * unit, high * unit)),
        "shape": float(np.clip(shape, *_REF_SHAPE_BOUNDS)),
    }


def reference_log_tail(z: np.ndarray, side: dict[str, object]) -> np.ndarray:
    """log P(Z >= z) on one side of a reference calibration (z measured outwards), never below
    the standard normal tail's."""
    from scipy import stats

    z = np.asarray(z, dtype="float64")
    knots = np.asarray(side["z"], dtype="float64")
    log_p = np.asarray(side["log_p"], dtype="float64")
    body = np.interp(z, knots, log_p, left=log_p[0], right=log_p[-1])
    excess = np.maximum(z - knots[-1], 0.0) / side["scale"]
    shape = side["shape"]
    decay = excess if shape < 1e-6 else np.log1p(shape * excess) / shape
    empirical = np.where(z > knots[-1], log_p[-1] - decay, body)
    floor = stats.norm.logsf(z / REFERENCE_FLOOR)
    return np.minimum(np.maximum(empirical, floor), math.log(0.5))


def reference_edge(side: dict[str, object], p_edge: float) -> float:
    """The z (outwards) whose reference tail probability is p_edge."""
    from scipy import stats

    knots = np.asarray(side["z"], dtype="float64")
    log_p = np.asarray(side["log_p"], dtype="float64")
    target = math.log(p_edge)
    if target >= log_p[-1]:
        edge = float(np.interp(target, log_p[::-1], knots[::-1]))
    else:
        ratio = log_p[-1] - target
        shape = side["shape"]
        grow = ratio if shape < 1e-6 else math.expm1(shape * ratio) / shape
        edge = float(knots[-1] + side["scale"] * grow)
    return max(edge, REFERENCE_FLOOR * float(stats.norm.isf(p_edge)))


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


def surprise_at(score: float, interval_width: float) -> float:
    """The surprise whose score is `score` (the inverse of `score_of` for 0 < score < 1)."""
    p_edge = (1 - interval_width) / 2
    return (-math.log(p_edge) - SCORE_DECADES * math.log(1.0 - score)) / LN10


def per_hour(surprise: np.ndarray, step: pd.Timedelta) -> np.ndarray:
    """The surprise of a point on a grid of `step`, per hour of the series: on a grid finer
    than an hour its tail probability is multiplied by the points in an hour (Bonferroni), so
    that a threshold means one false alarm rate in time on every grid (a healthy 1-minute
    series reaches a surprise of 4 about once in 10,000 hours, as an hourly one does, not
    60 times as often). Hourly and coarser grids are unchanged."""
    points = pd.Timedelta(hours=1) / pd.Timedelta(step)
    surprise = np.asarray(surprise, dtype="float64")
    if points <= 1:
        return surprise
    return np.maximum(surprise - math.log10(points), 0.0)
