import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.metrics import endpoint_hourly

T0 = pd.Timestamp("2026-11-01T10:00:00Z")


def requests_frame(rows):
    """rows: (minutes after T0, service, endpoint, status, latency)"""
    return pd.DataFrame(
        {
            "ts": pd.Series(
                [T0 + pd.Timedelta(minutes=m) for m, *_ in rows], dtype="datetime64[us, UTC]"
            ),
            "service": pd.Series([r[1] for r in rows], dtype="str"),
            "endpoint": pd.Series([r[2] for r in rows], dtype="str"),
            "status_code": pd.array([r[3] for r in rows], dtype="Int16"),
            "latency_ms": pd.array([r[4] for r in rows], dtype="float64"),
        }
    )


def test_one_row_per_hour_service_endpoint_given_expected():
    given_rows = [
        (1, "shop", "/a", 200, 10.0),
        (2, "shop", "/a", 500, 20.0),
        (3, "shop", "/a", 404, 30.0),
        (4, "shop", "/a", 200, 1500.0),
        (5, "shop", "/b", 200, 5.0),
        (70, "shop", "/a", 200, 7.0),
        (6, None, "/c", 200, None),
    ]
    out = endpoint_hourly(requests_frame(given_rows), slow_threshold_ms=1000)
    assert list(out.columns) == [
        "hour_start", "service", "endpoint", "requests", "error_rate",
        "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "slow_rate",
    ]  # fmt: skip
    first = out[(out.endpoint == "/a") & (out.hour_start == T0)].iloc[0]
    assert first["requests"] == 4
    assert first["error_rate"] == pytest.approx(0.5)
    assert first["latency_p50_ms"] == pytest.approx(25.0)  # linear between 20 and 30
    assert first["latency_p95_ms"] == pytest.approx(30 + 0.85 * 1470)
    assert first["slow_rate"] == pytest.approx(0.25)
    later = out[(out.endpoint == "/a") & (out.hour_start == T0 + pd.Timedelta(hours=1))].iloc[0]
    assert later["requests"] == 1 and later["latency_p99_ms"] == 7.0
    untimed = out[out.endpoint == "/c"].iloc[0]
    assert untimed["service"] == "unknown"
    assert pd.isna(untimed["latency_p50_ms"]) and pd.isna(untimed["slow_rate"])
    assert len(out) == 4


def test_events_without_an_endpoint_are_not_requests():
    req = requests_frame([(1, "shop", "/a", 200, 10.0), (2, "shop", None, None, None)])
    out = endpoint_hourly(req)
    assert out["endpoint"].tolist() == ["/a"] and out["requests"].tolist() == [1]


def test_empty_input_gives_empty_table_with_columns():
    out = endpoint_hourly(requests_frame([]).iloc[0:0])
    assert out.empty and "latency_p95_ms" in out.columns


DUCKDB_SQL = """
SELECT date_trunc('hour', ts) AS hour_start, coalesce(service, 'unknown') AS service, endpoint,
       count(*) AS requests,
       avg(CASE WHEN coalesce(status_code, 0) >= 400 THEN 1.0 ELSE 0.0 END) AS error_rate,
       quantile_cont(latency_ms, 0.5) AS latency_p50_ms,
       quantile_cont(latency_ms, 0.95) AS latency_p95_ms,
       quantile_cont(latency_ms, 0.99) AS latency_p99_ms,
       avg(CASE WHEN latency_ms IS NULL THEN NULL WHEN latency_ms > 1000 THEN 1.0 ELSE 0.0 END) AS slow_rate
FROM req GROUP BY ALL ORDER BY ALL
"""

row_strategy = st.tuples(
    st.integers(0, 179),
    st.sampled_from(["shop", "auth", None]),
    st.sampled_from(["/a", "/b"]),
    st.sampled_from([200, 201, 301, 400, 404, 500, 503]),
    st.one_of(st.none(), st.floats(0, 5000, allow_nan=False)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=80))
def test_metrics_equal_duckdb_sql_on_the_same_rows(rows):
    req = requests_frame(rows)
    ours = endpoint_hourly(req, slow_threshold_ms=1000).reset_index(drop=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("req", req)
    theirs = con.execute(DUCKDB_SQL).df()
    assert len(ours) == len(theirs)
    assert ours["endpoint"].tolist() == theirs["endpoint"].tolist()
    assert ours["service"].tolist() == theirs["service"].tolist()
    assert (
        ours["hour_start"].to_numpy()
        == pd.to_datetime(theirs["hour_start"], utc=True).dt.as_unit("us").to_numpy()
    ).all()
    assert ours["requests"].tolist() == theirs["requests"].tolist()
    for column in ("error_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "slow_rate"):
        np.testing.assert_allclose(
            ours[column].to_numpy(dtype=float),
            theirs[column].to_numpy(dtype=float),
            rtol=1e-9,
            atol=1e-9,
        )
