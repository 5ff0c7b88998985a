"""The daily report on disk: read the day's tables, render the page, write it atomically under
`$LOGCAST_HOME/reports/`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.ingest import catalog_for
from flows.settings import Settings
from schemas.registry import partition_bounds
from transforms.daily_report import TREND_DAYS, ReportData, insights, render
from transforms.log_report import log_markdown
from warehouse.layout import Layout
from warehouse.tables import read_hours
from warehouse.templates import read_templates

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class WrittenReport:
    day: pd.Timestamp
    path: Path
    insights: list[str]
    charts: list[str]
    logs: str = ""  # the service-log section as Markdown


def report_path(settings: Settings, day: pd.Timestamp) -> Path:
    return settings.home / "reports" / f"logcast-{pd.Timestamp(day):%Y-%m-%d}.html"


def report_data(settings: Settings, day: pd.Timestamp) -> ReportData:
    layout = Layout(settings.warehouse_dir)
    catalog = catalog_for(settings.catalog_url)
    end = day + DAY
    trend_start = day - (TREND_DAYS - 1) * DAY
    return ReportData(
        day=day,
        forecasts=read_hours(layout, "forecasts", trend_start, end),
        anomalies=read_hours(layout, "anomalies", trend_start, end),
        endpoint_daily=read_hours(layout, "endpoint_daily", day - DAY, end),
        traffic_hourly=read_hours(layout, "traffic_hourly", day, end),
        error_reasons=read_hours(layout, "error_reasons_hourly", day, end),
        incidents=read_hours(layout, "incidents", day, end),
        quarantine=read_hours(layout, "quarantine", day, end),
        log_levels=read_hours(layout, "log_levels_minutely", day, end),
        log_templates_minutely=read_hours(layout, "log_templates_minutely", day, end),
        log_templates=read_templates(layout),
        mutes=catalog.mutes_frame(),
        feedback=catalog.feedback_frame(),
    )


def write_report(settings: Settings, day: pd.Timestamp) -> WrittenReport:
    """Renders the report of UTC day `day` and writes it (replacing an older one atomically)."""
    day = pd.Timestamp(day).floor("D")
    data = report_data(settings, day)
    page = render(data, generated_at=pd.Timestamp.now(tz="UTC"))
    path = report_path(settings, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    logs = log_markdown(
        data.log_levels, data.log_templates_minutely, data.log_templates, data.anomalies, day
    )
    return WrittenReport(day, path, insights(data), list(data.charts), logs)


def newest_day(settings: Settings) -> pd.Timestamp | None:
    """The newest day with an `endpoint_daily` partition."""
    folder = Layout(settings.warehouse_dir).table_dir("endpoint_daily")
    days = sorted(p.name for p in folder.glob("date=*")) if folder.exists() else []
    return partition_bounds(days[-1], "daily")[0] if days else None
