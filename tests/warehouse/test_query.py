import pandas as pd
import pytest

from schemas.catalog import table_spec
from warehouse.layout import DAILY_TABLES, TABLES
from warehouse.query import QueryError, empty_view_sql, query, refresh_database, tables_present
from warehouse.storage import write_parquet


@pytest.fixture
def warehouse(tmp_path):
    for hour in (7, 8):
        frame = pd.DataFrame(
            {
                "hour_start": pd.Series(
                    [pd.Timestamp(f"2026-11-01T{hour:02d}:00Z")], dtype="datetime64[us, UTC]"
                ),
                "endpoint": pd.Series(["/a"], dtype="str"),
                "requests": [hour * 10],
            }
        )
        write_parquet(
            frame,
            tmp_path
            / "endpoint_hourly"
            / "date=2026-11-01"
            / f"hour={hour:02d}"
            / "part-0.parquet",
        )
    return tmp_path


def test_views_read_typed_hive_partitions(warehouse):
    assert tables_present(warehouse) == ["endpoint_hourly"]
    out = query(warehouse, "SELECT hour, date, requests FROM endpoint_hourly ORDER BY hour")
    assert out["hour"].tolist() == [7, 8]
    assert out["requests"].tolist() == [70, 80]
    assert str(out["date"].iloc[0])[:10] == "2026-11-01"


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT 1) TO 'x.csv'",
        "DROP VIEW endpoint_hourly",
        "SELECT 1; DELETE FROM endpoint_hourly",
        "ATTACH 'other.db'",
        "INSERT INTO endpoint_hourly VALUES (1)",
    ],
)
def test_write_statements_are_refused(warehouse, sql):
    with pytest.raises(QueryError, match="read-only"):
        query(warehouse, sql)


def test_errors_name_the_available_tables(warehouse):
    with pytest.raises(QueryError, match="tables: endpoint_hourly"):
        query(warehouse, "SELECT * FROM nope")


def test_a_damaged_partition_is_named_not_a_traceback(tmp_path):
    damaged = tmp_path / "requests" / "date=2026-11-01" / "hour=10" / "part-0.parquet"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not parquet")
    with pytest.raises(QueryError, match="could not open the warehouse: .*part-0.parquet"):
        query(tmp_path, "SELECT count(*) FROM requests")


def test_database_file_holds_the_views(warehouse, tmp_path):
    import duckdb

    database = tmp_path / "logcast.duckdb"
    assert sorted(refresh_database(warehouse, database)) == sorted(TABLES)
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT sum(requests) FROM endpoint_hourly").fetchone()[0] == 150
        assert conn.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_a_refresh_recreates_only_the_views_whose_statement_changed(warehouse, tmp_path):
    """New partitions of a table show without a refresh; a table's first partition replaces
    its empty view at the next refresh; the other views are left as they were."""
    import duckdb

    database = tmp_path / "logcast.duckdb"
    refresh_database(warehouse, database)

    def views() -> dict[str, tuple[str, str]]:
        with duckdb.connect(str(database), read_only=True) as conn:
            return {
                name: (sql, comment)
                for name, sql, comment in conn.execute(
                    "SELECT view_name, sql, comment FROM duckdb_views() WHERE NOT internal"
                ).fetchall()
            }

    before = views()
    frame = pd.DataFrame(
        {
            "hour_start": pd.Series(
                [pd.Timestamp("2026-11-01T09:00Z")], dtype="datetime64[us, UTC]"
            ),
            "endpoint": pd.Series(["/a"], dtype="str"),
            "requests": [90],
        }
    )
    write_parquet(frame, warehouse / "endpoint_hourly/date=2026-11-01/hour=09/part-0.parquet")
    with duckdb.connect(str(database), read_only=True) as conn:  # no refresh needed
        assert conn.execute("SELECT sum(requests) FROM endpoint_hourly").fetchone()[0] == 240
    refresh_database(warehouse, database)
    assert views() == before  # nothing to recreate

    rows = pd.DataFrame({"reason": pd.Series(["x"], dtype="str")})
    write_parquet(rows, warehouse / "quarantine/date=2026-11-01/hour=09/part-0.parquet")
    refresh_database(warehouse, database)
    after = views()
    assert after["quarantine"] != before["quarantine"]
    assert {k: v for k, v in after.items() if k != "quarantine"} == {
        k: v for k, v in before.items() if k != "quarantine"
    }
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1


