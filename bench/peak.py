"""Peak memory of one ingest in a fresh interpreter, as a worker would run it: imports and a
small warm-up file first, then the high-water mark of the resident set while the file is
ingested, above the resident set at its start.

    python -m bench.peak FORMAT PATH   ->  prints the peak in bytes
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from bench.memory import PeakMemory
from flows.ingest import catalog_for, ingest_file
from flows.settings import load_settings

AS_OF = pd.Timestamp("2026-11-01", tz="UTC")


def peak_bytes(fmt: str, path: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="logcast-peak-") as tmp:
        home = Path(tmp)
        settings = load_settings(
            environ={"LOGCAST_HOME": str(home)}, config_file=home / "none.toml"
        )
        catalog_for(settings.catalog_url)
        head = home / f"head-{path.name}"
        with open(path, "rb") as source:
            head.write_bytes(b"".join(source.readline() for _ in range(2_000)))
        ingest_file(head, settings=settings, source="bench", fmt=fmt, as_of=AS_OF)
        with PeakMemory() as peak:
            outcome = ingest_file(path, settings=settings, source="bench", fmt=fmt, as_of=AS_OF)
        assert outcome.records_read == outcome.rows_kept + outcome.rows_quarantined
        return peak.bytes


if __name__ == "__main__":
    print(peak_bytes(sys.argv[1], Path(sys.argv[2])))
