"""walk_forward: every point scored only with models trained before it, on any regular grid."""

import numpy as np
import pandas as pd
import pytest

from transforms.forecast import WalkForwardPlan, walk_forward

START = pd.Timestamp("2026-10-01")


def hourly(days=14, seed=0, level=100.0):
    rng = np.random.default_rng(seed)
    ds = pd.date_range(START, periods=24 * days, freq="h")
    shape = level * (1 + 0.4 * np.sin(2 * np.pi * ds.hour / 24))
    return pd.DataFrame({"ds": ds, "y": rng.poisson(shape).astype(float)})


@pytest.mark.slow  # Prophet refitted daily over 14 days
def test_a_spike_is_flagged_and_normal_hours_stay_quiet():
    series = hourly()
    spike = series.index[(series.ds >= "2026-10-10 12:00") & (series.ds < "2026-10-10 15:00")]
    series.loc[spike, "y"] *= 3
    out = walk_forward(series, freq="1h")
    assert list(out.columns) == [
        "ds",
        "y",
        "yhat",
        "yhat_lower",
        "yhat_upper",
        "score",
        "surprise",
        "is_anomaly",
        "alert",
    ]
    assert out.alert.sum() == 1 and out.loc[spike[0], "alert"]  # one episode, one alert
    assert out.loc[spike, "is_anomaly"].all()
    assert not out.drop(spike)["is_anomaly"].any()
    scored = out.dropna(subset=["yhat"])
    assert (scored.yhat_lower <= scored.yhat).all() and (scored.yhat <= scored.yhat_upper).all()
    assert (scored.yhat_lower >= 0).all()  # counts: never a negative bound
    assert out.score.between(0, 1).all()


@pytest.mark.slow  # Prophet refitted daily over 16 days
def test_a_lasting_level_shift_is_followed_within_hours():
    series = hourly(days=16)
    shift = series.ds >= "2026-10-10 00:00"
    series.loc[shift, "y"] = np.round(series.loc[shift, "y"] * 0.5)
    out = walk_forward(series, freq="1h")
    flagged = out.loc[out.is_anomaly, "ds"]
    assert pd.Timestamp("2026-10-10 00:00") <= flagged.min() < pd.Timestamp("2026-10-10 03:00")
    assert flagged.max() < pd.Timestamp("2026-10-10 08:00")  # then the forecast follows
    assert not out.loc[out.ds < "2026-10-10", "is_anomaly"].any()


@pytest.mark.slow  # Prophet refitted daily over 9 days, twice
def test_no_point_is_scored_with_data_from_its_future():
    series = hourly(days=9)
    full = walk_forward(series, freq="1h")
    cut = 24 * 6 + 5
    head = walk_forward(series.iloc[:cut], freq="1h")
    pd.testing.assert_frame_equal(head, full.iloc[:cut])
    assert full.yhat.iloc[:10].isna().all()  # nothing before them to learn from
    assert full.yhat.iloc[24:].notna().all()


@pytest.mark.slow  # Prophet refitted daily over 8 days, twice
def test_irregular_timestamps_repeats_gaps_and_order():
    series = hourly(days=8)
    regular = walk_forward(series, freq="1h")
    rng = np.random.default_rng(3)
    gaps = series.drop(index=range(100, 110))  # ten missing hours
    jittered = gaps.assign(ds=gaps.ds + pd.to_timedelta(rng.integers(0, 59, len(gaps)), unit="min"))
    repeated = pd.concat([jittered, jittered.loc[[150]]])  # one hour logged twice
    shuffled = repeated.sample(frac=1, random_state=1)
    out = walk_forward(shuffled, freq="1h")
    assert out.index.tolist() == shuffled.index.tolist()  # the caller's rows, in its order
    assert out.ds.tolist() == shuffled.ds.tolist()
    before_gap = sorted(out.index[out.index < 100])
    np.testing.assert_allclose(
        out.loc[before_gap, "yhat"].sort_index(), regular.loc[before_gap, "yhat"], rtol=1e-9
    )
    twice = out.loc[150]
    assert len(twice) == 2 and twice.yhat.nunique() == 1
    assert not out.loc[out.index != 150].is_anomaly.any()


