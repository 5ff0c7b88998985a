"""Requests inside log messages: an app server's access line written through a logging
framework, so that it arrives as the message of a service-log event (uvicorn's and gunicorn's
access loggers under Python `logging` with a time in the format, Django's `django.server`,
Werkzeug's, morgan's lines inside a winston or pino record, OpenStack's APIs under oslo.log).
Such an event is a request: its
method, path and status (and its client, bytes and duration where the line has them) come
from the message, which it keeps."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.base import arrow_text

_METHOD = r"(?P<method>[A-Z][A-Z0-9_-]{1,15})"
_PATH = r"(?P<path>/\S*|\*|[a-z][a-z0-9+.-]*://\S+)"
_VERSION = r" HTTP/\d(?:\.\d)?"
PATTERNS = (
    # uvicorn's access logger: 172.17.0.1:51234 - "GET /items?x=1 HTTP/1.1" 200
    re.compile(
        rf'(?P<client>[0-9A-Fa-f.:]+|\[[0-9A-Fa-f:.]+\]):\d{{1,5}} - "{_METHOD} {_PATH}{_VERSION}" '
        r"(?P<status>\d{3})\b"
    ),
    # a Common Log Format line: gunicorn's access logger, Werkzeug's, morgan's `combined`,
    # Quarkus' (its time without brackets), Reactor Netty's (Spring Cloud Gateway, WebFlux:
    # its duration in ms last)
    re.compile(
        rf'(?P<client>[^ "]+) \S+ \S+ (?:\[[^\]]+\]|\S+ [+-]\d{{4}}) "{_METHOD} {_PATH}(?:{_VERSION})?" '
        r"(?P<status>\d{3}) (?P<bytes>\d+|-)(?: (?P<ms>\d+)$)?"
    ),
    # Django's development server (`django.server`): "GET /api/ HTTP/1.1" 200 1234
    re.compile(rf'"{_METHOD} {_PATH}{_VERSION}" (?P<status>\d{{3}})(?: (?P<bytes>\d+|-))?'),
    # eventlet's WSGI server (OpenStack's APIs), after oslo.log's request context:
    # [req-...] 10.11.10.1 "GET /v2/servers HTTP/1.1" status: 200 len: 1893 time: 0.2477829
    re.compile(
        rf'(?:\[[^\]]*\] )?(?P<client>[0-9A-Fa-f.:]+)(?:,[0-9A-Fa-f.:, ]+)? "{_METHOD} {_PATH}'
        rf'{_VERSION}" status: (?P<status>\d{{3}})\s+len: (?P<bytes>\d+)\s+time: '
        r"(?P<seconds>\d+(?:\.\d+)?)"
    ),
    # actix-web's `Logger::default()`: 127.0.0.1 "GET / HTTP/1.1" 200 12 "-" "curl/8" 0.000123
    re.compile(
        rf'(?P<client>[^ "]+) "{_METHOD} {_PATH}{_VERSION}" (?P<status>\d{{3}}) '
        r'(?P<bytes>\d+|-) "[^"]*" "[^"]*" (?P<seconds>\d+\.\d+)'
    ),
    # chi's middleware.Logger: "GET http://host/x HTTP/1.1" from 127.0.0.1:5 - 200 12B in 45.2µs
    re.compile(
        rf'"{_METHOD} {_PATH}{_VERSION}" from (?P<client>\S+?)(?::\d{{1,5}})? - '
        r"(?P<status>\d{3}) (?P<bytes>\d+)B in (?P<duration>\d+(?:\.\d+)?(?:ns|µs|μs|us|ms|s))"
    ),
    # ASP.NET Core's hosting diagnostics: Request finished HTTP/1.1 GET http://h/x - 200 - ... 12.3ms
    re.compile(
        rf"Request finished (?:in )?HTTP/\S+ {_METHOD} {_PATH} - (?P<status>\d{{3}}) "
        r"(?P<bytes>\d+|-|null) .*?(?P<ms>\d+(?:\.\d+)?)ms$"
    ),
    # Beego's router: |      127.0.0.1| 200 |   1.234567ms|   match| GET      /api/users   r:/x
    re.compile(
        r"\|\s*(?P<client>[0-9A-Fa-f.:]+)\s*\|\s*(?P<status>\d{3})\s*\|\s*"
        r"(?P<duration>\d+(?:\.\d+)?(?:ns|µs|μs|us|ms|s))\s*\|\s*\w+\s*\|\s*"
        rf"{_METHOD}\s+{_PATH}"
    ),
    # Heroku's router, in a drain or an archive: at=info method=GET path="/x" host=...
    # request_id=... fwd="1.2.3.4" dyno=web.1 connect=1ms service=331ms status=200 bytes=6568
    re.compile(
        r'at=\w+ (?:code=\S+ desc="[^"]*" )?method=(?P<method>[A-Z]+) path="?(?P<path>[^" ]+)"? '
        r'.*?\bfwd="?(?P<client>[^", ]+)[^ ]* .*?\bservice=(?P<duration>\d+ms) '
        r"status=(?P<status>\d{3}) bytes=(?P<bytes>\d+)"
    ),
    # Gitea's and Forgejo's router: router: completed GET /x for 172.18.0.1:0, 200 OK in 12.5ms
    # (before 1.20: Completed GET /x 200 OK in 3.1ms, its client on the `Started` line before)
    re.compile(
        rf"(?:router: completed|Completed) {_METHOD} {_PATH}(?: for (?P<client>[^,\s]+?)"
        r"(?::\d{1,5})?,)? (?P<status>\d{3})\b[^@]*? in "
        r"(?P<duration>\d+(?:\.\d+)?(?:ns|µs|μs|us|ms|s))"
    ),
    # morgan's `dev` (GET /x 200 12.345 ms - 123) and `tiny` (GET /x 200 123 - 12.345 ms)
    re.compile(
        rf"{_METHOD} {_PATH} (?P<status>\d{{3}}) "
        r"(?:(?P<ms>\d+(?:\.\d+)?) ms(?: - (?:\d+|-))?|(?P<bytes>\d+|-) - (?P<ms2>\d+(?:\.\d+)?) ms)"
    ),
)
"""The access lines read from a message's start (after a Java logger's `(thread)`), in this
order."""
_THREAD = re.compile(r"^\([\w .:/-]+\) ")
_LEVEL = re.compile(r"^(?:TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL):\s+")
"""uvicorn's own level before its access line (`INFO:     172.17.0.1:51234 - "GET / ..."`), as
a journal or a shipper keeps the line whole."""
_CANDIDATE = r"HTTP/\d|\d ms\b|\|\s*\d{3}\s*\||\bstatus=\d{3} bytes=|[Cc]ompleted [A-Z]+ /"
"""What a message holding one of `PATTERNS` has somewhere (a cheap screen before the regexes)."""
COLUMNS = ("method", "path", "status_code", "bytes_sent", "client_ip", "latency_ms")


def message_requests(messages: pd.Series) -> pd.DataFrame | None:
    """For each message that starts with one of `PATTERNS`, its request's fields as text
    (`COLUMNS`, latency in ms), indexed like `messages`; None when no message does."""
    from transforms.formats.servicelog import duration_ms  # servicelog reads through here

    if not len(messages):
        return None
    text = arrow_text(messages.astype("str"))
    screened = pc.fill_null(pc.match_substring_regex(text, _CANDIDATE), False)
    rows = np.flatnonzero(screened.to_numpy(zero_copy_only=False))
    if not len(rows):
        return None
    values = pa.chunked_array(text).take(pa.array(rows)).to_pylist()
    found: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    kept: list[int] = []
    for row, message in zip(rows.tolist(), values, strict=True):
        for pattern in PATTERNS:
            match = pattern.match(_LEVEL.sub("", _THREAD.sub("", message.lstrip(), count=1)))
            if match is None:
                continue
            groups = match.groupdict()
            kept.append(row)
            found["method"].append(groups["method"])
            found["path"].append(groups["path"])
            found["status_code"].append(groups["status"])
            found["bytes_sent"].append(
                groups.get("bytes") if groups.get("bytes") not in (None, "-") else None
            )
            found["client_ip"].append(groups.get("client"))
            seconds, duration = groups.get("seconds"), groups.get("duration")
            milliseconds = (
                repr(float(seconds) * 1000)
                if seconds
                else repr(duration_ms(duration))
                if duration
                else None
            )
            found["latency_ms"].append(groups.get("ms") or groups.get("ms2") or milliseconds)
            break
    if not kept:
        return None
    index = messages.index[kept]
    return pd.DataFrame({c: pd.Series(v, index=index, dtype="str") for c, v in found.items()})
