"""Incident events sent to Prefect from a flow run (`logcast.incident.opened`, `.updated`,
`.resolved`), recorded in the catalog's ledger so that no run sends one twice. Routing them to
people is Prefect's: the automations `logcast alerts add` creates (`flows.alert_rules`)."""

from __future__ import annotations

import uuid

import pandas as pd

from flows.compute import INCIDENT_FOLLOW, OPEN_LOOKBACK
from flows.ingest import catalog_for
from flows.reports import report_path
from flows.settings import Settings
from schemas.common import empty_frame
from schemas.forecasts import Incident
from transforms import alerts as rules
from transforms import feedback as said
from warehouse.layout import Layout
from warehouse.tables import newest_hour, read_hours

DAY = pd.Timedelta(days=1)


def report_link(settings: Settings, start: pd.Timestamp) -> str:
    """Where the daily report of the day an incident started is (the daily run writes it
    once the day is over): under `report_url` when set, else the file's URI."""
    path = report_path(settings, pd.Timestamp(start).floor("D"))
    if settings.report_url:
        return f"{settings.report_url.rstrip('/')}/{path.name}"
    return path.as_uri()


def newest_scored(layout: Layout) -> pd.Timestamp | None:
    """The newest hour with forecasts or anomalies (a rule's anomalies need no forecast: a
    warehouse too young for models has them alone); None before any."""
    found = [h for t in ("forecasts", "anomalies") if (h := newest_hour(layout, t)) is not None]
    return max(found) if found else None


def incidents_to_judge(settings: Settings, sent: pd.DataFrame) -> pd.DataFrame:
    """The incident rows the newest hour can leave open, and those of every announced
    incident not resolved yet."""
    layout = Layout(settings.warehouse_dir)
    newest = newest_scored(layout)
    if newest is None:
        return empty_frame(Incident)
    first = newest.floor("D") - INCIDENT_FOLLOW - OPEN_LOOKBACK
    if len(sent):
        first = min(first, pd.to_datetime(sent["start"], utc=True).min().floor("D"))
    return read_hours(layout, "incidents", first, newest.floor("D") + DAY)


def people_say(catalog, incidents: pd.DataFrame) -> dict:
    """The `muted`, `acked` and `closed` incident ids `transforms.alerts.due_events` takes,
    from the catalog's mutes and feedback."""
    muted: set[str] = set()
    if len(incidents) and "incident_id" in incidents:
        reasons = said.muted_by(incidents, catalog.mutes_frame())
        muted = set(incidents.loc[reasons.notna(), "incident_id"].astype(str))
    latest = said.latest_feedback(catalog.feedback_frame())
    acked = set(latest.index[latest["action"] == "ack"])
    closed = {
        str(key): said.feedback_text(row.action, row.note)
        for key, row in latest[latest["action"].isin(said.CLOSING)].iterrows()
    }
    return {"muted": muted, "acked": acked, "closed": closed}


def send_incident_events(settings: Settings, run_id: str | None) -> dict[str, int]:
    """Emits the incident events due (`transforms.alerts.due_events`) with Prefect's
    `emit_event`, inside the flow run that calls it (the run is attached to each event as a
    related resource), and records each sent one in the ledger. Muted incidents, and those
    people acked, resolved or marked a false alarm, send less (`people_say`). Returns how many
    of each kind were sent. Without a Prefect API to send to, nothing is sent or recorded: a later run
    sends what is still due."""
    from prefect.events import emit_event

    catalog = catalog_for(settings.catalog_url)
    sent = catalog.unresolved_incident_events()
    counts = dict.fromkeys(rules.KINDS, 0)
    incidents = incidents_to_judge(settings, sent)
    for event in rules.due_events(incidents, sent, **people_say(catalog, incidents)):
        emitted = emit_event(
            event=event.name,
            resource=rules.resource(event),
            payload=rules.payload(event, report_link(settings, event.incident["start"])),
            id=uuid.UUID(event.event_id),
        )
        if emitted is not None and catalog.record_incident_event(event.ledger_row(), run_id):
            counts[event.kind] += 1
    return counts


def feedback_summary(settings: Settings) -> list[str]:
    """The run artifact's mutes and feedback (`transforms.feedback.feedback_lines`): the mutes
    not over by the newest hour scored, and the incidents it can leave open, and those of the
    days before, that are muted or have feedback."""
    catalog = catalog_for(settings.catalog_url)
    newest = newest_scored(Layout(settings.warehouse_dir))
    mutes = catalog.mutes_frame()
    if newest is None:
        return said.feedback_lines(empty_frame(Incident), mutes)
    incidents = incidents_to_judge(settings, catalog.unresolved_incident_events())
    shown = said.with_feedback(incidents, mutes, catalog.feedback_frame())
    if len(shown):
        shown = shown[(shown["muted"] != "") | (shown["feedback"] != "")]
    return said.feedback_lines(
        shown, said.mutes_in_force(mutes, newest, pd.Timestamp.max.tz_localize("UTC"))
    )
