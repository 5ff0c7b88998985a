"""Compaction: the staged per-file fragments of a `requests` or `quarantine` partition merged
into its single file, published like every other partition (`warehouse.publish.Batch`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.registry import partition_bounds
from transforms.reading import conform
from warehouse.catalog import Catalog
from warehouse.layout import Layout
from warehouse.locks import day_locks
from warehouse.publish import Batch
from warehouse.storage import remove

FILE_KEY = {"requests": "file_id", "quarantine": "source_file"}
"""The column naming the landing file of each staged table's rows."""
ORDER = {
    "requests": [("ts", "ascending"), ("file_id", "ascending")],
    "quarantine": [("source_file", "ascending"), ("line_number", "ascending")],
}

BATCH_ROWS = 1_000_000
"""Merged partitions held at once before they are checked and published."""


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
        if table == "requests":  # a staged fragment holds the columns its file logged
            merged = conform(merged)
        if table == "quarantine":
            merged = with_reason_codes(merged)
        if merged.num_rows:
            merged = merged.take(pc.sort_indices(merged, ORDER[table]))
    return Compacted(table, partition, merged, staged)


def with_reason_codes(rows: pa.Table) -> pa.Table:
    """Quarantine rows with a reason_code on each: rows written before the column existed get
    theirs from their reasons."""
    from transforms.reason_codes import reason_codes

    codes = rows.column("reason_code") if "reason_code" in rows.column_names else None
    if codes is not None and codes.null_count == 0:
        return rows
    computed = pa.array(
        reason_codes(rows.column("reasons").to_pandas()).tolist(), pa.large_string()
    )
    if codes is not None:
        computed = pc.coalesce(codes.combine_chunks().cast(pa.large_string()), computed)
        return rows.set_column(rows.column_names.index("reason_code"), "reason_code", computed)
    return rows.append_column("reason_code", computed)


def publish_compacted(
    layout: Layout,
    catalog: Catalog,
    held: list[tuple[Compacted, datetime | None]],
    *,
    run_id: str | None,
) -> int:
    """Publishes merged partitions as one batch (a partition without rows is removed), then
    points the ledger at each partition's file, deletes the staged fragments and clears the
    compaction mark (when given the time it was marked); returns the rows written."""
    batch = Batch(layout, catalog, run_id)
    for merged, _ in held:
        rows = merged.rows if merged.rows is not None else pa.table({})
        batch.add(merged.table, merged.partition, rows)
    written = sum(batch.check_and_publish().values())
    for merged, marked_at in held:
        table, partition = merged.table, merged.partition
        catalog.move_fragments(table, partition, str(layout.part_file(table, partition)))
        for path in merged.staged:
            remove(path)
        if marked_at is not None:
            catalog.clear_pending(table, partition, marked_at)
    return written


def compact(
    layout: Layout, catalog: Catalog, table: str, partition: str, *, run_id: str | None
) -> int:
    """Merges one partition's staged fragments into its single file (a batch of one); returns
    the rows written."""
    merged = merge_staged(layout, catalog, table, partition)
    return publish_compacted(layout, catalog, [(merged, None)], run_id=run_id)


def compact_pending(
    layout: Layout,
    catalog: Catalog,
    *,
    locks_dir: Path,
    run_id: str | None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Compacts every partition with staged fragments (or rows of files gone from it) into
    its single file, holding the locks of their days, published in batches of about
    `batch_rows` merged rows; returns the partitions compacted."""
    pending = catalog.pending_partitions()
    days = {partition_bounds(partition)[0].floor("D") for _, partition, _ in pending}
    with day_locks(locks_dir, days):
        held: list[tuple[Compacted, datetime | None]] = []
        rows = 0
        for table, partition, marked_at in pending:
            merged = merge_staged(layout, catalog, table, partition)
            held.append((merged, marked_at))
            rows += merged.rows.num_rows if merged.rows is not None else 0
            if rows >= batch_rows:
                publish_compacted(layout, catalog, held, run_id=run_id)
                held, rows = [], 0
        publish_compacted(layout, catalog, held, run_id=run_id)
    return len(pending)
