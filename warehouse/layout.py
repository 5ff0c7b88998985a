"""Partition layout: which table lives where under the warehouse root (the tables and their
partitioning come from `schemas.registry`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from schemas.registry import TABLES as REGISTRY
from schemas.registry import date_partition, hour_partition, partition_bounds, table_names

__all__ = [
    "DAILY_TABLES",
    "HOURLY_TABLES",
    "PART_FILE",
    "STAGED_TABLES",
    "STAGING",
    "TABLES",
    "Layout",
    "date_partition",
    "floor_hour",
    "hour_partition",
    "partition_bounds",
    "partition_of",
]

HOURLY_TABLES = table_names(partitioning="hourly")
"""Tables partitioned `date=YYYY-MM-DD/hour=HH` by the hour of their rows."""

DAILY_TABLES = table_names(partitioning="daily")
"""Tables partitioned `date=YYYY-MM-DD` only."""

TABLES = HOURLY_TABLES + DAILY_TABLES

STAGED_TABLES = tuple(spec.name for spec in REGISTRY if spec.staged)
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


def partition_of(table: str, ts: pd.Timestamp) -> str:
    """The partition of `table` holding time `ts`."""
    return date_partition(ts) if table in DAILY_TABLES else hour_partition(ts)


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
