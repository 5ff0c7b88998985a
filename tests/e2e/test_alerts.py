"""Alerts through Prefect's own machinery: `logcast alerts add --webhook` makes a notification
block and an automation on a real `prefect server start`; the hourly runs emit incident
events, and an HTTP receiver on 127.0.0.1 gets one notification per incident opened at or
above the severity, with its cause, and one when it is resolved."""

import subprocess
import time

import pandas as pd
import prefect.settings  # loaded (its logging set up) at collection, not under a test's capsys
import pytest

from bench.processes import free_port
from flows.receiver import LocalReceiver
from tests.helpers import (
    BURST_ERROR,
    LOGCAST,
    SERVICE_LOG_BURST,
    SERVICE_LOG_DAYS,
    SERVICE_LOG_START,
    api,
    land_service_log,
    logcast_runner,
    quiet_env,
)

pytestmark = pytest.mark.e2e

HOUR = pd.Timedelta(hours=1)
LAST = SERVICE_LOG_START + pd.Timedelta(days=SERVICE_LOG_DAYS - 1)


class Receiver(LocalReceiver):
    def wait_for(self, count: int, timeout: float = 90) -> list[dict]:
        got = super().wait_for(count, timeout)
        assert len(got) >= count, f"expected {count} notifications in {timeout} s, got {got}"
        return got


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.stop()


