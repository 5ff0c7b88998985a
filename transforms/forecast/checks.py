"""The checks a point's model surprise must also pass, against the series' own history: its
error against the errors of the day before it (`recent_surprise`, `capped_by_recent`), and its
value against the values of the week before it (`level_surprise`); `final_surprise` combines
them. scipy is loaded on first use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.forecast.calibration import surprise_of

RECENT_WINDOW = pd.Timedelta(days=1)
"""How far back a point's error is compared with the series' own recent errors."""
RECENT_MIN_POINTS = 10
"""Errors the recent window needs before it is consulted."""
RECENT_SD_FLOOR = 0.1
"""Smallest spread of recent standardised errors (in model sigmas): a series its model fits
almost exactly is not judged by rounding noise."""
RECENT_RUN_POINTS = 6
"""Inside a run of points outside the interval on one side, each is judged against the window
before the run began, at most this many points back."""


def recent_points(step: pd.Timedelta) -> int:
    """Grid points in the recent window before a point (at least RECENT_MIN_POINTS)."""
    return max(int(RECENT_WINDOW / step), RECENT_MIN_POINTS)


def recent_reference(units: np.ndarray, points: int) -> tuple[np.ndarray, ...]:
    """(mean, sd, highest, lowest, count) of the standardised errors in the `points` grid
    points strictly before each point, NaN where fewer than RECENT_MIN_POINTS of them are
    known (count: how many are known)."""
    before = pd.Series(units, dtype="float64").shift(1)
    window = before.rolling(points, min_periods=RECENT_MIN_POINTS)
    return tuple(
        part.to_numpy()
        for part in (window.mean(), window.std(), window.max(), window.min(), window.count())
    )


def rolling_precedents(
    values: np.ndarray, points: int, repeats: int
) -> tuple[np.ndarray, np.ndarray]:
    """The `repeats`-th largest and `repeats`-th smallest of the known `values` in the
    `points` positions up to and including each one (NaN where fewer are known): the bounds
    within which a value has that many precedents on its side. Computed in chunks of rows, so
    memory stays bounded on long fine-grained series."""
    values = np.asarray(values, dtype="float64")
    n = len(values)
    highest, lowest = np.full(n, np.nan), np.full(n, np.nan)
    if n == 0 or repeats > points:
        return highest, lowest
    padded = np.concatenate([np.full(points - 1, np.nan), values])
    windows = np.lib.stride_tricks.sliding_window_view(padded, points)
    rows = max(1, (1 << 21) // points)
    k = repeats - 1
    for first in range(0, n, rows):
        chunk = windows[first : first + rows]
        known = np.isfinite(chunk)
        enough = known.sum(axis=1) >= repeats
        top = np.partition(np.where(known, -chunk, np.inf), k, axis=1)[:, k]
        bottom = np.partition(np.where(known, chunk, np.inf), k, axis=1)[:, k]
        highest[first : first + rows] = np.where(enough, -top, np.nan)
        lowest[first : first + rows] = np.where(enough, bottom, np.nan)
    return highest, lowest


def recent_surprise(
    units: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    highest: np.ndarray | None = None,
    lowest: np.ndarray | None = None,
    count: np.ndarray | None = None,
) -> np.ndarray:
    """-log10 of the normal tail beyond the point's standardised error, measured from the mean
    of the errors in the window before it in units of their sd (at least RECENT_SD_FLOOR):
    how unusual this error is for the series now, its routine bursts included. NaN where the
    window is not known.

    With the window's `highest` and `lowest` error and its `count` of errors: an error no
    larger on its side than one the window already holds has a precedent in it, and its tail
    probability is at least that of one error among the window's (`precedent_cap`): a burst
    the series made in the last day is not news, however far its errors are from the mean
    (a normal tail on the window's sd would call every repeat of a heavy-tailed burst
    extreme). An error beyond everything in the window keeps its normal tail, so the top of
    the scale is never flat."""
    from scipy.special import log_ndtr

    known = np.isfinite(mean) & np.isfinite(sd) & np.isfinite(units)
    out = np.full(len(units), np.nan)
    z = np.abs(units[known] - mean[known]) / np.maximum(sd[known], RECENT_SD_FLOOR)
    out[known] = surprise_of(log_ndtr(-z))
    if highest is None or lowest is None or count is None:
        return out
    with np.errstate(invalid="ignore"):
        precedent = known & np.where(units >= mean, units <= highest, units >= lowest)
    return np.where(precedent, np.minimum(out, precedent_cap(count)), out)


def precedent_cap(count: np.ndarray) -> np.ndarray:
    """The largest recent surprise of an error with a precedent among `count` recent errors:
    -log10 of one in count + 1 (a day of 1-minute points: 3.2; of hourly points: 1.4; on
    every grid about 1.4 once made per hour, `calibration.per_hour`)."""
    return np.log10(np.asarray(count, dtype="float64") + 1.0)


def run_lengths(side: np.ndarray, most: int) -> np.ndarray:
    """For each point, how many points right before it are on its side (non-zero), at most
    `most`."""
    out = np.zeros(len(side), dtype=int)
    for k in range(1, most + 1):
        same = np.zeros(len(side), dtype=bool)
        same[k:] = (side[k:] != 0) & (side[:-k] == side[k:])
        if k > 1:
            same &= out == k - 1
        out[same] = k
    return out


def capped_by_recent(surprise: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """A point is surprising only if it is far outside what the model expects and also unusual
    against the series' recent errors: the smaller of the two surprises (the model's alone
    where the recent window is not known yet)."""
    return np.where(np.isfinite(recent), np.minimum(surprise, recent), surprise)


LEVEL_WINDOW = pd.Timedelta(days=7)
"""How far back a point's value is compared with the series' own values (a week: every day
of the week is in it)."""
RECORD_WINDOW = pd.Timedelta(days=2)
"""A value beyond the range of the series' values this far back is a record, judged against
the week's values: a spike that stands out of the last two days is news even if the week saw
a bigger one, while a burst as large as the day before's is routine."""


