"""Retention removes whole expired partitions and records them; the sweep removes only stale
temporary files."""

import os

import pandas as pd
import pytest

from flows.settings import SettingsError, load_settings
from warehouse.catalog import Catalog
from warehouse.layout import Layout
from warehouse.retention import enforce_retention, sweep_temporary_files
from warehouse.storage import write_parquet

pytestmark = pytest.mark.clock

NEWEST = "date=2026-11-22/hour=10"
"""The newest partition: retention counts back from its day, 2026-11-22."""


@pytest.fixture
def warehouse(tmp_path):
    layout = Layout(tmp_path / "warehouse")
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    frame = pd.DataFrame({"x": [1, 2, 3]})
    for day in ("2026-10-21", "2026-10-22", "2026-10-23"):
        for hour in ("00", "23"):
            partition = f"date={day}/hour={hour}"
            written = write_parquet(frame, layout.part_file("requests", partition))
            catalog.record_partition("requests", partition, written, "seed")
            write_parquet(frame, layout.part_file("endpoint_hourly", partition))
    written = write_parquet(frame, layout.part_file("requests", NEWEST))
    catalog.record_partition("requests", NEWEST, written, "seed")
    return layout, catalog


def test_partitions_older_than_the_retention_go_and_are_recorded(warehouse):
    layout, catalog = warehouse
    result = enforce_retention(layout, catalog, {"requests": 30}, run_id="r1")
    # the newest data is of 2026-11-22: 30 days keep 2026-10-23 onwards
    assert result.newest == pd.Timestamp("2026-11-22T11:00Z")
    assert result.cutoffs == {"requests": pd.Timestamp("2026-10-23T00:00Z")}
    assert [(r.table, r.partition, r.rows) for r in result.removed] == [
        ("requests", "date=2026-10-21/hour=00", 3),
        ("requests", "date=2026-10-21/hour=23", 3),
        ("requests", "date=2026-10-22/hour=00", 3),
        ("requests", "date=2026-10-22/hour=23", 3),
    ]
    left = sorted(
        p.parent.relative_to(layout.root).as_posix() for p in layout.root.rglob("*.parquet")
    )
    assert [p for p in left if p.startswith("requests")] == [
        "requests/date=2026-10-23/hour=00",
        "requests/date=2026-10-23/hour=23",
        f"requests/{NEWEST}",
    ]
    assert len([p for p in left if p.startswith("endpoint_hourly")]) == 6  # metric tables kept
    assert not (layout.root / "requests" / "date=2026-10-21").exists()  # no empty folders
    log = catalog.retention_frame()
    assert log["partition"].tolist()[0] == "date=2026-10-21/hour=00"
    assert set(log["run_id"]) == {"r1"} and log["rows"].sum() == 12
    assert catalog.retired_partitions("requests") == set(log["partition"])
    assert set(catalog.partitions_frame()["partition"]) == {
        "date=2026-10-23/hour=00",
        "date=2026-10-23/hour=23",
        NEWEST,
    }
    again = enforce_retention(layout, catalog, {"requests": 30}, run_id="r2")
    assert again.removed == [] and again.kept == []


def test_zero_days_keeps_a_table_for_good(warehouse):
    layout, catalog = warehouse
    assert enforce_retention(layout, catalog, {"requests": 0}, run_id="r").removed == []


def test_age_counts_from_the_newest_data_not_the_clock(tmp_path):
    """Logs of years ago, alone in the warehouse, are all kept whatever today's date."""
    layout = Layout(tmp_path / "warehouse")
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    for day in ("2015-03-01", "2015-03-20", "2015-03-31"):
        write_parquet(pd.DataFrame({"x": [1]}), layout.part_file("requests", f"date={day}/hour=12"))
    result = enforce_retention(layout, catalog, {"requests": 30}, run_id="r")
    assert result.newest == pd.Timestamp("2015-03-31T13:00Z") and result.removed == []
    result = enforce_retention(layout, catalog, {"requests": 20}, run_id="r")
    assert [r.partition for r in result.removed] == ["date=2015-03-01/hour=12"]


def test_what_the_running_flow_wrote_is_kept_and_reported(warehouse):
    layout, catalog = warehouse
    mine = {("requests", "date=2026-10-21/hour=00"), ("requests", "date=2026-10-22/hour=23")}
    result = enforce_retention(layout, catalog, {"requests": 30}, run_id="r1", keep=mine)
    assert sorted(result.kept) == sorted(mine)
    assert [r.partition for r in result.removed] == [
        "date=2026-10-21/hour=23",
        "date=2026-10-22/hour=00",
    ]
    later = enforce_retention(layout, catalog, {"requests": 30}, run_id="r2")
    assert sorted(r.partition for r in later.removed) == sorted(p for _, p in mine)


def test_an_empty_warehouse_has_nothing_to_remove(tmp_path):
    layout = Layout(tmp_path / "warehouse")
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    result = enforce_retention(layout, catalog, {"requests": 1}, run_id="r")
    assert result.newest is None and result.removed == []


def test_retention_settings_are_checked(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text("[retention]\nrequests = 7\nquarantine = 90\n")
    settings = load_settings(environ={}, config_file=config)
    assert settings.retention == {"quarantine": 90, "requests": 7}
    assert load_settings(environ={}, config_file=tmp_path / "none.toml").retention == {
        "requests": 30
    }
    config.write_text("[retention]\nrequest = 7\n")
    with pytest.raises(SettingsError, match="retention.request: unknown table"):
        load_settings(environ={}, config_file=config)
    config.write_text("[retention]\nrequests = -1\n")
    with pytest.raises(SettingsError, match="whole number of days"):
        load_settings(environ={}, config_file=config)


def test_sweep_removes_only_stale_temporary_files(tmp_path):
    folder = tmp_path / "endpoint_hourly" / "date=2026-11-01" / "hour=10"
    folder.mkdir(parents=True)
    stale = folder / ".part-0.parquet.123.abcd.tmp"
    fresh = folder / ".part-0.parquet.456.ef01.tmp"
    data = folder / "part-0.parquet"
    for path in (stale, fresh, data):
        path.write_bytes(b"x")
    old = fresh.stat().st_mtime - 7200  # the filesystem's clock, which the sweep reads
    os.utime(stale, (old, old))
    os.utime(data, (old, old))
    assert sweep_temporary_files(tmp_path) == [stale]
    assert fresh.exists() and data.exists() and not stale.exists()
