"""The dashboard's controls as filters, and its lag line."""

import pandas as pd

from flows.dashboard.app import ALL, filters_for, lag_text
from flows.dashboard.queries import Filters, literal

NEWEST = pd.Timestamp("2026-11-08T23:00Z")


def test_a_preset_counts_back_from_the_newest_hour():
    assert filters_for(NEWEST, "7d", None, None, ALL, ALL) == Filters(
        pd.Timestamp("2026-11-02T00:00Z"), pd.Timestamp("2026-11-09T00:00Z")
    )
    assert filters_for(NEWEST, "24h", None, None, "checkout", "/api/v1/orders") == Filters(
        pd.Timestamp("2026-11-08T00:00Z"),
        pd.Timestamp("2026-11-09T00:00Z"),
        "checkout",
        "/api/v1/orders",
    )


def test_custom_is_whole_utc_days_and_falls_back_to_a_day_until_both_are_picked():
    assert filters_for(NEWEST, "custom", "2026-11-03", "2026-11-04T00:00:00", ALL, ALL) == Filters(
        pd.Timestamp("2026-11-03T00:00Z"), pd.Timestamp("2026-11-05T00:00Z")
    )
    assert filters_for(NEWEST, "custom", "2026-11-03", None, ALL, ALL) == filters_for(
        NEWEST, "24h", None, None, ALL, ALL
    )


def test_the_lag_is_from_the_end_of_the_newest_hour():
    assert lag_text(NEWEST, pd.Timestamp("2026-11-09T02:30Z")) == (
        "Newest hour 2026-11-08 23:00 UTC, 2.5 h behind now"
    )
    assert lag_text(NEWEST, pd.Timestamp("2026-11-08T23:30Z")).endswith("0.0 h behind now")


def test_literals_quote_text_and_times_as_duckdb_reads_them():
    assert literal("o'brien") == "'o''brien'"
    assert literal(pd.Timestamp("2026-11-08T23:00Z")) == ("TIMESTAMPTZ '2026-11-08T23:00:00+00:00'")
    assert literal(None) == "NULL" and literal(3) == "3"
