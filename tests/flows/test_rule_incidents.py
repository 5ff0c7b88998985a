"""A [[rules]] threshold through a backfill: its anomalies in the anomalies table, and the
incident naming the rule."""

import pandas as pd
import pytest

from flows.alerts import feedback_summary
from flows.compute import score_hours
from flows.pipeline import backfill
from flows.reports import write_report
from flows.settings import load_settings
from warehouse.catalog import Catalog
from warehouse.layout import DAILY_TABLES
from warehouse.query import query

pytestmark = pytest.mark.flows

DAY = pd.Timestamp("2026-11-03T00:00:00Z")
AS_OF = pd.Timestamp("2026-11-04T13:05:00Z").to_pydatetime()
RULES = """
[[rules]]
name = "checkout p95"
metric = "latency_p95_ms"
service = "*"
endpoint = "/checkout"
above = 800
for = "10m"
severity = "high"

[[rules]]
name = "never"
metric = "latency_p95_ms"
above = 800
for = "30m"
"""


def test_a_rule_breach_is_an_anomaly_and_an_incident_naming_the_rule(
    prefect_harness, tmp_path, monkeypatch
):
    """Every minute of the day has a request on /checkout and /home; /checkout's latency is
    1,240 ms from 14:50 to 15:14 (25 minutes), 50 ms otherwise, and /home's 900 ms for
    9 minutes only."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "home"))
    (tmp_path / "logcast.toml").write_text(RULES)
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    slow = (DAY + pd.Timedelta(hours=14, minutes=50), DAY + pd.Timedelta(hours=15, minutes=15))
    home_slow = (DAY + pd.Timedelta(hours=9), DAY + pd.Timedelta(hours=9, minutes=9))
    lines = ["timestamp,endpoint,response_time_ms,status_code,user_id"]
    for minute in pd.date_range(DAY, periods=24 * 60, freq="min"):
        latency = 1240 if slow[0] <= minute < slow[1] else 50
        lines.append(f"{minute:%Y-%m-%dT%H:%M:%SZ},/checkout,{latency},200,u1")
        latency = 900 if home_slow[0] <= minute < home_slow[1] else 40
        lines.append(f"{minute:%Y-%m-%dT%H:%M:%SZ},/home,{latency},200,u2")
    (settings.landing_dir / "a.csv").write_text("\n".join(lines) + "\n")

    backfill(start=DAY.date(), end=DAY.date(), as_of=AS_OF)

    rules = query(
        settings.warehouse_dir,
        "SELECT hour_start, endpoint, metric, actual, yhat, severity, method FROM anomalies "
        "WHERE kind = 'rule' ORDER BY hour_start",
    )
    assert rules[
        ["endpoint", "metric", "actual", "yhat", "severity", "method"]
    ].values.tolist() == [
        ["/checkout", "rule:checkout p95", 1240.0, 800.0, "high", "rule"],
        ["/checkout", "rule:checkout p95", 1240.0, 800.0, "high", "rule"],
    ]
    assert pd.to_datetime(rules["hour_start"], utc=True).tolist() == [
        DAY + pd.Timedelta(hours=14),
        DAY + pd.Timedelta(hours=15),
    ]
    found = query(
        settings.warehouse_dir,
        "SELECT incident_id, service, endpoint, start, peak_severity, metrics, probable_cause, "
        "status FROM incidents "
        "WHERE metrics LIKE '%rule:%'",
    )
    assert len(found) == 1
    incident = found.iloc[0]
    assert incident["endpoint"] == "/checkout"
    assert pd.Timestamp(incident["start"]).tz_convert("UTC") == DAY + pd.Timedelta(hours=14)
    assert incident["peak_severity"] in ("high", "critical")
    assert incident["status"] == "resolved"
    assert (
        "rule 'checkout p95': latency_p95_ms 1,240 above 800 for 25 min"
        in (incident["probable_cause"])
    )

    # the breach's hours again, one at a time as the hourly runs score them: the same rows
    orders = {
        "anomalies": "hour_start, service, endpoint, metric",
        "incidents": "service, endpoint, start",
    }
    before = {name: table(settings, name, order) for name, order in orders.items()}
    for hour in pd.date_range(DAY + pd.Timedelta(hours=14), periods=3, freq="h"):
        score_hours(DAY, pd.DatetimeIndex([hour]), settings=settings, run_id="hour-by-hour")
    for name, order in orders.items():
        pd.testing.assert_frame_equal(table(settings, name, order), before[name], obj=name)

    # maintenance and a false alarm said afterwards: the artifact and the report show them
    catalog = Catalog(settings.catalog_url)
    window = (DAY + pd.Timedelta(hours=14), DAY + pd.Timedelta(hours=16))
    catalog.add_mute(incident["service"], "/checkout", *window, "checkout deploy")
    catalog.record_feedback(incident["incident_id"], "false-alarm", "load test")
    # too young for forecasts: the newest hour scored it knows of is the rule's last, 15:00
    assert feedback_summary(settings) == [
        f"mute 1: {incident['service']} /checkout 2026-11-03 14:00 to 16:00 UTC (checkout deploy)",
        f"incident {incident['incident_id']} ({incident['service']} /checkout, from "
        "2026-11-03 14:00 UTC): false alarm: load test; muted: checkout deploy",
    ]
    page = write_report(settings, DAY).path.read_text()
    assert "<td>false alarm: load test</td>" in page and "<td>checkout deploy</td>" in page


def table(settings, name, order):
    partition = "date" if name in DAILY_TABLES else "date, hour"
    return query(
        settings.warehouse_dir, f"SELECT * EXCLUDE ({partition}) FROM {name} ORDER BY {order}"
    )
