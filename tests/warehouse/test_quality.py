"""Great Expectations checkpoint over published partitions: real GX, frames built with the
Pandera models so their dtypes are the published ones."""

import pandas as pd
import pytest

from schemas.common import empty_frame
from schemas.forecasts import Forecast
from schemas.metrics import EndpointHourly, EndpointMinutely, LatencySketch, TrafficHourly
from warehouse import quality
from warehouse.catalog import Catalog
from warehouse.quality import (
    CROSS_TABLE,
    TABLES,
    QualityError,
    QualityResult,
    check_partitions,
    check_tables,
    partition_bounds,
    raise_for_failures,
)

H1 = pd.Timestamp("2026-11-01T01:00:00Z")
P1 = "date=2026-11-01/hour=01"
P2 = "date=2026-11-01/hour=02"
P3 = "date=2026-11-01/hour=03"
GRAIN = "grain (hour_start, service, endpoint) unique"


def endpoint_hourly(hour=H1, endpoints=("/a", "/b", "/c"), requests=10):
    """A valid endpoint_hourly partition: p50 < p90 < p95 < p99 < max, timed requests."""
    n = len(endpoints)
    frame = pd.DataFrame(
        {
            "hour_start": [hour] * n,
            "service": ["api"] * n,
            "endpoint": list(endpoints),
            "requests": [requests] * n,
            "status_2xx": [requests - 3] * n,
            "status_3xx": [0] * n,
            "status_4xx": [2] * n,
            "status_5xx": [1] * n,
            "error_rate": [0.3] * n,
            "server_error_rate": [0.1] * n,
            "timed_requests": [requests] * n,
            "latency_avg_ms": [40.0] * n,
            "latency_p50_ms": [30.0] * n,
            "latency_p90_ms": [60.0] * n,
            "latency_p95_ms": [70.0] * n,
            "latency_p99_ms": [90.0] * n,
            "latency_max_ms": [120.0] * n,
            "slow_requests": [1] * n,
            "slow_rate": [0.1] * n,
            "unique_users": pd.array([5] * n, dtype="Int64"),
            "bytes_sent": pd.array([1000] * n, dtype="Int64"),
        }
    )
    return EndpointHourly.validate(frame)


def partition_of(hour):
    return f"date={hour:%Y-%m-%d}/hour={hour:%H}"


def by_expectation(results, partition=P1):
    return {r.expectation: r for r in results if r.partition == partition}


def failures(results):
    return [(r.partition, r.expectation) for r in results if not r.success]


def test_a_valid_partition_passes_one_result_per_expectation():
    frame = endpoint_hourly()
    assert str(frame["hour_start"].dtype) == "datetime64[us, UTC]"
    results = check_partitions("endpoint_hourly", {P1: frame}, requests_rows={P1: 30})
    assert failures(results) == []
    names = [r.expectation for r in results]
    assert len(names) == len(set(names))
    assert {r.partition for r in results} == {P1}
    assert {r.table for r in results} == {"endpoint_hourly"}
    assert {
        GRAIN,
        "requests >= 0",
        "status_5xx >= 0",
        "unique_users >= 0",
        "bytes_sent >= 0",
        "error_rate between 0 and 1",
        "server_error_rate between 0 and 1",
        "slow_rate between 0 and 1",
        "latency_p50_ms <= latency_p90_ms",
        "latency_p90_ms <= latency_p95_ms",
        "latency_p95_ms <= latency_p99_ms",
        "latency_p99_ms <= latency_max_ms",
        "hour_start inside the partition",
        CROSS_TABLE,
    } <= set(names)
    # floats are not counts
    assert "error_rate >= 0" not in names
    assert all(r.unexpected == 0 for r in results)


def test_a_duplicate_grain_row_fails_the_grain():
    frame = endpoint_hourly()
    frame = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [(P1, GRAIN)]
    grain = by_expectation(results)[GRAIN]
    assert grain.unexpected == 2  # both rows of the duplicated key
    assert "/b" in grain.details and "x2" in grain.details


def test_a_negative_count_fails():
    frame = endpoint_hourly()
    frame.loc[2, "status_4xx"] = -1
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [(P1, "status_4xx >= 0")]
    result = by_expectation(results)["status_4xx >= 0"]
    assert result.unexpected == 1
    assert "-1" in result.details and "/c" in result.details


