"""Streaming-benchmark metrics on small hand-made series; the sweeps against per-threshold loops.

Unless a test says otherwise a series has hourly rows and NaN scores (never a detection) except
on the rows it names. sigma(x) = 2 / (1 + exp(5x)) - 1, so sigma(-1) = 0.986614; a detection
in a window of w rows ending at row `end` is worth A_TP * sigma(-(end - i + 1) / w) / sigma(-1).
"""

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from transforms.evaluation import (
    PROFILES,
    F1Score,
    FalseAlarms,
    Profile,
    ScoredSeries,
    best_f1,
    false_alarms,
    label_windows,
    segments,
    warmup_rows,
    window_score,
)

STANDARD, LOW_FP, LOW_FN = PROFILES
START = np.datetime64("2026-03-02T00:00", "ns")
HOUR = np.timedelta64(1, "h")


def scored(n, runs=(), scores=None, *, name="s", step=HOUR):
    """An n-row series labelled True on the inclusive (first, last) `runs`, scored on the rows
    of `scores` (row -> score) and NaN elsewhere."""
    label = np.zeros(n, dtype=bool)
    for first, last in runs:
        label[first : last + 1] = True
    score = np.full(n, np.nan)
    for row, value in (scores or {}).items():
        score[row] = value
    return ScoredSeries(name, START + step * np.arange(n), label, score)


def sigma(x):
    return 2 / (1 + math.exp(5 * x)) - 1


# --- warm-up, segments, windows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "rows"),
    [
        (0, 0),
        (19, 2),  # 2.85
        (20, 3),
        (100, 15),
        (4999, 749),  # 749.85
        (5000, 750),
        (6000, 750),  # 900, capped
    ],
)
def test_warmup_is_15_percent_of_the_rows_at_most_750(n, rows):
    assert warmup_rows(n) == rows


def test_segments_are_the_inclusive_runs_of_true():
    assert segments([False, True, True, False, True]) == [(1, 2), (4, 4)]
    assert segments([True, True, True]) == [(0, 2)]
    assert segments([False, False]) == []
    assert segments([]) == []


def label(n, *rows_or_runs):
    out = np.zeros(n, dtype=bool)
    for run in rows_or_runs:
        first, last = run if isinstance(run, tuple) else (run, run)
        out[first : last + 1] = True
    return out


def test_a_window_is_a_tenth_of_the_series_centred_on_its_segment():
    # n = 100, one segment: w = 10 rows. Rows 50..51 leave 8 rows of padding, 4 on each side.
    assert label_windows(label(100, (50, 51))) == [(46, 55)]
    # rows 50..52 leave 7: 3 before, 4 after (the odd row goes after the segment)
    assert label_windows(label(100, (50, 52))) == [(47, 56)]
    # a segment of 20 rows is longer than w: it is its own window
    assert label_windows(label(100, (40, 59))) == [(40, 59)]


def test_the_width_is_shared_between_the_segments():
    # n = 100, two segments: w = 5 rows each; one row leaves 4 of padding, 2 on each side
    assert label_windows(label(100, 30, 70)) == [(28, 32), (68, 72)]


def test_windows_are_clipped_to_the_series():
    # rows 98..99: 4 rows before (94), 4 after, clipped to the last row 99
    assert label_windows(label(100, (98, 99))) == [(94, 99)]
    # n = 100 000 (warm-up 750), w = 10 000: row 10 padded by 4 999 before (clipped to 0) and
    # 5 000 after
    assert label_windows(label(100_000, 10)) == [(0, 5010)]


def test_overlapping_and_touching_windows_merge():
    # two segments in 100 rows: w = 5, so a single row r gets the window r-2..r+2
    assert label_windows(label(100, 50, 54)) == [(48, 56)]  # (48, 52) and (52, 56) overlap
    assert label_windows(label(100, 50, 55)) == [(48, 57)]  # (48, 52) and (53, 57) touch
    assert label_windows(label(100, 50, 56)) == [(48, 52), (54, 58)]  # a row between them


