"""uvicorn's access log behind a container runtime's time (`docker logs -t`), with its own
start-up lines beside it, and the same lines without a time."""

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.prefixes import strip_prefix
from transforms.reason_codes import reason_codes

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
LINES = [
    "2024-05-16T10:20:31.000000001Z INFO:     Started server process [1]",
    "2024-05-16T10:20:31.300000000Z INFO:     Uvicorn running on http://0.0.0.0:8000 "
    "(Press CTRL+C to quit)",
    '2024-05-16T10:20:33.123456789Z INFO:     172.17.0.1:51234 - "GET /items?x=1 HTTP/1.1" 200 OK',
    '2024-05-16T10:20:34.123456789Z INFO:     ::1:51236 - "POST /items HTTP/1.1" 201 Created',
    '2024-05-16T10:20:35.123456789Z INFO:     172.17.0.1:51238 - "GET /nope HTTP/1.1" 404 Not '
    "Found",
]


def test_access_lines_behind_the_runtimes_time_are_requests():
    data = ("\n".join(LINES) + "\n").encode()
    text, prefix = strip_prefix(data)
    assert prefix is None  # the time is the line's: kept
    assert registry.detect(text) == "uvicorn"
    parsed = registry.parse(text, "uvicorn")
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    kept = events.events
    assert kept["ts"].iloc[0] == pd.Timestamp("2024-05-16T10:20:33.123456Z")
    assert kept["client_ip"].tolist() == ["172.17.0.1", "::1", "172.17.0.1"]
    assert kept["method"].tolist() == ["GET", "POST", "GET"]
    assert kept["endpoint"].tolist() == ["/items", "/items", "/nope"]
    assert kept["status_code"].tolist() == [200, 201, 404]
    assert events.rejects["line_number"].tolist() == [1, 2]
    assert set(reason_codes(events.rejects["reasons"])) == {"format_mismatch;not_a_request"}
