"""The hourly metric tables, all from one pass over the request events (`hourly_tables`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.metrics import (
    EndpointHourly,
    EndpointMinutely,
    ErrorReasonsHourly,
    LatencySketch,
    LogLevelsMinutely,
    RegionHourly,
    ServiceHourly,
    StatusHourly,
)
from schemas.registry import table_names
from transforms.metrics.dimensions import Dimensions, dimension_frame
from transforms.metrics.events import (
    US_PER_HOUR,
    US_PER_MINUTE,
    Coded,
    Events,
    Groups,
    Latency,
    as_table,
    empty,
    finish,
    hour_starts,
    minute_starts,
    nullable_int,
)
from transforms.metrics.sketch import sketch_buckets

PERCENTILES = {
    EndpointHourly.latency_p50_ms: 0.50,
    EndpointHourly.latency_p90_ms: 0.90,
    EndpointHourly.latency_p95_ms: 0.95,
    EndpointHourly.latency_p99_ms: 0.99,
}

HOURLY_TABLES = table_names(stage="hourly_metric")
"""The tables `hourly_tables` builds (the registry's hourly metric tables), each partitioned by
hour."""


class HourlyBuilder:
    def __init__(
        self,
        requests: pd.DataFrame | pa.Table,
        slow_threshold_ms: float,
        validate: bool = True,
        dimensions: Dimensions | None = None,
    ):
        self.validate = validate
        self.table = as_table(requests)
        self.dimensions = dimensions or {}
        self.events = e = Events(self.table)
        self.slow_threshold_ms = slow_threshold_ms
        self.hours = e.ts // US_PER_HOUR
        self.minutes = e.ts // US_PER_MINUTE
        self.requests = np.flatnonzero(e.is_request)
        rows = self.requests
        self.request_latency = e.latency[rows]
        self.latency = Latency(self.request_latency, e.timed[rows])
        self.latency_positions = self.latency.positions  # timed, as positions within `rows`
        self.endpoint_groups = Groups(
            [self.hours[rows], e.service.codes[rows], e.endpoint.codes[rows]]
        )

    def endpoint_hourly(self) -> pd.DataFrame:
        e, rows, g = self.events, self.requests, self.endpoint_groups
        if not len(rows):
            return empty(EndpointHourly)
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
                EndpointHourly.hour_start: hour_starts(g.keys[0]),
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
                EndpointHourly.bytes_sent: nullable_int(bytes_sum, bytes_logged > 0),
            }
        )
        return finish(EndpointHourly, frame, self.validate)

    def _unique_users(self, g: Groups) -> pd.arrays.IntegerArray:
        e, rows = self.events, self.requests
        users = e.user.codes[rows]
        logged = users >= 0
        width = max(len(e.user.values), 1)
        pairs = pd.unique(g.ids[logged] * width + users[logged])
        counts = np.bincount(pairs // width, minlength=g.count)
        any_logged = np.bincount(g.ids[logged], minlength=g.count) > 0
        return nullable_int(counts, any_logged)

    def endpoint_minutely(self) -> pd.DataFrame:
        e, rows = self.events, self.requests
        if not len(rows):
            return empty(EndpointMinutely)
        g = Groups([self.minutes[rows], self.endpoint_groups.ids])
        _, _, _, (p50, p95) = self.latency.quantiles(g, [0.5, 0.95])
        endpoint_group = g.keys[1]
        base = self.endpoint_groups
        frame = pd.DataFrame(
            {
                EndpointMinutely.minute_start: minute_starts(g.keys[0]),
                EndpointMinutely.service: e.service.values[base.keys[1][endpoint_group]],
                EndpointMinutely.endpoint: e.endpoint.values[base.keys[2][endpoint_group]],
                EndpointMinutely.requests: g.size(),
                EndpointMinutely.errors: g.size(np.flatnonzero(e.status[rows] >= 400)),
                EndpointMinutely.latency_p50_ms: p50,
                EndpointMinutely.latency_p95_ms: p95,
            }
        )
        return finish(EndpointMinutely, frame, self.validate)

    def latency_sketches(self) -> pd.DataFrame:
        e, g = self.events, self.endpoint_groups
        latencies = self.request_latency[self.latency_positions]
        if not len(latencies):
            return empty(LatencySketch)
        buckets = sketch_buckets(latencies)
        counts = Groups([g.ids[self.latency_positions], buckets])
        group = counts.keys[0]
        frame = pd.DataFrame(
            {
                LatencySketch.hour_start: hour_starts(g.keys[0][group]),
                LatencySketch.service: e.service.values[g.keys[1][group]],
                LatencySketch.endpoint: e.endpoint.values[g.keys[2][group]],
                LatencySketch.bucket: counts.keys[1],
                LatencySketch.count: counts.size(),
            }
        )
        return finish(LatencySketch, frame, self.validate)

    def _by_dimension(self, model, name: str, coded: Coded) -> pd.DataFrame:
        e, rows = self.events, self.requests
        if not len(rows):
            return empty(model)
        g = Groups([self.hours[rows], coded.codes[rows]])
        requests = g.size()
        errors = g.size(np.flatnonzero(e.status[rows] >= 400))
        _, _, _, (p95,) = self.latency.quantiles(g, [0.95])
        frame = pd.DataFrame(
            {
                "hour_start": hour_starts(g.keys[0]),
                name: coded.values[g.keys[1]],
                "requests": requests,
                "success_rate": 1 - errors / requests,
                "latency_p95_ms": p95,
            }
        )
        return finish(model, frame, self.validate)

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
            return empty(model)
        codes, labels = values
        g = Groups([base.ids[picked], codes[self.requests][picked]])
        endpoint_group = g.keys[0]
        frame = pd.DataFrame(
            {
                "hour_start": hour_starts(base.keys[0][endpoint_group]),
                "service": e.service.values[base.keys[1][endpoint_group]],
                "endpoint": e.endpoint.values[base.keys[2][endpoint_group]],
                name: labels(g.keys[1]),
                "requests": g.size(),
            }
        )
        return finish(model, frame, self.validate)

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

    def dimension_hourly(self) -> pd.DataFrame:
        e = self.events
        return dimension_frame(
            self.table,
            self.requests,
            self.endpoint_groups,
            e.service.values,
            e.endpoint.values,
            e.status[self.requests],
            self.latency,
            self.dimensions,
            self.validate,
        )

    def log_levels_minutely(self) -> pd.DataFrame:
        e = self.events
        rows = np.flatnonzero(e.level.codes >= 0)
        if not len(rows):
            return empty(LogLevelsMinutely)
        g = Groups([self.minutes[rows], e.service.codes[rows], e.level.codes[rows]])
        frame = pd.DataFrame(
            {
                LogLevelsMinutely.minute_start: minute_starts(g.keys[0]),
                LogLevelsMinutely.service: e.service.values[g.keys[1]],
                LogLevelsMinutely.level: e.level.values[g.keys[2]],
                LogLevelsMinutely.events: g.size(),
            }
        )
        return finish(LogLevelsMinutely, frame, self.validate)


def hourly_tables(
    requests: pd.DataFrame | pa.Table,
    *,
    slow_threshold_ms: float = 1000.0,
    validate: bool = True,
    dimensions: Dimensions | None = None,
) -> dict[str, pd.DataFrame]:
    """Every hourly metric table (`HOURLY_TABLES`) from the same request events, coded once;
    `dimensions` (source -> attribute names) are the breakdowns of `dimension_hourly`.

    With `validate=False` the frames (already in the models' types) are left for the caller
    to validate, for instance once over many hours."""
    builder = HourlyBuilder(requests, slow_threshold_ms, validate, dimensions)
    return {name: getattr(builder, name)() for name in HOURLY_TABLES}


def endpoint_hourly(
    requests: pd.DataFrame | pa.Table, *, slow_threshold_ms: float = 1000.0
) -> pd.DataFrame:
    """One row per (hour_start, service, endpoint) with at least one request (an event with
    an endpoint; service-log events without one are not requests).

    `error_rate` is (4xx + 5xx) / requests; latency columns cover the requests that logged a
    latency; `slow_requests` are those slower than `slow_threshold_ms` (strictly greater)."""
    return HourlyBuilder(requests, slow_threshold_ms).endpoint_hourly()
