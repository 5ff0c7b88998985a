"""Prefect flows: `hourly`, `daily`, `backfill` and `ingest`. Flows only wire the steps of
`flows.steps` and the tasks of `flows.tasks`."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.runtime import flow_run

from flows.alerts import feedback_summary, send_incident_events
from flows.ingest import catalog_for, landing_files
from flows.runner import SettingsTaskRunner
from flows.settings import Settings
from flows.steps import (
    DEFAULT_CONCURRENCY,
    INSIGHTS_KEY,
    PROGRESS_KEY,
    PROGRESS_LISTENERS,
    REPORT_KEY,
    BadInputError,
    Progress,
    by_day,
    fail_if_too_bad,
    ingest_and_rebuild,
    ingest_files,
    publish,
    rebuild,
    recorded_run,
    run_time,
    score,
    utc_day,
)
from flows.tasks import fit_models_task, rebuild_days_task, report_task, retention_task
from warehouse.layout import Layout, floor_hour
from warehouse.query import refresh_database
from warehouse.tables import hour_range

__all__ = [
    "PROGRESS_KEY",
    "PROGRESS_LISTENERS",
    "BadInputError",
    "backfill",
    "daily",
    "hour_to_score",
    "hourly",
    "ingest",
]


# flows --------------------------------------------------------------------------------------
@flow(name="logcast-ingest", log_prints=True, task_runner=SettingsTaskRunner())
def ingest(
    paths: list[str] | None = None,
    fmt: str = "auto",
    source: str | None = None,
    as_of: datetime | None = None,
) -> dict:
    """Ingests the given files (default: every new file in the landing folder) and recomputes
    the metric hours they touched.
    `as_of` is the instant the run treats as now (default: the clock); events later than
    as_of + 1 day are quarantined as a broken clock."""
    now = run_time(as_of)

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        files = [Path(p) for p in paths] if paths else None
        summary: dict[str, Any] = {}
        ingest_and_rebuild(summary, settings, run_id, now, files=files, source=source, fmt=fmt)
        summary["retention"] = retention_task(settings, run_id)
        refresh_database(settings.warehouse_dir, settings.duckdb_path)
        fail_if_too_bad(summary)
        return summary

    parameters = {"paths": paths, "fmt": fmt, "source": source, "as_of": _text(as_of)}
    return recorded_run("logcast-ingest", parameters, body)


@flow(name="logcast-hourly", log_prints=True, task_runner=SettingsTaskRunner())
def hourly(hour: datetime | None = None, as_of: datetime | None = None) -> dict:
    """Ingests new landing files, recomputes the hours they touched and scores one hour:
    `hour` if given, else the hour that closed before the run's scheduled time (or before
    `as_of`, when given); then sends the incident events due (`flows.alerts`).
    `as_of` is the instant the run treats as now (default: the clock); events later than
    as_of + 1 day are quarantined as a broken clock."""
    now = run_time(as_of)

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        target = _target_hour(hour, settings, as_of)
        summary: dict[str, Any] = {"window": f"{target:%Y-%m-%d %H}:00 UTC"}
        dirty = ingest_and_rebuild(summary, settings, run_id, now)
        # Late data for hours already scored: their forecasts are recomputed too.
        layout = Layout(settings.warehouse_dir)
        rescored = [h for h in dirty if h != target and layout.hour_dir("forecasts", h).exists()]
        summary["hours_rescored"] = len(rescored)
        summary.update(score(sorted({target, *rescored}), settings, run_id))
        summary["incident_events"] = send_incident_events(settings, run_id)
        summary["feedback"] = feedback_summary(settings)
        summary["artifacts"] = publish(
            "logcast-hourly",
            f"logcast hourly: {target:%Y-%m-%d %H}:00 UTC",
            summary,
            settings,
            target,
            target + pd.Timedelta(hours=1),
            run_id,
        )
        fail_if_too_bad(summary)
        return summary

    return recorded_run("logcast-hourly", {"hour": _text(hour), "as_of": _text(as_of)}, body)


def _target_hour(hour: datetime | None, settings: Settings, as_of: datetime | None) -> pd.Timestamp:
    """`hour` if given, else the hour to score for `as_of`, or the run's scheduled time (its
    start time when run by hand)."""
    if hour is not None:
        return floor_hour(pd.Timestamp(hour))
    return hour_to_score(_scheduled(as_of), settings.lateness_minutes)


def _scheduled(as_of: datetime | None) -> pd.Timestamp:
    """The time a run picks its hour or day by: `as_of`, else its scheduled start time."""
    if as_of is None and flow_run.scheduled_start_time is not None:
        return pd.Timestamp(flow_run.scheduled_start_time).tz_convert("UTC")
    return run_time(as_of)


def _text(value: date | datetime | None) -> str | None:
    return None if value is None else str(value)


def hour_to_score(scheduled: pd.Timestamp, lateness_minutes: int) -> pd.Timestamp:
    """The newest hour that closed at least `lateness_minutes` before `scheduled`."""
    closed_by = floor_hour(scheduled - pd.Timedelta(minutes=lateness_minutes))
    return closed_by - pd.Timedelta(hours=1)


@flow(name="logcast-daily", log_prints=True, task_runner=SettingsTaskRunner())
def daily(day: date | None = None, as_of: datetime | None = None) -> dict:
    """The morning run for the UTC day `day` (default: the day that ended before the run's
    scheduled time): ingests new files, recomputes what they touched and the day's rollups,
    fits the next day's models (so the hourly runs only predict), applies retention and
    publishes the day's summary.
    `as_of` is the instant the run treats as now (default: the clock); events later than
    as_of + 1 day are quarantined as a broken clock."""
    now = run_time(as_of)

    def body(settings: Settings, run_id: str) -> dict[str, Any]:
        # the given day, else the one that ended before the scheduled time
        target = (
            utc_day(day) if day is not None else utc_day(_scheduled(as_of)) - pd.Timedelta(days=1)
        )
        following = target + pd.Timedelta(days=1)
        summary: dict[str, Any] = {"window": f"{target:%Y-%m-%d} UTC"}
        ingest_and_rebuild(summary, settings, run_id, now)
        label = f"{target:%Y-%m-%d}"
        summary["rollups"] = rebuild_days_task([target.to_pydatetime()], settings, run_id, label)
        summary["models"] = fit_models_task(
            following.to_pydatetime(), settings, run_id, f"{following:%Y-%m-%d}"
        )
        summary["retention"] = retention_task(settings, run_id)
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
            + (f"\n\n# Service logs\n\n{report['logs']}" if report.get("logs") else "")
            + f"\n\nReport: `{report['path']}`\n",
            key=INSIGHTS_KEY,
            description=f"What happened on {label} (UTC), in sentences",
        )
        summary["artifacts"] = [
            REPORT_KEY,
            INSIGHTS_KEY,
            *publish(
                "logcast-daily",
                f"logcast daily: {target:%Y-%m-%d} UTC",
                summary,
                settings,
                target,
                following,
                run_id,
            ),
        ]
        fail_if_too_bad(summary)
        return summary

    return recorded_run("logcast-daily", {"day": _text(day), "as_of": _text(as_of)}, body)


@flow(name="logcast-backfill", log_prints=True, task_runner=SettingsTaskRunner())
def backfill(
    start: date,
    end: date,
    force: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    as_of: datetime | None = None,
) -> dict:
    """Recomputes and scores the UTC days `start`..`end` (inclusive), after ingesting any new
    landing files. Idempotent and resumable: a day is recorded in the catalog once it is
    recomputed and scored, and a later backfill skips it (its hours that late files touched
    are recomputed and scored again all the same); `force` redoes every day and refits its
    models. Days are recomputed `concurrency` at a time and scored one by one in time order.
    Progress goes to a Prefect progress artifact and the terminal. Incident events are sent
    once at the end, for the incidents open at the newest hour scored (`flows.alerts`): a
    backfill of old history announces nothing.
    `as_of` is the instant the run treats as now (default: the clock); events later than
    as_of + 1 day are quarantined as a broken clock. Only hours that have ended by then are
    recomputed and scored: a day that has not ended yet (today) is done up to its last ended
    hour and stays open, so the hourly runs, or a later backfill, do the rest of it; its
    later hours are not scored as hours without traffic."""
    now = run_time(as_of)
    ended = floor_hour(now)  # the hours before it have ended
    first = utc_day(start)
    stop = utc_day(end) + pd.Timedelta(days=1)
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
        summary["files"] = ingest_files(files, settings, run_id, source=None, fmt="auto", as_of=now)
        if force:
            catalog.forget_days(days)
        finished = catalog.finished_days(days)
        todo = [d for d in days if d not in finished]
        summary["days"] = len(days)
        summary["days_skipped"] = len(days) - len(todo)

        # The days to do (their ended hours), plus whatever else new or late files touched.
        def ended_hours(day: pd.Timestamp) -> list[pd.Timestamp]:
            return list(hour_range(day, min(day + pd.Timedelta(days=1), ended)))

        open_days = [d for d in todo if d + pd.Timedelta(days=1) > ended]
        summary["days_open"] = len(open_days)
        dirty = set(catalog.dirty_hours())
        hours = {h for d in todo for h in ended_hours(d)}
        to_rebuild = sorted(dirty | hours)
        progress = Progress(
            len(by_day(to_rebuild)) + len(todo),
            f"backfill {summary['window']}: {len(todo)} of {len(days)} days to do",
        )
        summary["hours_rebuilt"] = len(to_rebuild)
        summary["endpoint_hourly_rows"] = rebuild(
            to_rebuild, settings, run_id, concurrency=concurrency, progress=progress
        )
        summary["retention"] = retention_task(settings, run_id, [d.to_pydatetime() for d in days])
        # Hours already scored that late files touched are scored again, those hours only.
        layout = Layout(settings.warehouse_dir)
        rescored = [h for h in dirty - hours if layout.hour_dir("forecasts", h).exists()]
        summary["hours_rescored"] = len(rescored)
        totals = score(sorted(rescored), settings, run_id) if rescored else {}
        for day in todo:  # in time order: each day's models are trained on the days before
            day_hours = ended_hours(day)
            counts = score(day_hours, settings, run_id, refit=force) if day_hours else {}
            for key, value in counts.items():
                totals[key] = (
                    max(totals.get(key, 0), value)
                    if key.startswith("series")
                    else totals.get(key, 0) + value
                )
            if day in open_days:
                done = f"hours to {day_hours[-1]:%H}:00" if day_hours else "no hour yet"
                progress.advance(f"scored {day:%Y-%m-%d} {done}, the day is not over")
            else:
                catalog.finish_day(day, run_id)
                progress.advance(f"scored {day:%Y-%m-%d}")
        summary.update({"series": 0, "series_skipped": 0, "forecasts": 0, "anomalies": 0, **totals})
        # once, after every day is scored: only incidents open at the newest hour are announced
        summary["incident_events"] = send_incident_events(settings, run_id)
        summary["feedback"] = feedback_summary(settings)
        progress.finish()
        summary["artifacts"] = publish(
            "logcast-backfill",
            f"logcast backfill: {summary['window']}",
            summary,
            settings,
            first,
            stop,
            run_id,
        )
        fail_if_too_bad(summary)
        return summary

    parameters = {
        "start": str(start),
        "end": str(end),
        "force": force,
        "concurrency": concurrency,
        "as_of": _text(as_of),
    }
    return recorded_run("logcast-backfill", parameters, body)
