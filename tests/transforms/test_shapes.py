"""How the detector behaves on textbook shapes, built here with numpy (no generator, no real
data): what an on-call engineer expects of any detector before trusting it with real metrics.

Each series is scored by `walk_forward` with its defaults; "after warm-up" skips the first
min(15 % of the rows, 750) rows, as the evaluation's window score does."""

import numpy as np
import pandas as pd
import pytest

from transforms.forecast import walk_forward

pytestmark = pytest.mark.slow  # Prophet refitted daily over two to three weeks per test

START = pd.Timestamp("2026-03-02")  # a Monday
DAYS = 21


def grid(days: int = DAYS, freq: str = "1h") -> pd.DatetimeIndex:
    return pd.date_range(
        START, periods=int(pd.Timedelta(days=days) / pd.Timedelta(freq)), freq=freq
    )


def scored(ds: pd.DatetimeIndex, y: np.ndarray, freq: str = "1h") -> pd.DataFrame:
    out = walk_forward(pd.DataFrame({"ds": ds, "y": y}), freq=freq)
    warm_up = min(int(0.15 * len(out)), 750)
    return out.iloc[warm_up:]


def daily_cycle(ds: pd.DatetimeIndex) -> np.ndarray:
    hours = np.asarray(ds.hour + ds.minute / 60, dtype="float64")
    return np.sin(2 * np.pi * hours / 24) + 0.3 * np.sin(4 * np.pi * hours / 24 + 1.0)


def test_a_noise_free_daily_pattern_is_never_flagged():
    ds = grid()
    out = scored(ds, 500 + 200 * daily_cycle(ds))
    assert not out.is_anomaly.any()
    assert out.surprise.max() < 3  # not even close


def test_a_square_wave_is_never_flagged():
    ds = grid()
    on = (ds.hour >= 8) & (ds.hour < 20)  # a service busy by day, idle by night
    out = scored(ds, np.where(on, 1000.0, 100.0))
    assert not out.is_anomaly.any()


def test_a_linear_trend_is_never_flagged():
    ds = grid()
    out = scored(ds, 200 + 2.0 * np.arange(len(ds)))
    assert not out.is_anomaly.any()


@pytest.mark.parametrize(
    "scale",
    [
        1e-3,
        1.0,
        1e6,
    ],
)
def test_white_noise_flags_at_the_nominal_rate_at_any_scale(scale):
    rng = np.random.default_rng(5)
    ds = grid(days=28)
    out = scored(ds, scale * (10 + rng.normal(size=len(ds))))
    # surprise s on either side: a calibrated detector exceeds it on 2 * 10**-s of the points
    for s in (1.5, 2.0):
        share = (out.surprise >= s).mean()
        assert 0.5 * 2 * 10**-s <= share <= 2 * 2 * 10**-s, (s, share)
    assert out.is_anomaly.sum() <= 1


def test_white_noise_on_a_5_minute_grid_flags_at_the_nominal_rate_per_hour():
    rng = np.random.default_rng(6)
    ds = grid(days=10, freq="5min")
    out = scored(ds, 10 + rng.normal(size=len(ds)), freq="5min")
    # a surprise is per hour of the series: exceeded on 2 * 10**-s / 12 of the 5-minute points
    for s in (1.0, 1.5):
        share = (out.surprise >= s).mean()
        assert 0.5 * 2 * 10**-s / 12 <= share <= 2 * 2 * 10**-s / 12, (s, share)
    assert out.is_anomaly.sum() <= 1


def test_one_8_sigma_spike_is_flagged_there_and_nothing_after_it():
    rng = np.random.default_rng(9)
    ds = grid()
    y = 1000 + 100 * daily_cycle(ds) + 10 * rng.normal(size=len(ds))
    at = 24 * 12 + 15
    y[at] += 80  # 8 sigma
    out = scored(ds, y)
    assert out.loc[at, "is_anomaly"]
    assert not out.drop(index=at).is_anomaly.any()


def test_a_lasting_step_is_flagged_within_3_points_and_quiet_within_a_day():
    rng = np.random.default_rng(3)
    ds = grid()
    y = 1000 + 100 * daily_cycle(ds) + 10 * rng.normal(size=len(ds))
    at = 24 * 12 + 9
    y[at:] += 150  # 15 sigma, for good
    out = scored(ds, y)
    flagged = out.index[out.is_anomaly]
    assert len(flagged) and at <= flagged.min() < at + 3
    assert flagged.max() < at + 24  # quiet again within one seasonal period
    assert not out.loc[: at - 1].is_anomaly.any()


def test_a_heavy_tailed_bursty_counter_flags_at_most_a_thousandth():
    rng = np.random.default_rng(17)
    ds = grid(days=10, freq="5min")
    # bytes sent: mostly small responses, now and then a large download (Pareto, alpha 1.2)
    y = np.round(2000 * (1 + 0.3 * daily_cycle(ds)) + 500 * rng.pareto(1.2, size=len(ds)))
    out = scored(ds, y, freq="5min")
    assert out.is_anomaly.mean() <= 0.001


def test_a_gap_in_the_data_causes_no_burst_of_flags_when_it_resumes():
    rng = np.random.default_rng(23)
    ds = grid()
    y = 1000 + 100 * daily_cycle(ds) + 10 * rng.normal(size=len(ds))
    keep = (ds < START + pd.Timedelta(days=10)) | (ds >= START + pd.Timedelta(days=13, hours=7))
    out = scored(ds[keep], y[keep])
    assert not out.is_anomaly.any()
