"""Partition layout: which table lives where under the warehouse root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

HOURLY_TABLES = (
    "requests",
    "endpoint_hourly",
    "endpoint_minutely",
    "latency_sketches",
    "service_hourly",
    "region_hourly",
    "status_hourly",
    "error_reasons_hourly",
    "log_levels_minutely",
    "forecasts",
    "anomalies",
)
"""Tables partitioned `date=YYYY-MM-DD/hour=HH` by the hour of their rows."""

DAILY_TABLES = (
    "quarantine",
    "endpoint_daily",
    "traffic_hourly",
    "availability_gaps",
    "incidents",
)
"""Tables partitioned `date=YYYY-MM-DD` only."""

TABLES = HOURLY_TABLES + DAILY_TABLES

STAGED_TABLES = ("requests", "quarantine")
"""Tables written per landing file into a staging area first, then compacted into their
partition's single file."""

PART_FILE = "part-0.parquet"
"""The single file of every partition."""

STAGING = "_staging"
"""Folder under the warehouse root of per-file fragments waiting to be compacted; readers
never look there."""


def floor_hour(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.floor("h")


def hour_partition(hour: pd.Timestamp) -> str:
    """`date=YYYY-MM-DD/hour=HH` for the UTC hour holding `hour`."""
    hour = floor_hour(hour)
    return f"date={hour:%Y-%m-%d}/hour={hour:%H}"


def date_partition(day: pd.Timestamp) -> str:
    day = pd.Timestamp(day)
    day = day.tz_convert("UTC") if day.tzinfo is not None else day
    return f"date={day:%Y-%m-%d}"


def partition_of(table: str, ts: pd.Timestamp) -> str:
    """The partition of `table` holding time `ts`."""
    return date_partition(ts) if table in DAILY_TABLES else hour_partition(ts)


def parse_hour_partition(partition: str) -> pd.Timestamp:
    """Inverse of `hour_partition`."""
    parts = dict(p.split("=", 1) for p in partition.split("/"))
    return pd.Timestamp(f"{parts['date']}T{parts['hour']}:00", tz="UTC")


def partition_start(partition: str) -> pd.Timestamp:
    """The first instant of an hour or date partition."""
    parts = dict(p.split("=", 1) for p in partition.split("/"))
    return pd.Timestamp(f"{parts['date']}T{parts.get('hour', '00')}:00", tz="UTC")


def partition_end(partition: str) -> pd.Timestamp:
    step = pd.Timedelta(hours=1) if "hour=" in partition else pd.Timedelta(days=1)
    return partition_start(partition) + step


@dataclass(frozen=True)
class Layout:
    """Paths of one warehouse."""

    root: Path

    def table_dir(self, table: str) -> Path:
        if table not in TABLES:
            raise ValueError(f"unknown table '{table}'; expected one of {', '.join(TABLES)}")
        return self.root / table

    def hour_dir(self, table: str, hour: pd.Timestamp) -> Path:
        return self.table_dir(table) / hour_partition(hour)

    def date_dir(self, table: str, day: pd.Timestamp) -> Path:
        return self.table_dir(table) / date_partition(day)

    def partition_dir(self, table: str, partition: str) -> Path:
        return self.table_dir(table) / partition

    def part_file(self, table: str, partition: str) -> Path:
        return self.partition_dir(table, partition) / PART_FILE

    def staging_dir(self, table: str, partition: str) -> Path:
        if table not in STAGED_TABLES:
            raise ValueError(f"table '{table}' is not staged")
        return self.root / STAGING / table / partition
