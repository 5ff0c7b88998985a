"""Deterministic synthetic API request logs with labelled incidents, and their rendering as
hourly CSV landing files. Owns the realism model (cycles, latency, errors, users) only."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EVENT_COLUMNS = [
    "timestamp",
    "endpoint",
    "response_time_ms",
    "status_code",
    "user_id",
    "service",
    "region",
]
LABEL_COLUMNS = ["endpoint", "metric", "start", "end", "kind"]

# Each kind: the metric a detector should flag and the (min, max) duration in hours.
INCIDENT_KINDS: dict[str, tuple[str, int, int]] = {
    "latency_spike": ("latency_p95_ms", 1, 3),
    "error_burst": ("error_rate", 1, 3),
    "traffic_drop": ("requests", 2, 4),
    "outage": ("requests", 1, 3),
    "latency_drift": ("latency_p95_ms", 6, 12),  # latency creeps up to its peak, then recovers
    "peak_spike": ("requests", 1, 3),  # extra load on top of the daily peak
    # every request of one region's users fails with status 503 (CULPRIT_REGION)
    "regional_errors": ("error_rate", 1, 3),
}
CULPRIT_REGION = "eu-west-1"
CULPRIT_STATUS = 503
"""What a `regional_errors` incident changes: requests of users in this region answered with
this status (the values an attribution should name)."""
DEFAULT_KINDS = ("latency_spike", "error_burst", "traffic_drop", "outage")
"""The kinds `synthetic_requests` injects unless told otherwise (the demo's)."""
SHORT_KINDS: dict[str, float] = {
    "short_outage": 0.0,  # no request of the endpoint arrives
    "short_spike": 3.0,  # three times its traffic
}
"""Minute-grain episodes and their traffic factor: SHORT_MINUTES long at a random minute of a
busy hour (so one may run into the next hour), metric `requests`. Injected only when asked for
in `kinds`; they are scheduled from a random stream of their own, so the hour-level incidents
and the hourly request counts are those of the same seed without them."""
SHORT_MINUTES = (5, 15)
SHORT_SPACING_HOURS = 48
"""One short episode per endpoint in each stretch of this many hours, at least a day apart
(a second episode within a day of the first is routine for the short detector by design)."""
SHORT_LABEL_COLUMNS = ["episode_start", "episode_end"]
"""The labels' extra columns when short kinds were asked for: the episode's first minute and
the end of its last (NaT for the hour-level kinds); `start` and `end` stay hour-aligned (the
hours the episode touches)."""

MAX_ENDPOINTS = 50
FIRST_INCIDENT_DAY = 2

# (path, service, success profile). Ordered so that small K already spans several services.
_CATALOGUE: list[tuple[str, str, str]] = [
    ("/api/v1/orders", "checkout", "create"),
    ("/api/v1/search", "search", "read"),
    ("/api/v1/products", "catalog", "read"),
    ("/api/v1/auth/login", "auth", "mixed"),
    ("/api/v1/payments", "payments", "create"),
    ("/api/v1/users/me", "users", "read"),
    ("/api/v1/cart", "checkout", "update"),
    ("/api/v1/search/suggest", "search", "read"),
    ("/api/v1/categories", "catalog", "read"),
    ("/api/v1/auth/refresh", "auth", "mixed"),
    ("/api/v1/payments/refunds", "payments", "create"),
    ("/api/v1/users/preferences", "users", "update"),
    ("/api/v1/checkout", "checkout", "create"),
    ("/api/v1/inventory", "catalog", "read"),
    ("/api/v1/recommendations", "search", "read"),
    ("/api/v1/auth/logout", "auth", "update"),
    ("/api/v1/payments/methods", "payments", "read"),
    ("/api/v1/users/addresses", "users", "mixed"),
    ("/api/v1/orders/history", "checkout", "read"),
    ("/api/v1/products/reviews", "catalog", "mixed"),
    ("/api/v1/shipping/rates", "shipping", "read"),
    ("/api/v1/shipping/track", "shipping", "read"),
    ("/api/v1/notifications", "notifications", "read"),
    ("/api/v1/notifications/read", "notifications", "update"),
    ("/api/v1/cart/items", "checkout", "create"),
]

# Cumulative P(200), P(200 or 201); the rest is 204.
_SUCCESS_CUM: dict[str, tuple[float, float]] = {
    "read": (0.99, 0.99),
    "create": (0.15, 0.97),
    "update": (0.70, 0.70),
    "mixed": (0.80, 0.95),
}
_CLIENT_CODES = np.array([400, 401, 404, 429])
_CLIENT_CUM = np.cumsum([0.30, 0.20, 0.35, 0.15])
_SERVER_CODES = np.array([500, 502, 503, 504])
_SERVER_CUM = np.cumsum([0.45, 0.15, 0.30, 0.10])

_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]
_REGION_SHARE = [0.5, 0.3, 0.2]
_USERS = 20_000

