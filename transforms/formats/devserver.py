"""Python's development web servers' request logs (`devserver`): Flask's (Werkzeug's),
Django's `runserver` and the standard library's `http.server` (`python -m http.server`), which
write a time without a year's colon or an offset:

    127.0.0.1 - - [16/May/2024 10:20:33] "GET /api/items/7 HTTP/1.1" 200 -
    [16/May/2024 10:20:34] "GET /static/admin/css/base.css HTTP/1.1" 304 0

Werkzeug colours a request line whose status is not 200 when writing to a terminal. Their
start-up lines (` * Running on http://127.0.0.1:5000`, `Starting development server at ...`)
are no requests."""

from __future__ import annotations

import re

from transforms.formats.access import BYTES, STATUS, own_messages, parse_lines
from transforms.formats.base import Field, Format, Parsed, as_text, as_timestamp
from transforms.formats.servicelog import CONTINUATION

_COLOUR = r"(?:\x1b\[[0-9;]*m)*"
DEVSERVER_RE = re.compile(
    r"(?:(?P<client_ip>[^ \[]+) - - )?\[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d)\] "
    rf'"{_COLOUR}(?P<method>[A-Z]+) (?P<path>[^ "]+) HTTP/[\d.]+{_COLOUR}" '
    r"(?P<status>\d{3}) (?P<bytes>\d+|-)"
)
DEVSERVER_MESSAGE = re.compile(
    r"\s*\* .*|WARNING: This is a development server\..*|Press CTRL\+C to quit"
    r"|Watching for file changes with \w+|Performing system checks\.\.\."
    r"|System check identified .*|[A-Z][a-z]+ \d\d?, \d{4} - \d\d:\d\d:\d\d"
    r"|Django version .*|Starting development server at .*|Quit the server with CONTROL-C\."
    r"|(?:Not Found|Bad Request|Forbidden|Method Not Allowed|Unauthorized|Gone"
    r"|Internal Server Error|Service Unavailable): /.*"
    rf"|(?:{CONTINUATION.pattern}).*|[A-Za-z_][\w.]*(?:Error|Exception|DoesNotExist)\b.*"
    r"|(?:[^ \[]+ - - )?\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] code \d{3}, message .*"
    r"|Serving HTTP on .*|Keyboard interrupt received, exiting\."
)
"""What the servers write themselves: Werkzeug's ` * Running on …` and its warning, Django's
system checks and start-up, the warnings `django.request` prints beside the request line
(`Not Found: /favicon.ico`, `Internal Server Error: /x/` with its traceback), and Python's
`http.server`: `Serving HTTP on …` and its error line before a request line
(`… [12/Mar/2024 15:02:32] code 404, message File not found`)."""
LAYOUT = "'127.0.0.1 - - [16/May/2024 10:20:33] \"GET / HTTP/1.1\" 200 -' (Werkzeug, Django)"
_FIELDS = {
    "ts": Field("time", as_timestamp(("%d/%b/%Y %H:%M:%S",)), "a time like 16/May/2024 10:20:33"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
}


def looks_like_devserver(line: str) -> bool:
    return DEVSERVER_RE.fullmatch(line) is not None


def parse_devserver(data: bytes) -> Parsed:
    """Werkzeug's and Django's development server request lines. ts is the time (the host's
    local time, without an offset: taken as UTC); client_ip (Werkzeug's only), method, path
    (with its query), status_code and bytes_sent (Django's; Werkzeug's `-` is null) as
    logged."""
    return parse_lines(
        data,
        DEVSERVER_RE,
        format="devserver",
        expected=f"a Python development server's request log: expected {LAYOUT}",
        prepare=lambda records: (records, ()),
        fields=_FIELDS,
        hint=own_messages(
            DEVSERVER_MESSAGE, "it is a message of the development server itself, not a request"
        ),
    )


DEVSERVER = Format(
    "devserver",
    parse_devserver,
    looks_like_devserver,
    "Python development servers' request logs (Flask/Werkzeug, Django runserver)",
)
FORMATS: list[Format] = [DEVSERVER]
