"""The dashboard's controls as filters, its lag line, its Parquet export and the sentences
of views with nothing to show."""

import io

import pandas as pd
import pyarrow.parquet as pq

from flows.dashboard.app import (
    ALL,
    NOTHING,
    OVERVIEW,
    _records,
    filters_for,
    lag_text,
    overview,
    overview_outputs,
    parquet_bytes,
)
from flows.dashboard.queries import Filters, dates_sql, literal

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


def test_region_and_dimension_controls_become_filters():
    filters = filters_for(NEWEST, "24h", None, None, ALL, ALL, "eu-west-1", '["tier", "gold"]')
    assert (filters.region, filters.dimension, filters.value) == ("eu-west-1", "tier", "gold")
    assert filters.breakdown == "region_hourly"
    assert filters_for(NEWEST, "24h", None, None, ALL, ALL, ALL, ALL).breakdown is None


def test_a_table_view_downloads_as_parquet_with_its_times_as_timestamps():
    frame = pd.DataFrame(
        {
            "hour_start": pd.to_datetime(["2026-11-08T22:00Z", "2026-11-08T23:00Z"]),
            "region": ["eu-west-1", None],
            "requests": [3, 4],
            "error_rate": [0.5, None],
        }
    )
    rows, columns = _records(frame)
    back = pq.read_table(io.BytesIO(parquet_bytes(rows, columns))).to_pandas()
    assert back["hour_start"].tolist() == frame["hour_start"].tolist()
    assert isinstance(back["hour_start"].dtype, pd.DatetimeTZDtype)
    assert str(back["hour_start"].dt.tz) == "UTC"
    assert back["region"].iloc[0] == "eu-west-1" and pd.isna(back["region"].iloc[1])
    assert back["requests"].tolist() == [3, 4]
    assert back["error_rate"].iloc[0] == 0.5 and pd.isna(back["error_rate"].iloc[1])
    assert len(pq.read_table(io.BytesIO(parquet_bytes([], columns)))) == 0


def test_views_with_nothing_to_show_say_so_in_a_sentence(tmp_path):
    values = overview(tmp_path, filters_for(NEWEST, "24h", None, None, ALL, ALL))
    for name, *_ in OVERVIEW:
        assert values[(f"{name}-message", "children")] == NOTHING[name]
        assert values[(f"{name}-body", "style")] == {"display": "none"}
    assert values[("totals", "children")] == "No requests in these hours."
    region = overview(tmp_path, filters_for(NEWEST, "24h", None, None, "auth", ALL, "eu"))
    assert region[("filter-problem", "children")].startswith("Regions are counted over every")
    assert region[("status-message", "children")] == region[("filter-problem", "children")]
    assert set(overview_outputs()) == set(values)


def test_the_hours_of_a_filter_name_the_date_partitions_that_hold_them():
    assert dates_sql(NEWEST - pd.Timedelta(hours=23), NEWEST + pd.Timedelta(hours=1)) == (
        "date BETWEEN DATE '2026-11-08' AND DATE '2026-11-08'"
    )
    assert dates_sql(pd.Timestamp("2026-11-02T06:00Z"), pd.Timestamp("2026-11-03T00:00:01Z")) == (
        "date BETWEEN DATE '2026-11-02' AND DATE '2026-11-03'"
    )
