"""Opening a report in headless Chromium over the DevTools protocol: what rendered, what the
console said, and a PNG of the whole page (`make screenshot`)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Headless, and no connection attempt of its own (updates, sync, safe browsing): this machine
# has no network beyond the package registries.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
CHARTS_JS = """JSON.stringify([...document.querySelectorAll('svg[data-chart]')].map(s => {
  const box = s.getBoundingClientRect();
  return {name: s.dataset.chart, width: box.width, height: box.height,
          marks: s.querySelectorAll('rect,circle,polyline,polygon,line').length};
}))"""


class BrowserError(RuntimeError):
    pass


@dataclass
class PageReport:
    charts: list[dict] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for besides itself (an offline page asks for none)."""


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError(
        "no Chromium found: install Debian's chromium (apt-get install chromium) "
        f"or put one of {', '.join(CHROMIUM_NAMES)} on PATH"
    )


class _Session:
    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.socket = connect(url, max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise BrowserError(f"timed out waiting for {method}")

    def close(self) -> None:
        self.socket.close()


def open_page(path: Path, *, screenshot: Path | None = None, width: int = 900) -> PageReport:
    """Loads `path` in headless Chromium; returns the charts it rendered, the console errors
    and uncaught exceptions, and the other URLs it requested; writes a full-page PNG to
    `screenshot` when given."""
    with _browser(width) as session:
        return _inspect(session, path.resolve(), screenshot, width)


@contextmanager
def _browser(width: int) -> Iterator[_Session]:
    """A headless Chromium of its own (a fresh profile) and a DevTools session on its page."""
    profile = tempfile.mkdtemp(prefix="logcast-chromium-")
    process = subprocess.Popen(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1000",
         "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        port = _devtools_port(process)
        targets = json.load(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10)
        )
        page = next(t for t in targets if t.get("type") == "page")
        session = _Session(page["webSocketDebuggerUrl"])
        try:
            yield session
        finally:
            session.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


class LivePage:
    """A page served over HTTP (a running app), open in headless Chromium: evaluate script in
    it, wait for a condition, and read what its console said."""

    def __init__(self, session: _Session):
        self.session = session

    def evaluate(self, expression: str):
        """The JSON-serialisable value of `expression` in the page (awaited when a promise)."""
        result = self.session.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 60) -> object:
        """Polls `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for: {expression}")
            time.sleep(0.25)

    @property
    def console_errors(self) -> list[str]:
        return _console_errors(self.session.events)

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the middle of the first element
        matching `selector`, scrolled into view: what a user's click sends to the page."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"nothing on the page matches {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.session.call(
                "Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left",
                clickCount=1,
            )  # fmt: skip

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page as it is now."""
        width = self.evaluate("window.innerWidth")
        _capture(self.session, path, int(width))


@contextmanager
def live_page(url: str, *, width: int = 1200) -> Iterator[LivePage]:
    """Opens `url` in headless Chromium, once its load event fired."""
    with _browser(width) as session:
        for domain in ("Page", "Runtime", "Log"):
            session.call(f"{domain}.enable")
        session.call("Page.navigate", url=url)
        session.wait_for("Page.loadEventFired")
        yield LivePage(session)


def _console_errors(events: list[dict]) -> list[str]:
    """The console errors and assertions, uncaught exceptions and error log entries among
    DevTools `events`."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


def _devtools_port(process: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise BrowserError(f"chromium exited with {process.returncode}")
        if "DevTools listening on ws://" in line:
            return int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    raise BrowserError("chromium did not open its DevTools port")


def _inspect(session: _Session, path: Path, screenshot: Path | None, width: int) -> PageReport:
    for domain in ("Page", "Runtime", "Log", "Network"):
        session.call(f"{domain}.enable")
    url = path.as_uri()
    session.call("Page.navigate", url=url)
    session.wait_for("Page.loadEventFired")
    report = PageReport()
    result = session.call("Runtime.evaluate", expression=CHARTS_JS, returnByValue=True)
    report.charts = json.loads(result["result"]["value"])
    report.console_errors = _console_errors(session.events)
    for event in session.events:
        if event.get("method") == "Network.requestWillBeSent":
            requested = event.get("params", {}).get("request", {}).get("url", "")
            if requested != url:
                report.requests.append(requested)
    if screenshot is not None:
        _capture(session, screenshot, width)
    return report


def _capture(session: _Session, path: Path, width: int) -> None:
    """A PNG of the whole page (not just the window) at `width` pixels."""
    height = session.call(
        "Runtime.evaluate",
        expression="document.documentElement.scrollHeight",
        returnByValue=True,
    )["result"]["value"]
    session.call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=int(height),
        deviceScaleFactor=1,
        mobile=False,
    )
    shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
