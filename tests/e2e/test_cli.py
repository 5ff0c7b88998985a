"""The CLI as a user types it, against a real Prefect server."""

import json
import re
import shutil
import socket
import sqlite3
import subprocess
from contextlib import closing

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from tests.helpers import LOGCAST, api, logcast_runner, quiet_env

pytestmark = pytest.mark.e2e

TABLES = ["requests", "endpoint_hourly", "forecasts", "anomalies"]


@pytest.fixture
def run(cli_home):
    return cli_home


def test_every_table_reads_back_with_duckdb_and_pyarrow(run):
    home, logcast = run
    for table in TABLES:
        counted = json.loads(
            logcast("query", f"SELECT count(*) AS n FROM {table}", "--output", "json")
        )
        n = counted[0]["n"]
        assert n > 0, table
        arrow = ds.dataset(home / "warehouse" / table, partitioning="hive").to_table()
        assert arrow.num_rows == n, table
        direct = duckdb.execute(
            f"SELECT count(*) FROM read_parquet('{home}/warehouse/{table}/**/*.parquet', hive_partitioning = true)"
        ).fetchone()[0]
        assert direct == n, table


def test_nothing_is_lost(run):
    home, logcast = run
    input_rows = sum(
        len(path.read_text().splitlines()) - 1 for path in (home / "landing").glob("*.csv")
    )
    kept = json.loads(logcast("query", "SELECT count(*) AS n FROM requests", "--output", "json"))[
        0
    ]["n"]
    tables = logcast("query", "SELECT 1 AS x", "--output", "csv")
    assert tables.strip().splitlines() == ["x", "1"]
    quarantine_dir = home / "warehouse" / "quarantine"
    quarantined = (
        ds.dataset(quarantine_dir, partitioning="hive").count_rows()
        if quarantine_dir.exists()
        else 0
    )
    assert input_rows == kept + quarantined
    metric_total = json.loads(
        logcast(
            "query", "SELECT sum(requests)::BIGINT AS n FROM endpoint_hourly", "--output", "json"
        )
    )[0]["n"]
    assert metric_total == kept


def test_injected_incidents_are_flagged_and_clean_endpoints_stay_quiet(run):
    home, logcast = run
    labels = pd.read_csv(home / "labels.csv", parse_dates=["start", "end"])
    anomalies = pd.DataFrame(
        json.loads(
            logcast(
                "query", "SELECT endpoint, hour_start, metric FROM anomalies", "--output", "json"
            )
        )
    )
    anomalies["hour_start"] = pd.to_datetime(anomalies["hour_start"], utc=True)
    caught = [
        (
            (anomalies.endpoint == label.endpoint)
            & (anomalies.hour_start >= label.start)
            & (anomalies.hour_start < label.end)
        ).any()
        for label in labels.itertuples()
    ]
    assert any(caught), f"no injected incident flagged; anomalies:\n{anomalies}"
    clean = anomalies[~anomalies.endpoint.isin(labels.endpoint)]
    flagged_hours = clean.groupby("endpoint")["hour_start"].nunique()
    assert (flagged_hours <= 1).all(), f"clean endpoints flagged:\n{flagged_hours}"


