"""Publishing: validate, check, write atomically, record in the catalog, all or nothing."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from warehouse.catalog import Catalog
from warehouse.layout import Layout
from warehouse.publish import Batch
from warehouse.quality import QualityError

DAY = "date=2026-11-02"


def traffic(requests: list[int]) -> pd.DataFrame:
    hours = pd.date_range("2026-11-02", periods=len(requests), freq="h", tz="UTC")
    total = sum(requests)
    return pd.DataFrame(
        {
            "hour_start": hours.as_unit("us"),
            "requests": requests,
            "share_of_day": [r / total for r in requests],
            "rank_in_day": pd.Series(requests).rank(method="min", ascending=False).astype(int),
            "rank_in_week": pd.Series(requests).rank(method="min", ascending=False).astype(int),
        }
    )


@pytest.fixture
def warehouse(tmp_path):
    return Layout(tmp_path / "warehouse"), Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")


def publish(layout, catalog, partitions: dict) -> dict[str, int]:
    batch = Batch(layout, catalog, "r1")
    for partition, rows in partitions.items():
        batch.add("traffic_hourly", partition, rows)
    return batch.check_and_publish()


def test_a_batch_writes_every_partition_and_records_them_with_their_checks(warehouse):
    layout, catalog = warehouse
    other = "date=2026-11-03"
    frame = traffic([5, 3])
    later = frame.assign(hour_start=frame["hour_start"] + pd.Timedelta(days=1))
    assert publish(layout, catalog, {DAY: frame, other: later}) == {"traffic_hourly": 4}
    stored = pd.read_parquet(layout.part_file("traffic_hourly", DAY))
    pd.testing.assert_frame_equal(stored, frame, check_dtype=False)
    recorded = catalog.partitions_frame()
    assert sorted(recorded["partition"]) == [DAY, other]
    assert set(recorded["schema_version"]) == {1}
    quality = catalog.quality_frame("r1")
    assert len(quality) and quality["success"].all()


def test_an_empty_partition_removes_the_file_and_its_catalog_row(warehouse):
    layout, catalog = warehouse
    publish(layout, catalog, {DAY: traffic([5])})
    assert publish(layout, catalog, {DAY: traffic([5]).head(0)}) == {}
    assert not layout.part_file("traffic_hourly", DAY).exists()
    assert catalog.partitions_frame().empty


def test_a_failed_check_publishes_nothing_of_the_batch(warehouse):
    layout, catalog = warehouse
    good, bad = traffic([5]), traffic([5, 3]).assign(rank_in_day=[1, 0])
    with pytest.raises(QualityError, match="rank_in_day"):
        publish(layout, catalog, {DAY: good, "date=2026-11-03": bad})
    assert not layout.part_file("traffic_hourly", DAY).exists()
    assert catalog.partitions_frame().empty
    assert not catalog.quality_frame("r1")["success"].all()


def test_arrow_rows_are_checked_on_the_columns_the_checks_read(warehouse):
    layout, catalog = warehouse
    rows = pa.Table.from_pandas(traffic([5, 3]), preserve_index=False)
    assert publish(layout, catalog, {DAY: rows}) == {"traffic_hourly": 2}
    outside = pa.Table.from_pandas(traffic([5]), preserve_index=False)
    with pytest.raises(QualityError, match="hour_start inside the partition"):
        publish(layout, catalog, {"date=2026-11-03": outside})
