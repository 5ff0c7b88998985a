"""`python -m bench small-ingest`: how long `logcast ingest FILE` of a 10-line file takes, wall
clock from the shell (Python start-up, imports, the flow run, everything), in a fresh process
and a fresh LOGCAST_HOME each time:

- with no PREFECT_API_URL, so the command runs on a temporary Prefect server of its own
  (target: under 10 s);
- against a `prefect server start` on a free 127.0.0.1 port, started here and stopped after
  (target: under 3 s): the command hands the run to its resident process (flows.daemon), which
  the warm-up run starts; and, for comparison, with LOGCAST_DAEMON=off, the command running
  the flow in its own process.

Both Prefect homes start on a copy of one migrated Prefect database (the one the tests keep in
`.pytest_cache`), as a user's home is after its first use; one untimed run in each mode first
warms the operating system's file cache. The command is the `logcast` script of this
interpreter with this checkout first on PYTHONPATH, so it runs this checkout's code."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.server import migrated_database, started_prefect_server

REPEATS = int(os.environ.get("LOGCAST_BENCH_REPEATS", "3"))
ROOT = Path(__file__).resolve().parent.parent
LOGCAST = str(Path(sys.executable).with_name("logcast"))
TARGETS = {"temporary": 10.0, "server": 3.0}


def small_log(path: Path) -> tuple[int, int]:
    """10 JSON lines as a service logs them: requests and plain log events; (requests,
    events)."""
    lines = []
    for i in range(10):
        ts = f"2026-11-20T10:00:{i:02d}Z"
        if i % 3 == 0:
            lines.append({"time": ts, "level": "info", "msg": f"step {i}", "service": "shop"})
        else:
            lines.append(
                {"time": ts, "method": "GET", "path": f"/api/items/{i}", "status": 200,
                 "duration_ms": 10 + i, "service": "shop"}
            )  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return sum("path" in line for line in lines), sum("path" not in line for line in lines)


def _ingest(folder: Path, log: Path, env: dict[str, str], name: str) -> float:
    home = folder / name
    started = time.perf_counter()
    done = subprocess.run(
        [LOGCAST, "ingest", str(log)],
        env={**env, "LOGCAST_HOME": str(home)},
        cwd=folder,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "kept 10" not in done.stdout:
        raise RuntimeError(f"logcast ingest failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def _times(folder: Path, log: Path, env: dict[str, str], mode: str) -> list[float]:
    _ingest(folder, log, env, f"{mode}-warm-up")
    return [_ingest(folder, log, env, f"{mode}-{i}") for i in range(REPEATS)]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="logcast-bench-small-ingest-"))
    try:
        database = migrated_database(ROOT / ".pytest_cache" / "d" / "prefect-database")
        log = folder / "app.jsonl"
        requests, events = small_log(log)
        env = {
            **os.environ,
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        for name in ("PREFECT_API_URL", "LOGCAST_CONFIG", "LOGCAST_CATALOG_URL"):
            env.pop(name, None)
        load = os.getloadavg()[0]

        temporary_home = folder / "prefect-temporary"
        temporary_home.mkdir()
        shutil.copyfile(database, temporary_home / "prefect.db")
        temporary = _times(folder, log, {**env, "PREFECT_HOME": str(temporary_home)}, "temporary")

        server_home = folder / "prefect-server"
        server_home.mkdir()
        with started_prefect_server(server_home, database=database) as url:
            client_home = folder / "prefect-client"
            client_home.mkdir()
            client = {
                **env,
                "PREFECT_HOME": str(client_home),
                "PREFECT_API_URL": url,
                "XDG_RUNTIME_DIR": str(folder),  # the resident process's socket and log
            }
            try:
                served = _times(folder, log, {**client, "LOGCAST_DAEMON": "on"}, "server")
            finally:
                subprocess.run(
                    [LOGCAST, "daemon", "stop"], env=client, cwd=folder, capture_output=True
                )
            alone = _times(folder, log, {**client, "LOGCAST_DAEMON": "off"}, "alone")

        print(
            f"\nlogcast ingest of a 10-line file ({requests} requests, {events} events), wall "
            f"clock of a fresh process each, {REPEATS} runs after one warm-up; load average "
            f"{load:.1f} on {os.cpu_count()} cores at the start"
        )
        print(f"{'Prefect API':<44} {'best':>6} {'median':>7} {'target':>7}  median on target")
        for label, times, target in (
            ("temporary server (no PREFECT_API_URL)", temporary, TARGETS["temporary"]),
            ("prefect server start on 127.0.0.1", served, TARGETS["server"]),
            ("  the same, LOGCAST_DAEMON=off", alone, TARGETS["server"]),
        ):
            median = statistics.median(times)
            print(
                f"{label:<44} {min(times):6.2f} {median:7.2f} {'<' + format(target, 'g'):>7}  "
                f"{'yes' if median < target else 'no'}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
