"""walk_forward: any regular series scored point by point with models refitted along it, each
trained only on the points before the ones it scores."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.forecasts import Forecast
from schemas.metrics import EndpointHourly as EH
from transforms.forecast.calibration import per_hour, reference_tails, robust_sd, score_of
from transforms.forecast.checks import (
    final_surprise,
    jump_checked,
    jump_surprise,
    level_surprise,
    recent_surprise,
)
from transforms.forecast.fitting import fit_series, predict, quiet_stan
from transforms.forecast.grid import Block, best_of, walk_scores
from transforms.forecast.options import DAY, HOUR, ForecastOptions
from transforms.forecast.scoring import model_sigma, shift_points, standardised
from transforms.forecast.series import metric_family, to_model_scale

KINDS = ("count", "rate", "log", "linear")
_KIND_METRIC = {
    "count": EH.requests,
    "rate": "value_rate",
    "log": "value",
    "linear": "value_linear",
}
_MIN_STEP, _MAX_STEP = pd.Timedelta(minutes=1), DAY


@dataclass(frozen=True)
class WalkForwardPlan:
    """How `walk_forward` trains for a grid step: window, refit cadence, history before Prophet
    and how long a shift must last before the forecast follows it."""

    step: pd.Timedelta
    training_window: pd.Timedelta
    refit_every: pd.Timedelta
    min_history: pd.Timedelta
    adapt_points: int
    min_points: int = 10

    @classmethod
    def for_step(cls, step: pd.Timedelta, **overrides: Any) -> WalkForwardPlan:
        """Hourly grids train on 28 days and refit daily, as the flows do. Finer grids keep
        about 5,000 points of history (1 minute: 3.5 days); coarser ones at least 200 points
        (daily: 200 days) and refit every 7 steps. A shift lasting 6 hours (at least 3 points)
        moves the forecast."""
        window = min(28 * DAY, 5000 * step) if step < HOUR else max(28 * DAY, 200 * step)
        plan = {
            "step": step,
            "training_window": window,
            "refit_every": DAY if step < DAY else 7 * step,
            "min_history": max(3 * DAY, 10 * step),
            "adapt_points": shift_points(step),
        }
        for key, value in overrides.items():
            if value is not None:
                plan[key] = pd.Timedelta(value) if key != "adapt_points" else int(value)
        return cls(**plan)


def _infer_kind(y: np.ndarray) -> str:
    """count for non-negative integers, rate for values in [0, 1], log for other non-negative
    values, linear when any value is negative."""
    y = y[np.isfinite(y)]
    if len(y) == 0 or (y < 0).any():
        return "linear"
    if (y == np.round(y)).all() and y.max() > 1:
        return "count"
    if y.max() <= 1:
        return "rate"
    return "log"


def _regular_step(freq: str | pd.Timedelta) -> pd.Timedelta:
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError):
        raise ValueError(
            f"walk_forward: freq {freq!r} is not a fixed step like '5min' or '1h'"
        ) from None
    if not _MIN_STEP <= step <= _MAX_STEP:
        raise ValueError(f"walk_forward: freq must be between 1 minute and 1 day, got {step}")
    return step


def walk_forward(series: pd.DataFrame, *, freq: str | pd.Timedelta, **options: Any) -> pd.DataFrame:
    """Scores every point of a series with models trained only on the points before it.

    `series` has columns `ds` (timestamps; naive ones are taken for UTC) and `y`, and may have
    `n`: the number of requests behind each value (for a rate or a latency percentile), which
    lets a quiet hour's value count for less than a busy one's. Returns it
    (same rows, same order) with `yhat`, `yhat_lower`, `yhat_upper`, `score` (0..1, see
    transforms.forecast.calibration), `surprise` (-log10 of the point's tail probability,
    unbounded; on a grid finer than an hour, per hour of the series: `per_hour`),
    `is_anomaly` and `alert`: flags at most `episode_gap` apart (3 grid steps, at least an
    hour) are one episode, and only its first point alerts. Timestamps are put on the regular
    grid of step `freq` (1 minute to 1 day): repeats share their slot's forecast and are each scored, gaps are
    neither trained on nor scored, order does not matter. Points without enough history before
    them (`min_points`) get no forecast and a score of 0.

    Options: `kind` (count, rate, log, linear; inferred from the values when not given),
    `interval_width` (0.99), `threshold` (0.9), and the plan's `training_window`,
    `refit_every`, `min_history`, `adapt_points`, `min_points` (see `WalkForwardPlan`).
    It uses the fitting and scoring the flows use for `endpoint_hourly`.
    """
    quiet_stan()
    missing = {"ds", "y"} - set(series.columns)
    if missing:
        raise ValueError(f"walk_forward: series needs columns ds and y; missing {sorted(missing)}")
    step = _regular_step(freq)
    known = {f.name for f in dataclasses.fields(ForecastOptions)}
    forecast_options = ForecastOptions(**{k: v for k, v in options.items() if k in known})
    plan_keys = {f.name for f in dataclasses.fields(WalkForwardPlan)} - {"step"}
    unknown = set(options) - known - plan_keys - {"kind"}
    if unknown:
        raise ValueError(f"walk_forward: unknown options {sorted(unknown)}")
    plan = WalkForwardPlan.for_step(step, **{k: options[k] for k in plan_keys & set(options)})

    ds = pd.to_datetime(series["ds"])
    ds = ds.dt.tz_localize("UTC") if ds.dt.tz is None else ds.dt.tz_convert("UTC")
    y = pd.to_numeric(series["y"], errors="coerce").to_numpy(dtype="float64")
    kind = options.get("kind") or _infer_kind(y)
    if kind not in KINDS:
        raise ValueError(f"walk_forward: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out = series.copy()
    for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
        out[column] = np.nan
    out[Forecast.score] = 0.0
    out[Forecast.surprise] = 0.0
    out[Forecast.is_anomaly] = False
    out[ALERT] = False
    if ds.isna().any():
        raise ValueError("walk_forward: ds has values that are not timestamps")
    if len(series) == 0:
        return out

    slot = ds.dt.floor(step).dt.as_unit("us")
    grid = pd.date_range(slot.min(), slot.max(), freq=step)
    n = None
    if "n" in series.columns:
        n = pd.to_numeric(series["n"], errors="coerce").fillna(0).to_numpy(dtype="float64")
    if n is None:
        values = pd.Series(y).groupby(slot.to_numpy()).mean().reindex(grid)
        slot_n = None
    else:
        # a slot's value is its rows' request-weighted mean, its n their sum
        weighted = pd.DataFrame({"yn": y * n, "n": n, "y": y}).groupby(slot.to_numpy()).sum()
        plain = pd.Series(y).groupby(slot.to_numpy()).mean()
        mean = (weighted["yn"] / weighted["n"]).where(weighted["n"] > 0, plain)
        values, slot_n = mean.reindex(grid), weighted["n"].reindex(grid).fillna(0)
    forecast = _walk(values, kind, plan, forecast_options, slot_n)
    position = grid.get_indexer(slot)
    rows = _score_rows(forecast, position, y, n, slot, kind, forecast_options)
    for column, column_values in rows.items():
        out[column] = column_values
    out[ALERT] = alerts(ds, out[Forecast.is_anomaly].to_numpy(dtype=bool), episode_gap(step))
    return out


ALERT = "alert"
"""walk_forward's column: True at the first flagged point of each episode."""


