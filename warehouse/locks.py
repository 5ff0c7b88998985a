"""Locks that keep two runs from writing the same partitions at once.

Every task that publishes partitions first takes the lock of each UTC day it writes, a file
under `$LOGCAST_HOME/locks/` held with `flock`: runs in other processes (a worker, `logcast
serve`, a backfill in a terminal) and other threads of the same run wait for each other. The
operating system releases a lock when its process dies, so a killed run leaves none behind.
Days are always taken in ascending order, so two tasks never wait for each other in a cycle.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

log = logging.getLogger("logcast.locks")

WAIT_SECONDS = 6 * 3600.0
"""How long a task waits for a day another run holds before failing."""


class LockTimeout(TimeoutError):
    """A day stayed locked by another run for longer than the task may wait."""


def lock_path(locks_dir: Path, day: pd.Timestamp) -> Path:
    return locks_dir / f"date={pd.Timestamp(day):%Y-%m-%d}.lock"


@contextlib.contextmanager
def day_locks(
    locks_dir: Path, days: Iterable[pd.Timestamp], *, wait_seconds: float = WAIT_SECONDS
) -> Iterator[list[pd.Timestamp]]:
    """Holds the lock of every day in `days` (UTC days) for the duration of the block."""
    wanted = sorted({pd.Timestamp(d).floor("D") for d in days})
    locks_dir.mkdir(parents=True, exist_ok=True)
    handles = []
    try:
        for day in wanted:
            path = lock_path(locks_dir, day)
            handle = open(path, "a+")  # noqa: SIM115 - closed in finally
            handles.append(handle)
            _acquire(handle, path, wait_seconds)
        yield wanted
    finally:
        for handle in reversed(handles):
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _acquire(handle, path: Path, wait_seconds: float) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    log.info("waiting for %s, held by another run", path.name)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise LockTimeout(
                    f"{path} is still locked by another logcast run after {wait_seconds:.0f} s"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def named_lock(locks_dir: Path, name: str, *, wait_seconds: float = WAIT_SECONDS) -> Iterator[Path]:
    """Holds the lock `<name>.lock` for the duration of the block: for work on state that
    spans days (the mined templates). Take it after any day locks, never before."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"{name}.lock"
    with open(path, "a+") as handle:
        try:
            _acquire(handle, path, wait_seconds)
            yield path
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
