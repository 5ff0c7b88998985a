"""The warehouse's tables, one entry each: Pandera model, grain, partitioning, time column,
schema version and retention default. Layout, the quality checkpoint, metric building, the
settings' retention default and `docs/tables.md` derive from this registry; partition strings
(`date=YYYY-MM-DD/hour=HH`, `date=YYYY-MM-DD`) are formatted and parsed here only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

Partitioning = Literal["hourly", "daily"]
Stage = Literal["ingest", "hourly_metric", "daily_metric", "templates", "forecast"]

HOUR = "date=YYYY-MM-DD/hour=HH"
DAY = "date=YYYY-MM-DD"
PATTERNS: dict[str, str] = {"hourly": HOUR, "daily": DAY}
"""The hive path below a table's folder, by partitioning."""


@dataclass(frozen=True)
class TableSpec:
    """Everything logcast knows about one warehouse table."""

    name: str
    model_name: str
    """`module:Class` of the table's Pandera model under `schemas` (imported on first use, so
    reading the registry does not load pandera)."""
    grain: str
    partitioning: Partitioning
    time_column: str
    """The column whose UTC time places a row in its partition."""
    stage: Stage
    """What builds the table: ingest (staged per landing file, then compacted), the hourly
    metric pass over `requests`, the daily rollups, template mining (after the hourly pass,
    `flows.templates`), or forecasting."""
    version: int = 1
    """Bumped when a column changes meaning or type (adding one keeps old partitions readable:
    the views read by column name); recorded with every partition in the catalog."""
    retention_days: int = 0
    """Default age (days before the day of the newest data, UTC) past which partitions are
    removed; 0 keeps them."""
    signed: tuple[str, ...] = ()
    """Integer columns that may be negative (not counts)."""

    @property
    def model(self) -> type[pa.DataFrameModel]:
        module, name = self.model_name.split(":")
        return getattr(import_module(f"schemas.{module}"), name)

    @property
    def partitions(self) -> str:
        """The hive path below the table folder."""
        return PATTERNS[self.partitioning]

    @property
    def staged(self) -> bool:
        """Written per landing file into a staging area first, then compacted."""
        return self.stage == "ingest"


def _spec(name, model, grain, partitioning, time_column, stage, **more) -> TableSpec:
    return TableSpec(name, model, grain, partitioning, time_column, stage, **more)


TABLES: tuple[TableSpec, ...] = (
    _spec(
        "requests",
        "requests:StoredRequest",
        "one row per logged request or service-log event",
        "hourly",
        "ts",
        "ingest",
        version=2,
        retention_days=30,
    ),
    _spec(
        "quarantine",
        "requests:Quarantine",
        "one row per record that could not be kept (line 0: a whole file)",
        "daily",
        "ingested_at",
        "ingest",
    ),
    _spec(
        "endpoint_hourly",
        "metrics:EndpointHourly",
        "one row per (hour_start, service, endpoint)",
        "hourly",
        "hour_start",
        "hourly_metric",
        version=2,
    ),
    _spec(
        "endpoint_minutely",
        "metrics:EndpointMinutely",
        "one row per (minute_start, service, endpoint)",
        "hourly",
        "minute_start",
        "hourly_metric",
    ),
    _spec(
        "endpoint_daily",
        "metrics:EndpointDaily",
        "one row per (day_start, service, endpoint)",
        "daily",
        "day_start",
        "daily_metric",
    ),
    _spec(
        "latency_sketches",
        "metrics:LatencySketch",
        "one row per (hour_start, service, endpoint, bucket) with a timed request",
        "hourly",
        "hour_start",
        "hourly_metric",
        signed=("bucket",),
    ),
    _spec(
        "service_hourly",
        "metrics:ServiceHourly",
        "one row per (hour_start, service)",
        "hourly",
        "hour_start",
        "hourly_metric",
    ),
    _spec(
        "region_hourly",
        "metrics:RegionHourly",
        "one row per (hour_start, region)",
        "hourly",
        "hour_start",
        "hourly_metric",
    ),
    _spec(
        "status_hourly",
        "metrics:StatusHourly",
        "one row per (hour_start, service, endpoint, status_code)",
        "hourly",
        "hour_start",
        "hourly_metric",
    ),
    _spec(
        "error_reasons_hourly",
        "metrics:ErrorReasonsHourly",
        "one row per (hour_start, service, endpoint, error_reason)",
        "hourly",
        "hour_start",
        "hourly_metric",
    ),
    _spec(
        "dimension_hourly",
        "metrics:DimensionHourly",
        "one row per (hour_start, service, endpoint, dimension, value)",
        "hourly",
        "hour_start",
        "hourly_metric",
    ),
    _spec(
        "log_levels_minutely",
        "metrics:LogLevelsMinutely",
        "one row per (minute_start, service, level)",
        "hourly",
        "minute_start",
        "hourly_metric",
    ),
    _spec(
        "log_messages_hourly",
        "templates:LogMessagesHourly",
        "one row per (hour_start, service, message) among events with a level and a message",
        "hourly",
        "hour_start",
        "templates",
    ),
    _spec(
        "log_templates_minutely",
        "templates:LogTemplatesMinutely",
        "one row per (minute_start, service, template_id, level)",
        "hourly",
        "minute_start",
        "templates",
    ),
    _spec(
        "log_templates",
        "templates:LogTemplates",
        "one row per (service, template_id)",
        "daily",
        "first_seen",
        "templates",
    ),
    _spec(
        "traffic_hourly",
        "metrics:TrafficHourly",
        "one row per (hour_start)",
        "daily",
        "hour_start",
        "daily_metric",
    ),
    _spec(
        "availability_gaps",
        "metrics:AvailabilityGap",
        "one row per (service, endpoint, gap_start)",
        "daily",
        "gap_start",
        "daily_metric",
    ),
    _spec(
        "forecasts",
        "forecasts:Forecast",
        "one row per (hour_start, service, endpoint, metric) scored",
        "hourly",
        "hour_start",
        "forecast",
    ),
    _spec(
        "anomalies",
        "forecasts:Anomaly",
        "one row per (hour_start, service, endpoint, metric) flagged",
        "hourly",
        "hour_start",
        "forecast",
        version=2,
    ),
    _spec(
        "incidents",
        "forecasts:Incident",
        "one row per (service, endpoint, start)",
        "daily",
        "start",
        "forecast",
    ),
)