def test_nullable_int64_counts_allow_nulls_but_not_negatives():
    frame = endpoint_hourly()
    frame["unique_users"] = pd.array([None, None, 3], dtype="Int64")
    frame["bytes_sent"] = pd.array([None, -5, 3], dtype="Int64")
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [(P1, "bytes_sent >= 0")]
    assert by_expectation(results)["bytes_sent >= 0"].unexpected == 1


def test_a_rate_above_one_fails_and_nulls_pass_only_where_the_model_allows_them():
    frame = endpoint_hourly()
    frame.loc[0, "error_rate"] = 1.2
    frame.loc[1, "slow_rate"] = float("nan")  # nullable: passes
    frame.loc[2, "server_error_rate"] = float("nan")  # not nullable: fails
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [
        (P1, "error_rate between 0 and 1"),
        (P1, "server_error_rate between 0 and 1"),
    ]
    found = by_expectation(results)
    assert found["error_rate between 0 and 1"].unexpected == 1
    assert "1.2" in found["error_rate between 0 and 1"].details
    assert "null" in found["server_error_rate between 0 and 1"].details


def test_rates_at_the_bounds_pass():
    frame = endpoint_hourly()
    frame["error_rate"] = [0.0, 1.0, 0.5]
    assert failures(check_partitions("endpoint_hourly", {P1: frame})) == []


def test_a_p95_below_p50_fails_the_percentile_order():
    frame = endpoint_hourly()
    frame.loc[0, ["latency_p50_ms", "latency_p90_ms", "latency_p95_ms"]] = [30.0, 30.0, 20.0]
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [(P1, "latency_p90_ms <= latency_p95_ms")]
    result = by_expectation(results)["latency_p90_ms <= latency_p95_ms"]
    assert result.unexpected == 1
    assert "30.0 > 20.0" in result.details and "/a" in result.details


def test_tied_percentiles_pass():
    frame = endpoint_hourly()
    for column in ["latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms"]:
        frame[column] = frame["latency_max_ms"]
    assert failures(check_partitions("endpoint_hourly", {P1: frame})) == []


def test_null_percentiles_of_untimed_endpoints_pass():
    frame = endpoint_hourly()
    frame.loc[1, ["timed_requests", "slow_requests"]] = 0
    latency = [c for c in frame.columns if c.startswith("latency_")]
    frame.loc[1, latency] = float("nan")
    frame.loc[1, "slow_rate"] = float("nan")
    frame = EndpointHourly.validate(frame)
    assert failures(check_partitions("endpoint_hourly", {P1: frame})) == []


def test_minutely_percentiles_compare_the_columns_it_has():
    frame = EndpointMinutely.validate(
        pd.DataFrame(
            {
                "minute_start": [H1, H1 + pd.Timedelta(minutes=59)],
                "service": ["api", "api"],
                "endpoint": ["/a", "/a"],
                "requests": [3, 4],
                "errors": [0, 1],
                "latency_p50_ms": [10.0, None],
                "latency_p95_ms": [20.0, None],
            }
        )
    )
    results = check_partitions("endpoint_minutely", {P1: frame})
    assert failures(results) == []
    names = {r.expectation for r in results}
    assert "latency_p50_ms <= latency_p95_ms" in names
    assert "minute_start inside the partition" in names
    frame.loc[0, "latency_p95_ms"] = 5.0
    bad = check_partitions("endpoint_minutely", {P1: frame})
    assert failures(bad) == [(P1, "latency_p50_ms <= latency_p95_ms")]


def test_a_row_of_the_next_hour_fails_inside_the_partition():
    frame = endpoint_hourly()
    frame.loc[0, "hour_start"] = H1 + pd.Timedelta(hours=1)  # the exclusive end
    frame.loc[1, "hour_start"] = H1 + pd.Timedelta(hours=1, microseconds=-1)  # inside
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [(P1, "hour_start inside the partition")]
    result = by_expectation(results)["hour_start inside the partition"]
    assert result.unexpected == 1
    assert "2026-11-01T02:00:00+00:00" in result.details


def test_a_row_of_the_previous_hour_fails_inside_the_partition():
    frame = endpoint_hourly(hour=H1 - pd.Timedelta(microseconds=1))
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert (P1, "hour_start inside the partition") in failures(results)
    assert by_expectation(results)["hour_start inside the partition"].unexpected == 3


