"""Days run by the hourly flow hour by hour, each hour's file landing just before its run,
after a backfill of the days before them (history loaded, then the schedule takes over), give
exactly the rows a backfill of those days gives on the same history."""

import shutil

import pandas as pd
import pytest

from flows import pipeline
from flows.generate import generate
from flows.pipeline import backfill, hourly
from flows.settings import load_settings
from tests.helpers import one_file_a_day, warehouse_tables

pytestmark = [pytest.mark.flows, pytest.mark.slow]

START = pd.Timestamp("2026-11-09T00:00:00Z")  # a Monday: the days are in one ISO week
# Three days: the first two are backfilled (the first has no history before it, so nothing
# to score; the second is scored on models the backfill fitted), the third runs hour by
# hour: its first run fits the day's models on the backfilled history and its other runs only
# predict; the generator injects incidents from the third day on. The third day's logs stop
# after its first HOURLY hours (the rest has not landed yet), so the day stays open: its daily
# rollups are rebuilt from a part of the day by every run. More hourly runs only repeat that
# at ~3 s per run.
DAYS = 3
BACKFILLED = 2
HOURLY = 12
TABLES = {
    "endpoint_hourly": "hour_start, service, endpoint",
    "endpoint_minutely": "minute_start, service, endpoint",
    "endpoint_daily": "day_start, service, endpoint",
    "traffic_hourly": "hour_start",
    "forecasts": "hour_start, service, endpoint, metric",
    "anomalies": "hour_start, service, endpoint, metric",
    "incidents": "service, endpoint, start",
}


def tables(settings) -> dict[str, pd.DataFrame]:
    return warehouse_tables(settings.warehouse_dir, TABLES)


def test_days_hour_by_hour_give_the_rows_of_their_backfill(tmp_path, monkeypatch):
    held = tmp_path / "generated"
    end = START + pd.Timedelta(days=DAYS - 1)
    generate(
        days=DAYS, endpoints=3, out_dir=held, labels_path=tmp_path / "labels.csv",
        end_day=end, seed=21,
    )  # fmt: skip
    files = sorted(held.glob("*.csv"))
    assert len(files) == DAYS * 24
    files = files[: (DAYS - 1) * 24 + HOURLY]  # the rest has not landed yet

    home = tmp_path / "home"
    monkeypatch.setenv("LOGCAST_HOME", str(home))
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    for path in files[: BACKFILLED * 24]:
        shutil.copy(path, settings.landing_dir / path.name)
    one_file_a_day(settings.landing_dir)  # the history arrives as one file a day
    history_end = START + pd.Timedelta(days=BACKFILLED - 1)
    backfill(start=START.date(), end=history_end.date(), as_of=history_end + pd.Timedelta(days=1))
    # the history, kept to start the backfill below from (at the same path: the catalog
    # holds absolute paths)
    shutil.copytree(home, tmp_path / "history")

    hours = pd.date_range(START + pd.Timedelta(days=BACKFILLED), periods=HOURLY, freq="h")
    for hour, path in zip(hours, files[BACKFILLED * 24 :], strict=True):
        shutil.copy(path, settings.landing_dir / path.name)  # the hour's file lands ...
        # ... and the hourly run after it, at :05, scores that hour
        hourly(as_of=hour + pd.Timedelta(hours=1, minutes=5))
    got = tables(settings)

    # the same history, the same files landed at once, one backfill just after the last run
    shutil.rmtree(home)
    shutil.copytree(tmp_path / "history", home)
    for path in files[BACKFILLED * 24 :]:
        shutil.copy(path, settings.landing_dir / path.name)
    seen: list[tuple[int, int, str]] = []
    pipeline.PROGRESS_LISTENERS.append(lambda *step: seen.append(step))
    try:
        summary = backfill(
            start=START.date(), end=end.date(), as_of=end + pd.Timedelta(hours=HOURLY, minutes=5)
        )
    finally:
        pipeline.PROGRESS_LISTENERS.clear()
    assert summary["days_skipped"] == BACKFILLED and summary["days_open"] == 1
    assert seen[-1][2] == f"scored {end:%Y-%m-%d} hours to {HOURLY - 1:02d}:00, the day is not over"
    expected = tables(settings)

    assert set(got) == set(expected) == set(TABLES)  # every table was written ...
    assert len(expected["forecasts"]) > 0 and len(expected["anomalies"]) > 0
    assert len(expected["incidents"]) > 0
    # the backfill ran before the third day was over: it scored that day's ended hours only
    assert expected["forecasts"]["hour_start"].max() == hours[-1]
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)  # ... with the same rows
