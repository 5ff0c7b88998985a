"""Helpers shared by several test modules: hypothesis example counts, reading warehouse
tables back, and running `logcast` or calling the Prefect REST API as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from hypothesis import settings

from warehouse.query import query

BIN = Path(sys.executable).parent
LOGCAST = str(BIN / "logcast")
PARTITION_COLUMNS = ["date", "hour"]
CLI_DAY = "2026-11-08"
"""The last day of the warehouse the CLI and report tests share (`cli_home`)."""


def examples(n: int) -> int:
    """`n` examples under the `ci` hypothesis profile (100 by default), a tenth of them
    under `fast` (10)."""
    return max(1, n * settings.default.max_examples // 100)


def warehouse_tables(
    warehouse_dir: Path, orders: dict[str, str], *, partition_columns: bool = True
) -> dict[str, pd.DataFrame]:
    """Every table of `orders` ({table: ORDER BY clause}) that exists, read back whole in
    that order; without the hive partition columns when `partition_columns` is false."""
    out = {}
    for name, order in orders.items():
        if (warehouse_dir / name).exists():
            frame = query(warehouse_dir, f"SELECT * FROM {name} ORDER BY {order}")
            if not partition_columns:
                frame = frame.drop(columns=PARTITION_COLUMNS, errors="ignore")
            out[name] = frame
    return out


def quiet_env(**extra: str) -> dict[str, str]:
    """This process's environment with telemetry off for everything a child runs, plus
    `extra`."""
    return {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
        **extra,
    }


def logcast_runner(env: dict[str, str], cwd: Path, timeout: float = 900) -> Callable[..., str]:
    """`run("backfill", "--start", ...)` runs the logcast CLI in a subprocess with `env` in
    `cwd`, asserts that it succeeded and returns its standard output."""

    def run(*args: str) -> str:
        done = subprocess.run(
            [LOGCAST, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, (
            f"logcast {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        )
        return done.stdout

    return run


def one_file_a_day(landing: Path) -> None:
    """Joins the hourly files `logcast generate` wrote to `landing` (`api-<day>T<hour>.csv`,
    each with its header) into one file a day, `api-<day>.csv`, rows in the same order: for
    tests of the runners and deployments, which need the rows but not a task per file."""
    days: dict[str, list[Path]] = {}
    for path in sorted(landing.glob("api-*T*.csv")):
        days.setdefault(path.stem.split("T")[0], []).append(path)
    for day, hourly in days.items():
        files = [path.read_text().splitlines() for path in hourly]
        rows = [line for lines in files for line in lines[1:]]
        (landing / f"{day}.csv").write_text("\n".join([files[0][0], *rows]) + "\n")
        for path in hourly:
            path.unlink()


RETRIED = (429, 502, 503)
"""What Prefect's own client retries (PREFECT_CLIENT_RETRY_EXTRA_CODES aside): the server answers
503 when its database was busy, and the request did nothing."""


def api(url: str, path: str, body: dict | None = None, method: str | None = None):
    """The JSON answer of the Prefect REST API at `url` to `path` (a GET without `body`),
    retried as Prefect's client retries: up to 5 times, 1, 2, 4, 8 and 16 s apart."""
    request = urllib.request.Request(
        f"{url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    for wait in (1, 2, 4, 8, 16, None):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code not in RETRIED or wait is None:
                raise
        time.sleep(wait)
    raise AssertionError("unreachable")


def candidate_rows(parsed, columns: tuple[str, ...]) -> list[tuple]:
    """A parser's candidates as tuples of `columns`, None where a column is absent or null."""
    frame = parsed.candidates
    out = []
    for _, row in frame.iterrows():
        values = [row[c] if c in frame else None for c in columns]
        out.append(tuple(None if pd.isna(v) else v for v in values))
    return out


SERVICE_LOG_START = pd.Timestamp("2024-05-20T00:00:00Z")
SERVICE_LOG_DAYS = 5
SERVICE_LOG_BURST = SERVICE_LOG_START + pd.Timedelta(days=SERVICE_LOG_DAYS - 1, hours=14)
BURST_ERROR = "database connection pool exhausted"
BURST_WARNING = "token cache refresh is slow"


def service_log_lines(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """A service log of the hours in [start, end): every hour checkout places orders and fails
    a payment every third hour, auth logs users in; at SERVICE_LOG_BURST checkout fails 40
    payments and logs a new error message 5 times (a high incident or worse), and auth logs a
    new warning (a medium one)."""
    lines = []
    for hour in pd.date_range(start, end, freq="h", inclusive="left"):
        for i in range(6):
            ts = hour + pd.Timedelta(minutes=7 * i + 1)
            lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} INFO checkout order {100 + i} placed")
        ts = hour + pd.Timedelta(minutes=3)
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} INFO auth user alice logged in")
        if hour.hour % 3 == 0:
            ts = hour + pd.Timedelta(minutes=30)
            lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} ERROR checkout payment failed for order 7")
        if hour == SERVICE_LOG_BURST:
            for i in range(40):
                ts = hour + pd.Timedelta(minutes=10, seconds=i)
                lines.append(
                    f"{ts:%Y-%m-%dT%H:%M:%SZ} ERROR checkout payment failed for order {200 + i}"
                )
            for i in range(5):
                ts = hour + pd.Timedelta(minutes=20 + i)
                lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} ERROR checkout {BURST_ERROR}")
            ts = hour + pd.Timedelta(minutes=40)
            lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} WARNING auth {BURST_WARNING}")
    return sorted(lines)


def land_service_log(landing: Path, name: str, start: pd.Timestamp, end: pd.Timestamp) -> Path:
    """Writes `service_log_lines(start, end)` to `landing/name`."""
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / name
    path.write_text("\n".join(service_log_lines(start, end)) + "\n")
    return path