def episode_gap(step: pd.Timedelta) -> pd.Timedelta:
    """Flags of one series at most this far apart are one episode: 3 grid steps, at least an
    hour."""
    return max(3 * step, HOUR)


def alerts(times: pd.Series, flagged: np.ndarray, gap: pd.Timedelta) -> np.ndarray:
    """True at each flagged point whose series had no flagged point in the `gap` before it:
    the first point of an episode, the one that alerts (any order of `times`)."""
    order = np.argsort(times.to_numpy(), kind="stable")
    at = times.to_numpy()[order][flagged[order]]
    first = np.ones(len(at), dtype=bool)
    first[1:] = (at[1:] - at[:-1]) > np.timedelta64(gap)
    out = np.zeros(len(flagged), dtype=bool)
    out[order[flagged[order]]] = first
    return out


def _walk(
    values: pd.Series,
    kind: str,
    plan: WalkForwardPlan,
    options: ForecastOptions,
    counts: pd.Series | None = None,
) -> dict[str, Any]:
    """Fits the blocks of models the plan asks for, then scores the grid with them."""
    blocks = _fit_blocks(values, kind, plan, options, counts)
    return walk_scores(
        pd.DatetimeIndex(values.index),
        values.to_numpy(),
        None if counts is None else counts.to_numpy(),
        blocks,
        _KIND_METRIC[kind],
        plan.adapt_points,
        options,
        bounds=np.zeros(len(values), dtype=bool),  # the rows are scored with their interval
    )


