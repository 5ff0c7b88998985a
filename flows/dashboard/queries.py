"""The dashboard's reads: plain SQL over the warehouse views (DuckDB, read-only) and over the
catalog's ledger of runs and files. Each returns its rows and the SQL that made them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa

from transforms.log_anomalies import ERROR_LEVELS
from transforms.metrics.sketch import sketch_quantiles
from warehouse.layout import TABLES
from warehouse.query import empty_view_sql, view_sql

RANGES = {"24h": pd.Timedelta(hours=24), "7d": pd.Timedelta(days=7), "30d": pd.Timedelta(days=30)}
"""The time range presets, counted back from the newest hour in the warehouse."""

Result = tuple[pd.DataFrame, str]


@dataclass(frozen=True)
class Filters:
    """Hours `start` <= hour_start < `end` (UTC); `service`, `endpoint`, `region` None for
    all; `dimension` and `value` (both or neither) a configured dimension's value."""

    start: pd.Timestamp
    end: pd.Timestamp
    service: str | None = None
    endpoint: str | None = None
    region: str | None = None
    dimension: str | None = None
    value: str | None = None

    @property
    def breakdown(self) -> str | None:
        """The table that answers for a region or dimension filter, None without one."""
        if self.region is not None:
            return "region_hourly"
        if self.dimension is not None:
            return "dimension_hourly"
        return None


def filter_problem(filters: Filters) -> str | None:
    """Why the tables cannot answer this combination of filters, in one sentence; None when
    they can."""
    if filters.region is not None and filters.dimension is not None:
        return (
            "A region and a dimension cannot be combined: region_hourly and dimension_hourly "
            "break the requests down separately; clear one of them."
        )
    if filters.region is not None and (filters.service or filters.endpoint):
        return (
            "Regions are counted over every service (region_hourly has no service or "
            "endpoint): clear the service and endpoint to filter by region."
        )
    return None


def not_broken_down(filters: Filters) -> str | None:
    """The sentence a view of a table without regions or dimensions shows when one of them is
    filtered on; None when there is no such filter."""
    if filters.region is not None:
        return (
            "Not broken down by region: this view counts every region, "
            f"clear region {filters.region!r} to see it."
        )
    if filters.dimension is not None:
        return (
            f"Not broken down by {filters.dimension}: this view counts every value, "
            f"clear {filters.dimension} = {filters.value!r} to see it."
        )
    return None


def literal(value: object) -> str:
    """`value` as a SQL literal, so the SQL shown is the SQL run and can be pasted into
    `logcast query`."""
    if value is None:
        return "NULL"
    if isinstance(value, pd.Timestamp):
        return f"TIMESTAMPTZ '{value.tz_convert('UTC').isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def where_sql(
    filters: Filters, time_column: str = "hour_start", *, endpoint: bool = True,
    service: bool = True, start: pd.Timestamp | None = None,
) -> str:  # fmt: skip
    start = filters.start if start is None else start
    clauses = [
        f"{time_column} >= {literal(start)}",
        f"{time_column} < {literal(filters.end)}",
        dates_sql(start, filters.end),
    ]
    if service and filters.service is not None:
        clauses.append(f"service = {literal(filters.service)}")
    if endpoint and filters.endpoint is not None:
        clauses.append(f"endpoint = {literal(filters.endpoint)}")
    return "WHERE " + "\n  AND ".join(clauses)


