"""Serving the dashboard: in the foreground (`logcast dashboard`), or on a free local port in a
thread for as long as a block runs (a screenshot, the demo's check that the page answers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from flows.dashboard.app import OVERVIEW, create_app

READY = """(() => {{
  const shown = id => document.querySelector('#' + id + '-body')?.style.display === 'block';
  const drawn = id => (document.querySelector('#' + id + ' .js-plotly-plot')?.data || [])
    .some(t => (t.x || []).length > 0);
  const said = id => (document.querySelector('#' + id + '-message')?.innerText || '') !== '';
  return {charts}.every(id => (shown(id) && drawn(id)) || said(id))
    && document.querySelector('#runs-table td') !== null;
}})()"""
"""True once every overview chart holds data or says in a sentence why it has none, and the
pipeline-health tables are filled."""


def serve(warehouse: Path, catalog_url: str, *, host: str, port: int, refresh_seconds: int):
    """Serves the dashboard until interrupted."""
    app = create_app(warehouse, catalog_url, refresh_seconds=refresh_seconds)
    app.run(host=host, port=port, debug=False)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per request is noise here
        pass


@contextmanager
def served(warehouse: Path, catalog_url: str, refresh_seconds: int = 60) -> Iterator[str]:
    """The dashboard on a free port of 127.0.0.1 in a thread; yields its URL."""
    app = create_app(warehouse, catalog_url, refresh_seconds=refresh_seconds)
    server = make_server("127.0.0.1", 0, app.server, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(timeout=30)


def screenshot(warehouse: Path, catalog_url: str, path: Path, *, width: int = 1300) -> list[str]:
    """Serves the dashboard, opens it in headless Chromium, selects the newest incident when
    there is one, and writes a PNG of the whole page to `path` once everything is drawn;
    returns the console errors."""
    from flows.browser import live_page

    charts = json.dumps([name for name, _, chart, _ in OVERVIEW if chart])
    with served(warehouse, catalog_url) as url, live_page(url, width=width) as page:
        page.wait_until(READY.format(charts=charts), timeout=120)
        if page.evaluate("document.querySelector('#incidents-table input[type=radio]') !== null"):
            page.click("#incidents-table input[type=radio]")
            page.wait_until(
                "(document.querySelector('#window .js-plotly-plot')?.data || [])"
                ".some(t => (t.x || []).length > 0)",
                timeout=60,
            )
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path)
        return page.console_errors
