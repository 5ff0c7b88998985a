"""A real `prefect server start` on 127.0.0.1, as a user runs it."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.processes import free_port, stop_process
from tests.helpers import BIN, quiet_env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def started_prefect_server(home: Path, timeout: float = 120) -> Iterator[str]:
    """Starts `prefect server start` with `home` as its PREFECT_HOME (database, log), waits
    until it answers, yields its API URL and stops it afterwards."""
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
