"""Reading table partitions: which partitions cover a time range, and their rows. Writing them
is `warehouse.publish`'s; compaction is `warehouse.compaction`'s."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.common import empty_frame
from schemas.registry import partition_bounds, table_spec
from warehouse.layout import (
    DAILY_TABLES,
    PART_FILE,
    Layout,
    floor_hour,
    hour_partition,
    partition_of,
)
from warehouse.storage import read_parquet_files


def hour_range(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Every UTC hour start in [start, end)."""
    return pd.date_range(floor_hour(start), floor_hour(end), freq="h", inclusive="left")


def day_range(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Every UTC day start in [start, end)."""
    first = floor_hour(start).floor("D")
    return pd.date_range(first, floor_hour(end), freq="D", inclusive="left")


def partitions_between(table: str, start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    if table in DAILY_TABLES:
        return [partition_of(table, d) for d in day_range(start, end)]
    return [hour_partition(h) for h in hour_range(start, end)]


def partition_paths(layout: Layout, table: str, partitions: list[str]) -> list[Path]:
    paths: list[Path] = []
    for partition in partitions:
        folder = layout.partition_dir(table, partition)
        paths.extend(sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".")))
    return paths


def read_hours(
    layout: Layout,
    table: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """All rows of a table (or its `columns`) for the partitions covering [start, end); a
    zero-row frame with the model's columns and types when there are none."""
    paths = partition_paths(layout, table, partitions_between(table, start, end))
    frame = read_parquet_files(paths, columns=columns)
    if frame is None:
        frame = empty_frame(table_spec(table).model)
        return frame[columns] if columns is not None else frame
    return frame


def read_partition_arrow(
    layout: Layout, table: str, partition: str, *, dictionary: list[str] | None = None
) -> pa.Table | None:
    """One partition's file as Arrow (text columns named in `dictionary` kept dictionary
    coded); None when the partition has no file."""
    path = layout.part_file(table, partition)
    if not path.exists():
        return None
    schema = pq.read_schema(path)
    wanted = [c for c in dictionary or [] if c in schema.names]
    return pq.read_table(path, read_dictionary=wanted or None)


def newest_hour(layout: Layout, table: str) -> pd.Timestamp | None:
    """The start of the newest hour partition of an hourly table that has its file; None when
    there is none. Reads folder names only."""
    folder = layout.table_dir(table)
    if not folder.exists():
        return None
    for day in sorted((d for d in folder.glob("date=*") if d.is_dir()), reverse=True):
        hours = sorted((h for h in day.glob("hour=*") if (h / PART_FILE).exists()), reverse=True)
        if hours:
            start, _ = partition_bounds(f"{day.name}/{hours[0].name}", "hourly")
            return start
    return None