def level_reference(
    v: np.ndarray, step: pd.Timedelta, known_from: int = 0
) -> tuple[np.ndarray, ...]:
    """(mean, sd) of the grid values `v` in the LEVEL_WINDOW strictly before each point and
    (lowest, highest) of those in the RECORD_WINDOW before it; NaN until a RECENT_WINDOW of
    them is known, and before `known_from` (where the series was not known yet)."""
    before = pd.Series(v, dtype="float64")
    before.iloc[:known_from] = np.nan
    day_points = recent_points(step)
    week, days = (
        before.shift(1).rolling(max(int(window / step), day_points), min_periods=day_points)
        for window in (LEVEL_WINDOW, RECORD_WINDOW)
    )
    return tuple(part.to_numpy() for part in (week.mean(), week.std(), days.min(), days.max()))


def level_surprise(
    values: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    lowest: np.ndarray,
    highest: np.ndarray,
    family: str,
) -> np.ndarray:
    """For a value outside the range of the series' values of the RECORD_WINDOW before it
    (`lowest`, `highest`): -log10 of the normal tail beyond its distance from the mean of the
    week's values, in units of their sd; 0 inside that range (a series whose bursts are
    routine seldom beats the last two days), NaN where the window is not known. The sd is at least the Poisson noise of the mean for counts (at least 1: a
    quiet endpoint's one request is no news), else a billionth of the mean's size."""
    from scipy.special import log_ndtr

    values = np.asarray(values, dtype="float64")
    known = np.isfinite(mean) & np.isfinite(sd) & np.isfinite(values) & np.isfinite(lowest)
    out = np.full(len(values), np.nan)
    x, m = values[known], mean[known]
    floor = np.sqrt(np.maximum(m, 1.0)) if family == "count" else 1e-9 * np.maximum(np.abs(m), 1)
    z = np.abs(x - m) / np.maximum(sd[known], floor)
    record = (x > highest[known]) | (x < lowest[known])
    out[known] = np.where(record, surprise_of(log_ndtr(-z)), 0.0)
    return out


