"""Which incident events are due: `logcast.incident.opened` when an incident is open at the
newest hour scored and was never announced, `.updated` when an announced open incident's
severity rose or new metrics joined it, `.resolved` once when an announced incident ended.
Judged against the ledger of the events already sent, so the same incidents and ledger give
no event twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from schemas.forecasts import SEVERITIES

EVENT_PREFIX = "logcast.incident"
KINDS = ("opened", "updated", "resolved")
RESOURCE_PREFIX = "logcast.endpoint."
"""An event's resource is `logcast.endpoint.<service>/<endpoint>`."""
EVENT_NAMESPACE = uuid.UUID("5b0f8a3e-4a53-4f4e-9d8b-6c1c0e1f7a21")
"""Namespace of the events' uuid5 ids: one event has one id, however often it is judged due."""
GONE = "no longer anomalous once its hours were scored again"


@dataclass(frozen=True)
class DueEvent:
    """One event to send: its kind, the incident as it is now (or as last announced when it
    vanished) and the ledger row to record once it is sent."""

    kind: str
    incident: dict[str, Any]
    note: str = ""
    metrics: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{EVENT_PREFIX}.{self.kind}"

    @property
    def event_id(self) -> str:
        key = f"{self.incident['incident_id']}/{self.kind}"
        if self.kind == "updated":
            key += f"/{self.incident['peak_severity']}/{','.join(self.metrics)}"
        return str(uuid.uuid5(EVENT_NAMESPACE, key))

    def ledger_row(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "incident_id": self.incident["incident_id"],
            "kind": self.kind,
            "service": self.incident["service"],
            "endpoint": self.incident["endpoint"],
            "start": iso(self.incident["start"]),
            "severity": self.incident["peak_severity"],
            "metrics": ",".join(self.metrics),
        }


def iso(ts: Any) -> str | None:
    """ISO 8601 UTC (`2026-11-03T10:00:00Z`), None for a missing time."""
    if ts is None or pd.isna(ts):
        return None
    return f"{pd.Timestamp(ts).tz_convert('UTC'):%Y-%m-%dT%H:%M:%SZ}"


def resource_id(service: str, endpoint: str) -> str:
    return f"{RESOURCE_PREFIX}{service}/{endpoint}"


def _metrics(text: Any) -> tuple[str, ...]:
    return tuple(sorted(m for m in str(text or "").split(",") if m))


def due_events(
    incidents: pd.DataFrame,
    sent: pd.DataFrame,
    *,
    muted: frozenset[str] | set[str] = frozenset(),
    acked: frozenset[str] | set[str] = frozenset(),
    closed: dict[str, str] | None = None,
) -> list[DueEvent]:
    """The events due, in incident start order.

    `incidents`: the incident rows read back (with `incident_id` and `status`), covering at
    least every incident `sent` holds that is not resolved; `sent`: the ledger rows of the
    incidents announced and not resolved yet (`incident_id`, `kind`, `severity`, `metrics`,
    `service`, `endpoint`, `start`).

    Only an incident open at the newest hour is announced: a backfill of old history, whose
    incidents are all over, announces nothing. An announced incident that vanished (its
    hours were scored again and it is gone, or it merged into an earlier one) is resolved with
    that note.

    People's word (`transforms.feedback`) by incident id: one `muted` (a maintenance window
    holds it) is never announced and sends no update; one `acked` sends no update; one in
    `closed` (resolved by hand, or a false alarm: id -> what was said) is never announced and,
    if it was, is resolved at once with what was said as its note."""
    closed = closed or {}
    rank = {name: i for i, name in enumerate(SEVERITIES)}
    announced: dict[str, pd.DataFrame] = {
        key: rows for key, rows in sent.groupby("incident_id", sort=False)
    }
    rows = []
    if len(incidents) and "incident_id" in incidents:  # partitions written before ids had none
        known = incidents[incidents["incident_id"].notna()]
        rows = known.sort_values(["start", "service", "endpoint"]).to_dict("records")
    due: list[DueEvent] = []
    seen: set[str] = set()
    for row in rows:
        key = row["incident_id"]
        seen.add(key)
        metrics = _metrics(row["metrics"])
        before = announced.get(key)
        if before is None or not (before["kind"] == "opened").any():
            if row["status"] == "open" and key not in muted and key not in closed:
                due.append(DueEvent("opened", row, metrics=metrics))
            continue
        if key in closed:
            row = {**row, "status": "resolved"}
            due.append(DueEvent("resolved", row, note=closed[key], metrics=metrics))
            continue
        if row["status"] != "open":
            due.append(DueEvent("resolved", row, metrics=metrics))
            continue
        if key in muted or key in acked:
            continue
        top = max(rank[s] for s in before["severity"])
        known = {m for text in before["metrics"] for m in _metrics(text)}
        if rank[row["peak_severity"]] > top or set(metrics) - known:
            due.append(DueEvent("updated", row, metrics=metrics))
    for key, before in announced.items():
        if key in seen or not (before["kind"] == "opened").any():
            continue
        last = before.iloc[-1]
        vanished = {
            "incident_id": key,
            "service": last["service"],
            "endpoint": last["endpoint"],
            "start": pd.Timestamp(last["start"]),
            "end": None,
            "hours": None,
            "peak_severity": last["severity"],
            "max_score": None,
            "metrics": last["metrics"],
            "probable_cause": "",
            "status": "resolved",
            "resolved_at": None,
        }
        due.append(DueEvent("resolved", vanished, note=GONE, metrics=_metrics(last["metrics"])))
    return due


