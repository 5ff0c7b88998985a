"""Analyst access: DuckDB views over the Parquet tables, and read-only SQL."""

from __future__ import annotations

import hashlib
from functools import cache
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


@cache
def empty_view_sql(table: str) -> str:
    """The `CREATE VIEW` statement of a table with no partition yet: no rows, but the columns
    and types its partitions will have, so queries over it work before the first run."""
    from schemas.catalog import table_spec
    from schemas.common import empty_frame

    with duckdb.connect() as scratch:
        scratch.register("empty", empty_frame(table_spec(table).model))
        described = scratch.execute("DESCRIBE SELECT * FROM empty").fetchall()
    partition_columns = [("date", "DATE")] + (
        [] if table in DAILY_TABLES else [("hour", "INTEGER")]
    )
    columns = ", ".join(
        f'CAST(NULL AS {kind}) AS "{name}"'
        for name, kind in [(row[0], row[1]) for row in described] + partition_columns
    )
    return f'CREATE OR REPLACE VIEW "{table}" AS SELECT {columns} WHERE false'


def _empty_view_tag(table: str) -> str:
    """Stands for `empty_view_sql(table)` without making it: what that statement is made from
    (the model's columns, types and nullability; the pandas and DuckDB that map them)."""
    from schemas.catalog import table_spec

    columns = table_spec(table).model.to_schema().columns
    made_from = [
        "empty",
        table,
        pd.__version__,
        duckdb.__version__,
        *(f"{name}:{column.dtype}:{column.nullable}" for name, column in columns.items()),
    ]
    return hashlib.sha256("\0".join(made_from).encode()).hexdigest()


def tables_present(root: Path) -> list[str]:
    return [t for t in TABLES if any((root / t).glob("**/*.parquet"))]


def connect(
    root: Path, database: str | Path = ":memory:", *, sql: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table: over its partitions, or empty with the
    table's columns when it has none yet (with `sql`, only the empty tables it reads)."""
    conn = duckdb.connect(str(database))
    present = set(tables_present(root))
    empty = [t for t in TABLES if t not in present]
    if sql is not None and empty:
        try:
            named = {name.lower() for name in conn.get_table_names(sql)}
        except duckdb.Error:
            named = set(empty)  # the query itself will say what is wrong
        empty = [t for t in empty if t in named]
    for table in TABLES:
        if table in present or table in empty:
            conn.execute(_view_statement(root, table, present))
    return conn


def _view_statement(root: Path, table: str, present: set[str]) -> str:
    """The view of a table over its partitions when it has some, else its empty view."""
    return view_sql(root, table) if table in present else empty_view_sql(table)


def refresh_database(root: Path, database: Path) -> list[str]:
    """(Re)creates the analysts' DuckDB file holding the views; returns the tables it names.
    The views glob the partitions, so new partitions appear without a refresh: a view is
    created again only when its statement changed (a table's first partition, a moved
    warehouse), which the view's comment records. Creating a view reads the footer of every
    Parquet file it globs, which grows with the warehouse."""
    database.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(database))
    try:
        recorded = dict(
            conn.execute(
                "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        )
        present = set(tables_present(root))
        for table in TABLES:
            if table in present:
                sql = view_sql(root, table)
                tag = hashlib.sha256(sql.encode()).hexdigest()
            else:  # its statement costs a DuckDB scratch query: made only when it changed
                sql, tag = None, _empty_view_tag(table)
            if recorded.get(table) != tag:
                conn.execute(sql or empty_view_sql(table))
                conn.execute(f"COMMENT ON VIEW \"{table}\" IS '{tag}'")
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
    try:
        conn = connect(root, sql=sql)
    except duckdb.Error as exc:  # a view over a damaged partition
        raise QueryError(f"could not open the warehouse: {_first_line(exc)}") from None
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
