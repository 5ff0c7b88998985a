"""Metric-table benchmark.

1. Every hourly metric table for one hour of 1,000,000 requests, from the `requests` Parquet
   file as the warehouse stores it: ours (read, compute, validate against the Pandera models)
   against DuckDB SQL computing the same tables from the same file into Arrow, in the same
   process; both warmed up, then the best of `REPEATS` runs each, alternating.
2. "p95 per endpoint per day over 30 days" through `logcast query` (DuckDB over the views) on a
   30-day warehouse built by the real transforms: from `endpoint_daily`, and exactly from the
   30 days of `requests`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.oracle import hourly_sql
from transforms.metrics import endpoint_daily, hourly_tables
from warehouse.layout import Layout, date_partition, hour_partition
from warehouse.query import query
from warehouse.storage import write_parquet

RECORDS = 1_000_000
REPEATS = int(os.environ.get("LOGCAST_BENCH_REPEATS", "3"))
HOUR = pd.Timestamp("2026-11-01T10:00:00Z")
TEXT = ["service", "endpoint", "region", "error_reason", "user_id", "level"]


def requests_hour(
    records: int, hour: pd.Timestamp = HOUR, seed: int = 1, endpoints: int = 200
) -> pa.Table:
    """One hour of requests in the stored `requests` layout: 8 services, `endpoints`
    endpoints with skewed traffic, 50,000 users, 3 regions, 2 % untimed requests."""
    rng = np.random.default_rng(seed)
    start = hour.value // 1000
    ts = np.sort(start + rng.integers(0, 3_600_000_000, records))
    names = np.array([f"/api/v1/r{i}/{{id}}" for i in range(endpoints)], dtype=object)
    services = np.array([f"svc{i}" for i in range(8)], dtype=object)
    status = rng.choice([200, 200, 200, 201, 302, 404, 500, 503], records)
    latency = rng.lognormal(4, 1, records)
    latency[rng.random(records) < 0.02] = np.nan
    reasons = np.array(["timeout", "upstream reset", "db"], dtype=object)
    users = np.char.add("u", rng.integers(0, 50_000, records).astype(str)).astype(object)
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "source": pa.array(np.full(records, "api", dtype=object)),
            "service": pa.array(services[rng.integers(0, 8, records)]),
            "endpoint": pa.array(names[rng.zipf(1.3, records) % endpoints]),
            "status_code": pa.array(status, pa.int16()),
            "latency_ms": pa.array(latency, from_pandas=True),
            "bytes_sent": pa.array(rng.integers(0, 100_000, records)),
            "user_id": pa.array(users),
            "region": pa.array(np.array(["eu", "us", "ap"], dtype=object)[rng.integers(0, 3, records)]),
            "error_reason": pa.array(np.where(status >= 500, reasons[rng.integers(0, 3, records)], None)),
            "level": pa.nulls(records, pa.string()),
        }
    )  # fmt: skip


SQL = hourly_sql(as_list=True)
"""The reference: DuckDB computing every hourly table, each percentile set in one call."""


def ours(path: Path) -> dict[str, pd.DataFrame]:
    table = pq.read_table(path, read_dictionary=TEXT)
    return hourly_tables(table, slow_threshold_ms=1000.0)


def theirs(path: Path) -> dict[str, pa.Table]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW req AS SELECT * FROM read_parquet('{path}')")
    out = {name: con.sql(sql).to_arrow_table() for name, sql in SQL.items()}
    con.close()
    return out


def _best(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def tables_benchmark(folder: Path) -> None:
    path = folder / "part-0.parquet"
    write_parquet(requests_hour(RECORDS), path)
    warm = folder / "warm.parquet"
    write_parquet(requests_hour(20_000, seed=2), warm)
    ours(warm), theirs(warm)
    mine, reference = [], []
    for _ in range(REPEATS):
        seconds, built = _best(ours, path)
        mine.append(seconds)
        seconds, computed = _best(theirs, path)
        reference.append(seconds)
    # dimension_hourly needs configured dimensions: none here, so it is empty and not compared
    rows = {name: len(frame) for name, frame in built.items() if name in computed}
    assert rows == {name: t.num_rows for name, t in computed.items()}, "row counts differ"
    print(
        f"\nmetric tables for one hour of {RECORDS:,} requests "
        f"({len(rows)} tables, {sum(rows.values()):,} rows); best of {REPEATS}"
    )
    print(f"{'ours s':>8} {'duckdb s':>9} {'ratio':>6}")
    print(f"{min(mine):8.2f} {min(reference):9.2f} {min(mine) / min(reference):6.2f}")


P95_DAILY = """
    SELECT day_start, service, endpoint, latency_p95_ms FROM endpoint_daily
    WHERE day_start >= TIMESTAMPTZ '{start}' ORDER BY ALL"""
P95_EXACT = """
    SELECT date_trunc('day', ts) AS day, service, endpoint,
      quantile_cont(latency_ms, 0.95) AS latency_p95_ms
    FROM requests WHERE ts >= TIMESTAMPTZ '{start}' AND endpoint IS NOT NULL
    GROUP BY ALL ORDER BY ALL"""


WAREHOUSE_START = pd.Timestamp("2026-10-01T00:00:00Z")


def build_warehouse(root: Path, *, days: int, per_hour: int, endpoints: int) -> None:
    """`requests`, `endpoint_hourly`, `latency_sketches` and `endpoint_daily` of `days` days
    from WAREHOUSE_START, built by the real transforms (setup for the query benchmarks)."""
    layout = Layout(root)
    for day_index in range(days):
        day = WAREHOUSE_START + pd.Timedelta(days=day_index)
        hourly, sketches = [], []
        for hour_index in range(24):
            hour = day + pd.Timedelta(hours=hour_index)
            seed = day_index * 24 + hour_index
            requests = requests_hour(per_hour, hour, seed=seed, endpoints=endpoints)
            tables = hourly_tables(requests, validate=False)  # setup: built, not timed
            partition = hour_partition(hour)
            write_parquet(requests, layout.part_file("requests", partition))
            for name in ("endpoint_hourly", "latency_sketches"):
                write_parquet(tables[name], layout.part_file(name, partition))
            hourly.append(tables["endpoint_hourly"])
            sketches.append(tables["latency_sketches"])
        daily = endpoint_daily(pd.concat(hourly), pd.concat(sketches))
        write_parquet(daily, layout.part_file("endpoint_daily", date_partition(day)))


def query_benchmark(folder: Path, days: int = 30, per_hour: int = 5_000) -> None:
    start = WAREHOUSE_START
    built = time.perf_counter()
    build_warehouse(folder, days=days, per_hour=per_hour, endpoints=50)
    built = time.perf_counter() - built
    print(
        f"\n'p95 per endpoint per day over {days} days': a {days}-day warehouse "
        f"({days * 24 * per_hour:,} requests, 50 endpoints; built in {built:.0f} s), "
        "through logcast query (views created per call); best of "
        f"{REPEATS}"
    )
    print(f"{'source':<28} {'rows':>6} {'seconds':>8}")
    for label, sql in (
        ("endpoint_daily (sketch p95)", P95_DAILY),
        ("requests (exact p95)", P95_EXACT),
    ):
        times = []
        for _ in range(REPEATS):
            seconds, result = _best(query, folder, sql.format(start=start.isoformat()))
            times.append(seconds)
        print(f"{label:<28} {len(result):6,} {min(times):8.3f}")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="logcast-bench-metrics-"))
    try:
        tables_benchmark(folder / "hour")
        query_benchmark(folder / "warehouse")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
