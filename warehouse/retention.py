"""Retention: partitions older than a table's configured age are removed and the removal is
recorded; temporary files left by interrupted writers are swept."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from warehouse.catalog import Catalog
from warehouse.layout import Layout, partition_end
from warehouse.storage import remove


@dataclass(frozen=True)
class Removed:
    table: str
    partition: str
    rows: int


def expired_partitions(layout: Layout, table: str, cutoff: pd.Timestamp) -> list[str]:
    """Partitions of `table` that end at or before `cutoff`, oldest first."""
    folder = layout.table_dir(table)
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.rglob("*.parquet")):
        if path.name.startswith("."):
            continue
        partition = path.parent.relative_to(folder).as_posix()
        if partition_end(partition) <= cutoff:
            found.append(partition)
    return sorted(set(found))


def enforce_retention(
    layout: Layout,
    catalog: Catalog,
    retention_days: dict[str, int],
    *,
    now: pd.Timestamp,
    run_id: str | None,
) -> list[Removed]:
    """Removes every partition whose whole span is older than its table's retention (days
    before the start of today, UTC) and records each removal in the catalog."""
    today = pd.Timestamp(now).tz_convert("UTC").floor("D")
    removed = []
    for table, days in sorted(retention_days.items()):
        if days <= 0:
            continue  # kept for good
        cutoff = today - pd.Timedelta(days=days)
        for partition in expired_partitions(layout, table, cutoff):
            folder = layout.partition_dir(table, partition)
            rows = 0
            for path in sorted(folder.glob("*.parquet")):
                if not path.name.startswith("."):
                    rows += pq.ParquetFile(path).metadata.num_rows
                    remove(path)
            catalog.record_retention(table, partition, rows, run_id)
            removed.append(Removed(table, partition, rows))
    return removed


def sweep_temporary_files(root: Path, *, older_than_seconds: float = 3600.0) -> list[Path]:
    """Removes hidden `.tmp` files a killed writer left behind (a running writer's temporary
    file is younger than `older_than_seconds`); returns what was removed."""
    if not root.exists():
        return []
    limit = time.time() - older_than_seconds
    swept = []
    for path in root.rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                swept.append(path)
        except FileNotFoundError:
            continue  # its writer renamed or removed it meanwhile
    return sorted(swept)