def test_windows_ending_in_the_warm_up_are_dropped_and_those_crossing_it_are_kept():
    # n = 100: warm-up rows 0..14. Two segments, w = 5: row 2 gets (0, 4), dropped; the
    # dropped segment still counts in the width, so (58, 62) has 5 rows, not 10
    assert label_windows(label(100, 2, 60)) == [(58, 62)]
    # one segment, w = 10: row 14 gets (10, 19), which ends after the warm-up
    assert label_windows(label(100, 14)) == [(10, 19)]


def test_a_series_without_segments_has_no_windows():
    assert label_windows(np.zeros(50, dtype=bool)) == []
    assert label_windows(np.zeros(0, dtype=bool)) == []


# --- window score ------------------------------------------------------------------------------
# Most cases: n = 100 (warm-up rows 0..14), one segment at rows 50..51, window (46, 55), 10 rows.


def one_window(scores):
    return [scored(100, [(50, 51)], scores)]


def test_a_detection_at_the_window_start_scores_a_tp_and_normalises_to_100():
    result = window_score(one_window({46: 1.0}), STANDARD)
    # raw = 1 * sigma(-10/10) / sigma(-1) = 1; null = -1, perfect = 1: 100 * (1 + 1) / 2
    assert result.raw == pytest.approx(1.0)
    assert (result.null, result.perfect, result.windows) == (-1.0, 1.0, 1)
    assert result.score == pytest.approx(100.0)
    assert (result.threshold, result.detected, result.false_detections) == (1.0, 1, 0)
    assert result.profile == "standard"


def test_a_detection_at_the_window_end_scores_little():
    # row 55: sigma(-1/10) / sigma(-1) = 0.244919 / 0.986614 = 0.248242
    result = window_score(one_window({55: 1.0}), STANDARD)
    assert result.raw == pytest.approx(0.248242, abs=1e-6)
    # normalised: 100 * (0.248242 + 1) / 2 = 62.41
    assert result.score == pytest.approx(62.412, abs=1e-3)
    # in a 100-row window (n = 1000, one row at 500: window 451..550) the last row is worth
    # sigma(-1/100) / sigma(-1) = 0.024995 / 0.986614 = 0.025334: about 0
    wide = window_score([scored(1000, [(500, 500)], {550: 1.0})], STANDARD)
    assert wide.raw == pytest.approx(0.025334, abs=1e-6)


def test_a_missed_window_scores_minus_a_fn_and_never_firing_normalises_to_0():
    # the only detection is outside the window: firing costs 0.11 more than not
    result = window_score(one_window({20: 1.0}), STANDARD)
    assert result.threshold == math.inf
    assert (result.raw, result.null, result.score) == (-1.0, -1.0, 0.0)
    assert (result.detected, result.false_detections) == (0, 0)
    # low_fn: a miss costs 2
    assert window_score(one_window({}), LOW_FN).raw == -2.0


def test_one_detected_window_and_one_missed_window():
    # two segments at rows 30 and 70 in 100 rows: windows (28, 32) and (68, 72); only row 28
    # fires: raw = 1 - 1 = 0, null = -2, perfect = 2: 100 * 2 / 4 = 50
    result = window_score([scored(100, [(30, 30), (70, 70)], {28: 1.0})], STANDARD)
    assert result.raw == pytest.approx(0.0)
    assert result.score == pytest.approx(50.0)
    assert (result.windows, result.detected) == (2, 1)


@pytest.mark.parametrize(
    ("row", "weight"),
    [
        (20, -0.11),  # no window before it: -A_FP
        (56, 0.11 * sigma(1 / 9)),  # just after: 0.11 * sigma(1/9) = -0.029793
        (64, 0.11 * sigma(9 / 9)),  # 9 rows after: 0.11 * sigma(1) = -0.108528
        (99, 0.11 * sigma(44 / 9)),  # far after: -0.1099999999947, about -A_FP
    ],
)
def test_a_false_detection_costs_little_just_after_a_window_and_a_fp_far_from_it(row, weight):
    # row 46 (worth 1) and `row` share the score 2: firing is worth 1 + weight > -1
    result = window_score(one_window({46: 2.0, row: 2.0}), STANDARD)
    assert result.raw == pytest.approx(1.0 + weight, abs=1e-12)
    assert (result.detected, result.false_detections) == (1, 1)
    assert weight == pytest.approx(
        {20: -0.11, 56: -0.029793, 64: -0.108528, 99: -0.11}[row], abs=1e-6
    )


