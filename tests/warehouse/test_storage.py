import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from warehouse.layout import Layout, hour_partition, partition_bounds
from warehouse.storage import read_parquet_files, remove, write_parquet, write_parquet_many

HOUR = pd.Timestamp("2026-11-01T07:00:00Z")


def frame(n=3):
    return pd.DataFrame(
        {
            "hour_start": pd.Series([HOUR] * n, dtype="datetime64[us, UTC]"),
            "endpoint": pd.Series([f"/e{i}" for i in range(n)], dtype="str"),
            "requests": list(range(1, n + 1)),
        }
    )


def test_hour_partition_paths(tmp_path):
    layout = Layout(tmp_path)
    assert hour_partition(HOUR) == "date=2026-11-01/hour=07"
    assert partition_bounds("date=2026-11-01/hour=07", "hourly")[0] == HOUR
    assert layout.hour_dir("endpoint_hourly", HOUR + pd.Timedelta(minutes=59)) == (
        tmp_path / "endpoint_hourly" / "date=2026-11-01" / "hour=07"
    )
    assert layout.date_dir("quarantine", HOUR) == tmp_path / "quarantine" / "date=2026-11-01"


def test_write_is_atomic_zstd_and_checksummed(tmp_path):
    target = tmp_path / "t" / "date=2026-11-01" / "hour=07" / "part-0.parquet"
    written = write_parquet(frame(), target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["part-0.parquet"]  # no temp left
    assert written.rows == 3 and written.bytes == target.stat().st_size
    assert written.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    metadata = pq.ParquetFile(target).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    back = pq.read_table(target).to_pandas()
    pd.testing.assert_frame_equal(back, frame())


def test_many_writes_come_back_in_order_and_a_failure_after_the_others_are_stored(tmp_path):
    targets = [tmp_path / "t" / f"hour={h:02d}" / "part-0.parquet" for h in range(12)]
    items = [(frame(n + 1), target) for n, target in enumerate(targets)]
    written = write_parquet_many(items, compression="lz4")
    assert [w.path for w in written] == targets
    for n, (w, target) in enumerate(zip(written, targets, strict=True)):
        assert w.rows == n + 1 and w.bytes == target.stat().st_size
        assert w.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
        pd.testing.assert_frame_equal(pq.read_table(target).to_pandas(), frame(n + 1))
    assert all(p.name == "part-0.parquet" for p in (tmp_path / "t").rglob("*") if p.is_file())

    def refuse_the_fourth(table):
        if table.num_rows == 4:
            raise ValueError("bad rows")
        return table

    again = [(frame(n + 2), target) for n, target in enumerate(targets)]
    with pytest.raises(ValueError, match="bad rows"):
        write_parquet_many(again, prepare=refuse_the_fourth)
    rows = [pq.read_metadata(target).num_rows for target in targets]
    assert rows[2] == 3  # the refused one keeps its previous version
    assert rows[:2] + rows[3:] == [n + 2 for n in range(12) if n != 2]  # the others are new


def test_overwrite_replaces_and_hive_readers_agree(tmp_path):
    target = tmp_path / "t" / "date=2026-11-01" / "hour=07" / "part-0.parquet"
    write_parquet(frame(5), target)
    write_parquet(frame(2), target)
    dataset = ds.dataset(tmp_path / "t", partitioning="hive").to_table().to_pandas()
    assert len(dataset) == 2 and set(dataset["hour"]) == {7}
    count = duckdb.execute(
        f"SELECT count(*), min(hour) FROM read_parquet('{tmp_path}/t/**/*.parquet', hive_partitioning=true)"
    ).fetchone()
    # untyped, DuckDB reads the zero-padded hour as text; the warehouse views type it
    assert count == (2, "07")


def test_remove_cleans_empty_partition_directories(tmp_path):
    target = tmp_path / "t" / "date=2026-11-01" / "hour=07" / "part-0.parquet"
    write_parquet(frame(), target)
    assert remove(target)
    assert not (tmp_path / "t" / "date=2026-11-01").exists()
    assert not remove(target)


def test_read_parquet_files_concatenates_and_skips_empty(tmp_path):
    a = write_parquet(frame(2), tmp_path / "a.parquet").path
    b = write_parquet(frame(0), tmp_path / "b.parquet").path
    c = write_parquet(frame(1), tmp_path / "c.parquet").path
    assert len(read_parquet_files([a, b, c])) == 3
    assert read_parquet_files([b]) is None
    assert read_parquet_files([]) is None


KILLED_WRITER = r"""
import os, sys, time
import numpy as np, pandas as pd
from pathlib import Path
from warehouse.storage import write_parquet

target, mode = Path(sys.argv[1]), sys.argv[2]
real_fsync = os.fsync
if mode == "before-rename":
    # widen the moment between a complete temporary file and its rename, so the kill lands
    # there for certain; the write path itself is the real one
    def slow_fsync(fd):
        time.sleep(30)
        real_fsync(fd)
    os.fsync = slow_fsync
rows = 2_000_000
new = pd.DataFrame({"requests": np.arange(rows), "latency_ms": np.random.default_rng(1).random(rows)})
print("writing", flush=True)
while True:
    write_parquet(new, target)
"""


@pytest.mark.e2e  # kills a child Python process
@pytest.mark.parametrize("mode", ["before-rename", "anywhere"])
def test_a_writer_killed_mid_write_leaves_the_previous_version_intact(tmp_path, mode):
    """kill -9 a real writer process: the target still reads back whole (the old version, or
    a complete new one), and what the writer left behind is invisible to DuckDB and pyarrow."""
    table_dir = tmp_path / "endpoint_hourly"
    target = table_dir / "date=2026-11-01" / "hour=07" / "part-0.parquet"
    write_parquet(frame(3), target)
    root = Path(__file__).resolve().parents[2]
    for delay in (0.05, 0.2, 0.6) if mode == "anywhere" else (None,):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(target), mode],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "writing"
        if delay is None:  # wait for a complete temporary file next to the target
            deadline = time.monotonic() + 60
            while not any(p.name.endswith(".tmp") for p in target.parent.iterdir()):
                assert time.monotonic() < deadline, "the writer never wrote its temporary file"
                time.sleep(0.01)
        else:
            time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL

        rows = pq.read_table(target).num_rows
        assert rows in (3, 2_000_000)
        assert pq.ParquetFile(target).metadata.num_rows == rows
        dataset = ds.dataset(table_dir, partitioning="hive")
        assert dataset.count_rows() == rows  # hidden temporary files are not data
        counted = duckdb.execute(
            f"SELECT count(*) FROM read_parquet('{table_dir}/**/*.parquet', hive_partitioning=true)"
        ).fetchone()[0]
        assert counted == rows
    if mode == "before-rename":
        leftovers = [p.name for p in target.parent.iterdir() if p.name != "part-0.parquet"]
        assert leftovers and all(n.startswith(".") and n.endswith(".tmp") for n in leftovers)
        assert pq.read_table(target).num_rows == 3  # killed before the rename: the old version


def test_read_hours_without_partitions_is_a_typed_empty_frame(tmp_path):
    from schemas.common import empty_frame
    from schemas.metrics import EndpointHourly
    from warehouse.tables import read_hours

    start = pd.Timestamp("2026-11-01T00:00Z")
    frame = read_hours(Layout(tmp_path), "endpoint_hourly", start, start + pd.Timedelta(hours=3))
    pd.testing.assert_frame_equal(frame, empty_frame(EndpointHourly))
    columns = ["hour_start", "requests"]
    some = read_hours(Layout(tmp_path), "endpoint_hourly", start, start, columns=columns)
    assert list(some.columns) == columns and some.empty
