"""The flows under one session-wide Prefect test server."""

import re
import shutil

import pandas as pd
import pytest

from flows.compute import score_hours
from flows.generate import generate
from flows.pipeline import BadInputError, backfill, hourly, ingest
from flows.settings import load_settings
from schemas.catalog import TABLES as TABLE_SPECS
from tests.helpers import one_file_a_day
from transforms.incidents import incidents
from warehouse.catalog import Catalog
from warehouse.layout import DAILY_TABLES
from warehouse.layout import TABLES as STORED
from warehouse.quality import QualityError
from warehouse.query import query

pytestmark = pytest.mark.flows

END = pd.Timestamp("2026-11-04T00:00:00Z")
AS_OF = pd.Timestamp("2026-11-04T13:05:00Z").to_pydatetime()
"""When the runs happen: the suite does not depend on today's date."""
AFTER_END = pd.Timestamp("2026-11-05T00:20:00Z").to_pydatetime()
"""A run once the last generated day is over."""


def generated_home(root, patch):
    """`root`/home as LOGCAST_HOME (the working directory `root`) with four generated days of
    three endpoints landed in it, one file a day."""
    patch.setenv("LOGCAST_HOME", str(root / "home"))
    patch.chdir(root)
    settings = load_settings()
    generate(
        days=4, endpoints=3, out_dir=settings.landing_dir, labels_path=settings.labels_path,
        end_day=END, seed=3,
    )  # fmt: skip
    one_file_a_day(settings.landing_dir)
    return settings


@pytest.fixture(scope="module")
def three_days(prefect_harness, tmp_path_factory):
    """A `generated_home` with its first three days backfilled, kept aside untouched;
    `backfilled` gives each test a fresh copy of it."""
    root = tmp_path_factory.mktemp("pipeline")
    with pytest.MonkeyPatch.context() as patch:
        generated_home(root, patch)
        backfill(
            start=pd.Timestamp("2026-11-01").date(),
            end=pd.Timestamp("2026-11-03").date(),
            as_of=AS_OF,
        )
    shutil.copytree(root / "home", root / "untouched")
    return root


@pytest.fixture
def backfilled(three_days, monkeypatch):
    """A fresh copy of `three_days`' home, at the path it was made at (the catalog and the
    analysts' views hold absolute paths)."""
    home = three_days / "home"
    shutil.rmtree(home)
    shutil.copytree(three_days / "untouched", home)
    monkeypatch.setenv("LOGCAST_HOME", str(home))
    monkeypatch.chdir(three_days)
    return load_settings()


def table(settings, name, order):
    return query(
        settings.warehouse_dir,
        f"SELECT * EXCLUDE ({'date' if name in DAILY_TABLES else 'date, hour'}) FROM {name} "
        f"ORDER BY {order}",
    )


