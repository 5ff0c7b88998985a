"""The jump check (transforms.forecast.checks: jump_reference, jump_surprise, jump_checked):
how sharply a point's departure from its forecast breaks from the departures right before it,
on small hand-made series whose answers follow from the formulas."""

import math

import numpy as np
import pandas as pd
from scipy import stats

from transforms.forecast.checks import (
    JUMP_CAP,
    JUMP_PRECEDENTS,
    JUMP_TAIL_EXPONENT,
    jump_checked,
    jump_reference,
    jump_surprise,
    precedent_cap,
    rolling_precedents,
)

HOUR = pd.Timedelta(hours=1)


def normal_tail(z: float) -> float:
    return -stats.norm.logsf(z) / math.log(10)


def last(parts: tuple[np.ndarray, ...]) -> tuple[float, ...]:
    return tuple(float(p[-1]) for p in parts)


def test_the_base_is_the_median_of_the_points_before_and_the_scale_the_routine_jumps():
    # departures alternating -1, +1: each breaks from the majority of the three before it by 2
    v = np.tile([-1.0, 1.0], 20)
    base, scale, highest, lowest, count = last(jump_reference(v, np.arange(len(v)), HOUR))
    assert base == float(np.median(v[-4:-1]))  # -1, +1, -1 before a +1: the median is -1
    assert scale == 1.4826 * 2.0  # the routine jumps are all of size 2
    assert (highest, lowest, count) == (2.0, -2.0, 24.0)  # the day before it, on each side


def test_a_jump_has_a_precedent_only_when_the_day_broke_as_far_three_times():
    # a calm day of departures -1, +1 and one break to 8: 7 above the median of the three
    # points before it, where the routine jumps are 2
    v = np.tile([-1.0, 1.0], 20)
    v[20] = 8.0
    now = np.concatenate([v, [8.0]])  # the same break again at the end of the day
    _, _, highest, _, count = last(jump_reference(now, np.arange(len(now)), HOUR))
    # one break in the day is no precedent: the record is the third largest jump, a routine 2,
    # and the break beyond it gets its power-law tail
    assert JUMP_PRECEDENTS == 3 and highest == 2.0
    reference = jump_reference(now, np.arange(len(now)), HOUR)
    surprise = jump_surprise(now, *reference, "log")[-1]
    assert math.isclose(
        surprise, min(normal_tail(7.0 / 2.9652), precedent_cap(count) + 10 * math.log10(3.5))
    )
    v[26] = v[32] = 8.0  # three breaks in the day: the next has a precedent
    now = np.concatenate([v, [8.0]])
    reference = jump_reference(now, np.arange(len(now)), HOUR)
    assert last(reference)[2] == 7.0
    assert jump_surprise(now, *reference, "log")[-1] == precedent_cap(np.array([24.0]))[0]


def test_after_a_refit_one_jump_of_the_day_as_large_is_a_precedent():
    # each day's refit moves the forecast: the departures of its first points jump with it
    v = np.tile([-1.0, 1.0], 30)
    v[24:] -= 6.0  # the model fitted at point 24 forecasts 6 higher
    v[48:] -= 6.0  # and the one at 48 another 6
    blocks = np.repeat([0, 1, 2], 24)[: len(v)]
    refits = jump_reference(v, np.arange(len(v)), HOUR, block_of=blocks)
    plain = jump_reference(v, np.arange(len(v)), HOUR)
    # the jump at 24 (-8) is the day's lowest before 48: a precedent for the refit's jump at
    # 48, where three are needed inside a block (the third lowest is a routine -2)
    assert (refits[3][48], plain[3][48]) == (-8.0, -2.0)
    assert jump_surprise(v, *refits, "log")[48] == precedent_cap(np.array([24.0]))[0]
    assert jump_surprise(v, *plain, "log")[48] > precedent_cap(np.array([24.0]))[0] + 1
    # three points after the refit, the base is the new model's alone
    assert refits[3][51] == plain[3][51] == -2.0


