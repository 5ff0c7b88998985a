"""Alert rules beside the learned forecasts: a metric of an endpoint above or below a fixed
threshold for every minute (or hour) of a stretch at least `for` long, as anomalies of kind
`rule` that join incidents and alerts like the rest."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.common import empty_frame
from schemas.forecasts import SEVERITIES, Anomaly
from schemas.metrics import EndpointHourly, EndpointMinutely

A = Anomaly
RULE_KIND = "rule"
METRIC_PREFIX = "rule:"
"""A rule's anomalies have metric `rule:<name>`."""
HOUR = pd.Timedelta(hours=1)
MINUTE = pd.Timedelta(minutes=1)

HOURLY_METRICS = (
    EndpointHourly.requests, EndpointHourly.status_2xx, EndpointHourly.status_3xx,
    EndpointHourly.status_4xx, EndpointHourly.status_5xx, EndpointHourly.error_rate,
    EndpointHourly.server_error_rate, EndpointHourly.timed_requests,
    EndpointHourly.latency_avg_ms, EndpointHourly.latency_p50_ms, EndpointHourly.latency_p90_ms,
    EndpointHourly.latency_p95_ms, EndpointHourly.latency_p99_ms, EndpointHourly.latency_max_ms,
    EndpointHourly.slow_requests, EndpointHourly.slow_rate, EndpointHourly.unique_users,
    EndpointHourly.bytes_sent,
)  # fmt: skip
"""The metrics a rule with `for` of an hour or more reads from `endpoint_hourly`."""
MINUTELY_METRICS = (
    EndpointMinutely.requests,
    EndpointMinutely.errors,
    "error_rate",
    EndpointMinutely.latency_p50_ms,
    EndpointMinutely.latency_p95_ms,
)
"""The metrics a rule with `for` under an hour reads from `endpoint_minutely` (error_rate is
errors / requests there)."""
RULE_KEYS = {"name", "metric", "service", "endpoint", "above", "below", "for", "severity"}
DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?")


class RuleError(ValueError):
    """A rule that cannot be evaluated: one sentence saying what is wrong with it."""


@dataclass(frozen=True)
class Rule:
    """Fires on each endpoint matching `service` and `endpoint` (globs; "*" is every one,
    each judged on its own) whose `metric` stays above `above` (or below `below`) for every
    minute, or hour, of a stretch at least `hold` long."""

    name: str
    metric: str
    threshold: float
    above: bool
    hold: pd.Timedelta
    severity: str = "medium"
    service: str = "*"
    endpoint: str = "*"

    @property
    def minutely(self) -> bool:
        """Judged minute by minute on `endpoint_minutely` (`for` under an hour), else hour by
        hour on `endpoint_hourly`."""
        return self.hold < HOUR

    @property
    def steps(self) -> int:
        """How many consecutive minutes (or hours) the condition must hold."""
        return int(self.hold / (MINUTE if self.minutely else HOUR))

    @property
    def anomaly_metric(self) -> str:
        return f"{METRIC_PREFIX}{self.name}"

    @property
    def comparison(self) -> str:
        return "above" if self.above else "below"


