"""Recomputing metric partitions and scoring hours: the work behind the flows' tasks."""

from __future__ import annotations

import pandas as pd

from flows.ingest import catalog_for
from flows.settings import Settings
from schemas._types import empty_frame
from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointHourly
from transforms import forecast as fc
from transforms.metrics import endpoint_hourly
from warehouse.catalog import now
from warehouse.layout import Layout
from warehouse.models import load_models, save_models
from warehouse.storage import read_parquet_files
from warehouse.tables import hour_range, publish_hour, read_hours


def rebuild_hours(hours: list[pd.Timestamp], *, settings: Settings, run_id: str | None) -> int:
    """Recomputes `endpoint_hourly` for each hour from all of that hour's `requests` fragments;
    returns the rows written."""
    catalog = catalog_for(settings.catalog_url)
    layout = Layout(settings.warehouse_dir)
    started = now()
    rows = 0
    for hour in hours:
        requests = read_parquet_files(sorted(layout.hour_dir("requests", hour).glob("*.parquet")))
        table = (
            endpoint_hourly(requests, slow_threshold_ms=settings.slow_threshold_ms)
            if requests is not None
            else empty_frame(EndpointHourly)
        )
        rows += publish_hour(layout, catalog, "endpoint_hourly", hour, table, run_id=run_id)
    catalog.clear_dirty(hours, marked_before=started)
    return rows


def _endpoint_hourly(layout: Layout, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    frame = read_hours(layout, "endpoint_hourly", start, end)
    return frame if frame is not None else empty_frame(EndpointHourly)


def models_for_day(
    day: pd.Timestamp, *, settings: Settings, refit: bool = False
) -> dict[tuple[str, str, str], str]:
    """The day's models, trained on the window strictly before it: loaded when stored, else
    fitted and stored (at most one fit per series per day)."""
    options = settings.forecast
    if not refit:
        stored = load_models(settings.models_dir, day)
        if stored is not None:
            return stored
    layout = Layout(settings.warehouse_dir)
    start = day - pd.Timedelta(days=options.training_days)
    history = fc.metric_series(
        _endpoint_hourly(layout, start, day),
        hours=hour_range(start, day),
        metrics=options.metrics,
    )
    models = fc.fit_models(history, trained_through=day, options=options)
    save_models(settings.models_dir, day, models)
    return models


def score_hours(
    day: pd.Timestamp,
    hours: pd.DatetimeIndex,
    *,
    settings: Settings,
    run_id: str | None,
    refit: bool = False,
) -> dict[str, int]:
    """Forecasts and anomalies for `hours` (all inside `day`) with the day's models."""
    layout = Layout(settings.warehouse_dir)
    catalog = catalog_for(settings.catalog_url)
    models = models_for_day(day, settings=settings, refit=refit)
    end = hours[-1] + pd.Timedelta(hours=1)
    actuals = fc.metric_series(
        _endpoint_hourly(layout, hours[0], end), hours=hours, metrics=settings.forecast.metrics
    )
    forecasts = fc.forecasts(models, actuals, hours=hours, options=settings.forecast)
    anomalies = fc.anomalies(forecasts)
    counts = {"series": len(models), "forecasts": 0, "anomalies": 0}
    for hour in hours:
        hour_forecasts = forecasts[forecasts[Forecast.hour_start] == hour]
        hour_anomalies = anomalies[anomalies[Anomaly.hour_start] == hour]
        counts["forecasts"] += publish_hour(
            layout, catalog, "forecasts", hour, hour_forecasts, run_id=run_id
        )
        counts["anomalies"] += publish_hour(
            layout, catalog, "anomalies", hour, hour_anomalies, run_id=run_id
        )
    return counts
