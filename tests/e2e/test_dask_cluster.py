"""LOGCAST_TASK_RUNNER=dask: a backfill on a real Dask cluster (a `dask scheduler` and two
`dask worker` processes on 127.0.0.1) gives the rows of the default runner."""

import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench.cluster import DaskCluster
from tests.helpers import LOGCAST, logcast_runner, one_file_a_day, quiet_env

pytestmark = pytest.mark.e2e

TABLES = {
    "requests": "ts, endpoint, user_id, file_id",
    "endpoint_hourly": "hour_start, service, endpoint",
    "endpoint_daily": "day_start, service, endpoint",
    "forecasts": "hour_start, service, endpoint, metric",
    "anomalies": "hour_start, service, endpoint, metric",
    "incidents": "service, endpoint, start",
}


def backfill(home: Path, env: dict) -> str:
    """Three generated days of three endpoints, one landing file a day, backfilled."""
    logcast = logcast_runner({**env, "LOGCAST_HOME": str(home)}, cwd=home.parent)
    logcast("generate", "--days", "3", "--endpoints", "3", "--end", "2026-11-03", "--seed", "5")
    one_file_a_day(home / "landing")
    return logcast("backfill", "--start", "2026-11-01", "--end", "2026-11-03")


def rows(home: Path, table: str, order: str) -> pd.DataFrame:
    with duckdb.connect() as con:  # its own connection: another test may hold the default one
        frame = con.sql(
            f"SELECT * FROM read_parquet('{home}/warehouse/{table}/**/*.parquet', "
            f"hive_partitioning = true) ORDER BY {order}"
        ).df()
    return frame.drop(columns=["file_id"]) if table == "requests" else frame


def test_a_backfill_on_a_dask_cluster_gives_the_rows_of_the_default_runner(
    prefect_server, tmp_path
):
    env = quiet_env(PREFECT_API_URL=prefect_server)
    env.pop("LOGCAST_TASK_RUNNER", None)
    (tmp_path / "threads").mkdir()
    (tmp_path / "dask").mkdir()
    backfill(tmp_path / "threads" / "home", env)
    with DaskCluster(workers=2, env=env, log_dir=tmp_path) as cluster:
        out = backfill(
            tmp_path / "dask" / "home",
            {**env, "LOGCAST_TASK_RUNNER": "dask", "LOGCAST_DASK_ADDRESS": cluster.address},
        )
        ran = cluster.task_prefixes()
    assert "3 days done" in out
    # the per-file ingest, the per-day recompute and the per-series fits ran on the cluster
    assert {"ingest_file_task", "rebuild_hours_task", "fit_series_task"} <= ran
    for table, order in TABLES.items():
        pd.testing.assert_frame_equal(
            rows(tmp_path / "dask" / "home", table, order),
            rows(tmp_path / "threads" / "home", table, order),
            obj=table,
        )


def test_dask_without_an_address_is_a_clear_error(prefect_server, tmp_path):
    # the session's server: without PREFECT_API_URL the CLI would start a temporary one first
    env = quiet_env(
        LOGCAST_TASK_RUNNER="dask", LOGCAST_HOME=str(tmp_path), PREFECT_API_URL=prefect_server
    )
    env.pop("LOGCAST_DASK_ADDRESS", None)
    done = subprocess.run([LOGCAST, "run"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "LOGCAST_DASK_ADDRESS=tcp://HOST:PORT" in done.stderr
