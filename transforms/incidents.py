"""Incidents: one per cause. Anomalies of one endpoint merged across hours and metrics;
simultaneous anomalies of endpoints of one service whose shared dimension value moved, as one
incident listing them; a total's anomalies that its endpoints' explain, as that incident's
impact. Each has a probable cause built from the data (how far each metric was from its
forecast, the dimension values that account for the change, which log templates left their
forecast or are new)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.common import empty_frame
from schemas.forecasts import SEVERITIES, Incident
from schemas.forecasts import Anomaly as A
from transforms import attribution as attr
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
from transforms.short import base_metric, short_text

HOUR = pd.Timedelta(hours=1)
BEFORE = attr.BEFORE
"""The hours before an incident whose mix of status codes, error reasons, regions, ... is the
expected mix its change is measured against."""
MERGE_GAP = HOUR
"""The largest step from one anomalous hour of an incident to the next: an anomalous hour
further from the previous one starts a new incident."""
ERROR_METRICS = frozenset({"error_rate", "server_error_rate", "status_4xx", "status_5xx"})
"""Metrics whose spike is a change in the errors: attributed over the errors' mix."""


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


@dataclass(frozen=True)
class Context:
    """The tables an incident's cause reads, each covering the incidents and the 24 hours
    before them (`log_templates_minutely`: at least the incidents' hours)."""

    status_hourly: pd.DataFrame | None = None
    error_reasons_hourly: pd.DataFrame | None = None
    region_hourly: pd.DataFrame | None = None
    dimension_hourly: pd.DataFrame | None = None
    log_templates: pd.DataFrame | None = None
    log_templates_minutely: pd.DataFrame | None = None
    rule_stretches: pd.DataFrame | None = None
    anomalous: pd.DataFrame | None = None
    """(service, endpoint, hour_start) of every anomaly: an incident's mix is compared with
    the hours before it in which its endpoints were not anomalous (`_normal_before`)."""


@dataclass
class Episode:
    """Anomalous hours of one (service, endpoint) at most MERGE_GAP apart."""

    service: str
    endpoint: str
    rows: pd.DataFrame

    @property
    def start(self) -> pd.Timestamp:
        return self.rows[A.hour_start].min()

    @property
    def end(self) -> pd.Timestamp:
        return self.rows[A.hour_start].max() + HOUR

    @property
    def depth(self) -> int:
        """0 for an endpoint (or a service's logs), 1 for a service's total, 2 for the total
        of all services."""
        return 2 if self.service == TOTAL else 1 if self.endpoint == TOTAL else 0

    def overlaps(self, other: Episode) -> bool:
        return self.start < other.end and other.start < self.end


