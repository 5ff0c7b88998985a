"""Reading and publishing table partitions: one file per partition, recorded in the catalog;
compaction of staged per-file fragments into that file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.registry import table_spec
from warehouse.catalog import Catalog
from warehouse.layout import DAILY_TABLES, Layout, floor_hour, hour_partition, partition_of
from warehouse.storage import read_parquet_files, remove, write_parquet


def schema_version(table: str) -> int:
    """The version of the table's schema, recorded with each partition written."""
    return table_spec(table).version


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
    layout: Layout, table: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame | None:
    """All rows of a table for the partitions covering [start, end); None when there are none."""
    return read_parquet_files(partition_paths(layout, table, partitions_between(table, start, end)))


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


def publish(
    layout: Layout,
    catalog: Catalog,
    table: str,
    partition: str,
    frame: pd.DataFrame | pa.Table,
    *,
    run_id: str | None,
) -> int:
    """Replaces the partition of `table` with `frame` (removing it when empty); returns rows."""
    path = layout.part_file(table, partition)
    rows = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    if rows == 0:
        if remove(path):
            catalog.drop_partition(table, partition)
        return 0
    written = write_parquet(frame, path)
    catalog.record_partition(
        table, partition, written, run_id, schema_version=schema_version(table)
    )
    return written.rows


# compaction ------------------------------------------------------------------------------------
FILE_KEY = {"requests": "file_id", "quarantine": "source_file"}
"""The column naming the landing file of each staged table's rows."""
ORDER = {
    "requests": [("ts", "ascending"), ("file_id", "ascending")],
    "quarantine": [("source_file", "ascending"), ("line_number", "ascending")],
}


@dataclass(frozen=True)
class Compacted:
    """A partition's rows after merging its staged fragments, not yet published."""

    table: str
    partition: str
    rows: pa.Table | None
    staged: list[Path]


def merge_staged(layout: Layout, catalog: Catalog, table: str, partition: str) -> Compacted:
    """The partition's rows with its staged fragments merged in.

    For every landing file the ledger places in the partition: its staged rows when there are
    some, else its rows already in the partition's file. Re-running after a crash, or after a
    file was re-ingested, gives the same rows. Staged files of files the ledger does not place
    here (left by an interrupted ingest) are dropped."""
    members = catalog.partition_files(table, partition)  # file_id -> landing path
    key = FILE_KEY[table]
    staged_dir = layout.staging_dir(table, partition)
    staged = sorted(p for p in staged_dir.glob("*.parquet") if not p.name.startswith("."))
    keep = {p.stem: p for p in staged if p.stem in members}
    restaged = {fid if key == "file_id" else members[fid] for fid in keep}
    members_keys = {fid if key == "file_id" else path for fid, path in members.items()}
    pieces = []
    current = layout.part_file(table, partition)
    if current.exists():
        old = pq.read_table(current)
        values = old.column(key)
        wanted = pc.and_(
            pc.is_in(values, pa.array(sorted(members_keys), values.type)),
            pc.invert(pc.is_in(values, pa.array(sorted(restaged), values.type))),
        )
        pieces.append(old.filter(wanted))
    pieces += [pq.read_table(p) for p in keep.values()]
    merged = None
    if pieces:
        merged = pa.concat_tables(pieces, promote_options="default")
        if merged.num_rows:
            merged = merged.take(pc.sort_indices(merged, ORDER[table]))
    return Compacted(table, partition, merged, staged)


def publish_compacted(
    layout: Layout, catalog: Catalog, compacted: Compacted, *, run_id: str | None
) -> int:
    """Publishes a merged partition (removing it when empty), points the ledger at its file
    and deletes the staged fragments; returns the rows written."""
    table, partition = compacted.table, compacted.partition
    rows = compacted.rows if compacted.rows is not None else pa.table({})
    written = publish(layout, catalog, table, partition, rows, run_id=run_id)
    catalog.move_fragments(table, partition, str(layout.part_file(table, partition)))
    for path in compacted.staged:
        remove(path)
    return written


def compact(
    layout: Layout, catalog: Catalog, table: str, partition: str, *, run_id: str | None
) -> int:
    """Merges the partition's staged fragments into its single file (`merge_staged`, then
    `publish_compacted`); returns the rows written."""
    merged = merge_staged(layout, catalog, table, partition)
    return publish_compacted(layout, catalog, merged, run_id=run_id)
