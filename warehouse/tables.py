"""Reading and publishing table partitions: one file per metric partition, recorded in the catalog."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from warehouse.catalog import Catalog
from warehouse.layout import PART_FILE, Layout, floor_hour, hour_partition
from warehouse.storage import read_parquet_files, remove, write_parquet


def hour_range(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Every UTC hour start in [start, end)."""
    return pd.date_range(floor_hour(start), floor_hour(end), freq="h", inclusive="left")


def read_hours(
    layout: Layout, table: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame | None:
    """All rows of an hourly table for the hours in [start, end); None when there are none."""
    paths: list[Path] = []
    for hour in hour_range(start, end):
        paths.extend(sorted(layout.hour_dir(table, hour).glob("*.parquet")))
    return read_parquet_files(paths)


def publish_hour(
    layout: Layout,
    catalog: Catalog,
    table: str,
    hour: pd.Timestamp,
    frame: pd.DataFrame,
    *,
    run_id: str | None,
) -> int:
    """Replaces the hour's partition of `table` with `frame` (removing it when empty)."""
    partition = hour_partition(hour)
    path = layout.hour_dir(table, hour) / PART_FILE
    if frame.empty:
        if remove(path):
            catalog.drop_partition(table, partition)
        return 0
    written = write_parquet(frame, path)
    catalog.record_partition(table, partition, written, run_id)
    return written.rows
