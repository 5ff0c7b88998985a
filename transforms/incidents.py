"""Incidents: anomalies of one endpoint merged across hours and metrics, with a probable cause
built from the data (how far each metric was from its forecast, which status code grew, the
top error reason, which log templates left their forecast or are new)."""

from __future__ import annotations

import hashlib

import pandas as pd

from schemas.common import empty_frame
from schemas.forecasts import SEVERITIES, Incident
from schemas.forecasts import Anomaly as A
from transforms.forecast import TOTAL
from transforms.log_anomalies import (
    LOG_ENDPOINT,
    LOG_ERRORS,
    count_text,
    counted_template_of,
    pattern_text,
    template_level,
    template_of,
    template_text,
)
from transforms.rules import METRIC_PREFIX as RULE_PREFIX
from transforms.rules import rule_cause

HOUR = pd.Timedelta(hours=1)
BEFORE = pd.Timedelta(hours=24)
"""The hours before an incident its status mix is compared with."""
MIN_SHARE_GROWTH = 0.05
"""A status code is named when its share of requests grew by at least this much."""
MERGE_GAP = HOUR
"""The largest step from one anomalous hour of an incident to the next: an anomalous hour
further from the previous one starts a new incident."""


def incident_id(service: str, endpoint: str, start: pd.Timestamp) -> str:
    """An incident's stable id: the first 16 hex digits of the sha256 of its service,
    endpoint and start (ISO 8601 UTC)."""
    start = pd.Timestamp(start).tz_convert("UTC")
    text = f"{service}\x1f{endpoint}\x1f{start:%Y-%m-%dT%H:%M:%SZ}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_open(end: pd.Timestamp, newest_hour: pd.Timestamp) -> bool:
    """Whether an incident ending at `end` can still grow: the next hour to be scored after
    `newest_hour` would join it."""
    last_hour = end - HOUR
    return (newest_hour + HOUR) - last_hour <= MERGE_GAP


def incidents(
    anomalies: pd.DataFrame,
    status_hourly: pd.DataFrame | None = None,
    error_reasons_hourly: pd.DataFrame | None = None,
    log_templates: pd.DataFrame | None = None,
    log_templates_minutely: pd.DataFrame | None = None,
    *,
    newest_hour: pd.Timestamp | None = None,
    rule_stretches: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per incident. Anomalies of one (service, endpoint) whose hours touch or overlap
    (the next starts at most one hour after the previous ended) are merged, whatever their
    metric; a service's log anomalies (endpoint "(logs)") join its request anomalies of the
    same or adjacent hours (`with_logs_joined`). `status_hourly` and `error_reasons_hourly`
    (covering the incidents and the 24 hours before them) feed the probable cause,
    `log_templates` names the templates of new patterns and of template counts, and
    `log_templates_minutely` (covering the incidents) gives a counted template's level, and
    `rule_stretches` (`transforms.rules.rule_stretches` of the rules among the anomalies) how
    long each rule's condition held and its worst value.

    `newest_hour` is the newest hour scored (default: the newest hour of `anomalies`): an
    incident is open while the next hour to be scored could still join it (`is_open`), else
    resolved, at the end of the first hour after it (`MERGE_GAP` after its end)."""
    if anomalies.empty:
        return empty_frame(Incident)
    anomalies = with_logs_joined(anomalies)
    if newest_hour is None:
        newest_hour = anomalies[A.hour_start].max()
    newest_hour = pd.Timestamp(newest_hour)
    rank = {name: i for i, name in enumerate(SEVERITIES)}
    rows = []
    keys = [A.service, A.endpoint]
    for (service, endpoint), own in anomalies.sort_values(A.hour_start).groupby(keys, sort=True):
        hours = own[A.hour_start]
        # a new incident wherever the gap to the previous anomalous hour exceeds one hour
        group = (hours.diff() > HOUR).cumsum()
        for _, part in own.groupby(group.to_numpy(), sort=True):
            start = part[A.hour_start].min()
            end = part[A.hour_start].max() + HOUR
            still_open = is_open(end, newest_hour)
            rows.append(
                {
                    "incident_id": incident_id(service, endpoint, start),
                    "service": service,
                    "endpoint": endpoint,
                    "start": start,
                    "end": end,
                    "hours": int(part[A.hour_start].nunique()),
                    "peak_severity": max(part[A.severity], key=rank.__getitem__),
                    "max_score": float(part[A.score].max()),
                    "metrics": ",".join(sorted(part[A.metric].unique())),
                    "probable_cause": probable_cause(
                        part,
                        service,
                        endpoint,
                        start,
                        end,
                        status_hourly,
                        error_reasons_hourly,
                        log_templates,
                        log_templates_minutely,
                        rule_stretches,
                    ),
                    "status": "open" if still_open else "resolved",
                    "resolved_at": pd.NaT if still_open else end + MERGE_GAP,
                }
            )
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["service", "endpoint", "start"], ignore_index=True)
    return Incident.validate(frame)


def probable_cause(
    anomalies: pd.DataFrame,
    service: str,
    endpoint: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    status_hourly: pd.DataFrame | None,
    error_reasons_hourly: pd.DataFrame | None,
    log_templates: pd.DataFrame | None = None,
    log_templates_minutely: pd.DataFrame | None = None,
    rule_stretches: pd.DataFrame | None = None,
) -> str:
    """A sentence or three from the data: each rule breached (its metric's worst value against
    the threshold, and for how long it held), each metric's distance from its forecast (a log
    template's count named by its text and the most severe level it logged in the incident's
    hours), the status code whose share of requests grew most against the 24 hours before,
    the most frequent error reason during the incident, and each new log pattern's template
    and an example."""
    parts = []
    for metric, rows in anomalies.groupby(A.metric, sort=True):
        actual, expected = rows[A.actual].mean(), rows[A.yhat].mean()
        template_id = template_of(metric)
        counted = counted_template_of(metric)
        if metric.startswith(RULE_PREFIX):
            parts.append(_rule_text(rows, metric, service, endpoint, start, end, rule_stretches))
        elif counted is not None:
            level = template_level(log_templates_minutely, service, counted, start, end)
            parts.append(
                count_text(
                    template_text(log_templates, service, counted),
                    level,
                    float(rows[A.actual].sum()),
                    float(rows[A.yhat].sum()),
                    int(rows[A.hour_start].nunique()),
                )
            )
        elif template_id is not None:
            events = int(rows[A.actual].sum())
            parts.append(f"{pattern_text(log_templates, service, template_id)}, {events:,} events")
        elif metric == LOG_ERRORS and expected > 0:
            parts.append(f"log errors at {actual / expected:.2g}x their forecast")
        elif metric == LOG_ERRORS:
            parts.append(f"{actual:.3g} log errors an hour where none was expected")
        elif metric.endswith("_rate"):
            parts.append(f"{metric} {actual:.1%} against {expected:.1%} expected")
        elif expected > 0:
            parts.append(f"{metric} at {actual / expected:.2g}x its forecast")
        else:
            parts.append(f"{metric} {actual:.3g} where none was expected")
    status = _status_change(status_hourly, service, endpoint, start, end)
    if status:
        parts.append(status)
    reason = _top_reason(error_reasons_hourly, service, endpoint, start, end)
    if reason:
        parts.append(reason)
    return "; ".join(parts)


def _rule_text(
    rows: pd.DataFrame,
    metric: str,
    service: str,
    endpoint: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rule_stretches: pd.DataFrame | None,
) -> str:
    """The rule's longest stretch overlapping the incident, else what its anomaly rows say."""
    name = metric.removeprefix(RULE_PREFIX)
    above = bool((rows[A.direction] == "spike").any())
    worst = rows[A.actual].max() if above else rows[A.actual].min()
    threshold = float(rows[A.yhat].iloc[0])
    if rule_stretches is not None and len(rule_stretches):
        s = rule_stretches
        own = s[
            (s["metric"] == metric)
            & (s["service"] == service)
            & (s["endpoint"] == endpoint)
            & (s["start"] < end)
            & (s["end"] > start)
        ]
        if len(own):
            longest = own.sort_values(["minutes", "start"], ascending=[False, True]).iloc[0]
            worst = own["worst"].max() if longest["above"] else own["worst"].min()
            return rule_cause(
                name,
                str(longest["column"]),
                bool(longest["above"]),
                float(longest["threshold"]),
                float(worst),
                int(longest["minutes"]),
            )
    return rule_cause(name, None, above, threshold, float(worst), None)


