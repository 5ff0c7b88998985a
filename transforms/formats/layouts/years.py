"""Timestamps of layouts that log no year (syslog RFC 3164, klog, Android logcat): the year is
the one that puts the time closest before the ingest time. Transforms never read the clock: the
flow passes the ingest time (`as_of`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.common import FUTURE_TOLERANCE

PLACEHOLDER_YEAR = 2000
"""A leap year, so that Feb 29 parses before its real year is chosen."""


def with_year(text: pd.Series, fmt: str, as_of: pd.Timestamp | None) -> pd.Series:
    """Year-less times (`fmt` is their strptime format, without %Y) to UTC. Each time gets the
    latest year in which it is not after `as_of` plus the tolerance the canonical step allows
    for clock skew (one day): a Dec 31 line ingested on Jan 1 belongs to the year before, and
    no time lands in the future. Without `as_of` (format detection) the year is 2000."""
    values = pd.to_datetime(
        f"{PLACEHOLDER_YEAR} " + text.str.strip(), format=f"%Y {fmt}", errors="coerce"
    )
    if as_of is None:
        return values.dt.tz_localize("UTC").dt.as_unit("us")
    limit = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None) + FUTURE_TOLERANCE
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    pending = values.notna()
    # the ingest year, then the years before it (Feb 29 may need up to eight)
    for year in range(limit.year, limit.year - 9, -1):
        if not pending.any():
            break
        shifted = _in_year(values[pending], year)
        fits = shifted.notna() & (shifted <= limit)
        out[fits.index[fits]] = shifted[fits]
        pending[fits.index[fits]] = False
    return out.dt.tz_localize("UTC")


def _in_year(values: pd.Series, year: int) -> pd.Series:
    """The same month, day and time in `year` (NaT for Feb 29 outside leap years)."""
    parts = pd.DataFrame(
        {
            "year": year,
            "month": values.dt.month,
            "day": values.dt.day,
            "hour": values.dt.hour,
            "minute": values.dt.minute,
            "second": values.dt.second,
            "us": values.dt.microsecond,
        },
        index=values.index,
    )
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    feb29 = (parts["month"] == 2) & (parts["day"] == 29)
    if not leap and feb29.any():
        parts.loc[feb29, "day"] = 28  # placeholder, blanked below
    result = pd.to_datetime(parts, errors="coerce").astype("datetime64[us]")
    if not leap:
        result[feb29] = np.datetime64("NaT")
    return result
