"""The jump check (transforms.forecast.checks: jump_reference, jump_surprise, jump_checked):
how sharply a point's departure from its forecast breaks from the departures right before it,
on small hand-made series whose answers follow from the formulas."""

import math

import numpy as np
import pandas as pd
from scipy import stats

from transforms.forecast.checks import (
    JUMP_CAP,
    JUMP_TAIL_EXPONENT,
    jump_checked,
    jump_reference,
    jump_surprise,
    precedent_cap,
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
