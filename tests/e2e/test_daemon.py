"""`logcast ingest` against a real Prefect server through its resident process (flows.daemon):
the same output, exit status, flow runs and tables as the command run in its own process."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.small_ingest import small_log
from flows import daemon
from tests.helpers import LOGCAST, api, quiet_env
from warehouse.query import query

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime():
    """XDG_RUNTIME_DIR of the test's resident processes (short: a socket path must fit in
    108 bytes); whatever still runs there is killed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="lc-", dir="/tmp"))
    yield folder
    for info in (folder / "logcast").glob("*.json"):
        with contextlib.suppress(ProcessLookupError, ValueError, KeyError):
            os.kill(json.loads(info.read_text())["pid"], signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def _logcast(env: dict, cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LOGCAST, *args],
        env={**env, **extra},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _tables(home: Path) -> dict[str, pd.DataFrame]:
    warehouse = home / "warehouse"
    return {
        "requests": query(
            warehouse,
            "SELECT ts, method, endpoint, status_code, latency_ms, level, message FROM requests "
            "ORDER BY ts",
        ),
        "endpoint_hourly": query(
            warehouse,
            "SELECT hour_start, endpoint, requests, status_5xx FROM endpoint_hourly "
            "ORDER BY hour_start, endpoint",
        ),
    }


def test_ingest_runs_in_the_resident_process_as_in_its_own(prefect_server, runtime, tmp_path):
    log = tmp_path / "app.jsonl"
    requests, events = small_log(log)
    env = quiet_env(
        PREFECT_API_URL=prefect_server, LOGCAST_DAEMON="on", XDG_RUNTIME_DIR=str(runtime)
    )

    first = _logcast(env, tmp_path, "ingest", str(log), LOGCAST_HOME=str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    assert "started a resident process (pid" in first.stderr
    assert f"kept 10: {requests} requests, {events} events" in first.stdout
    assert "jsonl (detected)" in first.stdout
    # Prefect's own log lines come through too
    assert "Finished in state Completed()" in first.stderr

    # a connection without the key is refused and changes nothing
    (sock,) = (runtime / "logcast").glob("*.sock")
    with socket.socket(socket.AF_UNIX) as stranger:
        stranger.connect(str(sock))
        stranger.sendall(b"no key here")

    second = _logcast(env, tmp_path, "ingest", "app.jsonl", LOGCAST_HOME=str(tmp_path / "b"))
    assert second.returncode == 0, second.stderr
    assert "started a resident process" not in second.stderr
    assert second.stdout == first.stdout  # the relative path read in the command's directory

    status = _logcast(env, tmp_path, "daemon", "status")
    assert status.returncode == 0
    assert "(this directory and server)" in status.stdout
    assert "2 command(s) run" in status.stdout
    pid = int(status.stdout.split()[1])

    # the same file in its own process: the same tables
    alone = _logcast(
        env, tmp_path, "ingest", str(log), LOGCAST_HOME=str(tmp_path / "c"), LOGCAST_DAEMON="off"
    )
    assert alone.returncode == 0, alone.stderr
    assert "started a resident process" not in alone.stderr
    alone_tables = _tables(tmp_path / "c")
    for home in ("a", "b"):
        for name, frame in _tables(tmp_path / home).items():
            assert len(frame) == len(alone_tables[name]) > 0
            pd.testing.assert_frame_equal(frame, alone_tables[name])

    # both resident runs are flow runs of the server, completed
    runs = api(prefect_server, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 50})
    ids = set()
    for out in (first.stderr, second.stderr):
        ids |= {line.rsplit("/", 1)[-1] for line in out.splitlines() if "/runs/flow-run/" in line}
    assert len(ids) == 2
    assert {r["state_type"] for r in runs if r["id"] in ids} == {"COMPLETED"}

    # a command that fails there fails here, with its message, and the process lives on
    empty = tmp_path / "nothing.jsonl"
    empty.write_text("not a log line\nnor this\n")
    failed = _logcast(env, tmp_path, "ingest", str(empty), LOGCAST_HOME=str(tmp_path / "a"))
    assert failed.returncode == 1
    assert "kept nothing" in failed.stderr
    missing = _logcast(env, tmp_path, "ingest", "no-such.log", LOGCAST_HOME=str(tmp_path / "a"))
    assert missing.returncode == 2
    assert "logcast: error: no-such.log: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr + failed.stderr
    assert daemon._alive(pid)

    # Ctrl-C on the command interrupts the run there, as in its own process
    days = tmp_path / "days"
    generated = _logcast(
        env, tmp_path, "generate", "--days", "2", "--end", "2026-11-08", LOGCAST_HOME=str(days)
    )
    assert generated.returncode == 0, generated.stderr
    command = subprocess.Popen(
        [LOGCAST, "ingest"],
        env={**env, "LOGCAST_HOME": str(days)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it: a shell's background job (the suite run with `&`)
        # passes SIGINT on ignored, and the command would never see it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert command.stderr is not None
    said = []
    for line in command.stderr:
        said.append(line)
        if "Beginning flow run" in line:
            break
    time.sleep(1)
    command.send_signal(signal.SIGINT)
    _, rest = command.communicate(timeout=120)
    said.append(rest)
    assert command.returncode == 130, "".join(said)
    assert "logcast: cancelled" in rest
    assert "Finished in state Crashed('Execution was aborted by an interrupt signal.')" in rest
    again = _logcast(env, tmp_path, "ingest", str(log), LOGCAST_HOME=str(tmp_path / "d"))
    assert again.returncode == 0, again.stderr
    assert "started a resident process" not in again.stderr

    stopped = _logcast(env, tmp_path, "daemon", "stop")
    assert stopped.returncode == 0
    assert f"stopped pid {pid}" in stopped.stdout
    assert not daemon._alive(pid)
    assert "no resident process is running" in _logcast(env, tmp_path, "daemon", "status").stdout
    assert list((runtime / "logcast").glob("*.sock")) == []


def test_a_resident_process_stops_when_idle(prefect_server, runtime, tmp_path):
    log = tmp_path / "app.jsonl"
    small_log(log)
    env = quiet_env(
        PREFECT_API_URL=prefect_server,
        LOGCAST_DAEMON="on",
        XDG_RUNTIME_DIR=str(runtime),
        LOGCAST_DAEMON_IDLE_MINUTES="0.05",
        LOGCAST_HOME=str(tmp_path / "home"),
    )
    done = _logcast(env, tmp_path, "ingest", str(log))
    assert done.returncode == 0, done.stderr
    pid = int(done.stderr.split("started a resident process (pid ", 1)[1].split(")")[0])
    deadline = time.monotonic() + 60
    while daemon._alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not daemon._alive(pid)
    log_text = next((runtime / "logcast").glob("*.log")).read_text()
    assert "stopping: idle for 0.05 min" in log_text
    assert list((runtime / "logcast").glob("*.sock")) == []


def test_off_and_bad_settings(prefect_server, runtime, tmp_path):
    log = tmp_path / "app.jsonl"
    small_log(log)
    env = quiet_env(PREFECT_API_URL=prefect_server, XDG_RUNTIME_DIR=str(runtime))
    bad = _logcast(env, tmp_path, "ingest", str(log), LOGCAST_DAEMON="maybe")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "logcast: error: LOGCAST_DAEMON='maybe': expected on or off"
    assert not (runtime / "logcast").exists() or not list((runtime / "logcast").glob("*.sock"))


STAND_IN = """
import fcntl, json, os, signal, sys, time
lock = open(sys.argv[1] + ".lock", "a")
fcntl.flock(lock, fcntl.LOCK_EX)
info = {"pid": os.getpid(), "cwd": sys.argv[2], "prefect_api_url": sys.argv[3],
        "python": sys.argv[4], "started": "", "commands": 0, "rss_mb": 0, "busy": False}
open(sys.argv[1] + ".json", "w").write(json.dumps(info))
print("ready", flush=True)
time.sleep(120)
"""


def test_a_new_version_retires_the_one_it_replaces(runtime, tmp_path, monkeypatch):
    """Stand-ins hold a resident process's lock and info: the one of this directory and
    server (another key: older code or settings) is asked to stop, another directory's is
    left alone."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.chdir(tmp_path)
    folder = daemon.state_dir()

    def stand_in(key: str, cwd: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", STAND_IN, str(folder / key), cwd,
             "http://127.0.0.1:4200/api", sys.executable],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        return process

    older = stand_in("0000000000000001", os.getcwd())
    elsewhere = stand_in("0000000000000002", str(tmp_path.parent))
    try:
        assert {i["key"] for i in daemon.running()} == {"0000000000000001", "0000000000000002"}
        daemon._retire_older(daemon.Paths("0000000000000003"))
        assert older.wait(timeout=10) == -signal.SIGTERM
        time.sleep(0.5)
        assert elsewhere.poll() is None
    finally:
        for process in (older, elsewhere):
            process.kill()
            process.wait()
