"""The Prefect API a command's flow runs report to: the server PREFECT_API_URL names, else a
temporary one that this module starts before anything heavy is imported.

Without PREFECT_API_URL, Prefect starts its temporary server (uvicorn serving
`prefect.server.api.server:create_app`, UI off) the first time a flow needs the API, after the
command has imported everything, and importing the module that starts it costs this process
seconds more. `prefect_api` starts the same server (Prefect's own command and environment for
it) at the start of the command, so its start-up runs in its own process while this one
imports the flows; what remains of the wait goes to `while_starting` (imports a run needs
later). The runs are recorded in PREFECT_HOME's database as before, and the server stops with
the command. Where Prefect's settings name an API URL after all (a profile, prefect.toml) or
do not allow a temporary server, the early start is undone and Prefect decides as before."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

PORT_IN_USE = 3
"""uvicorn's exit status when its port was taken in the meantime (Prefect retries too)."""


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryServer:
    """Prefect's temporary API server in a child process, as Prefect starts it
    (`prefect.server.api.server.SubprocessASGIServer`)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process = self._start()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _start(self) -> subprocess.Popen:
        import importlib.util

        spec = importlib.util.find_spec("prefect")
        app_dir = str(Path(spec.origin).parent.parent) if spec and spec.origin else "."
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                app_dir,
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
            },
            stdin=subprocess.DEVNULL,
        )

    def healthy(self) -> bool:
        if self.process.poll() == PORT_IN_USE:  # taken since we picked it: another port
            self.port = _free_port()
            self.process = self._start()
            return False
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def wait(self, timeout: float) -> None:
        """Returns once the server answers; a RuntimeError naming the setting after
        `timeout` seconds or when the server exits."""
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None and self.process.returncode != PORT_IN_USE:
                raise RuntimeError(
                    "The temporary Prefect API server exited with status "
                    f"{self.process.returncode} while starting."
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Timed out after {timeout:g} s while waiting for the temporary Prefect API "
                    "server to start."
                )
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _startup_timeout() -> float:
    from prefect.settings import get_current_settings

    return float(get_current_settings().server.ephemeral.startup_timeout_seconds)


def _deliver_pending() -> None:
    """Sends what Prefect's log and event workers still hold (they would at exit, when the
    temporary server is gone)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(at_exit=False)
    EventsWorker.drain_all(at_exit=False)


@contextmanager
def prefect_api(while_starting: Callable[[], object] | None = None) -> Iterator[None]:
    """The flow runs inside report to PREFECT_API_URL, or to a temporary server started here
    and stopped on the way out. `while_starting` runs while that server starts (only then:
    work to do in the wait, such as imports the runs need later)."""
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        # a server is named, or Prefect is loaded already (its settings decide, e.g. a test's)
        yield
        return
    server = TemporaryServer()  # starts now, while this process imports Prefect
    try:
        import prefect.context
        from prefect.logging import get_logger
        from prefect.settings import (
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            PREFECT_UI_URL,
            get_current_settings,
        )

        settings = get_current_settings()
        if settings.api.url or not settings.server.ephemeral.enabled:
            server.stop()  # Prefect's settings decide: a server they name, or their error
            yield
            return
        import prefect.main  # sets up Prefect's logging (the runs need it anyway)

        get_logger().info(
            "Starting temporary server on %s\nSee "
            "https://www.prefect.io/docs/v3/concepts/server#how-to-guides for more "
            "information on running a dedicated Prefect server.",
            server.api_url.removesuffix("/api"),
        )
        if while_starting is not None:
            while_starting()
        server.wait(_startup_timeout())
        os.environ["PREFECT_API_URL"] = server.api_url  # this process and its children
        prefect.context.refresh_global_settings_context()
        try:
            # A heartbeat tells a server that a run's process is alive; this server lives
            # exactly as long as the process, so there is nothing for it to tell. Without
            # them, the end of a run does not wait for the heartbeat thread (up to a second).
            # It serves no UI either: no "View at" link to it.
            quiet = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_UI_URL: ""}
            with prefect.settings.temporary_settings(quiet):
                yield
        finally:
            _deliver_pending()  # the run's last logs and events, before the server goes
            os.environ.pop("PREFECT_API_URL", None)
            prefect.context.refresh_global_settings_context()
            get_logger().info(
                "Stopping temporary server on %s", server.api_url.removesuffix("/api")
            )
    finally:
        if server.process.poll() is None:
            server.stop()