def test_a_false_detection_after_a_one_row_window_divides_by_one():
    # n = 20, two segments: w = 1.0, windows (8, 8) and (14, 14), each of one row. Row 10 is
    # 2 rows after (8, 8): 0.11 * sigma(2 / 1) = -0.109990. raw = 1 + 1 - 0.109990
    result = window_score([scored(20, [(8, 8), (14, 14)], {8: 2.0, 10: 2.0, 14: 2.0})], STANDARD)
    assert result.raw == pytest.approx(2 + 0.11 * sigma(2.0), abs=1e-12)
    assert result.raw == pytest.approx(1.890010, abs=1e-6)


def test_only_the_earliest_detection_in_a_window_counts():
    # rows 48 and 50 both fire: only row 48 counts, sigma(-8/10) / sigma(-1) = 0.977107
    result = window_score(one_window({48: 2.0, 50: 2.0}), STANDARD)
    assert result.raw == pytest.approx(0.977107, abs=1e-6)
    assert (result.detected, result.false_detections) == (1, 0)


def test_a_window_keeps_its_earliest_detection_as_the_threshold_falls():
    # row 52 scores 3 (sigma(-4/10) / sigma(-1) = 0.771927), row 47 scores 2 (sigma(-9/10) /
    # sigma(-1) = 0.991295). At threshold 2 the window is worth 0.991295, not their sum.
    result = window_score(one_window({52: 3.0, 47: 2.0}), STANDARD)
    assert result.threshold == 2.0
    assert result.raw == pytest.approx(0.991295, abs=1e-6)


def test_the_sweep_picks_the_best_threshold():
    # threshold 3: row 50 only, sigma(-6/10) / sigma(-1) = 0.917429
    # threshold 2: row 46 fires first in the window: 1
    # threshold 1: rows 20 and 21 fire too: 1 - 2 * 0.11 = 0.78
    # never: -1. Best: 2.
    result = window_score(one_window({50: 3.0, 46: 2.0, 20: 1.0, 21: 1.0}), STANDARD)
    assert result.threshold == 2.0
    assert result.raw == pytest.approx(1.0)
    assert result.score == pytest.approx(100.0)


def test_detections_in_the_warm_up_are_ignored():
    # row 10 is in the warm-up (rows 0..14): not a false detection
    result = window_score(one_window({10: 5.0, 46: 5.0}), STANDARD)
    assert result.raw == pytest.approx(1.0)
    assert result.false_detections == 0


def test_a_window_crossing_the_warm_up_detects_only_after_it():
    # row 14 gets the window (10, 19); rows 10..14 are warm-up, so row 12 cannot detect and
    # row 15 is the earliest: sigma(-5/10) / sigma(-1) = 0.848284 / 0.986614 = 0.859793
    result = window_score([scored(100, [(14, 14)], {12: 1.0, 15: 1.0})], STANDARD)
    assert result.raw == pytest.approx(sigma(-0.5) / sigma(-1.0), abs=1e-12)
    assert result.raw == pytest.approx(0.859793, abs=1e-6)


def test_nan_scores_never_detect():
    # were NaN a detection, the window would be found at row 46 (all rows are NaN but 20)
    result = window_score(one_window({20: 1.0}), STANDARD)
    assert (result.detected, result.threshold) == (0, math.inf)
    # the window's rows scored 0 instead of NaN: threshold 0 finds the window at its start
    assert window_score(one_window(dict.fromkeys(range(46, 56), 0.0)), STANDARD).raw == 1.0


def test_without_windows_the_score_is_0():
    assert window_score([scored(100)], STANDARD) == window_score([], STANDARD)
    result = window_score([scored(100, scores={20: 1.0, 30: 2.0})], STANDARD)
    # any detection costs, so the best is never to fire: raw = null = perfect = 0
    assert (result.threshold, result.raw, result.null, result.perfect) == (math.inf, 0, 0, 0)
    assert (result.score, result.windows, result.false_detections) == (0.0, 0, 0)


