"""Backfills: resuming after a stop, progress, retries of a transient IO failure, and two
runs on the same days at once."""

import errno
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from flows import pipeline, tasks
from flows.generate import generate
from flows.pipeline import backfill, ingest
from flows.settings import load_settings
from tests.helpers import one_file_a_day, warehouse_tables
from warehouse import publish
from warehouse.catalog import Catalog

pytestmark = pytest.mark.flows

END = pd.Timestamp("2026-11-03T00:00:00Z")
AS_OF = pd.Timestamp("2026-11-04T00:20:00Z").to_pydatetime()
"""When the runs happen: the suite does not depend on today's date."""
DAYS = [pd.Timestamp(d, tz="UTC") for d in ("2026-11-01", "2026-11-02", "2026-11-03")]
ORDERS = {
    "endpoint_hourly": "hour_start, service, endpoint",
    "endpoint_daily": "day_start, service, endpoint",
    "forecasts": "hour_start, service, endpoint, metric",
    "anomalies": "hour_start, service, endpoint, metric",
    "incidents": "service, endpoint, start",
}


def make_home(path: Path, monkeypatch, days: int = 3, hourly_files: bool = False):
    """A home with `days` generated days of three endpoints up to END, landed as one file a
    day (the days are what these tests look at), or as the generator's hourly files."""
    monkeypatch.setenv("LOGCAST_HOME", str(path))
    settings = load_settings()
    generate(
        days=days, endpoints=3, out_dir=settings.landing_dir, labels_path=settings.labels_path,
        end_day=END, seed=11,
    )  # fmt: skip
    if not hourly_files:
        one_file_a_day(settings.landing_dir)
    return settings


def tables(settings) -> dict[str, pd.DataFrame]:
    return warehouse_tables(settings.warehouse_dir, ORDERS, partition_columns=False)


@pytest.fixture(scope="module")
def clean_home(prefect_harness, tmp_path_factory):
    """The home of one uninterrupted backfill of the three days, and its tables then."""
    home = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as patch:
        settings = make_home(home, patch)
        backfill(start=DAYS[0].date(), end=DAYS[-1].date(), as_of=AS_OF)
        return home, tables(settings)


@pytest.fixture
def clean(clean_home):
    """The tables of one uninterrupted backfill of the three days."""
    return clean_home[1]


def test_a_backfill_stopped_half_way_resumes_where_it_stopped(clean, tmp_path, monkeypatch):
    settings = make_home(tmp_path / "home", monkeypatch)
    real = tasks.score_hours

    def broken_on_the_last_day(day, hours, **options):
        if pd.Timestamp(day) == DAYS[-1]:
            raise OSError(errno.EIO, "Input/output error", "warehouse/forecasts")
        return real(day, hours, **options)

    monkeypatch.setattr(tasks, "score_hours", broken_on_the_last_day)
    with pytest.raises(OSError, match="Input/output error"):
        backfill(start=DAYS[0].date(), end=DAYS[-1].date(), as_of=AS_OF)
    catalog = Catalog(settings.catalog_url)
    assert catalog.finished_days(DAYS) == set(DAYS[:2])

    monkeypatch.setattr(tasks, "score_hours", real)
    seen: list[tuple[int, int, str]] = []
    pipeline.PROGRESS_LISTENERS.append(lambda *step: seen.append(step))
    try:
        summary = backfill(start=DAYS[0].date(), end=DAYS[-1].date(), as_of=AS_OF)
    finally:
        pipeline.PROGRESS_LISTENERS.clear()
    assert summary["days_skipped"] == 2 and summary["hours_rebuilt"] == 24
    assert catalog.finished_days(DAYS) == set(DAYS)
    # progress: recomputed the last day, scored it, done
    assert [label for _, _, label in seen] == [
        "started",
        "recomputed 2026-11-03",
        "scored 2026-11-03",
    ]
    assert seen[-1][0] == seen[-1][1] == 2
    resumed = tables(settings)
    assert set(resumed) == set(clean)
    for name, frame in clean.items():
        pd.testing.assert_frame_equal(resumed[name], frame, obj=name)


def test_the_progress_artifact_reaches_100(clean):
    from prefect.artifacts import Artifact

    found = Artifact.get(pipeline.PROGRESS_KEY)
    assert found is not None and found.type == "progress"
    assert float(found.data) == 100.0


def test_a_file_unreadable_for_a_moment_is_retried_and_ingested(tmp_path, monkeypatch):
    settings = make_home(tmp_path / "home", monkeypatch, days=1, hourly_files=True)
    flaky = sorted(settings.landing_dir.rglob("*.csv"))[5].resolve()
    read_bytes = Path.read_bytes
    failures = []

    def unreadable_once(self: Path) -> bytes:
        if self.resolve() == flaky and not failures:
            failures.append(self)
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", unreadable_once)
    summary = ingest(as_of=AS_OF)
    assert failures == [flaky]  # the first attempt failed ...
    files = summary["files"]
    assert files["ingested"] == 24 and files["rejected"] == 0  # ... and the retry succeeded
    assert Catalog(settings.catalog_url).file(str(flaky))["rows_kept"] > 0


def test_two_runs_on_the_same_days_never_write_a_partition_at_once(clean_home, monkeypatch):
    # on the backfilled home: the rows must come out as they were
    home, clean = clean_home
    monkeypatch.setenv("LOGCAST_HOME", str(home))
    settings = load_settings()
    writes: list[tuple[str, str, float, float]] = []  # thread, partition, start, end
    write = publish.write_parquet_many

    def slow_write(items):
        started = time.monotonic()
        time.sleep(0.05)
        out = write(items)
        for _, path in items:
            writes.append(
                (threading.current_thread().name, str(path.parent), started, time.monotonic())
            )
        return out

    monkeypatch.setattr(publish, "write_parquet_many", slow_write)
    errors = []

    def run():
        try:
            backfill(start=DAYS[-1].date(), end=DAYS[-1].date(), force=True, as_of=AS_OF)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, name=f"run-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors
    by_partition: dict[str, list[tuple[str, float, float]]] = {}
    for thread, partition, start, end in writes:
        by_partition.setdefault(partition, []).append((thread, start, end))
    shared = {p: w for p, w in by_partition.items() if len({t for t, _, _ in w}) == 2}
    assert len(shared) > 50  # both runs wrote the same partitions ...
    for partition, spans in shared.items():
        spans.sort(key=lambda s: s[1])
        for (t1, _, end1), (t2, start2, _) in zip(spans, spans[1:], strict=False):
            assert t1 == t2 or end1 <= start2, f"{partition}: writes of two runs overlapped"
    after = tables(settings)
    for name, frame in clean.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)  # ... and the rows are right
