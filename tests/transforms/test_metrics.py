"""Metric tables: given -> expected on tiny frames, and every table equal to DuckDB SQL over the
same request rows (hypothesis). Percentiles follow `quantile_cont`: linear interpolation at rank
q * (n - 1)."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.oracle import DAILY_SQL, TRAFFIC_SQL, hourly_sql
from tests.helpers import examples
from transforms.metrics import (
    HOURLY_TABLES,
    SKETCH_GAMMA,
    availability_gaps,
    endpoint_daily,
    endpoint_hourly,
    hourly_tables,
    sketch_buckets,
    sketch_quantiles,
    traffic_hourly,
)

T0 = pd.Timestamp("2026-11-01T10:00:00Z")
COLUMNS = (
    "minute", "service", "endpoint", "status_code", "latency_ms",
    "bytes_sent", "user_id", "region", "error_reason", "level",
)  # fmt: skip


def requests_frame(rows, t0=T0):
    """rows: tuples in COLUMNS order (trailing fields may be left out: null)."""
    rows = [tuple(r) + (None,) * (len(COLUMNS) - len(r)) for r in rows]
    col = {name: [r[i] for r in rows] for i, name in enumerate(COLUMNS)}
    text = {c: pd.Series(col[c], dtype="str") for c in COLUMNS if c in _TEXT}
    return pd.DataFrame(
        {
            "ts": pd.Series(
                [t0 + pd.Timedelta(minutes=m) for m in col["minute"]], dtype="datetime64[us, UTC]"
            ),
            **text,
            "status_code": pd.array(col["status_code"], dtype="Int16"),
            "latency_ms": pd.array(col["latency_ms"], dtype="float64"),
            "bytes_sent": pd.array(col["bytes_sent"], dtype="Int64"),
        }
    )


_TEXT = ("service", "endpoint", "user_id", "region", "error_reason", "level")


def test_endpoint_hourly_given_expected():
    rows = [
        (1, "shop", "/a", 200, 10.0, 100, "u1"),
        (2, "shop", "/a", 500, 20.0, None, "u2"),
        (3, "shop", "/a", 404, 30.0, 50, "u1"),
        (4, "shop", "/a", 302, 1500.0, None, None),
        (5, "shop", "/b", 200, 5.0),
        (70, "shop", "/a", 200, 7.0),
        (6, None, "/c", 200, None),
        (7, "shop", None, None, None, None, None, None, None, "ERROR"),  # a log line
    ]
    out = endpoint_hourly(requests_frame(rows), slow_threshold_ms=1000)
    first = out[(out.endpoint == "/a") & (out.hour_start == T0)].iloc[0]
    assert (first.requests, first.status_2xx, first.status_3xx) == (4, 1, 1)
    assert (first.status_4xx, first.status_5xx, first.timed_requests) == (1, 1, 4)
    assert first.error_rate == 0.5 and first.server_error_rate == 0.25
    assert first.latency_avg_ms == pytest.approx(1560 / 4)
    assert first.latency_p50_ms == pytest.approx(25.0)  # halfway between 20 and 30
    assert first.latency_p90_ms == pytest.approx(30 + 0.7 * 1470)
    assert first.latency_p95_ms == pytest.approx(30 + 0.85 * 1470)
    assert first.latency_max_ms == 1500.0
    assert (first.slow_requests, first.slow_rate) == (1, 0.25)
    assert (first.unique_users, first.bytes_sent) == (2, 150)
    later = out[(out.endpoint == "/a") & (out.hour_start == T0 + pd.Timedelta(hours=1))].iloc[0]
    assert later.requests == 1 and later.latency_p99_ms == 7.0
    assert pd.isna(later.unique_users) and pd.isna(later.bytes_sent)  # none logged
    untimed = out[out.endpoint == "/c"].iloc[0]
    assert untimed.service == "unknown" and untimed.timed_requests == 0
    assert pd.isna(untimed.latency_p50_ms) and pd.isna(untimed.slow_rate)
    assert len(out) == 4  # the log line is not a request
    assert list(out.columns[:3]) == ["hour_start", "service", "endpoint"]


def test_every_table_is_sorted_by_its_grain_and_empty_input_gives_empty_tables():
    rows = [(m, s, e, 200, float(m)) for m in (5, 1, 3) for s in ("b", "a") for e in ("/y", "/x")]
    tables = hourly_tables(requests_frame(rows))
    minutely = tables["endpoint_minutely"]
    keys = list(zip(minutely.minute_start, minutely.service, minutely.endpoint, strict=True))
    assert keys == sorted(keys) and len(keys) == 12
    empty = hourly_tables(requests_frame([]).iloc[0:0])
    assert set(empty) == set(HOURLY_TABLES)
    assert all(frame.empty and len(frame.columns) for frame in empty.values())


def test_tables_from_an_arrow_table_equal_those_from_pandas():
    import pyarrow as pa

    frame = requests_frame(
        [
            (m, "shop", f"/{m % 3}", 200 + m % 4 * 100, m * 1.5, m, f"u{m % 5}", "eu", "x", "INFO")
            for m in range(120)
        ]
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dictionary = table.set_column(1, "service", table.column("service").dictionary_encode())
    for name, expected in hourly_tables(frame).items():
        pd.testing.assert_frame_equal(hourly_tables(table)[name], expected)
        pd.testing.assert_frame_equal(hourly_tables(dictionary)[name], expected)


# every table against DuckDB SQL over the same rows --------------------------------------------
DUCKDB_SQL = {name: sql for name, sql in hourly_sql().items() if name != "latency_sketches"}
"""The sketch is checked against endpoint_hourly below, not bucket by bucket against SQL."""


def duckdb_frame(sql: str, **frames) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, frame in frames.items():
        con.register(name, frame)
    return con.execute(sql).df()


def assert_same_rows(ours: pd.DataFrame, theirs: pd.DataFrame, *, rtol=1e-9, skip=()):
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs)
    for column in ours.columns:
        if column in skip:
            continue
        mine, other = ours[column], theirs[column]
        if isinstance(mine.dtype, pd.DatetimeTZDtype):
            other = pd.to_datetime(other, utc=True).dt.as_unit("us")
            assert mine.tolist() == other.tolist(), column
        elif mine.dtype.kind == "f":
            np.testing.assert_allclose(
                mine.to_numpy(float), other.to_numpy(float), rtol=rtol, atol=1e-9, err_msg=column
            )
        else:
            assert [None if pd.isna(v) else v for v in mine] == [
                None if pd.isna(v) else v for v in other
            ], column


row_strategy = st.tuples(
    st.integers(0, 179),
    st.sampled_from(["shop", "auth", "unknown", None]),
    st.sampled_from(["/a", "/b", "/c/{id}", None]),
    st.one_of(st.none(), st.sampled_from([101, 200, 201, 302, 400, 404, 500, 503])),
    st.one_of(st.none(), st.just(0.0), st.floats(0, 5000, allow_nan=False)),
    st.one_of(st.none(), st.integers(0, 10**9)),
    st.one_of(st.none(), st.sampled_from(["u1", "u2", "u3"])),
    st.one_of(st.none(), st.sampled_from(["eu", "us"])),
    st.one_of(st.none(), st.sampled_from(["timeout", "upstream"])),
    st.one_of(st.none(), st.sampled_from(["INFO", "ERROR"])),
)


def _with_level_when_no_endpoint(row):
    """A record without an endpoint is a service-log event, which always has a level."""
    return row if row[2] is not None or row[9] is not None else (*row[:9], "WARN")


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy.map(_with_level_when_no_endpoint), min_size=1, max_size=80))
def test_every_hourly_table_equals_duckdb_sql_on_the_same_rows(rows):
    req = requests_frame(rows)
    ours = hourly_tables(req, slow_threshold_ms=1000)
    for name, sql in DUCKDB_SQL.items():
        assert_same_rows(ours[name], duckdb_frame(sql, req=req))
    # the sketch holds every timed request of its hour and endpoint exactly once
    sketch = ours["latency_sketches"].groupby(["hour_start", "service", "endpoint"])["count"].sum()
    hourly = ours["endpoint_hourly"].set_index(["hour_start", "service", "endpoint"])
    timed = hourly["timed_requests"]
    assert sketch.to_dict() == timed[timed > 0].to_dict()


def test_latency_buckets_hold_their_values():
    values = np.r_[1e-7, 1e-6, 2e-6, np.geomspace(1e-3, 8e7, 50_000)]
    buckets = sketch_buckets(values)
    positive = values > 1e-6
    upper = SKETCH_GAMMA ** buckets[positive].astype(float)
    assert (values[positive] <= upper * (1 + 1e-12)).all()
    assert (values[positive] > upper / SKETCH_GAMMA * (1 - 1e-12)).all()
    assert (buckets[~positive] == -32768).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sketch_quantiles_are_within_one_percent_of_exact(seed):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 20, 200_000)
    values = rng.lognormal(mean=4 + groups % 4, sigma=1.2, size=len(groups))
    values[rng.random(len(values)) < 0.01] = 0.0  # some zero latencies too
    buckets = sketch_buckets(values)
    pairs, counts = np.unique(np.c_[groups, buckets], axis=0, return_counts=True)
    qs = [0.5, 0.9, 0.95, 0.99, 0.999]
    found, estimates = sketch_quantiles(pairs[:, 0], pairs[:, 1], counts, qs)
    assert found.tolist() == list(range(20))
    for q, estimate in zip(qs, estimates, strict=True):
        exact = np.array([np.quantile(values[groups == g], q) for g in found])
        assert (np.abs(estimate - exact) <= 0.01 * exact + 1e-9).all(), q


PERCENTILE_COLUMNS = ["latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms"]

daily_rows = st.tuples(
    st.integers(0, 2 * 1440 - 1),
    st.sampled_from(["shop", None]),
    st.sampled_from(["/a", "/b"]),
    st.one_of(st.none(), st.sampled_from([200, 302, 404, 503])),
    st.one_of(st.none(), st.floats(0, 20_000, allow_nan=False)),
    st.one_of(st.none(), st.integers(0, 10**6)),
)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(daily_rows, min_size=1, max_size=300))
def test_endpoint_daily_equals_duckdb_with_percentiles_within_one_percent(rows):
    req = requests_frame(rows, t0=pd.Timestamp("2026-11-01T00:00:00Z"))
    tables = hourly_tables(req)
    ours = endpoint_daily(tables["endpoint_hourly"], tables["latency_sketches"])
    theirs = duckdb_frame(DAILY_SQL, req=req)
    assert_same_rows(ours, theirs, skip=PERCENTILE_COLUMNS)
    for column in PERCENTILE_COLUMNS:
        mine, exact = ours[column].to_numpy(float), theirs[column].to_numpy(float)
        assert (np.isnan(mine) == np.isnan(exact)).all()
        both = ~np.isnan(exact)
        assert (np.abs(mine[both] - exact[both]) <= 0.01 * exact[both] + 1e-6).all(), column


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 24 * 16 - 1), st.sampled_from(["/a", "/b"]), st.integers(1, 5)),
        min_size=1,
        max_size=120,
        unique_by=lambda r: r[:2],
    )
)
def test_traffic_ranks_equal_sql_rank_within_day_and_iso_week(rows):
    start = pd.Timestamp("2026-11-05T00:00:00Z")  # a Thursday: the weeks are cut mid-range
    eh = pd.DataFrame(
        {
            "hour_start": pd.Series(
                [start + pd.Timedelta(hours=h) for h, _, _ in rows], dtype="datetime64[us, UTC]"
            ),
            "service": "shop",
            "endpoint": [e for _, e, _ in rows],
            "requests": [n for _, _, n in rows],
        }
    )
    assert_same_rows(traffic_hourly(eh), duckdb_frame(TRAFFIC_SQL, eh=eh))


# availability gaps -------------------------------------------------------------------------------
def minutely(counts: dict[str, list[int]], t0=T0) -> pd.DataFrame:
    rows = [
        (t0 + pd.Timedelta(minutes=m), endpoint, n)
        for endpoint, series in counts.items()
        for m, n in enumerate(series)
        if n
    ]
    return pd.DataFrame(
        {
            "minute_start": pd.Series([r[0] for r in rows], dtype="datetime64[us, UTC]"),
            "service": "shop",
            "endpoint": [r[1] for r in rows],
            "requests": [r[2] for r in rows],
        }
    )


def gaps(counts, **options):
    length = max(len(s) for s in counts.values())
    window = {"start": T0, "end": T0 + pd.Timedelta(minutes=length), "horizon": None}
    window.update(options)
    if window["horizon"] is None:
        window["horizon"] = T0 + pd.Timedelta(minutes=length)
    return availability_gaps(minutely(counts), **window)


def test_a_busy_endpoint_falling_silent_is_a_gap_and_a_quiet_one_is_not():
    busy = [10] * 60 + [0] * 5 + [10] * 30
    quiet = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0] * 6 + [0] * 5 + [1] * 30  # 0.1 per minute
    out = gaps({"/busy": busy, "/quiet": quiet})
    assert out.endpoint.tolist() == ["/busy"]
    gap = out.iloc[0]
    assert gap.gap_start == T0 + pd.Timedelta(minutes=60)
    assert gap.gap_end == T0 + pd.Timedelta(minutes=65)
    assert (gap.minutes, gap.expected_requests, gap.ongoing) == (5, 50.0, False)


def test_gap_rules_length_history_window_and_horizon():
    too_short = [10] * 60 + [0] * 2 + [10] * 10
    assert gaps({"/a": too_short}).empty  # shorter than min_minutes
    assert len(gaps({"/a": too_short}, min_minutes=2)) == 1
    nothing_before = [0] * 30 + [10] * 30
    assert gaps({"/a": nothing_before, "/b": [1] * 60}).empty  # no traffic seen before it
    open_ended = [10] * 60 + [0] * 20
    out = gaps({"/a": open_ended, "/b": [1] * 80})
    assert out.iloc[0].ongoing and out.iloc[0].minutes == 20
    # minutes past the newest data are not judged
    cut = gaps({"/a": open_ended, "/b": [1] * 80}, horizon=T0 + pd.Timedelta(minutes=70))
    assert cut.iloc[0].minutes == 10
    # only gaps that start inside [start, end) belong to the window
    later = gaps({"/a": open_ended, "/b": [1] * 80}, end=T0 + pd.Timedelta(minutes=60))
    assert later.empty


GAPS_SQL = """
WITH bounds AS (SELECT TIMESTAMPTZ '{first}' AS w0, TIMESTAMPTZ '{horizon}' AS w1,
                       TIMESTAMPTZ '{start}' AS s0, TIMESTAMPTZ '{end}' AS s1),
