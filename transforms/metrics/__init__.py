"""Metric tables computed from canonical request events, and the daily rollups built from them.

Every hourly table comes from one pass over the events (`hourly_tables`): the text columns are
dictionary-coded once, the timed latencies sorted once, and each table's groups counted with
integer codes. Percentiles interpolate linearly between order statistics (DuckDB's
`quantile_cont`): for n sorted values the q-quantile sits at rank q * (n - 1).

The package splits by concern: `events` (coding and grouping the events), `hourly` (the
hourly tables), `sketch` (the latency sketch), `daily` (daily rollups) and `gaps`
(availability gaps); this module is its public API.
"""

from transforms.metrics.daily import ADDITIVE, endpoint_daily, traffic_hourly
from transforms.metrics.events import UNKNOWN
from transforms.metrics.gaps import availability_gaps
from transforms.metrics.hourly import HOURLY_TABLES, PERCENTILES, endpoint_hourly, hourly_tables
from transforms.metrics.sketch import (
    SKETCH_GAMMA,
    SKETCH_MIN_MS,
    SKETCH_RELATIVE_ERROR,
    SKETCH_ZERO_BUCKET,
    bucket_value,
    sketch_buckets,
    sketch_quantiles,
)

__all__ = [
    "ADDITIVE",
    "HOURLY_TABLES",
    "PERCENTILES",
    "SKETCH_GAMMA",
    "SKETCH_MIN_MS",
    "SKETCH_RELATIVE_ERROR",
    "SKETCH_ZERO_BUCKET",
    "UNKNOWN",
    "availability_gaps",
    "bucket_value",
    "endpoint_daily",
    "endpoint_hourly",
    "hourly_tables",
    "sketch_buckets",
    "sketch_quantiles",
    "traffic_hourly",
]
