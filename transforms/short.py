"""Minute-grain episodes: an endpoint's minutes of an hour (`endpoint_minutely`) judged against
the level its hourly forecast expects, so that an outage, a traffic spike, an error burst or a
latency jump of a few minutes, which an hour's total hides, is an anomaly of kind `short`.

For each scored (endpoint, hour) with a forecast, per metric:

- **requests**: a minute's count (0 for a minute without a row) against the expected count a
  minute, `yhat / 60` of the hour's `requests` forecast;
- **error_rate**: a minute's errors against its requests times the forecast error rate;
- **latency_p95_ms**: a minute's 95th percentile against the hour's p95 forecast.

Real minute counts are overdispersed, so a minute's noise is not assumed Poisson: it is
measured on the same endpoint's minutes of the CONTEXT_HOURS hours before (each against its own
hour's mean; the median over those hours, so that a past incident does not inflate it). A
minute joins a run when it is at least Z_MINUTE of that noise beyond the level *and* beyond an
effect size (DROP_FACTOR, SPIKE_FACTOR, ERROR_EXCESS, P95_FACTOR). The level a minute is judged
against is also the hour's own robust level (its median minute, its error rate without its
worst quarter of minutes, its median minute p95) when that is further on the minute's side:
a minute must be far from both, so an hour whose whole level is off (the hourly detector's
business) does not make every minute a short episode, and a forecast that expects a quiet
hour is not beaten by a quiet minute. A run of at least MIN_RUN consecutive such minutes (it
may begin in the last MIN_RUN - 1 minutes of the hour before) is an episode; its surprise is
the normal tail of its mean standardised deviation over sqrt(RUN_INFLATION / minutes), per
hour of the series (times the 60 minutes it may start at), and it is an anomaly when its score
reaches THRESHOLD, like the hourly detector's. A run must also go further, in mean
standardised deviation, than any MIN_RUN minutes of the CONTEXT_HOURS before it did (each
against its own hour's level, with the scored hour's noise): an endpoint that bursts to three
times its level every few hours has a precedent for the next burst, as the hourly detector's
"against the day before" check does for hours. One row per (hour, endpoint, metric), the most
surprising run's. An hour's rows depend only on the minutes up to its end: scoring hour by
hour gives a backfill's rows.

Calibrated on the real 1-minute series of realkpi (`bench/short_eval.py`, part of `make
eval`), with the same hour the day before as the expected level: 0.08 false short anomalies a
series-week on their labelled-normal hours, while a 5-minute full outage injected into the 17
series averaging 10 or more a minute is found 98 % of the time, a 5-minute tripling 95 %.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

from schemas.common import empty_frame
from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointMinutely
from transforms.forecast.calibration import per_hour, score_of, surprise_of

A = Anomaly
M = EndpointMinutely
F = Forecast

SHORT_KIND = "short"
SHORT_METHOD = "minutely"
METRIC_PREFIX = "short:"
"""A short episode's metric is `short:<metric>` (requests, error_rate, latency_p95_ms): an hour
can hold both a short episode and an hourly deviation of the same metric."""
TOTAL = "*"
REQUESTS, ERROR_RATE, P95 = "requests", "error_rate", "latency_p95_ms"
METRICS = (REQUESTS, ERROR_RATE, P95)

HOUR = pd.Timedelta(hours=1)
MINUTE = pd.Timedelta(minutes=1)
MINUTES = 60

MIN_RUN = 5
"""Consecutive minutes a deviation must last: shorter blips are routine on real series."""
LOOKBACK = MIN_RUN - 1
"""Minutes of the hour before an hour's runs may start in (judged against the hour's level),
so a run across the hour boundary is caught in the hour it ends in."""
CONTEXT_HOURS = 24
"""Hours before the scored hour whose minutes measure the endpoint's minute-to-minute noise."""
MIN_CONTEXT_HOURS = 3
"""Context hours with enough traffic needed to trust the measured noise; else the defaults."""
Z_MINUTE = 1.5
"""A minute joins a run when at least this many noise standard deviations from the level."""
DROP_FACTOR = 0.5
"""A dropping minute has at most this fraction of the expected requests."""
SPIKE_FACTOR = 1.5
"""A spiking minute has at least this multiple of the expected requests."""
ERROR_EXCESS = 0.05
"""An erring minute's error rate is at least this far (absolute) above the expected rate."""
P95_FACTOR = 1.5
"""A slow minute's p95 is at least this multiple of the expected p95."""
MIN_P95_REQUESTS = 5
"""A minute's p95 is judged only from this many requests (a p95 of 2 requests is their max)."""
RUN_INFLATION = 1.0
"""How much more a run's mean varies than independent minutes would (a run of k minutes weighs
as k / RUN_INFLATION independent ones). On realkpi 1, 2 and 4 gave the same false alarms (the
precedent and the effect sizes decide those), and 1 found the most injected outages."""
DEFAULT_REQUEST_CV2 = 0.1
"""Extra-Poisson variance of a minute's requests, as a squared coefficient of variation,
when the context is too short or quiet to measure it (a CV of about 0.3)."""
DEFAULT_ERROR_CV2 = 0.5
"""Extra-binomial variance of a minute's errors (squared CV) when it cannot be measured."""
DEFAULT_P95_LOG_SD = 0.3
"""Spread of a minute's log p95 around its hour's when it cannot be measured."""
MIN_LEVEL = 2.0
"""Requests a minute the Poisson part of a minute's noise is at least computed at: a level
forecast near 0 makes no minute of a few requests infinitely surprising, and the normal tail,
thinner than Poisson's right tail at one or two a minute, does not make 3 requests a minute
for 5 minutes on an endpoint expecting one an anomaly."""
MIN_ERROR_RATE = 0.001
"""Floor of the rate an error's binomial noise is computed at (a forecast of no errors)."""
OWN_TRIM = 0.25
"""Share of an hour's minutes with the highest error rates left out of its own error rate."""
INTERVAL_WIDTH = 0.99
THRESHOLD = 0.9
"""Score an episode must reach: the forecast options' defaults, so 0.9 means one tail
probability per hour of 5e-5 here as in the hourly detector."""
SEVERITY_BANDS = ((0.99, "high"), (0.95, "medium"), (0.0, "low"))
"""Severity from the score, at most `high`: an episode of minutes is not `critical` by itself
(one lasting the hour is the hourly detector's, which can be)."""


