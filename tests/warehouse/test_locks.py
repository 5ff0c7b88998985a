"""warehouse.locks: day locks between processes."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from warehouse.locks import LockTimeout, day_locks

pytestmark = pytest.mark.e2e  # each test holds a lock in a child Python process

DAY = pd.Timestamp("2026-11-03", tz="UTC")
HOLDER = """
import sys, time
import pandas as pd
from pathlib import Path
from warehouse.locks import day_locks
with day_locks(Path(sys.argv[1]), [pd.Timestamp(sys.argv[2])]):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
"""


def hold(locks_dir, day: str, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(locks_dir), day, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_day_another_process_holds_is_waited_for(tmp_path):
    holder = hold(tmp_path, "2026-11-03", 1.5)
    started = time.monotonic()
    with day_locks(tmp_path, [DAY + pd.Timedelta(hours=5)]):
        waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert waited >= 1.0


def test_other_days_are_not_blocked_and_a_timeout_names_the_day(tmp_path):
    holder = hold(tmp_path, "2026-11-03", 30)
    try:
        started = time.monotonic()
        with day_locks(tmp_path, [DAY + pd.Timedelta(days=1), DAY - pd.Timedelta(days=1)]):
            assert time.monotonic() - started < 1.0
        with (
            pytest.raises(LockTimeout, match="date=2026-11-03.lock"),
            day_locks(tmp_path, [DAY], wait_seconds=0.3),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_lock_behind(tmp_path):
    holder = hold(tmp_path, "2026-11-03", 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with day_locks(tmp_path, [DAY], wait_seconds=2.0) as held:
        assert held == [DAY]
