"""Recomputing metric partitions and scoring hours: the work behind the flows' tasks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import replace

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.ingest import catalog_for
from flows.settings import Settings
from flows.templates import rebuild_templates
from schemas.common import empty_frame
from schemas.forecasts import Anomaly, Forecast, Incident
from schemas.metrics import (
    AvailabilityGap,
    EndpointHourly,
    EndpointMinutely,
    TrafficHourly,
)
from schemas.requests import Request
from transforms import forecast as fc
from transforms import incidents as incident_rules
from transforms import log_anomalies as logs
from transforms import rules as threshold_rules
from transforms import short as short_episodes
from transforms.metrics import availability_gaps, endpoint_daily, hourly_tables, traffic_hourly
from warehouse import compaction
from warehouse.catalog import now
from warehouse.layout import TABLES, Layout, date_partition, hour_partition
from warehouse.locks import day_locks
from warehouse.models import load_models, save_models
from warehouse.publish import Batch
from warehouse.retention import enforce_retention
from warehouse.tables import (
    day_range,
    hour_range,
    newest_hour,
    read_hours,
    read_partition_arrow,
)
from warehouse.templates import read_templates

REQUEST_TEXT = ["source", "service", "endpoint", "region", "error_reason", "user_id", "level"]
"""Text columns read dictionary-coded: the metric tables only group by them."""


def compact_pending(*, settings: Settings, run_id: str | None) -> int:
    """Compacts every partition waiting for it (`warehouse.compaction.compact_pending`);
    returns the partitions compacted."""
    return compaction.compact_pending(
        Layout(settings.warehouse_dir),
        catalog_for(settings.catalog_url),
        locks_dir=settings.locks_dir,
        run_id=run_id,
    )


def rebuild_hours(
    hours: list[pd.Timestamp],
    *,
    settings: Settings,
    run_id: str | None,
    templates: bool = True,
) -> int:
    """Recomputes the hourly metric tables of `hours` (holding their days' locks), then,
    unless `templates` is false, the template tables they change; returns the endpoint_hourly
    rows written."""
    with day_locks(settings.locks_dir, [pd.Timestamp(h) for h in hours]):
        return _rebuild_hours(hours, settings=settings, run_id=run_id, templates=templates)


def _rebuild_hours(
    hours: list[pd.Timestamp], *, settings: Settings, run_id: str | None, templates: bool = True
) -> int:
    """Recomputes every hourly metric table for each hour from its `requests` partition,
    then the template tables (`flows.templates`); returns the `endpoint_hourly` rows written.
    Hours whose requests retention removed are left as they are."""
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
            dimensions=settings.dimensions,
        )
        for table, frame in tables.items():
            batch.add(table, partition, frame)
        batch.requests_rows[partition] = (
            requests.num_rows - requests.column(Request.endpoint).null_count
            if requests is not None
            else 0
        )
    rows = batch.check_and_publish().get("endpoint_hourly", 0)
    if templates:
        rebuild_templates(hours, settings=settings, run_id=run_id)
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
        hourly = read_hours(layout, "endpoint_hourly", day, end)
        sketches = read_hours(layout, "latency_sketches", day, end)
        batch.add("endpoint_daily", date_partition(day), endpoint_daily(hourly, sketches))
    for week in sorted({d - pd.Timedelta(days=d.day_of_week) for d in days}):
        end = week + pd.Timedelta(days=7)
        hourly = read_hours(
            layout,
            "endpoint_hourly",
            week,
            end,
            columns=[EndpointHourly.hour_start, EndpointHourly.requests],
        )
        traffic = traffic_hourly(hourly)
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
            minutely = read_hours(layout, "endpoint_minutely", day - reference, until)
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


def apply_retention(
    *, settings: Settings, run_id: str | None, keep_days: Iterable[pd.Timestamp] = ()
) -> dict:
    """Removes partitions past their table's retention, counted back from the newest data,
    except what this run wrote (its published partitions, and every partition of
    `keep_days`); returns what was removed and kept, per table, for the summary and the CLI."""
    catalog = catalog_for(settings.catalog_url)
    written = catalog.partitions_frame()
    keep = {
        (row.table_name, row.partition) for row in written[written["run_id"] == run_id].itertuples()
    }
    for day in keep_days:
        for table in TABLES:
            keep.add((table, date_partition(day)))
            keep.update((table, hour_partition(h)) for h in hour_range(day, day + DAY))
    result = enforce_retention(
        Layout(settings.warehouse_dir), catalog, settings.retention, run_id=run_id, keep=keep
    )
    removed: dict[str, int] = {}
    for item in result.removed:
        removed[item.table] = removed.get(item.table, 0) + 1
    kept: dict[str, int] = {}
    for table, _ in result.kept:
        kept[table] = kept.get(table, 0) + 1
    return {
        "partitions": removed,
        "rows": sum(item.rows for item in result.removed),
        "kept": kept,
        "older_than": {
            table: f"{cutoff:%Y-%m-%d}"
            for table, cutoff in result.cutoffs.items()
            if table in removed or table in kept
        },
        "newest": None if result.newest is None else f"{result.newest:%Y-%m-%d %H:%M}",
        "days": {table: settings.retention[table] for table in result.cutoffs},
    }


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


def _series_frame(
    layout: Layout, start: pd.Timestamp, end: pd.Timestamp, options: fc.ForecastOptions
) -> pd.DataFrame:
    """endpoint_hourly rows of [start, end), with the service and global totals when the
    options ask for them (latency percentiles of a total from the merged sketches)."""
    frame = read_hours(layout, "endpoint_hourly", start, end)
    if not options.totals or frame.empty:
        return frame
    sketches = None
    if any(m.startswith("latency_p") for m in options.metrics):
        sketches = read_hours(layout, "latency_sketches", start, end)
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
    log_history = log_day_history(day, settings)
    models |= fc.fit_models(
        log_history,
        trained_through=day,
        options=log_options(options, log_history),
        workers=workers,
    )
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


def log_options(options: fc.ForecastOptions, log_history: pd.DataFrame) -> fc.ForecastOptions:
    """The forecast options of the service-log series: the same detector on their metrics
    (log_errors, and the template counts `log_history` holds)."""
    counted = sorted(set(log_history["metric"]) - {logs.LOG_ERRORS}) if len(log_history) else []
    return replace(options, metrics=(logs.LOG_ERRORS, *counted))


TEMPLATE_COLUMNS = ["minute_start", "service", "template_id", "level", "events"]
"""The `log_templates_minutely` columns the template counts read."""


def log_day_history(day: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    """The service-log series the day's log models train on, over the window strictly before
    it: each service's log errors, and the events per hour of its templates chosen by
    `logs.counted_templates` (the [forecast] template_series busiest, and as many at WARNING
    or above, first seen at least template_min_history_days before the day)."""
    options = settings.forecast
    layout = Layout(settings.warehouse_dir)
    start = day - pd.Timedelta(days=options.training_days)
    hours = hour_range(start, day)
    levels = read_hours(layout, "log_levels_minutely", start, day)
    errors = logs.log_error_series(levels, hours=hours)
    if options.template_series <= 0:
        return errors
    minutely = read_hours(layout, "log_templates_minutely", start, day, columns=TEMPLATE_COLUMNS)
    templates = read_templates(layout)
    chosen = logs.counted_templates(
        minutely,
        templates,
        trained_through=day,
        limit=options.template_series,
        min_history=pd.Timedelta(days=options.template_min_history_days),
    )
    counts = logs.template_count_series(minutely, templates, hours=hours, templates=chosen)
    if counts.empty:
        return errors
    return pd.concat([errors, counts], ignore_index=True) if len(errors) else counts


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
    since = open_incidents_since(Layout(settings.warehouse_dir), day - INCIDENT_FOLLOW)
    written = pd.date_range(since, day + DAY, freq="D")
    with day_locks(settings.locks_dir, written):
        return _score_hours(
            day, hours, settings=settings, run_id=run_id, refit=refit, incidents_since=since
        )


def _score_hours(
    day: pd.Timestamp,
    hours: pd.DatetimeIndex,
    *,
    settings: Settings,
    run_id: str | None,
    refit: bool,
    incidents_since: pd.Timestamp,
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
    modelled = sorted({s for s, e, _ in models if e == logs.LOG_ENDPOINT})
    log_actuals = logs.log_error_series(
        read_hours(layout, "log_levels_minutely", context_start, end),
        hours=hour_range(context_start, end),
        services=modelled,
        from_first_event=False,
    )
    parts = [actuals, log_actuals]
    if counted_templates(models):
        templates = read_templates(layout)
        # a template re-mined under another text since the fit has no events left to score
        models = logs.without_remined(models, templates)
        parts.append(
            logs.template_count_series(
                read_hours(
                    layout, "log_templates_minutely", context_start, end, columns=TEMPLATE_COLUMNS
                ),
                templates,
                hours=hour_range(context_start, end),
                templates=counted_templates(models),
            )
        )
    parts = [frame for frame in parts if len(frame)]
    actuals = pd.concat(parts, ignore_index=True) if parts else actuals
    forecasts, anomalies = fc.score(
        models, actuals, hours=hours, options=options, previous=previous
    )
    patterns = logs.new_patterns(
        read_hours(layout, "log_templates", hours[0].floor("D"), end),
        read_hours(layout, "log_templates_minutely", hours[0], end),
        hours=hours,
    )
    parts = [logs.with_log_kinds(anomalies), patterns, short_anomalies(layout, forecasts, hours)]
    if settings.rules:
        parts.append(rule_anomalies(layout, settings.rules, hours))
    anomalies = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    batch = Batch(layout, catalog, run_id)
    for hour in hours:
        partition = hour_partition(hour)
        batch.add("forecasts", partition, forecasts[forecasts[Forecast.hour_start] == hour])
        batch.add("anomalies", partition, anomalies[anomalies[Anomaly.hour_start] == hour])
    written = batch.check_and_publish()
    incident_rows = rebuild_incidents(
        hours,
        layout=layout,
        catalog=catalog,
        run_id=run_id,
        since=incidents_since,
        rules=settings.rules,
    )
    return {
        "series": len(models),
        "series_skipped": skipped,
        "forecasts": written.get("forecasts", 0),
        "anomalies": written.get("anomalies", 0),
        "incidents": incident_rows,
    }


def rule_tables(
    layout: Layout, rules, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(endpoint_minutely, endpoint_hourly) rows the rules read to judge [start, end): from
    the longest `for` of the rules reading each before `start` (empty when none does)."""
    minutely_holds = [r.hold for r in rules if r.minutely]
    hourly_holds = [r.hold for r in rules if not r.minutely]
    minutely = (
        read_hours(layout, "endpoint_minutely", (start - max(minutely_holds)).floor("h"), end)
        if minutely_holds
        else empty_frame(EndpointMinutely)
    )
    hourly = (
        read_hours(layout, "endpoint_hourly", start - max(hourly_holds), end)
        if hourly_holds
        else empty_frame(EndpointHourly)
    )
    return minutely, hourly


def rule_anomalies(layout: Layout, rules, hours: pd.DatetimeIndex) -> pd.DataFrame:
    """The rules' anomalies of `hours` (`transforms.rules.rule_anomalies`), judged on the
    data up to the end of each."""
    minutely, hourly = rule_tables(layout, rules, hours[0], hours[-1] + HOUR)
    return threshold_rules.rule_anomalies(rules, minutely, hourly, hours=hours)


def short_anomalies(
    layout: Layout, forecasts: pd.DataFrame, hours: pd.DatetimeIndex
) -> pd.DataFrame:
    """The short episodes of `hours` (`transforms.short.short_anomalies`): each endpoint's
    minutes against its hour's forecast, its minute-to-minute noise measured on the
    CONTEXT_HOURS hours before."""
    minutely = read_hours(
        layout,
        "endpoint_minutely",
        hours[0] - short_episodes.CONTEXT_HOURS * HOUR,
        hours[-1] + HOUR,
    )
    return short_episodes.short_anomalies(minutely, forecasts, hours=hours)


def rule_stretches(layout: Layout, rules, anomalies: pd.DataFrame) -> pd.DataFrame | None:
    """The stretches of the rules among `anomalies` (each reached its `for` inside the hours
    they cover), for the incidents' causes; None when no rule fired."""
    fired = anomalies[anomalies[Anomaly.kind] == threshold_rules.RULE_KIND]
    named = [r for r in rules if r.anomaly_metric in set(fired[Anomaly.metric])]
    if not named:
        return None
    first, last = fired[Anomaly.hour_start].min(), fired[Anomaly.hour_start].max()
    minutely, hourly = rule_tables(layout, named, first, last + HOUR)
    parts = [
        threshold_rules.rule_stretches(rule, minutely if rule.minutely else hourly)
        for rule in named
    ]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else None


def counted_templates(models: dict[tuple[str, str, str], str]) -> list[tuple[str, str]]:
    """(service, template_id) of the template counts among `models`, sorted."""
    found = set()
    for service, endpoint, metric in models:
        template = logs.counted_template_of(metric) if endpoint == logs.LOG_ENDPOINT else None
        if template is not None:
            found.add((service, template))
    return sorted(found)


HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
INCIDENT_FOLLOW = pd.Timedelta(days=2)
"""How far an incident is followed: scoring an hour recomputes the incidents that start on
its day, the day after, or up to this many days before (and those still open, see
`open_incidents_since`)."""
OPEN_LOOKBACK = pd.Timedelta(days=14)
"""How far before INCIDENT_FOLLOW the incident partitions are searched for incidents that were
still open when last written."""


def open_incidents_since(layout: Layout, day: pd.Timestamp) -> pd.Timestamp:
    """The first day whose incidents scoring must rewrite: `day`, or the start day of an older
    incident (up to OPEN_LOOKBACK before it) that was open when its partition was last written,
    so that its end, status and resolution follow what the newer hours say."""
    earlier = read_hours(layout, "incidents", day - OPEN_LOOKBACK, day)
    if "status" not in earlier or earlier.empty:
        return day
    still_open = earlier[earlier["status"] == "open"]
    return min(day, still_open["start"].min().floor("D")) if len(still_open) else day


def rebuild_incidents(
    hours: pd.DatetimeIndex,
    *,
    layout: Layout,
    catalog,
    run_id: str | None,
    since: pd.Timestamp | None = None,
    rules=(),
) -> int:
    """Recomputes the `incidents` partitions the anomalies of `hours` can change: the days
    from INCIDENT_FOLLOW before the first hour's day (or `since`, when earlier) to the day
    after the last's, from the anomalies around them (and the status, error reason, region,
    configured dimension and log template mixes of their hours and the 24 hours before them,
    for the attribution, and how long each of `rules` that fired held), open or resolved as
    of the newest hour scored. Returns the incident rows written."""
    first, last = hours[0].floor("D"), hours[-1].floor("D")
    begin = first - INCIDENT_FOLLOW if since is None else min(since, first - INCIDENT_FOLLOW)
    days = list(day_range(begin, last + 2 * DAY))
    # an incident starting on the first rewritten day is seen whole from the day before it
    start, end = days[0] - DAY, days[-1] + INCIDENT_FOLLOW + DAY
    anomalies = read_hours(layout, "anomalies", start, end)
    # the newest hour scored: a warehouse too young for models has a rule's anomalies alone
    scored = [h for t in ("forecasts", "anomalies") if (h := newest_hour(layout, t)) is not None]
    newest = max([*scored, hours[-1]])
    found = empty_frame(Incident)
    if not anomalies.empty:
        context = start - incident_rules.BEFORE
        logged = anomalies[Anomaly.endpoint] == logs.LOG_ENDPOINT
        found = incident_rules.incidents(
            anomalies,
            read_hours(layout, "status_hourly", context, end),
            read_hours(layout, "error_reasons_hourly", context, end),
            read_templates(layout),
            # the templates' levels, and their mix, in the hours of the log anomalies and the
            # 24 hours before them
            read_hours(
                layout,
                "log_templates_minutely",
                anomalies.loc[logged, Anomaly.hour_start].min() - incident_rules.BEFORE,
                anomalies.loc[logged, Anomaly.hour_start].max() + HOUR,
                columns=TEMPLATE_COLUMNS,
            )
            if logged.any()
            else None,
            newest_hour=newest,
            rule_stretches=rule_stretches(layout, rules, anomalies),
            region_hourly=read_hours(layout, "region_hourly", context, end),
            dimension_hourly=read_hours(layout, "dimension_hourly", context, end),
        )
    batch = Batch(layout, catalog, run_id)
    started = found["start"].dt.floor("D")
    for day in days:
        batch.add("incidents", date_partition(day), found[started == day].reset_index(drop=True))
    return batch.check_and_publish().get("incidents", 0)