def short_metric(metric: str) -> str:
    return f"{METRIC_PREFIX}{metric}"


def base_metric(metric: str) -> str | None:
    """`requests` of `short:requests`; None for another metric."""
    return metric.removeprefix(METRIC_PREFIX) if metric.startswith(METRIC_PREFIX) else None


def short_text(metric: str, direction: str, actual: float, expected: float) -> str:
    """How an incident's cause names a short episode: `requests 0 a minute for 5+ minutes
    against 52 expected (short drop)`; rates as percentages."""
    if metric == ERROR_RATE:
        shown, level = f"{actual:.1%}", f"{expected:.1%}"
    else:
        shown, level = f"{actual:,.3g}", f"{expected:,.3g}"
    unit = " a minute" if metric == REQUESTS else ""
    return (
        f"{metric} {shown}{unit} for {MIN_RUN}+ minutes against {level} expected "
        f"(short {direction})"
    )


def short_anomalies(
    minutely: pd.DataFrame, forecasts: pd.DataFrame, *, hours: Iterable[pd.Timestamp]
) -> pd.DataFrame:
    """Anomalies of kind `short` of `hours`: one row per (hour, endpoint, metric) whose most
    surprising run of minutes qualifies (see the module). `minutely` are `endpoint_minutely`
    rows covering `hours` and the CONTEXT_HOURS hours before them (an hour's rows depend only
    on the minutes up to its end, so scoring hour by hour gives the backfill's rows);
    `forecasts` the `forecasts` rows of `hours` (hour_start, service, endpoint, metric, yhat;
    other rows are ignored). Metric `short:<metric>`, actual the run's mean a minute (its
    error rate: errors over requests), yhat the level it was judged against a minute,
    yhat_lower / yhat_upper the edge a minute had to pass (the other: yhat), method
    `minutely`."""
    hours = pd.DatetimeIndex(sorted({pd.Timestamp(h) for h in hours}))
    if not len(hours) or forecasts.empty:
        return empty_frame(Anomaly)
    expected = forecasts[
        forecasts[F.metric].isin(METRICS)
        & forecasts[F.hour_start].isin(hours)
        # totals (endpoint or service "*") have no minutes of their own
        & (forecasts[F.endpoint] != TOTAL)
        & (forecasts[F.service] != TOTAL)
    ]
    if expected.empty:
        return empty_frame(Anomaly)
    keys = pd.MultiIndex.from_frame(
        expected[[F.service, F.endpoint]]
        .astype(str)
        .drop_duplicates()
        .sort_values([F.service, F.endpoint])
    )
    start = hours[0] - CONTEXT_HOURS * HOUR
    n_hours = int((hours[-1] + HOUR - start) / HOUR)
    cube = _minute_cube(minutely, keys, start, n_hours)
    scored = ((hours - start) / HOUR).astype(int).to_numpy()
    levels = {metric: _levels(expected, metric, keys, hours) for metric in METRICS}
    parts = [
        _requests(cube, levels[REQUESTS], scored),
        _errors(cube, levels[ERROR_RATE], scored),
        _p95(cube, levels[P95], scored),
    ]
    rows = []
    for metric, direction, found in (p for part in parts for p in part):
        cell = np.flatnonzero(found["qualifies"])
        if not len(cell):
            continue
        series, hour = np.divmod(cell, len(hours))
        rows.append(
            pd.DataFrame(
                {
                    A.hour_start: hours[hour],
                    A.service: keys.get_level_values(0)[series],
                    A.endpoint: keys.get_level_values(1)[series],
                    A.metric: short_metric(metric),
                    A.actual: found["actual"][cell],
                    A.yhat: found["level"][cell],
                    A.yhat_lower: found["lower"][cell],
                    A.yhat_upper: found["upper"][cell],
                    A.score: found["score"][cell],
                    A.surprise: found["surprise"][cell],
                    A.direction: direction,
                    A.kind: SHORT_KIND,
                    A.severity: _severity(found["score"][cell]),
                    A.method: SHORT_METHOD,
                }
            )
        )
    if not rows:
        return empty_frame(Anomaly)
    frame = pd.concat(rows, ignore_index=True)
    # one row per (hour, endpoint, metric): a drop and a spike of requests in one hour keep the
    # more surprising
    frame = frame.sort_values(
        [A.hour_start, A.service, A.endpoint, A.metric, A.surprise],
        ascending=[True, True, True, True, False],
    ).drop_duplicates([A.hour_start, A.service, A.endpoint, A.metric], ignore_index=True)
    return Anomaly.validate(frame)


