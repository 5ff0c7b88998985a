"""A local Dask cluster of real processes (`dask scheduler` and `dask worker`) on 127.0.0.1,
for the scale-out test and bench."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.processes import free_port, stop_process

BIN = Path(sys.executable).parent


class DaskCluster:
    """`with DaskCluster(workers=2, env=env, log_dir=path) as cluster:` cluster.address."""

    def __init__(self, *, workers: int, env: dict, log_dir: Path, threads: int = 1):
        self.workers, self.env, self.log_dir, self.threads = workers, env, log_dir, threads
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[tuple[subprocess.Popen, object]] = []

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(
            [str(BIN / "dask"), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append((process, log))

    def __enter__(self) -> DaskCluster:
        from distributed import Client

        port = self.address.rsplit(":", 1)[1]
        self._start(
            "scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]
        )
        for i in range(self.workers):
            self._start(
                f"worker-{i + 1}",
                [
                    "worker", self.address, "--nworkers", "1", "--nthreads", str(self.threads),
                    "--no-dashboard", "--name", f"worker-{i + 1}",
                ],
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(self.address, timeout=10) as client:
                    client.wait_for_workers(self.workers, timeout=60)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.5)

    def task_prefixes(self) -> set[str]:
        """The names of the task kinds the scheduler has run."""
        from distributed import Client

        with Client(self.address, timeout=10) as client:
            return set(
                client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
            )

    def stop(self) -> None:
        for process, log in reversed(self.processes):
            stop_process(process, timeout=20)
            log.close()
        self.processes.clear()

    def __exit__(self, *exc) -> None:
        self.stop()
