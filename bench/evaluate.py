"""`make eval`: how well the detector finds labelled incidents.

Generates 28 days of request logs for 8 endpoints with labelled incidents of six kinds (latency
spike, error burst, traffic drop, slow latency drift, full outage, extra load on the daily
peak), builds `endpoint_hourly` with the warehouse transforms, scores every (endpoint, metric)
series with `transforms.forecast.walk_forward` (each hour only with models trained before it,
refitted daily, as a backfill does), and prints incident-level recall, precision, F1 and the
median detection delay. An alarm is one endpoint's flagged hours (any metric) merged when they
are at most an hour apart; it is true when it overlaps an incident of its endpoint, or the two
hours after one (recovery).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

from transforms.evaluation import alarm_events, incident_matches, incident_scores
from transforms.forecast import walk_forward
from transforms.metrics import hourly_tables
from transforms.synthetic import INCIDENT_KINDS, synthetic_requests

START = pd.Timestamp("2026-10-01", tz="UTC")
TOLERANCE = pd.Timedelta(hours=2)
METRICS = {"requests": "count", "error_rate": "rate", "latency_p95_ms": "log"}
TARGETS = {"recall": 0.9, "precision": 0.8}


def endpoint_hourly(days: int, endpoints: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    events, labels = synthetic_requests(
        start=START, days=days, endpoints=endpoints, seed=seed, kinds=tuple(INCIDENT_KINDS)
    )
    requests = events.rename(columns={"timestamp": "ts", "response_time_ms": "latency_ms"})
    return hourly_tables(requests)["endpoint_hourly"], labels


def scored(hourly: pd.DataFrame, days: int) -> pd.DataFrame:
    """One walk-forward per (service, endpoint, metric); the flagged rows."""
    grid = pd.date_range(START, periods=days * 24, freq="h")
    flagged = []
    for (service, endpoint), own in hourly.groupby(["service", "endpoint"], sort=True):
        wide = own.set_index("hour_start").reindex(grid)
        requests = wide["requests"].fillna(0)
        for metric, kind in METRICS.items():
            values = requests if metric == "requests" else wide[metric]
            series = pd.DataFrame({"ds": grid, "y": values.to_numpy(), "n": requests.to_numpy()})
            out = walk_forward(series, freq="1h", kind=kind)
            hits = out[out["is_anomaly"]]
            flagged.append(
                pd.DataFrame(
                    {
                        "service": service,
                        "endpoint": endpoint,
                        "hour_start": hits["ds"].to_numpy(),
                        "metric": metric,
                        "score": hits["score"].to_numpy(),
                    }
                )
            )
    frame = pd.concat(flagged, ignore_index=True)
    frame["hour_start"] = pd.to_datetime(frame["hour_start"], utc=True)
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate", description=__doc__)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--endpoints", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    began = time.perf_counter()
    hourly, labels = endpoint_hourly(args.days, args.endpoints, args.seed)
    anomalies = scored(hourly, args.days)
    scores = incident_scores(anomalies, labels, tolerance=TOLERANCE)
    matches = incident_matches(anomalies, labels, tolerance=TOLERANCE)
    seconds = time.perf_counter() - began
    series = hourly[["service", "endpoint"]].drop_duplicates().shape[0] * len(METRICS)
    print(
        f"evaluation: {args.days} days, {args.endpoints} endpoints, {series} series, "
        f"{len(labels)} labelled incidents (seed {args.seed}); {seconds:.0f} s"
    )
    print("\nper kind")
    per_kind = matches.groupby("kind").agg(
        incidents=("detected", "size"),
        detected=("detected", "sum"),
        median_delay_h=("delay_hours", "median"),
    )
    print(per_kind.to_string())
    print("\nincident-level")
    print(f"recall     {scores['recall']:.2f}  ({scores['detected']} of {scores['incidents']})")
    print(
        f"precision  {scores['precision']:.2f}  "
        f"({scores['true_alarms']} of {scores['alarms']} alarms)"
    )
    print(f"F1         {scores['f1']:.2f}")
    print(f"median detection delay  {scores['median_delay_hours']:.1f} h")
    false_alarms = alarm_events(anomalies)
    if scores["alarms"] > scores["true_alarms"]:
        print("\nalarms outside every incident window")
        for alarm in false_alarms.itertuples(index=False):
            own = labels[labels["endpoint"] == alarm.endpoint]
            if not ((alarm.start < own["end"] + TOLERANCE) & (alarm.end > own["start"])).any():
                print(f"  {alarm.endpoint}  {alarm.start:%Y-%m-%d %H}:00  {alarm.hours} h")
    missed = matches[~matches["detected"]]
    if len(missed):
        print("\nmissed incidents")
        print(missed[["endpoint", "kind", "start", "end"]].to_string(index=False))
    met = all(scores[name] >= target for name, target in TARGETS.items())
    print(
        "\ntargets: "
        + ", ".join(f"{name} >= {target}" for name, target in TARGETS.items())
        + (" met" if met else " NOT met")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
