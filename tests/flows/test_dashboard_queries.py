"""The dashboard's queries on a backfilled warehouse, checked against the same numbers
computed with pandas from the raw `requests`, `incidents` and `quarantine` rows and the
catalog's ledger."""

import pandas as pd
import pytest

from flows.dashboard import queries
from flows.dashboard.queries import Filters
from flows.generate import generate
from flows.pipeline import backfill
from flows.settings import load_settings
from tests.helpers import one_file_a_day
from warehouse.query import query

pytestmark = pytest.mark.flows

END = pd.Timestamp("2026-11-04T00:00:00Z")
AS_OF = pd.Timestamp("2026-11-05T00:20:00Z").to_pydatetime()
BAD_LINE = "2026-11-03T10:00:01.000Z,/api/v1/orders,12.5,999,u1,checkout,us-east-1"


@pytest.fixture(scope="module")
def settings(prefect_harness, tmp_path_factory):
    """Four generated days of three endpoints, one file a day and one bad record, backfilled
    (the generator injects incidents from the third day on)."""
    root = tmp_path_factory.mktemp("dashboard")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOGCAST_HOME", str(root / "home"))
        patch.chdir(root)
        settings = load_settings()
        generate(
            days=4, endpoints=3, out_dir=settings.landing_dir, labels_path=settings.labels_path,
            end_day=END, seed=3,
        )  # fmt: skip
        one_file_a_day(settings.landing_dir)
        day = next(settings.landing_dir.glob("*2026-11-03*"))
        with day.open("a") as out:
            out.write(BAD_LINE + "\n")
        backfill(start=pd.Timestamp("2026-11-01").date(), end=END.date(), as_of=AS_OF)
        return settings


@pytest.fixture(scope="module")
def requests(settings):
    frame = query(settings.warehouse_dir, "SELECT * FROM requests")
    frame["hour_start"] = frame["ts"].dt.floor("h")
    frame["minute_start"] = frame["ts"].dt.floor("min")
    return frame


def test_the_newest_hour_and_a_preset_range_end_with_the_last_request(settings, requests):
    newest = queries.newest_hour(settings.warehouse_dir)
    assert newest == requests["hour_start"].max() == pd.Timestamp("2026-11-04T23:00Z")
    filters = queries.preset_filters(newest, "24h", "checkout")
    assert filters == Filters(
        pd.Timestamp("2026-11-04T00:00Z"), pd.Timestamp("2026-11-05T00:00Z"), "checkout", None
    )


def test_traffic_per_hour_is_the_requests_and_errors_of_the_raw_rows(settings, requests):
    filters = Filters(pd.Timestamp("2026-11-02T06:00Z"), pd.Timestamp("2026-11-03T18:00Z"))
    frame, sql = queries.traffic(settings.warehouse_dir, filters)
    rows = requests[
        (requests["hour_start"] >= filters.start) & (requests["hour_start"] < filters.end)
    ]
    expected = (
        rows.assign(error=rows["status_code"] >= 400)
        .groupby("hour_start")
        .agg(requests=("error", "size"), errors=("error", "sum"))
        .reset_index()
    )
    assert len(frame) == 36
    assert frame["hour_start"].tolist() == expected["hour_start"].tolist()
    assert frame["requests"].tolist() == expected["requests"].tolist()
    assert frame["errors"].tolist() == expected["errors"].tolist()
    assert frame["error_rate"].tolist() == pytest.approx(
        (expected["errors"] / expected["requests"]).tolist()
    )
    assert "FROM endpoint_hourly" in sql and "TIMESTAMPTZ '2026-11-02T06:00:00+00:00'" in sql
    assert query(settings.warehouse_dir, sql).equals(frame)  # the SQL shown is the SQL run


def test_status_mix_of_one_endpoint_counts_its_raw_status_codes(settings, requests):
    endpoint = requests["endpoint"].value_counts().index[0]
    service = requests.loc[requests["endpoint"] == endpoint, "service"].iloc[0]
    filters = Filters(
        pd.Timestamp("2026-11-01T00:00Z"), pd.Timestamp("2026-11-05T00:00Z"), service, endpoint
    )
    frame, _ = queries.status_mix(settings.warehouse_dir, filters)
    rows = requests[(requests["service"] == service) & (requests["endpoint"] == endpoint)]
    expected = rows.groupby("status_code").size()
    assert dict(zip(frame["status_code"], frame["requests"], strict=True)) == expected.to_dict()