@pytest.mark.parametrize(
    ("freq", "periods", "first_forecast"),
    [
        ("5min", 12 * 24 * 4, 10),
        pytest.param("1D", 60, 10, marks=pytest.mark.slow),  # Prophet over 60 days
    ],
)
def test_other_grids(freq, periods, first_forecast):
    rng = np.random.default_rng(5)
    ds = pd.date_range(START, periods=periods, freq=freq)
    y = 50 + 10 * np.sin(2 * np.pi * ds.hour.to_numpy() / 24) + rng.normal(0, 2, periods)
    y[-3] += 60
    out = walk_forward(pd.DataFrame({"ds": ds, "y": y}), freq=freq)
    assert out.yhat.iloc[:first_forecast].isna().all()
    assert out.yhat.iloc[-periods // 3 :].notna().all()
    assert out.is_anomaly.iloc[-3]
    assert out.is_anomaly.sum() <= 3


@pytest.mark.slow  # Prophet refitted daily over 6 days, twice
def test_rates_stay_in_bounds_and_signed_values_are_modelled_linearly():
    rng = np.random.default_rng(7)
    ds = pd.date_range(START, periods=24 * 6, freq="h")
    rate = pd.DataFrame({"ds": ds, "y": rng.beta(2, 50, len(ds))})
    out = walk_forward(rate, freq="1h")
    scored = out.dropna(subset=["yhat"])
    assert scored.yhat_lower.min() >= 0 and scored.yhat_upper.max() <= 1
    signed = pd.DataFrame({"ds": ds, "y": rng.normal(-5, 1, len(ds))})
    signed.loc[120, "y"] = 5.0
    out = walk_forward(signed, freq="1h")
    assert out.is_anomaly.tolist().index(True) == 120 and out.is_anomaly.sum() == 1
    assert out.yhat.dropna().between(-7, -3).all()


def test_plans_scale_with_the_grid_and_bad_input_is_named():
    hour = WalkForwardPlan.for_step(pd.Timedelta("1h"))
    assert (hour.training_window, hour.refit_every) == (pd.Timedelta(days=28), pd.Timedelta(days=1))
    minute = WalkForwardPlan.for_step(pd.Timedelta("1min"))
    assert minute.training_window == pd.Timedelta(minutes=5000) and minute.adapt_points == 360
    day = WalkForwardPlan.for_step(pd.Timedelta("1D"))
    assert day.training_window == pd.Timedelta(days=200) and day.refit_every == pd.Timedelta(days=7)
    with pytest.raises(ValueError, match="missing \\['y'\\]"):
        walk_forward(pd.DataFrame({"ds": []}), freq="1h")
    with pytest.raises(ValueError, match="between 1 minute and 1 day"):
        walk_forward(hourly(days=1), freq="7D")
    with pytest.raises(ValueError, match="not a fixed step"):
        walk_forward(hourly(days=1), freq="MS")
    with pytest.raises(ValueError, match="unknown options"):
        walk_forward(hourly(days=1), freq="1h", windw="2D")
    empty = walk_forward(pd.DataFrame({"ds": pd.to_datetime([]), "y": []}), freq="1h")
    assert empty.empty and "score" in empty


@pytest.mark.slow  # Prophet refitted daily over 6 days
def test_request_counts_weigh_rates():
    rng = np.random.default_rng(11)
    ds = pd.date_range(START, periods=24 * 6, freq="h")
    n = np.where(ds.hour < 6, 4, 400)  # quiet nights, busy days
    errors = rng.binomial(n, 0.01)
    series = pd.DataFrame({"ds": ds, "y": errors / n, "n": n})
    series.loc[124, ["y", "n"]] = [0.5, 4]  # 2 errors in 4 requests at 04:00: chance
    series.loc[130, "y"] = 0.2  # 80 errors in 400 requests at 10:00: a burst
    out = walk_forward(series, freq="1h", kind="rate")
    assert out.loc[130, "is_anomaly"] and not out.loc[124, "is_anomaly"]
    assert out.is_anomaly.sum() == 1


def test_runs_on_one_side_combine_their_evidence():
    from transforms.forecast import with_persistence
    from transforms.forecast.calibration import score_of

    # three hours each modestly past the lower edge (a tail probability of 1e-3 each): none
    # alone is an anomaly, together they are
    surprise = np.array([0.3, 3.0, 3.0, 3.0, 0.3])
    side = np.array([0, -1, -1, -1, 0])
    lifted = with_persistence(surprise, side)
    assert lifted[1] == 3.0  # a run starts with its first hour alone
    assert 4.3 <= lifted[2] <= lifted[3]  # past a score of 0.9: p <= 5e-5
    assert 0.9 <= score_of(lifted[3], 0.99) < 1.0
    assert lifted[4] == 0.3
    # alternating sides are no run, and nothing ever goes down
    mixed = with_persistence(surprise, np.array([0, -1, 1, -1, 0]))
    assert mixed.tolist() == surprise.tolist()


@pytest.mark.slow  # Prophet refitted daily over 10 days
def test_an_endpoint_that_goes_silent_is_flagged_whatever_its_tails():
    series = hourly(days=10)
    # a history with drops teaches heavy lower tails...
    for day in (4, 6, 8):
        at = (series.ds.dt.day == day + 1) & (series.ds.dt.hour.between(12, 14))
        series.loc[at, "y"] = np.round(series.loc[at, "y"] * 0.35)
    # ...but no request at all where hundreds are expected is an outage
    silent = series.index[series.ds == pd.Timestamp("2026-10-10 15:00")]
    series.loc[silent, "y"] = 0
    out = walk_forward(series, freq="1h")
    assert out.loc[silent, "is_anomaly"].all() and out.loc[silent, "score"].iloc[0] > 0.99


def test_flags_close_together_are_one_episode_and_alert_once():
    from transforms.forecast.walk_forward import alerts, episode_gap

    times = pd.Series(
        pd.to_datetime(
            [
                "2026-10-01 00:00",
                "2026-10-01 00:05",
                "2026-10-01 00:15",
                "2026-10-01 00:20",
                "2026-10-01 01:30",
                "2026-10-01 01:35",
            ]
        )
    )
    flagged = np.array([True, True, False, True, True, False])
    assert episode_gap(pd.Timedelta("5min")) == pd.Timedelta("1h")
    assert episode_gap(pd.Timedelta("1h")) == pd.Timedelta("3h")
    got = alerts(times, flagged, pd.Timedelta("1h"))
    # 00:00 opens an episode; 00:05 and 00:20 are within the hour after a flag; 01:30 is 70
    # minutes after the last flag (00:20): a new episode
    assert got.tolist() == [True, False, False, False, True, False]
    # order of the rows does not matter
    reverse = alerts(times[::-1].reset_index(drop=True), flagged[::-1], pd.Timedelta("1h"))
    assert reverse[::-1].tolist() == got.tolist()
