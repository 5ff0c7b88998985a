"""Retries only on IO, and a task runner chosen when a flow run starts, not at import."""

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