def test_backfill_is_idempotent(backfilled):
    """On the three backfilled days: a backfill of all four does only the fourth, a second one
    does nothing, and a forced one of the last day fits its models again and gives the same
    rows."""
    home = backfilled
    first = backfill(start=pd.Timestamp("2026-11-01").date(), end=END.date(), as_of=AFTER_END)
    assert first["files"] == {**first["files"], "ingested": 0, "skipped": 4}
    assert first["days_skipped"] == 3 and first["hours_rebuilt"] == 24
    hourly_rows = table(home, "endpoint_hourly", "hour_start, service, endpoint")
    forecasts = table(home, "forecasts", "hour_start, service, endpoint, metric")
    before = {
        spec.name: table(
            home,
            spec.name,
            ", ".join(list(getattr(spec.model.Config, "unique", None) or []) or ["ALL"]),
        )
        for spec in TABLE_SPECS
        if (home.warehouse_dir / spec.name).exists()
    }
    assert {"endpoint_minutely", "endpoint_daily", "traffic_hourly", "status_hourly"} <= set(before)
    assert forecasts["hour_start"].min() >= pd.Timestamp(
        "2026-11-02T00:00Z"
    )  # day 1 has no history
    assert forecasts["hour_start"].max() == pd.Timestamp("2026-11-04T23:00Z")
    second = backfill(start=pd.Timestamp("2026-11-01").date(), end=END.date(), as_of=AFTER_END)
    assert second["files"] == {**second["files"], "ingested": 0, "skipped": 4}
    # every day is done: nothing to recompute, nothing to score
    assert second["days_skipped"] == 4 and second["hours_rebuilt"] == 0
    assert second["forecasts"] == 0
    # one catalog row per fitted series and day, fitted once
    models = Catalog(home.catalog_url).models_frame()
    assert len(models) == first["series"] * 3 == len(models.drop_duplicates(
        ["service", "endpoint", "metric", "trained_through"]
    ))  # fmt: skip
    assert sorted(models["trained_through"].unique()) == [
        "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"
    ]  # fmt: skip
    assert (models["fit_seconds"] > 0).all() and set(models["method"]) <= {"prophet", "baseline"}
    assert models["run_id"].nunique() == 2  # the three days' backfill, then this one
    assert first["series_skipped"] == 0
    # forced: the last day recomputed, its models fitted again, and the same rows as before
    third = backfill(start=END.date(), end=END.date(), force=True, as_of=AFTER_END)
    assert third["days_skipped"] == 0 and third["hours_rebuilt"] == 24
    assert third["quality"]["checks"] > 0 and third["quality"]["failed"] == 0
    refitted = Catalog(home.catalog_url).models_frame()
    last_day = refitted["trained_through"] == "2026-11-04T00:00:00Z"
    assert refitted.loc[last_day, "fitted_at"].min() > models["fitted_at"].max()
    assert (refitted.loc[~last_day, "fitted_at"] <= models["fitted_at"].max()).all()
    pd.testing.assert_frame_equal(
        table(home, "endpoint_hourly", "hour_start, service, endpoint"), hourly_rows
    )
    pd.testing.assert_frame_equal(
        table(home, "forecasts", "hour_start, service, endpoint, metric"), forecasts
    )
    # every table: the same rows again, and one file per partition
    for spec in TABLE_SPECS:
        if (home.warehouse_dir / spec.name).exists():
            grain = list(getattr(spec.model.Config, "unique", None) or []) or ["ALL"]
            pd.testing.assert_frame_equal(
                table(home, spec.name, ", ".join(grain)), before[spec.name], obj=spec.name
            )
    for name in STORED:
        for partition in (home.warehouse_dir / name).glob("date=*/**/"):
            files = sorted(p.name for p in partition.iterdir() if p.is_file())
            assert files in ([], ["part-0.parquet"]), (name, partition, files)
    assert not list(home.warehouse_dir.glob("_staging/**/*.parquet"))
    # nothing lost, nothing twice: the stored requests are the rows the ledger kept
    kept = (
        Catalog(home.catalog_url)
        .engine.connect()
        .exec_driver_sql("SELECT sum(rows_kept) FROM files")
        .scalar()
    )
    counted = query(
        home.warehouse_dir,
        "SELECT count(*) AS n, count(DISTINCT (file_id, ts, endpoint, user_id)) AS d FROM requests",
    ).iloc[0]
    assert counted["n"] == kept == counted["d"]


def test_scoring_hour_by_hour_gives_the_rows_of_the_backfill(backfilled):
    home = backfilled
    orders = {
        "forecasts": "hour_start, service, endpoint, metric",
        "anomalies": "hour_start, service, endpoint, metric",
        "incidents": "service, endpoint, start",
    }
    before = {name: table(home, name, order) for name, order in orders.items()}
    forecasts = before["forecasts"]
    assert {("*", "*")} <= set(zip(forecasts["service"], forecasts["endpoint"], strict=True))
    assert len(before["anomalies"]) > 0 and len(before["incidents"]) > 0
    # the last day again, one hour at a time as the hourly runs score it
    day = pd.Timestamp("2026-11-03T00:00Z")
    for hour in pd.date_range(day, periods=24, freq="h"):
        score_hours(day, pd.DatetimeIndex([hour]), settings=home, run_id="hour-by-hour")
    for name, order in orders.items():
        pd.testing.assert_frame_equal(table(home, name, order), before[name], obj=name)
    # the incidents partitions hold what the whole anomalies table gives, with the mixes the
    # pipeline reads (statuses and regions: their values are all tested for attribution)
    assert not (home.warehouse_dir / "error_reasons_hourly").exists()  # the CSVs have none
    assert not (home.warehouse_dir / "dimension_hourly").exists()  # no source configures one
    whole = incidents(
        before["anomalies"],
        table(home, "status_hourly", "hour_start"),
        newest_hour=forecasts["hour_start"].max(),
        region_hourly=table(home, "region_hourly", "hour_start"),
    )
    assert whole["probable_cause"].str.len().min() > 0
    pd.testing.assert_frame_equal(
        before["incidents"], whole, check_dtype=False, obj="incidents from all anomalies"
    )