def dates_sql(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """The hive `date` partitions holding times `start` <= t < `end`: DuckDB then opens only
    their files (a table's partition is the UTC day of its time column)."""
    first = start.tz_convert("UTC")
    last = (end - pd.Timedelta(microseconds=1)).tz_convert("UTC")
    return f"date BETWEEN DATE '{first:%Y-%m-%d}' AND DATE '{last:%Y-%m-%d}'"


def run_sql(root: Path, sql: str) -> Result:
    """Runs `sql` on a connection holding only the views of the tables it names (a view reads
    the footers of every file it globs that its filters on `date` do not rule out: a page
    refresh makes only those it needs)."""
    with duckdb.connect() as conn:
        named = set(re.findall(r"\w+", sql.lower()))  # a superset of the tables read
        for table in TABLES:
            if table in named:
                present = any((root / table).glob("**/*.parquet"))
                conn.execute(view_sql(root, table) if present else empty_view_sql(table))
        return conn.execute(sql).df(), sql


def newest_hour(root: Path) -> pd.Timestamp | None:
    """The start of the newest hour with metrics, or None when there is none yet: read from
    the newest day's partitions only (the page asks on every refresh)."""
    folder = root / "endpoint_hourly"
    days = sorted((p.name for p in folder.glob("date=*")), reverse=True) if folder.is_dir() else []
    for day in days:  # a day emptied by retention or a rewrite holds no file: the one before
        if any((folder / day).glob("hour=*/*.parquet")):
            start = pd.Timestamp(day.removeprefix("date="), tz="UTC")
            frame, _ = run_sql(
                root,
                "SELECT max(hour_start) AS newest FROM endpoint_hourly\n"
                f"WHERE {dates_sql(start, start + pd.Timedelta(days=1))}",
            )
            value = frame["newest"].iloc[0]
            return None if pd.isna(value) else pd.Timestamp(value).tz_convert("UTC")
    return None


def preset_filters(
    newest: pd.Timestamp, preset: str, service: str | None = None, endpoint: str | None = None
) -> Filters:
    """The hours of a preset range ending with the newest hour."""
    end = newest + pd.Timedelta(hours=1)
    return Filters(end - RANGES[preset], end, service, endpoint)


def series(root: Path) -> Result:
    """Every (service, endpoint) with metrics: the choices of the filters."""
    return run_sql(
        root,
        "SELECT DISTINCT service, endpoint FROM endpoint_hourly ORDER BY service, endpoint",
    )


def traffic(root: Path, filters: Filters) -> Result:
    """Per hour: requests, errors (4xx + 5xx), error rate, slow share, over the filter's
    endpoints; of a region from `region_hourly`, of a dimension's value from
    `dimension_hourly` (which count errors as rates and have no slow share)."""
    if filters.region is not None:
        if filter_problem(filters):
            raise ValueError(filter_problem(filters))
        sql = f"""SELECT hour_start,
  sum(requests)::BIGINT AS requests,
  round(sum(requests * (1 - success_rate)))::BIGINT AS errors,
  1 - sum(requests * success_rate) / sum(requests) AS error_rate,
  CAST(NULL AS DOUBLE) AS slow_rate
FROM region_hourly
{where_sql(filters, service=False, endpoint=False)}
  AND region = {literal(filters.region)}
GROUP BY hour_start
ORDER BY hour_start"""
        return run_sql(root, sql)
    if filters.dimension is not None:
        sql = f"""SELECT hour_start,
  sum(requests)::BIGINT AS requests,
  round(sum(requests * error_rate))::BIGINT AS errors,
  sum(requests * error_rate) / sum(requests) AS error_rate,
  CAST(NULL AS DOUBLE) AS slow_rate
FROM dimension_hourly
{where_sql(filters)}
  AND dimension = {literal(filters.dimension)}
  AND value = {literal(filters.value)}
GROUP BY hour_start
ORDER BY hour_start"""
        return run_sql(root, sql)
    sql = f"""SELECT hour_start,
  sum(requests)::BIGINT AS requests,
  sum(status_4xx + status_5xx)::BIGINT AS errors,
  sum(status_4xx + status_5xx) / sum(requests) AS error_rate,
  sum(slow_requests) / nullif(sum(timed_requests), 0) AS slow_rate
FROM endpoint_hourly
{where_sql(filters)}
GROUP BY hour_start
ORDER BY hour_start"""
    return run_sql(root, sql)


def daily(root: Path, filters: Filters) -> Result:
    """Per UTC day that the hours touch, from `endpoint_daily`: requests, errors, error rate,
    slow share, and (of one endpoint) its p50/p95/p99 latency merged from the day's
    sketches."""
    one = filters.endpoint is not None and filters.service is not None
    percentiles = (
        "max(latency_p50_ms) AS latency_p50_ms, max(latency_p95_ms) AS latency_p95_ms,\n"
        "  max(latency_p99_ms) AS latency_p99_ms"
        if one
        else "CAST(NULL AS DOUBLE) AS latency_p50_ms, CAST(NULL AS DOUBLE) AS latency_p95_ms,\n"
        "  CAST(NULL AS DOUBLE) AS latency_p99_ms"
    )
    sql = f"""SELECT day_start,
  sum(requests)::BIGINT AS requests,
  sum(status_4xx + status_5xx)::BIGINT AS errors,
  sum(status_4xx + status_5xx) / sum(requests) AS error_rate,
  sum(slow_requests) / nullif(sum(timed_requests), 0) AS slow_rate,
  {percentiles}
FROM endpoint_daily
{where_sql(filters, "day_start", start=filters.start.floor("D"))}
GROUP BY day_start
ORDER BY day_start"""
    return run_sql(root, sql)


PERCENTILES = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}