def _fit_blocks(
    values: pd.Series,
    kind: str,
    plan: WalkForwardPlan,
    options: ForecastOptions,
    counts: pd.Series | None = None,
) -> list[Block]:
    """Models along the grid, each trained only on the points before the block it scores."""
    grid = pd.DatetimeIndex(values.index)
    v = values.to_numpy()
    observed = np.isfinite(v)
    metric = _KIND_METRIC[kind]
    blocks: list[Block] = []
    # standardised residuals of the points earlier blocks scored: the reference calibration of
    # later ones (see calibration.reference_tails)
    seen_at: list[np.ndarray] = []
    seen_z: list[np.ndarray] = []
    units = np.full(len(grid), np.nan)  # residuals so far (see scoring.grid_residuals)
    first = grid[np.argmax(observed)] if observed.any() else grid[-1]
    cursor = grid[0]
    while cursor <= grid[-1]:
        start = max(cursor, grid[0])
        history_start = start - plan.training_window
        train = observed & (grid >= history_start) & (grid < start)
        span = (start - first) if start > first else pd.Timedelta(0)
        cold = span < plan.min_history
        length = plan.refit_every if not cold else max(plan.step, plan.refit_every / 6)
        stop = (start + length).floor(length) if length >= plan.step else start + plan.step
        if stop <= start:
            stop = start + length
        scored = np.flatnonzero((grid >= start) & (grid < stop))
        if train.sum() >= plan.min_points and len(scored):
            train_values = pd.Series(v[train], index=grid[train])
            centre, spread = 0.0, 1.0
            if kind == "linear":
                centre = float(np.median(train_values))
                spread = max(robust_sd(train_values.to_numpy()), 1e-3 * abs(centre), 1e-9)
                train_values = (train_values - centre) / spread
            span_days = (start - train_values.index.min()) / DAY
            method = "baseline" if cold else "prophet"
            train_n = None if counts is None else counts[train]
            spec = fit_series(
                metric,
                train_values,
                train_n,
                method=method,
                span_days=span_days,
                options=options,
                freq=plan.step,
            )
            if seen_z:
                at, z = np.concatenate(seen_at), np.concatenate(seen_z)
                since = start - min(plan.training_window, max(7 * DAY, 300 * plan.step))
                reference = reference_tails(z[at >= np.searchsorted(grid, since)])
                if reference is not None:
                    spec["reference"] = reference
            yhat = predict(spec, grid[scored])
            blocks.append(Block(spec, scored, yhat, centre, spread))
            block_n = None if counts is None else counts.to_numpy()[scored]
            units[scored] = blocks[-1].residuals(v, metric)
            before = np.where(scored > 0, units[np.maximum(scored - 1, 0)], np.nan) / spread
            if method == "prophet":  # a cold-start baseline's errors say little of later ones
                seen_at.append(scored)
                seen_z.append(
                    standardised(
                        spec, grid[scored], (v[scored] - centre) / spread, block_n, yhat, before
                    )
                )
        cursor = stop
    return blocks


def _score_rows(
    forecast: dict[str, Any],
    position: np.ndarray,
    y: np.ndarray,
    n: np.ndarray | None,
    slot: pd.Series,
    kind: str,
    options: ForecastOptions,
) -> dict[str, np.ndarray]:
    """Each input row scored with its slot's model, against both the model's level and the
    shifted level when one is in force (the lower score wins: a point is anomalous only if it
    is far from both)."""
    size = len(y)
    out = {
        Forecast.yhat: np.full(size, np.nan),
        Forecast.yhat_lower: np.full(size, np.nan),
        Forecast.yhat_upper: np.full(size, np.nan),
        Forecast.score: np.zeros(size),
        Forecast.surprise: np.zeros(size),
        Forecast.is_anomaly: np.zeros(size, dtype=bool),
    }
    times = pd.DatetimeIndex(slot)
    for number, block in enumerate(forecast["blocks"]):
        rows = np.flatnonzero(forecast["block_of"][position] == number)
        if not len(rows):
            continue
        local = np.searchsorted(block.positions, position[rows])
        yhat = block.yhat[local]
        actual = (y[rows] - block.centre) / block.spread
        row_n = None if n is None else n[rows]
        offset = forecast["offset"][position[rows]]
        before = forecast["previous"][position[rows]] / block.spread
        result = best_of(
            block, times[rows], actual, row_n, offset, options, yhat=yhat, previous=before
        )
        # a run of slots outside on one side lifts the rows on that side
        side = np.where(actual > result[Forecast.yhat], 1.0, -1.0)
        same_side = (result[Forecast.score] > 0) & (side == forecast["side"][position[rows]])
        result[Forecast.surprise] = np.where(
            same_side,
            np.maximum(result[Forecast.surprise], forecast["persistent"][position[rows]]),
            result[Forecast.surprise],
        )
        # ... and the row's residual is judged against the recent ones before its slot
        recent = [part[position[rows]] for part in forecast["recent"]]
        sigma = model_sigma(block.spec, times[rows], yhat, row_n)
        units = (to_model_scale(block.spec["metric"], actual) - yhat) / sigma
        level = None
        if forecast["level"] is not None:
            reference = (part[position[rows]] for part in forecast["level"])
            level = level_surprise(y[rows], *reference, metric_family(_KIND_METRIC[kind]))
        surprise = per_hour(
            final_surprise(result[Forecast.surprise], recent_surprise(units, *recent), level),
            forecast["step"],
        )
        if forecast["jump"] is not None:
            jump = (part[position[rows]] for part in forecast["jump"])
            family = metric_family(_KIND_METRIC[kind])
            expected = forecast["expected"][position[rows]]
            jump_s = jump_surprise(y[rows] - expected, *jump, family, expected)
            surprise = jump_checked(surprise, per_hour(jump_s, forecast["step"]))
        result[Forecast.surprise] = surprise
        result[Forecast.score] = score_of(result[Forecast.surprise], options.interval_width)
        for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
            out[column][rows] = result[column] * block.spread + block.centre
        scored = np.isfinite(y[rows])
        out[Forecast.score][rows] = np.where(scored, result[Forecast.score], 0.0)
        out[Forecast.surprise][rows] = np.where(scored, result[Forecast.surprise], 0.0)
        out[Forecast.is_anomaly][rows] = scored & (result[Forecast.score] >= options.threshold)
    return out