def with_logs_joined(anomalies: pd.DataFrame) -> pd.DataFrame:
    """Anomalies with each log anomaly (endpoint "(logs)") moved to the endpoint of a request
    anomaly of its service in the same or an adjacent hour (the first such endpoint in sort
    order), so the incident holding one holds the other; those with none stay apart."""
    is_log = anomalies[A.endpoint] == LOG_ENDPOINT
    if not is_log.any() or is_log.all():
        return anomalies
    hour = pd.to_datetime(anomalies[A.hour_start], utc=True)
    requests = anomalies[~is_log].assign(_hour=hour[~is_log])
    out = anomalies.copy()
    for index in anomalies.index[is_log]:
        row = anomalies.loc[index]
        near = requests[
            (requests[A.service] == row[A.service])
            & ((requests["_hour"] - hour[index]).abs() <= HOUR)
        ]
        if len(near):
            out.loc[index, A.endpoint] = sorted(near[A.endpoint].astype(str))[0]
    return out


def _hours_of(
    frame: pd.DataFrame | None,
    service: str,
    endpoint: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """The endpoint's rows of an hourly table with hour_start in [start, end); a total's
    (endpoint or service "*") are those of every endpoint it sums."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["hour_start", "requests"])
    chosen = (frame["hour_start"] >= start) & (frame["hour_start"] < end)
    if service != TOTAL:
        chosen &= frame["service"] == service
    if endpoint != TOTAL:
        chosen &= frame["endpoint"] == endpoint
    return frame[chosen]


def _status_change(
    status_hourly: pd.DataFrame | None,
    service: str,
    endpoint: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> str:
    during = _hours_of(status_hourly, service, endpoint, start, end)
    before = _hours_of(status_hourly, service, endpoint, start - BEFORE, start)
    if during.empty:
        return ""
    share_during = during.groupby("status_code")["requests"].sum() / during["requests"].sum()
    share_before = (
        before.groupby("status_code")["requests"].sum() / before["requests"].sum()
        if len(before)
        else pd.Series(dtype="float64")
    )
    growth = share_during.sub(share_before, fill_value=0.0).sort_values(ascending=False)
    if growth.empty or growth.iloc[0] < MIN_SHARE_GROWTH:
        return ""
    code = growth.index[0]
    was = float(share_before.get(code, 0.0))
    return f"status {int(code)} rose from {was:.1%} to {share_during[code]:.1%} of requests"


def _top_reason(
    error_reasons_hourly: pd.DataFrame | None,
    service: str,
    endpoint: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> str:
    during = _hours_of(error_reasons_hourly, service, endpoint, start, end)
    if during.empty:
        return ""
    counts = during.groupby("error_reason")["requests"].sum().sort_values(ascending=False)
    share = counts.iloc[0] / counts.sum()
    return f"top error reason '{counts.index[0]}' ({int(counts.iloc[0]):,} requests, {share:.0%})"
