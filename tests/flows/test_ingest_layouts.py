"""A log4j file through the ingest flow, read back as log levels per minute."""

import pandas as pd
import pytest

from flows.pipeline import ingest
from flows.settings import load_settings
from warehouse.query import query

pytestmark = pytest.mark.flows

AS_OF = pd.Timestamp("2026-11-04T13:05:00Z").to_pydatetime()
LOG4J = [
    "2026-11-01 10:00:01,034 INFO [main] org.shop.App: started",
    "2026-11-01 10:00:20,000 ERROR [RMCommunicator Allocator] org.shop.Allocator: no contact",
    "java.net.ConnectException: refused",
    "\tat org.shop.Allocator.heartbeat(Allocator.java:12)",
    "2026-11-01 10:00:40,500 ERROR [RMCommunicator Allocator] org.shop.Allocator: no contact",
    "2026-11-01 10:01:05,000 WARN [main] org.shop.App: slow",
    *(f"2026-11-01 10:02:{k:02},000 INFO [main] org.shop.App: tick" for k in range(6)),
    "not a log line",
]


def test_a_log4j_file_is_detected_and_counted_per_minute_service_and_level(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "home"))
    (tmp_path / "logcast.toml").write_text('[sources.shop]\npaths = ["*.log"]\n')
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    (settings.landing_dir / "app.log").write_text("\n".join(LOG4J) + "\n")
    summary = ingest(as_of=AS_OF)
    assert summary["files"]["ingested"] == 1 and summary["files"]["rows_quarantined"] == 1
    levels = query(
        settings.warehouse_dir,
        "SELECT minute_start, service, level, events FROM log_levels_minutely "
        "ORDER BY minute_start, service, level",
    )
    assert levels.to_dict("records") == [
        {"minute_start": pd.Timestamp("2026-11-01 10:00", tz="UTC"), "service": "org.shop.Allocator",
         "level": "ERROR", "events": 2},
        {"minute_start": pd.Timestamp("2026-11-01 10:00", tz="UTC"), "service": "org.shop.App",
         "level": "INFO", "events": 1},
        {"minute_start": pd.Timestamp("2026-11-01 10:01", tz="UTC"), "service": "org.shop.App",
         "level": "WARNING", "events": 1},
        {"minute_start": pd.Timestamp("2026-11-01 10:02", tz="UTC"), "service": "org.shop.App",
         "level": "INFO", "events": 6},
    ]  # fmt: skip
    threads = query(
        settings.warehouse_dir, "SELECT DISTINCT attributes->>'thread' AS t FROM requests"
    )
    assert set(threads["t"]) == {"main", "RMCommunicator Allocator"}
