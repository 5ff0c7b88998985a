"""A local HTTP receiver for webhook notifications: a server on 127.0.0.1 (a free port) that
keeps the JSON body of every POST it gets. The demo routes its alerts to one; the end-to-end
alert tests check what Prefect's automations deliver with one."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalReceiver:
    """Started on construction; `stop` shuts it down (also as a context manager)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.lock = threading.Lock()
        received, lock = self.received, self.lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {"text": body.decode("utf-8", "replace")}
                if not isinstance(parsed, dict):
                    parsed = {"value": parsed}
                with lock:
                    received.append({"path": self.path, **parsed})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def messages(self) -> list[dict]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 90) -> list[dict]:
        """The messages once there are at least `count` (automations run asynchronously on
        the server), or those there are after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.messages()) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.messages()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
