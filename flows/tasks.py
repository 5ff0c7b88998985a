"""The flows' Prefect tasks: each wraps one step of `flows.compute` or `flows.ingest`.

Only IO is retried: a task retries when it failed with an `OSError` (a file unreadable for a
moment, a full disk freed, a lock held by a killed process), never on a bug in the data or the
code, which would fail the same way again."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.compute import (
    apply_retention,
    compact_pending,
    day_history,
    log_day_history,
    log_options,
    models_for_day,
    rebuild_days,
    rebuild_hours,
    score_hours,
    store_models,
    stored_models,
)
from flows.ingest import ingest_file
from flows.reports import write_report
from flows.settings import Settings
from transforms import forecast as fc
from transforms.log_anomalies import LOG_ENDPOINT
from transforms.report import retention_sentences


def failed_on_io(task, task_run, state) -> bool:
    """Prefect's retry condition: retry only when the task failed with an OSError."""
    try:
        state.result()
    except OSError:
        return True
    except BaseException:
        return False
    return False


IO_RETRY = {"retries": 1, "retry_condition_fn": failed_on_io, "cache_policy": NO_CACHE}


FIT_CHUNKS_PER_WORKER = 4


# tasks --------------------------------------------------------------------------------------
@task(name="fit-series", task_run_name="fit {label}", cache_policy=NO_CACHE)
def fit_series_task(jobs: list[fc.FitJob], label: str) -> list[tuple[tuple[str, str, str], str]]:
    """Fits a chunk of series (one `fc.fit_job` each) wherever the task runner puts it."""
    return [(job.key, fc.fit_job(job)) for job in jobs]


def fit_day_on_cluster(day: pd.Timestamp, settings: Settings, run_id: str | None, refit: bool):
    """The day's models fitted as tasks of the task runner (the Dask cluster), then stored
    like `models_for_day` stores them; nothing to do when they are stored already."""
    if not refit and stored_models(day, settings) is not None:
        return
    history = day_history(day, settings)
    options = settings.forecast
    jobs = fc.fit_jobs(history, trained_through=day, options=options)
    log_history = log_day_history(day, settings)
    jobs += fc.fit_jobs(log_history, trained_through=day, options=log_options(options, log_history))
    size = max(1, math.ceil(len(jobs) / (FIT_CHUNKS_PER_WORKER * 4)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    futures = [
        fit_series_task.submit(chunk, f"{day:%Y-%m-%d} {i + 1}/{len(chunks)}")
        for i, chunk in enumerate(chunks)
    ]
    models = dict(item for future in futures for item in future.result())
    log_models = sum(1 for _, endpoint, _ in models if endpoint == LOG_ENDPOINT)
    skipped = max(fc.series_candidates(history, options.metrics) - len(models) + log_models, 0)
    store_models(day, models, skipped, settings=settings, run_id=run_id)


@task(
    name="ingest-file",
    task_run_name="ingest {path}",
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=failed_on_io,
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


@task(name="rebuild-hours", task_run_name="rebuild {label}", **IO_RETRY)
def rebuild_hours_task(
    hours: list[datetime], settings: Settings, run_id: str | None, label: str
) -> int:
    return rebuild_hours([pd.Timestamp(h) for h in hours], settings=settings, run_id=run_id)


@task(name="compact", **IO_RETRY)
def compact_task(settings: Settings, run_id: str | None) -> int:
    return compact_pending(settings=settings, run_id=run_id)


@task(name="rebuild-days", task_run_name="rollups {label}", **IO_RETRY)
def rebuild_days_task(
    days: list[datetime], settings: Settings, run_id: str | None, label: str
) -> dict[str, int]:
    return rebuild_days([pd.Timestamp(d) for d in days], settings=settings, run_id=run_id)


@task(name="retention", **IO_RETRY)
def retention_task(
    settings: Settings, run_id: str | None, keep_days: list[datetime] | None = None
) -> dict:
    result = apply_retention(
        settings=settings,
        run_id=run_id,
        keep_days=[pd.Timestamp(d) for d in keep_days or []],
    )
    logger = get_run_logger()
    for sentence in retention_sentences(result):
        logger.info(sentence)
    return result


@task(name="score-hours", task_run_name="score {label}", **IO_RETRY)
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


@task(name="fit-models", task_run_name="models for {label}", **IO_RETRY)
def fit_models_task(day: datetime, settings: Settings, run_id: str | None, label: str) -> dict:
    models, skipped = models_for_day(pd.Timestamp(day), settings=settings, run_id=run_id)
    return {"series": len(models), "series_skipped": skipped}


@task(name="daily-report", task_run_name="report {label}", **IO_RETRY)
def report_task(day: datetime, settings: Settings, label: str) -> dict[str, Any]:
    written = write_report(settings, pd.Timestamp(day))
    return {
        "path": str(written.path),
        "insights": written.insights,
        "charts": written.charts,
        "logs": written.logs,
    }
