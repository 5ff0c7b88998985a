"""The check of a value against the series' own values of the week before it
(transforms.forecast.checks: level_reference, level_surprise, final_surprise), the check of an
error against the errors of the day before it (recent_reference, recent_surprise) and the surprise
per hour of a fine grid (calibration.per_hour), on small hand-made series whose answers follow
from the formula."""

import math

import numpy as np
import pandas as pd
from scipy import stats

from transforms.forecast.calibration import per_hour
from transforms.forecast.checks import (
    final_surprise,
    level_checked,
    level_reference,
    level_surprise,
    precedent_cap,
    recent_reference,
    recent_surprise,
)

HOUR = pd.Timedelta(hours=1)


def week_then(values_before: np.ndarray, last: float) -> np.ndarray:
    return np.concatenate([values_before, [last]])


def test_a_new_record_is_judged_by_its_distance_from_the_weeks_mean():
    before = np.tile([10.0, 20.0], 84)  # a week of hours: mean 15, sd ~5.015
    v = week_then(before, 60.0)
    mean, sd, lowest, highest = (part[-1] for part in level_reference(v, HOUR))
    assert (mean, lowest, highest) == (15.0, 10.0, 20.0)  # the last two days: 10 and 20 too
    assert math.isclose(sd, np.std(before, ddof=1))
    got = level_surprise(v[-1:], *(np.array([p]) for p in (mean, sd, lowest, highest)), "log")
    expected = -stats.norm.logsf((60 - 15) / np.std(before, ddof=1)) / math.log(10)
    assert math.isclose(got[0], expected, rel_tol=1e-9)


def test_a_value_inside_the_last_two_days_range_is_no_news_however_far_from_the_weeks_mean():
    before = np.full(168, 100.0)
    before[130] = 10_000.0  # a burst 38 hours back: a later one as big is not a record
    v = week_then(before, 9_000.0)
    mean, sd, lowest, highest = level_reference(v, HOUR)
    assert highest[-1] == 10_000.0 and lowest[-1] == 100.0
    got = level_surprise(v, mean, sd, lowest, highest, "count")
    assert got[-1] == 0.0
    assert got[130] > 50  # the first burst beat everything before it


def test_a_burst_older_than_two_days_does_not_hide_a_new_one():
    before = np.full(168, 100.0)
    before[100] = 10_000.0  # 68 hours back: in the week's mean and sd, not in the record range
    v = week_then(before, 9_000.0)
    mean, sd, lowest, highest = (part[-1:] for part in level_reference(v, HOUR))
    assert highest[0] == 100.0
    assert math.isclose(mean[0], before.mean()) and math.isclose(sd[0], np.std(before, ddof=1))
    got = level_surprise(v[-1:], mean, sd, lowest, highest, "count")[0]
    expected = -stats.norm.logsf((9_000 - before.mean()) / np.std(before, ddof=1)) / math.log(10)
    assert math.isclose(got, expected, rel_tol=1e-9)


def test_a_quiet_counters_one_request_is_no_news_but_ten_are():
    before = np.zeros(168)
    for last, low, high in ((1.0, 0.0, 1.0), (10.0, 5.0, 1e9)):
        v = week_then(before, last)
        got = level_surprise(v, *level_reference(v, HOUR), "count")[-1]
        assert low <= got <= high, (last, got)  # the sd is at least sqrt(max(mean, 1)) = 1
    assert level_surprise(
        np.array([1.0]), np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), "count"
    )[0] == -stats.norm.logsf(1.0) / math.log(10)


def test_the_week_counts_only_once_a_day_of_it_is_known_and_only_after_known_from():
    v = np.arange(60.0)
    mean = level_reference(v, HOUR)[0]
    assert np.isnan(mean[:24]).all() and np.isfinite(mean[24:]).all()
    assert mean[24] == np.mean(v[:24])
    late = level_reference(v, HOUR, known_from=20)[0]
    assert np.isnan(late[: 20 + 24]).all() and late[44] == np.mean(v[20:44])


def test_the_final_surprise_is_the_capped_model_surprise_or_the_level_one_when_larger():
    model = np.array([6.0, 6.0, 1.0, 6.0])
    recent = np.array([2.0, np.nan, 5.0, 9.0])
    level = np.array([0.0, 0.0, 8.0, np.nan])
    assert final_surprise(model, recent, level).tolist() == [2.0, 6.0, 8.0, 6.0]
    assert final_surprise(model, recent, None).tolist() == [2.0, 6.0, 1.0, 6.0]


def test_only_counts_are_checked_where_request_counts_stand_behind_the_values():
    assert level_checked("count", np.ones(3)) and level_checked("count", None)
    assert level_checked("log", None) and level_checked("rate", None)
    assert not level_checked("log", np.ones(3)) and not level_checked("rate", np.ones(3))


def test_a_surprise_is_per_hour_on_grids_finer_than_an_hour():
    surprise = np.array([0.0, 1.0, 2.0, 5.0])
    got = per_hour(surprise, pd.Timedelta(minutes=1))  # p times the 60 points of an hour
    assert np.allclose(got, np.maximum(surprise - math.log10(60), 0.0))
    assert np.allclose(
        per_hour(surprise, pd.Timedelta(minutes=5)), [0, 0, 2 - math.log10(12), 5 - math.log10(12)]
    )
    for step in (HOUR, pd.Timedelta(days=1)):  # an hour or coarser: unchanged
        assert np.array_equal(per_hour(surprise, step), surprise)


def test_an_error_with_a_precedent_in_the_recent_window_is_capped_at_one_in_the_window():
    # a day of hourly errors: small noise and one burst of 8 sigmas five hours back
    units = np.tile([-0.5, 0.5], 12)
    units[-5] = 8.0
    now = np.concatenate([units, [7.0]])  # a second burst, a little smaller than the first
    mean, sd, highest, lowest, count = (np.array([p[-1]]) for p in recent_reference(now, 24))
    assert (highest[0], lowest[0], count[0]) == (8.0, -0.5, 24)
    normal = recent_surprise(now[-1:], mean, sd)
    capped = recent_surprise(now[-1:], mean, sd, highest, lowest, count)
    z = (7.0 - np.mean(units)) / np.std(units, ddof=1)
    assert math.isclose(normal[0], -stats.norm.logsf(z) / math.log(10), rel_tol=1e-9)
    assert capped[0] == precedent_cap(count)[0] == math.log10(25)
    assert capped[0] < normal[0]


def test_an_error_beyond_everything_in_the_window_keeps_its_normal_tail():
    units = np.tile([-0.5, 0.5], 12)
    units[-5] = 8.0
    for last, expected_capped in ((9.0, False), (-3.0, False), (-0.5, True), (0.2, True)):
        now = np.concatenate([units, [last]])
        parts = [np.array([p[-1]]) for p in recent_reference(now, 24)]
        normal = recent_surprise(now[-1:], *parts[:2])[0]
        got = recent_surprise(now[-1:], *parts)[0]
        assert got == (min(normal, math.log10(25)) if expected_capped else normal)
