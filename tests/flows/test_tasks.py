"""Retries only on IO, and a task runner chosen when a flow run starts, not at import, with a
bounded thread pool."""

import errno

import pytest
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runner import SettingsTaskRunner
from flows.settings import SettingsError
from flows.tasks import failed_on_io


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OSError(errno.EIO, "Input/output error"), True),
        (BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable"), True),
        (PermissionError(errno.EACCES, "Permission denied"), True),
        (ValueError("a bug in the data"), False),
        (KeyError("a bug in the code"), False),
    ],
)
def test_only_io_failures_are_retried(error, retried):
    assert failed_on_io(None, None, Failed(data=error)) is retried


def test_the_task_runner_is_read_from_the_environment_when_the_run_starts(monkeypatch):
    runner = SettingsTaskRunner().duplicate()  # what a flow run does with its runner
    monkeypatch.setenv("LOGCAST_TASK_RUNNER", "threads")
    with runner:
        assert isinstance(runner.inner, ThreadPoolTaskRunner)
    assert runner.inner is None
    monkeypatch.setenv("LOGCAST_TASK_RUNNER", "dask")
    monkeypatch.delenv("LOGCAST_DASK_ADDRESS", raising=False)
    with pytest.raises(SettingsError, match="needs LOGCAST_DASK_ADDRESS"), runner:
        pass
    monkeypatch.setenv("LOGCAST_TASK_RUNNER", "celery")
    with pytest.raises(SettingsError, match="expected threads or dask, got 'celery'"), runner:
        pass


@pytest.mark.flows
@pytest.mark.parametrize("prefect_setting", [None, 3], ids=["default", "prefect setting 3"])
def test_the_thread_pool_runs_a_bounded_number_of_tasks_at_once(prefect_setting):
    """A backfill submits one task per file at once; they run a few threads at a time
    (min(32, cores + 4), or Prefect's PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS when set)."""
    import os
    import threading
    import time

    import prefect.settings
    from prefect import flow, task

    lock = threading.Lock()
    running = [0]
    peak = [0]

    @task
    def busy(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return i

    @flow(task_runner=SettingsTaskRunner())
    def many() -> list[int]:
        return [f.result() for f in [busy.submit(i) for i in range(60)]]

    with prefect.settings.temporary_settings(
        updates={prefect.settings.PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS: prefect_setting}
    ):
        assert many() == list(range(60))
    bound = prefect_setting or min(32, (os.cpu_count() or 1) + 4)
    assert 1 < peak[0] <= bound
