"""Service-log anomalies through the flows: a few days of a hand-written service log with an
error burst and a new error message on the last day, backfilled and reported, read back with
`logcast query` and from the report page."""

import json
from pathlib import Path

import pandas as pd
import pytest

from flows.settings import load_settings

START = pd.Timestamp("2024-05-20T00:00:00Z")
DAYS = 5
LAST = START + (DAYS - 1) * pd.Timedelta(days=1)
BURST = LAST + pd.Timedelta(hours=14)
NEW_ERROR = "database connection pool exhausted"


def service_log() -> list[str]:
    """Every hour: checkout places orders and fails a payment every third hour, auth logs
    users in; at BURST, 40 failed payments and a new error message."""
    lines = []
    for hour in pd.date_range(START, periods=DAYS * 24, freq="h"):
        for i in range(6):
            ts = hour + pd.Timedelta(minutes=7 * i + 1)
            lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} INFO checkout order {100 + i} placed")
        ts = hour + pd.Timedelta(minutes=3)
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} INFO auth user alice logged in")
        if hour.hour % 3 == 0:
            ts = hour + pd.Timedelta(minutes=30)
            lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} ERROR checkout payment failed for order 7")
        if hour == BURST:
            for i in range(40):
                ts = hour + pd.Timedelta(minutes=10, seconds=i)
                lines.append(
                    f"{ts:%Y-%m-%dT%H:%M:%SZ} ERROR checkout payment failed for order {200 + i}"
                )
            for i in range(5):
                ts = hour + pd.Timedelta(minutes=20 + i)
                lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ} ERROR checkout {NEW_ERROR}")
    return lines


@pytest.mark.flows
def test_an_error_burst_and_a_new_error_message_are_anomalies_and_reported(
    tmp_path, monkeypatch, capsys
):
    from flows.cli import main
    from flows.pipeline import backfill, daily

    as_of = (LAST + pd.Timedelta(days=1, minutes=20)).to_pydatetime()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOGCAST_HOME", str(tmp_path / "home"))
    settings = load_settings()
    settings.landing_dir.mkdir(parents=True)
    (settings.landing_dir / "checkout.log").write_text("\n".join(service_log()) + "\n")
    backfill(start=START.date(), end=LAST.date(), as_of=as_of)
    summary = daily(day=LAST.date(), as_of=as_of)

    capsys.readouterr()
    assert (
        main(["query", "SELECT * FROM anomalies ORDER BY hour_start, metric", "--output", "json"])
        == 0
    )
    anomalies = pd.DataFrame(json.loads(capsys.readouterr().out))
    errors = anomalies[anomalies["kind"] == "log_errors"]
    burst = errors[pd.to_datetime(errors["hour_start"], utc=True) == BURST]
    assert list(burst["service"]) == ["checkout"]
    assert list(burst["endpoint"]) == ["(logs)"]
    assert burst["actual"].iloc[0] == 40 + 5  # the failed payments and the new errors
    new = anomalies[anomalies["kind"] == "new_pattern"]
    # the hourly payment failure was new once, in the first hour; nothing else but the new
    # error since (the INFO messages never)
    assert (pd.to_datetime(new["hour_start"], utc=True) == START).sum() == 1
    new = new[pd.to_datetime(new["hour_start"], utc=True) > START]
    assert len(new) == 1
    assert (pd.to_datetime(new["hour_start"], utc=True) == BURST).all()
    assert new["actual"].iloc[0] == 5

    assert main(["query", "SELECT * FROM incidents", "--output", "json"]) == 0
    incidents = pd.DataFrame(json.loads(capsys.readouterr().out))
    cause = " ".join(incidents["probable_cause"])
    assert NEW_ERROR in cause

    page = Path(summary["report"]).read_text(encoding="utf-8")
    assert "Service logs" in page
    assert NEW_ERROR in page
    assert "payment failed for order" in page
    assert 'data-chart="log-levels-checkout"' in page
