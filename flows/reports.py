"""The daily report on disk: read the day's tables, render the page, write it atomically under
`$LOGCAST_HOME/reports/`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.settings import Settings
from schemas.common import empty_frame
from schemas.forecasts import Anomaly, Forecast, Incident
from schemas.metrics import EndpointDaily, ErrorReasonsHourly, TrafficHourly
from schemas.registry import partition_bounds
from schemas.requests import Quarantine
from transforms.daily_report import TREND_DAYS, ReportData, insights, render
from warehouse.layout import Layout
from warehouse.tables import read_hours

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class WrittenReport:
    day: pd.Timestamp
    path: Path
    insights: list[str]
    charts: list[str]


def report_path(settings: Settings, day: pd.Timestamp) -> Path:
    return settings.home / "reports" / f"logcast-{pd.Timestamp(day):%Y-%m-%d}.html"


def _read(layout: Layout, table: str, start, end, model) -> pd.DataFrame:
    frame = read_hours(layout, table, start, end)
    return frame if frame is not None else empty_frame(model)


def report_data(settings: Settings, day: pd.Timestamp) -> ReportData:
    layout = Layout(settings.warehouse_dir)
    end = day + DAY
    trend_start = day - (TREND_DAYS - 1) * DAY
    return ReportData(
        day=day,
        forecasts=_read(layout, "forecasts", trend_start, end, Forecast),
        anomalies=_read(layout, "anomalies", trend_start, end, Anomaly),
        endpoint_daily=_read(layout, "endpoint_daily", day - DAY, end, EndpointDaily),
        traffic_hourly=_read(layout, "traffic_hourly", day, end, TrafficHourly),
        error_reasons=_read(layout, "error_reasons_hourly", day, end, ErrorReasonsHourly),
        incidents=_read(layout, "incidents", day, end, Incident),
        quarantine=_read(layout, "quarantine", day, end, Quarantine),
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
    return WrittenReport(day, path, insights(data), list(data.charts))


def newest_day(settings: Settings) -> pd.Timestamp | None:
    """The newest day with an `endpoint_daily` partition."""
    folder = Layout(settings.warehouse_dir).table_dir("endpoint_daily")
    days = sorted(p.name for p in folder.glob("date=*")) if folder.exists() else []
    return partition_bounds(days[-1], "daily")[0] if days else None
