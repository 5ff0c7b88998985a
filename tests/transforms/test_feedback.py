"""Mutes and feedback applied to incidents: what is muted, what people said, and which events
that holds back."""

import pandas as pd

from schemas.forecasts import Incident
from tests.transforms.test_daily_report import data as report_data
from transforms.alerts import due_events
from transforms.daily_report import insights, render
from transforms.feedback import (
    feedback_lines,
    latest_feedback,
    muted_by,
    mutes_in_force,
    with_feedback,
)
from transforms.incidents import incident_id
from transforms.report import summary_markdown

T = pd.Timestamp("2026-11-03T14:00:00Z")
H = pd.Timedelta(hours=1)
LEDGER = ["event_id", "incident_id", "kind", "service", "endpoint", "start", "severity", "metrics"]


def incident(service, endpoint, start, hours, status="open", severity="high", metrics="requests"):
    return {
        "incident_id": incident_id(service, endpoint, start),
        "service": service,
        "endpoint": endpoint,
        "start": start,
        "end": start + hours * H,
        "hours": hours,
        "peak_severity": severity,
        "max_score": 0.99,
        "metrics": metrics,
        "probable_cause": "requests at 0.1x its forecast",
        "status": status,
        "resolved_at": start + (hours + 1) * H if status == "resolved" else pd.NaT,
    }


def incidents(*rows):
    return Incident.validate(pd.DataFrame(list(rows)))


def mutes(*rows):
    """rows: (mute_id, service, endpoint, from, to, reason)"""
    return pd.DataFrame(
        rows, columns=["mute_id", "service", "endpoint", "starts_at", "ends_at", "reason"]
    )


def feedback(*rows):
    """rows: (feedback_id, incident_id, action, note, minutes after T)"""
    return pd.DataFrame(
        [(f, i, a, n, T + pd.Timedelta(minutes=m)) for f, i, a, n, m in rows],
        columns=["feedback_id", "incident_id", "action", "note", "at"],
    )


INSIDE = incident("checkout", "/pay", T, 1)
OUTLASTS = incident("checkout", "/cart", T + H, 3)
OTHER = incident("auth", "/login", T, 1)
DEPLOY = mutes((1, "checkout", "*", T, T + 2 * H, "deploy"))


def test_a_mute_holds_the_incidents_of_its_service_whose_hours_all_lie_inside_it():
    found = incidents(INSIDE, OUTLASTS, OTHER)
    assert muted_by(found, DEPLOY).tolist() == ["deploy", None, None]
    one_endpoint = mutes((2, "checkout", "/cart", T, T + 6 * H, "cart migration"))
    assert muted_by(found, one_endpoint).tolist() == [None, "cart migration", None]
    both = pd.concat([DEPLOY, one_endpoint], ignore_index=True)
    assert muted_by(found, both).tolist() == ["deploy", "cart migration", None]
    assert muted_by(found, mutes()).tolist() == [None, None, None]
    # an incident holding two endpoints is held by a mute of each only when it is of both
    held = incidents(
        {**OUTLASTS, "endpoints": "/cart,/pay"},
        {**incident("checkout", "*", T + H, 3), "endpoints": "/cart"},
    )
    assert muted_by(held, one_endpoint).tolist() == [None, "cart migration"]


def test_the_latest_feedback_is_in_force_and_a_closing_one_resolves_the_incident():
    said = feedback(
        (1, INSIDE["incident_id"], "ack", "on it", 0),
        (2, INSIDE["incident_id"], "false-alarm", "load test", 5),
        (3, OTHER["incident_id"], "ack", "", 1),
    )
    latest = latest_feedback(said)
    assert latest.loc[INSIDE["incident_id"], ["action", "note"]].tolist() == [
        "false-alarm",
        "load test",
    ]
    shown = with_feedback(incidents(INSIDE, OUTLASTS, OTHER), DEPLOY, said)
    assert shown[["feedback", "muted", "status"]].values.tolist() == [
        ["false alarm: load test", "deploy", "resolved"],
        ["", "", "open"],
        ["acked", "", "open"],
    ]
    lines = feedback_lines(shown[shown["feedback"] != ""], mutes_in_force(DEPLOY, T, T + H))
    assert lines == [
        "mute 1: checkout * 2026-11-03 14:00 to 16:00 UTC (deploy)",
        f"incident {INSIDE['incident_id']} (checkout /pay, from 2026-11-03 14:00 UTC): "
        "false alarm: load test; muted: deploy",
        f"incident {OTHER['incident_id']} (auth /login, from 2026-11-03 14:00 UTC): acked",
    ]
    assert mutes_in_force(DEPLOY, T + 2 * H, T + 3 * H).empty


def ledger(events):
    return pd.DataFrame([e.ledger_row() for e in events], columns=LEDGER)


def test_a_muted_incident_is_never_announced_until_it_outlasts_its_mute():
    found = incidents(INSIDE, OTHER)
    muted = {INSIDE["incident_id"]}
    due = due_events(found, ledger([]), muted=muted)
    assert [(e.kind, e.incident["service"]) for e in due] == [("opened", "auth")]
    # it ended inside the window: nothing at all
    over = incidents({**INSIDE, "status": "resolved", "resolved_at": T + 2 * H})
    assert due_events(over, ledger([]), muted=muted) == []


def test_an_acked_incident_sends_no_update_and_is_still_resolved():
    opened = due_events(incidents(INSIDE), ledger([]))
    sent = ledger(opened)
    worse = incidents({**INSIDE, "peak_severity": "critical", "end": T + 2 * H, "hours": 2})
    assert [e.kind for e in due_events(worse, sent)] == ["updated"]
    assert due_events(worse, sent, acked={INSIDE["incident_id"]}) == []
    over = incidents({**INSIDE, "status": "resolved", "resolved_at": T + 2 * H})
    assert [e.kind for e in due_events(over, sent, acked={INSIDE["incident_id"]})] == ["resolved"]


def test_an_incident_resolved_by_hand_is_resolved_at_once_with_what_was_said():
    sent = ledger(due_events(incidents(INSIDE), ledger([])))
    closed = {INSIDE["incident_id"]: "resolved by hand: rolled back"}
    (event,) = due_events(incidents(INSIDE), sent, closed=closed)
    assert (event.kind, event.note, event.incident["status"]) == (
        "resolved",
        "resolved by hand: rolled back",
        "resolved",
    )
    # never announced: a false alarm is not opened at all
    assert due_events(incidents(OTHER), ledger([]), closed={OTHER["incident_id"]: "x"}) == []


def test_the_report_and_the_run_artifact_show_feedback_and_mutes_in_force():
    data = report_data(
        day=T.floor("D"),
        incidents=incidents(INSIDE, OTHER),
        mutes=DEPLOY,
        feedback=feedback((1, OTHER["incident_id"], "ack", "looking", 0)),
    )
    said = insights(data)
    assert said[0].endswith("its forecast. (muted: deploy)")
    assert said[1].endswith("its forecast. (acked: looking)")
    assert "In force: mute 1: checkout * 2026-11-03 14:00 to 16:00 UTC (deploy)." in said
    page = render(data, generated_at=T)
    assert "<td>acked: looking</td>" in page and "<td>deploy</td>" in page
    lines = ["mute 1: checkout * 2026-11-03 14:00 to 16:00 UTC (deploy)"]
    markdown = summary_markdown("run", {"feedback": lines}, pd.DataFrame())
    assert "## Mutes and feedback\n\n- mute 1: checkout * 2026-11-03 14:00 to 16:00 UTC" in markdown