def percentiles(root: Path, filters: Filters) -> Result:
    """Per hour, the p50/p95/p99 latency of the filter's endpoints: of one endpoint its
    `endpoint_hourly` columns; of several, read from their merged `latency_sketches`
    (within the sketch's 1 %), so the percentiles are of all their requests together."""
    if filters.service is not None and filters.endpoint is not None:
        sql = f"""SELECT hour_start, latency_p50_ms, latency_p95_ms, latency_p99_ms
FROM endpoint_hourly
{where_sql(filters)}
  AND timed_requests > 0
ORDER BY hour_start"""
        return run_sql(root, sql)
    sql = f"""SELECT hour_start, bucket, sum(count)::BIGINT AS count
FROM latency_sketches
{where_sql(filters)}
GROUP BY hour_start, bucket"""
    rows, sql = run_sql(root, sql)
    return _from_sketch(rows, "hour_start"), sql


def range_percentiles(root: Path, filters: Filters) -> Result:
    """The p50/p95/p99 latency of every timed request of the filter's hours and endpoints,
    read from their merged `latency_sketches` (within 1 %)."""
    sql = f"""SELECT bucket, sum(count)::BIGINT AS count
FROM latency_sketches
{where_sql(filters)}
GROUP BY bucket"""
    rows, sql = run_sql(root, sql)
    return _from_sketch(rows.assign(everything=0), "everything").drop(columns="everything"), sql


def _from_sketch(rows: pd.DataFrame, group: str) -> pd.DataFrame:
    columns = [group, "timed_requests", *PERCENTILES]
    if rows.empty:
        return pd.DataFrame({c: [] for c in columns})
    codes, keys = pd.factorize(rows[group], sort=True)
    _, values = sketch_quantiles(
        codes, rows["bucket"].to_numpy("int64"), rows["count"].to_numpy("int64"),
        list(PERCENTILES.values()),
    )  # fmt: skip
    timed = rows.groupby(codes)["count"].sum().sort_index().to_numpy()
    frame = pd.DataFrame({group: keys, "timed_requests": timed})
    for name, column in zip(PERCENTILES, values, strict=True):
        frame[name] = column
    return frame[columns]


def peak_hours(root: Path, filters: Filters) -> Result:
    """Per hour of the day (UTC): the mean requests of that hour over the range and on how
    many days it was the day's busiest; over every endpoint from `traffic_hourly` (its
    `rank_in_day`), over some ranked here from `endpoint_hourly`."""
    if filters.service is None and filters.endpoint is None:
        source = f"""SELECT hour_start, requests, rank_in_day
  FROM traffic_hourly
  {where_sql(filters)}"""
    else:
        source = f"""SELECT hour_start, requests,
    rank() OVER (PARTITION BY date_trunc('day', hour_start) ORDER BY requests DESC) AS rank_in_day
  FROM (
    SELECT hour_start, sum(requests) AS requests
    FROM endpoint_hourly
    {where_sql(filters)}
    GROUP BY hour_start
  )"""
    sql = f"""WITH hours AS (
  {source}
)
SELECT hour(hour_start AT TIME ZONE 'UTC') AS hour_of_day,
  avg(requests) AS mean_requests,
  count(*) FILTER (WHERE rank_in_day = 1)::BIGINT AS days_peak,
  count(*)::BIGINT AS days
FROM hours
GROUP BY hour_of_day
ORDER BY hour_of_day"""
    return run_sql(root, sql)


