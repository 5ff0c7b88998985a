"""The flows under one session-wide Prefect test server."""

import pandas as pd
import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.generate import generate
from flows.pipeline import BadInputError, backfill, hourly, ingest
from flows.settings import load_settings
from warehouse.catalog import Catalog
from warehouse.query import query

END = pd.Timestamp("2026-11-04T00:00:00Z")


@pytest.fixture(scope="module", autouse=True)
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    generate(
        days=4, endpoints=3, out_dir=settings.landing_dir, labels_path=settings.labels_path,
        end_day=END, seed=3,
    )  # fmt: skip
    return settings


def table(settings, name, order):
    return query(
        settings.warehouse_dir, f"SELECT * EXCLUDE (date, hour) FROM {name} ORDER BY {order}"
    )


def test_backfill_is_idempotent(home):
    first = backfill(start=pd.Timestamp("2026-11-01").date(), end=END.date())
    assert first["files"]["ingested"] == 96
    assert first["hours_rebuilt"] == 96
    hourly_rows = table(home, "endpoint_hourly", "hour_start, service, endpoint")
    forecasts = table(home, "forecasts", "hour_start, service, endpoint, metric")
    assert forecasts["hour_start"].min() >= pd.Timestamp(
        "2026-11-02T00:00Z"
    )  # day 1 has no history
    second = backfill(start=pd.Timestamp("2026-11-01").date(), end=END.date())
    assert second["files"] == {**second["files"], "ingested": 0, "skipped": 96}
    pd.testing.assert_frame_equal(
        table(home, "endpoint_hourly", "hour_start, service, endpoint"), hourly_rows
    )
    pd.testing.assert_frame_equal(
        table(home, "forecasts", "hour_start, service, endpoint, metric"), forecasts
    )
    # at most one file per metric partition
    for name in ("endpoint_hourly", "forecasts"):
        for partition in (home.warehouse_dir / name).glob("date=*/hour=*"):
            assert [p.name for p in partition.iterdir()] == ["part-0.parquet"]


def test_late_file_dirties_its_hour_and_hourly_recomputes_and_rescores_it(home):
    backfill(start=pd.Timestamp("2026-11-03").date(), end=pd.Timestamp("2026-11-03").date())
    catalog = Catalog(home.catalog_url)
    assert catalog.dirty_hours() == []
    late_hour = "TIMESTAMPTZ '2026-11-03 10:00:00+00'"
    before = query(
        home.warehouse_dir,
        f"SELECT service, endpoint, requests FROM endpoint_hourly WHERE hour_start = {late_hour} ORDER BY endpoint LIMIT 1",
    ).iloc[0]
    late = home.landing_dir / "late" / "api-late.csv"
    late.parent.mkdir()
    late.write_text(
        "timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"
        f"2026-11-03T10:15:00Z,{before['endpoint']},12.0,200,u1,{before['service']},eu-west-1\n"
        f"2026-11-03T10:16:00Z,{before['endpoint']},-1,200,u1,{before['service']},eu-west-1\n"
    )
    summary = hourly(hour=pd.Timestamp("2026-11-04T12:00Z").to_pydatetime())
    assert summary["files"]["ingested"] == 1 and summary["files"]["rows_quarantined"] == 1
    assert summary["hours_rebuilt"] == 1 and summary["hours_rescored"] == 1
    after = query(
        home.warehouse_dir,
        f"SELECT requests FROM endpoint_hourly WHERE hour_start = {late_hour} AND endpoint = '{before['endpoint']}'",
    )["requests"].iloc[0]
    assert after == before["requests"] + 1
    rescored = query(
        home.warehouse_dir,
        f"SELECT actual FROM forecasts WHERE hour_start = {late_hour} AND endpoint = '{before['endpoint']}' AND metric = 'requests'",
    )["actual"].iloc[0]
    assert rescored == after
    scored = query(
        home.warehouse_dir,
        "SELECT DISTINCT hour_start FROM forecasts WHERE hour_start >= TIMESTAMPTZ '2026-11-04 00:00:00+00'",
    )
    assert scored["hour_start"].tolist() == [pd.Timestamp("2026-11-04T12:00Z")]
    assert catalog.dirty_hours() == []


def configured_landing(tmp_path, monkeypatch, config: str, *lines: str):
    """A home of its own with `logcast.toml` = config and one landing CSV of `lines`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "home"))
    (tmp_path / "logcast.toml").write_text(config)
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    (settings.landing_dir / "a.csv").write_text(
        "timestamp,endpoint,response_time_ms,status_code,user_id\n"
        + "".join(f"{line}\n" for line in lines)
    )
    return settings


def test_a_source_over_its_bad_fraction_fails_the_run_but_keeps_everything(tmp_path, monkeypatch):
    settings = configured_landing(
        tmp_path,
        monkeypatch,
        '[sources.strict]\npaths = ["*.csv"]\nmax_bad_fraction = 0.1\n',
        "2026-11-01T10:00:00Z,/a,5,200,u",
        "2026-11-01T10:00:01Z,/a,-5,200,u",
    )
    with pytest.raises(
        BadInputError,
        match=r"source 'strict': 1 of 2 records quarantined \(50.0%\), above its max_bad_fraction of 10.0%",
    ):
        ingest()
    counts = query(
        settings.warehouse_dir,
        "SELECT (SELECT count(*) FROM requests) AS kept, (SELECT count(*) FROM quarantine) AS bad",
    )
    assert counts.to_dict("records") == [{"kept": 1, "bad": 1}]


def test_endpoint_cap_is_a_warning_in_the_run_summary(tmp_path, monkeypatch):
    settings = configured_landing(
        tmp_path,
        monkeypatch,
        '[sources.capped]\npaths = ["*.csv"]\nmax_endpoints = 1\n',
        "2026-11-01T10:00:00Z,/a,5,200,u",
        "2026-11-01T10:00:01Z,/a,6,200,u",
        "2026-11-01T10:00:02Z,/b,7,200,u",
    )
    summary = ingest()
    assert len(summary["files"]["warnings"]) == 1
    assert "endpoint cap of 1 reached for source 'capped'" in summary["files"]["warnings"][0]
    endpoints = query(
        settings.warehouse_dir, "SELECT endpoint, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1"
    )
    assert endpoints.to_dict("records") == [
        {"endpoint": "/a", "n": 2},
        {"endpoint": "{other}", "n": 1},
    ]
