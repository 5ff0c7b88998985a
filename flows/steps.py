"""The steps the flows share: ingesting files, recomputing hours and days, scoring in time
order, publishing the run's artifacts, recording the run, and a backfill's progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run

from flows.ingest import FileOutcome, catalog_for, landing_files, pending_files
from flows.runner import on_dask
from flows.settings import Settings, load_settings
from flows.tasks import (
    compact_task,
    fit_day_on_cluster,
    ingest_file_task,
    rebuild_days_task,
    rebuild_hours_task,
    score_hours_task,
)
from transforms.report import anomaly_table, summary_markdown
from warehouse.layout import Layout
from warehouse.query import refresh_database
from warehouse.retention import sweep_temporary_files
from warehouse.tables import read_hours

REPORT_KEY = "logcast-daily-report"
INSIGHTS_KEY = "logcast-daily-insights"
SUMMARY_KEYS = {
    "logcast-hourly": "logcast-hourly-summary",
    "logcast-backfill": "logcast-backfill-summary",
    "logcast-daily": "logcast-daily-summary",
}
ANOMALIES_KEY = "logcast-anomalies"
WARNING_NOTES = ("endpoint cap", "endpoints folded by variety")
"""File notes that the run summary repeats as warnings."""

# steps shared by the flows -------------------------------------------------------------------
DEFAULT_CONCURRENCY = 2
"""Days a backfill recomputes at once."""
PROGRESS_KEY = "logcast-backfill-progress"
PROGRESS_LISTENERS: list[Callable[[int, int, str], None]] = []
"""Called with (steps done, steps in all, what was just done) as a backfill advances: the
command line draws its progress bar from these."""


class Progress:
    """A backfill's progress: a Prefect progress artifact and the in-process listeners."""

    def __init__(self, total: int, description: str):
        self.total, self.done = max(total, 1), 0
        self.artifact_id = create_progress_artifact(
            progress=0.0, key=PROGRESS_KEY, description=description
        )
        self._tell("started")

    def advance(self, label: str) -> None:
        self.done = min(self.done + 1, self.total)
        update_progress_artifact(self.artifact_id, progress=round(100 * self.done / self.total, 1))
        self._tell(label)

    def finish(self) -> None:
        if self.done < self.total:
            self.done = self.total
            update_progress_artifact(self.artifact_id, progress=100.0)
            self._tell("done")

    def _tell(self, label: str) -> None:
        for listener in list(PROGRESS_LISTENERS):
            listener(self.done, self.total, label)


def utc_day(day: date | datetime | str) -> pd.Timestamp:
    ts = pd.Timestamp(day)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).floor("D")