inside AS (SELECT m.* FROM m, bounds WHERE minute_start >= w0 AND minute_start < w1),
observed AS (SELECT min(minute_start) AS obs0 FROM inside),
grid AS (
  SELECT e.service, e.endpoint, g.minute_start
  FROM (SELECT DISTINCT service, endpoint FROM inside) e,
       (SELECT unnest(generate_series(w0, w1 - INTERVAL 1 MINUTE, INTERVAL 1 MINUTE))
          AS minute_start FROM bounds) g),
filled AS (
  SELECT grid.*, coalesce(i.requests, 0) AS n
  FROM grid LEFT JOIN inside i USING (service, endpoint, minute_start)),
runs AS (
  SELECT *, row_number() OVER (PARTITION BY service, endpoint ORDER BY minute_start)
          - row_number() OVER (PARTITION BY service, endpoint, n = 0 ORDER BY minute_start)
          AS island
  FROM filled),
silent AS (
  SELECT service, endpoint, min(minute_start) AS gap_start,
         max(minute_start) + INTERVAL 1 MINUTE AS gap_end, count(*) AS minutes
  FROM runs WHERE n = 0 GROUP BY service, endpoint, island),
rated AS (
  SELECT s.*, greatest(s.gap_start - INTERVAL 60 MINUTE, obs0, w0) AS since
  FROM silent s, observed, bounds),
