"""Stopping a child process the one way the bench and the tests do: politely, then firmly."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """Terminates `process` and waits `timeout` seconds for it to exit, then kills it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