def _severity(score: np.ndarray) -> list[str]:
    out = []
    for value in score:
        out.append(next(name for bound, name in SEVERITY_BANDS if value >= bound))
    return out


def _minute_cube(
    minutely: pd.DataFrame, keys: pd.MultiIndex, start: pd.Timestamp, n_hours: int
) -> dict[str, np.ndarray]:
    """requests, errors (0 where a minute has no row) and p95 (NaN there) of each series, shape
    (series, n_hours * 60) from `start`."""
    width = n_hours * MINUTES
    shape = (len(keys), width)
    cube = {
        "requests": np.zeros(shape),
        "errors": np.zeros(shape),
        "p95": np.full(shape, np.nan),
    }
    if minutely.empty or not len(keys):
        return cube
    minute = pd.to_datetime(minutely[M.minute_start], utc=True).dt.as_unit("ns")
    slot = (
        minute.dt.tz_localize(None).to_numpy().astype("int64") - start.as_unit("ns").value
    ) // MINUTE.value
    series = _series_of(minutely, keys)
    inside = (series >= 0) & (slot >= 0) & (slot < width)
    series, slot = series[inside], slot[inside]
    cube["requests"][series, slot] = minutely[M.requests].to_numpy(dtype="float64")[inside]
    cube["errors"][series, slot] = minutely[M.errors].to_numpy(dtype="float64")[inside]
    cube["p95"][series, slot] = pd.to_numeric(minutely[M.latency_p95_ms]).to_numpy(dtype="float64")[
        inside
    ]
    return cube


