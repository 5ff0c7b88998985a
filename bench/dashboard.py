"""Dashboard-query benchmark: every query the dashboard runs (`flows/dashboard/queries.py`), on
a 30-day warehouse of 200 endpoints, for the filters that cost most (30 days of everything, a
region over 30 days, a dimension's value, one service's last day), each checked under one
second; beside it, where one exists, the same view computed from the 30 days of `requests`
in the same process (the reference: what the metric, daily and sketch tables save).

The warehouse: `requests` hours from `bench.metrics.requests_hour` (200 endpoints, 3 regions,
error reasons), every hourly metric table built from them by the real transforms, the daily
rollups, and synthetic forecasts, incidents, a configured dimension and service-log tables.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.metrics import requests_hour
from flows.dashboard import queries
from flows.dashboard.app import BROKEN_DOWN
from flows.dashboard.queries import Filters
from transforms.metrics import endpoint_daily, hourly_tables, traffic_hourly
from warehouse.layout import Layout, date_partition, hour_partition
from warehouse.storage import write_parquet_many

DAYS = int(os.environ.get("LOGCAST_BENCH_DASHBOARD_DAYS", "30"))
ENDPOINTS = 200
PER_HOUR = int(os.environ.get("LOGCAST_BENCH_DASHBOARD_PER_HOUR", "4000"))
REPEATS = int(os.environ.get("LOGCAST_BENCH_REPEATS", "3"))
START = pd.Timestamp("2026-10-01T00:00:00Z")
LIMIT_SECONDS = 1.0
HOURLY = ("endpoint_hourly", "endpoint_minutely", "latency_sketches", "status_hourly",
          "region_hourly", "error_reasons_hourly", "service_hourly")  # fmt: skip
TEMPLATES = 20
SERVICES = [f"svc{i}" for i in range(8)]


def _log_tables(hour: pd.Timestamp, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """An hour of service logs: per minute, each service's events by level and by template."""
    minutes = hour + pd.to_timedelta(np.arange(60), unit="min")
    levels = pd.DataFrame(
        [(m, s, level, int(rng.integers(1, 50)))
         for m in minutes for s in SERVICES for level in ("INFO", "WARNING", "ERROR")],
        columns=["minute_start", "service", "level", "events"],
    )  # fmt: skip
    templates = pd.DataFrame(
        [(m, s, f"{s}-t{t}", "ERROR" if t % 4 == 0 else "INFO", int(rng.integers(1, 9)))
         for m in minutes for s in SERVICES for t in rng.choice(TEMPLATES, 5, replace=False)],
        columns=["minute_start", "service", "template_id", "level", "events"],
    )  # fmt: skip
    return {"log_levels_minutely": levels, "log_templates_minutely": templates}


