"""Prefect flows: `hourly`, `daily`, `backfill` and `ingest`. Flows only wire IO to
transforms."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.compute import (
    apply_retention,
    compact_pending,
    day_history,
    models_for_day,
    rebuild_days,
    rebuild_hours,
    score_hours,
    store_models,
    stored_models,
)
from flows.ingest import FileOutcome, catalog_for, ingest_file, landing_files, pending_files
from flows.reports import write_report
from flows.settings import Settings, SettingsError, load_settings
from schemas._types import empty_frame
from schemas.forecasts import Anomaly, Forecast
from transforms import forecast as fc
from transforms.report import anomaly_table, summary_markdown
from warehouse.layout import Layout, floor_hour
from warehouse.query import refresh_database
from warehouse.retention import sweep_temporary_files
from warehouse.tables import hour_range, read_hours

REPORT_KEY = "logcast-daily-report"
INSIGHTS_KEY = "logcast-daily-insights"
SUMMARY_KEYS = {
    "logcast-hourly": "logcast-hourly-summary",
    "logcast-backfill": "logcast-backfill-summary",
    "logcast-daily": "logcast-daily-summary",
}
ANOMALIES_KEY = "logcast-anomalies"
WARNING_NOTES = ("endpoint cap",)
"""File notes that the run summary repeats as warnings."""


# task runner --------------------------------------------------------------------------------
def task_runner():
    """The flows' task runner, from the environment of the process that imports them:
    LOGCAST_TASK_RUNNER=threads (the default: Prefect's thread pool), or dask with
    LOGCAST_DASK_ADDRESS=tcp://HOST:PORT, an existing Dask cluster (prefect-dask), which then
    runs the per-file ingest, the per-day recompute and the per-series fits."""
    kind = os.environ.get("LOGCAST_TASK_RUNNER", "threads").strip().lower() or "threads"
    if kind == "threads":
        return ThreadPoolTaskRunner()
    if kind == "dask":
        address = os.environ.get("LOGCAST_DASK_ADDRESS", "").strip()
        if not address:
            raise SettingsError(
                "LOGCAST_TASK_RUNNER=dask needs LOGCAST_DASK_ADDRESS=tcp://HOST:PORT, the "
                "scheduler of an existing Dask cluster"
            )
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=address)
    raise SettingsError(f"LOGCAST_TASK_RUNNER: expected threads or dask, got {kind!r}")


def on_dask() -> bool:
    return os.environ.get("LOGCAST_TASK_RUNNER", "").strip().lower() == "dask"


FIT_CHUNKS_PER_WORKER = 4


# tasks --------------------------------------------------------------------------------------
@task(name="fit-series", task_run_name="fit {label}", retries=1, cache_policy=NO_CACHE)
def fit_series_task(jobs: list[fc.FitJob], label: str) -> list[tuple[tuple[str, str, str], str]]:
    """Fits a chunk of series (one `fc.fit_job` each) wherever the task runner puts it."""
    return [(job.key, fc.fit_job(job)) for job in jobs]


def _fit_day_on_cluster(day: pd.Timestamp, settings: Settings, run_id: str | None, refit: bool):
    """The day's models fitted as tasks of the task runner (the Dask cluster), then stored
    like `models_for_day` stores them; nothing to do when they are stored already."""
    if not refit and stored_models(day, settings) is not None:
        return
    history = day_history(day, settings)
    options = settings.forecast
    jobs = fc.fit_jobs(history, trained_through=day, options=options)
    size = max(1, math.ceil(len(jobs) / (FIT_CHUNKS_PER_WORKER * 4)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    futures = [
        fit_series_task.submit(chunk, f"{day:%Y-%m-%d} {i + 1}/{len(chunks)}")
        for i, chunk in enumerate(chunks)
    ]
    models = dict(item for future in futures for item in future.result())
    skipped = max(fc.series_candidates(history, options.metrics) - len(models), 0)
    store_models(day, models, skipped, settings=settings, run_id=run_id)


@task(
    name="ingest-file",
    task_run_name="ingest {path}",
    retries=2,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
)
def ingest_file_task(
    path: str,
    settings: Settings,
    source: str | None,
    fmt: str,
    run_id: str | None,
    as_of: datetime,
) -> dict[str, Any]:
    outcome = ingest_file(
        Path(path),
        settings=settings,
        source=source,
        fmt=fmt,
        run_id=run_id,
        as_of=pd.Timestamp(as_of),
    )
    return outcome.as_dict()


@task(name="rebuild-hours", task_run_name="rebuild {label}", retries=1, cache_policy=NO_CACHE)
def rebuild_hours_task(
    hours: list[datetime], settings: Settings, run_id: str | None, label: str
) -> int:
    return rebuild_hours([pd.Timestamp(h) for h in hours], settings=settings, run_id=run_id)


@task(name="compact", retries=1, cache_policy=NO_CACHE)
def compact_task(settings: Settings, run_id: str | None) -> int:
    return compact_pending(settings=settings, run_id=run_id)


@task(name="rebuild-days", task_run_name="rollups {label}", retries=1, cache_policy=NO_CACHE)
def rebuild_days_task(
    days: list[datetime], settings: Settings, run_id: str | None, label: str
) -> dict[str, int]:
    return rebuild_days([pd.Timestamp(d) for d in days], settings=settings, run_id=run_id)


@task(name="retention", retries=1, cache_policy=NO_CACHE)
def retention_task(settings: Settings, run_id: str | None, as_of: datetime) -> dict:
    return apply_retention(settings=settings, run_id=run_id, now=pd.Timestamp(as_of))


@task(name="score-hours", task_run_name="score {label}", retries=1, cache_policy=NO_CACHE)
def score_hours_task(
    day: datetime,
    hours: list[datetime],
    settings: Settings,
    run_id: str | None,
    label: str,
    refit: bool = False,
) -> dict[str, int]:
    return score_hours(
        pd.Timestamp(day),
        pd.DatetimeIndex([pd.Timestamp(h) for h in hours]),
        settings=settings,
        run_id=run_id,
        refit=refit,
    )


@task(name="fit-models", task_run_name="models for {label}", retries=1, cache_policy=NO_CACHE)
def fit_models_task(day: datetime, settings: Settings, run_id: str | None, label: str) -> dict:
    models, skipped = models_for_day(pd.Timestamp(day), settings=settings, run_id=run_id)
    return {"series": len(models), "series_skipped": skipped}


@task(name="daily-report", task_run_name="report {label}", retries=1, cache_policy=NO_CACHE)
def report_task(day: datetime, settings: Settings, label: str) -> dict[str, Any]:
    written = write_report(settings, pd.Timestamp(day))
    return {"path": str(written.path), "insights": written.insights, "charts": written.charts}


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


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _utc_day(day: date | datetime | str) -> pd.Timestamp:
    ts = pd.Timestamp(day)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).floor("D")


def _ingest(
    paths: list[Path], settings: Settings, run_id: str | None, *, source: str | None, fmt: str
) -> dict[str, Any]:
    as_of = _now().to_pydatetime()
    # Unchanged files are skipped here, so a run creates tasks only for real work.
    pending, known = pending_files(paths, catalog_for(settings.catalog_url))
    futures = [
        ingest_file_task.submit(str(p), settings, source, fmt, run_id, as_of) for p in pending
    ]
    outcomes = [FileOutcome(**f.result()) for f in futures]
    outcomes += [FileOutcome(path=str(p), status="skipped", format=fmt) for p in known]
    logger = get_run_logger()
    rejected = [o for o in outcomes if o.status == "rejected"]
    for o in rejected:
        logger.warning("rejected %s: %s", o.path, o.reason)
    return {
        "too_bad": _too_bad(outcomes, settings),
        "ingested": sum(o.status == "ingested" for o in outcomes),
        "skipped": sum(o.status == "skipped" for o in outcomes),
        "rejected": len(rejected),
        "records_read": sum(o.records_read for o in outcomes),
        "rows_kept": sum(o.rows_kept for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        "rejected_files": [{"path": o.path, "reason": o.reason} for o in rejected],
        "warnings": [
            f"{o.path}: {note}"
            for o in outcomes
            for note in o.notes
            if note.startswith(WARNING_NOTES)
        ],
    }


def _too_bad(outcomes: list[FileOutcome], settings: Settings) -> list[str]:
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


def _fail_if_too_bad(summary: dict[str, Any]) -> None:
    messages = summary["files"]["too_bad"]
    if messages:
        raise BadInputError("; ".join(messages))


def _by_day(hours: list[pd.Timestamp]) -> dict[pd.Timestamp, list[pd.Timestamp]]:
    days: dict[pd.Timestamp, list[pd.Timestamp]] = {}
    for hour in sorted(hours):
        days.setdefault(hour.floor("D"), []).append(hour)
    return days


def _rebuild(
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
    pending = list(_by_day(hours).items())
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
    days = list(_by_day(hours))
    if days:
        label = f"{days[0]:%Y-%m-%d}" + (f" to {days[-1]:%Y-%m-%d}" if len(days) > 1 else "")
        rebuild_days_task([d.to_pydatetime() for d in days], settings, run_id, label)
    return rows


def _score(
    hours: list[pd.Timestamp], settings: Settings, run_id: str | None, *, refit: bool = False
) -> dict[str, int]:
    totals = {"series": 0, "series_skipped": 0, "forecasts": 0, "anomalies": 0}
    # Days in time order: each day's models are trained on what came before it.
    for day, day_hours in _by_day(hours).items():
        refit_in_task = refit
        if on_dask():  # the series' fits fan out on the cluster; scoring reads them back
            _fit_day_on_cluster(day, settings, run_id, refit)
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


def _publish(
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
    anomalies = anomalies if anomalies is not None else empty_frame(Anomaly)
    forecasts = read_hours(layout, "forecasts", start, end)
    forecasts = forecasts if forecasts is not None else empty_frame(Forecast)
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


def _run(flow_name: str, parameters: dict[str, Any], body) -> dict[str, Any]:
    """Records the run in the catalog around `body(settings, run_id)`."""
    settings = load_settings()
    run_id = flow_run.id or f"local-{_now():%Y%m%dT%H%M%S%f}"
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


# flows --------------------------------------------------------------------------------------
@flow(name="logcast-ingest", log_prints=True, task_runner=task_runner())
def ingest(paths: list[str] | None = None, fmt: str = "auto", source: str | None = None) -> dict:
    """Ingests the given files (default: every new file in the landing folder) and recomputes
    the metric hours they touched."""

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        files = [Path(p) for p in paths] if paths else landing_files(settings.landing_dir)
        summary: dict[str, Any] = {
            "files": _ingest(files, settings, run_id, source=source, fmt=fmt)
        }
        dirty = catalog_for(settings.catalog_url).dirty_hours()
        summary["hours_rebuilt"] = len(dirty)
        summary["endpoint_hourly_rows"] = _rebuild(dirty, settings, run_id)
        summary["retention"] = retention_task(settings, run_id, _now().to_pydatetime())
        refresh_database(settings.warehouse_dir, settings.duckdb_path)
        _fail_if_too_bad(summary)
        return summary

    return _run("logcast-ingest", {"paths": paths, "fmt": fmt, "source": source}, body)


@flow(name="logcast-hourly", log_prints=True, task_runner=task_runner())
def hourly(hour: datetime | None = None) -> dict:
    """Ingests new landing files, recomputes the hours they touched and scores one hour:
    `hour` if given, else the hour that closed before the run's scheduled time."""

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        target = _target_hour(hour, settings)
        summary: dict[str, Any] = {"window": f"{target:%Y-%m-%d %H}:00 UTC"}
        dirty = _ingest_and_rebuild(summary, settings, run_id)
        # Late data for hours already scored: their forecasts are recomputed too.
        layout = Layout(settings.warehouse_dir)
        rescored = [h for h in dirty if h != target and layout.hour_dir("forecasts", h).exists()]
        summary["hours_rescored"] = len(rescored)
        summary.update(_score(sorted({target, *rescored}), settings, run_id))
        summary["artifacts"] = _publish(
            "logcast-hourly",
            f"logcast hourly: {target:%Y-%m-%d %H}:00 UTC",
            summary,
            settings,
            target,
            target + pd.Timedelta(hours=1),
            run_id,
        )
        _fail_if_too_bad(summary)
        return summary

    return _run("logcast-hourly", {"hour": None if hour is None else str(hour)}, body)


def _ingest_and_rebuild(
    summary: dict[str, Any], settings: Settings, run_id: str | None
) -> list[pd.Timestamp]:
    """Ingests the new landing files and recomputes every hour they touched (the scheduled
    runs' first steps); returns those hours and records the counts in `summary`."""
    files = landing_files(settings.landing_dir)
    summary["files"] = _ingest(files, settings, run_id, source=None, fmt="auto")
    dirty = catalog_for(settings.catalog_url).dirty_hours()
    summary["hours_rebuilt"] = len(dirty)
    summary["endpoint_hourly_rows"] = _rebuild(dirty, settings, run_id)
    return dirty


def _target_hour(hour: datetime | None, settings: Settings) -> pd.Timestamp:
    """`hour` if given, else the hour to score for the run's scheduled time (its start time
    when run by hand)."""
    if hour is not None:
        return floor_hour(pd.Timestamp(hour))
    scheduled = pd.Timestamp(flow_run.scheduled_start_time or _now())
    return hour_to_score(scheduled, settings.lateness_minutes)


def hour_to_score(scheduled: pd.Timestamp, lateness_minutes: int) -> pd.Timestamp:
    """The newest hour that closed at least `lateness_minutes` before `scheduled`."""
    closed_by = floor_hour(scheduled - pd.Timedelta(minutes=lateness_minutes))
    return closed_by - pd.Timedelta(hours=1)


@flow(name="logcast-daily", log_prints=True, task_runner=task_runner())
def daily(day: date | None = None) -> dict:
    """The morning run for the UTC day `day` (default: the day that ended before the run's
    scheduled time): ingests new files, recomputes what they touched and the day's rollups,
    fits the next day's models (so the hourly runs only predict), applies retention and
    publishes the day's summary."""

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        if day is None:
            scheduled = pd.Timestamp(flow_run.scheduled_start_time or _now())
            target = _utc_day(scheduled) - pd.Timedelta(days=1)
        else:
            target = _utc_day(day)
        following = target + pd.Timedelta(days=1)
        summary: dict[str, Any] = {"window": f"{target:%Y-%m-%d} UTC"}
        _ingest_and_rebuild(summary, settings, run_id)
        label = f"{target:%Y-%m-%d}"
        summary["rollups"] = rebuild_days_task([target.to_pydatetime()], settings, run_id, label)
        summary["models"] = fit_models_task(
            following.to_pydatetime(), settings, run_id, f"{following:%Y-%m-%d}"
        )
        summary["retention"] = retention_task(settings, run_id, _now().to_pydatetime())
        report = report_task(target.to_pydatetime(), settings, label)
        summary["report"] = report["path"]
        create_link_artifact(
            link=Path(report["path"]).as_uri(),
            link_text=f"logcast daily report {label}",
            key=REPORT_KEY,
            description=f"The daily HTML report of {label} (UTC): charts, incidents, quarantine",
        )
        create_markdown_artifact(
            f"# logcast insights {label} (UTC)\n\n"
            + "\n".join(f"- {sentence}" for sentence in report["insights"])
            + f"\n\nReport: `{report['path']}`\n",
            key=INSIGHTS_KEY,
            description=f"What happened on {label} (UTC), in sentences",
        )
        summary["artifacts"] = [
            REPORT_KEY,
            INSIGHTS_KEY,
            *_publish(
                "logcast-daily",
                f"logcast daily: {target:%Y-%m-%d} UTC",
                summary,
                settings,
                target,
                following,
                run_id,
            ),
        ]
        _fail_if_too_bad(summary)
        return summary

    return _run("logcast-daily", {"day": None if day is None else str(day)}, body)


@flow(name="logcast-backfill", log_prints=True, task_runner=task_runner())
def backfill(
    start: date, end: date, force: bool = False, concurrency: int = DEFAULT_CONCURRENCY
) -> dict:
    """Recomputes and scores the UTC days `start`..`end` (inclusive), after ingesting any new
    landing files. Idempotent and resumable: a day is recorded in the catalog once it is
    recomputed and scored, and a later backfill skips it (its hours that late files touched
    are recomputed and scored again all the same); `force` redoes every day and refits its
    models. Days are recomputed `concurrency` at a time and scored one by one in time order.
    Progress goes to a Prefect progress artifact and the terminal."""
    first = _utc_day(start)
    stop = _utc_day(end) + pd.Timedelta(days=1)
    if stop <= first:
        raise ValueError(f"backfill: end {end} is before start {start}")
    if concurrency < 1:
        raise ValueError(f"backfill: concurrency must be at least 1, got {concurrency}")

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        catalog = catalog_for(settings.catalog_url)
        days = list(pd.date_range(first, stop, freq="D", inclusive="left"))
        summary: dict[str, Any] = {
            "window": f"{first:%Y-%m-%d} to {stop - pd.Timedelta(days=1):%Y-%m-%d} UTC"
        }
        files = landing_files(settings.landing_dir)
        summary["files"] = _ingest(files, settings, run_id, source=None, fmt="auto")
        if force:
            catalog.forget_days(days)
        finished = catalog.finished_days(days)
        todo = [d for d in days if d not in finished]
        summary["days"] = len(days)
        summary["days_skipped"] = len(days) - len(todo)
        # The days to do, plus whatever else new or late files touched.
        dirty = set(catalog.dirty_hours())
        hours = {h for d in todo for h in hour_range(d, d + pd.Timedelta(days=1))}
        rebuild = sorted(dirty | hours)
        progress = Progress(
            len(_by_day(rebuild)) + len(todo),
            f"backfill {summary['window']}: {len(todo)} of {len(days)} days to do",
        )
        summary["hours_rebuilt"] = len(rebuild)
        summary["endpoint_hourly_rows"] = _rebuild(
            rebuild, settings, run_id, concurrency=concurrency, progress=progress
        )
        summary["retention"] = retention_task(settings, run_id, _now().to_pydatetime())
        # Hours already scored that late files touched are scored again, those hours only.
        layout = Layout(settings.warehouse_dir)
        rescored = [h for h in dirty - hours if layout.hour_dir("forecasts", h).exists()]
        summary["hours_rescored"] = len(rescored)
        totals = _score(sorted(rescored), settings, run_id) if rescored else {}
        for day in todo:  # in time order: each day's models are trained on the days before
            counts = _score(
                list(hour_range(day, day + pd.Timedelta(days=1))), settings, run_id, refit=force
            )
            for key, value in counts.items():
                totals[key] = (
                    max(totals.get(key, 0), value)
                    if key.startswith("series")
                    else totals.get(key, 0) + value
                )
            catalog.finish_day(day, run_id)
            progress.advance(f"scored {day:%Y-%m-%d}")
        summary.update({"series": 0, "series_skipped": 0, "forecasts": 0, "anomalies": 0, **totals})
        progress.finish()
        summary["artifacts"] = _publish(
            "logcast-backfill",
            f"logcast backfill: {summary['window']}",
            summary,
            settings,
            first,
            stop,
            run_id,
        )
        _fail_if_too_bad(summary)
        return summary

    parameters = {"start": str(start), "end": str(end), "force": force, "concurrency": concurrency}
    return _run("logcast-backfill", parameters, body)