def regions(root: Path, filters: Filters) -> Result:
    """Per region over the filter's hours (every service: `region_hourly` has no endpoint):
    requests, error rate and the worst hour's p95 latency."""
    region = "" if filters.region is None else f"\n  AND region = {literal(filters.region)}"
    sql = f"""SELECT region, sum(requests)::BIGINT AS requests,
  1 - sum(requests * success_rate) / sum(requests) AS error_rate,
  max(latency_p95_ms) AS worst_hour_p95_ms
FROM region_hourly
{where_sql(filters, service=False, endpoint=False)}{region}
GROUP BY region
ORDER BY requests DESC, region"""
    return run_sql(root, sql)


def error_reasons(root: Path, filters: Filters, limit: int = 10) -> Result:
    """The most frequent error reasons of the filter's hours and endpoints, with their share
    of the requests that logged one."""
    sql = f"""SELECT error_reason, sum(requests)::BIGINT AS requests,
  sum(requests) / sum(sum(requests)) OVER () AS share
FROM error_reasons_hourly
{where_sql(filters)}
GROUP BY error_reason
ORDER BY requests DESC, error_reason
LIMIT {int(limit)}"""
    return run_sql(root, sql)


def log_levels(root: Path, filters: Filters) -> Result:
    """Service-log events per hour and level over the filter's hours (and service: log
    events have no endpoint)."""
    sql = f"""SELECT time_bucket(INTERVAL 1 HOUR, minute_start) AS hour_start, level,
  sum(events)::BIGINT AS events
FROM log_levels_minutely
{where_sql(filters, "minute_start", endpoint=False)}
GROUP BY ALL
ORDER BY hour_start, level"""
    return run_sql(root, sql)


def error_templates(root: Path, filters: Filters, limit: int = 10) -> Result:
    """The log templates with the most ERROR and CRITICAL events in the filter's hours (and
    service), with their text."""
    levels = ", ".join(literal(level) for level in ERROR_LEVELS)
    sql = f"""WITH counted AS (
  SELECT service, template_id, sum(events)::BIGINT AS events
  FROM log_templates_minutely
  {where_sql(filters, "minute_start", endpoint=False)}
    AND upper(level) IN ({levels})
  GROUP BY service, template_id
)
SELECT c.service, c.events, t.template, c.template_id
FROM counted c LEFT JOIN log_templates t USING (service, template_id)
ORDER BY c.events DESC, c.service, c.template_id
LIMIT {int(limit)}"""
    return run_sql(root, sql)


def breakdowns(root: Path) -> Result:
    """The regions and each configured dimension's values with requests: the choices of the
    region and dimension filters."""
    return run_sql(
        root,
        """SELECT 'region' AS kind, region AS dimension, NULL AS value FROM region_hourly
UNION
SELECT DISTINCT 'dimension', dimension, value FROM dimension_hourly
ORDER BY kind, dimension, value""",
    )


def latency_band(root: Path, filters: Filters) -> Result:
    """The p95 latency of the one forecast series that best stands for the filter (its total
    when one is modelled, else its busiest endpoint), with its forecast band and anomalies."""
    where = where_sql(filters)
    sql = f"""WITH candidates AS (
  SELECT service, endpoint, sum(actual) AS weight
  FROM forecasts
  {where}
    AND metric = 'latency_p95_ms'
  GROUP BY service, endpoint
), chosen AS (
  SELECT service, endpoint FROM candidates
  ORDER BY service = '*' DESC, endpoint = '*' DESC, weight DESC, service, endpoint
  LIMIT 1
)
SELECT f.hour_start, f.service, f.endpoint, f.actual AS latency_p95_ms,
  f.yhat, f.yhat_lower, f.yhat_upper, f.is_anomaly
FROM forecasts f JOIN chosen USING (service, endpoint)
WHERE f.metric = 'latency_p95_ms'
  AND f.hour_start >= {literal(filters.start)} AND f.hour_start < {literal(filters.end)}
  AND f.{dates_sql(filters.start, filters.end)}
ORDER BY f.hour_start"""
    return run_sql(root, sql)


