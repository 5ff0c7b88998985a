"""Streaming-benchmark metrics of a detector's scores on labelled series: the window score,
the point-adjusted best F1 and false alarms per series-week (pure numpy; no IO, no clock).

A series is a sequence of rows 0..n-1 with a time, a label (True = anomalous; a run of True rows
is a *segment*) and a score (higher = more anomalous; NaN = not scored, never a detection). A row
is a *detection* at threshold t when its score >= t. Every metric ignores the first
`warmup_rows(n) = min(int(0.15 * n), 750)` rows of each series: a detector needs history first.

Window score (as streaming benchmarks such as NAB score detectors)
    Each segment gets a window of w = 0.1 * n / (number of segments) rows centred on it (a
    segment of at least w rows is its own window), clipped to the series; overlapping or
    touching windows merge; windows ending inside the warm-up are dropped. With
    sigma(x) = 2 / (1 + exp(5x)) - 1 (positive for x < 0, negative for x > 0):

    - a window counts once, through its earliest detection at row i, which scores
      A_TP * sigma(-(end - i + 1) / w_win) / sigma(-1), w_win = end - start + 1 being the
      window's own length: A_TP at the window's first row, about 0 at its last. Later detections
      in the same window are ignored. A window without a detection scores -A_FN.
    - a detection outside every window scores A_FP * sigma((i - end_prev) / (w_prev - 1)) after
      a window (end_prev, w_prev: the nearest preceding window's last row and length; a
      one-row window divides by 1): a small penalty just after a window, close to -A_FP far from
      it. With no window before it, a detection scores -A_FP.

    `raw` sums these over all series at one threshold, chosen to maximise raw among every
    distinct finite score and "never" (+inf: no detections, raw = null). null = -A_FN per window,
    perfect = A_TP per window; the score is 100 * (raw - null) / (perfect - null): 0 for a
    detector that never fires, 100 for one that fires on the first row of every window and
    nowhere else, negative when its false detections cost more than its windows earn. With no
    window at all nothing can be earned: the best threshold never fires and the score is 0.
    A window that starts inside the warm-up keeps its full length (its rows there cannot
    detect), so it cannot earn the whole A_TP. Profiles weigh (A_TP, A_FP, A_FN):
    standard (1, 0.11, 1), low_fp (1, 0.22, 1), low_fn (1, 0.11, 2).

Best F1 (AIOps Challenge 2018, point-adjusted)
    After the warm-up rows are removed (a segment cut by the warm-up starts at the first row
    after it), a segment is found when one of its first `delay` rows is a detection; then all
    its rows are true positives, else all are false negatives. Detections on rows labelled
    False are false positives. Counts are summed over all series at one threshold and the
    threshold with the best F1 wins (the highest one on a tie). Precision is 1 when nothing is
    flagged and recall is 1 when there is nothing to find, as in `incident_scores`.

False alarms per series-week
    Detections after the warm-up and outside every label window of their series, merged into
    one alarm episode while consecutive ones are no more than `gap` apart (default per series:
    3 median time steps, at least an hour). Weeks add up, over the series, the span from the
    first row after the warm-up to the last row plus one step.

Both sweeps sort the scores once (O(N log N)) rather than scoring every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_WARMUP_FRACTION = 0.15
_WARMUP_MAX_ROWS = 750
_WINDOW_FRACTION = 0.1
_AIOPS_DELAY = 7
_WEEK_NS = pd.Timedelta(days=7).value
_MIN_GAP_NS = pd.Timedelta(hours=1).value
_GAP_STEPS = 3
_NEVER = float("inf")


@dataclass(frozen=True, eq=False)
class ScoredSeries:
    """One labelled series and a detector's scores on it, row by row. The arrays are coerced:
    time to datetime64[ns] (UTC when tz-aware, strictly increasing), label to bool, score to
    float (NaN: not scored; +-inf: the largest and smallest floats)."""

    name: str
    time: np.ndarray
    label: np.ndarray
    score: np.ndarray

    def __post_init__(self) -> None:
        time = _as_datetime64(self.time)
        label = np.asarray(self.label, dtype=bool)
        # +-inf become the extreme floats: a finite threshold then separates firing only on
        # +inf from never firing, and every score is a threshold of the sweep
        limit = np.finfo(float).max
        score = np.clip(np.asarray(self.score, dtype=float), -limit, limit)
        if not len(time) == len(label) == len(score):
            raise ValueError(
                f"series {self.name!r}: time, label and score have {len(time)}, {len(label)} "
                f"and {len(score)} rows; expected the same number"
            )
        steps = np.diff(time)
        if (steps <= np.timedelta64(0, "ns")).any():
            row = int(np.argmax(steps <= np.timedelta64(0, "ns"))) + 1
            raise ValueError(
                f"series {self.name!r}: time at row {row} ({time[row]}) does not follow "
                f"row {row - 1} ({time[row - 1]}); expected strictly increasing times"
            )
        for name, value in (("time", time), ("label", label), ("score", score)):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Profile:
    """Weights of the window score: a detected window, a false detection, a missed window."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("low_fp", 1.0, 0.22, 1.0),
    Profile("low_fn", 1.0, 0.11, 2.0),
)


