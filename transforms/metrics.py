"""Metric tables computed from canonical request events."""

from __future__ import annotations

import pandas as pd

from schemas.metrics import EndpointHourly as EH
from schemas.requests import Request as R

UNKNOWN_SERVICE = "unknown"
PERCENTILES = {EH.latency_p50_ms: 0.50, EH.latency_p95_ms: 0.95, EH.latency_p99_ms: 0.99}


def endpoint_hourly(requests: pd.DataFrame, *, slow_threshold_ms: float = 1000.0) -> pd.DataFrame:
    """One row per (hour_start, service, endpoint) with at least one request (an event with
    an endpoint; service-log events without one are not requests).

    `error_rate` counts status >= 400 over all requests; percentiles interpolate linearly
    between order statistics (DuckDB `quantile_cont`) over requests that logged a latency;
    `slow_rate` is the share of those slower than `slow_threshold_ms` (strictly greater).
    """
    columns = list(EH.to_schema().columns)
    requests = requests[requests[R.endpoint].notna()]  # service-log events are not requests
    if requests.empty:
        return EH.validate(pd.DataFrame({c: [] for c in columns}))
    frame = pd.DataFrame(
        {
            EH.hour_start: requests[R.ts].dt.floor("h"),
            EH.service: requests[R.service].fillna(UNKNOWN_SERVICE),
            EH.endpoint: requests[R.endpoint],
            "is_error": (requests[R.status_code].fillna(0) >= 400).astype("int64"),
            "latency": requests[R.latency_ms],
            "is_slow": (requests[R.latency_ms] > slow_threshold_ms).astype("float64"),
        }
    )
    frame["is_slow"] = frame["is_slow"].where(frame["latency"].notna())
    keys = [EH.hour_start, EH.service, EH.endpoint]
    groups = frame.groupby(keys, sort=True, observed=True)
    out = groups.agg(
        requests=("is_error", "size"),
        errors=("is_error", "sum"),
        slow_rate=("is_slow", "mean"),
    )
    out[EH.error_rate] = out["errors"] / out["requests"]
    quantiles = groups["latency"].quantile(list(PERCENTILES.values())).unstack()
    for column, q in PERCENTILES.items():
        out[column] = quantiles[q]
    out = out.reset_index()[columns]
    return EH.validate(out)