def test_late_file_dirties_its_hour_and_hourly_recomputes_and_rescores_it(backfilled):
    home = backfilled
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
    summary = hourly(hour=pd.Timestamp("2026-11-04T12:00Z").to_pydatetime(), as_of=AS_OF)
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
        ingest(as_of=AS_OF)
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
    summary = ingest(as_of=AS_OF)
    assert len(summary["files"]["warnings"]) == 1
    assert "endpoint cap of 1 reached for source 'capped'" in summary["files"]["warnings"][0]
    endpoints = query(
        settings.warehouse_dir, "SELECT endpoint, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1"
    )
    assert endpoints.to_dict("records") == [
        {"endpoint": "/a", "n": 2},
        {"endpoint": "{other}", "n": 1},
    ]


def test_extra_columns_are_kept_as_attributes_and_dimensions_break_requests_down(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "home"))
    (tmp_path / "logcast.toml").write_text(
        '[sources.docs]\npaths = ["*.csv"]\ndimensions = ["document_type"]\n'
    )
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    (settings.landing_dir / "a.csv").write_text(
        "timestamp,endpoint,response_time_ms,status_code,user_id,document_type,page_count\n"
        "2026-11-01T10:00:00Z,/scan,100,200,u1,invoice,3\n"
        "2026-11-01T10:00:01Z,/scan,300,500,u2,invoice,\n"
        "2026-11-01T10:00:02Z,/scan,50,200,u1,receipt,1\n"
        "2026-11-01T10:00:03Z,/scan,70,200,u1,,\n"
    )
    ingest(as_of=AS_OF)
    attributes = query(
        settings.warehouse_dir,
        "SELECT attributes->>'document_type' AS kind, attributes->>'page_count' AS pages "
        "FROM requests ORDER BY ts",
    )
    assert attributes.fillna("null").to_dict("list") == {
        "kind": ["invoice", "invoice", "receipt", "null"],
        "pages": ["3", "null", "1", "null"],
    }
    table = query(
        settings.warehouse_dir,
        "SELECT endpoint, dimension, value, requests, error_rate, latency_p95_ms "
        "FROM dimension_hourly ORDER BY value",
    )
    assert table.to_dict("records") == [
        {"endpoint": "/scan", "dimension": "document_type", "value": "invoice", "requests": 2,
         "error_rate": 0.5, "latency_p95_ms": pytest.approx(100 + 0.95 * 200)},
        {"endpoint": "/scan", "dimension": "document_type", "value": "receipt", "requests": 1,
         "error_rate": 0.0, "latency_p95_ms": 50.0},
    ]  # fmt: skip


def test_a_variety_fold_is_a_warning_in_the_run_summary(tmp_path, monkeypatch):
    settings = configured_landing(
        tmp_path,
        monkeypatch,
        '[sources.blog]\npaths = ["*.csv"]\nfold_variety = 2\n',
        "2026-11-01T10:00:00Z,/tags/cats,5,200,u",
        "2026-11-01T10:00:01Z,/tags/dogs,6,200,u",
        "2026-11-01T10:00:02Z,/tags/birds,7,200,u",
        "2026-11-01T10:00:03Z,/about,7,200,u",
    )
    summary = ingest(as_of=AS_OF)
    assert summary["files"]["warnings"] == [
        f"{settings.landing_dir.resolve() / 'a.csv'}: endpoints folded by variety for source "
        "'blog': /tags/{var} (more than 2 distinct values under the same parent)"
    ]
    endpoints = query(
        settings.warehouse_dir, "SELECT endpoint, count(*) AS n FROM requests GROUP BY 1 ORDER BY 1"
    )
    assert endpoints.to_dict("records") == [
        {"endpoint": "/about", "n": 1},
        {"endpoint": "/tags/{var}", "n": 3},
    ]