@dataclass(frozen=True)
class WindowScore:
    """The window score at the best threshold (+inf: never fire), normalised 0..100 (negative
    when worse than never firing), with its raw sum, the null and perfect sums, the number of
    windows, how many were detected and the detections outside every window."""

    profile: str
    threshold: float
    score: float
    raw: float
    null: float
    perfect: float
    windows: int
    detected: int
    false_detections: int


@dataclass(frozen=True)
class F1Score:
    """The best point-adjusted F1 over thresholds, with its precision, recall and threshold."""

    threshold: float
    f1: float
    precision: float
    recall: float


@dataclass(frozen=True)
class FalseAlarms:
    """Alarm episodes outside every label window, the weeks scored and alarms per series-week."""

    alarms: int
    weeks: float
    per_series_week: float


def warmup_rows(n: int) -> int:
    """Rows at the start of an n-row series that no metric scores: 15 %, at most 750."""
    return min(int(_WARMUP_FRACTION * n), _WARMUP_MAX_ROWS)


def segments(label) -> list[tuple[int, int]]:
    """The (first, last) row, both inclusive, of each run of True in `label`."""
    first, last = _segment_bounds(np.asarray(label, dtype=bool))
    return list(zip(first.tolist(), last.tolist(), strict=True))


def label_windows(label) -> list[tuple[int, int]]:
    """The (first, last) row, both inclusive, of each window of the window score: one of
    int(0.1 * n / segments) rows centred on each segment (a row more after it than before
    when the padding is odd; a segment at least that long is its own window), clipped to the
    series, overlapping or touching windows merged, windows ending in the warm-up dropped."""
    start, end = _window_bounds(np.asarray(label, dtype=bool))
    return list(zip(start.tolist(), end.tolist(), strict=True))


