"""The catalog (SQLAlchemy): runs, the file ledger and its fragments, partitions, dirty hours."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.storage import WrittenFile

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("flow", sa.String(64), nullable=False),
    sa.Column("parameters", sa.Text, nullable=False, default="{}"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary", sa.Text),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("file_id", sa.String(32), primary_key=True),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("records_read", sa.BigInteger, nullable=False),
    sa.Column("rows_kept", sa.BigInteger, nullable=False),
    sa.Column("rows_quarantined", sa.BigInteger, nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(64)),
)

fragments = sa.Table(
    "fragments",
    metadata,
    sa.Column("file_id", sa.String(32), primary_key=True),
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
)

partitions = sa.Table(
    "partitions",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)

quality_results = sa.Table(
    "quality_results",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),  # "" for checks outside a run
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("expectation", sa.String(256), primary_key=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("unexpected", sa.BigInteger, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
)

pending_compaction = sa.Table(
    "pending_compaction",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("service", sa.String(128), primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("trained_through", sa.String(32), primary_key=True),  # ISO 8601 UTC
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("fit_seconds", sa.Float, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
)

retention_log = sa.Table(
    "retention_log",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(64)),
)

dirty_hours = sa.Table(
    "dirty_hours",
    metadata,
    sa.Column("hour", sa.String(32), primary_key=True),  # ISO 8601 UTC hour start
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
)


backfill_days = sa.Table(
    "backfill_days",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC
    sa.Column("run_id", sa.String(64)),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
)
"""Days a backfill finished (recomputed and scored): a later backfill skips them unless forced."""


endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
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


@dataclass(frozen=True)
class Fragment:
    """One landing file's share of one partition of `requests` or `quarantine`: staged at
    `path` until compaction merges it into the partition's file."""

    table_name: str
    partition: str
    path: str
    rows: int
    hour: pd.Timestamp | None  # the event hour it feeds, for requests fragments


def now() -> datetime:
    return datetime.now(UTC)


def _hour_key(hour: pd.Timestamp) -> str:
    return pd.Timestamp(hour).tz_convert("UTC").strftime("%Y-%m-%dT%H:00:00Z")