def incidents(
    anomalies: pd.DataFrame,
    status_hourly: pd.DataFrame | None = None,
    error_reasons_hourly: pd.DataFrame | None = None,
    log_templates: pd.DataFrame | None = None,
    log_templates_minutely: pd.DataFrame | None = None,
    *,
    newest_hour: pd.Timestamp | None = None,
    rule_stretches: pd.DataFrame | None = None,
    region_hourly: pd.DataFrame | None = None,
    dimension_hourly: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per incident, one incident per cause.

    Anomalies of one (service, endpoint) whose hours touch or overlap (the next starts at
    most one hour after the previous ended) are one episode, whatever their metric; a
    service's log anomalies (endpoint "(logs)") join its request anomalies of the same or
    adjacent hours (`with_logs_joined`). Episodes are then joined into incidents
    (`incident_groups`): endpoints of one service anomalous in overlapping hours whose
    attributions name the same status code, error reason, region or configured dimension
    value; and a total's episode (endpoint "*", or service and endpoint "*") with an episode
    of what it sums in overlapping hours, as that incident's `impact`. A total with no such
    episode (a change spread thinly over many endpoints) is an incident of its own.

    An incident is keyed by its first episode (earliest start; an endpoint before a total
    starting with it; then service and endpoint): later hours cannot start earlier, so an
    open incident keeps its `incident_id` as hours and endpoints join it, and the hourly runs
    write what a backfill writes.

    `status_hourly`, `error_reasons_hourly`, `region_hourly` and `dimension_hourly`
    (covering the incidents and the 24 hours before them) feed the attribution
    (`transforms.attribution`), `log_templates` names the templates of new patterns and of
    template counts, and `log_templates_minutely` gives a counted template's level (and,
    covering the 24 hours before too, the templates that account for a change in log errors),
    and `rule_stretches` (`transforms.rules.rule_stretches` of the rules among the anomalies)
    how long each rule's condition held and its worst value.

    `newest_hour` is the newest hour scored (default: the newest hour of `anomalies`): an
    incident is open while the next hour to be scored could still join it (`is_open`), else
    resolved, at the end of the first hour after it (`MERGE_GAP` after its end)."""
    if anomalies.empty:
        return empty_frame(Incident)
    context = Context(
        status_hourly,
        error_reasons_hourly,
        region_hourly,
        dimension_hourly,
        log_templates,
        log_templates_minutely,
        rule_stretches,
        anomalies[[A.service, A.endpoint, A.hour_start]],
    )
    anomalies = with_logs_joined(anomalies)
    if newest_hour is None:
        newest_hour = anomalies[A.hour_start].max()
    newest_hour = pd.Timestamp(newest_hour)
    rows = [
        _incident_row(members, context, newest_hour)
        for members in incident_groups(episodes(anomalies), context)
    ]
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["service", "endpoint", "start"], ignore_index=True)
    return Incident.validate(frame)


def episodes(anomalies: pd.DataFrame) -> list[Episode]:
    """The episodes of `anomalies` in key order: start, then depth (an endpoint before its
    service's total before the total of all), then service and endpoint."""
    found = []
    keys = [A.service, A.endpoint]
    for (service, endpoint), own in anomalies.sort_values(A.hour_start).groupby(keys, sort=True):
        # a new episode wherever the gap to the previous anomalous hour exceeds MERGE_GAP
        group = (own[A.hour_start].diff() > MERGE_GAP).cumsum()
        for _, part in own.groupby(group.to_numpy(), sort=True):
            found.append(Episode(str(service), str(endpoint), part))
    return sorted(found, key=lambda e: (e.start, e.depth, e.service, e.endpoint))


def incident_groups(found: list[Episode], context: Context) -> list[list[Episode]]:
    """The episodes of each incident, each list in key order (its first is the incident's
    key): endpoints of one service in overlapping hours whose attributions name the same
    status code, error reason, region or configured dimension value are joined (a shared
    status class is not enough: every error burst moves one); then each total's episode joins
    the first episode in overlapping hours of what it sums (a service's total: its endpoints;
    the total of all: every service's endpoints and totals), service totals before the total
    of all."""
    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        parent[max(a, b)] = min(a, b)  # the group's root is its first episode in key order

    moved: dict[int, set[tuple[str, str]]] = {}

    def moved_values(i: int) -> set[tuple[str, str]]:
        if i not in moved:
            e = found[i]
            found_i = _attributions(e.rows, e.service, [e.endpoint], e.start, e.end, context)
            # a template is its service's; a status class ("5xx") is what any error burst
            # shows, no sign of a shared cause
            moved[i] = {
                (d, v)
                for *_, named in found_i
                for d, v in zip(named["dimension"], named["value"], strict=True)
                if d not in (attr.TEMPLATE, attr.STATUS_CLASS)
            }
        return moved[i]

    endpoints = [i for i, e in enumerate(found) if e.depth == 0 and e.endpoint != LOG_ENDPOINT]
    for n, i in enumerate(endpoints):
        for j in endpoints[n + 1 :]:
            a, b = found[i], found[j]
            if a.service == b.service and a.overlaps(b) and moved_values(i) & moved_values(j):
                join(i, j)
    for depth in (1, 2):
        for t, total in enumerate(found):
            if total.depth != depth:
                continue
            summed = [
                i
                for i, e in enumerate(found)
                if e.depth < depth
                and e.endpoint != LOG_ENDPOINT
                and (depth == 2 or e.service == total.service)
                and e.overlaps(total)
            ]
            if summed:
                join(t, summed[0])
    groups: dict[int, list[Episode]] = {}
    for i, episode in enumerate(found):
        groups.setdefault(root(i), []).append(episode)
    return list(groups.values())


def _incident_row(members: list[Episode], context: Context, newest_hour: pd.Timestamp) -> dict:
    """An incident's row: keyed by its first episode; its cause from its deepest episodes (its
    endpoints, or the total when it has none), the other totals as its impact."""
    rank = {name: i for i, name in enumerate(SEVERITIES)}
    key = members[0]
    deepest = min(e.depth for e in members)
    causes = [e for e in members if e.depth == deepest]
    impacts = [e for e in members if e.depth != deepest]
    everything = pd.concat([e.rows for e in members], ignore_index=True)
    own = pd.concat([e.rows for e in causes], ignore_index=True)
    service = causes[0].service
    names = sorted({e.endpoint for e in causes})
    start = everything[A.hour_start].min()
    end = everything[A.hour_start].max() + HOUR
    cause_start = own[A.hour_start].min()
    cause_end = own[A.hour_start].max() + HOUR
    found = _attributions(own, service, names, cause_start, cause_end, context)
    still_open = is_open(end, newest_hour)
    return {
        "incident_id": incident_id(key.service, key.endpoint, key.start),
        "service": key.service,
        "endpoint": key.endpoint,
        "start": start,
        "end": end,
        "hours": int(everything[A.hour_start].nunique()),
        "peak_severity": max(everything[A.severity], key=rank.__getitem__),
        "max_score": float(everything[A.score].max()),
        "metrics": ",".join(sorted(everything[A.metric].unique())),
        "probable_cause": probable_cause(
            own, service, names, cause_start, cause_end, context, found
        ),
        "status": "open" if still_open else "resolved",
        "resolved_at": pd.NaT if still_open else end + MERGE_GAP,
        "endpoints": ",".join(
            names if service == key.service else [f"{service} {name}" for name in names]
        ),
        "impact": "; ".join(
            f"{e.service} {e.endpoint} {text}"
            for e in impacts
            for text in deviation_texts(e.rows, e.service, e.endpoint, e.start, e.end, context)
        ),
        "attribution": _attribution_column(found),
    }


def changes(anomalies: pd.DataFrame) -> list[tuple[str, str]]:
    """(measure, direction) of each change the anomalies show that attribution can explain:
    errors that rose (an error metric's spike), requests that fell or rose (the direction of
    the worst requests anomaly), log errors that rose."""
    # a short episode's change is its metric's (short:requests is a change in the requests)
    metric = anomalies[A.metric].astype(str).map(lambda m: base_metric(m) or m)
    spike = anomalies[A.direction] == "spike"
    found = []
    if (metric.isin(ERROR_METRICS) & spike).any():
        found.append((attr.ERRORS, "spike"))
    requests = anomalies[(metric == "requests").to_numpy()]
    if len(requests):
        worst = requests.sort_values([A.score, A.hour_start], ascending=[False, True]).iloc[0]
        found.append((attr.REQUESTS, str(worst[A.direction])))
    counted = metric.map(lambda m: counted_template_of(m) is not None)
    if (((metric == LOG_ERRORS) | counted) & spike).any():
        found.append((attr.EVENTS, "spike"))
    return found


def _attributions(
    anomalies: pd.DataFrame,
    service: str,
    endpoints: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    context: Context,
) -> list[tuple[str, str, pd.DataFrame]]:
    """(measure, direction, contributors) of each change of `changes`."""
    # the hours before in which its endpoints were anomalous are not the expected mix; a
    # region's counts are the whole warehouse's, so for them neither are any endpoint's
    own = _anomalous_before(context, service, endpoints, start)
    anywhere = _anomalous_before(context, TOTAL, [TOTAL], start)
    found = []
    for measure, direction in changes(anomalies):
        counts = attr.dimension_counts(
            measure,
            service,
            endpoints,
            start - BEFORE,
            end,
            status_hourly=context.status_hourly,
            error_reasons_hourly=context.error_reasons_hourly,
            region_hourly=context.region_hourly,
            dimension_hourly=context.dimension_hourly,
            log_templates_minutely=context.log_templates_minutely,
        )
        left_out = np.where(
            counts["dimension"] == attr.REGION,
            counts["hour_start"].isin(anywhere),
            counts["hour_start"].isin(own),
        )
        counts = counts[~left_out]
        found.append((measure, direction, attr.contributors(counts, start, end, direction)))
    return found


def _anomalous_before(
    context: Context, service: str, endpoints: list[str], start: pd.Timestamp
) -> set[pd.Timestamp]:
    """The hours of the BEFORE window before `start` in which one of `endpoints` of `service`
    had an anomaly (any of its endpoints for an endpoint `*`, any service's for a service
    `*`): an earlier incident's mix is not the expected mix, so a second burst like the first
    still names what moved."""
    seen = context.anomalous
    if seen is None or seen.empty:
        return set()
    mine = seen[(seen[A.service] == service) | (service == TOTAL)]
    if TOTAL not in endpoints:
        mine = mine[mine[A.endpoint].isin(endpoints)]
    hours = mine[A.hour_start]
    return set(hours[(hours >= start - BEFORE) & (hours < start)])


def _attribution_column(found: list[tuple[str, str, pd.DataFrame]]) -> str:
    """The top contributors as `dimension=value share`, each change's prefixed with its noun
    when more than one change names some."""
    named = [(m, d, f) for m, d, f in found if len(f)]
    if len(named) == 1:
        return attr.attribution_text(named[0][2])
    return "; ".join(f"{attr.noun(m, d)}: {attr.attribution_text(f)}" for m, d, f in named)


def probable_cause(
    anomalies: pd.DataFrame,
    service: str,
    endpoints: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    context: Context,
    attributions: list[tuple[str, str, pd.DataFrame]] | None = None,
) -> str:
    """A sentence or three from the data: each metric's distance from its forecast
    (`deviation_texts`; per endpoint when the incident holds several), then the dimension
    values that account for each change (`transforms.attribution.cause_text`)."""
    parts = []
    for endpoint, rows in anomalies.groupby(A.endpoint, sort=True):
        texts = deviation_texts(rows, service, str(endpoint), start, end, context)
        parts += [f"{endpoint} {t}" for t in texts] if len(endpoints) > 1 else texts
    if attributions is None:
        attributions = _attributions(anomalies, service, endpoints, start, end, context)

    def named(template_id: str) -> str:
        return template_text(context.log_templates, service, template_id)

    for measure, direction, found in attributions:
        text = attr.cause_text(found, measure, direction, template_text=named)
        if text:
            parts.append(text)
    return "; ".join(parts)


def deviation_texts(
    anomalies: pd.DataFrame,
    service: str,
    endpoint: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    context: Context,
) -> list[str]:
    """Per metric: each rule breached (its metric's worst value against the threshold, and for
    how long it held), each metric's distance from its forecast (a log template's count named
    by its text and the most severe level it logged in the hours), each new log pattern's
    template and an example."""
    parts = []
    for metric, rows in anomalies.groupby(A.metric, sort=True):
        actual, expected = rows[A.actual].mean(), rows[A.yhat].mean()
        template_id = template_of(metric)
        counted = counted_template_of(metric)
        if metric.startswith(RULE_PREFIX):
            parts.append(
                _rule_text(rows, metric, service, endpoint, start, end, context.rule_stretches)
            )
        elif base_metric(metric) is not None:
            worst = rows.sort_values([A.surprise, A.hour_start], ascending=[False, True]).iloc[0]
            parts.append(
                short_text(
                    str(base_metric(metric)),
                    str(worst[A.direction]),
                    float(worst[A.actual]),
                    float(worst[A.yhat]),
                )
            )
        elif counted is not None:
            level = template_level(context.log_templates_minutely, service, counted, start, end)
            parts.append(
                count_text(
                    template_text(context.log_templates, service, counted),
                    level,
                    float(rows[A.actual].sum()),
                    float(rows[A.yhat].sum()),
                    int(rows[A.hour_start].nunique()),
                )
            )
        elif template_id is not None:
            events = int(rows[A.actual].sum())
            text = pattern_text(context.log_templates, service, template_id)
            parts.append(f"{text}, {events:,} events")
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
    return parts


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