def parse_duration(text: Any) -> pd.Timedelta:
    """`10m`, `2h`, `1h30m` as a duration of whole minutes, at least one."""
    match = DURATION.fullmatch(str(text).strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise RuleError(f"for: expected a duration such as 10m, 2h or 1h30m, got {text!r}")
    hours, minutes = (int(g or 0) for g in match.groups())
    hold = pd.Timedelta(hours=hours, minutes=minutes)
    if hold < MINUTE:
        raise RuleError(f"for: expected at least 1m, got {text!r}")
    return hold


def rule_from(table: Mapping[str, Any]) -> Rule:
    """A rule from its `[[rules]]` table; RuleError names what is wrong."""
    if not isinstance(table, Mapping):
        raise RuleError("expected a table such as { name = ..., metric = ..., above = ... }")
    unknown = sorted(set(table) - RULE_KEYS)
    if unknown:
        raise RuleError(
            f"unknown key '{unknown[0]}'; expected one of {', '.join(sorted(RULE_KEYS))}"
        )
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError("name: expected a non-empty text naming the rule")
    metric = table.get("metric")
    if metric not in HOURLY_METRICS and metric not in MINUTELY_METRICS:
        raise RuleError(
            f"metric: unknown metric {metric!r}; expected one of "
            f"{', '.join(sorted(set(HOURLY_METRICS) | set(MINUTELY_METRICS)))}"
        )
    if ("above" in table) == ("below" in table):
        raise RuleError("expected exactly one of above = NUMBER or below = NUMBER")
    side = "above" if "above" in table else "below"
    threshold = table[side]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise RuleError(f"{side}: expected a number, got {threshold!r}")
    hold = parse_duration(table.get("for", "1m"))
    if hold >= HOUR and hold % HOUR:
        raise RuleError(
            f"for: a duration of an hour or more is judged on endpoint_hourly and must be "
            f"whole hours, got {table['for']!r}"
        )
    if hold >= HOUR and metric not in HOURLY_METRICS:
        raise RuleError(
            f"metric {metric!r} is minutely only (endpoint_hourly has no such column): its "
            "for must be under an hour such as 10m"
        )
    if hold < HOUR and metric not in MINUTELY_METRICS:
        raise RuleError(
            f"metric {metric!r} is hourly only (endpoint_minutely has "
            f"{', '.join(MINUTELY_METRICS)}): its for must be whole hours such as 1h"
        )
    severity = table.get("severity", "medium")
    if severity not in SEVERITIES:
        raise RuleError(f"severity: expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    scope = {}
    for key in ("service", "endpoint"):
        value = table.get(key, "*")
        if not isinstance(value, str) or not value:
            raise RuleError(f'{key}: expected a name or a glob such as "*", got {value!r}')
        scope[key] = value
    return Rule(
        name=name.strip(),
        metric=str(metric),
        threshold=float(threshold),
        above=side == "above",
        hold=hold,
        severity=str(severity),
        **scope,
    )


def _matching(rule: Rule, frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    services = frame["service"].astype(str)
    endpoints = frame["endpoint"].astype(str)
    chosen = np.fromiter(
        (
            fnmatch.fnmatchcase(s, rule.service) and fnmatch.fnmatchcase(e, rule.endpoint)
            for s, e in zip(services, endpoints, strict=True)
        ),
        dtype=bool,
        count=len(frame),
    )
    return frame[chosen]


def rule_steps(rule: Rule, table: pd.DataFrame) -> pd.DataFrame:
    """The steps (minutes of `endpoint_minutely`, or hours of `endpoint_hourly`, as the rule
    reads) of the endpoints it matches, one row per (service, endpoint, time) with `value`,
    `held` (whether the condition holds), `run` (how many consecutive steps up to and including
    this one it has held; a step without a row breaks the stretch) and `firing` (run >= the
    rule's steps, Prometheus' `for`: firing from the moment the condition has held that long).
    Columns: service, endpoint, time, value, held, run, firing."""
    time_column = "minute_start" if rule.minutely else "hour_start"
    step = MINUTE if rule.minutely else HOUR
    columns = ["service", "endpoint", "time", "value", "held", "run", "firing"]
    frame = _matching(rule, table)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    if rule.minutely and rule.metric == "error_rate":
        value = frame[EndpointMinutely.errors] / frame[EndpointMinutely.requests]
    else:
        value = frame[rule.metric]
    steps = pd.DataFrame(
        {
            "service": frame["service"].astype(str).to_numpy(),
            "endpoint": frame["endpoint"].astype(str).to_numpy(),
            "time": pd.to_datetime(frame[time_column], utc=True).to_numpy(),
            "value": pd.to_numeric(value, errors="coerce").astype("float64").to_numpy(),
        }
    )
    steps["time"] = pd.to_datetime(steps["time"], utc=True)
    steps = steps.sort_values(["service", "endpoint", "time"], ignore_index=True)
    held = steps["value"] > rule.threshold if rule.above else steps["value"] < rule.threshold
    steps["held"] = held.fillna(False).astype(bool)
    same_series = (steps["service"] == steps["service"].shift()) & (
        steps["endpoint"] == steps["endpoint"].shift()
    )
    follows = same_series & (steps["time"] - steps["time"].shift() == step)
    # a stretch starts wherever the condition breaks or a step is missing
    starts = ~(steps["held"] & steps["held"].shift(fill_value=False) & follows)
    stretch = starts.cumsum()
    steps["run"] = np.where(steps["held"], steps.groupby(stretch).cumcount() + 1, 0)
    steps["firing"] = steps["run"] >= rule.steps
    return steps[columns]


def rule_anomalies(
    rules: Iterable[Rule],
    minutely: pd.DataFrame,
    hourly: pd.DataFrame,
    *,
    hours: Iterable[pd.Timestamp],
) -> pd.DataFrame:
    """Anomalies of kind `rule` for `hours`: one row per (hour, endpoint, rule) with a step
    firing in the hour. `minutely` and `hourly` must cover `hours` and the longest `for`
    before them, so that an hour's rows depend only on the data up to its end (scoring hour
    by hour gives the backfill's rows). actual is the worst value firing in the hour (the
    highest above, the lowest below), yhat and its bounds the threshold, score 1, surprise 0
    (a rule states no probability), severity the rule's, direction spike (above) or drop."""
    hours = pd.DatetimeIndex(sorted({pd.Timestamp(h) for h in hours}))
    rows = []
    for rule in rules:
        steps = rule_steps(rule, minutely if rule.minutely else hourly)
        firing = steps[steps["firing"]] if len(steps) else steps
        if firing.empty:
            continue
        firing = firing.assign(hour_start=firing["time"].dt.floor("h"))
        firing = firing[firing["hour_start"].isin(hours)]
        worst = "max" if rule.above else "min"
        grouped = firing.groupby(["hour_start", "service", "endpoint"], sort=True)["value"]
        for (hour, service, endpoint), value in grouped.agg(worst).items():
            rows.append(
                {
                    A.hour_start: hour,
                    A.service: service,
                    A.endpoint: endpoint,
                    A.metric: rule.anomaly_metric,
                    A.actual: float(value),
                    A.yhat: rule.threshold,
                    A.yhat_lower: rule.threshold,
                    A.yhat_upper: rule.threshold,
                    A.score: 1.0,
                    A.surprise: 0.0,
                    A.direction: "spike" if rule.above else "drop",
                    A.kind: RULE_KIND,
                    A.severity: rule.severity,
                    A.method: RULE_KIND,
                }
            )
    if not rows:
        return empty_frame(Anomaly)
    frame = pd.DataFrame(rows).sort_values(
        [A.hour_start, A.service, A.endpoint, A.metric], ignore_index=True
    )
    return Anomaly.validate(frame)


def rule_stretches(rule: Rule, table: pd.DataFrame) -> pd.DataFrame:
    """Each stretch of the rule's condition that reached its `for`: service, endpoint, metric
    (`rule:<name>`), start, end (the end of its last step), minutes held, the worst value, and
    the rule's column, side (above: true) and threshold, which the incident's cause names."""
    columns = [
        "service", "endpoint", "metric", "start", "end", "minutes", "worst", "column", "above",
        "threshold",
    ]  # fmt: skip
    steps = rule_steps(rule, table)
    if steps.empty or not steps["firing"].any():
        return pd.DataFrame(columns=columns)
    held = steps[steps["held"]].copy()
    held["stretch"] = (held["run"] == 1).cumsum()
    step = MINUTE if rule.minutely else HOUR
    out = held.groupby("stretch").agg(
        service=("service", "first"),
        endpoint=("endpoint", "first"),
        start=("time", "min"),
        last=("time", "max"),
        longest=("run", "max"),
        worst=("value", "max" if rule.above else "min"),
    )
    out = out[out["longest"] >= rule.steps]
    out["end"] = out["last"] + step
    out["minutes"] = ((out["end"] - out["start"]) / MINUTE).astype(int)
    out["metric"] = rule.anomaly_metric
    out["column"] = rule.metric
    out["above"] = rule.above
    out["threshold"] = rule.threshold
    return out[columns].reset_index(drop=True)


def value_text(metric: str, value: float) -> str:
    """A metric's value as the cause names it: rates as percentages, counts and milliseconds
    with thousands separators."""
    if metric.endswith("_rate"):
        return f"{value:.1%}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def duration_text(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if rest == 0 else f"{hours} h {rest} min"


def rule_cause(
    name: str,
    metric: str | None,
    above: bool,
    threshold: float,
    worst: float,
    minutes: int | None,
) -> str:
    """`rule 'checkout p95': latency_p95_ms 1,240 above 800 for 25 min`; without the rule's
    metric (a rule since removed) or how long it held, what the anomalies say."""
    side = "above" if above else "below"
    shown = metric or "value"
    text = (
        f"rule '{name}': {shown} {value_text(shown, worst)} {side} {value_text(shown, threshold)}"
    )
    return text if minutes is None else f"{text} for {duration_text(minutes)}"
