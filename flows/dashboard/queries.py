"""The dashboard's reads: plain SQL over the warehouse views (DuckDB, read-only) and over the
catalog's ledger of runs and files. Each returns its rows and the SQL that made them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa

from warehouse.layout import TABLES
from warehouse.query import empty_view_sql, tables_present, view_sql

RANGES = {"24h": pd.Timedelta(hours=24), "7d": pd.Timedelta(days=7), "30d": pd.Timedelta(days=30)}
"""The time range presets, counted back from the newest hour in the warehouse."""

Result = tuple[pd.DataFrame, str]


@dataclass(frozen=True)
class Filters:
    """Hours `start` <= hour_start < `end` (UTC); `service` and `endpoint` None for all."""

    start: pd.Timestamp
    end: pd.Timestamp
    service: str | None = None
    endpoint: str | None = None


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


def _where(filters: Filters, time_column: str = "hour_start") -> str:
    clauses = [
        f"{time_column} >= {literal(filters.start)}",
        f"{time_column} < {literal(filters.end)}",
    ]
    if filters.service is not None:
        clauses.append(f"service = {literal(filters.service)}")
    if filters.endpoint is not None:
        clauses.append(f"endpoint = {literal(filters.endpoint)}")
    return "WHERE " + "\n  AND ".join(clauses)


def _run(root: Path, sql: str) -> Result:
    """Runs `sql` on a connection holding only the views of the tables it names (a view reads
    the footers of every file it globs: a page refresh makes only those it needs)."""
    with duckdb.connect() as conn:
        named = set(re.findall(r"\w+", sql.lower()))  # a superset of the tables read
        present = set(tables_present(root))
        for table in TABLES:
            if table in named:
                conn.execute(view_sql(root, table) if table in present else empty_view_sql(table))
        return conn.execute(sql).df(), sql


def newest_hour(root: Path) -> pd.Timestamp | None:
    """The start of the newest hour with metrics, or None when there is none yet."""
    frame, _ = _run(root, "SELECT max(hour_start) AS newest FROM endpoint_hourly")
    value = frame["newest"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).tz_convert("UTC")


def preset_filters(
    newest: pd.Timestamp, preset: str, service: str | None = None, endpoint: str | None = None
) -> Filters:
    """The hours of a preset range ending with the newest hour."""
    end = newest + pd.Timedelta(hours=1)
    return Filters(end - RANGES[preset], end, service, endpoint)


def series(root: Path) -> Result:
    """Every (service, endpoint) with metrics: the choices of the filters."""
    return _run(
        root,
        "SELECT DISTINCT service, endpoint FROM endpoint_hourly ORDER BY service, endpoint",
    )


def traffic(root: Path, filters: Filters) -> Result:
    """Per hour: requests, errors (4xx + 5xx), error rate, slow share, over the filter's
    endpoints."""
    sql = f"""SELECT hour_start,
  sum(requests)::BIGINT AS requests,
  sum(status_4xx + status_5xx)::BIGINT AS errors,
  sum(status_4xx + status_5xx) / sum(requests) AS error_rate,
  sum(slow_requests) / nullif(sum(timed_requests), 0) AS slow_rate
FROM endpoint_hourly
{_where(filters)}
GROUP BY hour_start
ORDER BY hour_start"""
    return _run(root, sql)


def latency_band(root: Path, filters: Filters) -> Result:
    """The p95 latency of the one forecast series that best stands for the filter (its total
    when one is modelled, else its busiest endpoint), with its forecast band and anomalies."""
    where = _where(filters)
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
ORDER BY f.hour_start"""
    return _run(root, sql)


def status_mix(root: Path, filters: Filters) -> Result:
    """Requests by status code over the filter's hours and endpoints."""
    sql = f"""SELECT status_code, sum(requests)::BIGINT AS requests
FROM status_hourly
{_where(filters)}
GROUP BY status_code
ORDER BY status_code"""
    return _run(root, sql)


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
    return _run(root, sql)


def incident_window(root: Path, incident_id: str) -> Result:
    """Per minute, from the hour before an incident to the hour after it: the requests,
    errors and p95 latency of its endpoints (its key's and those it lists; of all its
    service's endpoints for a total `*`), the p95 then their busiest minute's worst."""
    sql = f"""WITH incident AS (
  SELECT service, endpoint, string_split(coalesce(endpoints, ''), ',') AS endpoints,
    start - INTERVAL 1 HOUR AS since, "end" + INTERVAL 1 HOUR AS until
  FROM incidents WHERE incident_id = {literal(incident_id)}
)
SELECT m.minute_start, sum(m.requests)::BIGINT AS requests, sum(m.errors)::BIGINT AS errors,
  max(m.latency_p95_ms) AS latency_p95_ms
FROM endpoint_minutely m JOIN incident i
  ON (i.service = '*' OR m.service = i.service)
  AND (i.endpoint = '*' OR m.endpoint = i.endpoint OR list_contains(i.endpoints, m.endpoint))
  AND m.minute_start >= i.since AND m.minute_start < i.until
GROUP BY m.minute_start
ORDER BY m.minute_start"""
    return _run(root, sql)


def quarantine_reasons(root: Path) -> Result:
    """Quarantined records by reason code, with one raw example each."""
    sql = """SELECT reason_code, count(*) AS records, count(DISTINCT source_file) AS files,
  min(raw) AS example
FROM quarantine
GROUP BY reason_code
ORDER BY records DESC, reason_code"""
    return _run(root, sql)


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