_BY_NAME = {spec.name: spec for spec in TABLES}


def table_spec(name: str) -> TableSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"unknown table '{name}'; expected one of {', '.join(t.name for t in TABLES)}"
        ) from None


def table_names(
    *, partitioning: Partitioning | None = None, stage: Stage | None = None
) -> tuple[str, ...]:
    """Names of the tables with that partitioning and/or stage, in registry order."""
    return tuple(
        spec.name
        for spec in TABLES
        if (partitioning is None or spec.partitioning == partitioning)
        and (stage is None or spec.stage == stage)
    )


def default_retention() -> tuple[tuple[str, int], ...]:
    """(table, days) for every table removed after some days by default."""
    return tuple((spec.name, spec.retention_days) for spec in TABLES if spec.retention_days)


# partition strings ----------------------------------------------------------------------------
_PARTITION = re.compile(r"date=(\d{4}-\d{2}-\d{2})(?:/hour=(\d{2}))?")


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def hour_partition(hour: pd.Timestamp) -> str:
    """`date=YYYY-MM-DD/hour=HH` for the UTC hour holding `hour`."""
    hour = _utc(hour).floor("h")
    return f"date={hour:%Y-%m-%d}/hour={hour:%H}"


def hour_partitions(hours: np.ndarray) -> list[str]:
    """`hour_partition` of each of `hours` (naive UTC, `datetime64[h]`), at once."""
    return [f"date={text[:10]}/hour={text[11:13]}" for text in np.datetime_as_string(hours, "h")]


def date_partition(day: pd.Timestamp) -> str:
    """`date=YYYY-MM-DD` of a day (a naive time is read as UTC)."""
    day = pd.Timestamp(day)
    day = day.tz_convert("UTC") if day.tzinfo is not None else day
    return f"date={day:%Y-%m-%d}"


def partition_bounds(
    partition: str, partitioning: Partitioning | None = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of a partition string: one UTC hour or one UTC day.

    With `partitioning`, the string must be of that form; a malformed one raises ValueError."""
    match = _PARTITION.fullmatch(partition)
    hourly = match is not None and match.group(2) is not None
    if match is None or (partitioning is not None and hourly != (partitioning == "hourly")):
        expected = PATTERNS[partitioning] if partitioning else f"{HOUR} or {DAY}"
        raise ValueError(f"partition '{partition}' is not of the form {expected}")
    start = pd.Timestamp(match.group(1), tz="UTC").as_unit("us")
    if not hourly:
        return start, start + pd.Timedelta(days=1)
    hour = int(match.group(2))
    if hour > 23:
        raise ValueError(f"partition '{partition}' has no hour {hour}")
    start += pd.Timedelta(hours=hour)
    return start, start + pd.Timedelta(hours=1)