def _series_of(frame: pd.DataFrame, keys: pd.MultiIndex) -> np.ndarray:
    """Each row's position among `keys` (service, endpoint), -1 for none: the two columns
    factorised apart (cheap on long dictionary-like text columns), then paired."""
    service_code, services = pd.factorize(frame["service"].astype(str))
    endpoint_code, endpoints = pd.factorize(frame["endpoint"].astype(str))
    key_service = pd.Index(services).get_indexer(keys.get_level_values(0))
    key_endpoint = pd.Index(endpoints).get_indexer(keys.get_level_values(1))
    table = np.full(len(services) * len(endpoints), -1, dtype=np.int64)
    known = (key_service >= 0) & (key_endpoint >= 0)
    table[key_service[known] * len(endpoints) + key_endpoint[known]] = np.flatnonzero(known)
    if not len(table):
        return np.full(len(frame), -1, dtype=np.int64)
    return table[service_code * len(endpoints) + endpoint_code]


def _levels(
    expected: pd.DataFrame, metric: str, keys: pd.MultiIndex, hours: pd.DatetimeIndex
) -> np.ndarray:
    """The metric's forecast yhat per (series, scored hour), NaN where none."""
    out = np.full((len(keys), len(hours)), np.nan)
    rows = expected[expected[F.metric] == metric]
    if rows.empty:
        return out
    pairs = pd.MultiIndex.from_arrays(
        [rows[F.service].astype(str).to_numpy(), rows[F.endpoint].astype(str).to_numpy()]
    )
    series = keys.get_indexer(pairs)
    hour = hours.get_indexer(pd.DatetimeIndex(rows[F.hour_start]))
    ok = (series >= 0) & (hour >= 0)
    out[series[ok], hour[ok]] = rows[F.yhat].to_numpy(dtype="float64")[ok]
    return out


def _by_hour(values: np.ndarray) -> np.ndarray:
    """(series, n_hours * 60) -> (series, n_hours, 60)."""
    return values.reshape(values.shape[0], -1, MINUTES)


