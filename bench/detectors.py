"""The detectors `make eval` compares: logcast's walk-forward and three references.

Each takes a series (a frame with `ds`, timestamps, naive ones taken for UTC, and `y`) and its
grid step, and returns one float per row: higher is more anomalous, NaN where it does not score.
All are causal: a row's score uses only the rows before it (and its own value).

- `never`: never fires (all NaN): the floor every score is normalised against.
- `zscore`: |y - mean| / std over the 7 days of rows strictly before the row.
- `prophet`: a plain Prophet (interval_width 0.99) refitted every UTC day on the trailing
  window `WalkForwardPlan.for_step` gives the step; |y - yhat| over the interval's half-width on
  y's side, so 1 is the edge of the 99 % interval.
- `logcast`: `transforms.forecast.walk_forward` with its default options; its `surprise`
  (-log10 of the tail probability) when it has one, else its `score`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from transforms.forecast import WalkForwardPlan, quiet_stan, walk_forward

DAY = pd.Timedelta(days=1)
ZSCORE_WINDOW = pd.Timedelta(days=7)
ZSCORE_MIN_HISTORY = DAY
PROPHET_INTERVAL_WIDTH = 0.99
PROPHET_SAMPLES = 200
"""Prophet's interval comes from simulation; 200 draws keep a day of 1-minute rows at about
0.1 s to predict (Prophet's default of 1,000 takes 0.35 s) while the 0.5 % and 99.5 %
quantiles stay within about 15 % of their limit."""
PROPHET_MIN_HISTORY = pd.Timedelta(days=3)
PROPHET_MIN_POINTS = 10


def _utc_naive(ds: pd.Series) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(pd.to_datetime(ds))
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.as_unit("ns")


def _values(series: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(series["y"], errors="coerce").to_numpy(dtype="float64")


def never(series: pd.DataFrame, step: pd.Timedelta | None = None) -> np.ndarray:
    """Never fires: every row unscored."""
    return np.full(len(series), np.nan)


def zscore(
    series: pd.DataFrame,
    step: pd.Timedelta | None = None,
    *,
    window: pd.Timedelta = ZSCORE_WINDOW,
    min_history: pd.Timedelta = ZSCORE_MIN_HISTORY,
) -> np.ndarray:
    """|y - mean| / std of the rows in [t - window, t) (time-based, so gaps shorten the window
    rather than reach further back); NaN for the rows within `min_history` of the first row and
    wherever fewer than two earlier values are in the window. A window of equal values has std
    0: the std is floored at 1e-9 of the mean's size (at least 1e-9), so a departure from a
    constant scores high but finite and a repeat of it scores 0."""
    ds = _utc_naive(series["ds"])
    y = _values(series)
    score = np.full(len(y), np.nan)
    if len(y) == 0:
        return score
    order = np.argsort(ds.asi8, kind="stable")
    values = pd.Series(y[order], index=ds[order])
    rolling = values.rolling(window, closed="left", min_periods=2)
    mean = rolling.mean().to_numpy()
    std = rolling.std().to_numpy()
    std = np.maximum(std, 1e-9 * np.maximum(np.abs(mean), 1.0))
    with np.errstate(invalid="ignore"):
        ordered = np.abs(y[order] - mean) / std
    ordered[ds[order] < ds[order][0] + min_history] = np.nan
    score[order] = ordered
    return score


def prophet(
    series: pd.DataFrame,
    step: pd.Timedelta,
    *,
    interval_width: float = PROPHET_INTERVAL_WIDTH,
    uncertainty_samples: int = PROPHET_SAMPLES,
    min_history: pd.Timedelta = PROPHET_MIN_HISTORY,
    min_points: int = PROPHET_MIN_POINTS,
    seed: int = 0,
) -> np.ndarray:
    """A default Prophet(interval_width) refitted at every UTC midnight on the trailing
    training window of `WalkForwardPlan.for_step(step)` (28 days on hourly grids, about 5,000
    points on finer ones), predicting that day. Scoring starts `min_history` after the first
    value, with at least `min_points` values before. The score is |y - yhat| divided by
    yhat_upper - yhat (y above) or yhat - yhat_lower (y below): 1 at the interval's edge. Each
    day's simulation draws are seeded (`seed` + day), so a run is reproducible."""
    quiet_stan()
    from prophet import Prophet

    ds = _utc_naive(series["ds"])
    y = _values(series)
    score = np.full(len(y), np.nan)
    observed = np.isfinite(y)
    if not observed.any():
        return score
    window = WalkForwardPlan.for_step(pd.Timedelta(step)).training_window
    begin = ds[observed].min() + min_history
    for day in pd.date_range(begin.floor("D"), ds.max().floor("D"), freq="D"):
        start = max(day, begin)
        rows = np.flatnonzero(observed & (ds >= start) & (ds < day + DAY))
        train = observed & (ds >= start - window) & (ds < start)
        if not len(rows) or train.sum() < min_points:
            continue
        model = Prophet(interval_width=interval_width, uncertainty_samples=uncertainty_samples)
        try:
            model.fit(pd.DataFrame({"ds": ds[train], "y": y[train]}))
            np.random.seed((seed + day.value // DAY.value) % 2**32)
            when = pd.DatetimeIndex(ds[rows]).unique()
            predicted = model.predict(pd.DataFrame({"ds": when})).set_index("ds")
        except Exception:  # a failed fit leaves its day unscored; the next day tries again
            continue
        predicted = predicted.reindex(ds[rows])
        yhat = predicted["yhat"].to_numpy()
        above = y[rows] >= yhat
        half = np.where(
            above,
            predicted["yhat_upper"].to_numpy() - yhat,
            yhat - predicted["yhat_lower"].to_numpy(),
        )
        half = np.maximum(half, 1e-9 * np.maximum(np.abs(yhat), 1.0))
        score[rows] = np.abs(y[rows] - yhat) / half
    return score


def logcast_scored(
    series: pd.DataFrame, step: pd.Timedelta, **options: Any
) -> tuple[np.ndarray, np.ndarray]:
    """walk_forward's score of each row (`surprise` when it has that column, else `score`;
    NaN where it made no forecast or y is missing) and its `is_anomaly` flags."""
    out = walk_forward(series, freq=pd.Timedelta(step), **options)
    column = "surprise" if "surprise" in out.columns else "score"
    score = pd.to_numeric(out[column], errors="coerce").to_numpy(dtype="float64").copy()
    unscored = out["yhat"].isna().to_numpy() | ~np.isfinite(_values(series))
    score[unscored] = np.nan
    return score, out["is_anomaly"].to_numpy(dtype=bool)


def logcast(series: pd.DataFrame, step: pd.Timedelta, **options: Any) -> np.ndarray:
    """walk_forward with `options` (none: the product's defaults); see `logcast_scored`."""
    return logcast_scored(series, step, **options)[0]


DETECTORS: dict[str, Callable[..., np.ndarray]] = {
    "logcast": logcast,
    "prophet": prophet,
    "zscore": zscore,
    "never": never,
}
"""Every detector by name, in the order the tables list them."""

REFERENCES = ("prophet", "zscore", "never")