def test_the_threshold_is_common_to_all_series():
    # series a fires at 2 on its window start, series b at 1 on its own: threshold 1 finds
    # both (raw 2) at the cost of a's false detection at row 20 (score 1): 2 - 0.11 = 1.89;
    # threshold 2 finds a only: 1 - 1 = 0. Null = -2, perfect = 2: 100 * 3.89 / 4 = 97.25
    a = scored(100, [(50, 51)], {46: 2.0, 20: 1.0}, name="a")
    b = scored(100, [(50, 51)], {46: 1.0}, name="b")
    result = window_score([a, b], STANDARD)
    assert result.threshold == 1.0
    assert result.raw == pytest.approx(1.89)
    assert result.score == pytest.approx(97.25)
    assert (result.windows, result.detected, result.false_detections) == (2, 2, 1)


def test_each_profile_weighs_hits_false_detections_and_misses():
    # windows (28, 32) and (68, 72); row 28 and row 90 fire at 1: one hit, one miss and a
    # false detection 18 rows after a 5-row window: A_FP * sigma(18 / 4) = -A_FP (to 3e-10)
    series = [scored(100, [(30, 30), (70, 70)], {28: 1.0, 90: 1.0})]
    expected = {
        # raw = 1 - A_FN - A_FP; null = -2 A_FN; perfect = 2
        "standard": (-0.11, -2.0, 47.25),  # 100 * 1.89 / 4
        "low_fp": (-0.22, -2.0, 44.5),  # 100 * 1.78 / 4
        "low_fn": (-1.11, -4.0, 48.1667),  # 100 * 2.89 / 6
    }
    for profile in PROFILES:
        result = window_score(series, profile)
        raw, null, score = expected[profile.name]
        assert result.profile == profile.name
        assert result.raw == pytest.approx(raw, abs=1e-6)
        assert result.null == null
        assert result.score == pytest.approx(score, abs=1e-4)


def test_the_profile_decides_whether_firing_pays():
    # window (56, 65) from a segment at row 60; row 56 fires along with 10 rows before any
    # window (16..25), all at 1. standard: 1 - 10 * 0.11 = -0.1 > -1: fire, 100 * 0.9 / 2 = 45.
    # low_fp: 1 - 10 * 0.22 = -1.2 < -1: never fire, 0. low_fn: -0.1 > -2: 100 * 1.9 / 3.
    scores = {56: 1.0} | {row: 1.0 for row in range(16, 26)}
    series = [scored(100, [(60, 60)], scores)]
    standard, low_fp, low_fn = (window_score(series, profile) for profile in PROFILES)
    assert (standard.threshold, standard.score) == (1.0, pytest.approx(45.0))
    assert (low_fp.threshold, low_fp.score, low_fp.raw) == (math.inf, 0.0, -1.0)
    assert (low_fn.threshold, low_fn.score) == (1.0, pytest.approx(63.3333, abs=1e-4))
    assert (
        Profile("standard", 1.0, 0.11, 1.0),
        Profile("low_fp", 1.0, 0.22, 1.0),
        Profile("low_fn", 1.0, 0.11, 2.0),
    ) == PROFILES


# --- best F1 -----------------------------------------------------------------------------------
# n = 40: warm-up rows 0..5.


@pytest.mark.parametrize(("row", "found"), [(16, True), (17, False)])
def test_a_segment_is_found_within_its_first_7_rows(row, found):
    # segment rows 10..19: row 16 is its 7th row (offset 6), row 17 its 8th
    result = best_f1([scored(40, [(10, 19)], {row: 1.0})])
    if found:  # 10 true positives of 10, no false positive
        assert result == F1Score(threshold=1.0, f1=1.0, precision=1.0, recall=1.0)
    else:  # a detection on a label row is no false positive, but finds nothing: never fire
        assert result == F1Score(threshold=math.inf, f1=0.0, precision=1.0, recall=0.0)


