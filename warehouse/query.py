"""Analyst access: DuckDB views over the Parquet tables, and read-only SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from warehouse.layout import DAILY_TABLES, TABLES

READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA"}


class QueryError(ValueError):
    """The SQL was refused or failed; the message says why in one sentence."""


def view_sql(root: Path, table: str) -> str:
    """The `CREATE VIEW` statement for one table: hive partitions typed, older partitions
    readable after a column is added (`union_by_name`)."""
    hive_types = "{'date': DATE}" if table in DAILY_TABLES else "{'date': DATE, 'hour': INTEGER}"
    pattern = str(root.resolve() / table / "**" / "*.parquet").replace("'", "''")
    return (
        f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM read_parquet('
        f"'{pattern}', hive_partitioning = true, hive_types = {hive_types}, "
        "union_by_name = true)"
    )


def tables_present(root: Path) -> list[str]:
    return [t for t in TABLES if any((root / t).glob("**/*.parquet"))]


def connect(root: Path, database: str | Path = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table that has data."""
    conn = duckdb.connect(str(database))
    for table in tables_present(root):
        conn.execute(view_sql(root, table))
    return conn


def refresh_database(root: Path, database: Path) -> list[str]:
    """(Re)creates the analysts' DuckDB file holding the views; returns the tables it names.
    The views glob the partitions, so new partitions appear without a refresh."""
    database.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(root, database)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        ]
    finally:
        conn.close()


def query(root: Path, sql: str) -> pd.DataFrame:
    """Runs read-only SQL over the warehouse views; any write statement is refused."""
    conn = connect(root)
    try:
        try:
            statements = conn.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(f"could not parse the SQL: {_first_line(exc)}") from None
        if not statements:
            raise QueryError("no SQL statement given")
        for statement in statements:
            kind = statement.type.name
            if kind not in READ_ONLY_STATEMENTS:
                raise QueryError(
                    f"refused a {kind} statement: logcast query is read-only "
                    "(SELECT, EXPLAIN and PRAGMA only)"
                )
        try:
            result = None
            for statement in statements:
                result = conn.execute(statement)
            return result.df()
        except duckdb.Error as exc:
            available = ", ".join(tables_present(root)) or "none yet"
            raise QueryError(f"{_first_line(exc)} (tables: {available})") from None
    finally:
        conn.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def table_inventory(root: Path) -> pd.DataFrame:
    """One row per table: its grain, rows, partitions, files and newest partition, read from
    the Parquet footers (no data is scanned). Tables with no partition yet show zeros."""
    import pyarrow.parquet as pq

    from schemas.catalog import TABLES as SPECS

    rows = []
    for spec in SPECS:
        folder = root / spec.name
        files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))
        partitions = sorted({str(p.parent.relative_to(folder)) for p in files})
        rows.append(
            {
                "table": spec.name,
                "grain": spec.grain,
                "rows": sum(pq.ParquetFile(p).metadata.num_rows for p in files),
                "partitions": len(partitions),
                "files": len(files),
                "newest_partition": partitions[-1] if partitions else None,
            }
        )
    return pd.DataFrame(rows)
