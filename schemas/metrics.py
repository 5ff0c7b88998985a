"""Metric tables built from `requests`: their columns, types, rules and grain.

Percentiles interpolate linearly between order statistics, as DuckDB's `quantile_cont` and
numpy's default do: for n values sorted, the q-quantile sits at rank q * (n - 1).
"""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from schemas.common import UtcTimestamp
from schemas.dtypes import Text

EPSILON = 1e-9


def _ordered(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Each column <= the next wherever the first is set (percentiles of timed requests)."""
    ok = pd.Series(True, index=df.index)
    for low, high in zip(columns, columns[1:], strict=False):
        ok &= (df[low] <= df[high] + EPSILON) | df[low].isna()
    return ok


class EndpointHourly(pa.DataFrameModel):
    """`endpoint_hourly`: one row per (hour_start, service, endpoint) with at least one request.

    A request is an event with an endpoint (service-log lines without one are not requests).
    Latency columns cover the requests that logged a response time (`timed_requests`); they are
    null when none did. Partitioned `endpoint_hourly/date=YYYY-MM-DD/hour=HH/part-0.parquet`.
    """

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    requests: Series[int] = pa.Field(gt=0, description="requests in the hour")
    status_2xx: Series[int] = pa.Field(ge=0, description="requests answered 200..299")
    status_3xx: Series[int] = pa.Field(ge=0, description="requests answered 300..399")
    status_4xx: Series[int] = pa.Field(ge=0, description="requests answered 400..499")
    status_5xx: Series[int] = pa.Field(ge=0, description="requests answered 500..599")
    error_rate: Series[float] = pa.Field(
        ge=0, le=1, description="(status_4xx + status_5xx) / requests (0..1)"
    )
    server_error_rate: Series[float] = pa.Field(
        ge=0, le=1, description="status_5xx / requests (0..1)"
    )
    timed_requests: Series[int] = pa.Field(ge=0, description="requests that logged a latency")
    latency_avg_ms: Series[float] = pa.Field(ge=0, nullable=True, description="mean latency, ms")
    latency_p50_ms: Series[float] = pa.Field(ge=0, nullable=True, description="median latency, ms")
    latency_p90_ms: Series[float] = pa.Field(ge=0, nullable=True, description="90th pct, ms")
    latency_p95_ms: Series[float] = pa.Field(ge=0, nullable=True, description="95th pct, ms")
    latency_p99_ms: Series[float] = pa.Field(ge=0, nullable=True, description="99th pct, ms")
    latency_max_ms: Series[float] = pa.Field(ge=0, nullable=True, description="slowest, ms")
    slow_requests: Series[int] = pa.Field(
        ge=0, description="timed requests slower than the slow threshold (strictly greater)"
    )
    slow_rate: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="slow_requests / timed_requests (0..1)"
    )
    unique_users: Series[pd.Int64Dtype] = pa.Field(
        ge=0, nullable=True, description="distinct user_id values; null when none was logged"
    )
    bytes_sent: Series[pd.Int64Dtype] = pa.Field(
        ge=0, nullable=True, description="response bytes summed; null when none was logged"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint"]

    @pa.dataframe_check
    @classmethod
    def percentiles_ordered(cls, df: DataFrame) -> Series[bool]:
        """p50 <= p90 <= p95 <= p99 <= max wherever latency was logged."""
        return _ordered(
            df,
            [
                "latency_p50_ms",
                "latency_p90_ms",
                "latency_p95_ms",
                "latency_p99_ms",
                "latency_max_ms",
            ],
        )

    @pa.dataframe_check
    @classmethod
    def counts_add_up(cls, df: DataFrame) -> Series[bool]:
        """Status classes, timed and slow requests never exceed the requests."""
        classes = df["status_2xx"] + df["status_3xx"] + df["status_4xx"] + df["status_5xx"]
        return (
            (classes <= df["requests"])
            & (df["timed_requests"] <= df["requests"])
            & (df["slow_requests"] <= df["timed_requests"])
        )


class EndpointMinutely(pa.DataFrameModel):
    """`endpoint_minutely`: one row per (minute_start, service, endpoint) with a request.

    Partitioned by the hour of the minute: `endpoint_minutely/date=YYYY-MM-DD/hour=HH/`.
    """

    minute_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC minute")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    requests: Series[int] = pa.Field(gt=0, description="requests in the minute")
    errors: Series[int] = pa.Field(ge=0, description="requests answered with status >= 400")
    latency_p50_ms: Series[float] = pa.Field(ge=0, nullable=True, description="median latency, ms")
    latency_p95_ms: Series[float] = pa.Field(ge=0, nullable=True, description="95th pct, ms")

    class Config:
        strict = True
        coerce = True
        unique = ["minute_start", "service", "endpoint"]

    @pa.dataframe_check
    @classmethod
    def percentiles_ordered(cls, df: DataFrame) -> Series[bool]:
        """p50 <= p95 wherever latency was logged."""
        return _ordered(df, ["latency_p50_ms", "latency_p95_ms"])


class LatencySketch(pa.DataFrameModel):
    """`latency_sketches`: the latency distribution of each (hour_start, service, endpoint) as
    a mergeable histogram with logarithmic buckets; daily percentiles are merged from it.

    Bucket `i` holds latencies in (g^(i-1), g^i] ms with g = 1.01 / 0.99, so any quantile read
    back from merged buckets is within 1 % of the exact value. Bucket -32768 holds latencies of
    a nanosecond (0.000001 ms) or less. One row per non-empty bucket.
    """

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    bucket: Series[int] = pa.Field(description="logarithmic bucket index")
    count: Series[int] = pa.Field(gt=0, description="timed requests in the bucket")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint", "bucket"]


class EndpointDaily(pa.DataFrameModel):
    """`endpoint_daily`: one row per (day_start, service, endpoint) with a request, rolled up
    from `endpoint_hourly` and `latency_sketches`.

    Counts, rates, the mean and the maximum are exact. p50..p99 come from the merged sketches:
    within 1 % of the exact `quantile_cont` over the day's requests. Distinct users do not add
    up across hours, so this table does not carry them. Partitioned `date=YYYY-MM-DD`.
    """

    day_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC day")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    requests: Series[int] = pa.Field(gt=0, description="requests in the day")
    status_2xx: Series[int] = pa.Field(ge=0, description="requests answered 200..299")
    status_3xx: Series[int] = pa.Field(ge=0, description="requests answered 300..399")
    status_4xx: Series[int] = pa.Field(ge=0, description="requests answered 400..499")
    status_5xx: Series[int] = pa.Field(ge=0, description="requests answered 500..599")
    error_rate: Series[float] = pa.Field(
        ge=0, le=1, description="(status_4xx + status_5xx) / requests (0..1)"
    )
    server_error_rate: Series[float] = pa.Field(
        ge=0, le=1, description="status_5xx / requests (0..1)"
    )
    timed_requests: Series[int] = pa.Field(ge=0, description="requests that logged a latency")
    latency_avg_ms: Series[float] = pa.Field(ge=0, nullable=True, description="mean latency, ms")
    latency_p50_ms: Series[float] = pa.Field(ge=0, nullable=True, description="median, ms (±1 %)")
    latency_p90_ms: Series[float] = pa.Field(ge=0, nullable=True, description="90th pct, ms (±1 %)")
    latency_p95_ms: Series[float] = pa.Field(ge=0, nullable=True, description="95th pct, ms (±1 %)")
    latency_p99_ms: Series[float] = pa.Field(ge=0, nullable=True, description="99th pct, ms (±1 %)")
    latency_max_ms: Series[float] = pa.Field(ge=0, nullable=True, description="slowest, ms")
    slow_requests: Series[int] = pa.Field(ge=0, description="timed requests over the threshold")
    slow_rate: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="slow_requests / timed_requests (0..1)"
    )
    bytes_sent: Series[pd.Int64Dtype] = pa.Field(
        ge=0, nullable=True, description="response bytes summed; null when none was logged"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["day_start", "service", "endpoint"]

    @pa.dataframe_check
    @classmethod
    def percentiles_ordered(cls, df: DataFrame) -> Series[bool]:
        """p50 <= p90 <= p95 <= p99 <= max wherever latency was logged."""
        return _ordered(
            df,
            [
                "latency_p50_ms",
                "latency_p90_ms",
                "latency_p95_ms",
                "latency_p99_ms",
                "latency_max_ms",
            ],
        )


class ServiceHourly(pa.DataFrameModel):
    """`service_hourly`: one row per (hour_start, service) with a request."""

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    requests: Series[int] = pa.Field(gt=0, description="requests in the hour")
    success_rate: Series[float] = pa.Field(
        ge=0, le=1, description="share of requests not answered 4xx or 5xx (1 - error_rate)"
    )
    latency_p95_ms: Series[float] = pa.Field(ge=0, nullable=True, description="95th pct, ms")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service"]


class RegionHourly(pa.DataFrameModel):
    """`region_hourly`: one row per (hour_start, region) with a request."""

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    region: Series[Text] = pa.Field(description="region ('unknown' when not logged)")
    requests: Series[int] = pa.Field(gt=0, description="requests in the hour")
    success_rate: Series[float] = pa.Field(
        ge=0, le=1, description="share of requests not answered 4xx or 5xx (1 - error_rate)"
    )
    latency_p95_ms: Series[float] = pa.Field(ge=0, nullable=True, description="95th pct, ms")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "region"]


class StatusHourly(pa.DataFrameModel):
    """`status_hourly`: one row per (hour_start, service, endpoint, status_code) among the
    requests that logged a status."""

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    status_code: Series[pd.Int16Dtype] = pa.Field(ge=100, le=599, description="HTTP status")
    requests: Series[int] = pa.Field(gt=0, description="requests answered with this status")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint", "status_code"]


class ErrorReasonsHourly(pa.DataFrameModel):
    """`error_reasons_hourly`: one row per (hour_start, service, endpoint, error_reason) among
    the requests that logged an error reason."""

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    error_reason: Series[Text] = pa.Field(description="error reason as logged")
    requests: Series[int] = pa.Field(gt=0, description="requests with this reason")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint", "error_reason"]


class DimensionHourly(pa.DataFrameModel):
    """`dimension_hourly`: one row per (hour_start, service, endpoint, dimension, value) among
    the requests of the sources that name `dimension` in their `dimensions` setting and log
    it (an attribute of the request, see `requests.attributes`)."""

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    dimension: Series[Text] = pa.Field(description="attribute named in a source's dimensions")
    value: Series[Text] = pa.Field(description="the attribute's value, as logged")
    requests: Series[int] = pa.Field(gt=0, description="requests with this value")
    error_rate: Series[float] = pa.Field(
        ge=0, le=1, description="share of these requests answered 4xx or 5xx (0..1)"
    )
    latency_p95_ms: Series[float] = pa.Field(
        ge=0,
        nullable=True,
        description="95th percentile latency of these requests; null when none was timed",
    )

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint", "dimension", "value"]


class LogLevelsMinutely(pa.DataFrameModel):
    """`log_levels_minutely`: one row per (minute_start, service, level) among the events that
    logged a level (service logs), requests or not."""

    minute_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC minute")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    level: Series[Text] = pa.Field(description="log level as logged")
    events: Series[int] = pa.Field(gt=0, description="events at this level")

    class Config:
        strict = True
        coerce = True
        unique = ["minute_start", "service", "level"]


class TrafficHourly(pa.DataFrameModel):
    """`traffic_hourly`: one row per UTC hour with a request: the volume and its rank within
    its day and its ISO week (Monday to Sunday, UTC); rank 1 is the peak hour.

    Ranks follow SQL `rank()`: tied hours share a rank and the next rank skips. Partitioned
    `date=YYYY-MM-DD` (a day's ranks change together).
    """

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    requests: Series[int] = pa.Field(gt=0, description="requests in the hour, all endpoints")
    share_of_day: Series[float] = pa.Field(
        gt=0, le=1, description="requests / requests of the UTC day (0..1)"
    )
    rank_in_day: Series[int] = pa.Field(ge=1, le=24, description="1 = busiest hour of the day")
    rank_in_week: Series[int] = pa.Field(ge=1, le=168, description="1 = busiest hour of the week")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start"]


class AvailabilityGap(pa.DataFrameModel):
    """`availability_gaps`: one row per stretch of whole minutes in which an endpoint that
    normally has traffic served no request.

    A stretch of zero minutes is a gap when it lasts at least `min_minutes` and the endpoint's
    rate in the hour before it makes at least `min_expected` requests expected over its length
    (with 10 expected, a silent stretch happens by chance with probability e^-10). Minutes after
    the newest data are not judged yet. Partitioned by the day of `gap_start`: `date=YYYY-MM-DD`.
    """

    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    gap_start: Series[UtcTimestamp] = pa.Field(description="first minute without a request")
    gap_end: Series[UtcTimestamp] = pa.Field(description="end of the last silent minute")
    minutes: Series[int] = pa.Field(gt=0, description="length of the gap, minutes")
    expected_requests: Series[float] = pa.Field(
        gt=0, description="requests the rate before the gap predicts over its length"
    )
    ongoing: Series[bool] = pa.Field(description="the gap reaches the newest data")

    class Config:
        strict = True
        coerce = True
        unique = ["service", "endpoint", "gap_start"]

    @pa.dataframe_check
    @classmethod
    def length_matches(cls, df: DataFrame) -> Series[bool]:
        """gap_end - gap_start is `minutes` minutes."""
        return (df["gap_end"] - df["gap_start"]) == pd.to_timedelta(df["minutes"], unit="min")
