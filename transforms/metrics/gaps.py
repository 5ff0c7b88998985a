"""Availability gaps: stretches of whole minutes in which an endpoint that normally has
traffic served no request."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.metrics import AvailabilityGap, EndpointMinutely
from transforms.metrics.events import US_PER_MINUTE, empty, finish


def availability_gaps(
    endpoint_minutely: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    horizon: pd.Timestamp,
    min_minutes: int = 3,
    min_expected: float = 10.0,
    reference_minutes: int = 60,
) -> pd.DataFrame:
    """Stretches of whole minutes without a request, starting in [start, end), for endpoints
    whose rate over the `reference_minutes` before the stretch predicts at least
    `min_expected` requests over it (and which last `min_minutes` or more).

    `endpoint_minutely` must cover [start - reference_minutes, horizon) or as much of it as
    exists; minutes at or after `horizon` (the end of the newest data) are not judged, and a
    stretch reaching it is `ongoing`."""
    if endpoint_minutely.empty:
        return empty(AvailabilityGap)
    first = pd.Timestamp(start) - pd.Timedelta(minutes=reference_minutes)
    first_minute = first.value // 1000 // US_PER_MINUTE
    end_minute = pd.Timestamp(horizon).value // 1000 // US_PER_MINUTE
    begin_minute = pd.Timestamp(start).value // 1000 // US_PER_MINUTE
    stop_minute = pd.Timestamp(end).value // 1000 // US_PER_MINUTE
    data = endpoint_minutely
    minute = (
        data[EndpointMinutely.minute_start].to_numpy("datetime64[us]").astype(np.int64)
        // US_PER_MINUTE
    )
    inside = (minute >= first_minute) & (minute < end_minute)
    data, minute = data[inside], minute[inside]
    observed_from = int(minute.min()) if len(minute) else end_minute
    rows = []
    width = end_minute - first_minute
    for (service, endpoint), part in data.groupby(
        [EndpointMinutely.service, EndpointMinutely.endpoint], sort=True
    ):
        counts = np.zeros(width, dtype=np.float64)
        counts[minute[data.index.get_indexer(part.index)] - first_minute] = part[
            EndpointMinutely.requests
        ].to_numpy()
        rows += gaps_of(
            counts,
            service,
            endpoint,
            first_minute=first_minute,
            observed_from=observed_from,
            begin_minute=begin_minute,
            stop_minute=stop_minute,
            min_minutes=min_minutes,
            min_expected=min_expected,
            reference_minutes=reference_minutes,
        )
    if not rows:
        return empty(AvailabilityGap)
    return finish(AvailabilityGap, pd.DataFrame(rows))


def gaps_of(
    counts: np.ndarray,
    service: str,
    endpoint: str,
    *,
    first_minute: int,
    observed_from: int,
    begin_minute: int,
    stop_minute: int,
    min_minutes: int,
    min_expected: float,
    reference_minutes: int,
) -> list[dict]:
    silent = counts == 0
    edges = np.diff(np.r_[0, silent.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    cumulative = np.r_[0.0, np.cumsum(counts)]
    rows = []
    for a, b in zip(starts, stops, strict=True):
        gap_start = first_minute + a
        if not begin_minute <= gap_start < stop_minute or b - a < min_minutes:
            continue
        window_start = max(a - reference_minutes, observed_from - first_minute, 0)
        seen = a - window_start
        if seen <= 0:
            continue  # nothing observed before it: the endpoint's normal traffic is unknown
        rate = (cumulative[a] - cumulative[window_start]) / seen
        expected = rate * (b - a)
        if expected < min_expected:
            continue
        rows.append(
            {
                AvailabilityGap.service: service,
                AvailabilityGap.endpoint: endpoint,
                AvailabilityGap.gap_start: pd.Timestamp(
                    gap_start * US_PER_MINUTE, unit="us", tz="UTC"
                ),
                AvailabilityGap.gap_end: pd.Timestamp(
                    (first_minute + b) * US_PER_MINUTE, unit="us", tz="UTC"
                ),
                AvailabilityGap.minutes: int(b - a),
                AvailabilityGap.expected_requests: float(expected),
                AvailabilityGap.ongoing: bool(b == len(counts)),
            }
        )
    return rows
