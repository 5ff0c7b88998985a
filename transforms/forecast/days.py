"""Day types (weekday, weekend, public holiday) of timestamps; the holidays package is loaded
only when a country is asked for."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd


@functools.lru_cache(maxsize=64)
def holiday_days(country: str, years: tuple[int, ...]) -> np.ndarray:
    """The public holidays of `country` (ISO code, as the holidays package knows it) in
    `years`, as datetime64[D]."""
    import holidays

    try:
        calendar = holidays.country_holidays(country, years=list(years))
    except NotImplementedError:
        raise ValueError(
            f"holidays_country: {country!r} is not a country code the holidays package knows "
            "(ISO 3166-1 alpha-2, e.g. US, GB, DE)"
        ) from None
    return np.array(sorted(calendar), dtype="datetime64[D]")


def day_type(index: pd.DatetimeIndex, country: str = "") -> np.ndarray:
    """weekday / weekend per timestamp, and holiday for a public holiday of `country`."""
    types = np.where(index.day_of_week.to_numpy() >= 5, "weekend", "weekday")
    if country and len(index):
        days = index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[D]")
        years = tuple(sorted({int(y) for y in index.year}))
        types = np.where(np.isin(days, holiday_days(country, years)), "holiday", types)
    return types


def day_types_seen(index: pd.DatetimeIndex, country: str = "") -> list[str]:
    """Day types with at least half a day of training hours."""
    types, counts = np.unique(day_type(index, country), return_counts=True)
    return sorted(str(t) for t, c in zip(types, counts, strict=True) if c >= 12)