def test_a_refresh_makes_the_empty_views_statements_only_when_they_changed(tmp_path):
    """Each command is a new process: an empty table's view costs it a DuckDB scratch query
    only when the view must be created again, not at every refresh."""
    database = tmp_path / "logcast.duckdb"
    empty_view_sql.cache_clear()
    refresh_database(tmp_path / "warehouse", database)
    assert empty_view_sql.cache_info().misses == len(TABLES)  # every view created once
    empty_view_sql.cache_clear()  # as in the next command's process
    refresh_database(tmp_path / "warehouse", database)
    assert empty_view_sql.cache_info().misses == 0
    assert query(tmp_path / "warehouse", "SELECT count(*) AS n FROM quarantine")["n"].tolist() == [
        0
    ]


@pytest.mark.parametrize("table", TABLES)
def test_every_table_queries_on_a_clean_warehouse_with_its_columns(tmp_path, table):
    out = query(tmp_path, f"SELECT * FROM {table}")
    model_columns = list(table_spec(table).model.to_schema().columns)
    partition_columns = ["date"] if table in DAILY_TABLES else ["date", "hour"]
    assert len(out) == 0 and list(out.columns) == model_columns + partition_columns


def test_an_empty_view_has_the_types_its_partitions_will_have(tmp_path):
    """The empty view of endpoint_hourly describes as the view over a written partition."""
    import duckdb

    from schemas.common import empty_frame
    from warehouse.query import empty_view_sql, view_sql

    frame = empty_frame(table_spec("endpoint_hourly").model)

    def value(dtype):
        if isinstance(dtype, pd.DatetimeTZDtype):
            return pd.Timestamp("2026-11-01T07:00Z")
        return 0 if pd.api.types.is_numeric_dtype(dtype) else "x"

    written = pd.DataFrame(
        {c: pd.Series([value(dtype)], dtype=dtype) for c, dtype in frame.dtypes.items()}
    )
    write_parquet(written, tmp_path / "endpoint_hourly/date=2026-11-01/hour=07/part-0.parquet")
    with duckdb.connect() as conn:
        conn.execute(view_sql(tmp_path, "endpoint_hourly"))
        full = conn.execute("DESCRIBE endpoint_hourly").fetchall()
        conn.execute(empty_view_sql("endpoint_hourly"))
        empty = conn.execute("DESCRIBE endpoint_hourly").fetchall()
    assert [(r[0], r[1]) for r in empty] == [(r[0], r[1]) for r in full]


def test_a_bi_tool_reads_the_views_through_a_sqlalchemy_url(warehouse, tmp_path):
    """What a BI tool does: a SQLAlchemy engine on the DuckDB file (duckdb-engine), read-only."""
    import sqlalchemy as sa

    database = tmp_path / "logcast.duckdb"
    refresh_database(warehouse, database)
    engine = sa.create_engine(f"duckdb:///{database}", connect_args={"read_only": True})
    with engine.connect() as conn:
        names = sa.inspect(conn).get_view_names()
        rows = conn.execute(
            sa.text("SELECT hour, requests FROM endpoint_hourly ORDER BY hour")
        ).all()
    assert "endpoint_hourly" in names
    assert [tuple(r) for r in rows] == [(7, 70), (8, 80)]
    frame = pd.read_sql(
        "SELECT endpoint, sum(requests) AS n FROM endpoint_hourly GROUP BY 1", engine
    )
    assert frame.to_dict("records") == [{"endpoint": "/a", "n": 150}]
    engine.dispose()


def test_polars_reads_a_table_with_its_hive_partitions(warehouse):
    import polars as pl

    frame = pl.read_parquet(
        warehouse / "endpoint_hourly" / "**" / "*.parquet", hive_partitioning=True
    ).sort("hour")
    assert frame["requests"].to_list() == [70, 80]
    assert frame["hour"].to_list() == [7, 8]
    assert frame["endpoint"].to_list() == ["/a", "/a"]
