"""Recomputing metric partitions and scoring hours: the work behind the flows' tasks."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.ingest import catalog_for
from flows.settings import Settings
from schemas.common import empty_frame
from schemas.forecasts import Anomaly, Forecast, Incident
from schemas.metrics import (
    AvailabilityGap,
    EndpointHourly,
    EndpointMinutely,
    ErrorReasonsHourly,
    LatencySketch,
    StatusHourly,
    TrafficHourly,
)
from schemas.registry import partition_bounds, table_spec
from schemas.requests import Request
from transforms import forecast as fc
from transforms import incidents as incident_rules
from transforms.metrics import availability_gaps, endpoint_daily, hourly_tables, traffic_hourly
from warehouse.catalog import now
from warehouse.layout import Layout, date_partition, hour_partition
from warehouse.locks import day_locks
from warehouse.models import load_models, save_models
from warehouse.quality import (
    QualityResult,
    check_partitions,
    checked_columns,
    raise_for_failures,
)
from warehouse.retention import enforce_retention
from warehouse.storage import read_parquet_files, remove, write_parquet_many
from warehouse.tables import (
    Compacted,
    day_range,
    hour_range,
    merge_staged,
    partition_paths,
    partitions_between,
    publish_compacted,
    read_hours,
    read_partition_arrow,
    schema_version,
)

REQUEST_TEXT = ["service", "endpoint", "region", "error_reason", "user_id", "level"]
"""Text columns read dictionary-coded: the metric tables only group by them."""


class Batch:
    """Partitions computed by one task, published together: each table's frames validated by
    its Pandera model in one pass, then checked by the quality checkpoint (Great
    Expectations), the results recorded in the catalog, and published only if every check
    passed; a failure raises, naming table, partition and expectation."""

    def __init__(self, layout: Layout, catalog, run_id: str | None):
        self.layout, self.catalog, self.run_id = layout, catalog, run_id
        self.frames: dict[str, dict[str, pd.DataFrame]] = {}
        self.requests_rows: dict[str, int] = {}

    def add(self, table: str, partition: str, frame: pd.DataFrame) -> None:
        self.frames.setdefault(table, {})[partition] = frame

    def _validated(
        self, table: str, frames: dict[str, pd.DataFrame]
    ) -> tuple[dict[str, pd.DataFrame], list[QualityResult]]:
        """The frames validated by the table's Pandera model in one pass (types coerced);
        every failed rule becomes a failed quality result of the partition it is in."""
        present = [(p, f) for p, f in frames.items() if len(f)]
        if not present:
            return frames, []
        together = pd.concat([f for _, f in present], ignore_index=True)
        try:
            together = table_spec(table).model.validate(together, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            return frames, _schema_failures(table, present, exc)
        out = dict(frames)
        offset = 0
        for partition, frame in present:
            out[partition] = together.iloc[offset : offset + len(frame)].reset_index(drop=True)
            offset += len(frame)
        return out, []

    def check_and_publish(self) -> dict[str, int]:
        results = []
        for table in list(self.frames):
            self.frames[table], failures = self._validated(table, self.frames[table])
            results += failures
        for table, frames in self.frames.items():
            present = {p: f for p, f in frames.items() if len(f)}
            if present:
                rows = self.requests_rows if table == "endpoint_hourly" else None
                results += check_partitions(table, present, requests_rows=rows)
        self.catalog.record_quality(self.run_id, results)
        raise_for_failures(results)
        items = [
            (table, partition, frame)
            for table, frames in self.frames.items()
            for partition, frame in frames.items()
        ]
        files = write_parquet_many(
            [(f, self.layout.part_file(t, p)) for t, p, f in items if len(f)]
        )
        written = iter(files)
        records = []
        counts: dict[str, int] = {}
        for table, partition, frame in items:
            if len(frame):
                done = next(written)
                counts[table] = counts.get(table, 0) + done.rows
            else:
                done = None
                if not remove(self.layout.part_file(table, partition)):
                    continue
            records.append((table, partition, done, schema_version(table)))
        self.catalog.record_partitions(records, self.run_id)
        return counts


def _schema_failures(
    table: str, present: list[tuple[str, pd.DataFrame]], exc: pandera.errors.SchemaErrors
) -> list[QualityResult]:
    """Pandera's failure cases (rows of the frames in `present`, concatenated), grouped by
    the partition and the rule they broke."""
    partitions = [p for p, _ in present]
    offsets = np.cumsum([len(f) for _, f in present])
    cases = exc.failure_cases
    found: dict[tuple[str, str], list[str]] = {}
    for case in cases.itertuples():
        row = case.index if isinstance(case.index, (int, np.integer)) else None
        partition = (
            partitions[int(np.searchsorted(offsets, row, side="right"))] if row is not None else "*"
        )
        rule = f"{case.column} {case.check}" if isinstance(case.column, str) else str(case.check)
        found.setdefault((partition, f"schema: {rule}"), []).append(str(case.failure_case))
    return [
        QualityResult(
            table=table,
            partition=partition,
            expectation=rule,
            success=False,
            unexpected=len(values),
            details=", ".join(values[:5]),
        )
        for (partition, rule), values in sorted(found.items())
    ]


COMPACTION_BATCH_ROWS = 1_000_000
"""Merged partitions held at once before they are checked and published."""


def compact_pending(*, settings: Settings, run_id: str | None) -> int:
    """Compacts every partition with staged fragments (or rows of files gone from it) into
    its single file, each checked by the quality checkpoint before it is published; returns
    the partitions compacted."""
    catalog = catalog_for(settings.catalog_url)
    layout = Layout(settings.warehouse_dir)
    pending = catalog.pending_partitions()
    days = {partition_day(partition) for _, partition, _ in pending}
    with day_locks(settings.locks_dir, days):
        return _compact(pending, layout=layout, catalog=catalog, run_id=run_id)


def partition_day(partition: str) -> pd.Timestamp:
    """The UTC day of a `date=YYYY-MM-DD[/hour=HH]` partition."""
    return partition_bounds(partition)[0].floor("D")


def _compact(pending, *, layout: Layout, catalog, run_id: str | None) -> int:
    held: list[tuple[Compacted, object]] = []

    def flush() -> None:
        frames: dict[str, dict[str, pd.DataFrame]] = {}
        for merged, _ in held:
            if merged.rows is not None and merged.rows.num_rows:
                columns = checked_columns(merged.table)
                frames.setdefault(merged.table, {})[merged.partition] = merged.rows.select(
                    columns
                ).to_pandas()
        results = [r for table, f in frames.items() for r in check_partitions(table, f)]
        catalog.record_quality(run_id, results)
        raise_for_failures(results)
        for merged, marked_at in held:
            publish_compacted(layout, catalog, merged, run_id=run_id)
            catalog.clear_pending(merged.table, merged.partition, marked_at)
        held.clear()

    rows = 0
    for table, partition, marked_at in pending:
        merged = merge_staged(layout, catalog, table, partition)
        held.append((merged, marked_at))
        rows += merged.rows.num_rows if merged.rows is not None else 0
        if rows >= COMPACTION_BATCH_ROWS:
            flush()
            rows = 0
    flush()
    return len(pending)


def rebuild_hours(hours: list[pd.Timestamp], *, settings: Settings, run_id: str | None) -> int:
    """Recomputes the hourly metric tables of `hours` (holding their days' locks); returns the
    endpoint_hourly rows written."""
    with day_locks(settings.locks_dir, [pd.Timestamp(h) for h in hours]):
        return _rebuild_hours(hours, settings=settings, run_id=run_id)


def _rebuild_hours(hours: list[pd.Timestamp], *, settings: Settings, run_id: str | None) -> int:
    """Recomputes every hourly metric table for each hour from its `requests` partition;
    returns the `endpoint_hourly` rows written. Hours whose requests retention removed are
    left as they are."""
    catalog = catalog_for(settings.catalog_url)
    layout = Layout(settings.warehouse_dir)
    started = now()
    retired = catalog.retired_partitions("requests")
    batch = Batch(layout, catalog, run_id)
    for hour in hours:
        partition = hour_partition(hour)
        if partition in retired:
            continue  # its requests are gone: the metric tables keep what they were built from
        requests = read_partition_arrow(layout, "requests", partition, dictionary=REQUEST_TEXT)
        tables = hourly_tables(
            requests if requests is not None else empty_frame(Request),
            slow_threshold_ms=settings.slow_threshold_ms,
            validate=False,  # the batch validates each table once, over all its hours
        )
        for table, frame in tables.items():
            batch.add(table, partition, frame)
        batch.requests_rows[partition] = (
            requests.num_rows - requests.column(Request.endpoint).null_count
            if requests is not None
            else 0
        )
    rows = batch.check_and_publish().get("endpoint_hourly", 0)
    catalog.clear_dirty(hours, marked_before=started)
    return rows


def rebuild_days(days: list[pd.Timestamp], *, settings: Settings, run_id: str | None) -> dict:
    """Recomputes the daily tables that depend on the given UTC days: their `endpoint_daily`,
    `traffic_hourly` for every day of their ISO weeks (ranks within the week change), and
    `availability_gaps` for them and the day before (a gap may run across midnight), holding
    the locks of all the days it writes."""
    days = sorted({pd.Timestamp(d).floor("D") for d in days})
    written = set(days) | {d - pd.Timedelta(days=1) for d in days}
    for day in days:
        week = day - pd.Timedelta(days=day.day_of_week)
        written |= set(pd.date_range(week, periods=7, freq="D"))
    with day_locks(settings.locks_dir, written):
        return _rebuild_days(days, settings=settings, run_id=run_id)


def _rebuild_days(days: list[pd.Timestamp], *, settings: Settings, run_id: str | None) -> dict:
    catalog = catalog_for(settings.catalog_url)
    layout = Layout(settings.warehouse_dir)
    batch = Batch(layout, catalog, run_id)
    for day in days:
        end = day + pd.Timedelta(days=1)
        hourly = _read(layout, "endpoint_hourly", day, end, EndpointHourly)
        sketches = _read(layout, "latency_sketches", day, end, LatencySketch)
        batch.add("endpoint_daily", date_partition(day), endpoint_daily(hourly, sketches))
    for week in sorted({d - pd.Timedelta(days=d.day_of_week) for d in days}):
        end = week + pd.Timedelta(days=7)
        paths = partition_paths(
            layout, "endpoint_hourly", partitions_between("endpoint_hourly", week, end)
        )
        hourly = read_parquet_files(
            paths, columns=[EndpointHourly.hour_start, EndpointHourly.requests]
        )
        traffic = traffic_hourly(hourly) if hourly is not None else empty_frame(TrafficHourly)
        day_of_row = traffic[TrafficHourly.hour_start].dt.floor("D")
        for day in day_range(week, end):
            batch.add("traffic_hourly", date_partition(day), traffic[day_of_row == day])
    horizon = newest_minute(layout)
    reference = pd.Timedelta(minutes=settings.gap_reference_minutes)
    for day in sorted({d - pd.Timedelta(days=back) for d in days for back in (0, 1)}):
        gaps = empty_frame(AvailabilityGap)
        if horizon is not None and day < horizon:
            # a gap that starts on `day` is followed for up to GAP_FOLLOW_DAYS
            until = min(day + GAP_FOLLOW_DAYS, horizon)
            minutely = _read(layout, "endpoint_minutely", day - reference, until, EndpointMinutely)
            gaps = availability_gaps(
                minutely,
                start=day,
                end=day + pd.Timedelta(days=1),
                horizon=until,
                min_minutes=settings.gap_min_minutes,
                min_expected=settings.gap_min_expected_requests,
                reference_minutes=settings.gap_reference_minutes,
            )
        batch.add("availability_gaps", date_partition(day), gaps)
    written = batch.check_and_publish()
    return {table: written.get(table, 0) for table in DAILY_METRICS}


GAP_FOLLOW_DAYS = pd.Timedelta(days=8)
DAILY_METRICS = ("endpoint_daily", "traffic_hourly", "availability_gaps")


def apply_retention(*, settings: Settings, run_id: str | None, now: pd.Timestamp) -> dict:
    """Removes partitions past their table's retention; returns {table: partitions removed}
    and the rows they held."""
    removed = enforce_retention(
        Layout(settings.warehouse_dir),
        catalog_for(settings.catalog_url),
        settings.retention,
        now=now,
        run_id=run_id,
    )
    tables: dict[str, int] = {}
    for item in removed:
        tables[item.table] = tables.get(item.table, 0) + 1
    return {"partitions": tables, "rows": sum(item.rows for item in removed)}


def newest_minute(layout: Layout) -> pd.Timestamp | None:
    """The end of the newest minute with a request in the warehouse (gaps are judged up to
    it); None when there is no data."""
    folder = layout.table_dir("endpoint_minutely")
    dates = sorted(folder.glob("date=*")) if folder.exists() else []
    for date_dir in reversed(dates):
        for hour_dir in sorted(date_dir.glob("hour=*"), reverse=True):
            path = hour_dir / "part-0.parquet"
            if path.exists():
                column = pq.read_table(path, columns=[EndpointMinutely.minute_start]).column(0)
                newest = pc.max(column).as_py()
                if newest is not None:
                    return pd.Timestamp(newest) + pd.Timedelta(minutes=1)
    return None


def _read(
    layout: Layout, table: str, start: pd.Timestamp, end: pd.Timestamp, model
) -> pd.DataFrame:
    frame = read_hours(layout, table, start, end)
    return frame if frame is not None else empty_frame(model)


def _series_frame(
    layout: Layout, start: pd.Timestamp, end: pd.Timestamp, options: fc.ForecastOptions
) -> pd.DataFrame:
    """endpoint_hourly rows of [start, end), with the service and global totals when the
    options ask for them (latency percentiles of a total from the merged sketches)."""
    frame = _read(layout, "endpoint_hourly", start, end, EndpointHourly)
    if not options.totals or frame.empty:
        return frame
    sketches = None
    if any(m.startswith("latency_p") for m in options.metrics):
        sketches = _read(layout, "latency_sketches", start, end, LatencySketch)
    return fc.with_totals(frame, sketches, metrics=options.metrics)


def models_for_day(
    day: pd.Timestamp, *, settings: Settings, refit: bool = False, run_id: str | None = None
) -> tuple[dict[tuple[str, str, str], str], int]:
    """(models, series skipped for too little traffic) of the day, trained on the window
    strictly before it: loaded when stored, else fitted, stored and recorded in the catalog
    (at most one fit per series per day)."""
    options = settings.forecast
    if not refit:
        stored = stored_models(day, settings)
        if stored is not None:
            return stored
    history = day_history(day, settings)
    workers = options.fit_workers or os.cpu_count() or 1
    models = fc.fit_models(history, trained_through=day, options=options, workers=workers)
    skipped = max(fc.series_candidates(history, options.metrics) - len(models), 0)
    store_models(day, models, skipped, settings=settings, run_id=run_id)
    return models, skipped


def stored_models(day: pd.Timestamp, settings: Settings):
    """(models, skipped) stored for the day by this model format, else None."""
    return load_models(settings.models_dir, day, version=fc.MODEL_VERSION)


def day_history(day: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    """The metric_series rows the day's models train on: the window strictly before it."""
    options = settings.forecast
    start = day - pd.Timedelta(days=options.training_days)
    return fc.metric_series(
        _series_frame(Layout(settings.warehouse_dir), start, day, options),
        hours=hour_range(start, day),
        metrics=options.metrics,
    )


def store_models(
    day: pd.Timestamp,
    models: dict[tuple[str, str, str], str],
    skipped: int,
    *,
    settings: Settings,
    run_id: str | None,
) -> None:
    """Writes the day's models and records one catalog row per series."""
    path = save_models(settings.models_dir, day, models, skipped, version=fc.MODEL_VERSION)
    rows = []
    for (service, endpoint, metric), model_json in sorted(models.items()):
        parameters = fc.model_parameters(model_json)
        rows.append(
            {
                "service": service,
                "endpoint": endpoint,
                "metric": metric,
                "trained_through": f"{day:%Y-%m-%dT%H:%M:%SZ}",
                "method": parameters["method"],
                "fit_seconds": parameters["fit_seconds"],
                "parameters": json.dumps(parameters),
                "path": str(path),
            }
        )
    catalog_for(settings.catalog_url).record_models(rows, run_id)


def score_hours(
    day: pd.Timestamp,
    hours: pd.DatetimeIndex,
    *,
    settings: Settings,
    run_id: str | None,
    refit: bool = False,
) -> dict[str, int]:
    """Forecasts and anomalies for `hours` (all inside `day`) with the day's models, judged
    with the hours before them as context (the day before's models serve those), then the
    incidents of the days around them; holds the locks of the days it writes."""
    written = pd.date_range(day - INCIDENT_FOLLOW, day + DAY, freq="D")
    with day_locks(settings.locks_dir, written):
        return _score_hours(day, hours, settings=settings, run_id=run_id, refit=refit)


def _score_hours(
    day: pd.Timestamp,
    hours: pd.DatetimeIndex,
    *,
    settings: Settings,
    run_id: str | None,
    refit: bool,
) -> dict[str, int]:
    layout = Layout(settings.warehouse_dir)
    catalog = catalog_for(settings.catalog_url)
    options = settings.forecast
    models, skipped = models_for_day(day, settings=settings, refit=refit, run_id=run_id)
    context_start = hours[0] - fc.CONTEXT_POINTS * HOUR
    previous = None
    if context_start < day:
        previous, _ = models_for_day(day - DAY, settings=settings, run_id=run_id)
    end = hours[-1] + HOUR
    actuals = fc.metric_series(
        _series_frame(layout, context_start, end, options),
        hours=hour_range(context_start, end),
        metrics=options.metrics,
    )
    forecasts, anomalies = fc.score(
        models, actuals, hours=hours, options=options, previous=previous
    )
    batch = Batch(layout, catalog, run_id)
    for hour in hours:
        partition = hour_partition(hour)
        batch.add("forecasts", partition, forecasts[forecasts[Forecast.hour_start] == hour])
        batch.add("anomalies", partition, anomalies[anomalies[Anomaly.hour_start] == hour])
    written = batch.check_and_publish()
    incident_rows = rebuild_incidents(hours, layout=layout, catalog=catalog, run_id=run_id)
    return {
        "series": len(models),
        "series_skipped": skipped,
        "forecasts": written.get("forecasts", 0),
        "anomalies": written.get("anomalies", 0),
        "incidents": incident_rows,
    }


HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
INCIDENT_FOLLOW = pd.Timedelta(days=2)
"""How far an incident is followed: scoring an hour recomputes the incidents that start on
its day, the day after, or up to this many days before."""


def rebuild_incidents(
    hours: pd.DatetimeIndex, *, layout: Layout, catalog, run_id: str | None
) -> int:
    """Recomputes the `incidents` partitions the anomalies of `hours` can change: the days
    from INCIDENT_FOLLOW before the first hour's day to the day after the last's, from the
    anomalies around them (and the status mix of the 24 hours before each incident). Returns
    the incident rows written."""
    first, last = hours[0].floor("D"), hours[-1].floor("D")
    days = list(day_range(first - INCIDENT_FOLLOW, last + 2 * DAY))
    # an incident starting on the first rewritten day is seen whole from the day before it
    start, end = days[0] - DAY, days[-1] + INCIDENT_FOLLOW + DAY
    anomalies = _read(layout, "anomalies", start, end, Anomaly)
    found = empty_frame(Incident)
    if not anomalies.empty:
        context = start - incident_rules.BEFORE
        found = incident_rules.incidents(
            anomalies,
            _read(layout, "status_hourly", context, end, StatusHourly),
            _read(layout, "error_reasons_hourly", context, end, ErrorReasonsHourly),
        )
    batch = Batch(layout, catalog, run_id)
    started = found["start"].dt.floor("D")
    for day in days:
        batch.add("incidents", date_partition(day), found[started == day].reset_index(drop=True))
    return batch.check_and_publish().get("incidents", 0)
