"""bench.floor does the work it claims on a small file: every line read, each hour one file in
time order, checked against DuckDB reading the same lines."""

import duckdb
import pyarrow.parquet as pq
import pytest

from bench import floor
from bench.ingest import events, write_jsonl
from transforms import reading


@pytest.mark.parametrize("durable", [True, False])
def test_floor_writes_every_line_once_per_hour_in_time_order(tmp_path, monkeypatch, durable):
    monkeypatch.setattr(reading, "PIECE_BYTES", 64 << 10)  # several pieces for a small file
    path = tmp_path / "requests.jsonl"
    write_jsonl(events(5_000), path)
    assert len(reading.spans(path.read_bytes(), "jsonl")) > 2
    out = tmp_path / "out"

    assert floor.floor(path, out, durable=durable) > 0

    files = sorted(out.glob("hour=*/part.parquet"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected = con.sql(
        f"""SELECT strftime(CAST("timestamp" AS TIMESTAMPTZ), '%Y-%m-%dT%H') AS hour,
                   count(*) AS n, sum(latency_ms) AS latency
            FROM read_json('{path}', format = 'newline_delimited')
            GROUP BY ALL ORDER BY hour"""
    ).fetchall()
    assert [f.parent.name.removeprefix("hour=") for f in files] == [h for h, _, _ in expected]
    for file, (_, rows, latency) in zip(files, expected, strict=True):
        table = pq.read_table(file)
        assert table.num_rows == rows
        assert sum(table.column("latency_ms").to_pylist()) == pytest.approx(latency)
        ts = table.column("ts").to_pylist()
        assert ts == sorted(ts)
    assert not list(out.rglob(".*.tmp"))
