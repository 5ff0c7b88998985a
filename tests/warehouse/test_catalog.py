import sqlite3
from contextlib import closing
from dataclasses import replace

import pandas as pd
import pytest

from warehouse.catalog import Catalog, FileRecord, Fragment, now
from warehouse.storage import WrittenFile

pytestmark = pytest.mark.clock

H1 = pd.Timestamp("2026-11-01T01:00:00Z")
H2 = pd.Timestamp("2026-11-01T02:00:00Z")


def record(sha="aa", kept=3, quarantined=1):
    return FileRecord(
        file_id="f1", path="/landing/a.csv", size=10, sha256=sha, source="api", format="csv",
        records_read=kept + quarantined, rows_kept=kept, rows_quarantined=quarantined,
    )  # fmt: skip


def fragment(hour):
    part = f"date={hour:%Y-%m-%d}/hour={hour:%H}"
    return Fragment("requests", part, f"/wh/requests/{part}/f1.parquet", 2, hour=hour)


def test_ledger_knows_a_file_by_path_size_and_checksum(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    assert not catalog.is_ingested("/landing/a.csv", 10, "aa")
    catalog.record_file(record(), [fragment(H1)], run_id="r1")
    assert catalog.is_ingested("/landing/a.csv", 10, "aa")
    assert not catalog.is_ingested("/landing/a.csv", 10, "bb")
    row = catalog.file("/landing/a.csv")
    assert row["records_read"] == row["rows_kept"] + row["rows_quarantined"] == 4


def test_reingest_replaces_fragments_and_dirties_old_and_new_hours(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    catalog.record_file(record(), [fragment(H1)], run_id="r1")
    assert catalog.dirty_hours() == [H1]
    catalog.clear_dirty([H1], marked_before=now())
    assert catalog.dirty_hours() == []
    stale = catalog.record_file(record(sha="bb"), [fragment(H2)], run_id="r2")
    assert stale == [fragment(H1).path]
    assert catalog.dirty_hours() == [H1, H2]
    assert catalog.fragment_paths("requests", "date=2026-11-01/hour=02") == [fragment(H2).path]
    assert catalog.fragment_paths("requests", "date=2026-11-01/hour=01") == []


def test_an_hour_marked_during_its_rebuild_stays_dirty(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    started = now()
    catalog.mark_dirty([H1])
    catalog.clear_dirty([H1], marked_before=started)
    assert catalog.dirty_hours() == [H1]


def test_partitions_and_runs_are_recorded(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    catalog.start_run("r1", "logcast-hourly", {"hour": "x"})
    written = WrittenFile(path=tmp_path / "p.parquet", rows=5, bytes=100, sha256="cc")
    catalog.record_partition("endpoint_hourly", "date=2026-11-01/hour=01", written, "r1")
    catalog.record_partition("endpoint_hourly", "date=2026-11-01/hour=01", written, "r1")
    catalog.finish_run("r1", "completed", {"anomalies": 2})
    parts = catalog.partitions_frame()
    assert len(parts) == 1 and parts["rows"].iloc[0] == 5 and parts["checksum"].iloc[0] == "cc"
    catalog.drop_partition("endpoint_hourly", "date=2026-11-01/hour=01")
    assert catalog.partitions_frame().empty


def test_the_ledger_records_how_many_rows_kept_are_requests_and_how_many_events(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    catalog.record_file(replace(record(kept=39), requests=4, events=35), [], run_id="r1")
    row = catalog.file("/landing/a.csv")
    assert (row["rows_kept"], row["requests"], row["events"]) == (39, 4, 35)


def test_a_catalog_made_before_the_requests_and_events_columns_opens_and_gets_them(tmp_path):
    path = tmp_path / "c.db"
    Catalog(f"sqlite:///{path}").record_file(record(), [fragment(H1)], run_id="r1")
    with closing(sqlite3.connect(path)) as db, db:  # the files table as an older logcast made it
        db.execute("ALTER TABLE files DROP COLUMN requests")
        db.execute("ALTER TABLE files DROP COLUMN events")
    catalog = Catalog(f"sqlite:///{path}")
    old = catalog.file("/landing/a.csv")
    assert (old["rows_kept"], old["requests"], old["events"]) == (3, None, None)  # not known
    assert catalog.is_ingested("/landing/a.csv", 10, "aa")  # the ledger still knows the file
    catalog.record_file(replace(record(sha="bb"), requests=1, events=2), [], run_id="r2")
    assert (
        catalog.file("/landing/a.csv")["requests"],
        catalog.file("/landing/a.csv")["events"],
    ) == (1, 2)
    Catalog(f"sqlite:///{path}")  # opening it again adds nothing and fails nothing


def test_the_incident_event_ledger_records_an_event_once(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    row = {
        "event_id": "00000000-0000-5000-8000-000000000001",
        "incident_id": "abc",
        "kind": "opened",
        "service": "shop",
        "endpoint": "/a",
        "start": "2026-11-03T10:00:00Z",
        "severity": "high",
        "metrics": "requests",
    }
    assert catalog.record_incident_event(row, run_id="r1")
    assert not catalog.record_incident_event(row, run_id="r2")  # a rerun: already sent
    assert catalog.unresolved_incident_events()["kind"].tolist() == ["opened"]
    resolved = {**row, "event_id": "00000000-0000-5000-8000-000000000002", "kind": "resolved"}
    assert catalog.record_incident_event(resolved, run_id="r3")
    assert catalog.unresolved_incident_events().empty
    assert catalog.incident_events_frame()[["kind", "run_id"]].values.tolist() == [
        ["opened", "r1"],
        ["resolved", "r3"],
    ]
    # another process opening the same catalog sees the same ledger
    assert len(Catalog(f"sqlite:///{tmp_path / 'c.db'}").incident_events_frame()) == 2
