"""Series of the hourly endpoint metrics: the long metric_series frame, totals per service and
overall, per-series pivots, UTC hours, and the scale each metric is modelled on."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from schemas.forecasts import Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.options import METRICS, VALUE

# Scales. Counts and latencies are modelled on log1p, rates on arcsin(sqrt(rate)) (the binomial
# variance-stabilising scale, bounded to [0, pi/2]), so back-transformed forecasts and bounds can
# never leave [0, inf) or [0, 1].


def metric_family(metric: str) -> str:
    """count, rate, linear or log: how a metric is modelled (its scale, noise and floors)."""
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
    family = metric_family(metric)
    if family == "rate":
        return np.arcsin(np.sqrt(np.clip(x, 0.0, 1.0)))
    if family == "linear":
        return x
    return np.log1p(np.clip(x, 0.0, None))


def from_model_scale(metric: str, values: Any) -> np.ndarray:
    """Inverse of `to_model_scale`; model-scale values out of range map to the metric's bounds."""
    x = np.asarray(values, dtype="float64")
    family = metric_family(metric)
    if family == "rate":
        return np.sin(np.clip(x, 0.0, np.pi / 2)) ** 2
    if family == "linear":
        return x
    return np.expm1(np.clip(x, 0.0, None))


def utc_hours(hours: pd.DatetimeIndex | pd.Series | list) -> pd.DatetimeIndex:
    """`hours` as a UTC DatetimeIndex in microseconds (naive ones are taken for UTC)."""
    index = pd.DatetimeIndex(hours)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("us")


def utc_timestamp(ts: pd.Timestamp | str) -> pd.Timestamp:
    """`ts` as a UTC Timestamp in microseconds (a naive one is taken for UTC)."""
    ts = pd.Timestamp(ts)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).as_unit("us")


def utc_column(values: pd.Series) -> pd.Series:
    """A column of timestamps as UTC in microseconds."""
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
    hours = utc_hours(hours).unique().sort_values()
    series = endpoint_hourly[keys].drop_duplicates().sort_values(keys, ignore_index=True)
    if series.empty or len(hours) == 0 or not metrics:
        return _empty_series(columns)
    grid = series.merge(pd.DataFrame({EH.hour_start: hours}), how="cross")
    observed = endpoint_hourly[[EH.hour_start, *keys, *metrics]].assign(
        **{EH.hour_start: utc_column(endpoint_hourly[EH.hour_start])}
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
    eh = endpoint_hourly.assign(**{EH.hour_start: utc_column(endpoint_hourly[EH.hour_start])})
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

    frame = sketches.assign(**{EH.hour_start: utc_column(sketches[EH.hour_start])})
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


def redundant_totals(history: pd.DataFrame) -> set[tuple[str, str]]:
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


def wide_by_series(frame: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """{(service, endpoint): hour_start x metric frame of values} from a metric_series frame."""
    if frame.empty:
        return {}
    frame = frame.assign(**{EH.hour_start: utc_column(frame[EH.hour_start])})
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
