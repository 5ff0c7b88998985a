"""`logcast dashboard` as a user starts it, over the warehouse the CLI tests built, opened in
Debian's headless Chromium: charts with data, the time and region filters applied, an incident
opened with the mix that moved in its window, and no console error."""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.processes import free_port, stop_process
from flows.browser import live_page
from tests.helpers import CLI_DAY, LOGCAST, quiet_env

pytestmark = pytest.mark.e2e

GRAPHS = """JSON.stringify(Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')]
  .map(g => [g.parentElement.id, {
    points: (g.data || []).reduce((n, t) => n + (t.x || []).length, 0),
    traces: g.querySelectorAll('.main-svg .trace').length,
    svgs: g.querySelectorAll('.main-svg').length}])))"""
TEXT = "document.querySelector('{}')?.innerText || ''"


def graphs(page) -> dict:
    return json.loads(page.evaluate(GRAPHS))


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"logcast dashboard exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise AssertionError(f"nothing answered at {url} within {timeout} s")


@contextmanager
def started_dashboard(home: Path, refresh_seconds: int = 5) -> Iterator[str]:
    """`logcast dashboard` on a free port over `home`; yields its URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [LOGCAST, "dashboard", "--host", "127.0.0.1", "--port", str(port),
         "--refresh-seconds", str(refresh_seconds)],
        env=quiet_env(LOGCAST_HOME=str(home)), cwd=home,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, process)
        yield url
    finally:
        stop_process(process)
        said = process.stderr.read()
        assert "Traceback" not in said, said  # a callback that failed on the server


@pytest.fixture
def dashboard(cli_home):
    home, _ = cli_home
    with started_dashboard(home) as url:
        yield url


CHARTS = ("traffic", "percentiles", "latency", "peaks", "status", "regions")
"""The overview's charts that the generated warehouse has data for (it logs no error reason
and no service log: those views say so in a sentence)."""
HAVE_DATA = (
    "{}.every(id => (document.querySelector('#' + id + ' .js-plotly-plot')?.data || [])"
    ".some(t => (t.x || []).length > 0))"
)


def test_the_dashboard_renders_filters_and_opens_an_incident(dashboard):
    with live_page(dashboard) as page:
        page.wait_until(
            HAVE_DATA.format(json.dumps(CHARTS))
            + " && document.querySelector('#incidents-table td') !== null"
            " && document.querySelector('#quality-table td') !== null",
            timeout=120,
        )
        charts = graphs(page)
        for name in CHARTS:
            assert charts[name]["points"] > 0, charts
            assert charts[name]["svgs"] > 0 and charts[name]["traces"] > 0, charts
        assert charts["traffic"]["points"] == 2 * 4 * 24  # 7 d over 4 days: bars and a line
        assert charts["percentiles"]["points"] == 3 * 4 * 24  # p50, p95, p99 per hour
        assert charts["peaks"]["points"] == 24
        assert f"Newest hour {CLI_DAY} 23:00 UTC" in page.evaluate(TEXT.format("#lag"))
        assert "FROM endpoint_hourly" in page.evaluate(
            "document.querySelector('#traffic-sql').textContent"
        )
        assert "FROM latency_sketches" in page.evaluate(
            "document.querySelector('#percentiles-sql').textContent"
        )
        assert "p99" in page.evaluate(TEXT.format("#totals"))
        assert page.evaluate(TEXT.format("#levels-message")).startswith("No service logs")
        assert page.evaluate("document.querySelector('#levels-body').style.display") == "none"
        assert page.evaluate("document.querySelectorAll('button.export').length") >= 10
        assert page.evaluate("document.querySelectorAll('button.parquet').length") >= 10

        # the last 24 hours: one day of hourly points
        page.evaluate("document.querySelector('#range input[value=\"24h\"]').click()")
        page.wait_until(
            f"document.querySelector('#totals').innerText.startsWith('{CLI_DAY} 00:00')"
        )
        page.wait_until(
            "(document.querySelector('#traffic .js-plotly-plot').data[0].x || []).length == 24"
        )

        # an incident: its window minute by minute and its probable cause
        page.wait_until("document.querySelector('#incidents-table input[type=radio]') !== null")
        page.evaluate("document.querySelector('#incidents-table input[type=radio]').click()")
        page.wait_until("document.querySelector('#cause') !== null", timeout=30)
        assert page.evaluate(TEXT.format("#cause")).startswith("Probable cause:")
        page.wait_until(
            "(document.querySelector('#window .js-plotly-plot')?.data || [])"
            ".some(t => (t.x || []).length > 60)",
            timeout=30,
        )
        assert graphs(page)["window"]["traces"] > 0
        assert page.evaluate(TEXT.format("#incident-status")).startswith("Status ")
        page.wait_until("document.querySelector('#moved-table td') !== null", timeout=30)
        assert "status_code" in page.evaluate(TEXT.format("#moved-table"))
        time.sleep(6)  # one refresh of the page from the warehouse
        assert page.evaluate(TEXT.format("#cause")).startswith("Probable cause:")

        # a region: its traffic, and a sentence from the views not broken down by region
        before = page.evaluate(TEXT.format("#totals"))
        page.click("#region")
        page.wait_until(
            "document.querySelector('.dash-dropdown-option input[value=\"us-east-1\"]') !== null"
        )
        page.click('.dash-dropdown-option:has(input[value="us-east-1"])')
        page.wait_until(
            "(document.querySelector('#regions .js-plotly-plot')?.data?.[0]?.x || []).length == 1"
            " && document.querySelector('#status-message').innerText.startsWith('Not broken')",
            timeout=30,
        )
        assert graphs(page)["regions"]["points"] > 0
        assert page.evaluate(TEXT.format("#totals")) != before
        assert "region = 'us-east-1'" in page.evaluate(
            "document.querySelector('#traffic-sql').textContent"
        )
        page.wait_until(HAVE_DATA.format('["traffic"]'))
        assert page.console_errors == []


def test_an_empty_warehouse_says_so_then_fills_in_without_a_restart(cli_home, tmp_path):
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    with started_dashboard(home, refresh_seconds=2) as url, live_page(url) as page:
        page.wait_until("document.querySelector('#empty')?.style.display === 'block'")
        assert page.evaluate(TEXT.format("#empty")).startswith(
            "The warehouse has no hours with metrics yet"
        )
        assert page.evaluate("document.querySelector('#content').style.display") == "none"
        # hours land as the pipeline writes them: whole files renamed into place
        shutil.copytree(cli_home[0] / "warehouse", home / "incoming")
        for table in (home / "incoming").iterdir():
            table.rename(home / "warehouse" / table.name)
        page.wait_until(
            "document.querySelector('#content').style.display === 'block'"
            " && (document.querySelector('#traffic .js-plotly-plot')?.data?.[0]?.x || [])"
            ".length > 0",
            timeout=60,
        )
        assert page.evaluate(TEXT.format("#lag")).startswith(f"Newest hour {CLI_DAY} 23:00 UTC")
        assert page.console_errors == []


def test_no_warehouse_is_one_sentence_and_a_failure(tmp_path):
    done = subprocess.run(
        [LOGCAST, "dashboard", "--port", str(free_port())],
        env=quiet_env(LOGCAST_HOME=str(tmp_path / "home")), cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"logcast: error: no warehouse at {tmp_path / 'home' / 'warehouse'}: run `logcast run` "
        "(or `logcast demo`) first, or set LOGCAST_HOME to the home that holds one"
    ]


def test_logcast_dashboard_writes_a_screenshot_of_the_page(cli_home, tmp_path):
    home, _ = cli_home
    png = tmp_path / "dashboard.png"
    done = subprocess.run(
        [LOGCAST, "dashboard", "--screenshot", str(png)],
        env=quiet_env(LOGCAST_HOME=str(home)), cwd=home,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"wrote {png}: the dashboard over {home / 'warehouse'}")
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width == 1300 and height > 3000  # the whole page, not the window