def test_rolling_precedents_are_the_kth_largest_and_smallest_of_the_known_values():
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    x[rng.random(300) < 0.2] = np.nan
    highest, lowest = rolling_precedents(x, 24, 3)
    for i in (30, 150, 299):
        window = np.sort(x[i - 23 : i + 1][np.isfinite(x[i - 23 : i + 1])])
        assert highest[i] == window[-3] and lowest[i] == window[2]
    assert np.isnan(rolling_precedents(x[:2], 24, 3)[0]).all()  # fewer than three known


def test_a_run_is_judged_from_where_it_began_and_nothing_before_known_from():
    v = np.concatenate([np.tile([-1.0, 1.0], 20), [9.0, 9.5, 10.0]])
    starts = np.concatenate([np.arange(40), [40, 40, 40]])  # the last three are one run
    parts = jump_reference(v, starts, HOUR)
    assert all(np.array_equal(p[-3:], np.full(3, p[40]), equal_nan=True) for p in parts)
    late = jump_reference(v, np.arange(len(v)), HOUR, known_from=len(v) - 5)
    assert np.isnan(late[1][-1])  # too few jumps known since known_from


def test_the_scale_is_at_least_the_resolution_of_the_series_own_values():
    # a model that fits a noise-free count exactly: departures differ by rounding only
    counts = np.tile([2.0, 3.0], 20)
    departures = np.tile([0.0, 4.4e-16], 20)
    tiny = last(jump_reference(departures, np.arange(40), HOUR))
    own = last(jump_reference(departures, np.arange(40), HOUR, raw=counts))
    assert tiny[1] < 1e-12
    assert own[1] == 1.0  # the smallest change between consecutive counts
    # a departure of half an event is then no news, where rounding would call it extreme
    half = np.array([-0.49])
    calm = jump_surprise(half, *(np.array([p]) for p in own), "log")[0]
    assert math.isclose(calm, normal_tail(abs(-0.49 - own[0])), rel_tol=1e-9)
    assert calm < 1.0  # a tail of about one in three
    assert jump_surprise(half, *(np.array([p]) for p in tiny), "log")[0] > 100


def test_a_jump_with_a_precedent_is_capped_and_one_beyond_the_record_has_a_power_law_tail():
    reference = [np.array([x]) for x in (0.0, 1.0, 3.0, -3.0, 24.0)]
    cap = precedent_cap(np.array([24.0]))[0]
    assert cap == math.log10(25)
    within = jump_surprise(np.array([2.0]), *reference, "log")[0]
    assert within == min(normal_tail(2.0), cap) == cap
    for jump in (3.5, 30.0, -30.0):
        got = jump_surprise(np.array([jump]), *reference, "log")[0]
        tail = cap + JUMP_TAIL_EXPONENT * math.log10(abs(jump) / 3.0)
        assert math.isclose(got, min(normal_tail(abs(jump)), tail), rel_tol=1e-9)
        assert got < normal_tail(abs(jump))
    unknown = [np.array([x]) for x in (0.0, np.nan, 3.0, -3.0, 5.0)]
    assert np.isnan(jump_surprise(np.array([10.0]), *unknown, "log")[0])


def test_a_count_jump_is_at_least_as_wide_as_the_poisson_noise_of_its_forecast():
    reference = [np.array([x]) for x in (0.0, 1.0, 30.0, -30.0, 24.0)]
    plain = jump_surprise(np.array([10.0]), *reference, "log")[0]
    counted = jump_surprise(np.array([10.0]), *reference, "count", np.array([100.0]))[0]
    assert plain == min(normal_tail(10.0), precedent_cap(np.array([24.0]))[0])
    assert math.isclose(counted, normal_tail(10.0 / math.sqrt(100.0)), rel_tol=1e-9)


def test_the_jump_backs_the_surprise_by_their_geometric_mean_and_below_damping_only_raises():
    surprise = np.array([4.0, 4.0, 1.0, 1.0, 5.0, 3.0])
    jump = np.array([9.0, 1.0, 0.0, 16.0, 500.0, np.nan])
    got = jump_checked(surprise, jump)
    expected = [6.0, 2.0, 1.0, 4.0, math.sqrt(5.0 * JUMP_CAP), 3.0]
    assert np.allclose(got, expected, rtol=1e-12)