_HOUR_US = 3_600_000_000
_ONE_DIGIT = pa.array([str(i) for i in range(10)])
_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)])
_THREE_DIGITS = pa.array([f"{i:03d}" for i in range(1000)])

_NIGHT_FLOOR = 0.2  # share of peak traffic at the quietest hour
_TROUGH_HOUR = 3.0  # UTC; the peak is 12 h later
_WEEKEND_FACTOR = 0.65
_BUSY = 0.7  # incidents go where the daily curve is at least this high, when they fit there


@dataclass(frozen=True)
class _Incident:
    endpoint: int
    kind: str
    start_hour: int  # hours since `start`
    hours: int
    magnitude: float  # latency factor, 5xx share or traffic factor, depending on kind
    start_minute: int = 0  # a short episode's first minute, in minutes since `start`
    minutes: int = 0  # a short episode's length


def _schedule_short(
    rng: np.random.Generator,
    days: int,
    endpoints: int,
    kinds: list[str],
    phase: np.ndarray,
    taken: list[_Incident],
) -> list[_Incident]:
    """One short episode per endpoint in each SHORT_SPACING_HOURS stretch from
    FIRST_INCIDENT_DAY on, in a busy hour of its own daily curve, at least 26 hours after its
    previous one and 2 hours clear of its hour-level incidents."""
    first, last = FIRST_INCIDENT_DAY * 24, days * 24
    found = []
    for endpoint in range(endpoints):
        blocked = set()
        for i in taken:
            if i.endpoint == endpoint:
                blocked.update(range(i.start_hour - 2, i.start_hour + i.hours + 2))
        previous = None
        for lo in range(first, last, SHORT_SPACING_HOURS):
            hi = min(lo + SHORT_SPACING_HOURS, last - 1)  # the episode may run into hour + 1
            hours = np.arange(lo, hi)
            busy = _daily_shape((hours % 24) + 0.5 - phase[endpoint]) >= _BUSY
            free = np.array([h not in blocked and h + 1 not in blocked for h in hours], bool)
            spaced = hours >= (previous + 26 if previous is not None else 0)
            candidates = hours[busy & free & spaced] if len(hours) else hours
            if not len(candidates):
                continue
            hour = int(rng.choice(candidates))
            minutes = int(rng.integers(SHORT_MINUTES[0], SHORT_MINUTES[1] + 1))
            offset = int(rng.integers(0, 60))
            kind = kinds[int(rng.integers(0, len(kinds)))]
            touched = (offset + minutes - 1) // 60 + 1
            found.append(
                _Incident(
                    endpoint, kind, hour, touched, SHORT_KINDS[kind], hour * 60 + offset, minutes
                )
            )
            previous = hour
    return found


def _endpoint_names(endpoints: int) -> list[tuple[str, str, str]]:
    """The first `endpoints` catalogue entries, then the same paths under later API versions."""
    out = []
    for i in range(endpoints):
        path, service, profile = _CATALOGUE[i % len(_CATALOGUE)]
        version = 1 + i // len(_CATALOGUE)
        out.append((path.replace("/v1/", f"/v{version}/", 1), service, profile))
    return out


def endpoint_services(endpoints: int) -> dict[str, str]:
    """The service of each of the first `endpoints` endpoints `synthetic_requests` writes."""
    return {path: service for path, service, _ in _endpoint_names(endpoints)}


def _daily_shape(hour_of_day: np.ndarray) -> np.ndarray:
    """Smooth 0..1 day curve: _NIGHT_FLOOR at _TROUGH_HOUR, 1 twelve hours later."""
    wave = 0.5 - 0.5 * np.cos(2 * np.pi * (hour_of_day - _TROUGH_HOUR) / 24)
    return _NIGHT_FLOOR + (1 - _NIGHT_FLOOR) * wave


