"""`logcast demo`: synthetic logs through the real pipeline, then a tour of what was built."""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from pathlib import Path

import pandas as pd

from flows.generate import default_end_day, generate
from flows.settings import Settings, load_settings
from transforms.evaluation import incident_matches, unexplained_anomalies
from warehouse.layout import Layout
from warehouse.query import query, tables_present
from warehouse.tables import read_hours


def _artifacts_of(flow_run_id) -> list[tuple[str, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.client.schemas.sorting import ArtifactSort

    only_this_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=only_this_run, sort=ArtifactSort.KEY_ASC, limit=100
        )
    return [(a.key or "(no key)", a.type or "") for a in artifacts]


def _ui_hint(named_server: bool) -> str:
    from prefect.settings import get_current_settings

    current = get_current_settings()
    if named_server and current.api.url:
        ui = current.ui_url or current.api.url.removesuffix("/api")
        return f"Browse the runs and artifacts at {ui}"
    return (
        "Browse the runs and artifacts in the Prefect UI:\n"
        f"  PREFECT_HOME={current.home} .venv/bin/prefect server start\n"
        "  then open http://127.0.0.1:4200 (Runs, then Artifacts)"
    )


def run_demo(*, days: int = 14, endpoints: int = 8, seed: int = 7) -> int:
    """The demo against PREFECT_API_URL's server, else a temporary one it starts (which
    runs Prefect's automations too: the demo's alerts go through one)."""
    from flows.prefect_api import prefect_api

    named_server = bool(os.environ.get("PREFECT_API_URL"))
    with prefect_api():
        return _run_demo(days=days, endpoints=endpoints, seed=seed, named_server=named_server)


def _run_demo(*, days: int, endpoints: int, seed: int, named_server: bool) -> int:
    from flows.pipeline import backfill

    settings = load_settings()
    end_day = default_end_day()
    generated = generate(
        days=days,
        endpoints=endpoints,
        out_dir=settings.landing_dir,
        labels_path=settings.labels_path,
        end_day=end_day,
        seed=seed,
    )
    print(
        f"generated {len(generated.files)} hourly log files ({generated.rows:,} requests, "
        f"{endpoints} endpoints, {generated.start:%Y-%m-%d} to {end_day:%Y-%m-%d}) "
        f"in {settings.landing_dir}"
    )
    print(f"injected {len(generated.labels)} incidents, labelled in {settings.labels_path}\n")

    state = backfill(start=generated.start.date(), end=end_day.date(), return_state=True)
    summary = state.result()
    files = summary["files"]
    print(
        f"\nbackfill {summary['window']}: {files['ingested']} files ingested "
        f"({files['skipped']} already known), records read {files['records_read']:,} = "
        f"kept {files['rows_kept']:,} + quarantined {files['rows_quarantined']:,}"
    )

    print(f"\nTables (DuckDB views over the Parquet files in {settings.warehouse_dir}):")
    for table in tables_present(settings.warehouse_dir):
        rows = int(query(settings.warehouse_dir, f'SELECT count(*) AS n FROM "{table}"')["n"][0])
        print(f"  {table:<16} {rows:>10,} rows")

    anomalies = read_hours(
        Layout(settings.warehouse_dir), "anomalies", generated.start, generated.end
    )
    window = pd.Timedelta(hours=1)  # a flag in the hour after an incident still counts for it
    matches = incident_matches(anomalies, generated.labels, tolerance=window)
    print(f"\nInjected incidents found: {int(matches['detected'].sum())} of {len(matches)}")
    for m in matches.itertuples(index=False):
        mark = "found" if m.detected else "missed"
        delay = f", first flagged after {m.delay_hours:.0f} h" if m.detected else ""
        print(f"  {mark:<6} {m.kind:<14} {m.endpoint:<28} {m.start:%Y-%m-%d %H}:00{delay}")
    false_alarms = unexplained_anomalies(anomalies, generated.labels, tolerance=window)
    hours = false_alarms[["endpoint", "hour_start"]].drop_duplicates()
    print(f"Endpoint-hours flagged outside any injected incident: {len(hours)}")

    flow_run_id = state.state_details.flow_run_id
    print("\nPrefect artifacts published by the backfill run:")
    for key, kind in _artifacts_of(flow_run_id):
        print(f"  {key} ({kind})")
    print("\nQuery the warehouse:")
    print(
        '  .venv/bin/logcast query "SELECT endpoint, avg(latency_p95_ms) FROM endpoint_hourly GROUP BY 1"'
    )
    print(
        f"  or from Python: duckdb.connect('{settings.duckdb_path}', read_only=True)"
        " (one view per table)"
    )
    route_alerts(settings, generated.start, generated.end)
    print()
    print(_ui_hint(named_server))
    show_result(settings, serve=os.environ.get("LOGCAST_DEMO_SERVE") == "1")
    return 0


DEMO_ALERT = "demo-receiver"
"""The alert the demo adds for the time it routes its incidents, and removes after."""
ALERT_WAIT_SECONDS = 60.0


def route_alerts(
    settings: Settings,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    minimum: str = "high",
    timeout: float = ALERT_WAIT_SECONDS,
) -> list[dict]:
    """Lists the alerts hourly runs would have sent over [start, end), delivered
    the way a user's are: an alert (`logcast alerts add --webhook`: a notification block and
    an automation on the Prefect server PREFECT_API_URL names) routes incident events of
    `minimum` severity or above to a receiver on 127.0.0.1; the incidents' `.opened` and
    `.resolved` events are emitted (`transforms.alerts.replayed_events`, each with an id of
    its own, outside the ledger, which keeps what the flows sent); the notifications that
    arrive within `timeout` seconds are printed and returned. The alert is removed after."""
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    from flows.alert_rules import AlertError, Target, add_alert, list_alerts, remove_alert
    from flows.alerts import report_link
    from flows.receiver import LocalReceiver
    from transforms import alerts as rules

    incidents = read_hours(Layout(settings.warehouse_dir), "incidents", start, end)
    events = rules.replayed_events(incidents, minimum)
    print(
        f"\nAlerts the hourly runs would have sent (incidents of severity {minimum} or above, "
        "routed by a Prefect automation to a webhook receiver on 127.0.0.1):"
    )
    if not events:
        print("  none: no incident reached that severity")
        return []
    with LocalReceiver() as receiver:
        try:
            if any(rule.name == DEMO_ALERT for rule in list_alerts()):
                remove_alert(DEMO_ALERT)  # left by a demo that was stopped half-way
            add_alert(Target("webhook", receiver.url("/alerts")), minimum, DEMO_ALERT)
        except AlertError as exc:
            print(f"  not routed: {exc}")
            return []
        try:
            for event in events:
                emit_event(
                    event=event.name,
                    resource=rules.resource(event),
                    payload=rules.payload(event, report_link(settings, event.incident["start"])),
                    id=uuid.uuid4(),
                )
            EventsWorker.drain_all(at_exit=False)
            got = receiver.wait_for(len(events), timeout)
        finally:
            remove_alert(DEMO_ALERT)
    # the server delivers them in no set order: shown in the order of the events
    order = {(e.incident["incident_id"], e.kind): i for i, e in enumerate(events)}
    got = sorted(got, key=lambda m: order.get(_event_of(m), len(order)))
    for message in got:
        print(f"  {message.get('subject', '')}")
        cause = next(
            (line for line in str(message.get("body", "")).splitlines() if line.startswith("Cause:")),
            "",
        )  # fmt: skip
        if cause:
            print(f"    {cause}")
    if len(got) < len(events):
        print(
            f"  {len(events) - len(got)} of {len(events)} did not arrive within {timeout:g} s "
            "(the server's automations may be slow to start; the events are in its Event Feed)"
        )
    print(
        "Wire Slack the same way (three commands):\n"
        "  .venv/bin/prefect server start &\n"
        "  export PREFECT_API_URL=http://127.0.0.1:4200/api\n"
        "  .venv/bin/logcast alerts add --slack-webhook https://hooks.slack.com/services/T000/B000/XXXX"
    )
    return got


def _event_of(message: dict) -> tuple[str, str]:
    """(incident id, opened/resolved) of a notification, read from its text."""
    lines = str(message.get("body", "")).splitlines()
    incident = next(
        (line.removeprefix("Incident: ") for line in lines if line.startswith("Incident: ")), ""
    )
    words = str(message.get("subject", "")).split()
    kind = words[words.index("incident") + 1] if "incident" in words[:-1] else ""
    return incident, kind


def dashboard_command(settings: Settings) -> str:
    """The one command that opens the dashboard on this home, from the checkout."""
    logcast = Path(sys.executable).parent / "logcast"
    try:
        shown = str(logcast.relative_to(Path.cwd()))
    except ValueError:
        shown = str(logcast)
    return (
        f"LOGCAST_HOME={shlex.quote(str(settings.home.resolve()))} {shlex.quote(shown)} dashboard"
    )


def show_result(settings: Settings, *, serve: bool = False, port: int = 8050) -> Path | None:
    """The end of the demo: writes the daily HTML report of the newest whole day and prints
    its path, then prints the command that opens the dashboard on this home, or (`serve`)
    serves it here until interrupted. Returns the report's path (None without a day)."""
    from flows.reports import newest_day, write_report

    day = newest_day(settings)
    written = None
    if day is None:
        print("\nNo whole day was rolled up, so there is no daily report to write.")
    else:
        written = write_report(settings, day)
        print(f"\nDaily report of {day:%Y-%m-%d}: {written.path}")
    if serve:
        from flows.dashboard.serve import serve as serve_dashboard

        print(f"\nThe dashboard on http://127.0.0.1:{port}/ (Ctrl+C stops it)", flush=True)
        serve_dashboard(
            settings.warehouse_dir, settings.catalog_url, host="127.0.0.1", port=port,
            refresh_seconds=60,
        )  # fmt: skip
    else:
        print("\nOpen the dashboard on the demo data (then http://127.0.0.1:8050/):")
        print(f"  {dashboard_command(settings)}")
    return None if written is None else written.path
