"""Metric tables built from `requests`."""

import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from schemas._types import UtcTimestamp


class EndpointHourly(pa.DataFrameModel):
    """`endpoint_hourly`: one row per (hour_start, service, endpoint) with at least one request.

    Percentiles interpolate linearly between order statistics (DuckDB's `quantile_cont`).
    Partitioned `endpoint_hourly/date=YYYY-MM-DD/hour=HH/part-0.parquet`.
    """

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[str] = pa.Field(description="service ('unknown' when not logged)")
    endpoint: Series[str] = pa.Field(description="normalised endpoint")
    requests: Series[int] = pa.Field(gt=0, description="requests in the hour")
    error_rate: Series[float] = pa.Field(
        ge=0, le=1, description="share of requests with status >= 400 (0..1)"
    )
    latency_p50_ms: Series[float] = pa.Field(ge=0, nullable=True, description="median latency")
    latency_p95_ms: Series[float] = pa.Field(ge=0, nullable=True, description="95th pct latency")
    latency_p99_ms: Series[float] = pa.Field(ge=0, nullable=True, description="99th pct latency")
    slow_rate: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="share of timed requests slower than the threshold"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint"]

    @pa.dataframe_check
    @classmethod
    def percentiles_ordered(cls, df: DataFrame) -> Series[bool]:
        """p50 <= p95 <= p99 wherever latency was logged."""
        p50, p95, p99 = df["latency_p50_ms"], df["latency_p95_ms"], df["latency_p99_ms"]
        ordered = (p50 <= p95 + 1e-9) & (p95 <= p99 + 1e-9)
        return ordered | p50.isna()