def window_score(series: Sequence[ScoredSeries], profile: Profile) -> WindowScore:
    """The window score of all `series` at the one threshold that maximises it (module
    docstring). Sorting the scores once gives the score at every threshold."""
    a_tp, a_fp, a_fn = profile.a_tp, profile.a_fp, profile.a_fn
    top = a_tp / _sigma(-1.0)
    in_score, in_window, in_weight, out_score, out_weight = [], [], [], [], []
    windows = 0
    for one in series:
        start, end = _window_bounds(one.label)
        rows = np.arange(warmup_rows(len(one.score)), len(one.score))
        rows = rows[_can_detect(one.score[rows])]
        # the window starting at or before each row: the row's own, or the nearest before it
        window = np.searchsorted(start, rows, side="right") - 1
        inside = np.zeros(len(rows), dtype=bool)
        if len(start):
            inside = (window >= 0) & (rows <= end[np.maximum(window, 0)])
        length = end - start + 1
        row, own = rows[inside], window[inside]
        in_score.append(one.score[row])
        in_window.append(own + windows)
        in_weight.append(top * _sigma(-(end[own] - row + 1) / length[own]))
        row, before = rows[~inside], window[~inside]
        weight = np.full(len(row), -a_fp)
        after = before >= 0
        before = before[after]
        weight[after] = a_fp * _sigma(
            (row[after] - end[before]) / np.maximum(length[before] - 1, 1)
        )
        out_score.append(one.score[row])
        out_weight.append(weight)
        windows += len(start)

    # A window's value as the threshold falls: its earliest detection so far. In-window rows
    # are numbered in row order, so the earliest is the smallest number seen; with windows in
    # descending order each window's numbers are below all those sorted before it, and one
    # running minimum over everything restarts by itself at each window.
    in_score, in_window = _join(in_score, float), _join(in_window, int)
    in_weight = _join(in_weight, float)
    order = np.lexsort((-in_score, -in_window))
    value = in_weight[np.minimum.accumulate(order)]
    first = np.ones(len(order), dtype=bool)
    first[1:] = in_window[order][1:] != in_window[order][:-1]
    previous = np.concatenate([[-a_fn], value[:-1]])
    previous[first] = -a_fn
    out_score, out_weight = _join(out_score, float), _join(out_weight, float)
    thresholds, (gain, found, false) = _sweep(
        np.concatenate([in_score[order], out_score]),
        np.concatenate([value - previous, out_weight]),
        np.concatenate([first, np.zeros(len(out_score), dtype=bool)]),
        np.concatenate([np.zeros(len(order), dtype=bool), np.ones(len(out_score), dtype=bool)]),
    )
    null, perfect = -a_fn * windows, a_tp * windows
    threshold, raw, detected, false_detections = _NEVER, null, 0, 0
    if len(thresholds):
        # gain over never firing; on a tie the higher threshold (or never firing) wins
        best = int(np.argmax(gain))
        if gain[best] > 0:
            threshold, raw = float(thresholds[best]), null + float(gain[best])
            detected, false_detections = int(found[best]), int(false[best])
    score = 100.0 * (raw - null) / (perfect - null) if windows else 0.0
    return WindowScore(
        profile=profile.name,
        threshold=threshold,
        score=score,
        raw=raw,
        null=null,
        perfect=perfect,
        windows=windows,
        detected=detected,
        false_detections=false_detections,
    )


def best_f1(series: Sequence[ScoredSeries], delay: int = _AIOPS_DELAY) -> F1Score:
    """The best point-adjusted F1 of all `series` over thresholds (module docstring): a segment
    counts whole once one of its first `delay` rows is a detection."""
    if delay < 1:
        raise ValueError(f"delay is {delay}; expected at least 1 row")
    scores, true, false = [], [], []
    positives = 0
    for one in series:
        skip = warmup_rows(len(one.score))
        label, score = one.label[skip:], one.score[skip:]
        score = np.where(_can_detect(score), score, -np.inf)
        first, last = _segment_bounds(label)
        positives += int((last - first + 1).sum())
        if len(first):
            stop = np.minimum(first + delay, last + 1)
            # the highest score among each segment's first `delay` rows: found below it
            found = np.maximum.reduceat(
                np.append(score, -np.inf), np.column_stack([first, stop]).ravel()
            )[::2]
            keep = found > -np.inf
            scores.append(found[keep])
            true.append((last - first + 1)[keep])
            false.append(np.zeros(int(keep.sum()), dtype=int))
        flagged = ~label & (score > -np.inf)
        scores.append(score[flagged])
        true.append(np.zeros(int(flagged.sum()), dtype=int))
        false.append(np.ones(int(flagged.sum()), dtype=int))
    thresholds, (tp, fp) = _sweep(_join(scores, float), _join(true, int), _join(false, int))
    # never firing: precision 1; recall 0, or 1 when there is nothing to find
    threshold, f1, precision, recall = _NEVER, float(positives == 0), 1.0, float(positives == 0)
    if len(thresholds):
        # each threshold flags at least one row, so tp + fp > 0; tp + fp + positives
        # = 2 tp + fp + fn is the denominator of F1
        scores_f1 = 2 * tp / (tp + fp + positives)
        best = int(np.argmax(scores_f1))  # the highest threshold on a tie
        if scores_f1[best] > f1:
            threshold, f1 = float(thresholds[best]), float(scores_f1[best])
            precision = float(tp[best] / (tp[best] + fp[best]))
            recall = float(tp[best] / positives) if positives else 1.0
    return F1Score(threshold=threshold, f1=f1, precision=precision, recall=recall)