class Catalog:
    """Thin access layer over the catalog database; safe to share between threads."""

    def __init__(self, url: str):
        self.url = url
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite"):
            database = url.split(":///", 1)[-1]
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"check_same_thread": False, "timeout": 60}
        self.engine = sa.create_engine(url, connect_args=connect_args)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        # SQLite allows one writer; serialising our own writers avoids busy retries.
        self._write_lock = threading.Lock()
        metadata.create_all(self.engine)

    # runs -----------------------------------------------------------------------------------
    def start_run(self, run_id: str, flow: str, parameters: dict[str, Any]) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(sa.delete(runs).where(runs.c.run_id == run_id))
            conn.execute(
                runs.insert().values(
                    run_id=run_id,
                    flow=flow,
                    parameters=json.dumps(parameters, default=str),
                    started_at=now(),
                    status="running",
                )
            )

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(finished_at=now(), status=status, summary=json.dumps(summary, default=str))
            )

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
        with self._write_lock, self.engine.begin() as conn:
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
            touched = {_hour_key(f.hour) for f in new_fragments if f.hour is not None}
            touched |= {
                _partition_hour(o["partition"]) for o in old if o["table_name"] == "requests"
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
                sa.select(fragments.c.path)
                .where(fragments.c.table_name == table_name)
                .where(fragments.c.partition == partition)
                .order_by(fragments.c.path)
            )
            return [r[0] for r in rows]

    def partition_files(self, table_name: str, partition: str) -> dict[str, str]:
        """{file_id: landing file path} of the files with rows in the partition."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(fragments.c.file_id, files.c.path)
                .join(files, files.c.file_id == fragments.c.file_id)
                .where(fragments.c.table_name == table_name)
                .where(fragments.c.partition == partition)
            )
            return {r[0]: r[1] for r in rows}

    def move_fragments(self, table_name: str, partition: str, path: str) -> None:
        """The partition's fragments now live in `path` (its compacted file)."""
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                fragments.update()
                .where(fragments.c.table_name == table_name)
                .where(fragments.c.partition == partition)
                .values(path=path)
            )

    # compaction ------------------------------------------------------------------------------
    def _mark_pending(self, conn: sa.Connection, keys: set[tuple[str, str]]) -> None:
        marked = now()
        for table_name, partition in sorted(keys):
            conn.execute(
                sa.delete(pending_compaction)
                .where(pending_compaction.c.table_name == table_name)
                .where(pending_compaction.c.partition == partition)
            )
            conn.execute(
                pending_compaction.insert().values(
                    table_name=table_name, partition=partition, marked_at=marked
                )
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
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                sa.delete(pending_compaction)
                .where(pending_compaction.c.table_name == table_name)
                .where(pending_compaction.c.partition == partition)
                .where(pending_compaction.c.marked_at <= marked_at)
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
        with self._write_lock, self.engine.begin() as conn:
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

    # dirty hours ---------------------------------------------------------------------------
    def _mark_dirty(self, conn: sa.Connection, hours: set[str]) -> None:
        if not hours:
            return
        existing = set(
            conn.execute(
                sa.select(dirty_hours.c.hour).where(dirty_hours.c.hour.in_(hours))
            ).scalars()
        )
        fresh = sorted(hours - existing)
        if fresh:
            marked = now()
            conn.execute(dirty_hours.insert(), [{"hour": h, "marked_at": marked} for h in fresh])

    def mark_dirty(self, hours: Iterable[pd.Timestamp]) -> None:
        with self._write_lock, self.engine.begin() as conn:
            self._mark_dirty(conn, {_hour_key(h) for h in hours})

    def dirty_hours(self) -> list[pd.Timestamp]:
        with self.engine.connect() as conn:
            keys = conn.execute(
                sa.select(dirty_hours.c.hour).order_by(dirty_hours.c.hour)
            ).scalars()
            return [pd.Timestamp(k) for k in keys]

    def clear_dirty(self, hours: Iterable[pd.Timestamp], marked_before: datetime) -> None:
        """Clears hours marked before `marked_before` (when their rebuild started): an hour
        marked again while it was being rebuilt stays dirty."""
        keys = [_hour_key(h) for h in hours]
        if not keys:
            return
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                sa.delete(dirty_hours)
                .where(dirty_hours.c.hour.in_(keys))
                .where(dirty_hours.c.marked_at <= marked_before)
            )

    # backfill progress ---------------------------------------------------------------------
    def finish_day(self, day: pd.Timestamp, run_id: str | None) -> None:
        key = f"{pd.Timestamp(day):%Y-%m-%d}"
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(sa.delete(backfill_days).where(backfill_days.c.day == key))
            conn.execute(
                backfill_days.insert(), {"day": key, "run_id": run_id, "finished_at": now()}
            )

    def finished_days(self, days: Iterable[pd.Timestamp]) -> set[pd.Timestamp]:
        """The days among `days` a backfill finished."""
        wanted = {f"{pd.Timestamp(d):%Y-%m-%d}": pd.Timestamp(d) for d in days}
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            keys = conn.execute(
                sa.select(backfill_days.c.day).where(backfill_days.c.day.in_(list(wanted)))
            ).scalars()
            return {wanted[k] for k in keys}

    def forget_days(self, days: Iterable[pd.Timestamp]) -> None:
        keys = [f"{pd.Timestamp(d):%Y-%m-%d}" for d in days]
        if keys:
            with self._write_lock, self.engine.begin() as conn:
                conn.execute(sa.delete(backfill_days).where(backfill_days.c.day.in_(keys)))

    # partitions ----------------------------------------------------------------------------
    def record_partition(
        self,
        table_name: str,
        partition: str,
        written: WrittenFile,
        run_id: str | None,
        schema_version: int = 1,
    ) -> None:
        self.record_partitions([(table_name, partition, written, schema_version)], run_id)

    def record_partitions(
        self, items: Iterable[tuple[str, str, WrittenFile | None, int]], run_id: str | None
    ) -> None:
        """(table, partition, file written or None when the partition was removed, schema
        version) for many partitions, in one transaction."""
        items = list(items)
        if not items:
            return
        written_at = now()
        with self._write_lock, self.engine.begin() as conn:
            for table_name, partition, _, _ in items:
                conn.execute(
                    sa.delete(partitions)
                    .where(partitions.c.table_name == table_name)
                    .where(partitions.c.partition == partition)
                )
            rows = [
                {
                    "table_name": table_name,
                    "partition": partition,
                    "path": str(written.path),
                    "rows": written.rows,
                    "bytes": written.bytes,
                    "checksum": written.sha256,
                    "run_id": run_id,
                    "schema_version": version,
                    "written_at": written_at,
                }
                for table_name, partition, written, version in items
                if written is not None
            ]
            if rows:
                conn.execute(partitions.insert(), rows)

    def drop_partition(self, table_name: str, partition: str) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                sa.delete(partitions)
                .where(partitions.c.table_name == table_name)
                .where(partitions.c.partition == partition)
            )

    def partitions_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(partitions).order_by(partitions.c.table_name), conn)

    # quality results -----------------------------------------------------------------------
    def record_quality(self, run_id: str | None, results: Iterable[Any]) -> None:
        """Records Great Expectations results: objects with `table`, `partition`,
        `expectation`, `success`, `unexpected` and `details` (warehouse.quality.QualityResult).
        A row with the same (run_id, table, partition, expectation) is replaced."""
        key = run_id or ""
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        checked_at = now()
        for r in results:
            rows[(r.table, r.partition, r.expectation)] = {
                "run_id": key,
                "table_name": r.table,
                "partition": r.partition,
                "expectation": r.expectation,
                "success": bool(r.success),
                "unexpected": int(r.unexpected),
                "details": str(r.details),
                "checked_at": checked_at,
            }
        if not rows:
            return
        same_key = (
            sa.delete(quality_results)
            .where(quality_results.c.run_id == sa.bindparam("k_run_id"))
            .where(quality_results.c.table_name == sa.bindparam("k_table_name"))
            .where(quality_results.c.partition == sa.bindparam("k_partition"))
            .where(quality_results.c.expectation == sa.bindparam("k_expectation"))
        )
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                same_key,
                [
                    {
                        "k_run_id": key,
                        "k_table_name": table_name,
                        "k_partition": partition,
                        "k_expectation": expectation,
                    }
                    for table_name, partition, expectation in rows
                ],
            )
            conn.execute(quality_results.insert(), list(rows.values()))

    def quality_frame(self, run_id: str | None = None) -> pd.DataFrame:
        """Recorded quality results, of one run or (run_id None) of all; a check made outside a
        run has run_id None."""
        query = sa.select(quality_results).order_by(
            quality_results.c.run_id,
            quality_results.c.table_name,
            quality_results.c.partition,
            quality_results.c.expectation,
        )
        if run_id is not None:
            query = query.where(quality_results.c.run_id == run_id)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame["run_id"] = frame["run_id"].astype(object).where(frame["run_id"] != "", None)
        frame["success"] = frame["success"].astype(bool)
        frame["checked_at"] = pd.to_datetime(frame["checked_at"], utc=True)
        return frame

    # forecast models ---------------------------------------------------------------------------
    def record_models(self, rows: list[dict[str, Any]], run_id: str | None) -> None:
        """One row per fitted series model (service, endpoint, metric, trained_through, method,
        fit_seconds, parameters, path); a refit of the same day replaces its rows."""
        if not rows:
            return
        fitted = now()
        with self._write_lock, self.engine.begin() as conn:
            for day in sorted({r["trained_through"] for r in rows}):
                conn.execute(sa.delete(models).where(models.c.trained_through == day))
            conn.execute(
                models.insert(), [{**r, "run_id": run_id, "fitted_at": fitted} for r in rows]
            )

    def models_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(
                sa.select(models).order_by(models.c.trained_through, models.c.metric), conn
            )

    # retention -------------------------------------------------------------------------------
    def record_retention(
        self, table_name: str, partition: str, rows: int, run_id: str | None
    ) -> None:
        """A partition removed by retention: its catalog row and ledger fragments go, and the
        removal is logged (so its hour is not rebuilt from the missing rows)."""
        with self._write_lock, self.engine.begin() as conn:
            for table in (partitions, fragments):
                conn.execute(
                    sa.delete(table)
                    .where(table.c.table_name == table_name)
                    .where(table.c.partition == partition)
                )
            conn.execute(
                sa.delete(retention_log)
                .where(retention_log.c.table_name == table_name)
                .where(retention_log.c.partition == partition)
            )
            conn.execute(
                retention_log.insert().values(
                    table_name=table_name,
                    partition=partition,
                    rows=rows,
                    removed_at=now(),
                    run_id=run_id,
                )
            )

    def retired_partitions(self, table_name: str) -> set[str]:
        """Partitions of a table that retention removed."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(retention_log.c.partition).where(retention_log.c.table_name == table_name)
            )
            return {r[0] for r in rows}

    def retention_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(retention_log).order_by(retention_log.c.removed_at), conn)

    def dispose(self) -> None:
        self.engine.dispose()


def _partition_hour(partition: str) -> str:
    parts = dict(p.split("=", 1) for p in partition.split("/"))
    return f"{parts['date']}T{parts['hour']}:00:00Z"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
