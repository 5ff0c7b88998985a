"""Python's development servers' request logs: Werkzeug's (Flask), coloured or not, and
Django's runserver, with their start-up lines beside them."""

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.reason_codes import reason_codes

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
FLASK = [
    " * Serving Flask app 'app'",
    " * Running on http://127.0.0.1:5000",
    "Press CTRL+C to quit",
    '127.0.0.1 - - [16/May/2024 10:20:33] "GET /api/items/7?x=1 HTTP/1.1" 200 -',
    '127.0.0.1 - - [16/May/2024 10:20:35] "\x1b[33mGET /favicon.ico HTTP/1.1\x1b[0m" 404 -',
    '127.0.0.1 - - [16/May/2024 10:20:37] "\x1b[35m\x1b[1mGET /boom HTTP/1.1\x1b[0m" 500 -',
]
DJANGO = [
    "Watching for file changes with StatReloader",
    "Performing system checks...",
    "System check identified no issues (0 silenced).",
    "May 16, 2024 - 10:20:30",
    "Django version 5.0.6, using settings 'mysite.settings'",
    "Starting development server at http://127.0.0.1:8000/",
    "Quit the server with CONTROL-C.",
    '[16/May/2024 10:20:33] "GET / HTTP/1.1" 200 10629',
    '[16/May/2024 10:20:34] "GET /static/admin/css/base.css HTTP/1.1" 304 0',
]


def read(lines):
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "devserver"
    parsed = registry.parse(data, "devserver")
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert set(reason_codes(events.rejects["reasons"])) == {"format_mismatch;not_a_request"}
    return events.events


def test_flasks_werkzeug_lines_coloured_or_not():
    kept = read(FLASK)
    assert kept["ts"].iloc[0] == pd.Timestamp("2024-05-16T10:20:33Z")
    assert kept["endpoint"].tolist() == ["/api/items/{id}", "/favicon.ico", "/boom"]
    assert kept["status_code"].tolist() == [200, 404, 500]
    assert kept["client_ip"].tolist() == ["127.0.0.1"] * 3
    assert kept["bytes_sent"].isna().all()


def test_djangos_runserver_lines():
    kept = read(DJANGO)
    assert kept["method"].tolist() == ["GET", "GET"]
    assert kept["status_code"].tolist() == [200, 304]
    assert kept["bytes_sent"].tolist() == [10629, 0]
    assert kept["client_ip"].isna().all()


def test_djangos_console_with_its_warnings_and_a_traceback():
    lines = [
        "Watching for file changes with StatReloader",
        "Performing system checks...",
        "System check identified no issues (0 silenced).",
        "May 16, 2024 - 10:20:28",
        "Django version 5.0.6, using settings 'mysite.settings'",
        "Starting development server at http://127.0.0.1:8000/",
        "Quit the server with CONTROL-C.",
        '[16/May/2024 10:20:30] "GET /api/users/ HTTP/1.1" 200 1532',
        "Not Found: /favicon.ico",
        '[16/May/2024 10:20:30] "GET /favicon.ico HTTP/1.1" 404 2110',
        "Internal Server Error: /api/orders/7/",
        "Traceback (most recent call last):",
        '  File "/app/orders/views.py", line 14, in detail',
        "    order = Order.objects.get(pk=pk)",
        "orders.models.Order.DoesNotExist: Order matching query does not exist.",
        '[16/May/2024 10:20:31] "GET /api/orders/7/ HTTP/1.1" 500 145',
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "devserver"
    parsed = registry.parse(data, "devserver")
    assert parsed.candidates["status_code"].tolist() == [200, 404, 500]
    assert set(reason_codes(parsed.rejects["reasons"])) == {"format_mismatch;not_a_request"}


def test_pythons_http_server_is_read_with_its_own_lines_as_no_request():
    data = (
        b"Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...\n"
        b'203.0.113.10 - - [12/Mar/2024 15:02:11] "GET /pets HTTP/1.1" 200 -\n'
        b"203.0.113.45 - - [12/Mar/2024 15:02:32] code 404, message File not found\n"
        b'203.0.113.45 - - [12/Mar/2024 15:02:32] "GET /pets/999 HTTP/1.1" 404 -\n'
        b"203.0.113.10 - - [12/Mar/2024 15:03:07] code 501, message Unsupported method ('POST')\n"
        b'203.0.113.10 - - [12/Mar/2024 15:03:07] "POST /login HTTP/1.1" 501 -\n'
    )
    assert registry.detect(data) == "devserver"
    parsed = registry.parse(data, "devserver")
    assert parsed.candidates["status_code"].tolist() == [200, 404, 501]
    assert parsed.rejects["line_number"].tolist() == [1, 3, 5]
    assert set(reason_codes(parsed.rejects["reasons"])) == {"format_mismatch;not_a_request"}