measured AS (
  SELECT r.*, date_diff('minute', r.since, r.gap_start) AS seen,
    (SELECT coalesce(sum(n), 0) FROM filled f
     WHERE f.service = r.service AND f.endpoint = r.endpoint
       AND f.minute_start >= r.since AND f.minute_start < r.gap_start) AS before_n
  FROM rated r)
SELECT service, endpoint, gap_start, gap_end, minutes,
  before_n / seen * minutes AS expected_requests, gap_end = w1 AS ongoing
FROM measured, bounds
WHERE seen > 0 AND minutes >= 3 AND before_n / seen * minutes >= 10
  AND gap_start >= s0 AND gap_start < s1
ORDER BY service, endpoint, gap_start"""

segments = st.lists(
    st.tuples(st.one_of(st.just(0), st.integers(1, 20)), st.integers(1, 25)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segments, min_size=1, max_size=3), st.integers(0, 90), st.integers(30, 200))
def test_availability_gaps_equal_a_gaps_and_islands_query(endpoints, offset, length):
    counts = {
        f"/e{i}": [v for v, n in parts for _ in range(n)] for i, parts in enumerate(endpoints)
    }
    frame = minutely(counts)
    start = T0 + pd.Timedelta(minutes=offset)
    window = {
        "start": start,
        "end": start + pd.Timedelta(minutes=length),
        "horizon": T0 + pd.Timedelta(minutes=max(len(s) for s in counts.values())),
    }
    ours = availability_gaps(frame, **window)
    first = start - pd.Timedelta(minutes=60)
    sql = GAPS_SQL.format(first=first, **window)
    assert_same_rows(ours, duckdb_frame(sql, m=frame))


# dimension_hourly: attributes broken down per source's dimensions --------------------------------
DIMENSIONS = {"api": ("document_type", "tier"), "batch": ("tier",)}
attribute_text = st.one_of(
    st.none(),
    st.sampled_from(["invoice", "receipt", 'say "hi"', "back\\slash", "naïve", "-", ""]),
)
dimension_rows = st.tuples(
    st.integers(0, 179),
    st.sampled_from(["api", "batch", "other"]),
    st.sampled_from(["/a", "/b"]),
    st.one_of(st.none(), st.sampled_from([200, 404, 503])),
    st.one_of(st.none(), st.floats(0, 5000, allow_nan=False)),
    attribute_text,
    attribute_text,
)


def dimension_frame_of(rows):
    from transforms.formats.attributes import attributes_json

    frame = requests_frame([(m, "shop", e, s, lat) for m, _, e, s, lat, _, _ in rows])
    frame["source"] = pd.Series([r[1] for r in rows], dtype="str")
    frame["attributes"] = attributes_json(
        {
            "document_type": pd.Series([r[5] for r in rows], dtype="str"),
            "tier": pd.Series([r[6] for r in rows], dtype="str"),
        },
        len(rows),
    )
    return frame


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dimension_rows, min_size=1, max_size=80))
def test_dimension_hourly_equals_duckdb_json_sql_on_the_same_rows(rows):
    req = dimension_frame_of(rows)
    ours = hourly_tables(req, dimensions=DIMENSIONS)["dimension_hourly"]
    theirs = duckdb_frame(hourly_sql(dimensions=DIMENSIONS)["dimension_hourly"], req=req)
    assert_same_rows(ours, theirs)


def test_dimension_hourly_given_expected():
    rows = [
        (0, "api", "/a", 200, 10.0, "invoice", None),
        (1, "api", "/a", 503, 30.0, "invoice", "gold"),
        (2, "api", "/a", 200, None, "receipt", "gold"),
        (3, "batch", "/a", 200, 5.0, "invoice", "gold"),  # batch names tier only
        (4, "other", "/a", 200, 5.0, "invoice", "gold"),  # names no dimension
        (5, "api", "/a", 200, 5.0, "-", None),  # "-" is not logged
    ]
    table = hourly_tables(dimension_frame_of(rows), dimensions=DIMENSIONS)["dimension_hourly"]
    got = {
        (r.dimension, r.value): (r.requests, r.error_rate, r.latency_p95_ms)
        for r in table.itertuples()
    }
    assert got.keys() == {
        ("document_type", "invoice"),
        ("document_type", "receipt"),
        ("tier", "gold"),
    }
    assert got[("document_type", "invoice")][:2] == (2, 0.5)
    assert got[("document_type", "invoice")][2] == pytest.approx(10 + 0.95 * 20)
    assert got[("document_type", "receipt")][0] == 1 and pd.isna(
        got[("document_type", "receipt")][2]
    )
    assert got[("tier", "gold")][:2] == (3, 1 / 3)
    assert hourly_tables(dimension_frame_of(rows))["dimension_hourly"].empty
