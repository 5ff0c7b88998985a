"""A real `prefect server start` on 127.0.0.1, as a user runs it."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from bench.processes import free_port, stop_process
from tests.helpers import BIN, quiet_env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def migrated_database(cache_dir: Path) -> Path:
    """A SQLite database with the schema of the installed Prefect, made by `prefect server
    database upgrade` once and kept in `cache_dir` under the Prefect version: a test server
    starts on a copy of it instead of running every migration on an empty database (about 20 s
    of CPU a server). Test processes that need it at once wait for the first to make it."""
    import prefect

    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"prefect-{prefect.__version__}.db"
    with open(cache_dir / "prefect-database.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
                env = quiet_env(PREFECT_HOME=tmp)
                env.pop("PREFECT_API_URL", None)
                subprocess.run(
                    [str(BIN / "prefect"), "server", "database", "upgrade", "--yes"],
                    env=env,
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
                # one self-contained file (nothing left in a write-ahead log), then in place
                made = Path(tmp) / "made.db"
                with closing(sqlite3.connect(Path(tmp) / "prefect.db")) as db:
                    db.execute("VACUUM INTO ?", (str(made),))
                os.replace(made, target)
    return target


@contextmanager
def started_prefect_server(
    home: Path, timeout: float = 120, database: Path | None = None
) -> Iterator[str]:
    """Starts `prefect server start` with `home` as its PREFECT_HOME (database, log), on a
    copy of `database` when given (see `migrated_database`), waits until it answers, yields
    its API URL and stops it afterwards."""
    if database is not None:
        shutil.copyfile(database, home / "prefect.db")
    port = free_port()
    env = quiet_env(PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            raise RuntimeError(
                "prefect server did not start:\n" + (home / "server.log").read_text()[-3000:]
            )
        time.sleep(0.5)
    try:
        yield url
    finally:
        stop_process(process)
        log.close()