def test_a_found_segment_counts_all_its_rows_and_false_positives_count_rows():
    # segment A rows 10..13 (4) found at 2 by row 11; segment B rows 20..25 (6) found at 1 by
    # row 21; rows 30, 31, 32 are false positives at 2, 1.5, 1. Positives: 10.
    # threshold 2:   TP 4,  FP 1: F1 = 2*4 / (2*4 + 1 + 6) = 8/15 = 0.533
    # threshold 1.5: TP 4,  FP 2: F1 = 8/16 = 0.5
    # threshold 1:   TP 10, FP 3: F1 = 20/23 = 0.869565, precision 10/13, recall 1
    scores = {11: 2.0, 21: 1.0, 30: 2.0, 31: 1.5, 32: 1.0}
    result = best_f1([scored(40, [(10, 13), (20, 25)], scores)])
    assert result.threshold == 1.0
    assert result.f1 == pytest.approx(20 / 23)
    assert result.precision == pytest.approx(10 / 13)
    assert result.recall == 1.0


def test_f1_sums_counts_over_series_at_one_threshold():
    # a: segment rows 5..8 (n = 20, warm-up 3) found at 0.9; b: no segment, false positives at
    # 0.9 and 0.5. Threshold 0.9: TP 4, FP 1, FN 0: F1 = 8/9, precision 0.8, recall 1.
    # Threshold 0.5 adds a false positive: 8/10.
    a = scored(20, [(5, 8)], {5: 0.9}, name="a")
    b = scored(20, [], {10: 0.9, 11: 0.5}, name="b")
    assert best_f1([a, b]) == F1Score(threshold=0.9, f1=8 / 9, precision=0.8, recall=1.0)


def test_a_segment_cut_by_the_warm_up_starts_at_the_first_scored_row():
    # segment rows 3..9; rows 0..5 are warm-up, so the segment is rows 6..9 (4 rows). With a
    # delay of 2 rows, row 7 finds it (its 2nd row after the warm-up, the 5th of the label);
    # row 4 scores 5 but is in the warm-up.
    result = best_f1([scored(40, [(3, 9)], {4: 5.0, 7: 1.0})], delay=2)
    # threshold 1: TP 4 of 4 positives (not 7), FP 0
    assert result == F1Score(threshold=1.0, f1=1.0, precision=1.0, recall=1.0)
    # with the delay counted from row 3, row 7 would be too late
    assert best_f1([scored(40, [(10, 16)], {14: 1.0})], delay=2).f1 == 0.0


def test_f1_with_nothing_to_find():
    # no labels and no detections: precision 1 (nothing flagged), recall 1 (nothing to find)
    assert best_f1([scored(40)]) == F1Score(math.inf, 1.0, 1.0, 1.0)
    # a detection there could only be a false positive
    assert best_f1([scored(40, [], {20: 1.0})]) == F1Score(math.inf, 1.0, 1.0, 1.0)
    assert best_f1([]) == F1Score(math.inf, 1.0, 1.0, 1.0)


def test_f1_nan_never_detects_and_the_delay_must_be_positive():
    # all rows NaN but the segment's 9th: never found
    assert best_f1([scored(40, [(10, 19)], {18: 1.0})]).f1 == 0.0
    with pytest.raises(ValueError, match="delay is 0"):
        best_f1([scored(40)], delay=0)


# --- false alarms ------------------------------------------------------------------------------


