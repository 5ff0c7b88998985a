"""Metric tables computed from canonical request events, and the daily rollups built from them.

Every hourly table comes from one pass over the events (`hourly_tables`): the text columns are
dictionary-coded once, the timed latencies sorted once, and each table's groups counted with
integer codes. Percentiles interpolate linearly between order statistics (DuckDB's
`quantile_cont`): for n sorted values the q-quantile sits at rank q * (n - 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.metrics import (
    AvailabilityGap,
    EndpointDaily,
    EndpointHourly,
    EndpointMinutely,
    ErrorReasonsHourly,
    LatencySketch,
    LogLevelsMinutely,
    RegionHourly,
    ServiceHourly,
    StatusHourly,
    TrafficHourly,
)
from schemas.registry import table_names
from schemas.requests import Request as R

UNKNOWN = "unknown"
"""Service or region of events that did not log one."""

PERCENTILES = {
    EndpointHourly.latency_p50_ms: 0.50,
    EndpointHourly.latency_p90_ms: 0.90,
    EndpointHourly.latency_p95_ms: 0.95,
    EndpointHourly.latency_p99_ms: 0.99,
}

SKETCH_RELATIVE_ERROR = 0.01
SKETCH_GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR)
SKETCH_ZERO_BUCKET = -32768
SKETCH_MIN_MS = 1e-6
"""Latencies at or below this (a nanosecond) fall in the zero bucket, read back as 0 ms."""

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 3_600_000_000
HOURLY_TABLES = table_names(stage="hourly_metric")
"""The tables `hourly_tables` builds (the registry's hourly metric tables), each partitioned by
hour."""


# coding the events once ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Coded:
    """A text column as integer codes (-1 for null) and the values they stand for."""

    codes: np.ndarray
    values: np.ndarray

    def with_default(self, default: str) -> _Coded:
        """Nulls coded as `default` (appended to the values unless already one of them)."""
        if not (self.codes < 0).any():
            return self
        hits = np.flatnonzero(self.values == default)
        if len(hits):
            code, values = int(hits[0]), self.values
        else:
            code, values = len(self.values), np.append(self.values, default).astype(object)
        return _Coded(np.where(self.codes < 0, code, self.codes), values)

    def take(self, rows: np.ndarray) -> _Coded:
        return _Coded(self.codes[rows], self.values)


def _as_table(requests: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(requests, pa.Table):
        return requests
    return pa.Table.from_pandas(requests, preserve_index=False)


def _code(table: pa.Table, name: str) -> _Coded:
    column = table.column(name) if name in table.column_names else None
    if column is None or pa.types.is_null(column.type):
        return _Coded(np.full(table.num_rows, -1, dtype=np.int64), np.array([], dtype=object))
    if pa.types.is_dictionary(column.type):
        column = column.unify_dictionaries() if column.num_chunks > 1 else column
        dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
        indices = pa.chunked_array(
            [c.indices for c in column.chunks], type=column.type.index_type
        ).combine_chunks()
    else:
        encoded = pc.dictionary_encode(column.combine_chunks())
        dictionary, indices = encoded.dictionary, encoded.indices
    codes = indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    values = np.asarray(dictionary.cast(pa.string()).to_pylist(), dtype=object)
    return _Coded(codes, values)


def _numbers(table: pa.Table, name: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(values with nulls as 0 or NaN, mask of logged values)."""
    if name not in table.column_names:
        n = table.num_rows
        return np.zeros(n, dtype=dtype), np.zeros(n, dtype=bool)
    column = table.column(name).combine_chunks()
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    fill = float("nan") if np.dtype(dtype).kind == "f" else 0
    values = column.fill_null(fill).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return values, valid


def _ts_us(table: pa.Table) -> np.ndarray:
    column = table.column(R.ts).combine_chunks()
    if column.type != pa.timestamp("us", tz="UTC"):
        column = column.cast(pa.timestamp("us", tz="UTC"))
    return column.cast(pa.int64()).to_numpy(zero_copy_only=False)


class _Events:
    """The columns the metric tables need, coded once."""

    def __init__(self, requests: pd.DataFrame | pa.Table):
        table = _as_table(requests)
        self.size = table.num_rows
        self.ts = _ts_us(table) if self.size else np.zeros(0, np.int64)
        self.service = _code(table, R.service).with_default(UNKNOWN)
        self.endpoint = _code(table, R.endpoint)
        self.level = _code(table, R.level)
        self.region = _code(table, R.region).with_default(UNKNOWN)
        self.reason = _code(table, R.error_reason)
        self.user = _code(table, R.user_id)
        status, self.has_status = _numbers(table, R.status_code, np.int64)
        self.status = np.where(self.has_status, status, 0)
        self.latency, self.timed = _numbers(table, R.latency_ms, np.float64)
        self.bytes, self.has_bytes = _numbers(table, R.bytes_sent, np.int64)
        self.is_request = self.endpoint.codes >= 0


# grouping -------------------------------------------------------------------------------------
class _Groups:
    """Rows grouped by integer key columns: `ids` per row, one key tuple per group."""

    def __init__(self, keys: list[np.ndarray]):
        combined = np.zeros(len(keys[0]), dtype=np.int64)
        self.bases = []
        for key in keys:
            low = int(key.min()) if len(key) else 0
            span = int(key.max()) - low + 1 if len(key) else 1
            combined = combined * span + (key - low)
            self.bases.append((low, span))
        self.ids, uniques = pd.factorize(combined)
        self.ids = self.ids.astype(np.int64, copy=False)
        self.count = len(uniques)
        # decode the group keys
        self.keys = []
        rest = uniques.astype(np.int64, copy=True)
        for low, span in reversed(self.bases):
            self.keys.append(rest % span + low)
            rest //= span
        self.keys.reverse()

    def size(self, rows: np.ndarray | None = None) -> np.ndarray:
        ids = self.ids if rows is None else self.ids[rows]
        return np.bincount(ids, minlength=self.count)

    def total(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        ids = self.ids if rows is None else self.ids[rows]
        values = values if rows is None else values[rows]
        return np.bincount(ids, weights=values, minlength=self.count)


def _quantile(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, q: float) -> np.ndarray:
    """`quantile_cont(q)` of each group of `values` (sorted within groups); NaN for empty."""
    out = np.full(len(sizes), np.nan)
    has = sizes > 0
    rank = q * (sizes[has] - 1)
    lower = np.floor(rank).astype(np.int64)
    upper = np.minimum(lower + 1, sizes[has] - 1)
    low = values[starts[has] + lower]
    high = values[starts[has] + upper]
    out[has] = low + (high - low) * (rank - lower)
    return out


class _Latency:
    """The timed latencies among some rows, sorted once for every grouping of those rows."""

    def __init__(self, latency: np.ndarray, timed: np.ndarray):
        self.positions = np.flatnonzero(timed)  # the timed rows
        values = latency[self.positions]
        self.order = np.argsort(values)
        self.sorted = values[self.order]

    def quantiles(self, groups: _Groups, quantiles: list[float]):
        """(values sorted by group then value, group starts, group sizes, one array per
        quantile) for `groups` of the same rows."""
        ids = groups.ids[self.positions][self.order]
        sizes = np.bincount(ids, minlength=groups.count)
        small = groups.count < np.iinfo(np.uint16).max
        by_group = np.argsort(ids.astype(np.uint16) if small else ids, kind="stable")
        values = self.sorted[by_group]
        starts = np.cumsum(sizes) - sizes
        return values, starts, sizes, [_quantile(values, starts, sizes, q) for q in quantiles]


def _nullable_int(values: np.ndarray, logged: np.ndarray) -> pd.arrays.IntegerArray:
    """Int64 values, null where nothing was logged."""
    return pd.arrays.IntegerArray(values.astype(np.int64), ~logged)


def _hour_start(hours: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(hours * US_PER_HOUR, unit="us", utc=True))


def _minute_start(minutes: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(minutes * US_PER_MINUTE, unit="us", utc=True))


def _empty(model) -> pd.DataFrame:
    from schemas.common import empty_frame

    return empty_frame(model)


def _finish(model, frame: pd.DataFrame, validate: bool = True) -> pd.DataFrame:
    """Rows sorted by the grain, validated against the model unless the caller validates."""
    grain = list(model.Config.unique)
    frame = frame.sort_values(grain, kind="stable", ignore_index=True)
    return model.validate(frame) if validate else frame


# the hourly tables ---------------------------------------------------------------------------
class _HourlyBuilder:
    def __init__(
        self, requests: pd.DataFrame | pa.Table, slow_threshold_ms: float, validate: bool = True
    ):
        self.validate = validate
        self.events = e = _Events(requests)
        self.slow_threshold_ms = slow_threshold_ms
        self.hours = e.ts // US_PER_HOUR
        self.minutes = e.ts // US_PER_MINUTE
        self.requests = np.flatnonzero(e.is_request)
        rows = self.requests
        self.request_latency = e.latency[rows]
        self.latency = _Latency(self.request_latency, e.timed[rows])
        self.latency_positions = self.latency.positions  # timed, as positions within `rows`
        self.endpoint_groups = _Groups(
            [self.hours[rows], e.service.codes[rows], e.endpoint.codes[rows]]
        )

    def endpoint_hourly(self) -> pd.DataFrame:
        e, rows, g = self.events, self.requests, self.endpoint_groups
        if not len(rows):
            return _empty(EndpointHourly)
        requests = g.size()
        classes = np.bincount(
            g.ids * 6 + np.clip(e.status[rows] // 100, 0, 5), minlength=g.count * 6
        ).reshape(g.count, 6)
        values, starts, sizes, quantiles = self.latency.quantiles(g, list(PERCENTILES.values()))
        timed = sizes
        latency_sum = g.total(self.request_latency, self.latency_positions)
        ids_timed = g.ids[self.latency_positions]
        slow = np.bincount(
            ids_timed[self.request_latency[self.latency_positions] > self.slow_threshold_ms],
            minlength=g.count,
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            average = np.where(timed > 0, latency_sum / np.maximum(timed, 1), np.nan)
            slow_rate = np.where(timed > 0, slow / np.maximum(timed, 1), np.nan)
        maximum = np.full(g.count, np.nan)
        has = sizes > 0
        maximum[has] = values[starts[has] + sizes[has] - 1]
        users = self._unique_users(g)
        bytes_rows = np.flatnonzero(e.has_bytes[rows])
        bytes_logged = g.size(bytes_rows)
        bytes_sum = np.rint(g.total(e.bytes[rows].astype(np.float64), bytes_rows))
        frame = pd.DataFrame(
            {
                EndpointHourly.hour_start: _hour_start(g.keys[0]),
                EndpointHourly.service: e.service.values[g.keys[1]],
                EndpointHourly.endpoint: e.endpoint.values[g.keys[2]],
                EndpointHourly.requests: requests,
                EndpointHourly.status_2xx: classes[:, 2],
                EndpointHourly.status_3xx: classes[:, 3],
                EndpointHourly.status_4xx: classes[:, 4],
                EndpointHourly.status_5xx: classes[:, 5],
                EndpointHourly.error_rate: (classes[:, 4] + classes[:, 5]) / requests,
                EndpointHourly.server_error_rate: classes[:, 5] / requests,
                EndpointHourly.timed_requests: timed,
                EndpointHourly.latency_avg_ms: average,
                **dict(zip(PERCENTILES, quantiles, strict=True)),
                EndpointHourly.latency_max_ms: maximum,
                EndpointHourly.slow_requests: slow,
                EndpointHourly.slow_rate: slow_rate,
                EndpointHourly.unique_users: users,
                EndpointHourly.bytes_sent: _nullable_int(bytes_sum, bytes_logged > 0),
            }
        )
        return _finish(EndpointHourly, frame, self.validate)

    def _unique_users(self, g: _Groups) -> pd.arrays.IntegerArray:
        e, rows = self.events, self.requests
        users = e.user.codes[rows]
        logged = users >= 0
        width = max(len(e.user.values), 1)
        pairs = pd.unique(g.ids[logged] * width + users[logged])
        counts = np.bincount(pairs // width, minlength=g.count)
        any_logged = np.bincount(g.ids[logged], minlength=g.count) > 0
        return _nullable_int(counts, any_logged)

    def endpoint_minutely(self) -> pd.DataFrame:
        e, rows = self.events, self.requests
        if not len(rows):
            return _empty(EndpointMinutely)
        g = _Groups([self.minutes[rows], self.endpoint_groups.ids])
        _, _, _, (p50, p95) = self.latency.quantiles(g, [0.5, 0.95])
        endpoint_group = g.keys[1]
        base = self.endpoint_groups
        frame = pd.DataFrame(
            {
                EndpointMinutely.minute_start: _minute_start(g.keys[0]),
                EndpointMinutely.service: e.service.values[base.keys[1][endpoint_group]],
                EndpointMinutely.endpoint: e.endpoint.values[base.keys[2][endpoint_group]],
                EndpointMinutely.requests: g.size(),
                EndpointMinutely.errors: g.size(np.flatnonzero(e.status[rows] >= 400)),
                EndpointMinutely.latency_p50_ms: p50,
                EndpointMinutely.latency_p95_ms: p95,
            }
        )
        return _finish(EndpointMinutely, frame, self.validate)

    def latency_sketches(self) -> pd.DataFrame:
        e, g = self.events, self.endpoint_groups
        latencies = self.request_latency[self.latency_positions]
        if not len(latencies):
            return _empty(LatencySketch)
        buckets = sketch_buckets(latencies)
        counts = _Groups([g.ids[self.latency_positions], buckets])
        group = counts.keys[0]
        frame = pd.DataFrame(
            {
                LatencySketch.hour_start: _hour_start(g.keys[0][group]),
                LatencySketch.service: e.service.values[g.keys[1][group]],
                LatencySketch.endpoint: e.endpoint.values[g.keys[2][group]],
                LatencySketch.bucket: counts.keys[1],
                LatencySketch.count: counts.size(),
            }
        )
        return _finish(LatencySketch, frame, self.validate)

    def _by_dimension(self, model, name: str, coded: _Coded) -> pd.DataFrame:
        e, rows = self.events, self.requests
        if not len(rows):
            return _empty(model)
        g = _Groups([self.hours[rows], coded.codes[rows]])
        requests = g.size()
        errors = g.size(np.flatnonzero(e.status[rows] >= 400))
        _, _, _, (p95,) = self.latency.quantiles(g, [0.95])
        frame = pd.DataFrame(
            {
                "hour_start": _hour_start(g.keys[0]),
                name: coded.values[g.keys[1]],
                "requests": requests,
                "success_rate": 1 - errors / requests,
                "latency_p95_ms": p95,
            }
        )
        return _finish(model, frame, self.validate)

    def service_hourly(self) -> pd.DataFrame:
        return self._by_dimension(ServiceHourly, ServiceHourly.service, self.events.service)

    def region_hourly(self) -> pd.DataFrame:
        return self._by_dimension(RegionHourly, RegionHourly.region, self.events.region)

    def _per_endpoint_value(self, model, rows_mask: np.ndarray, name: str, values) -> pd.DataFrame:
        """Requests per (hour, service, endpoint, value) among the requests where the value
        was logged."""
        e, base = self.events, self.endpoint_groups
        picked = np.flatnonzero(rows_mask[self.requests])
        if not len(picked):
            return _empty(model)
        codes, labels = values
        g = _Groups([base.ids[picked], codes[self.requests][picked]])
        endpoint_group = g.keys[0]
        frame = pd.DataFrame(
            {
                "hour_start": _hour_start(base.keys[0][endpoint_group]),
                "service": e.service.values[base.keys[1][endpoint_group]],
                "endpoint": e.endpoint.values[base.keys[2][endpoint_group]],
                name: labels(g.keys[1]),
                "requests": g.size(),
            }
        )
        return _finish(model, frame, self.validate)

    def status_hourly(self) -> pd.DataFrame:
        e = self.events
        return self._per_endpoint_value(
            StatusHourly,
            e.has_status,
            StatusHourly.status_code,
            (e.status, lambda codes: pd.array(codes, dtype="Int16")),
        )

    def error_reasons_hourly(self) -> pd.DataFrame:
        e = self.events
        return self._per_endpoint_value(
            ErrorReasonsHourly,
            e.reason.codes >= 0,
            ErrorReasonsHourly.error_reason,
            (e.reason.codes, lambda codes: e.reason.values[codes]),
        )

    def log_levels_minutely(self) -> pd.DataFrame:
        e = self.events
        rows = np.flatnonzero(e.level.codes >= 0)
        if not len(rows):
            return _empty(LogLevelsMinutely)
        g = _Groups([self.minutes[rows], e.service.codes[rows], e.level.codes[rows]])
        frame = pd.DataFrame(
            {
                LogLevelsMinutely.minute_start: _minute_start(g.keys[0]),
                LogLevelsMinutely.service: e.service.values[g.keys[1]],
                LogLevelsMinutely.level: e.level.values[g.keys[2]],
                LogLevelsMinutely.events: g.size(),
            }
        )
        return _finish(LogLevelsMinutely, frame, self.validate)


def hourly_tables(
    requests: pd.DataFrame | pa.Table, *, slow_threshold_ms: float = 1000.0, validate: bool = True
) -> dict[str, pd.DataFrame]:
    """Every hourly metric table (`HOURLY_TABLES`) from the same request events, coded once.

    With `validate=False` the frames (already in the models' types) are left for the caller
    to validate, for instance once over many hours."""
    builder = _HourlyBuilder(requests, slow_threshold_ms, validate)
    return {name: getattr(builder, name)() for name in HOURLY_TABLES}


def endpoint_hourly(
    requests: pd.DataFrame | pa.Table, *, slow_threshold_ms: float = 1000.0
) -> pd.DataFrame:
    """One row per (hour_start, service, endpoint) with at least one request (an event with
    an endpoint; service-log events without one are not requests).

    `error_rate` is (4xx + 5xx) / requests; latency columns cover the requests that logged a
    latency; `slow_requests` are those slower than `slow_threshold_ms` (strictly greater)."""
    return _HourlyBuilder(requests, slow_threshold_ms).endpoint_hourly()


# the latency sketch --------------------------------------------------------------------------
def sketch_buckets(latencies: np.ndarray) -> np.ndarray:
    """Bucket of each latency: i such that g^(i-1) < latency <= g^i."""
    buckets = np.full(len(latencies), SKETCH_ZERO_BUCKET, dtype=np.int64)
    positive = latencies > SKETCH_MIN_MS
    buckets[positive] = np.ceil(np.log(latencies[positive]) / math.log(SKETCH_GAMMA))
    return buckets


def bucket_value(buckets: np.ndarray) -> np.ndarray:
    """The value a bucket stands for: within the relative error of anything in it."""
    values = 2 * np.power(SKETCH_GAMMA, buckets.astype(np.float64)) / (SKETCH_GAMMA + 1)
    return np.where(buckets == SKETCH_ZERO_BUCKET, 0.0, values)


def sketch_quantiles(
    groups: np.ndarray, buckets: np.ndarray, counts: np.ndarray, quantiles: list[float]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """`quantile_cont` of each group read from merged bucket counts.

    `groups`, `buckets`, `counts` are rows of a sketch (repeats of a (group, bucket) add up).
    Returns the groups in order and one array per quantile. The order statistics either side
    of the rank are read as their buckets' values, then interpolated like `quantile_cont`, so
    the result stays within the sketch's relative error of the exact one."""
    order = np.lexsort((buckets, groups))
    groups, buckets, counts = groups[order], buckets[order], counts[order]
    cumulative = np.cumsum(counts)
    unique, first = np.unique(groups, return_index=True)
    totals = np.add.reduceat(counts, first) if len(first) else counts[:0]
    before = cumulative[first] - counts[first]
    values = bucket_value(buckets)
    out = []
    for q in quantiles:
        rank = q * (totals - 1)
        lower = np.floor(rank).astype(np.int64)
        upper = np.minimum(lower + 1, totals - 1)
        # the row holding order statistic k is the first whose running count exceeds k
        low = values[np.searchsorted(cumulative, before + lower, side="right")]
        high = values[np.searchsorted(cumulative, before + upper, side="right")]
        out.append(low + (high - low) * (rank - lower))
    return unique, out


# daily rollups ---------------------------------------------------------------------------------
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
        return _empty(EndpointDaily)
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
    return _finish(EndpointDaily, daily[columns])


def traffic_hourly(endpoint_hourly: pd.DataFrame) -> pd.DataFrame:
    """One row per hour with requests: the volume, its share of the UTC day and its rank
    within the day and the ISO week (SQL `rank()`, 1 = busiest). Give it whole weeks of
    `endpoint_hourly` for the week ranks to be final."""
    if endpoint_hourly.empty:
        return _empty(TrafficHourly)
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
    return _finish(TrafficHourly, hours[list(TrafficHourly.to_schema().columns)])


def availability_gaps(
    endpoint_minutely: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    horizon: pd.Timestamp,
    min_minutes: int = 3,
    min_expected: float = 10.0,
    reference_minutes: int = 60,
) -> pd.DataFrame:
    """Stretches of whole minutes without a request, starting in [start, end), for endpoints
    whose rate over the `reference_minutes` before the stretch predicts at least
    `min_expected` requests over it (and which last `min_minutes` or more).

    `endpoint_minutely` must cover [start - reference_minutes, horizon) or as much of it as
    exists; minutes at or after `horizon` (the end of the newest data) are not judged, and a
    stretch reaching it is `ongoing`."""
    if endpoint_minutely.empty:
        return _empty(AvailabilityGap)
    first = pd.Timestamp(start) - pd.Timedelta(minutes=reference_minutes)
    first_minute = first.value // 1000 // US_PER_MINUTE
    end_minute = pd.Timestamp(horizon).value // 1000 // US_PER_MINUTE
    begin_minute = pd.Timestamp(start).value // 1000 // US_PER_MINUTE
    stop_minute = pd.Timestamp(end).value // 1000 // US_PER_MINUTE
    data = endpoint_minutely
    minute = (
        data[EndpointMinutely.minute_start].to_numpy("datetime64[us]").astype(np.int64)
        // US_PER_MINUTE
    )
    inside = (minute >= first_minute) & (minute < end_minute)
    data, minute = data[inside], minute[inside]
    observed_from = int(minute.min()) if len(minute) else end_minute
    rows = []
    width = end_minute - first_minute
    for (service, endpoint), part in data.groupby(
        [EndpointMinutely.service, EndpointMinutely.endpoint], sort=True
    ):
        counts = np.zeros(width, dtype=np.float64)
        counts[minute[data.index.get_indexer(part.index)] - first_minute] = part[
            EndpointMinutely.requests
        ].to_numpy()
        rows += _gaps_of(
            counts,
            service,
            endpoint,
            first_minute=first_minute,
            observed_from=observed_from,
            begin_minute=begin_minute,
            stop_minute=stop_minute,
            min_minutes=min_minutes,
            min_expected=min_expected,
            reference_minutes=reference_minutes,
        )
    if not rows:
        return _empty(AvailabilityGap)
    return _finish(AvailabilityGap, pd.DataFrame(rows))


def _gaps_of(
    counts: np.ndarray,
    service: str,
    endpoint: str,
    *,
    first_minute: int,
    observed_from: int,
    begin_minute: int,
    stop_minute: int,
    min_minutes: int,
    min_expected: float,
    reference_minutes: int,
) -> list[dict]:
    silent = counts == 0
    edges = np.diff(np.r_[0, silent.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    cumulative = np.r_[0.0, np.cumsum(counts)]
    rows = []
    for a, b in zip(starts, stops, strict=True):
        gap_start = first_minute + a
        if not begin_minute <= gap_start < stop_minute or b - a < min_minutes:
            continue
        window_start = max(a - reference_minutes, observed_from - first_minute, 0)
        seen = a - window_start
        if seen <= 0:
            continue  # nothing observed before it: the endpoint's normal traffic is unknown
        rate = (cumulative[a] - cumulative[window_start]) / seen
        expected = rate * (b - a)
        if expected < min_expected:
            continue
        rows.append(
            {
                AvailabilityGap.service: service,
                AvailabilityGap.endpoint: endpoint,
                AvailabilityGap.gap_start: pd.Timestamp(
                    gap_start * US_PER_MINUTE, unit="us", tz="UTC"
                ),
                AvailabilityGap.gap_end: pd.Timestamp(
                    (first_minute + b) * US_PER_MINUTE, unit="us", tz="UTC"
                ),
                AvailabilityGap.minutes: int(b - a),
                AvailabilityGap.expected_requests: float(expected),
                AvailabilityGap.ongoing: bool(b == len(counts)),
            }
        )
    return rows
