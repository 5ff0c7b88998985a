"""The walk-forward core: a series on a regular grid scored against the blocks of models that
forecast it (`walk_scores`), with level shifts, runs of points, the recent errors and the week
of values before each point. `walk_forward` and the flows' `score` both use it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.forecasts import Forecast
from transforms.forecast.calibration import per_hour, score_of, surprise_at
from transforms.forecast.checks import (
    RECENT_RUN_POINTS,
    final_surprise,
    jump_checked,
    jump_checked_series,
    jump_reference,
    jump_surprise,
    level_checked,
    level_reference,
    level_surprise,
    recent_points,
    recent_reference,
    recent_surprise,
    run_lengths,
)
from transforms.forecast.options import HOUR, ForecastOptions
from transforms.forecast.scoring import model_sigma, score_series, with_persistence
from transforms.forecast.series import metric_family, to_model_scale


@dataclass
class Block:
    """One model and the grid positions it forecasts."""

    spec: dict[str, Any]
    positions: np.ndarray  # grid positions scored with this model
    yhat: np.ndarray  # model scale, per position
    centre: float = 0.0  # linear kind: the training window's median and robust spread
    spread: float = 1.0

    def residuals(self, v: np.ndarray, metric: str) -> np.ndarray:
        """Model-scale residuals of the grid values `v` at this block's positions, in the units
        of the series (times a linear block's spread)."""
        actual = (v[self.positions] - self.centre) / self.spread
        return (to_model_scale(metric, actual) - self.yhat) * self.spread


def grid_residuals(
    grid: pd.DatetimeIndex, v: np.ndarray, blocks: list[Block], metric: str
) -> np.ndarray:
    """The residual of each grid point from its block's forecast (model scale, in the units of
    the series: times a linear block's spread), NaN where it is missing or has no block."""
    resid = np.full(len(grid), np.nan)
    for block in blocks:
        resid[block.positions] = block.residuals(v, metric)
    return resid


def grid_sigmas(
    grid: pd.DatetimeIndex, counts: np.ndarray | None, blocks: list[Block]
) -> np.ndarray:
    """The model's spread at each grid point (model scale, in the units of the series), NaN
    where it has no block: what an error is standardised by, so an hour of few requests
    counts for less."""
    sigma = np.full(len(grid), np.nan)
    for block in blocks:
        n = None if counts is None else counts[block.positions]
        sigma[block.positions] = (
            model_sigma(block.spec, grid[block.positions], block.yhat, n) * block.spread
        )
    return sigma


def walk_scores(
    grid: pd.DatetimeIndex,
    v: np.ndarray,
    counts: np.ndarray | None,
    blocks: list[Block],
    metric: str,
    adapt_points: int,
    options: ForecastOptions,
    bounds: np.ndarray | None = None,
    known_from: int = 0,
) -> dict[str, Any]:
    """Scores of the grid values `v` given the blocks of models that forecast them: each
    point against its block's forecast and, when the `adapt_points` before it left the
    interval on one side, against the level they shifted to (the lower score wins); then runs
    of points outside on one side combine their evidence (`with_persistence`); then each
    point's surprise is capped by how unusual its error is against the series' errors of the
    day before it (`recent_surprise`, `capped_by_recent`); then a value beyond everything the
    series did in the two days before it is judged by its distance from the mean of the week
    before it too, whatever the model says (`level_surprise`, `final_surprise`; the grid
    positions before `known_from` are not part of that week); last, on a grid finer than an
    hour, the surprise is made per hour of the series (`per_hour`). Causal: a point's result depends only on the
    points before it, so scoring a stretch with enough points of context before it gives
    what scoring the whole series gives (`CONTEXT_POINTS`).

    Returns the per-point block, offset, persistent surprise and side (for scoring repeats of a
    point), and `slots`: the Forecast columns of each grid point (the interval only where
    `bounds` is set, when given)."""
    observed = np.isfinite(v)
    residuals = grid_residuals(grid, v, blocks, metric)
    previous = np.concatenate([[np.nan], residuals[:-1]])  # of the point before each
    # raw scores of the grid values, then the level offset each point is also judged against
    block_of = np.full(len(grid), -1)
    direction = np.zeros(len(grid))
    resid = np.full(len(grid), np.nan)
    expected = np.full(len(grid), np.nan)  # the models' own forecast of each value
    scored_blocks = []
    for number, block in enumerate(blocks):
        block_of[block.positions] = number
        actual = (v[block.positions] - block.centre) / block.spread
        n = None if counts is None else counts[block.positions]
        where = None if bounds is None else bounds[block.positions]
        before = previous[block.positions] / block.spread
        raw = score_series(
            block.spec,
            grid[block.positions],
            actual,
            n,
            options,
            yhat=block.yhat,
            bounds=where,
            previous=before,
        )
        scored_blocks.append((block, actual, n, raw, before))
        outside = raw[Forecast.score] > 0
        above = actual > raw[Forecast.yhat]
        direction[block.positions] = np.where(outside, np.where(above, 1.0, -1.0), 0.0)
        resid[block.positions] = to_model_scale(metric, actual) - block.yhat
        expected[block.positions] = raw[Forecast.yhat] * block.spread + block.centre
    direction[~observed] = np.nan
    offset = _level_offsets(direction, resid, adapt_points)
    # the slots' own scores (against the model's level or the shifted one), then persistence
    slot_surprise = np.zeros(len(grid))
    slot_side = np.zeros(len(grid))
    slots = {
        Forecast.yhat: np.full(len(grid), np.nan),
        Forecast.yhat_lower: np.full(len(grid), np.nan),
        Forecast.yhat_upper: np.full(len(grid), np.nan),
        Forecast.method: np.full(len(grid), "", dtype=object),
    }
    for block, actual, n, raw, before in scored_blocks:
        where = None if bounds is None else bounds[block.positions]
        result = best_of(
            block,
            grid[block.positions],
            actual,
            n,
            offset[block.positions],
            options,
            raw=raw,
            bounds=where,
            previous=before,
        )
        scored = np.isfinite(actual)
        slot_surprise[block.positions] = np.where(scored, result[Forecast.surprise], 0.0)
        side = np.where(actual > result[Forecast.yhat], 1.0, -1.0)
        # a cold-start baseline does not know the daily cycle yet: a rising morning would read
        # as a run, so only model-based scores persist
        judged = scored & (result[Forecast.score] > 0) & (block.spec["method"] == "prophet")
        slot_side[block.positions] = np.where(judged, side, 0.0)
        for column in (Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper):
            slots[column][block.positions] = result[column] * block.spread + block.centre
        slots[Forecast.method][block.positions] = block.spec["method"]
    persistent = with_persistence(slot_surprise, slot_side)
    # the recent errors: each point's error in model sigmas, against the day before it (inside
    # a run on one side, the day before the run began: the run does not make itself routine)
    units = residuals / grid_sigmas(grid, counts, blocks)
    step = grid[1] - grid[0] if len(grid) > 1 else HOUR
    start = np.arange(len(grid)) - run_lengths(slot_side, RECENT_RUN_POINTS)
    # where request counts stand behind the values, an error the model itself calls an
    # anomaly is an incident, not part of the series' routine: the next one is judged
    # without it
    known = units
    if counts is not None:
        extreme = per_hour(slot_surprise, step) >= surprise_at(
            options.threshold, options.interval_width
        )
        known = np.where(extreme, np.nan, units)
    recent = tuple(part[start] for part in recent_reference(known, recent_points(step)))
    # the values themselves, against the values of the week before each point
    family = metric_family(metric)
    level = level_reference(v, step, known_from) if level_checked(family, counts) else None
    level_s = None if level is None else level_surprise(v, *level, family)
    # persistence only lifts a point that is itself outside on the run's side
    surprise = final_surprise(persistent, recent_surprise(units, *recent), level_s)
    # ... and backed by how far the value jumps from the values right before it (its run)
    surprise = per_hour(surprise, step)
    jump = None
    if jump_checked_series(counts):
        jump = jump_reference(v - expected, start, step, known_from, raw=v, block_of=block_of)
        jump_s = jump_surprise(v - expected, *jump, family, expected)
        surprise = jump_checked(surprise, per_hour(jump_s, step))
    slots[Forecast.surprise] = np.where(observed, surprise, 0.0)
    slots[Forecast.score] = score_of(slots[Forecast.surprise], options.interval_width)
    slots[Forecast.is_anomaly] = observed & (slots[Forecast.score] >= options.threshold)
    slots["direction"] = np.where(
        slots[Forecast.score] > 0, np.where(v > slots[Forecast.yhat], 1.0, -1.0), 0.0
    )
    return {
        "blocks": blocks,
        "block_of": block_of,
        "offset": offset,
        "persistent": persistent,
        "previous": previous,
        "recent": recent,
        "level": level,
        "jump": jump,
        "expected": expected,
        "side": slot_side,
        "slots": slots,
        "step": step,
    }


def best_of(
    block: Block,
    times: pd.DatetimeIndex,
    actual: np.ndarray,
    n: np.ndarray | None,
    offset: np.ndarray,
    options: ForecastOptions,
    yhat: np.ndarray | None = None,
    raw: dict[str, np.ndarray] | None = None,
    bounds: np.ndarray | None = None,
    previous: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scored against the model's level (`raw`, when already scored) and, where a shift is in
    force, the shifted level: the lower score wins (a point is anomalous only if it is far
    from both)."""
    yhat = block.yhat if yhat is None else yhat
    result = (
        raw
        if raw is not None
        else score_series(
            block.spec, times, actual, n, options, yhat=yhat, bounds=bounds, previous=previous
        )
    )
    if (offset != 0).any():
        shifted = score_series(
            block.spec,
            times,
            actual,
            n,
            options,
            offset=offset,
            yhat=yhat,
            bounds=bounds,
            previous=previous,
        )
        better = shifted[Forecast.surprise] < result[Forecast.surprise]
        result = {k: np.where(better, shifted[k], result[k]) for k in result}
    return result


def _level_offsets(direction: np.ndarray, resid: np.ndarray, points: int) -> np.ndarray:
    """Model-scale shift per point: when at least 80 % of the `points` before it (observed
    ones, at least 80 % of them observed) left the interval on the same side, the median of
    their residuals; else 0. Only points before each point count."""
    size = len(direction)
    position = np.arange(size)

    def before(flags: np.ndarray) -> np.ndarray:  # how many of the `points` before are set
        total = np.concatenate([[0.0], np.cumsum(flags, dtype="float64")])
        return total[position] - total[np.maximum(position - points, 0)]

    need = 0.8 * points
    seen = before(~np.isnan(direction))
    shifted = (seen >= need) & ((before(direction > 0) >= need) | (before(direction < 0) >= need))
    offset = np.zeros(size)
    if shifted.any():
        padded = np.concatenate([np.full(points, np.nan), resid])
        windows = np.lib.stride_tricks.sliding_window_view(padded, points)[:size]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window of NaN only: no shift
            median = np.nanmedian(windows[shifted], axis=1)
        offset[shifted] = np.nan_to_num(median, nan=0.0)
    return offset