def test_sum_of_requests_must_equal_the_request_rows():
    frame = endpoint_hourly(requests=10)
    results = check_partitions("endpoint_hourly", {P1: frame}, requests_rows={P1: 31})
    assert failures(results) == [(P1, CROSS_TABLE)]
    result = by_expectation(results)[CROSS_TABLE]
    assert result.unexpected == 1
    assert result.details == "sum(requests) = 30, requests rows = 31"
    ok = by_expectation(check_partitions("endpoint_hourly", {P1: frame}, requests_rows={P1: 30}))
    assert ok[CROSS_TABLE].success
    assert ok[CROSS_TABLE].details == "sum(requests) = 30, requests rows = 30"


def test_a_partition_without_its_request_rows_fails_the_cross_check():
    frame = endpoint_hourly()
    results = check_partitions("endpoint_hourly", {P1: frame}, requests_rows={P2: 30})
    assert failures(results) == [(P1, CROSS_TABLE)]
    assert "not given" in by_expectation(results)[CROSS_TABLE].details
    # without requests_rows the cross check is not made
    plain = check_partitions("endpoint_hourly", {P1: frame})
    assert CROSS_TABLE not in {r.expectation for r in plain}


def test_several_partitions_at_once_only_the_bad_one_fails():
    hours = [H1, H1 + pd.Timedelta(hours=1), H1 + pd.Timedelta(hours=2)]
    frames = {partition_of(h): endpoint_hourly(hour=h) for h in hours}
    assert list(frames) == [P1, P2, P3]
    bad = frames[P2]
    bad.loc[0, "error_rate"] = 1.2
    bad.loc[1, "latency_p99_ms"] = 1000.0  # above max
    bad = pd.concat([bad, bad.iloc[[2]]], ignore_index=True)  # duplicate grain
    bad.loc[3, "hour_start"] = H1  # ... and in the previous hour: no longer a duplicate
    frames[P2] = bad
    # the same grain in different partitions is not a duplicate
    rows = {P1: 30, P2: 40, P3: 29}
    results = check_partitions("endpoint_hourly", frames, requests_rows=rows)
    assert failures(results) == [
        (P2, "error_rate between 0 and 1"),
        (P2, "latency_p99_ms <= latency_max_ms"),
        (P2, "hour_start inside the partition"),
        (P3, CROSS_TABLE),
    ]
    per_partition = {p: len([r for r in results if r.partition == p]) for p in frames}
    assert len(set(per_partition.values())) == 1  # the same expectations for each partition
    assert [r.partition for r in results] == sorted(r.partition for r in results)
    found = by_expectation(results, P2)
    assert found["hour_start inside the partition"].unexpected == 1
    assert found[GRAIN].success


def test_stacked_range_and_order_checks_give_each_column_its_own_rows():
    """The range and order checks run stacked in one long frame; each column's result counts
    exactly its own bad rows in its own partition (oracle: plain pandas comparisons)."""
    hours = [H1 + pd.Timedelta(hours=i) for i in range(3)]
    frames = {
        partition_of(h): endpoint_hourly(hour=h, endpoints=[f"/e{j}" for j in range(6)])
        for h in hours
    }
    first, second, third = frames.values()
    first.loc[[0, 4], "status_3xx"] = -1
    first.loc[2, "slow_rate"] = 1.5
    second.loc[1, "requests"] = -7
    second.loc[[1, 3, 5], "latency_p90_ms"] = 65.0  # p90 <= p95 holds, p50 <= p90 holds
    second.loc[5, "latency_p95_ms"] = 50.0  # p90 > p95 and p95 < p99 still
    third["bytes_sent"] = pd.array([-1, None, 3, -2, 5, 6], dtype="Int64")  # a null is allowed
    third["error_rate"] = [0.0, 1.0, 0.5, -0.1, 0.2, 0.3]
    third.loc[4, "latency_p50_ms"] = 200.0  # above p90 (60) only; p99 90 < max 120 still
    results = check_partitions("endpoint_hourly", frames)

    def oracle(frame: pd.DataFrame, name: str) -> int:
        if " <= " in name:
            low, high = name.split(" <= ")
            pair = frame[[low, high]].dropna()
            return int((pair[low] > pair[high]).sum())
        column, rest = name.split(" ", 1)
        values = frame[column].astype("Float64")
        bad = values < 0
        if "between 0 and 1" in rest:
            bad = bad | (values > 1)
        return int(bad.fillna(False).sum())

    checked = [r for r in results if " >= 0" in r.expectation or "between" in r.expectation]
    checked += [r for r in results if " <= " in r.expectation]
    assert len(checked) == 3 * 16  # 9 counts, 3 rates and 4 orders in each partition
    for result in checked:
        expected = oracle(frames[result.partition], result.expectation)
        assert (result.partition, result.expectation, result.unexpected) == (
            result.partition,
            result.expectation,
            expected,
        )
        assert result.success == (expected == 0)
    assert {(r.partition, r.expectation) for r in results if not r.success} == {
        (P1, "status_3xx >= 0"),
        (P1, "slow_rate between 0 and 1"),
        (P2, "requests >= 0"),
        (P2, "latency_p90_ms <= latency_p95_ms"),
        (P3, "bytes_sent >= 0"),
        (P3, "error_rate between 0 and 1"),
        (P3, "latency_p50_ms <= latency_p90_ms"),
    }
    found = by_expectation(results, P1)["status_3xx >= 0"]
    assert found.unexpected == 2 and "/e0" in found.details and "/e4" in found.details