def run_time(as_of: datetime | None) -> pd.Timestamp:
    """The instant a flow run treats as now: its `as_of` parameter, else the clock (the only
    place the flows read it)."""
    if as_of is None:
        return pd.Timestamp.now(tz="UTC")
    ts = pd.Timestamp(as_of)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def ingest_files(
    paths: list[Path],
    settings: Settings,
    run_id: str | None,
    *,
    source: str | None,
    fmt: str,
    as_of: pd.Timestamp,
) -> dict[str, Any]:
    """Ingests `paths` (unchanged files skipped), one task per file; `as_of` bounds the
    events' times (later than as_of + 1 day is a broken clock)."""
    # Unchanged files are skipped here, so a run creates tasks only for real work.
    pending, known = pending_files(paths, catalog_for(settings.catalog_url))
    futures = [
        ingest_file_task.submit(str(p), settings, source, fmt, run_id, as_of.to_pydatetime())
        for p in pending
    ]
    outcomes = [FileOutcome(**f.result()) for f in futures]
    outcomes += [FileOutcome(path=str(p), status="skipped", format=fmt) for p in known]
    logger = get_run_logger()
    rejected = [o for o in outcomes if o.status == "rejected"]
    for o in rejected:
        logger.warning("rejected %s: %s", o.path, o.reason)
    return {
        "too_bad": too_bad(outcomes, settings),
        "ingested": sum(o.status == "ingested" for o in outcomes),
        "skipped": sum(o.status == "skipped" for o in outcomes),
        "rejected": len(rejected),
        "records_read": sum(o.records_read for o in outcomes),
        "rows_kept": sum(o.rows_kept for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        "requests": sum(o.requests for o in outcomes),
        "events": sum(o.events for o in outcomes),
        "rejected_files": [{"path": o.path, "reason": o.reason} for o in rejected],
        "read": [
            {
                "path": o.path,
                "format": next(
                    (n.removeprefix("format ") for n in o.notes if n.startswith("format ")),
                    o.format,
                ),
                "records_read": o.records_read,
                "rows_kept": o.rows_kept,
                "rows_quarantined": o.rows_quarantined,
                "requests": o.requests,
                "events": o.events,
            }
            for o in outcomes
            if o.status != "skipped"
        ],
        "warnings": [
            f"{o.path}: {note}"
            for o in outcomes
            for note in o.notes
            if note.startswith(WARNING_NOTES)
        ],
    }


def too_bad(outcomes: list[FileOutcome], settings: Settings) -> list[str]:
    """One sentence per source whose quarantined share this run exceeds its max_bad_fraction."""
    by_source: dict[str, list[FileOutcome]] = {}
    for outcome in outcomes:
        if outcome.status != "skipped":
            by_source.setdefault(outcome.source, []).append(outcome)
    messages = []
    for source, done in sorted(by_source.items()):
        limit = settings.source_named(source).max_bad_fraction
        read = sum(o.records_read for o in done)
        bad = sum(o.rows_quarantined for o in done)
        if read and bad / read > limit:
            worst = max(done, key=lambda o: o.rows_quarantined / max(o.records_read, 1))
            messages.append(
                f"source '{source}': {bad:,} of {read:,} records quarantined ({bad / read:.1%}), "
                f"above its max_bad_fraction of {limit:.1%}; worst file {worst.path} "
                f"({worst.rows_quarantined:,} of {worst.records_read:,}"
                + (f": {worst.reason}" if worst.reason else "")
                + ")"
            )
    return messages


class BadInputError(RuntimeError):
    """A source quarantined more than it may; the data is kept and quarantined all the same."""


def fail_if_too_bad(summary: dict[str, Any]) -> None:
    messages = summary["files"]["too_bad"]
    if messages:
        raise BadInputError("; ".join(messages))


def by_day(hours: list[pd.Timestamp]) -> dict[pd.Timestamp, list[pd.Timestamp]]:
    days: dict[pd.Timestamp, list[pd.Timestamp]] = {}
    for hour in sorted(hours):
        days.setdefault(hour.floor("D"), []).append(hour)
    return days


def rebuild(
    hours: list[pd.Timestamp],
    settings: Settings,
    run_id: str | None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> int:
    """Compacts what the ingest staged, recomputes the hourly tables of `hours` (the days at
    most `concurrency` at a time), then the daily tables of their days; returns the
    endpoint_hourly rows written."""
    compact_task(settings, run_id)
    rows = 0
    pending = list(by_day(hours).items())
    running: list = []
    while pending or running:
        while pending and len(running) < max(concurrency, 1):
            day, day_hours = pending.pop(0)
            future = rebuild_hours_task.submit(
                [h.to_pydatetime() for h in day_hours], settings, run_id, f"{day:%Y-%m-%d}"
            )
            running.append((day, future))
        day, future = running.pop(0)
        rows += future.result()
        if progress is not None:
            progress.advance(f"recomputed {day:%Y-%m-%d}")
    days = list(by_day(hours))
    if days:
        label = f"{days[0]:%Y-%m-%d}" + (f" to {days[-1]:%Y-%m-%d}" if len(days) > 1 else "")
        rebuild_days_task([d.to_pydatetime() for d in days], settings, run_id, label)
    return rows


def score(
    hours: list[pd.Timestamp], settings: Settings, run_id: str | None, *, refit: bool = False
) -> dict[str, int]:
    totals = {"series": 0, "series_skipped": 0, "forecasts": 0, "anomalies": 0}
    # Days in time order: each day's models are trained on what came before it.
    for day, day_hours in by_day(hours).items():
        refit_in_task = refit
        if on_dask():  # the series' fits fan out on the cluster; scoring reads them back
            fit_day_on_cluster(day, settings, run_id, refit)
            refit_in_task = False
        label = f"{day:%Y-%m-%d}" if len(day_hours) == 24 else f"{day_hours[0]:%Y-%m-%d %H}:00"
        counts = score_hours_task(
            day.to_pydatetime(),
            [h.to_pydatetime() for h in day_hours],
            settings,
            run_id,
            label,
            refit_in_task,
        )
        totals["series"] = max(totals["series"], counts["series"])
        totals["series_skipped"] = max(totals["series_skipped"], counts["series_skipped"])
        totals["forecasts"] += counts["forecasts"]
        totals["anomalies"] += counts["anomalies"]
    return totals


def publish(
    flow_name: str,
    title: str,
    summary: dict[str, Any],
    settings: Settings,
    start: pd.Timestamp,
    end: pd.Timestamp,
    run_id: str | None,
) -> list[str]:
    summary["quality"] = quality_summary(settings, run_id)
    layout = Layout(settings.warehouse_dir)
    anomalies = read_hours(layout, "anomalies", start, end)
    forecasts = read_hours(layout, "forecasts", start, end)
    markdown = summary_markdown(title, summary, anomalies, forecasts)
    key = SUMMARY_KEYS[flow_name]
    create_markdown_artifact(markdown, key=key, description=title)
    create_table_artifact(
        anomaly_table(anomalies),
        key=ANOMALIES_KEY,
        description=f"Anomalies {start:%Y-%m-%d %H:00} to {end:%Y-%m-%d %H:00} UTC, most severe first",
    )
    refresh_database(settings.warehouse_dir, settings.duckdb_path)
    return [key, ANOMALIES_KEY]


def quality_summary(settings: Settings, run_id: str | None) -> dict[str, Any]:
    """What the quality checkpoint found in this run, from the catalog."""
    results = catalog_for(settings.catalog_url).quality_frame(run_id)
    failed = results[~results["success"].astype(bool)] if len(results) else results
    return {
        "checks": len(results),
        "failed": len(failed),
        "partitions": results[["table_name", "partition"]].drop_duplicates().shape[0]
        if len(results)
        else 0,
        "tables": results["table_name"].nunique() if len(results) else 0,
        "failures": [
            f"{r.table_name} {r.partition}: {r.expectation}" for r in failed.head(10).itertuples()
        ],
    }


def recorded_run(flow_name: str, parameters: dict[str, Any], body) -> dict[str, Any]:
    """Records the run in the catalog around `body(settings, run_id)`."""
    settings = load_settings()
    run_id = flow_run.id or f"local-{run_time(None):%Y%m%dT%H%M%S%f}"
    catalog = catalog_for(settings.catalog_url)
    catalog.start_run(run_id, flow_name, parameters)
    try:
        swept = sweep_temporary_files(settings.warehouse_dir)
        if swept:
            get_run_logger().warning(
                "removed %d temporary files left by interrupted writes", len(swept)
            )
        summary = body(settings, run_id)
        summary["temporary_files_swept"] = len(swept)
        summary.setdefault("quality", quality_summary(settings, run_id))
    except BaseException as exc:
        catalog.finish_run(run_id, "failed", {"error": str(exc)})
        raise
    catalog.finish_run(run_id, "completed", summary)
    return summary


def ingest_and_rebuild(
    summary: dict[str, Any],
    settings: Settings,
    run_id: str | None,
    as_of: pd.Timestamp,
    *,
    files: list[Path] | None = None,
    source: str | None = None,
    fmt: str = "auto",
) -> list[pd.Timestamp]:
    """Ingests `files` (default: the new landing files) and recomputes every hour they
    touched (every run's first steps); returns those hours and records the counts in
    `summary`."""
    files = landing_files(settings.landing_dir) if files is None else files
    summary["files"] = ingest_files(files, settings, run_id, source=source, fmt=fmt, as_of=as_of)
    dirty = catalog_for(settings.catalog_url).dirty_hours()
    summary["hours_rebuilt"] = len(dirty)
    summary["endpoint_hourly_rows"] = rebuild(dirty, settings, run_id)
    return dirty
