import pandas as pd
import pytest

from warehouse.query import QueryError, query, refresh_database, tables_present
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


def test_database_file_holds_the_views(warehouse, tmp_path):
    import duckdb

    database = tmp_path / "logcast.duckdb"
    assert refresh_database(warehouse, database) == ["endpoint_hourly"]
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT sum(requests) FROM endpoint_hourly").fetchone()[0] == 150


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