def test_a_null_in_a_required_count_fails_and_a_text_count_is_named_by_gx():
    frame = endpoint_hourly()
    frame["requests"] = pd.array([10, None, 10], dtype="Int64")  # the model forbids a null
    frame["status_3xx"] = ["0", "0", "x"]  # not numbers: GX reports it by the column
    results = by_expectation(check_partitions("endpoint_hourly", {P1: frame}))
    assert results["requests >= 0"].unexpected == 1
    assert "null" in results["requests >= 0"].details
    assert not results["status_3xx >= 0"].success
    assert results["status_4xx >= 0"].success


def test_a_duplicate_across_partitions_of_a_daily_table_fails_only_its_partition():
    day1, day2 = pd.Timestamp("2026-11-01", tz="UTC"), pd.Timestamp("2026-11-02", tz="UTC")

    def traffic(day, hours=(0, 1, 23)):
        n = len(hours)
        return TrafficHourly.validate(
            pd.DataFrame(
                {
                    "hour_start": [day + pd.Timedelta(hours=h) for h in hours],
                    "requests": [10] * n,
                    "share_of_day": [1 / n] * n,
                    "rank_in_day": [1] * n,
                    "rank_in_week": [1] * n,
                }
            )
        )

    good, bad = traffic(day1), traffic(day2)
    bad.loc[0, "share_of_day"] = 1.5
    bad = pd.concat([bad, bad.iloc[[1]]], ignore_index=True)
    bad.loc[2, "hour_start"] = day2 + pd.Timedelta(days=1)
    results = check_partitions("traffic_hourly", {"date=2026-11-01": good, "date=2026-11-02": bad})
    assert failures(results) == [
        ("date=2026-11-02", "grain (hour_start) unique"),
        ("date=2026-11-02", "share_of_day between 0 and 1"),
        ("date=2026-11-02", "hour_start inside the partition"),
    ]


def test_signed_integer_columns_are_not_counts():
    frame = LatencySketch.validate(
        pd.DataFrame(
            {
                "hour_start": [H1, H1],
                "service": ["api", "api"],
                "endpoint": ["/a", "/a"],
                "bucket": [-32768, 250],
                "count": [1, 4],
            }
        )
    )
    results = check_partitions("latency_sketches", {P1: frame})
    assert failures(results) == []
    assert "bucket >= 0" not in {r.expectation for r in results}
    frame.loc[1, "count"] = -4
    assert failures(check_partitions("latency_sketches", {P1: frame})) == [(P1, "count >= 0")]


def test_forecast_score_is_a_rate():
    frame = Forecast.validate(
        pd.DataFrame(
            {
                "hour_start": [H1],
                "service": ["api"],
                "endpoint": ["/a"],
                "metric": ["requests"],
                "actual": [None],
                "yhat": [10.0],
                "yhat_lower": [8.0],
                "yhat_upper": [12.0],
                "score": [0.0],
                "surprise": [0.3],
                "is_anomaly": [False],
                "method": ["baseline"],
            }
        )
    )
    assert failures(check_partitions("forecasts", {P1: frame})) == []
    frame.loc[0, "score"] = 1.01
    assert failures(check_partitions("forecasts", {P1: frame})) == [(P1, "score between 0 and 1")]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_checks_an_empty_partition(table):
    rule = TABLES[table]
    frame = empty_frame(rule.model)
    assert rule.time_column in frame.columns
    partition = P1 if rule.period == "hourly" else "date=2026-11-01"
    results = check_partitions(table, {partition: frame})
    assert results and failures(results) == []
    unique = ", ".join(getattr(rule.model.Config, "unique", None) or [])
    if unique:
        assert f"grain ({unique}) unique" in {r.expectation for r in results}
    assert f"{rule.time_column} inside the partition" in {r.expectation for r in results}


