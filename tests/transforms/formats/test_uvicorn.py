"""uvicorn's access log behind a container runtime's time (`docker logs -t`), with its own
start-up lines beside it, and the same lines without a time."""

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.prefixes import strip_prefix

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
    assert events.rejects.empty
    own = events.events[events.events["level"].notna()]
    assert own["line_number"].tolist() == [1, 2]
    assert own["message"].tolist() == [
        "Started server process [1]",
        "Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
    ]
    assert set(own["service"]) == {"uvicorn"} and set(own["level"]) == {"INFO"}
    kept = events.events[events.events["level"].isna()]
    assert kept["ts"].iloc[0] == pd.Timestamp("2024-05-16T10:20:33.123456Z")
    assert kept["client_ip"].tolist() == ["172.17.0.1", "::1", "172.17.0.1"]
    assert kept["method"].tolist() == ["GET", "POST", "GET"]
    assert kept["endpoint"].tolist() == ["/items", "/items", "/nope"]
    assert kept["status_code"].tolist() == [200, 201, 404]


def test_an_application_error_and_its_traceback_behind_the_runtimes_time_are_one_event():
    """uvicorn logs an application's exception as an ERROR line and its traceback, each line
    behind the runtime's time: one event, its message the traceback without those times."""
    lines = [
        LINES[2],
        "2024-05-16T10:20:36.000000001Z ERROR:    Exception in ASGI application",
        "2024-05-16T10:20:36.000000002Z Traceback (most recent call last):",
        '2024-05-16T10:20:36.000000003Z   File "/app/main.py", line 9, in read_item',
        "2024-05-16T10:20:36.000000004Z ValueError: boom",
        '2024-05-16T10:20:36.100000000Z INFO:     172.17.0.1:51240 - "GET /boom HTTP/1.1" 500 '
        "Internal Server Error",
    ]
    parsed = registry.parse(("\n".join(lines) + "\n").encode(), "uvicorn")
    assert parsed.records_read == 3
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert events.rejects.empty
    assert events.events["line_number"].tolist() == [1, 2, 6]
    error = events.events.iloc[1]
    assert error["level"] == "ERROR" and error["service"] == "uvicorn"
    assert error["message"] == (
        "Exception in ASGI application\nTraceback (most recent call last):\n"
        '  File "/app/main.py", line 9, in read_item\nValueError: boom'
    )
    assert events.events["status_code"].tolist()[2] == 500