def test_false_alarms_merge_flags_into_episodes_outside_the_label_windows():
    # n = 100 hourly rows: warm-up rows 0..14, window (46, 55). Default gap: max(3 h, 1 h).
    # Row 10 is warm-up and row 48 is in the window; episodes: {20, 21, 23} (1 h and 2 h
    # apart), {27} (4 h after 23), {60, 63} (3 h: merged), {67} (4 h): 4 alarms.
    rows = [10, 20, 21, 23, 27, 48, 60, 63, 67]
    series = [scored(100, [(50, 51)], dict.fromkeys(rows, 1.0) | {30: 0.5})]
    result = false_alarms(series, threshold=1.0)
    # weeks: (row 99 - row 15 + 1 h) / 168 h = 85 / 168; rate 4 * 168 / 85 = 7.905882
    assert result.alarms == 4
    assert result.weeks == pytest.approx(85 / 168)
    assert result.per_series_week == pytest.approx(672 / 85)
    # a 1-hour gap splits {20, 21, 23} and {60, 63}: {20, 21} {23} {27} {60} {63} {67}
    assert false_alarms(series, 1.0, gap=pd.Timedelta(hours=1)).alarms == 6
    # threshold 0.5 adds row 30, 3 h after 27: merged into its episode
    assert false_alarms(series, 0.5).alarms == 4


def test_the_default_gap_is_three_steps_and_at_least_an_hour():
    # 5-minute steps: 3 steps = 15 min, so the gap is 1 hour. n = 40, warm-up rows 0..5.
    # Rows 10 and 22 are 60 min apart (merged); row 35 is 65 min after 22: 2 alarms.
    five = scored(40, [], {10: 1.0, 22: 1.0, 35: 1.0}, step=np.timedelta64(5, "m"))
    # 3-hour steps: the gap is 9 hours. Rows 20 and 23 are 9 h apart (merged), 27 is 12 h after
    # 23: 2 alarms.
    three = scored(40, [], {20: 1.0, 23: 1.0, 27: 1.0}, step=np.timedelta64(3, "h"))
    assert false_alarms([five], 1.0).alarms == 2
    assert false_alarms([three], 1.0).alarms == 2
    # weeks: five spans rows 6..39 = 34 rows of 5 min = 170 min; three 34 rows of 3 h = 102 h
    both = false_alarms([five, three], 1.0)
    weeks = (170 / 60 + 102) / 168
    assert both == FalseAlarms(alarms=4, weeks=pytest.approx(weeks), per_series_week=4 / weeks)


def test_no_series_means_no_weeks_and_no_rate():
    assert false_alarms([], 1.0) == FalseAlarms(0, 0.0, 0.0)


# --- series, package ---------------------------------------------------------------------------


