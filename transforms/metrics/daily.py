"""The daily rollups of the hourly tables: `endpoint_daily` and `traffic_hourly`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.metrics import EndpointDaily, EndpointHourly, LatencySketch, TrafficHourly
from transforms.metrics.events import empty, finish
from transforms.metrics.hourly import PERCENTILES
from transforms.metrics.sketch import sketch_quantiles

ADDITIVE = [
    EndpointHourly.requests,
    EndpointHourly.status_2xx,
    EndpointHourly.status_3xx,
    EndpointHourly.status_4xx,
    EndpointHourly.status_5xx,
    EndpointHourly.timed_requests,
    EndpointHourly.slow_requests,
]


def endpoint_daily(endpoint_hourly: pd.DataFrame, latency_sketches: pd.DataFrame) -> pd.DataFrame:
    """One row per (day_start, service, endpoint), rolled up from the hourly rows of whole
    UTC days and their latency sketches. Counts, rates, mean and max are exact; percentiles
    come from the merged sketches (within 1 %), never above the day's exact maximum."""
    if endpoint_hourly.empty:
        return empty(EndpointDaily)
    hourly = endpoint_hourly.assign(
        day_start=endpoint_hourly[EndpointHourly.hour_start].dt.floor("D"),
        latency_total=endpoint_hourly[EndpointHourly.latency_avg_ms].fillna(0)
        * endpoint_hourly[EndpointHourly.timed_requests],
    )
    keys = ["day_start", EndpointHourly.service, EndpointHourly.endpoint]
    grouped = hourly.groupby(keys, sort=True, observed=True)
    daily = grouped[ADDITIVE + ["latency_total"]].sum()
    daily[EndpointHourly.latency_max_ms] = grouped[EndpointHourly.latency_max_ms].max()
    daily[EndpointHourly.bytes_sent] = grouped[EndpointHourly.bytes_sent].sum(min_count=1)
    daily = daily.reset_index()
    requests = daily[EndpointHourly.requests]
    timed = daily[EndpointHourly.timed_requests]
    daily[EndpointDaily.error_rate] = (
        daily[EndpointHourly.status_4xx] + daily[EndpointHourly.status_5xx]
    ) / requests
    daily[EndpointDaily.server_error_rate] = daily[EndpointHourly.status_5xx] / requests
    daily[EndpointDaily.latency_avg_ms] = (daily["latency_total"] / timed).where(timed > 0)
    daily[EndpointDaily.slow_rate] = (daily[EndpointHourly.slow_requests] / timed).where(timed > 0)
    for column in PERCENTILES:
        daily[column] = np.nan
    sketches = latency_sketches.assign(
        day_start=latency_sketches[LatencySketch.hour_start].dt.floor("D")
    )
    if len(sketches):
        index = pd.MultiIndex.from_frame(daily[keys])
        codes = index.get_indexer(pd.MultiIndex.from_frame(sketches[keys]))
        if (codes < 0).any():
            raise ValueError("latency_sketches has a (day, service, endpoint) with no hourly row")
        found, quantiles = sketch_quantiles(
            codes,
            sketches[LatencySketch.bucket].to_numpy(np.int64),
            sketches[LatencySketch.count].to_numpy(np.int64),
            list(PERCENTILES.values()),
        )
        maximum = daily[EndpointDaily.latency_max_ms].to_numpy()[found]
        for column, values in zip(PERCENTILES, quantiles, strict=True):
            daily.loc[found, column] = np.minimum(values, maximum)
    columns = list(EndpointDaily.to_schema().columns)
    return finish(EndpointDaily, daily[columns])


def traffic_hourly(endpoint_hourly: pd.DataFrame) -> pd.DataFrame:
    """One row per hour with requests: the volume, its share of the UTC day and its rank
    within the day and the ISO week (SQL `rank()`, 1 = busiest). Give it whole weeks of
    `endpoint_hourly` for the week ranks to be final."""
    if endpoint_hourly.empty:
        return empty(TrafficHourly)
    hours = (
        endpoint_hourly.groupby(EndpointHourly.hour_start, sort=True)[EndpointHourly.requests]
        .sum()
        .reset_index()
    )
    start = hours[TrafficHourly.hour_start]
    day = start.dt.floor("D")
    week = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    requests = hours[TrafficHourly.requests]
    hours[TrafficHourly.share_of_day] = requests / requests.groupby(day).transform("sum")
    hours[TrafficHourly.rank_in_day] = requests.groupby(day).rank(method="min", ascending=False)
    hours[TrafficHourly.rank_in_week] = requests.groupby(week).rank(method="min", ascending=False)
    return finish(TrafficHourly, hours[list(TrafficHourly.to_schema().columns)])
