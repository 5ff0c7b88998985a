"""Publishing partitions: the one way rows reach a table. A `Batch` of partitions (one
partition is a batch of one) is validated by each table's Pandera model, checked by the quality
checkpoint (Great Expectations), the results recorded in the catalog, and published only if
every check passed: the files written atomically, several at a time, then recorded in one
catalog transaction. A failure raises, naming table, partition and expectation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa

from schemas.registry import table_spec
from warehouse.catalog import Catalog
from warehouse.layout import Layout
from warehouse.quality import (
    QualityResult,
    check_tables,
    checked_columns,
    raise_for_failures,
)
from warehouse.storage import remove, write_parquet_many

Rows = pd.DataFrame | pa.Table
"""A partition's rows: a frame (validated by the table's model when published) or an Arrow
table of rows already validated when they were staged (compaction)."""


def schema_version(table: str) -> int:
    """The version of the table's schema, recorded with each partition written."""
    return table_spec(table).version


def row_count(rows: Rows) -> int:
    return rows.num_rows if isinstance(rows, pa.Table) else len(rows)


class Batch:
    """Partitions published together (see the module docstring).

    `requests_rows` (partition -> rows of its `requests` hour with an endpoint) adds the
    cross-table check of `endpoint_hourly`. An empty partition removes the partition's file."""

    def __init__(self, layout: Layout, catalog: Catalog, run_id: str | None):
        self.layout, self.catalog, self.run_id = layout, catalog, run_id
        self.frames: dict[str, dict[str, Rows]] = {}
        self.requests_rows: dict[str, int] = {}

    def add(self, table: str, partition: str, rows: Rows) -> None:
        self.frames.setdefault(table, {})[partition] = rows

    def _validated(
        self, table: str, frames: dict[str, Rows]
    ) -> tuple[dict[str, Rows], list[QualityResult]]:
        """The frames validated by the table's Pandera model in one pass (types coerced);
        every failed rule becomes a failed quality result of the partition it is in. Arrow
        tables were validated when staged and are left as they are."""
        present = [(p, f) for p, f in frames.items() if isinstance(f, pd.DataFrame) and len(f)]
        if not present:
            return frames, []
        together = pd.concat([f for _, f in present], ignore_index=True)
        try:
            together = table_spec(table).model.validate(together, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            return frames, schema_failures(table, present, exc)
        out = dict(frames)
        offset = 0
        for partition, frame in present:
            out[partition] = together.iloc[offset : offset + len(frame)].reset_index(drop=True)
            offset += len(frame)
        return out, []

    def _checked(self) -> list[QualityResult]:
        """The quality checkpoint over every table's non-empty partitions, in one go (of an
        Arrow table, only the columns the checks read are converted)."""
        tables: dict[str, dict[str, pd.DataFrame]] = {}
        for table, frames in self.frames.items():
            present: dict[str, pd.DataFrame] = {}
            for partition, rows in frames.items():
                if row_count(rows):
                    if isinstance(rows, pa.Table):
                        rows = rows.select(checked_columns(table)).to_pandas()
                    present[partition] = rows
            if present:
                tables[table] = present
        if not tables:
            return []
        requests_rows = self.requests_rows if "endpoint_hourly" in tables else None
        return check_tables(tables, requests_rows=requests_rows)

    def check_and_publish(self) -> dict[str, int]:
        """Validates, checks and publishes every partition added; returns rows written per
        table."""
        results = []
        for table in list(self.frames):
            self.frames[table], failures = self._validated(table, self.frames[table])
            results += failures
        results += self._checked()
        self.catalog.record_quality(self.run_id, results)
        raise_for_failures(results)
        items = [
            (table, partition, rows)
            for table, frames in self.frames.items()
            for partition, rows in frames.items()
        ]
        files = write_parquet_many(
            [(r, self.layout.part_file(t, p)) for t, p, r in items if row_count(r)]
        )
        written = iter(files)
        records = []
        counts: dict[str, int] = {}
        for table, partition, rows in items:
            if row_count(rows):
                done = next(written)
                counts[table] = counts.get(table, 0) + done.rows
            else:
                done = None
                if not remove(self.layout.part_file(table, partition)):
                    continue
            records.append((table, partition, done, schema_version(table)))
        self.catalog.record_partitions(records, self.run_id)
        return counts


def schema_failures(
    table: str, present: list[tuple[str, pd.DataFrame]], exc: pandera.errors.SchemaErrors
) -> list[QualityResult]:
    """Pandera's failure cases (rows of the frames in `present`, concatenated), grouped by
    the partition and the rule they broke."""
    partitions = [p for p, _ in present]
    offsets = np.cumsum([len(f) for _, f in present])
    cases = exc.failure_cases
    found: dict[tuple[str, str], list[str]] = {}
    for case in cases.itertuples():
        row = case.index if isinstance(case.index, (int, np.integer)) else None
        partition = (
            partitions[int(np.searchsorted(offsets, row, side="right"))] if row is not None else "*"
        )
        rule = f"{case.column} {case.check}" if isinstance(case.column, str) else str(case.check)
        found.setdefault((partition, f"schema: {rule}"), []).append(str(case.failure_case))
    return [
        QualityResult(
            table=table,
            partition=partition,
            expectation=rule,
            success=False,
            unexpected=len(values),
            details=", ".join(values[:5]),
        )
        for (partition, rule), values in sorted(found.items())
    ]