def test_a_series_takes_utc_times_and_refuses_mismatched_or_unordered_rows():
    times = pd.date_range("2026-03-02 01:00", periods=3, freq="h", tz="Europe/Paris")
    series = ScoredSeries("s", times, [0, 1, 0], [1, 2, 3])
    assert series.time[0] == np.datetime64("2026-03-02T00:00", "ns")
    assert series.label.dtype == bool and series.score.dtype == float
    # +-inf become the extreme floats, NaN stays
    big = np.finfo(float).max
    extremes = ScoredSeries("s", times, [0, 0, 0], [math.inf, -math.inf, math.nan]).score
    assert extremes[0] == big and extremes[1] == -big and math.isnan(extremes[2])
    with pytest.raises(ValueError, match="'s': time, label and score have 3, 2 and 3 rows"):
        ScoredSeries("s", times, [0, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="'s': time at row 2"):
        ScoredSeries("s", times[[0, 1, 1]], [0, 1, 0], [1, 2, 3])


def test_the_package_exports_both_modules():
    import transforms.evaluation as evaluation

    assert set(evaluation.__all__) == {
        "NO_TOLERANCE",
        "ONE_HOUR",
        "alarm_events",
        "incident_matches",
        "incident_scores",
        "unexplained_anomalies",
        "PROFILES",
        "F1Score",
        "FalseAlarms",
        "Profile",
        "ScoredSeries",
        "WindowScore",
        "best_f1",
        "false_alarms",
        "label_windows",
        "segments",
        "warmup_rows",
        "window_score",
    }
    assert all(hasattr(evaluation, name) for name in evaluation.__all__)


# --- the sweeps against per-threshold loops -----------------------------------------------------


def loop_window_raw(series, profile, threshold):
    """raw, windows detected and false detections at one threshold, row by row."""
    raw, detected, false = 0.0, 0, 0
    for one in series:
        n = len(one.score)
        skip = warmup_rows(n)
        windows = label_windows(one.label)
        fires = [skip <= i and one.score[i] >= threshold for i in range(n)]
        for start, end in windows:
            hits = [i for i in range(start, end + 1) if fires[i]]
            if hits:
                length = end - start + 1
                raw += profile.a_tp * sigma(-(end - hits[0] + 1) / length) / sigma(-1)
                detected += 1
            else:
                raw -= profile.a_fn
        for i in range(n):
            if not fires[i] or any(start <= i <= end for start, end in windows):
                continue
            before = [(start, end) for start, end in windows if end < i]
            if before:
                start, end = before[-1]
                raw += profile.a_fp * sigma((i - end) / max(end - start, 1))
            else:
                raw -= profile.a_fp
            false += 1
    return raw, detected, false


def loop_f1(series, threshold, delay):
    """Exact F1 (a Fraction) at one threshold, row by row."""
    tp = fp = positives = 0
    for one in series:
        skip = warmup_rows(len(one.score))
        label, score = one.label[skip:], one.score[skip:]
        for first, last in segments(label):
            positives += last - first + 1
            if any(score[i] >= threshold for i in range(first, min(first + delay, last + 1))):
                tp += last - first + 1
        fp += sum(1 for i in range(len(label)) if not label[i] and score[i] >= threshold)
    precision = Fraction(tp, tp + fp) if tp + fp else Fraction(1)
    recall = Fraction(tp, positives) if positives else Fraction(1)
    return 2 * precision * recall / (precision + recall) if precision + recall else Fraction(0)


def thresholds(series):
    """Every distinct finite score, highest first."""
    return sorted({float(v) for one in series for v in one.score if math.isfinite(v)}, reverse=True)


NEVER = math.nan  # a threshold no score reaches

SCORE = st.sampled_from([math.nan, -math.inf, math.inf, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0])
FLIPS = st.lists(st.booleans(), min_size=1, max_size=40)
# runs of one label: long segments and few windows, where coin flips give many short ones
RUNS = st.lists(st.tuples(st.booleans(), st.integers(1, 15)), min_size=1, max_size=5).map(
    lambda runs: [value for value, length in runs for _ in range(length)][:40]
)


@st.composite
def series_lists(draw):
    out = []
    for k in range(draw(st.integers(1, 3))):
        label = draw(st.one_of(FLIPS, RUNS))
        score = draw(st.lists(SCORE, min_size=len(label), max_size=len(label)))
        out.append(ScoredSeries(f"s{k}", START + HOUR * np.arange(len(label)), label, score))
    return out


@settings(max_examples=examples(50), deadline=None)
@given(series=series_lists(), profile=st.sampled_from(PROFILES))
def test_window_score_equals_the_best_of_a_loop_over_thresholds(series, profile):
    result = window_score(series, profile)
    raws = [loop_window_raw(series, profile, t)[0] for t in [*thresholds(series), NEVER]]
    assert result.raw == pytest.approx(max(raws), abs=1e-9)
    at = NEVER if result.threshold == math.inf else result.threshold
    raw, detected, false = loop_window_raw(series, profile, at)
    assert result.raw == pytest.approx(raw, abs=1e-9)
    assert (result.detected, result.false_detections) == (detected, false)
    windows = sum(len(label_windows(one.label)) for one in series)
    assert (result.windows, result.null) == (windows, -profile.a_fn * windows)
    if windows:
        assert result.score == pytest.approx(
            100 * (raw + profile.a_fn * windows) / ((profile.a_tp + profile.a_fn) * windows)
        )


@settings(max_examples=examples(50), deadline=None)
@given(series=series_lists(), delay=st.integers(1, 4))
def test_best_f1_equals_the_best_of_a_loop_over_thresholds(series, delay):
    result = best_f1(series, delay=delay)
    f1s = {t: loop_f1(series, t, delay) for t in thresholds(series)}
    f1s[math.inf] = loop_f1(series, NEVER, delay)
    best = max(f1s.values())
    # the highest threshold with the best F1
    assert result.threshold == max(t for t, f1 in f1s.items() if f1 == best)
    assert result.f1 == pytest.approx(float(best), abs=1e-12)