def final_surprise(
    surprise: np.ndarray, recent: np.ndarray, level: np.ndarray | None
) -> np.ndarray:
    """A point's final surprise: the model's, capped by its error against the recent errors
    (`capped_by_recent`), or, when larger, how far its value is outside the series' values of
    the week before it (`level_surprise`; None or NaN where that is not consulted)."""
    capped = capped_by_recent(surprise, recent)
    if level is None:
        return capped
    return np.fmax(capped, np.nan_to_num(level, nan=0.0))


def level_checked(family: str, counts: np.ndarray | None) -> bool:
    """Whether a series' values are also judged against its values of the week before: counts
    always (their noise is known), other metrics only where no request counts stand behind
    the values (where they do, a quiet hour's rate or percentile is judged by the model,
    which weighs it by its requests)."""
    return family == "count" or counts is None


JUMP_POINTS = 3
"""A point's jump is its departure from its model's forecast (value minus forecast) minus the
median of the departures of this many points before it (inside a run of points outside the
interval on one side, before the run began): how sharply it breaks from the points right
before it, the forecast's own change between them (a daily cycle's slope) taken out."""
JUMP_PRECEDENTS = 3
"""How many jumps at least as large on its side the day before must hold for a jump to have a
precedent there: a series that broke this sharply three times in the day does so routinely,
while one or two such breaks may themselves have been incidents (an outage that comes and
goes, a spike that recurs within hours: each is news). An error against the model needs one
(`recent_surprise`): a model stays wrong for hours after a change, and its own errors
repeat."""
JUMP_CAP = 20.0
"""The most a jump's own surprise counts for: the routine jumps of a bursty series are
heavy-tailed, and beyond this a normal tail on their spread claims more than a day of them
can show."""
JUMP_TAIL_EXPONENT = 10.0
"""Beyond the day's record jump on its side (the JUMP_PRECEDENTS-th largest of the day
before), a jump's surprise grows by this many decades per tenfold of that record (a power-law
tail fitted at it): a normal tail on the routine jumps' spread would call a burst twice the
record extreme, which a heavy-tailed counter makes every few days."""
JUMP_DAMPS_FROM = 1.5
"""The surprise (per hour) from which a small jump lowers a point's surprise: below it, the
forecast's own calibration stands (white noise exceeds a surprise s on 2 * 10**-s of its
hours) and the jump can only raise it."""


def jump_checked_series(counts: np.ndarray | None) -> bool:
    """Whether a series' points are also judged by their jump from the values before them:
    only where no request counts stand behind the values. Where they do, the model's interval
    already weighs each point by its volume, and the jump of a rate or percentile over a few
    requests is sampling noise, not news."""
    return counts is None


