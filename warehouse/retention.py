"""Retention: partitions older than a table's configured age are removed and the removal is
recorded; temporary files left by interrupted writers are swept.

Age is measured from the newest data in the warehouse, never from the wall clock: loading
last year's logs into an empty warehouse keeps them, and a pipeline that stops receiving data
keeps its last days. Partitions the running flow has just written are never removed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from warehouse.catalog import Catalog
from warehouse.layout import TABLES, Layout, partition_bounds
from warehouse.storage import remove


@dataclass(frozen=True)
class Removed:
    table: str
    partition: str
    rows: int


@dataclass(frozen=True)
class Retention:
    """What one pass of retention did."""

    newest: pd.Timestamp | None
    """The end of the newest partition in the warehouse: ages are counted back from it."""
    cutoffs: dict[str, pd.Timestamp] = field(default_factory=dict)
    """Per table with a retention: partitions ending at or before this instant expire."""
    removed: list[Removed] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    """Expired partitions kept because the running flow wrote them (removed by a later run)."""


def partitions(layout: Layout, table: str) -> list[str]:
    """The partitions of `table` that hold a file, oldest first."""
    folder = layout.table_dir(table)
    if not folder.exists():
        return []
    found = {
        path.parent.relative_to(folder).as_posix()
        for path in folder.rglob("*.parquet")
        if not path.name.startswith(".")
    }
    return sorted(found)


def newest_data(layout: Layout) -> pd.Timestamp | None:
    """The end of the newest hour partition of any table (of the newest day partition when no
    table has hours); None for an empty warehouse."""
    newest: dict[bool, pd.Timestamp] = {}
    for table in TABLES:
        found = partitions(layout, table)  # partition names sort in time order
        if found:
            hourly = "hour=" in found[-1]
            end = partition_bounds(found[-1])[1]
            newest[hourly] = max(newest.get(hourly, end), end)
    return newest.get(True, newest.get(False))


def expired_partitions(layout: Layout, table: str, cutoff: pd.Timestamp) -> list[str]:
    """Partitions of `table` that end at or before `cutoff`, oldest first."""
    return [p for p in partitions(layout, table) if partition_bounds(p)[1] <= cutoff]


def enforce_retention(
    layout: Layout,
    catalog: Catalog,
    retention_days: dict[str, int],
    *,
    run_id: str | None,
    keep: Iterable[tuple[str, str]] = (),
) -> Retention:
    """Removes every partition whose whole span lies more than its table's retention (in
    days) before the UTC day of the newest data, except the (table, partition) pairs in
    `keep`, and records each removal in the catalog."""
    newest = newest_data(layout)
    if newest is None:
        return Retention(newest=None)
    protected = set(keep)
    reference = (newest - pd.Timedelta(microseconds=1)).floor("D")
    result = Retention(newest=newest)
    for table, days in sorted(retention_days.items()):
        if days <= 0:
            continue  # kept for good
        cutoff = reference - pd.Timedelta(days=days)
        result.cutoffs[table] = cutoff
        for partition in expired_partitions(layout, table, cutoff):
            if (table, partition) in protected:
                result.kept.append((table, partition))
                continue
            folder = layout.partition_dir(table, partition)
            rows = 0
            for path in sorted(folder.glob("*.parquet")):
                if not path.name.startswith("."):
                    rows += pq.ParquetFile(path).metadata.num_rows
                    remove(path)
            catalog.record_retention(table, partition, rows, run_id)
            result.removed.append(Removed(table, partition, rows))
    return result


def filesystem_now(root: Path) -> float:
    """The time on the clock of the filesystem holding `root` (the modification time of a file
    created there now): file ages are measured on it, never on this host's clock, which may
    be skewed against shared storage."""
    with tempfile.NamedTemporaryFile(dir=root, prefix=".clock-", suffix=".probe") as probe:
        return os.fstat(probe.fileno()).st_mtime


def sweep_temporary_files(root: Path, *, older_than_seconds: float = 3600.0) -> list[Path]:
    """Removes hidden `.tmp` files a killed writer left behind (a running writer's temporary
    file is younger than `older_than_seconds`); returns what was removed."""
    if not root.exists():
        return []
    limit = filesystem_now(root) - older_than_seconds
    swept = []
    for path in root.rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                swept.append(path)
        except FileNotFoundError:
            continue  # its writer renamed or removed it meanwhile
    return sorted(swept)