def cli(env: dict, cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LOGCAST, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def incident_events(url: str) -> list[dict]:
    found = api(
        url,
        "/events/filter",
        {"filter": {"event": {"prefix": ["logcast.incident."]}}, "limit": 50},
    )
    return found["events"]


def test_alerts_are_added_listed_removed_and_errors_are_one_sentence(prefect_server, tmp_path):
    env = quiet_env(LOGCAST_HOME=str(tmp_path), PREFECT_API_URL=prefect_server)
    env.pop("SENDGRID_API_KEY", None)
    nowhere = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    unset = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    failures = {
        "no server named": cli(unset, tmp_path, "alerts", "add", "--webhook", "http://a.example/"),
        "no server there": cli(nowhere, tmp_path, "alerts", "list"),
        "bad URL": cli(env, tmp_path, "alerts", "add", "--webhook", "hooks.example.com/x"),
        "bad Slack URL": cli(env, tmp_path, "alerts", "add", "--slack-webhook", "https://x.y/z"),
        "no SendGrid key": cli(env, tmp_path, "alerts", "add", "--email", "ops@example.com"),
        "bad severity": cli(
            env,
            tmp_path,
            "alerts",
            "add",
            "--webhook",
            "http://a.example/",
            "--min-severity",
            "urgent",
        ),  # fmt: skip
        "unknown alert": cli(env, tmp_path, "alerts", "remove", "nothing-here"),
    }
    for case, done in failures.items():
        assert done.returncode != 0, case
        assert "Traceback" not in done.stderr, (case, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("logcast: error: "), (case, done.stderr)
    assert "PREFECT_API_URL" in failures["no server named"].stderr
    assert "no Prefect server answers" in failures["no server there"].stderr
    assert "SENDGRID_API_KEY" in failures["no SendGrid key"].stderr

    logcast = logcast_runner(env, cwd=tmp_path)
    slack = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
    assert "added alert 'team'" in logcast(
        "alerts", "add", "--slack-webhook", slack, "--name", "team"
    )
    keyed = logcast_runner({**env, "SENDGRID_API_KEY": "SG.test"}, cwd=tmp_path)
    keyed("alerts", "add", "--email", "ops@example.com", "--min-severity", "critical")
    listed = logcast("alerts", "list")
    assert "team: slack, severity high or above" in listed
    assert "email-critical: email, severity critical or above" in listed
    again = cli(env, tmp_path, "alerts", "add", "--slack-webhook", slack, "--name", "team")
    assert again.returncode != 0 and "exists" in again.stderr
    # the automation is Prefect's own, as its UI shows it
    automation = api(prefect_server, "/automations/filter", {})
    ours = {a["name"]: a for a in automation}
    assert ours["logcast-team"]["trigger"]["match"]["logcast.severity"] == ["high", "critical"]
    assert ours["logcast-team"]["actions"][0]["type"] == "send-notification"
    logcast("alerts", "remove", "team")
    logcast("alerts", "remove", "email-critical")
    assert "no alerts" in logcast("alerts", "list")


def test_each_incident_at_or_above_the_severity_notifies_once_opened_and_once_resolved(
    prefect_server, receiver, tmp_path
):
    home = tmp_path / "home"
    env = quiet_env(LOGCAST_HOME=str(home), PREFECT_API_URL=prefect_server)
    logcast = logcast_runner(env, cwd=tmp_path)
    hook = f"http://127.0.0.1:{receiver.port}/incidents"
    logcast("alerts", "add", "--webhook", hook, "--min-severity", "high", "--name", "e2e-hook")
    landing = home / "landing"
    try:
        # history: every day before the last, backfilled; its incidents are over, so it
        # announces none
        land_service_log(landing, "history.log", SERVICE_LOG_START, LAST)
        out = logcast(
            "backfill",
            "--start",
            f"{SERVICE_LOG_START:%Y-%m-%d}",
            "--end",
            f"{LAST - HOUR:%Y-%m-%d}",
        )
        assert "incident events" not in out
        # the last day up to the burst, then the hour of the burst is scored: checkout's
        # critical incident (40 failed payments, a new error) and auth's medium one (a new
        # warning) open
        land_service_log(landing, "last-a.log", LAST, SERVICE_LOG_BURST + HOUR)
        out = logcast("run", "--hour", f"{SERVICE_LOG_BURST:%Y-%m-%dT%H:%MZ}")
        assert "incident events sent: 2 opened" in out
        opened = receiver.wait_for(1)
        # the hour after: both are over
        land_service_log(
            landing, "last-b.log", SERVICE_LOG_BURST + HOUR, SERVICE_LOG_BURST + 2 * HOUR
        )
        out = logcast("run", "--hour", f"{SERVICE_LOG_BURST + HOUR:%Y-%m-%dT%H:%MZ}")
        assert "incident events sent: 2 resolved" in out
        receiver.wait_for(2)
        # the same hour again: nothing new to say
        out = logcast("run", "--hour", f"{SERVICE_LOG_BURST + HOUR:%Y-%m-%dT%H:%MZ}")
        assert "incident events" not in out

        # every event reached the server: two incidents opened and resolved, each once,
        # emitted from the hourly flow runs
        deadline = time.monotonic() + 60
        while len(events := incident_events(prefect_server)) < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        kinds = sorted((e["event"], e["resource"]["logcast.service"]) for e in events)
        assert kinds == [
            ("logcast.incident.opened", "auth"),
            ("logcast.incident.opened", "checkout"),
            ("logcast.incident.resolved", "auth"),
            ("logcast.incident.resolved", "checkout"),
        ]
        for event in events:
            roles = {r["prefect.resource.role"] for r in event["related"]}
            assert "flow-run" in roles, event
        severity = {e["resource"]["logcast.service"]: e["payload"]["severity"] for e in events}
        assert severity == {"auth": "medium", "checkout": "critical"}
        checkout = next(e for e in events if e["event"] == "logcast.incident.opened"
                        and e["resource"]["logcast.service"] == "checkout")  # fmt: skip
        assert checkout["resource"]["prefect.resource.id"] == "logcast.endpoint.checkout/(logs)"
        assert BURST_ERROR in checkout["payload"]["probable_cause"]
        assert checkout["payload"]["report"].endswith(f"logcast-{LAST:%Y-%m-%d}.html")

        # the automations have seen all four (medium ones included) once the action run for
        # the last one is recorded; nothing more arrives
        time.sleep(3)
        got = receiver.messages()
        assert [m["path"] for m in got] == ["/incidents", "/incidents"]
        first, second = got
        assert first["subject"].startswith("logcast: critical incident opened on checkout (logs)")
        assert BURST_ERROR in first["body"] and "Cause:" in first["body"]
        assert second["subject"].startswith("logcast: critical incident resolved on checkout")
        assert BURST_ERROR in second["text"]
        assert not any("auth" in m["subject"] for m in got)
        assert opened[0] == first
    finally:
        logcast("alerts", "remove", "e2e-hook")


def test_the_demo_routes_the_alerts_it_would_have_sent_to_a_local_receiver(
    prefect_server, tmp_path, monkeypatch, capsys
):
    from flows.demo import DEMO_ALERT, route_alerts
    from flows.settings import load_settings
    from schemas.forecasts import Incident
    from tests.transforms.test_feedback import incident
    from warehouse.layout import Layout, partition_of

    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path))
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    settings = load_settings()
    start = pd.Timestamp("2026-11-03T10:00:00Z")

    rows = pd.DataFrame(
        [
            incident("shop", "/orders", start, 2, "resolved", "critical"),
            incident("shop", "/search", start + HOUR, 1, "resolved", "medium"),  # below it
            incident("shop", "/cart", start + 5 * HOUR, 1, "open", "high"),
        ]
    )
    rows = rows.assign(
        probable_cause="requests of " + rows["endpoint"] + " at 0.1x its forecast",
        endpoints=rows["endpoint"],
        impact="",
        attribution="",
    )
    path = Layout(settings.warehouse_dir).part_file("incidents", partition_of("incidents", start))
    path.parent.mkdir(parents=True)
    Incident.validate(rows).to_parquet(path)

    with prefect.settings.temporary_settings(
        updates={prefect.settings.PREFECT_API_URL: prefect_server}
    ):
        got = route_alerts(settings, start.floor("D"), start.floor("D") + 24 * HOUR, timeout=90)
        out = capsys.readouterr().out
        # the alert is gone once the demo is over
        assert DEMO_ALERT not in logcast_runner(
            quiet_env(LOGCAST_HOME=str(tmp_path), PREFECT_API_URL=prefect_server), cwd=tmp_path
        )("alerts", "list")
    subjects = [m["subject"] for m in got]
    assert subjects == [
        "logcast: critical incident opened on shop /orders",
        "logcast: critical incident resolved on shop /orders",
        "logcast: high incident opened on shop /cart",
    ]
    assert all(m["path"] == "/alerts" for m in got)
    assert "Cause: requests of /orders at 0.1x its forecast" in got[0]["body"]
    for subject in subjects:
        assert f"  {subject}" in out
    assert "did not arrive" not in out
    assert "logcast alerts add --slack-webhook" in out