def status_mix(root: Path, filters: Filters) -> Result:
    """Requests by status code over the filter's hours and endpoints."""
    sql = f"""SELECT status_code, sum(requests)::BIGINT AS requests
FROM status_hourly
{where_sql(filters)}
GROUP BY status_code
ORDER BY status_code"""
    return run_sql(root, sql)


def incidents(root: Path, filters: Filters) -> Result:
    """The incidents of the filter's endpoints (keyed on it, or holding it among its
    `endpoints`) that overlap its hours (open ones whatever their start), open first, newest
    first."""
    clauses = [
        f'("end" > {literal(filters.start)} AND start < {literal(filters.end)})'
        " OR status = 'open'"
    ]
    if filters.service is not None:
        clauses.append(f"service = {literal(filters.service)}")
    if filters.endpoint is not None:
        endpoint = literal(filters.endpoint)
        clauses.append(
            f"endpoint = {endpoint} OR list_contains(string_split(endpoints, ','), {endpoint})"
        )
    where = "WHERE " + "\n  AND ".join(f"({c})" for c in clauses)
    sql = f"""SELECT incident_id, status, peak_severity, service, endpoint, endpoints, start, "end",
  hours, metrics, probable_cause, attribution, impact, max_score, resolved_at
FROM incidents
{where}
ORDER BY status = 'open' DESC, start DESC, service, endpoint"""
    return run_sql(root, sql)


def _incident(root: Path, incident_id: str) -> pd.Series | None:
    frame, _ = run_sql(
        root,
        f"""SELECT service, endpoint, endpoints, start, "end" FROM incidents
WHERE incident_id = {literal(incident_id)}""",
    )
    return None if frame.empty else frame.iloc[0]


def _of_incident(incident: pd.Series, alias: str) -> str:
    """The rows of an incident's endpoints: its key's and those it lists (of its service's
    endpoints, of all, for a total `*`)."""
    clauses = []
    if incident["service"] != "*":
        clauses.append(f"{alias}.service = {literal(incident['service'])}")
    if incident["endpoint"] != "*":
        listed = [e for e in str(incident.get("endpoints") or "").split(",") if e]
        names = sorted({incident["endpoint"], *listed})
        clauses.append(f"{alias}.endpoint IN ({', '.join(literal(n) for n in names)})")
    return "".join(f"\n    AND {c}" for c in clauses)


def incident_window(root: Path, incident_id: str) -> Result:
    """Per minute, from the hour before an incident to the hour after it: the requests,
    errors and p95 latency of its endpoints (its key's and those it lists; of all its
    service's endpoints for a total `*`), the p95 then their busiest minute's worst."""
    incident = _incident(root, incident_id)
    if incident is None:
        return pd.DataFrame({"minute_start": [], "requests": [], "errors": []}), ""
    since = pd.Timestamp(incident["start"]) - pd.Timedelta(hours=1)
    until = pd.Timestamp(incident["end"]) + pd.Timedelta(hours=1)
    sql = f"""SELECT m.minute_start, sum(m.requests)::BIGINT AS requests,
  sum(m.errors)::BIGINT AS errors, max(m.latency_p95_ms) AS latency_p95_ms
FROM endpoint_minutely m
WHERE m.minute_start >= {literal(since)} AND m.minute_start < {literal(until)}
  AND m.{dates_sql(since, until)}{_of_incident(incident, "m")}
GROUP BY m.minute_start
ORDER BY m.minute_start
-- incident {incident_id}: {incident["service"]} {incident["endpoint"]}, an hour either side"""
    return run_sql(root, sql)


