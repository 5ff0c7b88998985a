"""`python -m bench backfill`: a week's backfill with the default task runner against the same
backfill on a local Dask cluster of two worker processes (LOGCAST_TASK_RUNNER=dask).

Both runs start from the same generated landing files in fresh homes, go through the
`logcast backfill` command (a temporary Prefect server each) and must give the same rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.cluster import DaskCluster

BIN = Path(sys.executable).parent
DAYS, ENDPOINTS, END = 7, 8, "2026-11-07"


def _logcast(home: Path, env: dict, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "logcast"), *args],
        env={**env, "LOGCAST_HOME": str(home)},
        capture_output=True,
        text=True,
        cwd=home.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"logcast {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def _week(home: Path, env: dict) -> float:
    _logcast(home, env, "generate", "--days", str(DAYS), "--endpoints", str(ENDPOINTS),
             "--end", END, "--seed", "7")  # fmt: skip
    return _logcast(home, env, "backfill", "--start", "2026-11-01", "--end", END)


def _forecasts(home: Path) -> list:
    with duckdb.connect() as con:
        return con.sql(
            f"SELECT hour_start, service, endpoint, metric, yhat, score FROM read_parquet("
            f"'{home}/warehouse/forecasts/**/*.parquet') ORDER BY ALL"
        ).fetchall()


def main() -> None:
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    env.pop("LOGCAST_TASK_RUNNER", None)
    with tempfile.TemporaryDirectory(prefix="logcast-bench-backfill-") as tmp:
        root = Path(tmp)
        env["PREFECT_HOME"] = str(root / "prefect")
        for name in ("threads", "dask"):
            (root / name).mkdir()
        default = _week(root / "threads" / "home", env)
        with DaskCluster(workers=2, env=env, log_dir=root) as cluster:
            dask_env = {
                **env,
                "LOGCAST_TASK_RUNNER": "dask",
                "LOGCAST_DASK_ADDRESS": cluster.address,
            }
            on_cluster = _week(root / "dask" / "home", dask_env)
        same = _forecasts(root / "threads" / "home") == _forecasts(root / "dask" / "home")
    print(f"\nbackfill of {DAYS} days x {ENDPOINTS} endpoints through `logcast backfill`")
    print(f"{'task runner':<40} {'seconds':>8} {'vs default':>11}")
    print(f"{'default (threads, fits in processes)':<40} {default:8.1f} {1:11.2f}")
    print(
        f"{'dask, 2 worker processes on 127.0.0.1':<40} {on_cluster:8.1f} {on_cluster / default:11.2f}"
    )
    print(f"forecast rows identical: {same}")
    if not same:
        raise SystemExit("the two runners gave different forecasts")


if __name__ == "__main__":
    main()