def test_requests_partitions_are_checked_on_the_columns_the_checks_read():
    from warehouse.quality import checked_columns

    ts = pd.Series(
        pd.to_datetime(["2026-11-01T01:10Z", "2026-11-01T02:00Z"]), dtype="datetime64[us, UTC]"
    )
    frame = pd.DataFrame(
        {
            "ts": ts,
            "status_code": pd.array([200, 99], dtype="Int16"),
            "bytes_sent": pd.array([None, -1], dtype="Int64"),
        }
    )
    assert checked_columns("requests") == list(frame.columns)
    assert failures(check_partitions("requests", {P1: frame})) == [
        (P1, "bytes_sent >= 0"),
        (P1, "ts inside the partition"),
    ]


def test_partition_bounds_and_bad_arguments():
    assert partition_bounds("endpoint_hourly", P1) == (H1, H1 + pd.Timedelta(hours=1))
    day = pd.Timestamp("2026-11-01", tz="UTC")
    assert partition_bounds("availability_gaps", "date=2026-11-01") == (
        day,
        day + pd.Timedelta(days=1),
    )
    with pytest.raises(ValueError, match="not of the form"):
        check_partitions("endpoint_hourly", {"date=2026-11-01": endpoint_hourly()})
    with pytest.raises(ValueError, match="not of the form"):
        partition_bounds("endpoint_daily", P1)
    with pytest.raises(ValueError, match="no quality rules"):
        check_partitions("request", {P1: endpoint_hourly()})
    with pytest.raises(ValueError, match="requests_rows"):
        check_partitions("service_hourly", {P1: endpoint_hourly()}, requests_rows={P1: 1})
    assert check_partitions("endpoint_hourly", {}) == []


def test_a_frame_without_a_column_fails_with_the_gx_error():
    frame = endpoint_hourly().drop(columns=["slow_rate"])
    results = check_partitions("endpoint_hourly", {P1: frame})
    assert failures(results) == [(P1, "slow_rate between 0 and 1")]
    assert "slow_rate" in by_expectation(results)["slow_rate between 0 and 1"].details


def test_raise_for_failures_names_table_partition_and_expectation():
    frame = endpoint_hourly()
    frame.loc[0, "error_rate"] = 1.2
    results = check_partitions("endpoint_hourly", {P1: frame})
    raise_for_failures([r for r in results if r.success])
    with pytest.raises(QualityError) as caught:
        raise_for_failures(results)
    message = str(caught.value)
    assert "endpoint_hourly" in message
    assert P1 in message
    assert "error_rate between 0 and 1" in message
    assert caught.value.failures == [r for r in results if not r.success]


def test_raise_for_failures_lists_the_first_few_then_counts_the_rest():
    many = [
        QualityResult("endpoint_hourly", f"date=2026-11-01/hour={h:02d}", "requests >= 0", False, 1, "")
        for h in range(15)
    ]  # fmt: skip
    with pytest.raises(QualityError, match="and 5 more") as caught:
        raise_for_failures(many)
    assert "hour=09" in str(caught.value) and "hour=10" not in str(caught.value)