def _forecasts(endpoint_hourly: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A p95 forecast row per endpoint and for the total `*` of the hour, 1 % anomalous."""
    rows = endpoint_hourly[["hour_start", "service", "endpoint", "latency_p95_ms"]].copy()
    total = rows.groupby("hour_start", as_index=False)["latency_p95_ms"].max()
    rows = pd.concat([rows, total.assign(service="*", endpoint="*")], ignore_index=True)
    actual = rows["latency_p95_ms"].fillna(0)
    return pd.DataFrame(
        {
            "hour_start": rows["hour_start"], "service": rows["service"],
            "endpoint": rows["endpoint"], "metric": "latency_p95_ms", "actual": actual,
            "yhat": actual * 0.95, "yhat_lower": actual * 0.5, "yhat_upper": actual * 1.5,
            "score": 0.0, "surprise": 0.0, "is_anomaly": rng.random(len(rows)) < 0.01,
            "method": "baseline",
        }
    )  # fmt: skip


def _dimension(endpoint_hourly: pd.DataFrame) -> pd.DataFrame:
    """A configured dimension `tier`: two thirds of each endpoint's hour `free`, the rest
    `paid`."""
    base = endpoint_hourly[["hour_start", "service", "endpoint", "requests", "error_rate",
                            "latency_p95_ms"]]  # fmt: skip
    free = base.assign(dimension="tier", value="free", requests=(base["requests"] * 2 + 2) // 3)
    paid = base.assign(dimension="tier", value="paid", requests=base["requests"] - free["requests"])
    frame = pd.concat([free, paid], ignore_index=True)
    return frame[frame["requests"] > 0]


def build_warehouse(root: Path) -> None:
    """The warehouse of the module docstring (setup, not timed)."""
    layout = Layout(root)
    rng = np.random.default_rng(17)
    incidents, templates = [], []
    for day_index in range(DAYS):
        day = START + pd.Timedelta(days=day_index)
        hourly, sketches, files = [], [], []
        for hour_index in range(24):
            hour = day + pd.Timedelta(hours=hour_index)
            requests = requests_hour(PER_HOUR, hour, seed=day_index * 24 + hour_index,
                                     endpoints=ENDPOINTS)  # fmt: skip
            tables = hourly_tables(requests, validate=False)
            partition = hour_partition(hour)
            tables["forecasts"] = _forecasts(tables["endpoint_hourly"], rng)
            tables["dimension_hourly"] = _dimension(tables["endpoint_hourly"])
            tables |= _log_tables(hour, rng)
            files.append((requests, layout.part_file("requests", partition)))
            for name in (*HOURLY, "forecasts", "dimension_hourly", "log_levels_minutely",
                         "log_templates_minutely"):  # fmt: skip
                files.append((tables[name], layout.part_file(name, partition)))
            hourly.append(tables["endpoint_hourly"])
            sketches.append(tables["latency_sketches"])
        daily = endpoint_daily(pd.concat(hourly), pd.concat(sketches))
        partition = date_partition(day)
        files.append((daily, layout.part_file("endpoint_daily", partition)))
        files.append((traffic_hourly(pd.concat(hourly)), layout.part_file("traffic_hourly", partition)))  # fmt: skip
        busiest = daily.sort_values("requests").iloc[-1]
        incident = pd.DataFrame(
            [{
                "incident_id": f"{day_index:016x}", "service": busiest["service"],
                "endpoint": busiest["endpoint"], "start": day + pd.Timedelta(hours=10),
                "end": day + pd.Timedelta(hours=12), "hours": 2, "peak_severity": "high",
                "max_score": 0.9, "metrics": "latency_p95_ms",
                "probable_cause": "latency_p95_ms 3x forecast", "status": "resolved",
                "resolved_at": day + pd.Timedelta(hours=13),
            }]
        )  # fmt: skip
        incidents.append(incident)
        files.append((incident, layout.part_file("incidents", partition)))
        write_parquet_many([(pd_or_table, path) for pd_or_table, path in files])
    for service in SERVICES:
        for t in range(TEMPLATES):
            templates.append({
                "service": service, "template_id": f"{service}-t{t}",
                "template": f"{service} step {t} failed after <NUM> ms", "first_seen": START,
                "last_seen": START, "events": 1, "examples": "[]",
            })  # fmt: skip
    write_parquet_many(
        [(pd.DataFrame(templates), layout.part_file("log_templates", date_partition(START)))]
    )


def _timed(run) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(REPEATS):
        began = time.perf_counter()
        frame, _ = run()
        times.append(time.perf_counter() - began)
        rows = len(frame)
    return min(times), rows


def _reference(root: Path, filters: Filters) -> dict[str, str]:
    """The same views from the raw `requests` of the range (exact percentiles)."""
    where = queries.where_sql(filters, "ts")
    return {
        "traffic": f"""SELECT date_trunc('hour', ts) AS hour_start, count(*) AS requests,
  count(*) FILTER (WHERE status_code >= 400) AS errors
FROM requests {where} AND endpoint IS NOT NULL GROUP BY 1 ORDER BY 1""",
        "range_percentiles": f"""SELECT quantile_cont(latency_ms, [0.5, 0.95, 0.99])
FROM requests {where} AND endpoint IS NOT NULL""",
        "percentiles": f"""SELECT date_trunc('hour', ts) AS hour_start,
  quantile_cont(latency_ms, [0.5, 0.95, 0.99]) FROM requests {where}
  AND endpoint IS NOT NULL GROUP BY 1""",
        "status_mix": f"""SELECT status_code, count(*) FROM requests {where}
  AND endpoint IS NOT NULL GROUP BY 1""",
        "regions": f"""SELECT region, count(*) FROM requests {where}
  AND endpoint IS NOT NULL GROUP BY 1""",
        "error_reasons": f"""SELECT error_reason, count(*) FROM requests {where}
  AND error_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10""",
    }


def dashboard_benchmark(root: Path) -> list[str]:
    """Times every query; returns those over the limit."""
    newest = queries.newest_hour(root)
    month = queries.preset_filters(newest, "30d")
    day = queries.preset_filters(newest, "24h")
    cases: list[tuple[str, str, object]] = [
        ("newest_hour", "", lambda: (pd.DataFrame([queries.newest_hour(root)]), "")),
        ("series", "", lambda: queries.series(root)),
        ("breakdowns", "", lambda: queries.breakdowns(root)),
    ]
    filters = {
        "30 d, all": month,
        "30 d, region": Filters(month.start, month.end, region="eu"),
        "30 d, tier=paid": Filters(month.start, month.end, dimension="tier", value="paid"),
        "24 h, svc3": Filters(day.start, day.end, service="svc3"),
        "30 d, 1 endpoint": Filters(month.start, month.end, "svc0", "/api/v1/r0/{id}"),
    }
    views = ("traffic", "daily", "percentiles", "range_percentiles", "latency_band", "peak_hours",
             "status_mix", "regions", "error_reasons", "log_levels", "error_templates",
             "incidents")  # fmt: skip
    for label, chosen in filters.items():
        for view in views:
            if chosen.breakdown and view not in BROKEN_DOWN[chosen.breakdown]:
                continue  # the dashboard shows a sentence instead
            if view == "regions" and chosen.service:
                continue
            cases.append((view, label, lambda v=view, f=chosen: getattr(queries, v)(root, f)))
    incident_id = queries.incidents(root, month)[0]["incident_id"].iloc[0]
    cases += [
        ("incident_window", "an incident", lambda: queries.incident_window(root, incident_id)),
        ("incident_dimensions", "an incident",
         lambda: queries.incident_dimensions(root, incident_id)),
        ("quarantine_reasons", "", lambda: queries.quarantine_reasons(root)),
    ]  # fmt: skip
    references = _reference(root, month)
    print(
        f"\n{'query':<22} {'filter':<18} {'rows':>6} {'seconds':>8} {'requests s':>10} {'ratio':>6}"
    )
    slow = []
    for view, label, run in cases:
        seconds, rows = _timed(run)
        line = f"{view:<22} {label:<18} {rows:6,} {seconds:8.3f}"
        if label == "30 d, all" and view in references:
            reference, _ = _timed(lambda v=view: queries.run_sql(root, references[v]))
            line += f" {reference:10.3f} {seconds / reference:6.2f}"
        print(line + ("" if seconds < LIMIT_SECONDS else "  SLOWER THAN 1 s"))
        if seconds >= LIMIT_SECONDS:
            slow.append(f"{view} ({label})")
    return slow


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="logcast-bench-dashboard-"))
    try:
        began = time.perf_counter()
        build_warehouse(folder)
        print(
            f"\ndashboard queries on a {DAYS}-day warehouse of {ENDPOINTS} endpoints "
            f"({DAYS * 24 * PER_HOUR:,} requests; built in {time.perf_counter() - began:.0f} s); "
            f"best of {REPEATS}, each under {LIMIT_SECONDS:.0f} s; the reference: the same view "
            "from the 30 days of `requests`"
        )
        slow = dashboard_benchmark(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if slow:
        print(f"over {LIMIT_SECONDS:.0f} s: {', '.join(slow)}")
        return 1
    print(f"every dashboard query under {LIMIT_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
