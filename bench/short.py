"""`python -m bench short`: the cost of judging the minutes of endpoints for short episodes
(`transforms.short.short_anomalies`), in milliseconds per series-hour (an endpoint's hour,
its three metrics), against the target of 2 ms.

Two shapes of run over 200 endpoints with Poisson traffic (1 to 200 requests a minute, an
8-minute outage in about one endpoint-hour in 20) and the context hours before: a backfill scoring a day (24 hours at once) and an hourly run (one
hour, its context read and judged again). The time is the best of REPEATS, of the detector
alone (the flow reads `endpoint_minutely` for it)."""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from transforms.short import CONTEXT_HOURS, short_anomalies

ENDPOINTS = 200
HOURS = 24
REPEATS = 3
TARGET_MS = 2.0
START = pd.Timestamp("2026-11-02T00:00:00Z")


def minutely_frame(endpoints: int, hours: int, seed: int = 3) -> pd.DataFrame:
    """endpoint_minutely rows of `endpoints` over `hours` from START (no row for 0 requests)."""
    rng = np.random.default_rng(seed)
    minutes = pd.date_range(START, periods=hours * 60, freq="min")
    rate = np.exp(rng.uniform(0, np.log(200), endpoints))
    requests = rng.poisson(rate[:, None], (endpoints, len(minutes)))
    # an 8-minute outage in about one endpoint-hour in 20, so that runs are found and judged
    for series, hour in zip(*np.nonzero(rng.random((endpoints, hours)) < 0.05), strict=True):
        first = hour * 60 + int(rng.integers(0, 52))
        requests[series, first : first + 8] = 0
    errors = rng.binomial(requests, 0.01)
    p95 = 100 * np.exp(0.2 * rng.standard_normal(requests.shape))
    series, minute = np.nonzero(requests)
    return pd.DataFrame(
        {
            "minute_start": minutes[minute],
            "service": "svc",
            "endpoint": pd.Index([f"/e{i:03d}" for i in range(endpoints)])[series],
            "requests": requests[series, minute],
            "errors": errors[series, minute],
            "latency_p50_ms": p95[series, minute] / 2,
            "latency_p95_ms": p95[series, minute],
        }
    )


def forecast_frame(frame: pd.DataFrame, hours: pd.DatetimeIndex) -> pd.DataFrame:
    """`forecasts` rows of `hours`: each endpoint's true level (the detector's input only)."""
    hour = frame["minute_start"].dt.floor("h")
    chosen = frame[hour.isin(hours)].assign(hour_start=hour)
    grouped = chosen.groupby(["hour_start", "service", "endpoint"], as_index=False).agg(
        requests=("requests", "sum"), errors=("errors", "sum"), p95=("latency_p95_ms", "median")
    )
    rows = []
    for metric, value in (
        ("requests", grouped["requests"]),
        ("error_rate", grouped["errors"] / grouped["requests"]),
        ("latency_p95_ms", grouped["p95"]),
    ):
        rows.append(
            grouped[["hour_start", "service", "endpoint"]].assign(metric=metric, yhat=value)
        )
    out = pd.concat(rows, ignore_index=True)
    return out.assign(yhat_lower=out["yhat"], yhat_upper=out["yhat"])


def best_seconds(minutely: pd.DataFrame, forecasts: pd.DataFrame, hours) -> tuple[float, int]:
    """(best seconds, anomalies found)."""
    best, found = float("inf"), 0
    for _ in range(REPEATS):
        began = time.perf_counter()
        found = len(short_anomalies(minutely, forecasts, hours=hours))
        best = min(best, time.perf_counter() - began)
    return best, found


def main() -> int:
    minutely = minutely_frame(ENDPOINTS, CONTEXT_HOURS + HOURS)
    day = pd.date_range(START + pd.Timedelta(hours=CONTEXT_HOURS), periods=HOURS, freq="h")
    forecasts = forecast_frame(minutely, day)
    print(
        f"\nshort episodes: {ENDPOINTS} endpoints x 3 metrics, {len(minutely):,} minute rows, "
        f"best of {REPEATS}; target {TARGET_MS:g} ms per series-hour"
    )
    slow = []
    for label, hours in (("backfill, 24 hours", day), ("hourly run, 1 hour", day[-1:])):
        last = hours[-1] + pd.Timedelta(hours=1)
        first = hours[0] - pd.Timedelta(hours=CONTEXT_HOURS)
        window = minutely[(minutely["minute_start"] >= first) & (minutely["minute_start"] < last)]
        seconds, found = best_seconds(window, forecasts[forecasts["hour_start"].isin(hours)], hours)
        per = seconds * 1000 / (ENDPOINTS * len(hours))
        print(
            f"  {label:<20} {seconds:7.3f} s  {per:6.3f} ms per series-hour  "
            f"({per / TARGET_MS:.2f}x the target; {found} short anomalies)"
        )
        if per > TARGET_MS:
            slow.append(label)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
