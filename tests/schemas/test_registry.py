"""The table registry: one entry per table, and the one parser of partition strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.settings import DEFAULT_RETENTION
from schemas.registry import (
    TABLES,
    date_partition,
    default_retention,
    hour_partition,
    hour_partitions,
    partition_bounds,
    table_names,
    table_spec,
)
from transforms.metrics import HOURLY_TABLES as BUILT_HOURLY
from warehouse.layout import DAILY_TABLES, HOURLY_TABLES, STAGED_TABLES
from warehouse.quality import TABLES as CHECKED

HOUR = pd.Timestamp("2026-11-01T07:00Z")


def test_every_table_has_one_entry_with_its_time_column_in_its_model():
    names = [spec.name for spec in TABLES]
    assert len(names) == len(set(names))
    for spec in TABLES:
        assert spec.time_column in spec.model.to_schema().columns, spec.name
        assert spec.partitions in ("date=YYYY-MM-DD/hour=HH", "date=YYYY-MM-DD")


def test_layout_quality_and_metrics_derive_from_the_registry():
    assert set(HOURLY_TABLES) == {s.name for s in TABLES if s.partitioning == "hourly"}
    assert set(DAILY_TABLES) == {s.name for s in TABLES if s.partitioning == "daily"}
    assert STAGED_TABLES == ("requests", "quarantine")
    assert table_names(stage="hourly_metric") == BUILT_HOURLY
    assert set(BUILT_HOURLY) <= set(HOURLY_TABLES)
    for spec in TABLES:
        rule = CHECKED[spec.name]
        assert (rule.model, rule.time_column, rule.period) == (
            spec.model,
            spec.time_column,
            spec.partitioning,
        )


def test_the_settings_default_retention_is_the_registrys():
    assert default_retention() == (("requests", 30),)
    assert default_retention() == DEFAULT_RETENTION


@given(st.lists(st.integers(-24 * 365 * 60, 24 * 365 * 60), max_size=50))
def test_the_hour_partitions_of_many_hours_are_each_hours_partition(offsets):
    hours = np.datetime64("2026-11-01T07", "h") + np.array(offsets, dtype="timedelta64[h]")
    expected = [hour_partition(pd.Timestamp(h, tz="UTC")) for h in hours]
    assert hour_partitions(hours) == expected
    for partition, hour in zip(hour_partitions(hours), hours, strict=True):
        assert partition_bounds(partition)[0] == pd.Timestamp(hour, tz="UTC")


def test_partition_strings_are_formatted_and_parsed_in_one_place():
    assert hour_partition(HOUR + pd.Timedelta(minutes=59)) == "date=2026-11-01/hour=07"
    assert date_partition(HOUR) == "date=2026-11-01"
    assert partition_bounds("date=2026-11-01/hour=07") == (HOUR, HOUR + pd.Timedelta(hours=1))
    day = pd.Timestamp("2026-11-01", tz="UTC")
    assert partition_bounds("date=2026-11-01", "daily") == (day, day + pd.Timedelta(days=1))
    with pytest.raises(ValueError, match="not of the form date=YYYY-MM-DD/hour=HH"):
        partition_bounds("date=2026-11-01", "hourly")
    with pytest.raises(ValueError, match="has no hour 24"):
        partition_bounds("date=2026-11-01/hour=24")
    with pytest.raises(ValueError, match="not of the form"):
        partition_bounds("hour=07")
    with pytest.raises(KeyError, match="unknown table 'request'"):
        table_spec("request")
