"""The flows' task runner, chosen when a flow run starts (never at import) from the
environment of the process that runs it."""

from __future__ import annotations

import os
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner


class SettingsTaskRunner(TaskRunner):
    """Reads LOGCAST_TASK_RUNNER when its flow run starts and hands every task to that
    runner: `threads` (the default: Prefect's thread pool, `thread_workers` threads), or `dask` with
    LOGCAST_DASK_ADDRESS=tcp://HOST:PORT, an existing Dask cluster (prefect-dask), which then
    runs the per-file ingest, the per-day recompute and the per-series fits."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: TaskRunner | None = None

    def duplicate(self) -> SettingsTaskRunner:
        return type(self)()

    def __enter__(self) -> SettingsTaskRunner:
        self.inner = configured_task_runner()
        self.inner.__enter__()
        self._started = True
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self.inner is not None:
                self.inner.__exit__(*exc_info)
        finally:
            self.inner, self._started = None, False

    def submit(self, task, parameters, wait_for=None, dependencies=None):
        if self.inner is None:
            raise RuntimeError("The task runner must be started before submitting work.")
        return self.inner.submit(task, parameters, wait_for, dependencies)


def configured_task_runner() -> TaskRunner:
    """The runner LOGCAST_TASK_RUNNER names; a missing or unknown value is a clear error."""
    from flows.settings import SettingsError

    kind = os.environ.get("LOGCAST_TASK_RUNNER", "threads").strip().lower() or "threads"
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=thread_workers())
    if kind == "dask":
        address = os.environ.get("LOGCAST_DASK_ADDRESS", "").strip()
        if not address:
            raise SettingsError(
                "LOGCAST_TASK_RUNNER=dask needs LOGCAST_DASK_ADDRESS=tcp://HOST:PORT, the "
                "scheduler of an existing Dask cluster"
            )
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=address)
    raise SettingsError(f"LOGCAST_TASK_RUNNER: expected threads or dask, got {kind!r}")


def thread_workers() -> int | None:
    """Threads of the default runner: Prefect's PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS
    when it is set (None lets Prefect read it), else the standard library's default for a
    thread pool, min(32, cores + 4). Prefect's own default has no bound, and a backfill
    submits one task per landing file at once: a thread, and a file in memory, for each."""
    from prefect.settings import get_current_settings

    if get_current_settings().tasks.runner.thread_pool_max_workers:
        return None
    return min(32, (os.cpu_count() or 1) + 4)


def on_dask() -> bool:
    return os.environ.get("LOGCAST_TASK_RUNNER", "").strip().lower() == "dask"
