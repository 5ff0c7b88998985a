"""What was written and checked: published partitions, quality results, fitted models and
retention removals."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.catalog.schema import (
    fragments,
    models,
    now,
    of_partition,
    partitions,
    quality_results,
    retention_log,
)
from warehouse.storage import WrittenFile


class Records:
    """The records part of `Catalog`."""

    engine: sa.Engine
    write_lock: threading.Lock

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
        with self.write_lock, self.engine.begin() as conn:
            for table_name, partition, _, _ in items:
                conn.execute(of_partition(sa.delete(partitions), partitions, table_name, partition))
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
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(of_partition(sa.delete(partitions), partitions, table_name, partition))

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
        with self.write_lock, self.engine.begin() as conn:
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
        with self.write_lock, self.engine.begin() as conn:
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
        with self.write_lock, self.engine.begin() as conn:
            for table in (partitions, fragments):
                conn.execute(of_partition(sa.delete(table), table, table_name, partition))
            conn.execute(
                of_partition(sa.delete(retention_log), retention_log, table_name, partition)
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