def test_prefect_api_lists_the_runs_artifacts(run, prefect_server):
    runs = api(prefect_server, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 50})
    by_name = {}
    for flow_run in runs:
        flow = api(
            prefect_server, "/flows/filter", {"flows": {"id": {"any_": [flow_run["flow_id"]]}}}
        )[0]
        by_name.setdefault(flow["name"], flow_run)
    assert by_name["logcast-backfill"]["state_type"] == "COMPLETED"
    assert by_name["logcast-hourly"]["state_type"] == "COMPLETED"
    for flow_name, keys in {
        "logcast-backfill": {
            "logcast-backfill-summary",
            "logcast-anomalies",
            "logcast-backfill-progress",
        },
        "logcast-hourly": {"logcast-hourly-summary", "logcast-anomalies"},
    }.items():
        flow_run_id = by_name[flow_name]["id"]
        artifacts = api(
            prefect_server,
            "/artifacts/filter",
            {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
        )
        assert {a["key"] for a in artifacts} == keys
        summary = next(a for a in artifacts if a["type"] == "markdown")
        assert "records read" in summary["data"]


def test_query_refuses_writes(run):
    home, _ = run
    done = subprocess.run(
        [LOGCAST, "query", "DROP VIEW requests"],
        env=quiet_env(LOGCAST_HOME=str(home)),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "read-only" in done.stderr


def _access_log(path, start: str, hours: int) -> int:
    """A combined access log of one request a minute from `start` for `hours` hours."""
    times = pd.date_range(start, periods=hours * 60, freq="min")
    path.write_text(
        "".join(
            f'192.0.2.{i % 200 + 1} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET /page/{i % 7} '
            f'HTTP/1.1" 200 {512 + i % 100} "-" "curl/8.0"\n'
            for i, t in enumerate(times)
        )
    )
    return len(times)


def test_logs_of_years_ago_stay_queryable_and_retention_says_what_it_removes(
    prefect_server, tmp_path
):
    """Default settings (30 days of requests): a 2015 log is kept whatever today's date; a
    log from a year later then ages it out, and the run says so."""
    home = tmp_path / "home"
    logcast = logcast_runner(
        quiet_env(LOGCAST_HOME=str(home), PREFECT_API_URL=prefect_server), cwd=tmp_path
    )
    old = _access_log(tmp_path / "access-2015.log", "2015-03-01T10:00Z", hours=26)
    printed = logcast("ingest", str(tmp_path / "access-2015.log"))
    assert f"kept {old:,}" in printed and "retention" not in printed
    assert f"access-2015.log: combined (detected), read {old:,} = kept {old:,}" in printed
    counted = json.loads(
        logcast("query", "SELECT count(*) AS n, min(ts) AS first FROM requests", "--output", "json")
    )
    assert counted[0]["n"] == old and counted[0]["first"].startswith("2015-03-01T10:00:00")
    empty = json.loads(logcast("query", "SELECT count(*) AS n FROM quarantine", "--output", "json"))
    assert empty == [{"n": 0}]  # a table with no partition yet answers, with zero rows

    new = _access_log(tmp_path / "access-2016.log", "2016-03-01T00:00Z", hours=2)
    printed = logcast("ingest", str(tmp_path / "access-2016.log"))
    assert (
        "retention removed 26 partitions of requests older than 2016-01-31 (30 days before the "
        "newest data, 2016-03-01 02:00 UTC)"
    ) in printed
    counted = json.loads(logcast("query", "SELECT count(*) AS n FROM requests", "--output", "json"))
    assert counted == [{"n": new}]
    assert (home / "warehouse" / "endpoint_hourly" / "date=2015-03-01").exists()  # metrics stay

    # a file that keeps nothing: every line quarantined with its reason, and exit status 1
    bad = tmp_path / "bad.log"
    bad.write_text("".join(f"{i} not a log line at all\n" for i in range(50)))
    done = subprocess.run(
        [LOGCAST, "ingest", str(bad), "--format", "combined"],
        env=quiet_env(LOGCAST_HOME=str(home), PREFECT_API_URL=prefect_server),
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "bad.log: combined, read 50 = kept 0 + quarantined 50" in done.stdout
    assert "1 file(s) kept nothing" in done.stderr and str(bad) in done.stderr


def test_a_temporary_server_that_does_not_start_is_one_error_line(tmp_path):
    env = quiet_env(
        LOGCAST_HOME=str(tmp_path / "home"),
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1",  # no server starts that fast
    )
    env.pop("PREFECT_API_URL", None)
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        [LOGCAST, "backfill", "--start", "2026-11-01", "--end", "2026-11-01"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("logcast: error:")]
    assert len(errors) == 1 and "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in errors[0]


def _mixed_json_lines(path) -> None:
    """A JSON-lines application log as a service writes it: 4 requests, 35 plain log events
    (level and message, no path) and one line that is not JSON."""
    lines = []
    for i in range(39):
        ts = f"2026-11-20T09:{i:02d}:00Z"
        if i % 10 == 3:
            lines.append(
                json.dumps(
                    {"time": ts, "level": "info", "method": "GET", "path": f"/api/items/{i}",
                     "status": 200, "duration_ms": 5 + i, "service": "shop"}
                )
            )  # fmt: skip
        else:
            level = ("info", "debug", "warn", "error")[i % 4]
            lines.append(
                json.dumps({"time": ts, "level": level, "msg": f"step {i}", "service": "shop"})
            )
    lines.insert(20, "{not json")
    path.write_text("\n".join(lines) + "\n")


def test_a_mixed_json_lines_file_counts_requests_and_events_apart(prefect_server, tmp_path):
    home = tmp_path / "home"
    logcast = logcast_runner(
        quiet_env(LOGCAST_HOME=str(home), PREFECT_API_URL=prefect_server), cwd=tmp_path
    )
    log = tmp_path / "app.jsonl"
    _mixed_json_lines(log)
    printed = logcast("ingest", str(log))
    assert (
        f"  {log}: jsonl (detected), read 40 = kept 39 + quarantined 1; "
        "kept 39: 4 requests, 35 events\n"
    ) in printed
    assert "records read 40 = kept 39 + quarantined 1; kept 39: 4 requests, 35 events" in printed
    split = json.loads(
        logcast(
            "query",
            "SELECT count(endpoint) AS requests, count(*) - count(endpoint) AS events FROM requests",
            "--output",
            "json",
        )
    )
    assert split == [{"requests": 4, "events": 35}]
    with closing(sqlite3.connect(home / "catalog.db")) as db:
        ledger = db.execute("SELECT rows_kept, requests, events FROM files").fetchall()
        summary = json.loads(db.execute("SELECT summary FROM runs").fetchone()[0])
    assert ledger == [(39, 4, 35)]
    assert (summary["files"]["requests"], summary["files"]["events"]) == (4, 35)
    assert summary["files"]["read"][0]["requests"] == 4
    runs = api(prefect_server, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 50})
    ours = [r for r in runs if r["parameters"].get("paths") == [str(log)]]
    assert [r["state_type"] for r in ours] == ["COMPLETED"]  # recorded on the server


def test_without_a_server_an_ingest_runs_on_a_temporary_one_that_stops_with_it(
    tmp_path, prefect_database
):
    prefect_home = tmp_path / "prefect"
    prefect_home.mkdir()
    shutil.copyfile(prefect_database, prefect_home / "prefect.db")  # migrated once per session
    env = quiet_env(LOGCAST_HOME=str(tmp_path / "home"), PREFECT_HOME=str(prefect_home))
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "app.jsonl"
    _mixed_json_lines(log)
    done = subprocess.run(
        [LOGCAST, "ingest", str(log)], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "kept 39: 4 requests, 35 events" in done.stdout
    started = re.search(r"Starting temporary server on (http://127\.0\.0\.1:\d+)", done.stderr)
    assert started and f"Stopping temporary server on {started[1]}" in done.stderr
    assert "View at" not in done.stderr  # the temporary server serves no UI to link to
    port = int(started[1].rsplit(":", 1)[1])
    with closing(socket.socket()) as probe:  # the server went with the command
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    with closing(sqlite3.connect(prefect_home / "prefect.db")) as db:
        recorded = db.execute(
            "SELECT flow_run.state_type FROM flow_run JOIN flow ON flow.id = flow_run.flow_id "
            "WHERE flow.name = 'logcast-ingest'"
        ).fetchall()
    assert recorded == [("COMPLETED",)]  # the run is in PREFECT_HOME's database