def incident_dimensions(root: Path, incident_id: str) -> Result:
    """The mix of an incident's hours against the 24 hours before it, per dimension: the
    share of its endpoint's requests (of its service's, of all, for a total `*`) with each
    status code and error reason, and of all requests in each region (`region_hourly` has
    no endpoint); the values whose share moved most first."""
    incident = _incident(root, incident_id)
    columns = ["dimension", "value", "window_requests", "window_share", "before_requests",
               "before_share", "share_change"]  # fmt: skip
    if incident is None:
        return pd.DataFrame({c: [] for c in columns}), ""
    start, end = pd.Timestamp(incident["start"]), pd.Timestamp(incident["end"])
    before = start - pd.Timedelta(hours=24)

    def hours(alias: str) -> str:
        return (
            f"{alias}.hour_start >= {literal(before)} AND {alias}.hour_start < {literal(end)}"
            f"\n    AND {alias}.{dates_sql(before, end)}"
        )

    sql = f"""-- incident {incident_id}: {incident["service"]} {incident["endpoint"]}, its hours
-- against the 24 hours before them
WITH counted AS (
  SELECT 'status_code' AS dimension, CAST(s.status_code AS VARCHAR) AS value,
    s.hour_start >= {literal(start)} AS during, s.requests
  FROM status_hourly s
  WHERE {hours("s")}{_of_incident(incident, "s")}
  UNION ALL
  SELECT 'error_reason', e.error_reason, e.hour_start >= {literal(start)}, e.requests
  FROM error_reasons_hourly e
  WHERE {hours("e")}{_of_incident(incident, "e")}
  UNION ALL
  SELECT 'region (all services)', r.region, r.hour_start >= {literal(start)}, r.requests
  FROM region_hourly r
  WHERE {hours("r")}
), shares AS (
  SELECT dimension, value,
    sum(requests) FILTER (WHERE during) AS window_requests,
    sum(requests) FILTER (WHERE NOT during) AS before_requests
  FROM counted
  GROUP BY dimension, value
), rated AS (
  SELECT dimension, value,
    coalesce(window_requests, 0)::BIGINT AS window_requests,
    coalesce(window_requests / sum(window_requests) OVER (PARTITION BY dimension), 0)
      AS window_share,
    coalesce(before_requests, 0)::BIGINT AS before_requests,
    coalesce(before_requests / sum(before_requests) OVER (PARTITION BY dimension), 0)
      AS before_share
  FROM shares
)
SELECT *, window_share - before_share AS share_change
FROM rated
ORDER BY dimension, abs(share_change) DESC, value"""
    return run_sql(root, sql)


def quarantine_reasons(root: Path) -> Result:
    """Quarantined records by reason code, with one raw example each."""
    sql = """SELECT reason_code, count(*) AS records, count(DISTINCT source_file) AS files,
  min(raw) AS example
FROM quarantine
GROUP BY reason_code
ORDER BY records DESC, reason_code"""
    return run_sql(root, sql)


def _catalog(catalog_url: str, sql: str) -> Result:
    url = sa.engine.make_url(catalog_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        if not database.is_file():  # no run yet: nothing to show, and nothing to create
            return pd.DataFrame(), sql
        url = sa.engine.URL.create(
            "sqlite", database=f"file:{database.resolve()}?mode=ro", query={"uri": "true"}
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn), sql
    finally:
        engine.dispose()


def files_ingested(catalog_url: str, limit: int = 50) -> Result:
    """The newest landing files the ledger holds, with their counts."""
    sql = f"""SELECT path, source, format, records_read, rows_kept, rows_quarantined, ingested_at
FROM files
ORDER BY ingested_at DESC, path
LIMIT {int(limit)}"""
    return _catalog(catalog_url, sql)


def last_runs(catalog_url: str, limit: int = 20) -> Result:
    """The newest flow runs and their state."""
    sql = f"""SELECT flow, status, started_at, finished_at, run_id
FROM runs
ORDER BY started_at DESC
LIMIT {int(limit)}"""
    return _catalog(catalog_url, sql)


def quality_checks(catalog_url: str) -> Result:
    """The quality checkpoint's newest result of each (table, partition, expectation),
    summed per table and expectation: partitions checked and failed, unexpected rows, when
    last checked and a failure's details; failures first."""
    sql = """WITH newest AS (
  SELECT *, row_number() OVER (
    PARTITION BY table_name, partition, expectation ORDER BY checked_at DESC
  ) AS age
  FROM quality_results
)
SELECT table_name, expectation,
  count(*) AS partitions,
  sum(CASE WHEN success THEN 0 ELSE 1 END) AS failed,
  sum(unexpected) AS unexpected,
  max(checked_at) AS last_checked,
  max(CASE WHEN success THEN NULL ELSE details END) AS failure_example
FROM newest
WHERE age = 1
GROUP BY table_name, expectation
ORDER BY failed DESC, table_name, expectation"""
    return _catalog(catalog_url, sql)