def _incident_endpoint_cap(endpoints: int) -> int:
    # Leave endpoints without incidents so a detector's false positive rate can be measured.
    return max(1, min(math.ceil(endpoints * 0.6), endpoints - 1))


def _schedule_incidents(
    rng: np.random.Generator,
    days: int,
    endpoints: int,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    peak_rate: np.ndarray | None = None,
) -> list[_Incident]:
    """One incident per ~2 days (at least one of each kind), none before FIRST_INCIDENT_DAY,
    never two at once on one endpoint. A `regional_errors` incident goes to the busiest of the
    endpoints with incidents (by `peak_rate`): a region's share of a quiet endpoint's hour is
    a handful of requests."""
    if days <= FIRST_INCIDENT_DAY:
        return []
    kinds = list(kinds)
    count = max(len(kinds), round(days / 2))
    affected = rng.choice(
        endpoints, size=min(count, _incident_endpoint_cap(endpoints)), replace=False
    )
    plan = [(int(affected[i % len(affected)]), kinds[i % len(kinds)]) for i in range(count)]
    if peak_rate is not None and "regional_errors" in kinds:
        busiest = int(affected[np.argmax(peak_rate[affected])])
        for i, (endpoint, kind) in enumerate(plan):
            if kind == "regional_errors" and endpoint != busiest:
                j = next(j for j, (e, _) in enumerate(plan) if e == busiest)
                plan[i], plan[j] = (endpoint, plan[j][1]), (busiest, kind)

    first, last = FIRST_INCIDENT_DAY * 24, days * 24
    incidents = []
    for endpoint in sorted({e for e, _ in plan}):
        own = [kind for e, kind in plan if e == endpoint]
        own = [own[j] for j in rng.permutation(len(own))]
        # Disjoint time segments per endpoint make overlaps impossible; each is >= 6 h long
        # because count <= max(4, days / 2).
        width = (last - first) / len(own)
        for j, kind in enumerate(own):
            lo, hi = first + math.floor(j * width), first + math.floor((j + 1) * width)
            _, shortest, longest = INCIDENT_KINDS[kind]
            hours = int(rng.integers(min(shortest, hi - lo), min(longest, hi - lo) + 1))
            starts = np.arange(lo, hi - hours + 1)
            # Busy hours make every kind measurable: a traffic drop at 3 am is lost in the noise.
            busy = _daily_shape((starts[:, None] + np.arange(hours) + 0.5) % 24).mean(axis=1)
            # A peak spike sits on the busiest hours of the day.
            floor = 0.9 if kind == "peak_spike" else _BUSY
            start_hour = int(rng.choice(starts[busy >= min(floor, busy.max())]))
            magnitudes = {
                "latency_spike": rng.uniform(3.0, 6.0),
                "error_burst": rng.uniform(0.2, 0.5),
                "traffic_drop": rng.uniform(0.1, 0.3),
                "outage": 0.0,
                "latency_drift": rng.uniform(2.5, 4.0),  # the factor reached at the end
                "peak_spike": rng.uniform(2.5, 4.0),
            }
            # a regional outage uses no magnitude: it takes the error burst's draw, so that
            # every kind makes the same draws
            magnitude = magnitudes["error_burst" if kind == "regional_errors" else kind]
            incidents.append(_Incident(endpoint, kind, start_hour, hours, float(magnitude)))
    return sorted(incidents, key=lambda i: (i.start_hour, i.endpoint))