def _windows(values: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """The minutes each scored hour's runs are looked for in: the LOOKBACK minutes before the
    hour and its 60, shape (series, len(scored), LOOKBACK + 60)."""
    index = (scored * MINUTES - LOOKBACK)[:, None] + np.arange(LOOKBACK + MINUTES)[None, :]
    return values[:, index]


def _context(stat: np.ndarray, scored: np.ndarray, default: float) -> np.ndarray:
    """Per (series, scored hour): the median of `stat` (series, n_hours; NaN where not
    measured) over the CONTEXT_HOURS hours before the hour, `default` with fewer than
    MIN_CONTEXT_HOURS measured."""
    index = scored[:, None] - CONTEXT_HOURS + np.arange(CONTEXT_HOURS)[None, :]
    window = stat[:, index]  # (series, scored, CONTEXT_HOURS)
    counted = np.isfinite(window).sum(axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(window, axis=2)
    return np.where(counted >= MIN_CONTEXT_HOURS, median, default)


def noise_requests(requests: np.ndarray) -> np.ndarray:
    """Per (series, hour) of a (series, hours, 60) cube: the extra-Poisson variance of its
    minute counts around the hour's mean as a squared CV, (variance - mean) / mean², at
    least 0; NaN for an hour averaging under one request a minute."""
    mean = requests.mean(axis=2)
    var = requests.var(axis=2, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv2 = np.maximum((var - mean) / mean**2, 0.0)
    return np.where(mean >= 1.0, cv2, np.nan)


def noise_errors(errors: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """Per (series, hour): the extra-binomial variance of its minutes' errors around the
    hour's rate times their requests, as a squared CV; NaN for an hour with under 10 errors."""
    total = requests.sum(axis=2)
    err = errors.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = err / total
        mu = requests * rate[..., None]
        excess = ((errors - mu) ** 2 - mu * (1 - rate[..., None])).sum(axis=2)
        cv2 = np.maximum(excess / (mu**2).sum(axis=2), 0.0)
    return np.where(err >= 10, cv2, np.nan)


def noise_p95(p95: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """Per (series, hour): the standard deviation of its judged minutes' log p95 around their
    median; NaN for an hour with under 10 such minutes."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        logged = np.where(requests >= MIN_P95_REQUESTS, np.log(np.maximum(p95, 1e-3)), np.nan)
        centre = np.nanmedian(logged, axis=2)
        sd = np.sqrt(np.nanmean((logged - centre[..., None]) ** 2, axis=2))
    return np.where(np.isfinite(logged).sum(axis=2) >= 10, sd, np.nan)


def _requests(cube: dict, forecast: np.ndarray, scored: np.ndarray) -> list:
    requests = cube["requests"]
    hourly = _by_hour(requests)
    cv2 = _context(noise_requests(hourly), scored, DEFAULT_REQUEST_CV2)
    level = forecast / MINUTES  # expected requests a minute
    hourly_median = np.median(hourly, axis=2)
    own = hourly_median[:, scored]
    # each context minute's level: its hour's median minute (robust to the hour's own
    # bursts), its mean in an hour quieter than a request a minute, NaN without a request
    hourly_mean = hourly.mean(axis=2)
    context_level = np.where(hourly_median >= 1, hourly_median, hourly_mean)
    minute_level = np.repeat(np.where(context_level > 0, context_level, np.nan), MINUTES, 1)
    x = _windows(requests, scored)
    found = []
    for direction in ("drop", "spike"):
        ref = np.minimum(level, own) if direction == "drop" else np.maximum(level, own)
        ref = np.where(np.isfinite(level), ref, np.nan)
        # the Poisson part at least that of MIN_LEVEL: a quiet endpoint's few requests
        sd = np.sqrt(np.maximum(ref, MIN_LEVEL) + cv2 * ref**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (x - ref[..., None]) / sd[..., None]
        if direction == "drop":
            u = -u
            held = (u >= Z_MINUTE) & (x <= DROP_FACTOR * ref[..., None])
            edge = np.maximum(np.minimum(DROP_FACTOR * ref, ref - Z_MINUTE * sd), 0.0)
            bounds = (edge, ref)
        else:
            held = (u >= Z_MINUTE) & (x >= SPIKE_FACTOR * ref[..., None])
            edge = np.maximum(SPIKE_FACTOR * ref, ref + Z_MINUTE * sd)
            bounds = (ref, edge)
        runs = best_runs(held, u, x, np.ones_like(x))
        sign = -1.0 if direction == "drop" else 1.0

        def standardised(j: int, lo: int, hi: int, sign=sign) -> np.ndarray:
            m = minute_level[:, lo:hi]
            spread = np.sqrt(np.maximum(m, MIN_LEVEL) + cv2[:, j, None] * m**2)
            return sign * (requests[:, lo:hi] - m) / spread

        runs["qualifies"] &= runs["mean_u"] > precedent(standardised, scored)
        found.append((REQUESTS, direction, _with_level(runs, ref, *bounds)))
    return found


def _errors(cube: dict, forecast: np.ndarray, scored: np.ndarray) -> list:
    requests, errors = cube["requests"], cube["errors"]
    cv2 = _context(noise_errors(_by_hour(errors), _by_hour(requests)), scored, DEFAULT_ERROR_CV2)
    own = own_error_rate(_by_hour(errors)[:, scored, :], _by_hour(requests)[:, scored, :])
    ref = np.maximum(np.clip(forecast, 0.0, 1.0), np.nan_to_num(own, nan=0.0))
    ref = np.where(np.isfinite(forecast), ref, np.nan)
    n, e = _windows(requests, scored), _windows(errors, scored)
    r = np.maximum(ref, MIN_ERROR_RATE)[..., None]
    mu = n * r
    sd = np.sqrt(mu * (1 - r) + cv2[..., None] * mu**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (e - mu) / sd
        rate = e / n
    held = (n > 0) & (u >= Z_MINUTE) & (rate >= ref[..., None] + ERROR_EXCESS)
    runs = best_runs(held, np.nan_to_num(u), e, n)
    rate_all = np.repeat(
        np.maximum(np.nan_to_num(own_error_rate(_by_hour(errors), _by_hour(requests))), 0.0),
        MINUTES,
        1,
    )
    rate_all = np.maximum(rate_all, MIN_ERROR_RATE)

    def standardised(j: int, lo: int, hi: int) -> np.ndarray:
        mu = requests[:, lo:hi] * rate_all[:, lo:hi]
        spread = np.sqrt(mu * (1 - rate_all[:, lo:hi]) + cv2[:, j, None] * mu**2)
        return np.where(requests[:, lo:hi] > 0, (errors[:, lo:hi] - mu) / spread, np.nan)

    runs["qualifies"] &= runs["mean_u"] > precedent(standardised, scored)
    return [(ERROR_RATE, "spike", _with_level(runs, ref, ref, np.minimum(ref + ERROR_EXCESS, 1)))]


def own_error_rate(errors: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """Per (series, hour) of (series, hours, 60) cubes: the hour's error rate without the
    OWN_TRIM share of its minutes with requests that have the highest rates (NaN without
    requests)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(requests > 0, errors / requests, np.inf)
    order = np.argsort(rate, axis=2, kind="stable")
    kept_n = np.take_along_axis(requests, order, axis=2)
    kept_e = np.take_along_axis(errors, order, axis=2)
    with_requests = (requests > 0).sum(axis=2)
    keep = np.ceil(with_requests * (1 - OWN_TRIM))[..., None]
    mask = np.arange(requests.shape[2])[None, None, :] < keep
    with np.errstate(divide="ignore", invalid="ignore"):
        return (kept_e * mask).sum(axis=2) / (kept_n * mask).sum(axis=2)


def _p95(cube: dict, forecast: np.ndarray, scored: np.ndarray) -> list:
    requests, p95 = cube["requests"], cube["p95"]
    sd = _context(noise_p95(_by_hour(p95), _by_hour(requests)), scored, DEFAULT_P95_LOG_SD)
    sd = np.maximum(sd, 0.05)  # a p95 that never moved still has a resolution
    judged = _by_hour(requests)[:, scored, :] >= MIN_P95_REQUESTS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        own = np.nanmedian(np.where(judged, _by_hour(p95)[:, scored, :], np.nan), axis=2)
    ref = np.maximum(forecast, np.nan_to_num(own, nan=0.0))
    ref = np.where(np.isfinite(forecast) & (forecast > 0), ref, np.nan)
    x, n = _windows(p95, scored), _windows(requests, scored)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.log(x / ref[..., None]) / sd[..., None]
    held = (n >= MIN_P95_REQUESTS) & (u >= Z_MINUTE) & (x >= P95_FACTOR * ref[..., None])
    runs = best_runs(held, np.nan_to_num(u), np.nan_to_num(x), np.ones_like(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        judged_all = _by_hour(requests) >= MIN_P95_REQUESTS
        medians = np.nanmedian(np.where(judged_all, _by_hour(p95), np.nan), axis=2)
    log_ratio = np.log(
        np.where(requests >= MIN_P95_REQUESTS, np.maximum(p95, 1e-3), np.nan)
        / np.repeat(medians, MINUTES, 1)
    )

    def standardised(j: int, lo: int, hi: int) -> np.ndarray:
        return log_ratio[:, lo:hi] / sd[:, j, None]

    runs["qualifies"] &= runs["mean_u"] > precedent(standardised, scored)
    edge = ref * np.maximum(P95_FACTOR, np.exp(Z_MINUTE * sd))
    return [(P95, "spike", _with_level(runs, ref, ref, edge))]


def precedent(standardised, scored: np.ndarray) -> np.ndarray:
    """Per (series, scored hour), flat: the highest mean, over MIN_RUN consecutive minutes, of
    the standardised deviations of the CONTEXT_HOURS hours before the hour (but their last
    LOOKBACK minutes, where the hour's own run may start), each minute against its own hour's
    level with the scored hour's noise: `standardised(j, lo, hi)` gives them for the j-th
    scored hour over minutes [lo, hi), in the episode's direction, NaN where not judged (a
    window holding one is left out); -inf where there is none. A run whose mean is no higher
    has a precedent the day before: it is routine for the series."""
    out = []
    for j, hour in enumerate(scored):
        lo, hi = (hour - CONTEXT_HOURS) * MINUTES, hour * MINUTES - LOOKBACK
        with np.errstate(divide="ignore", invalid="ignore"):
            u = standardised(j, lo, hi)
        missing = ~np.isfinite(u)
        total = np.cumsum(np.where(missing, 0.0, u), axis=1)
        gaps = np.cumsum(missing, axis=1)
        total = np.concatenate([np.zeros((u.shape[0], 1)), total], axis=1)
        gaps = np.concatenate([np.zeros((u.shape[0], 1), dtype=gaps.dtype), gaps], axis=1)
        window = (total[:, MIN_RUN:] - total[:, :-MIN_RUN]) / MIN_RUN
        clean = (gaps[:, MIN_RUN:] - gaps[:, :-MIN_RUN]) == 0
        out.append(np.where(clean, window, -np.inf).max(axis=1, initial=-np.inf))
    return np.stack(out, axis=1).ravel()


def _with_level(runs: dict, level, lower, upper) -> dict:
    runs["level"] = np.asarray(level, dtype="float64").ravel()
    runs["lower"] = np.asarray(lower, dtype="float64").ravel()
    runs["upper"] = np.asarray(upper, dtype="float64").ravel()
    return runs


def run_lengths(held: np.ndarray) -> np.ndarray:
    """For a boolean array (..., minutes): how many consecutive minutes up to and including
    each one are held (0 where it is not)."""
    count = np.cumsum(held, axis=-1)
    reset = np.maximum.accumulate(np.where(held, 0, count), axis=-1)
    return count - reset


def best_runs(held: np.ndarray, u: np.ndarray, numerator: np.ndarray, denominator) -> dict:
    """Per (series, hour) cell of (series, hours, LOOKBACK + 60) minutes: its most surprising
    run of at least MIN_RUN held minutes ending inside the hour. Returns flat arrays (cells in
    series-major order): qualifies, minutes, actual (the run's sum of `numerator` over its sum
    of `denominator`), surprise and score."""
    shape = held.shape
    cells = shape[0] * shape[1]
    held = held.reshape(cells, -1)
    length = run_lengths(held)
    following = np.concatenate([held[:, 1:], np.zeros((cells, 1), dtype=bool)], axis=1)
    ends = held & ~following & (length >= MIN_RUN)
    ends[:, :LOOKBACK] = False  # a run wholly before the hour is the hour before's
    out = {
        "mean_u": np.zeros(cells),
        "qualifies": np.zeros(cells, dtype=bool),
        "minutes": np.zeros(cells, dtype=np.int64),
        "actual": np.full(cells, np.nan),
        "surprise": np.zeros(cells),
        "score": np.zeros(cells),
    }
    row, end = np.nonzero(ends)
    if not len(row):
        return out
    k = length[row, end]
    minutes = end[:, None] - np.arange(held.shape[1])[None, :]  # offsets back from each end
    inside = (minutes >= 0) & (np.arange(held.shape[1])[None, :] < k[:, None])
    minutes = np.where(inside, minutes, 0)

    def run_sum(values: np.ndarray) -> np.ndarray:
        values = np.broadcast_to(values, shape).reshape(cells, -1)
        return np.where(inside, values[row[:, None], minutes], 0.0).sum(axis=1)

    mean_u = run_sum(u) / k
    z = np.minimum(np.nan_to_num(mean_u * np.sqrt(k / RUN_INFLATION)), 1e3)  # finite
    surprise = per_hour(surprise_of(log_ndtr(-z)), MINUTE)
    with np.errstate(divide="ignore", invalid="ignore"):
        actual = run_sum(numerator) / run_sum(denominator)
    # the most surprising run of each cell (the first such on ties)
    order = np.lexsort((end, -surprise, row))
    first = order[np.unique(row[order], return_index=True)[1]]
    cell = row[first]
    out["minutes"][cell] = k[first]
    out["mean_u"][cell] = mean_u[first]
    out["actual"][cell] = actual[first]
    out["surprise"][cell] = surprise[first]
    out["score"][cell] = score_of(surprise[first], INTERVAL_WIDTH)
    out["qualifies"][cell] = out["score"][cell] >= THRESHOLD
    return out