@pytest.mark.parametrize(
    ("defect", "expected"),
    [
        # Great Expectations: the hour's requests no longer add up to its request rows
        ({"requests": lambda f: f["requests"] + 1}, ["sum(requests) = requests rows"]),
        # a rate above 1: both the Pandera model and Great Expectations catch it
        (
            {"error_rate": 1.5},
            ["error_rate between 0 and 1", "schema: error_rate less_than_or_equal_to(1)"],
        ),
    ],
    ids=["great-expectations", "pandera"],
)
def test_a_failed_check_fails_the_run_naming_it_and_publishes_nothing(
    tmp_path, monkeypatch, defect, expected
):
    from flows import compute

    settings = configured_landing(
        tmp_path,
        monkeypatch,
        "",
        "2026-11-01T10:00:00Z,/a,5,200,u",
        "2026-11-01T10:20:00Z,/a,7,500,u",
    )
    real = compute.hourly_tables

    def broken(*args, **kwargs):  # a defect in a transform
        tables = real(*args, **kwargs)
        tables["endpoint_hourly"] = tables["endpoint_hourly"].assign(**defect)
        return tables

    monkeypatch.setattr(compute, "hourly_tables", broken)
    with pytest.raises(
        QualityError, match=rf"endpoint_hourly date=2026-11-01/hour=10: {re.escape(expected[-1])}"
    ):
        ingest(as_of=AS_OF)
    assert not (settings.warehouse_dir / "endpoint_hourly").exists()
    assert not (settings.warehouse_dir / "endpoint_minutely").exists()  # same task: held back
    results = Catalog(settings.catalog_url).quality_frame()
    failed = results[~results["success"]]
    assert sorted(failed[["table_name", "partition", "expectation"]].values.tolist()) == [
        ["endpoint_hourly", "date=2026-11-01/hour=10", expectation] for expectation in expected
    ]
    assert results["success"].sum() > 10  # every other check is recorded too
    runs = (
        Catalog(settings.catalog_url)
        .engine.connect()
        .exec_driver_sql("SELECT status, summary FROM runs")
        .fetchall()
    )
    assert runs[0][0] == "failed" and all(e in runs[0][1] for e in expected)


def test_retention_removes_old_requests_and_keeps_their_metrics(tmp_path, monkeypatch):
    """Default retention (30 days of requests, counted back from the newest data): a run that
    brings newer data removes what is past it, the metric tables stay."""
    old = pd.Timestamp("2026-09-20T10:00:00Z")
    recent = pd.Timestamp("2026-11-03T10:00:00Z")
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    settings = configured_landing(
        tmp_path,
        monkeypatch,
        "",  # default retention: requests 30 days
        f"{old:{stamp}},/a,5,200,u",
        f"{old + pd.Timedelta(minutes=1):{stamp}},/a,6,200,u",
    )
    first = ingest(as_of=AS_OF)
    assert first["retention"]["partitions"] == {}  # alone in the warehouse, it is kept
    (settings.landing_dir / "b.csv").write_text(
        f"timestamp,endpoint,response_time_ms,status_code,user_id\n{recent:{stamp}},/a,7,200,u\n"
    )
    summary = ingest(as_of=AS_OF)
    assert summary["retention"]["partitions"] == {"requests": 1}
    assert summary["retention"]["rows"] == 2
    assert summary["retention"]["older_than"] == {"requests": "2026-10-04"}
    old_partition = f"date={old:%Y-%m-%d}/hour=10"
    assert not (settings.warehouse_dir / "requests" / old_partition).exists()
    assert (settings.warehouse_dir / "requests" / f"date={recent:%Y-%m-%d}/hour=10").exists()
    log = Catalog(settings.catalog_url).retention_frame()
    assert log[["table_name", "partition", "rows"]].values.tolist() == [
        ["requests", old_partition, 2]
    ]
    metrics = "SELECT hour_start, requests FROM endpoint_hourly ORDER BY 1"
    before = query(settings.warehouse_dir, metrics)
    assert before["requests"].tolist() == [2, 1]
    # a late file for the retired hour: its metrics are not rebuilt from the one new row
    (settings.landing_dir / "late.csv").write_text(
        "timestamp,endpoint,response_time_ms,status_code,user_id\n"
        f"{old + pd.Timedelta(minutes=5):{stamp}},/a,8,200,u\n"
    )
    ingest(as_of=AS_OF)
    pd.testing.assert_frame_equal(query(settings.warehouse_dir, metrics), before)