def _check_arguments(start: pd.Timestamp, days: int, endpoints: int) -> pd.Timestamp:
    if not isinstance(start, pd.Timestamp) or start.tzinfo is None:
        raise ValueError(f"start must be a tz-aware UTC pd.Timestamp, got {start!r}")
    start = start.tz_convert("UTC")
    if start != start.normalize():
        raise ValueError(f"start must be a UTC midnight, got {start.isoformat()}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not 1 <= endpoints <= MAX_ENDPOINTS:
        raise ValueError(f"endpoints must be between 1 and {MAX_ENDPOINTS}, got {endpoints}")
    return start.as_unit("us")


def synthetic_requests(
    *,
    start: pd.Timestamp,
    days: int,
    endpoints: int,
    seed: int = 7,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    traffic: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (events, labels).

    events: one row per request over the whole UTC days [start, start + days), sorted by
    timestamp, columns EVENT_COLUMNS. labels: one row per injected incident, columns
    LABEL_COLUMNS, hour-aligned with `end` exclusive. `kinds` are the incident kinds to inject
    (see INCIDENT_KINDS), each at least once when the days allow, and any of SHORT_KINDS
    (minute-grain episodes: their labels add SHORT_LABEL_COLUMNS, in the order of `start`
    among the others). `traffic` multiplies every endpoint's request rate (peaks of 40 to 400
    an hour at 1).
    """
    start = _check_arguments(start, days, endpoints)
    unknown = set(kinds) - set(INCIDENT_KINDS) - set(SHORT_KINDS)
    if unknown or not kinds:
        raise ValueError(
            f"kinds must be among {', '.join([*INCIDENT_KINDS, *SHORT_KINDS])}, got {list(kinds)}"
        )
    short_kinds = [k for k in kinds if k in SHORT_KINDS]
    kinds = tuple(k for k in kinds if k in INCIDENT_KINDS)
    rng = np.random.default_rng(seed)
    catalogue = _endpoint_names(endpoints)

    # Profiles are drawn for the full catalogue so endpoint i looks the same whatever K is.
    peak_rate = np.exp(rng.uniform(np.log(40), np.log(400), MAX_ENDPOINTS))[:endpoints] * traffic
    median_ms = np.exp(rng.uniform(np.log(30), np.log(300), MAX_ENDPOINTS))[:endpoints]
    sigma = rng.uniform(0.4, 0.6, MAX_ENDPOINTS)[:endpoints]
    client_share = rng.uniform(0.01, 0.03, MAX_ENDPOINTS)[:endpoints]
    server_share = rng.uniform(0.001, 0.01, MAX_ENDPOINTS)[:endpoints]
    phase = rng.uniform(-1.5, 1.5, MAX_ENDPOINTS)[:endpoints]
    success_cum = np.array([_SUCCESS_CUM[profile] for _, _, profile in catalogue])

    # Zipf-like popularity: heavy repeat users and a long tail; the busiest sends ~2 % of traffic.
    popularity = 1.0 / np.arange(1, _USERS + 1) ** 0.7
    popularity = popularity[rng.permutation(_USERS)]
    popularity /= popularity.sum()
    user_region = rng.choice(len(_REGIONS), size=_USERS, p=_REGION_SHARE)

    incidents = _schedule_incidents(rng, days, endpoints, tuple(kinds), peak_rate) if kinds else []
    # short episodes draw from a stream of their own: without them nothing else changes
    short_rng = np.random.default_rng([seed, 1])
    shorts = (
        _schedule_short(short_rng, days, endpoints, short_kinds, phase, incidents)
        if short_kinds
        else []
    )

    hours = days * 24
    hour = np.arange(hours)
    weekday = (start.day_of_week + hour // 24) % 7
    weekly = np.where(weekday >= 5, _WEEKEND_FACTOR, 1.0)
    hour_of_day = (hour % 24)[:, None] + 0.5 - phase[None, :]
    rate = peak_rate[None, :] * _daily_shape(hour_of_day) * weekly[:, None]

    latency_factor = np.ones((hours, endpoints))
    server_cell = np.broadcast_to(server_share, (hours, endpoints)).copy()
    for incident in incidents:
        cells = (
            slice(incident.start_hour, incident.start_hour + incident.hours),
            incident.endpoint,
        )
        if incident.kind == "latency_spike":
            latency_factor[cells] = incident.magnitude
        elif incident.kind == "latency_drift":
            latency_factor[cells] = np.linspace(1.0, incident.magnitude, incident.hours + 1)[1:]
        elif incident.kind == "error_burst":
            server_cell[cells] = incident.magnitude
        elif incident.kind != "regional_errors":  # set after the users' regions are drawn
            rate[cells] *= incident.magnitude

    counts = rng.poisson(rate).ravel()
    cell = np.repeat(np.arange(hours * endpoints), counts)
    extra_cell, extra_offset = _short_spike_requests(short_rng, shorts, rate, endpoints)
    cell = np.concatenate([cell, extra_cell])
    row_hour, row_endpoint = np.divmod(cell, endpoints)
    n = len(cell)

    offset_ms = rng.integers(0, 3_600_000, n)
    offset_ms[n - len(extra_offset) :] = extra_offset
    micros = start.value // 1_000 + row_hour * _HOUR_US + offset_ms * 1_000
    latency = median_ms[row_endpoint] * np.exp(sigma[row_endpoint] * rng.standard_normal(n))
    latency = np.maximum(np.round(latency * latency_factor.ravel()[cell], 1), 0.1)

    u, v = rng.random(n), rng.random(n)
    p_server = server_cell.ravel()[cell]
    p_client = client_share[row_endpoint]
    success = np.where(
        v < success_cum[row_endpoint, 0], 200, np.where(v < success_cum[row_endpoint, 1], 201, 204)
    )
    status = np.where(
        u < p_server,
        _SERVER_CODES[np.searchsorted(_SERVER_CUM, v, side="right").clip(max=3)],
        np.where(
            u < p_server + p_client,
            _CLIENT_CODES[np.searchsorted(_CLIENT_CUM, v, side="right").clip(max=3)],
            success,
        ),
    )
    user = rng.choice(_USERS, size=n, p=popularity)
    _regional_errors(status, row_hour, row_endpoint, user_region[user], incidents)

    order = np.argsort(micros, kind="stable")
    if shorts:
        order = order[~_in_short_outage(shorts, micros, row_endpoint, start)[order]]
    endpoint_order = row_endpoint[order]
    user_order = user[order]
    events = pd.DataFrame(
        {
            "timestamp": pd.Series(micros[order].astype("datetime64[us]")).dt.tz_localize("UTC"),
            "endpoint": _strings([path for path, _, _ in catalogue], endpoint_order),
            "response_time_ms": latency[order],
            "status_code": status[order].astype("int64"),
            "user_id": _strings([f"u{i:06d}" for i in range(1, _USERS + 1)], user_order),
            "service": _strings([service for _, service, _ in catalogue], endpoint_order),
            "region": _strings(list(_REGIONS), user_region[user_order]),
        },
        columns=EVENT_COLUMNS,
    )
    everything = sorted(incidents + shorts, key=lambda i: (i.start_hour, i.endpoint))
    labels = _labels(everything, start, [path for path, _, _ in catalogue])
    if short_kinds:
        labels = _with_episode_minutes(labels, everything, start)
    return events, labels


def _short_spike_requests(
    rng: np.random.Generator, shorts: list[_Incident], rate: np.ndarray, endpoints: int
) -> tuple[np.ndarray, np.ndarray]:
    """The requests a short spike adds: per minute of the episode, Poisson at its hour's rate a
    minute times (factor - 1). Returns their (hour * endpoints + endpoint) cells and
    millisecond offsets in the hour."""
    cells, offsets = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for episode in shorts:
        if episode.magnitude <= 1:
            continue
        minute = episode.start_minute + np.arange(episode.minutes)
        hour = minute // 60
        count = rng.poisson(rate[hour, episode.endpoint] / 60 * (episode.magnitude - 1))
        minute = np.repeat(minute, count)
        cells.append(minute // 60 * endpoints + episode.endpoint)
        offsets.append((minute % 60) * 60_000 + rng.integers(0, 60_000, len(minute)))
    return np.concatenate(cells), np.concatenate(offsets)


def _in_short_outage(
    shorts: list[_Incident], micros: np.ndarray, row_endpoint: np.ndarray, start: pd.Timestamp
) -> np.ndarray:
    """Which requests fall in a short outage of their endpoint (they never arrive)."""
    out = np.zeros(len(micros), dtype=bool)
    for episode in shorts:
        if episode.magnitude != 0:
            continue
        first = start.value // 1_000 + episode.start_minute * 60_000_000
        last = first + episode.minutes * 60_000_000
        out |= (row_endpoint == episode.endpoint) & (micros >= first) & (micros < last)
    return out


def _with_episode_minutes(
    labels: pd.DataFrame, incidents: list[_Incident], start: pd.Timestamp
) -> pd.DataFrame:
    minute = pd.Timedelta(minutes=1)
    begin = [start + i.start_minute * minute if i.minutes else pd.NaT for i in incidents]
    end = [
        start + (i.start_minute + i.minutes) * minute if i.minutes else pd.NaT for i in incidents
    ]
    return labels.assign(
        episode_start=pd.DatetimeIndex(begin, dtype="datetime64[us, UTC]"),
        episode_end=pd.DatetimeIndex(end, dtype="datetime64[us, UTC]"),
    )


def _regional_errors(
    status: np.ndarray,
    row_hour: np.ndarray,
    row_endpoint: np.ndarray,
    row_region: np.ndarray,
    incidents: list[_Incident],
) -> None:
    """Answers every request of CULPRIT_REGION's users during each `regional_errors`
    incident with CULPRIT_STATUS (a regional outage; the region holds 30 % of the users), in
    place. It draws nothing, so the other kinds' requests are the same with or without one."""
    culprit = _REGIONS.index(CULPRIT_REGION)
    for incident in (i for i in incidents if i.kind == "regional_errors"):
        rows = np.flatnonzero(
            (row_endpoint == incident.endpoint)
            & (row_hour >= incident.start_hour)
            & (row_hour < incident.start_hour + incident.hours)
            & (row_region == culprit)
        )
        status[rows] = CULPRIT_STATUS


def _strings(values: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    # Taking from a small str array is ~10x faster than converting a large numpy str array.
    return pd.array(values, dtype="str").take(codes)


def _labels(incidents: list[_Incident], start: pd.Timestamp, names: list[str]) -> pd.DataFrame:
    hour = pd.Timedelta(hours=1)
    starts = [start + i.start_hour * hour for i in incidents]
    ends = [start + (i.start_hour + i.hours) * hour for i in incidents]
    return pd.DataFrame(
        {
            "endpoint": pd.array([names[i.endpoint] for i in incidents], dtype="str"),
            "metric": pd.array(
                [
                    INCIDENT_KINDS[i.kind][0] if i.kind in INCIDENT_KINDS else "requests"
                    for i in incidents
                ],
                dtype="str",
            ),  # fmt: skip
            "start": pd.DatetimeIndex(starts, dtype="datetime64[us, UTC]"),
            "end": pd.DatetimeIndex(ends, dtype="datetime64[us, UTC]"),
            "kind": pd.array([i.kind for i in incidents], dtype="str"),
        },
        columns=LABEL_COLUMNS,
    )


def hourly_csv_files(events: pd.DataFrame) -> Iterator[tuple[pd.Timestamp, bytes]]:
    """Renders events as one CSV file per UTC hour (as a log shipper writes them): yields
    (hour_start, csv bytes) in hour order. Hours without events produce no file.

    Timestamps are rendered with millisecond precision, latency with one decimal. Expects what
    synthetic_requests produces: non-negative latencies and text that never needs CSV quoting.
    """
    events = events.sort_values("timestamp", kind="stable")
    micros = (
        events["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    )
    hour, micros_in_hour = np.divmod(micros.astype(np.int64), _HOUR_US)
    hours, hour_code, rows_per_hour = np.unique(hour, return_inverse=True, return_counts=True)
    hour_starts = hours.astype("datetime64[h]")

    # pandas' to_csv and strftime take ~5 s for 14 days x 50 endpoints; assembling lines from
    # lookup tables with Arrow kernels takes well under one.
    ms = micros_in_hour // 1_000
    timestamp = pc.binary_join_element_wise(
        pa.array([f"{h}:" for h in np.datetime_as_string(hour_starts)]).take(hour_code),
        _TWO_DIGITS.take(ms // 60_000),
        ":",
        _TWO_DIGITS.take(ms // 1_000 % 60),
        ".",
        _THREE_DIGITS.take(ms % 1_000),
        "Z",
        "",
    )
    tenths = np.round(events["response_time_ms"].to_numpy(dtype=float) * 10).astype(np.int64)
    latency = pc.binary_join_element_wise(
        pa.array(tenths // 10).cast(pa.string()), _ONE_DIGIT.take(tenths % 10), "."
    )
    line = pc.binary_join_element_wise(
        timestamp,
        pa.array(events["endpoint"], type=pa.string()),
        latency,
        pa.array(events["status_code"].to_numpy(dtype=np.int64)).cast(pa.string()),
        pa.array(events["user_id"], type=pa.string()),
        pa.array(events["service"], type=pa.string()),
        pa.array(events["region"], type=pa.string()),
        ",",
    )
    offsets = pa.array(np.concatenate([[0], np.cumsum(rows_per_hour)]), type=pa.int32())
    terminated = pc.binary_join_element_wise(line, "", "\n")  # line + "\n" + ""
    bodies = pc.binary_join(pa.ListArray.from_arrays(offsets, terminated), "")
    header = (",".join(EVENT_COLUMNS) + "\n").encode()
    for hour_start, body in zip(hour_starts, bodies, strict=True):
        yield (
            pd.Timestamp(hour_start).tz_localize("UTC").as_unit("us"),
            header + body.as_buffer().to_pybytes(),
        )
