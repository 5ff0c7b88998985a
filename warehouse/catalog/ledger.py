"""The file ledger: landing files, their fragments per partition, the partitions waiting for
compaction, the endpoints each source was admitted with and those it has seen (the templates
variety folding is judged over)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from schemas.registry import partition_bounds
from warehouse.catalog.schema import (
    endpoints,
    files,
    fragments,
    hour_key,
    now,
    of_partition,
    pending_compaction,
    seen_endpoints,
)


@dataclass(frozen=True)
class FileRecord:
    """One landing file as ingested: its identity and its accounting."""

    file_id: str
    path: str
    size: int
    sha256: str
    source: str
    format: str
    records_read: int
    rows_kept: int
    rows_quarantined: int
    requests: int | None = None
    """Of rows_kept, those with an endpoint; the rest are service-log events."""
    events: int | None = None


@dataclass(frozen=True)
class Fragment:
    """One landing file's share of one partition of `requests` or `quarantine`: staged at
    `path` until compaction merges it into the partition's file."""

    table_name: str
    partition: str
    path: str
    rows: int
    hour: pd.Timestamp | None  # the event hour it feeds, for requests fragments


class Ledger:
    """The ledger part of `Catalog`."""

    engine: sa.Engine
    write_lock: threading.Lock

    # file ledger ---------------------------------------------------------------------------
    def file(self, path: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(files).where(files.c.path == path)).mappings().first()
        return dict(row) if row else None

    def is_ingested(self, path: str, size: int, sha256: str) -> bool:
        row = self.file(path)
        return bool(row and row["size"] == size and row["sha256"] == sha256)

    def record_file(
        self, record: FileRecord, new_fragments: Iterable[Fragment], run_id: str | None
    ) -> list[str]:
        """Replaces the file's ledger row and fragments in one transaction, marks every
        partition its old or new fragments touch for compaction and every hour of them as
        dirty. Returns the paths of old fragments that the new version no longer has."""
        new_fragments = list(new_fragments)
        new_paths = {f.path for f in new_fragments}
        with self.write_lock, self.engine.begin() as conn:
            old = (
                conn.execute(sa.select(fragments).where(fragments.c.file_id == record.file_id))
                .mappings()
                .all()
            )
            conn.execute(sa.delete(fragments).where(fragments.c.file_id == record.file_id))
            conn.execute(sa.delete(files).where(files.c.file_id == record.file_id))
            conn.execute(files.insert().values(**record.__dict__, ingested_at=now(), run_id=run_id))
            if new_fragments:
                conn.execute(
                    fragments.insert(),
                    [
                        {
                            "file_id": record.file_id,
                            "table_name": f.table_name,
                            "partition": f.partition,
                            "path": f.path,
                            "rows": f.rows,
                        }
                        for f in new_fragments
                    ],
                )
            touched = {hour_key(f.hour) for f in new_fragments if f.hour is not None}
            touched |= {
                hour_key(partition_bounds(o["partition"], "hourly")[0])
                for o in old
                if o["table_name"] == "requests"
            }
            self._mark_dirty(conn, touched)
            self._mark_pending(
                conn,
                {(f.table_name, f.partition) for f in new_fragments}
                | {(o["table_name"], o["partition"]) for o in old},
            )
        return sorted({o["path"] for o in old} - new_paths)

    def fragment_paths(self, table_name: str, partition: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                of_partition(
                    sa.select(fragments.c.path), fragments, table_name, partition
                ).order_by(fragments.c.path)
            )
            return [r[0] for r in rows]

    def partition_files(self, table_name: str, partition: str) -> dict[str, str]:
        """{file_id: landing file path} of the files with rows in the partition."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                of_partition(
                    sa.select(fragments.c.file_id, files.c.path).join(
                        files, files.c.file_id == fragments.c.file_id
                    ),
                    fragments,
                    table_name,
                    partition,
                )
            )
            return {r[0]: r[1] for r in rows}

    def move_fragments(self, table_name: str, partition: str, path: str) -> None:
        """The partition's fragments now live in `path` (its compacted file)."""
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(
                of_partition(fragments.update(), fragments, table_name, partition).values(path=path)
            )

    # compaction ------------------------------------------------------------------------------
    def _mark_pending(self, conn: sa.Connection, keys: set[tuple[str, str]]) -> None:
        """(Re)marks each partition, now: one statement for all of them, not two each (a
        file of a fortnight touches some 300 partitions)."""
        if not keys:
            return
        marked = now()
        rows = [{"t": table_name, "p": partition} for table_name, partition in sorted(keys)]
        conn.execute(
            sa.delete(pending_compaction)
            .where(pending_compaction.c.table_name == sa.bindparam("t"))
            .where(pending_compaction.c.partition == sa.bindparam("p")),
            rows,
        )
        conn.execute(
            pending_compaction.insert(),
            [{"table_name": r["t"], "partition": r["p"], "marked_at": marked} for r in rows],
        )

    def pending_partitions(self) -> list[tuple[str, str, datetime]]:
        """(table, partition, marked at) of every partition waiting for compaction."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(pending_compaction).order_by(
                    pending_compaction.c.table_name, pending_compaction.c.partition
                )
            )
            return [(r.table_name, r.partition, r.marked_at) for r in rows]

    def clear_pending(self, table_name: str, partition: str, marked_at: datetime) -> None:
        """Clears the mark unless the partition was marked again since `marked_at`."""
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(
                of_partition(
                    sa.delete(pending_compaction), pending_compaction, table_name, partition
                ).where(pending_compaction.c.marked_at <= marked_at)
            )

    # endpoints -------------------------------------------------------------------------------
    def known_endpoints(self, source: str) -> frozenset[str]:
        """The endpoints a source has been admitted with (its cardinality budget)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(endpoints.c.endpoint).where(endpoints.c.source == source))
            return frozenset(r[0] for r in rows)

    def add_endpoints(self, source: str, names: Iterable[str]) -> None:
        names = sorted(set(names))
        if not names:
            return
        with self.write_lock, self.engine.begin() as conn:
            existing = set(
                conn.execute(
                    sa.select(endpoints.c.endpoint)
                    .where(endpoints.c.source == source)
                    .where(endpoints.c.endpoint.in_(names))
                ).scalars()
            )
            fresh = [n for n in names if n not in existing]
            if fresh:
                seen = now()
                conn.execute(
                    endpoints.insert(),
                    [{"source": source, "endpoint": n, "first_seen": seen} for n in fresh],
                )

    def seen_endpoints(self, source: str) -> frozenset[str]:
        """The endpoint templates a source's files gave so far, admitted or not."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(seen_endpoints.c.endpoint).where(seen_endpoints.c.source == source)
            )
            return frozenset(r[0] for r in rows)

    def update_seen_endpoints(
        self,
        source: str,
        before: frozenset[str],
        after: frozenset[str],
        released: Iterable[str] = (),
    ) -> None:
        """Records a file's folding in one transaction: templates it added or folded further
        (from `before` to `after`), and admitted endpoints it released from the cap."""
        added, removed, released = after - before, before - after, sorted(set(released))
        if not (added or removed or released):
            return
        with self.write_lock, self.engine.begin() as conn:
            for table, names in ((seen_endpoints, sorted(removed)), (endpoints, released)):
                for chunk in _chunks(names):
                    conn.execute(
                        sa.delete(table)
                        .where(table.c.source == source)
                        .where(table.c.endpoint.in_(chunk))
                    )
            for chunk in _chunks(sorted(added)):
                present = set(
                    conn.execute(
                        sa.select(seen_endpoints.c.endpoint)
                        .where(seen_endpoints.c.source == source)
                        .where(seen_endpoints.c.endpoint.in_(chunk))
                    ).scalars()
                )
                fresh = [n for n in chunk if n not in present]
                if fresh:
                    conn.execute(
                        seen_endpoints.insert(), [{"source": source, "endpoint": n} for n in fresh]
                    )


def _chunks(names: list[str], size: int = 500) -> list[list[str]]:
    """Names in lists short enough for one `IN (...)` (SQLite limits bound parameters)."""
    return [names[k : k + size] for k in range(0, len(names), size)]