def jump_reference(
    v: np.ndarray,
    start: np.ndarray,
    step: pd.Timedelta,
    known_from: int = 0,
    raw: np.ndarray | None = None,
    block_of: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """(base, scale, highest, lowest, count) of each point's jump, `v` being each point's
    departure from its forecast (`JUMP_POINTS`), taken at its run's start `start` (the point
    itself outside a run): base is the median of the JUMP_POINTS departures before it; the
    series' routine jumps (each value minus the median of the JUMP_POINTS before it) in the
    RECENT_WINDOW before it give the scale (1.4826 times their median
    absolute size, at least the data's resolution: the smallest change between consecutive
    values of the LEVEL_WINDOW before it, of the series' own values `raw` when given (a model
    that fits a noise-free history exactly leaves departures that differ by rounding only),
    else of `v`), the highest and lowest that JUMP_PRECEDENTS of them reach (the
    JUMP_PRECEDENTS-th largest and smallest) and how many are known. Where the points of a
    jump's base were forecast by another model than the point (`block_of`: each point's model;
    the first points after a refit), its jump holds the change between the two models'
    forecasts too, which every refit makes: there one jump of the day as large is a
    precedent.
    NaN where fewer than RECENT_MIN_POINTS jumps are known, and before `known_from`."""
    values = pd.Series(v, dtype="float64")
    values.iloc[:known_from] = np.nan
    base = values.shift(1).rolling(JUMP_POINTS, min_periods=1).median()
    before = (values - base).shift(1)
    window = before.rolling(recent_points(step), min_periods=RECENT_MIN_POINTS)
    spread = before.abs().rolling(recent_points(step), min_periods=RECENT_MIN_POINTS)
    own = values if raw is None else pd.Series(raw, dtype="float64")
    own.iloc[:known_from] = np.nan
    changes = own.diff().abs()
    changes[~(changes > 0)] = np.nan
    week = max(int(LEVEL_WINDOW / step), recent_points(step))
    resolution = changes.shift(1).rolling(week, min_periods=1).min()
    scale = np.fmax(1.4826 * spread.median().to_numpy(), resolution.to_numpy())
    count = window.count().to_numpy()
    scale = np.where(count >= RECENT_MIN_POINTS, scale, np.nan)
    highest, lowest = rolling_precedents(before.to_numpy(), recent_points(step), JUMP_PRECEDENTS)
    if block_of is not None:
        block_of = np.asarray(block_of)
        refit = np.zeros(len(block_of), dtype=bool)
        for back in range(1, JUMP_POINTS + 1):
            refit[back:] |= block_of[back:] != block_of[:-back]
        highest = np.where(refit, window.max().to_numpy(), highest)
        lowest = np.where(refit, window.min().to_numpy(), lowest)
    highest, lowest = (np.where(count >= RECENT_MIN_POINTS, p, np.nan) for p in (highest, lowest))
    parts = (base.to_numpy(), scale, highest, lowest, count)
    return tuple(part[start] for part in parts)


def jump_surprise(
    values: np.ndarray,
    base: np.ndarray,
    scale: np.ndarray,
    highest: np.ndarray,
    lowest: np.ndarray,
    count: np.ndarray,
    family: str,
    expected: np.ndarray | None = None,
) -> np.ndarray:
    """-log10 of the tail beyond a point's jump (`values`: its departure from its forecast,
    `expected`; see JUMP_POINTS): the normal tail in units of the routine jumps' scale (for
    counts at least the Poisson noise of the forecast, else of the base). A
    jump no larger on its side than JUMP_PRECEDENTS of the day before has a precedent and
    counts at most `precedent_cap` (a series that jumps like this several times a day is not
    news); one beyond that record counts at most `precedent_cap` plus JUMP_TAIL_EXPONENT
    decades per tenfold of it. NaN where the jumps are not known."""
    from scipy.special import log_ndtr

    values = np.asarray(values, dtype="float64")
    jump = values - base
    if family == "count":
        level = base if expected is None else np.asarray(expected, dtype="float64")
        scale = np.fmax(scale, np.sqrt(np.maximum(level, 1.0)))
    known = np.isfinite(jump) & np.isfinite(scale)
    out = np.full(len(values), np.nan)
    size = np.abs(jump[known])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(size > 0, size / scale[known], 0.0)
    out[known] = surprise_of(log_ndtr(-z))
    with np.errstate(invalid="ignore", divide="ignore"):
        precedent = known & np.where(jump >= 0, jump <= highest, jump >= lowest)
        record = np.where(jump >= 0, highest, -lowest)
        beyond = known & ~precedent & (record > 0)
        tail = precedent_cap(count) + JUMP_TAIL_EXPONENT * np.log10(np.abs(jump) / record)
    out = np.where(beyond, np.fmin(out, tail), out)
    return np.where(precedent, np.minimum(out, precedent_cap(count)), out)


def jump_checked(surprise: np.ndarray, jump: np.ndarray) -> np.ndarray:
    """A point's surprise, backed by its jump's: the geometric mean of the two (the jump's at
    most JUMP_CAP), so that a point far from its forecast that does not break from the values
    right before it is less surprising, and one that breaks sharply from them more; below
    JUMP_DAMPS_FROM the jump only raises it. The surprise alone where the jump is not known.
    Both are per hour of the series (`calibration.per_hour`)."""
    surprise = np.asarray(surprise, dtype="float64")
    jump = np.asarray(jump, dtype="float64")
    backed = np.sqrt(np.maximum(surprise, 0.0) * np.clip(jump, 0.0, JUMP_CAP))
    backed = np.where(surprise < JUMP_DAMPS_FROM, np.fmax(backed, surprise), backed)
    return np.where(np.isfinite(jump), backed, surprise)
