"""Partition layout: which table lives where under the warehouse root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

HOURLY_TABLES = ("requests", "endpoint_hourly", "forecasts", "anomalies")
"""Tables partitioned `date=YYYY-MM-DD/hour=HH` by the hour of their rows."""

DAILY_TABLES = ("quarantine",)
"""Tables partitioned `date=YYYY-MM-DD` only."""

TABLES = HOURLY_TABLES + DAILY_TABLES

PART_FILE = "part-0.parquet"
"""The single file of a metric-table partition; `requests` and `quarantine` hold one per file."""


def floor_hour(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.floor("h")


def hour_partition(hour: pd.Timestamp) -> str:
    """`date=YYYY-MM-DD/hour=HH` for the UTC hour holding `hour`."""
    hour = floor_hour(hour)
    return f"date={hour:%Y-%m-%d}/hour={hour:%H}"


def date_partition(day: pd.Timestamp) -> str:
    return f"date={pd.Timestamp(day):%Y-%m-%d}"


def parse_hour_partition(partition: str) -> pd.Timestamp:
    """Inverse of `hour_partition`."""
    parts = dict(p.split("=", 1) for p in partition.split("/"))
    return pd.Timestamp(f"{parts['date']}T{parts['hour']}:00", tz="UTC")


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