def test_the_latency_band_is_one_forecast_series_with_its_anomalies(settings):
    filters = Filters(pd.Timestamp("2026-11-01T00:00Z"), pd.Timestamp("2026-11-05T00:00Z"))
    frame, _ = queries.latency_band(settings.warehouse_dir, filters)
    assert not frame.empty
    assert frame[["service", "endpoint"]].drop_duplicates().shape[0] == 1
    service, endpoint = frame["service"].iloc[0], frame["endpoint"].iloc[0]
    forecasts = query(
        settings.warehouse_dir, "SELECT * FROM forecasts WHERE metric = 'latency_p95_ms'"
    )
    # the most aggregate series modelled (a total when there is one), else the busiest
    weights = forecasts.groupby(["service", "endpoint"])["actual"].sum().reset_index()
    weights["order"] = list(
        zip(weights["service"] != "*", weights["endpoint"] != "*", -weights["actual"], strict=True)
    )
    best = weights.sort_values("order").iloc[0]
    assert (service, endpoint) == (best["service"], best["endpoint"])
    series = forecasts[(forecasts["service"] == service) & (forecasts["endpoint"] == endpoint)]
    series = series.sort_values("hour_start")
    assert frame["latency_p95_ms"].tolist() == series["actual"].tolist()
    assert frame["yhat_upper"].tolist() == series["yhat_upper"].tolist()
    assert frame["is_anomaly"].sum() == series["is_anomaly"].sum()


def test_incidents_are_those_overlapping_the_hours_open_first(settings):
    stored = query(settings.warehouse_dir, "SELECT * FROM incidents")
    assert not stored.empty
    filters = Filters(pd.Timestamp("2026-11-04T00:00Z"), pd.Timestamp("2026-11-05T00:00Z"))
    frame, _ = queries.incidents(settings.warehouse_dir, filters)
    overlapping = stored[
        ((stored["end"] > filters.start) & (stored["start"] < filters.end))
        | (stored["status"] == "open")
    ]
    assert sorted(frame["incident_id"]) == sorted(overlapping["incident_id"])
    statuses = frame["status"].tolist()
    assert statuses == sorted(statuses, key=lambda s: s != "open")


def test_an_incident_window_counts_its_endpoint_minute_by_minute(settings, requests):
    stored = query(settings.warehouse_dir, "SELECT * FROM incidents WHERE endpoint <> '*'")
    incident = stored.sort_values("start").iloc[0]
    frame, sql = queries.incident_window(settings.warehouse_dir, incident["incident_id"])
    since = incident["start"] - pd.Timedelta(hours=1)
    until = incident["end"] + pd.Timedelta(hours=1)
    endpoints = {incident["endpoint"], *str(incident["endpoints"]).split(",")}
    rows = requests[
        (requests["service"] == incident["service"])
        & requests["endpoint"].isin(endpoints)
        & (requests["minute_start"] >= since)
        & (requests["minute_start"] < until)
    ]
    expected = (
        rows.assign(error=rows["status_code"] >= 400)
        .groupby("minute_start")
        .agg(requests=("error", "size"), errors=("error", "sum"))
    )
    got = frame.set_index("minute_start")
    got = got[got["requests"] > 0]
    assert got.index.tolist() == expected.index.tolist()
    assert got["requests"].tolist() == expected["requests"].tolist()
    assert got["errors"].tolist() == expected["errors"].tolist()
    assert incident["incident_id"] in sql


def test_quarantine_by_reason_shows_the_bad_record(settings):
    frame, _ = queries.quarantine_reasons(settings.warehouse_dir)
    assert frame.to_dict("records") == [
        {"reason_code": "out_of_range_status_code", "records": 1, "files": 1, "example": BAD_LINE}
    ]


def test_files_and_runs_come_from_the_catalog(settings):
    files, sql = queries.files_ingested(settings.catalog_url)
    assert sorted(files["path"].map(lambda p: p.rsplit("/", 1)[-1])) == sorted(
        p.name for p in settings.landing_dir.iterdir()
    )
    assert files["records_read"].sum() == files["rows_kept"].sum() + 1
    assert files["rows_quarantined"].sum() == 1
    runs, _ = queries.last_runs(settings.catalog_url)
    assert not runs.empty and set(runs["status"]) <= {"completed", "COMPLETED", "failed"}
    assert "FROM files" in sql


def test_a_home_with_no_catalog_yet_has_no_files_and_creates_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    files, _ = queries.files_ingested(url)
    assert files.empty and not (tmp_path / "catalog.db").exists()