def replayed_events(incidents: pd.DataFrame, minimum: str = SEVERITIES[0]) -> list[DueEvent]:
    """The events hourly runs would have sent for `incidents` (rows with `incident_id`), those
    of `minimum` severity or above: `.opened` for each, then `.resolved` for each that is
    over, in time order (an opening at its start, a resolution at its end, before the
    openings of the same hour). An incident is
    announced with its peak severity, so the `.updated` events of a severity that rose during
    it are not among them."""
    floor = SEVERITIES.index(minimum)
    if not len(incidents) or "incident_id" not in incidents:
        return []
    rows = incidents[incidents["incident_id"].notna()]
    rows = rows[rows["peak_severity"].map(SEVERITIES.index) >= floor]
    timed: list[tuple[pd.Timestamp, int, DueEvent]] = []
    for row in rows.to_dict("records"):
        metrics = _metrics(row["metrics"])
        timed.append((pd.Timestamp(row["start"]), 1, DueEvent("opened", row, metrics=metrics)))
        if row["status"] != "open":
            end = pd.Timestamp(row["end"])
            timed.append((end, 0, DueEvent("resolved", row, metrics=metrics)))
    timed.sort(key=lambda t: (t[0], t[1], t[2].incident["service"], t[2].incident["endpoint"]))
    return [event for _, _, event in timed]


def endpoints_of(incident: dict[str, Any]) -> list[str]:
    """The endpoints an incident holds: its `endpoints`, or its own endpoint in partitions
    written before incidents listed them."""
    listed = incident.get("endpoints")
    if listed is None or pd.isna(listed) or not str(listed):
        return [str(incident["endpoint"])]
    return str(listed).split(",")


def payload(event: DueEvent, report: str) -> dict[str, Any]:
    """What the event carries: the incident's severity, endpoints, metrics, probable cause,
    the totals it moved, times and a link to its day's report."""
    incident = event.incident
    hours = incident.get("hours")
    score = incident.get("max_score")
    impact = incident.get("impact")
    out = {
        "incident_id": incident["incident_id"],
        "change": event.kind,
        "status": "open" if event.kind != "resolved" else "resolved",
        "service": incident["service"],
        "endpoint": incident["endpoint"],
        "endpoints": endpoints_of(incident),
        "severity": incident["peak_severity"],
        "metrics": list(event.metrics),
        "probable_cause": incident.get("probable_cause") or "",
        "impact": "" if impact is None or pd.isna(impact) else str(impact),
        "start": iso(incident["start"]),
        "end": iso(incident.get("end")),
        "hours": None if hours is None or pd.isna(hours) else int(hours),
        "max_score": None if score is None or pd.isna(score) else float(score),
        "resolved_at": iso(incident.get("resolved_at")),
        "report": report,
    }
    if event.note:
        out["note"] = event.note
    return out


def resource(event: DueEvent) -> dict[str, str]:
    """The event's resource: the endpoint, labelled with the incident and its severity (what
    an automation's trigger matches on)."""
    incident = event.incident
    return {
        "prefect.resource.id": resource_id(incident["service"], incident["endpoint"]),
        "prefect.resource.name": f"{incident['service']} {incident['endpoint']}",
        "logcast.service": str(incident["service"]),
        "logcast.endpoint": str(incident["endpoint"]),
        "logcast.incident": str(incident["incident_id"]),
        "logcast.severity": str(incident["peak_severity"]),
    }
