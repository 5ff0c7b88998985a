"""`score`: the flows' scoring of the hours asked for with the day's stored models (and the
day before's for the context hours), through the walk-forward core."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from schemas.common import empty_frame
from schemas.forecasts import Anomaly, Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.anomalies import anomalies
from transforms.forecast.checks import JUMP_POINTS, LEVEL_WINDOW, RECENT_RUN_POINTS, recent_points
from transforms.forecast.fitting import predict, quiet_stan
from transforms.forecast.grid import Block, walk_scores
from transforms.forecast.options import HOUR, ForecastOptions
from transforms.forecast.scoring import shift_points
from transforms.forecast.series import utc_column, utc_hours, utc_timestamp, wide_by_series

CONTEXT_POINTS = max(
    int(LEVEL_WINDOW / HOUR) + RECENT_RUN_POINTS + JUMP_POINTS + 1,
    recent_points(HOUR) + 2 * RECENT_RUN_POINTS,
)
"""Hours scored before the first one asked for, so that what it is judged against is what
scoring the whole series gives: the values of the week before it (`level_reference`; and the
changes of the week before its run began, `jump_reference`), and
the recent errors of the day before it, or before the run of up to RECENT_RUN_POINTS hours it
is in, whose own sides need the level offset of the 6 hours before each (this also covers
its runs of hours, 2 + 2 back)."""


def score(
    models: dict[tuple[str, str, str], str],
    actuals: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    options: ForecastOptions = ForecastOptions(),
    previous: dict[tuple[str, str, str], str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(forecasts, anomalies) of `hours` for every series in `models`.

    `models` serve the hours from their `trained_through` on; `previous` (the models of the
    day before) serve the context hours before that. `actuals` are metric_series rows
    covering `hours` and the CONTEXT_POINTS hours before them; a missing `requests` actual
    is 0, a missing other metric NaN (no traffic: nothing to judge); the hours before a
    series' first row are not among the values of the week a value is compared with. Each
    series is scored by the walk-forward core (`walk_scores`): level shifts and runs of hours
    are judged from the context hours, so an hourly run and a backfill give the same rows. An
    hour no model was trained before gets no row.
    """
    quiet_stan()
    hours = utc_hours(hours).unique().sort_values()
    if not len(hours) or not models:
        return empty_frame(Forecast), empty_frame(Anomaly)
    grid = pd.date_range(hours[0] - CONTEXT_POINTS * HOUR, hours[-1], freq="h")
    asked = grid.isin(hours)
    observed = wide_by_series(actuals)
    previous = previous or {}
    columns: dict[str, list] = {c: [] for c in Forecast.to_schema().columns}
    for key, model_json in sorted(models.items()):
        service, endpoint, metric = key
        specs = [json.loads(previous[key])] if key in previous else []
        specs.append(json.loads(model_json))
        blocks = []
        for i, spec in enumerate(specs):
            since = utc_timestamp(spec["trained_through"])
            inside = grid >= since
            if i + 1 < len(specs):
                inside &= grid < utc_timestamp(specs[i + 1]["trained_through"])
            positions = np.flatnonzero(inside)
            if len(positions):
                blocks.append(Block(spec, positions, predict(spec, grid[positions])))
        if not blocks:
            continue
        wide = observed.get((service, endpoint))
        v = np.full(len(grid), np.nan)
        n = None
        if wide is not None:
            wide = wide.reindex(grid)
            if metric in wide:
                v = wide[metric].to_numpy(dtype="float64")
            if EH.requests in wide:
                n = np.nan_to_num(wide[EH.requests].to_numpy(dtype="float64"), nan=0.0)
        seen = np.flatnonzero(np.isfinite(v))
        known_from = int(seen[0]) if len(seen) else len(grid)
        if metric == EH.requests:
            v = np.nan_to_num(v, nan=0.0)
        slots = walk_scores(
            grid, v, n, blocks, metric, shift_points(HOUR), options, asked, known_from
        )
        rows = np.sort(np.concatenate([b.positions for b in blocks]))
        columns[Forecast.hour_start].append(grid[rows])
        for name, value in ((Forecast.service, service), (Forecast.endpoint, endpoint)):
            columns[name].append(np.full(len(rows), value, dtype=object))
        columns[Forecast.metric].append(np.full(len(rows), metric, dtype=object))
        columns[Forecast.actual].append(v[rows])
        for name in columns:
            if name in slots["slots"]:
                columns[name].append(slots["slots"][name][rows])
    if not columns[Forecast.hour_start]:
        return empty_frame(Forecast), empty_frame(Anomaly)
    scored = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
    scored[Forecast.hour_start] = utc_column(scored[Forecast.hour_start])
    flagged = anomalies(scored, validate=False)
    order = [Forecast.hour_start, Forecast.service, Forecast.endpoint, Forecast.metric]
    scored = scored.sort_values(order, ignore_index=True)
    keep = scored[Forecast.hour_start].isin(hours)
    return (
        Forecast.validate(scored[keep].reset_index(drop=True)),
        Anomaly.validate(flagged[flagged[Anomaly.hour_start].isin(hours)].reset_index(drop=True)),
    )


def forecasts(
    models: dict[tuple[str, str, str], str],
    actuals: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    options: ForecastOptions = ForecastOptions(),
    previous: dict[tuple[str, str, str], str] | None = None,
) -> pd.DataFrame:
    """The forecasts of `score`: one row per (model series) x (hour in `hours`)."""
    return score(models, actuals, hours=hours, options=options, previous=previous)[0]
