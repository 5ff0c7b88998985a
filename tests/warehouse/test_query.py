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
