"""The dashboard's queries on a backfilled warehouse, checked against the same numbers
computed with pandas from the raw `requests`, `incidents` and `quarantine` rows and the
catalog's ledger and quality results; and the demo's last words (its report, the dashboard
command)."""

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


def _in(rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    keep = (rows["hour_start"] >= filters.start) & (rows["hour_start"] < filters.end)
    if filters.service is not None:
        keep &= rows["service"] == filters.service
    if filters.endpoint is not None:
        keep &= rows["endpoint"] == filters.endpoint
    if filters.region is not None:
        keep &= rows["region"] == filters.region
    return rows[keep]


WHOLE = Filters(pd.Timestamp("2026-11-01T00:00Z"), pd.Timestamp("2026-11-05T00:00Z"))


def test_percentiles_of_several_endpoints_are_those_of_all_their_requests(settings, requests):
    filters = Filters(WHOLE.start, WHOLE.end, service=None)
    frame, sql = queries.percentiles(settings.warehouse_dir, filters)
    rows = _in(requests, filters).dropna(subset=["latency_ms"])
    expected = rows.groupby("hour_start")["latency_ms"].quantile([0.5, 0.95, 0.99]).unstack()
    assert frame["hour_start"].tolist() == expected.index.tolist()
    assert len(frame) == 96 and "FROM latency_sketches" in sql
    for column, q in queries.PERCENTILES.items():
        assert frame[column].to_numpy() == pytest.approx(expected[q].to_numpy(), rel=0.011)
    assert frame["timed_requests"].tolist() == rows.groupby("hour_start").size().tolist()
    overall, _ = queries.range_percentiles(settings.warehouse_dir, filters)
    assert overall["latency_p99_ms"].iloc[0] == pytest.approx(
        rows["latency_ms"].quantile(0.99), rel=0.011
    )
    assert overall["timed_requests"].iloc[0] == len(rows)


def test_percentiles_of_one_endpoint_are_its_exact_hourly_ones(settings, requests):
    service, endpoint = requests.iloc[0][["service", "endpoint"]]
    filters = Filters(WHOLE.start, WHOLE.end, service, endpoint)
    frame, sql = queries.percentiles(settings.warehouse_dir, filters)
    rows = _in(requests, filters).dropna(subset=["latency_ms"])
    expected = rows.groupby("hour_start")["latency_ms"].quantile([0.5, 0.99]).unstack()
    assert "FROM endpoint_hourly" in sql
    assert frame["latency_p50_ms"].to_numpy() == pytest.approx(expected[0.5].to_numpy())
    assert frame["latency_p99_ms"].to_numpy() == pytest.approx(expected[0.99].to_numpy())


def test_days_come_from_the_daily_table_and_match_the_raw_rows(settings, requests):
    service, endpoint = requests.iloc[0][["service", "endpoint"]]
    filters = Filters(pd.Timestamp("2026-11-02T06:00Z"), WHOLE.end, service, endpoint)
    frame, sql = queries.daily(settings.warehouse_dir, filters)
    rows = requests[(requests["service"] == service) & (requests["endpoint"] == endpoint)]
    rows = rows[rows["ts"] >= pd.Timestamp("2026-11-02T00:00Z")]
    by_day = rows.assign(day=rows["ts"].dt.floor("D"), error=rows["status_code"] >= 400)
    expected = by_day.groupby("day").agg(requests=("error", "size"), errors=("error", "sum"))
    assert "FROM endpoint_daily" in sql
    assert frame["day_start"].tolist() == expected.index.tolist()  # whole days it touches
    assert frame["requests"].tolist() == expected["requests"].tolist()
    assert frame["errors"].tolist() == expected["errors"].tolist()
    p95 = by_day.groupby("day")["latency_ms"].quantile(0.95)
    assert frame["latency_p95_ms"].to_numpy() == pytest.approx(p95.to_numpy(), rel=0.011)


def test_peak_hours_count_the_days_each_hour_was_the_busiest(settings, requests):
    for filters in (WHOLE, Filters(WHOLE.start, WHOLE.end, service="checkout")):
        frame, sql = queries.peak_hours(settings.warehouse_dir, filters)
        per_hour = _in(requests, filters).groupby("hour_start").size().rename("n").reset_index()
        per_hour["day"] = per_hour["hour_start"].dt.floor("D")
        per_hour["hour_of_day"] = per_hour["hour_start"].dt.hour
        busiest = per_hour.loc[per_hour.groupby("day")["n"].idxmax(), "hour_of_day"]
        mean = per_hour.groupby("hour_of_day")["n"].mean()
        assert frame["hour_of_day"].tolist() == list(range(24))
        assert frame["mean_requests"].to_numpy() == pytest.approx(mean.to_numpy())
        assert dict(zip(frame["hour_of_day"], frame["days_peak"], strict=True)) == {
            h: int((busiest == h).sum()) for h in range(24)
        }
        assert ("FROM traffic_hourly" in sql) == (filters.service is None)


def test_regions_and_the_region_filter_count_the_raw_rows_of_a_region(settings, requests):
    frame, _ = queries.regions(settings.warehouse_dir, WHOLE)
    rows = _in(requests, WHOLE)
    counts = rows.groupby("region").size()
    assert dict(zip(frame["region"], frame["requests"], strict=True)) == counts.to_dict()
    region = counts.index[0]
    errors = rows[rows["region"] == region]["status_code"] >= 400
    assert frame.set_index("region").loc[region, "error_rate"] == pytest.approx(errors.mean())

    filters = Filters(WHOLE.start, WHOLE.end, region=region)
    traffic, sql = queries.traffic(settings.warehouse_dir, filters)
    expected = (
        _in(requests, filters)
        .assign(error=lambda r: r["status_code"] >= 400)
        .groupby("hour_start")
        .agg(requests=("error", "size"), errors=("error", "sum"))
    )
    assert "FROM region_hourly" in sql
    assert traffic["requests"].tolist() == expected["requests"].tolist()
    assert traffic["errors"].tolist() == expected["errors"].tolist()
    assert queries.filter_problem(filters) is None
    assert queries.filter_problem(Filters(WHOLE.start, WHOLE.end, "checkout", region=region))
    choices, _ = queries.breakdowns(settings.warehouse_dir)
    assert sorted(choices.loc[choices["kind"] == "region", "dimension"]) == sorted(counts.index)


def test_an_incident_window_against_the_day_before_shows_the_mix_that_moved(settings, requests):
    stored = query(settings.warehouse_dir, "SELECT * FROM incidents WHERE endpoint <> '*'")
    incident = stored.sort_values("start").iloc[0]
    frame, sql = queries.incident_dimensions(settings.warehouse_dir, incident["incident_id"])
    rows = requests[
        (requests["service"] == incident["service"])
        & (requests["endpoint"] == incident["endpoint"])
        & (requests["hour_start"] >= incident["start"] - pd.Timedelta(hours=24))
        & (requests["hour_start"] < incident["end"])
    ]
    during = rows["hour_start"] >= incident["start"]
    window = rows[during]["status_code"].value_counts(normalize=True)
    before = rows[~during]["status_code"].value_counts(normalize=True)
    change = window.sub(before, fill_value=0)
    codes = frame[frame["dimension"] == "status_code"].set_index("value")
    assert sorted(codes.index) == sorted(str(c) for c in change.index)
    for code, moved in change.items():
        assert codes.loc[str(code), "share_change"] == pytest.approx(moved)
    assert codes["share_change"].abs().is_monotonic_decreasing
    regions = frame[frame["dimension"] == "region (all services)"]
    everywhere = requests[
        (requests["hour_start"] >= incident["start"]) & (requests["hour_start"] < incident["end"])
    ]
    assert regions["window_requests"].sum() == len(everywhere)
    assert incident["incident_id"] in sql


def test_quality_checks_are_the_newest_result_of_each_partition_check(settings):
    import sqlalchemy as sa

    frame, sql = queries.quality_checks(settings.catalog_url)
    engine = sa.create_engine(settings.catalog_url)
    with engine.connect() as conn:
        stored = pd.read_sql("SELECT * FROM quality_results", conn)
    engine.dispose()
    newest = (
        stored.sort_values("checked_at").groupby(["table_name", "partition", "expectation"]).tail(1)
    )
    expected = newest.groupby(["table_name", "expectation"]).size()
    assert not frame.empty
    got = frame.set_index(["table_name", "expectation"])["partitions"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert frame["failed"].sum() == (~newest["success"].astype(bool)).sum()
    assert "FROM quality_results" in sql


def test_the_demo_ends_with_the_daily_report_and_the_command_that_opens_the_dashboard(
    settings, capsys
):
    from flows.demo import show_result

    path = show_result(settings)
    said = capsys.readouterr().out.strip().splitlines()
    assert path is not None and path.is_file() and "2026-11-04" in path.name
    assert f"Daily report of 2026-11-04: {path}" in said
    assert said[-2] == "Open the dashboard on the demo data (then http://127.0.0.1:8050/):"
    home, logcast, command = said[-1].split()
    assert home == f"LOGCAST_HOME={settings.home.resolve()}"
    assert logcast.endswith("logcast") and command == "dashboard"
