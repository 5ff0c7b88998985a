"""The check of a value against the series' own values of the week before it
(transforms.forecast.checks: level_reference, level_surprise, final_surprise), on small
hand-made series whose answers follow from the formula."""

import math

import numpy as np
import pandas as pd
from scipy import stats

from transforms.forecast.checks import (
    final_surprise,
    level_checked,
    level_reference,
    level_surprise,
)

HOUR = pd.Timedelta(hours=1)


def week_then(values_before: np.ndarray, last: float) -> np.ndarray:
    return np.concatenate([values_before, [last]])


def test_a_new_record_is_judged_by_its_distance_from_the_weeks_mean():
    before = np.tile([10.0, 20.0], 84)  # a week of hours: mean 15, sd ~5.015
    v = week_then(before, 60.0)
    mean, sd, lowest, highest = (part[-1] for part in level_reference(v, HOUR))
    assert (mean, lowest, highest) == (15.0, 10.0, 20.0)
    assert math.isclose(sd, np.std(before, ddof=1))
    got = level_surprise(v[-1:], *(np.array([p]) for p in (mean, sd, lowest, highest)), "log")
    expected = -stats.norm.logsf((60 - 15) / np.std(before, ddof=1)) / math.log(10)
    assert math.isclose(got[0], expected, rel_tol=1e-9)


def test_a_value_inside_the_weeks_range_is_no_news_however_far_from_its_mean():
    before = np.full(168, 100.0)
    before[30] = 10_000.0  # one burst in the week: a later one as big is not a record
    v = week_then(before, 9_000.0)
    reference = level_reference(v, HOUR)
    got = level_surprise(v, *reference, "count")
    assert got[-1] == 0.0
    assert got[30] > 50  # the first burst beat everything before it


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
