"""Peak resident memory of a block of work, from the kernel's high-water mark (Linux)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_STATUS = Path("/proc/self/status")


def _status(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in {_STATUS}")


class PeakMemory:
    """`with PeakMemory() as peak: ...` then `peak.bytes`: the highest RSS reached inside the
    block above the RSS at its start. Resets the high-water mark first (clear_refs 5)."""

    def __enter__(self) -> PeakMemory:
        with contextlib.suppress(OSError):
            Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")
        self.start = _status("VmRSS")
        self.bytes = 0
        return self

    def __exit__(self, *exc) -> None:
        self.bytes = max(_status("VmHWM") - self.start, 0)
