"""The daily report: written by the daily flow against a real Prefect server, linked from
its artifacts, and rendered by Debian's headless Chromium."""

import pytest

from flows.browser import open_page
from tests.helpers import CLI_DAY, api

pytestmark = pytest.mark.e2e

DAY = CLI_DAY


@pytest.fixture
def home(cli_home):
    return cli_home


def test_the_daily_run_links_its_report_and_tells_what_happened(home, prefect_server):
    home_dir, _ = home
    report = home_dir / "reports" / f"logcast-{DAY}.html"
    assert report.exists()
    runs = api(prefect_server, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 20})
    daily = next(
        r for r in runs if r["parameters"].get("day") == DAY and r["state_type"] == "COMPLETED"
    )
    artifacts = {
        a["key"]: a
        for a in api(
            prefect_server,
            "/artifacts/filter",
            {"artifacts": {"flow_run_id": {"any_": [daily["id"]]}}},
        )
    }
    assert artifacts["logcast-daily-report"]["type"] == "markdown"  # a link artifact
    assert report.as_uri() in artifacts["logcast-daily-report"]["data"]
    insights = artifacts["logcast-daily-insights"]["data"]
    assert "requests with an error rate of" in insights and "Peak hour:" in insights
    assert {"logcast-daily-summary", "logcast-anomalies"} <= set(artifacts)


def test_chromium_renders_every_chart_offline_with_no_console_error(home):
    home_dir, _ = home
    page = open_page(home_dir / "reports" / f"logcast-{DAY}.html")
    names = [c["name"] for c in page.charts]
    assert {
        "error-rate",
        "endpoint-latency",
        "hourly-traffic",
        "status-mix",
        "error-reasons",
    } <= set(names)
    assert sum(n.startswith("latency-") for n in names) == 4  # one per endpoint
    for chart in page.charts:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["marks"] > 0, chart
    assert page.console_errors == []
    assert page.requests == []  # nothing fetched: it works offline


def test_logcast_report_writes_a_screenshot(home, tmp_path):
    _, logcast = home
    png = tmp_path / "report.png"
    out = logcast("report", "--day", DAY, "--screenshot", str(png))
    assert f"logcast-{DAY}.html" in out and "9 of 9 charts rendered" in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