def test_quality_results_round_trip_through_the_catalog(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    frame = endpoint_hourly()
    frame.loc[0, "error_rate"] = 1.2
    results = check_partitions("endpoint_hourly", {P1: frame}, requests_rows={P1: 30})
    catalog.record_quality("r1", results)
    catalog.record_quality(None, results[:2])
    stored = catalog.quality_frame("r1")
    assert len(stored) == len(results)
    assert set(stored.columns) >= {
        "run_id", "table_name", "partition", "expectation", "success", "unexpected", "details",
        "checked_at",
    }  # fmt: skip
    assert stored["success"].dtype == bool
    assert str(stored["checked_at"].dt.tz) == "UTC"
    bad = stored[~stored["success"]]
    assert bad[["table_name", "partition", "expectation", "unexpected"]].values.tolist() == [
        ["endpoint_hourly", P1, "error_rate between 0 and 1", 1]
    ]
    assert "1.2" in bad["details"].iloc[0]
    # the same key is replaced, not duplicated
    fixed = check_partitions("endpoint_hourly", {P1: endpoint_hourly()}, requests_rows={P1: 30})
    catalog.record_quality("r1", fixed)
    stored = catalog.quality_frame("r1")
    assert len(stored) == len(results)
    assert stored["success"].all()
    everything = catalog.quality_frame()
    assert len(everything) == len(results) + 2
    assert everything["run_id"].isna().sum() == 2
    catalog.dispose()


def test_a_frame_without_its_time_column_fails_naming_it():
    frame = endpoint_hourly().drop(columns=["hour_start"])
    results = check_partitions("endpoint_hourly", {P1: frame})
    inside = by_expectation(results)["hour_start inside the partition"]
    assert not inside.success and "hour_start" in inside.details


def test_tables_checked_together_give_what_each_gives_checked_alone(monkeypatch):
    """check_tables stacks every table's checks into one validation; the oracle is each table
    validated on its own frame with GX's own compound-unique and column-pair expectations."""
    hours = [H1, H1 + pd.Timedelta(hours=1), H1 + pd.Timedelta(hours=2)]
    hourly = {partition_of(h): endpoint_hourly(hour=h) for h in hours}
    hourly[P1] = pd.concat([hourly[P1], hourly[P1].iloc[[0]]], ignore_index=True)  # duplicate
    hourly[P2].loc[0, "error_rate"] = 1.2
    hourly[P2].loc[1, "latency_p99_ms"] = 1000.0
    hourly[P3].loc[2, "hour_start"] = H1  # outside its hour
    minutely = EndpointMinutely.validate(
        pd.DataFrame(
            {
                "minute_start": [H1, H1 + pd.Timedelta(minutes=1), H1 + pd.Timedelta(minutes=2)],
                "service": ["api"] * 3,
                "endpoint": ["/a", "/a", "/b"],
                "requests": [3, 4, 5],
                "errors": [0, 1, 0],
                "latency_p50_ms": [10.0, 20.0, None],
                "latency_p95_ms": [20.0, 25.0, None],
            }
        )
    )
    minutely.loc[1, "latency_p50_ms"] = 30.0  # above its p95
    minutely.loc[2, "minute_start"] = pd.NaT  # a missing time is outside every partition
    sketches = LatencySketch.validate(
        pd.DataFrame(
            {
                "hour_start": [H1, H1, H1],
                "service": ["api"] * 3,
                "endpoint": ["/a", "/a", "/a"],
                "bucket": [-32768, 250, 251],
                "count": [1, 4, 2],
            }
        )
    )
    sketches.loc[1, "count"] = -4
    sketches.loc[2, "bucket"] = 250  # a duplicate of the row before
    tables = {
        "endpoint_hourly": hourly,
        "endpoint_minutely": {P1: minutely},
        "latency_sketches": {P1: sketches, P2: sketches.iloc[:1].copy()},
    }
    rows = {P1: 40, P2: 30, P3: 29}

    together = check_tables(tables, requests_rows=rows)
    monkeypatch.setattr(quality._Table, "together", property(lambda self: False))
    alone = [
        *check_partitions("endpoint_hourly", hourly, requests_rows=rows),
        *check_partitions("endpoint_minutely", {P1: minutely}),
        *check_partitions("latency_sketches", tables["latency_sketches"]),
    ]
    assert together == alone
    assert failures(together) == [
        (P1, GRAIN),
        (P2, "error_rate between 0 and 1"),
        (P2, "latency_p99_ms <= latency_max_ms"),
        (P3, "hour_start inside the partition"),
        (P3, CROSS_TABLE),
        (P1, "latency_p50_ms <= latency_p95_ms"),
        (P1, "minute_start inside the partition"),
        (P1, "grain (hour_start, service, endpoint, bucket) unique"),
        (P1, "count >= 0"),
        (P2, "hour_start inside the partition"),  # the sketches of P1's hour
    ]
    duplicate = by_expectation(together)[GRAIN]
    assert duplicate.unexpected == 2
    assert duplicate.details.startswith("duplicate keys: (2026-11-01T01:00:00+00:00, api, /a) x2")
