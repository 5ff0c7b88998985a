"""A template whose events per hour leave their forecast, through the flows: a few days of a
hand-written service log in which one message (connections refused) jumps in one hour of the
last day, run hour by hour after a backfill of the days before, and backfilled at once; both
give the same forecasts, anomalies and incidents, the jump is a `template_count` anomaly
named in the incident's probable cause and the report, and the steady templates are scored
without a flag."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.settings import load_settings
from tests.helpers import warehouse_tables

pytestmark = [pytest.mark.flows, pytest.mark.slow]

START = pd.Timestamp("2024-05-20T00:00:00Z")  # a Monday: every day a weekday
DAYS = 5
LAST = START + (DAYS - 1) * pd.Timedelta(days=1)
HOURLY = 6
"""Hours of the last day that have landed: the hourly runs score them one by one."""
JUMP = LAST + pd.Timedelta(hours=4)
REFUSED = "Connection to <IP> refused"
TABLES = {
    "forecasts": "hour_start, service, endpoint, metric",
    "anomalies": "hour_start, service, endpoint, metric",
    "incidents": "service, endpoint, start",
}


def stamp(ts: pd.Timestamp) -> str:
    return f"{ts:%Y-%m-%dT%H:%M:%S}.{ts.microsecond // 1000:03d}Z"


def hour_lines(hour: pd.Timestamp) -> list[str]:
    """One hour of two services' logs: checkout serves carts (INFO, 20 to 25 an hour), logs a
    slow query every hour and two in every third (WARNING), and fails to reach its database
    two or three times an hour (ERROR), 60 more times in the JUMP hour; auth refreshes tokens
    (INFO)."""
    h = hour.hour
    lines = []
    for i in range(20 + (7 * h) % 6):
        ts = hour + pd.Timedelta(seconds=97 * i + 5, milliseconds=13 * i)
        lines.append(
            f"{stamp(ts)} INFO  checkout Cart {4000 + 11 * i + h} loaded in {8 + i % 9} ms"
        )
    for i in range(1 + (h % 3 == 0)):
        ts = hour + pd.Timedelta(minutes=17 + 20 * i, milliseconds=250)
        lines.append(f"{stamp(ts)} WARNING checkout Slow query on orders took {700 + 37 * h} ms")
    refused = 2 + h % 2 + (60 if hour == JUMP else 0)
    for i in range(refused):
        ts = hour + pd.Timedelta(minutes=41, seconds=i * 0.5)
        lines.append(f"{stamp(ts)} ERROR checkout Connection to 10.0.3.{7 + i % 3}:5432 refused")
    for i in range(4):
        ts = hour + pd.Timedelta(minutes=13 * i + 2)
        lines.append(f"{stamp(ts)} INFO  auth Token refreshed for user u{17 + i}")
    return lines


def land(folder: Path, hour: pd.Timestamp) -> None:
    (folder / f"app-{hour:%Y%m%d-%H}.log").write_text("\n".join(hour_lines(hour)) + "\n")


def test_a_template_count_jump_is_flagged_named_and_the_same_hourly_as_backfilled(
    tmp_path, monkeypatch, capsys
):
    from flows.cli import main
    from flows.pipeline import backfill, daily, hourly

    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("LOGCAST_HOME", str(home))
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    for hour in pd.date_range(START, LAST, freq="h", inclusive="left"):
        land(settings.landing_dir, hour)
    backfill(start=START.date(), end=(LAST - pd.Timedelta(days=1)).date(), as_of=LAST)
    shutil.copytree(home, tmp_path / "history")

    hours = pd.date_range(LAST, periods=HOURLY, freq="h")
    for hour in hours:
        land(settings.landing_dir, hour)  # the hour's file lands, and the run after it
        hourly(as_of=hour + pd.Timedelta(hours=1, minutes=5))
    got = warehouse_tables(settings.warehouse_dir, TABLES)

    # the same history, the same files at once, one backfill just after the last run
    shutil.rmtree(home)
    shutil.copytree(tmp_path / "history", home)
    for hour in hours:
        land(settings.landing_dir, hour)
    as_of = hours[-1] + pd.Timedelta(hours=1, minutes=5)
    backfill(start=START.date(), end=LAST.date(), as_of=as_of)
    expected = warehouse_tables(settings.warehouse_dir, TABLES)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)

    capsys.readouterr()
    sql = "SELECT template_id, template FROM log_templates WHERE service = 'checkout'"
    assert main(["query", sql, "--output", "json"]) == 0
    templates = {r["template"]: r["template_id"] for r in json.loads(capsys.readouterr().out)}
    assert REFUSED in templates and len(templates) == 3
    refused = f"template:{templates[REFUSED]}"

    forecasts = expected["forecasts"]
    last_day = forecasts[pd.to_datetime(forecasts["hour_start"], utc=True) >= LAST]
    counted = last_day[last_day["metric"].str.startswith("template:")]
    # every template of both services is modelled and scored every hour of the last day
    assert set(counted["endpoint"]) == {"(logs)"}
    per_series = counted.groupby(["service", "metric"]).size()
    assert per_series.loc["checkout"].to_dict() == {
        f"template:{t}": HOURLY for t in templates.values()
    }
    assert per_series.loc["auth"].tolist() == [HOURLY]  # auth logs one template

    anomalies = expected["anomalies"]
    flagged = anomalies[anomalies["kind"] == "template_count"]
    # the jump, and nothing for the steady templates
    assert list(flagged["metric"]) == [refused]
    row = flagged.iloc[0]
    assert pd.Timestamp(row["hour_start"]) == JUMP
    assert row["service"] == "checkout" and row["endpoint"] == "(logs)"
    assert row["actual"] == 62 and row["direction"] == "spike"  # 60 + 2 (an even hour)

    incidents = expected["incidents"]
    at_jump = incidents[pd.to_datetime(incidents["start"], utc=True) == JUMP]
    assert len(at_jump) == 1
    incident = at_jump.iloc[0]
    # the jump of the template and of the service's errors are one incident
    assert incident["metrics"] == f"log_errors,{refused}"
    cause = incident["probable_cause"]
    ratio = row["actual"] / row["yhat"]
    assert ratio > 5
    times = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x"
    assert (
        f"template '{REFUSED}' (ERROR) at {times} its forecast: "
        f"62 events vs {row['yhat']:.0f} expected"
    ) in cause

    summary = daily(day=LAST.date(), as_of=as_of)
    page = Path(summary["report"]).read_text(encoding="utf-8")
    assert "Templates off their forecast" in page
    assert "<td>Connection to &lt;IP&gt; refused</td><td>ERROR</td><td>62</td>" in page