def false_alarms(
    series: Sequence[ScoredSeries], threshold: float, gap: pd.Timedelta | None = None
) -> FalseAlarms:
    """Alarm episodes at `threshold` outside every label window, after the warm-up, and their
    rate per series-week (module docstring). `gap` defaults, per series, to 3 median time
    steps and at least an hour; a one-row series has a step of 0."""
    alarms, weeks = 0, 0.0
    for one in series:
        n = len(one.time)
        if n == 0:
            continue
        skip = warmup_rows(n)
        step = int(np.median(np.diff(one.time).astype(np.int64))) if n > 1 else 0
        own_gap = (
            pd.Timedelta(gap).value if gap is not None else max(_GAP_STEPS * step, _MIN_GAP_NS)
        )
        start, end = _window_bounds(one.label)
        edges = np.zeros(n + 1, dtype=int)
        np.add.at(edges, start, 1)
        np.add.at(edges, end + 1, -1)
        flagged = (one.score >= threshold) & (np.cumsum(edges)[:n] == 0)
        flagged[:skip] = False
        when = one.time[flagged].astype(np.int64)
        if len(when):
            alarms += 1 + int((np.diff(when) > own_gap).sum())
        scored_ns = int((one.time[-1] - one.time[skip]).astype(np.int64)) + step
        weeks += scored_ns / _WEEK_NS
    return FalseAlarms(alarms=alarms, weeks=weeks, per_series_week=alarms / weeks if weeks else 0.0)


def _sigma(x):
    """2 / (1 + exp(5x)) - 1, written as -tanh(5x / 2): the same function, without overflow."""
    return -np.tanh(2.5 * x)


def _can_detect(score: np.ndarray) -> np.ndarray:
    """Rows whose score some finite threshold reaches: not NaN (nor -inf, for arrays that did
    not pass through ScoredSeries)."""
    return ~np.isnan(score) & (score > -np.inf)


def _segment_bounds(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last rows (inclusive) of the runs of True."""
    change = np.diff(np.concatenate([[False], label, [False]]).astype(np.int8))
    return np.flatnonzero(change == 1), np.flatnonzero(change == -1) - 1


def _window_bounds(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last rows (inclusive) of the windows of `label_windows`."""
    n = len(label)
    first, last = _segment_bounds(label)
    if not len(first):
        return first, last
    width = int(_WINDOW_FRACTION * n / len(first))
    pad = np.maximum(width - (last - first + 1), 0)
    start = np.maximum(first - pad // 2, 0)
    end = np.minimum(last + pad - pad // 2, n - 1)
    # merge a window into the one before when it overlaps or touches it: a new window starts
    # where its start is past every earlier end + 1
    opens = np.ones(len(start), dtype=bool)
    opens[1:] = start[1:] > np.maximum.accumulate(end)[:-1] + 1
    start = start[opens]
    end = np.maximum.reduceat(end, np.flatnonzero(opens))
    keep = end >= warmup_rows(n)
    return start[keep], end[keep]


def _sweep(score: np.ndarray, *deltas: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Each distinct finite score, highest first, with the running sums of `deltas` over every
    event scored at or above it: their totals at that threshold."""
    order = np.argsort(-score)
    score = score[order]
    last = np.ones(len(score), dtype=bool)
    last[:-1] = score[1:] != score[:-1]
    last &= np.isfinite(score)
    return score[last], tuple(np.cumsum(delta[order])[last] for delta in deltas)


def _join(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _as_datetime64(time) -> np.ndarray:
    index = pd.DatetimeIndex(time)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.to_numpy(dtype="datetime64[ns]")
