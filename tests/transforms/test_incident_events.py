"""Which incident events are due, against the ledger of those sent."""

import pandas as pd

from transforms.alerts import GONE, due_events, payload, replayed_events, resource
from transforms.incidents import incident_id

T = pd.Timestamp("2026-11-03T10:00:00Z")
H = pd.Timedelta(hours=1)
LEDGER = ["event_id", "incident_id", "kind", "service", "endpoint", "start", "severity", "metrics"]


def incident(endpoint, start, hours, severity, metrics, status, cause="requests at 0.1x"):
    return {
        "incident_id": incident_id("shop", endpoint, start),
        "service": "shop",
        "endpoint": endpoint,
        "start": start,
        "end": start + hours * H,
        "hours": hours,
        "peak_severity": severity,
        "max_score": 0.99,
        "metrics": metrics,
        "probable_cause": cause,
        "status": status,
        "resolved_at": start + (hours + 1) * H if status == "resolved" else pd.NaT,
    }


def frame(*rows):
    return pd.DataFrame(list(rows))


def ledger(events):
    """What a sender records: the ledger rows of the events sent, appended."""
    return pd.DataFrame([e.ledger_row() for e in events], columns=LEDGER)


def unresolved(sent: pd.DataFrame) -> pd.DataFrame:
    resolved = set(sent.loc[sent["kind"] == "resolved", "incident_id"])
    return sent[~sent["incident_id"].isin(resolved)]


def test_open_incidents_are_opened_once_and_resolved_once():
    opened = incident("/a", T, 2, "high", "requests", "open")
    history = incident("/b", T - 30 * H, 1, "critical", "requests", "resolved")
    first = due_events(frame(opened, history), ledger([]))
    # only the open one: an incident over before anything was sent is history, not news
    assert [(e.kind, e.incident["endpoint"]) for e in first] == [("opened", "/a")]
    sent = ledger(first)
    # judged again on the same rows (a rerun, a retry): nothing is due
    assert due_events(frame(opened, history), unresolved(sent)) == []
    # the hour after: it is over
    over = {**opened, "status": "resolved", "resolved_at": T + 3 * H}
    second = due_events(frame(over, history), unresolved(sent))
    assert [e.kind for e in second] == ["resolved"]
    sent = pd.concat([sent, ledger(second)], ignore_index=True)
    assert due_events(frame(over, history), unresolved(sent)) == []
    # one id per event, whoever judges it
    assert second[0].event_id == due_events(frame(over), unresolved(ledger(first)))[0].event_id
    assert first[0].event_id != second[0].event_id


def test_an_open_incident_is_updated_when_its_severity_rises_or_metrics_join():
    opened = incident("/a", T, 1, "medium", "requests", "open")
    sent = ledger(due_events(frame(opened), ledger([])))
    same = {**opened, "hours": 2, "end": T + 2 * H}  # longer, nothing else new
    assert due_events(frame(same), sent) == []
    worse = {**same, "peak_severity": "critical"}
    (event,) = due_events(frame(worse), sent)
    assert event.kind == "updated" and event.incident["peak_severity"] == "critical"
    sent = pd.concat([sent, ledger([event])], ignore_index=True)
    assert due_events(frame(worse), sent) == []
    # a lower severity later is no news; a new metric is
    wider = {**worse, "metrics": "error_rate,requests"}
    (event,) = due_events(frame(wider), sent)
    assert event.kind == "updated" and event.metrics == ("error_rate", "requests")


def test_an_announced_incident_that_vanished_is_resolved_with_a_note():
    opened = incident("/a", T, 1, "high", "requests", "open")
    sent = ledger(due_events(frame(opened), ledger([])))
    (event,) = due_events(frame(), sent)
    assert event.kind == "resolved" and event.note == GONE
    body = payload(event, "file:///r.html")
    assert body["note"] == GONE and body["severity"] == "high" and body["metrics"] == ["requests"]


def test_the_payload_and_resource_carry_what_an_automation_matches_and_shows():
    opened = incident("/a", T, 2, "high", "error_rate,requests", "open", cause="status 503 rose")
    (event,) = due_events(frame(opened), ledger([]))
    assert event.name == "logcast.incident.opened"
    assert resource(event) == {
        "prefect.resource.id": "logcast.endpoint.shop//a",
        "prefect.resource.name": "shop /a",
        "logcast.service": "shop",
        "logcast.endpoint": "/a",
        "logcast.incident": opened["incident_id"],
        "logcast.severity": "high",
    }
    assert payload(event, "https://reports.example/logcast-2026-11-03.html") == {
        "incident_id": opened["incident_id"],
        "change": "opened",
        "status": "open",
        "service": "shop",
        "endpoint": "/a",
        "endpoints": ["/a"],
        "severity": "high",
        "metrics": ["error_rate", "requests"],
        "probable_cause": "status 503 rose",
        "impact": "",
        "start": "2026-11-03T10:00:00Z",
        "end": "2026-11-03T12:00:00Z",
        "hours": 2,
        "max_score": 0.99,
        "resolved_at": None,
        "report": "https://reports.example/logcast-2026-11-03.html",
    }


def test_the_payload_lists_the_endpoints_an_incident_holds_and_the_totals_it_moved():
    merged = {
        **incident("/a", T, 2, "critical", "error_rate", "open"),
        "endpoints": "/a,/b",
        "impact": "shop * requests at 0.3x its forecast",
    }
    (event,) = due_events(frame(merged), ledger([]))
    body = payload(event, "file:///r.html")
    assert body["endpoints"] == ["/a", "/b"]
    assert body["impact"] == "shop * requests at 0.3x its forecast"
    # a partition written before incidents listed them: the incident's own endpoint
    (older,) = due_events(frame(incident("/c", T, 1, "high", "requests", "open")), ledger([]))
    assert payload(older, "file:///r.html")["endpoints"] == ["/c"]


def test_a_replay_opens_and_resolves_each_incident_at_or_above_the_severity_in_time_order():
    late = incident("/a", T + 5 * H, 2, "critical", "requests", "resolved")
    early = incident("/b", T, 6, "high", "error_rate", "resolved")
    quiet = incident("/c", T + H, 1, "medium", "requests", "resolved")
    still = incident("/d", T + 7 * H, 1, "high", "requests", "open")
    rows = frame(late, early, quiet, still)
    got = [(e.kind, e.incident["endpoint"]) for e in replayed_events(rows, "high")]
    # /b opens at T, /a at T+5 h and is over at T+7 h, /b at T+6 h, /d opens at T+7 h and
    # is still open; the medium one is below the severity
    assert got == [("opened", "/b"), ("opened", "/a"), ("resolved", "/b"), ("resolved", "/a"),
                   ("opened", "/d")]  # fmt: skip
    everything = replayed_events(rows)
    assert [(e.kind, e.incident["endpoint"]) for e in everything][:2] == [
        ("opened", "/b"), ("opened", "/c"),
    ]  # fmt: skip
    assert len(everything) == 7
    # what each event carries is what the hourly runs send
    first = replayed_events(rows, "critical")
    assert [e.kind for e in first] == ["opened", "resolved"]
    assert payload(first[1], "r")["status"] == "resolved"
    assert first[0].metrics == ("requests",)
    assert replayed_events(frame(), "high") == []
