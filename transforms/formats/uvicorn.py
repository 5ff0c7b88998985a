"""uvicorn's access log (`uvicorn`), the lines it writes for each request, as its default
logging config formats them (`%(levelprefix)s %(client_addr)s - "%(request_line)s"
%(status_code)s`), behind the time a container runtime puts before each line:

    2024-05-16T10:20:33.123456789Z INFO:     172.17.0.1:51234 - "GET /items HTTP/1.1" 200 OK

uvicorn writes no time of its own: `docker logs -t` and `kubectl logs --timestamps` give it
one, and the line is read with it (the prefix is not stripped, since the lines as written are
this format). uvicorn's other lines there (`INFO:     Started server process [1]`, an
application's error with its traceback) are its log events."""

from __future__ import annotations

import re

from transforms.formats.access import STATUS, iso_time, own_messages, parse_lines
from transforms.formats.access.lines import OwnEvents
from transforms.formats.base import ZONED_ISO_TIME, Field, Format, Parsed, as_text
from transforms.formats.own_events import layout_events
from transforms.formats.servicelog import CONTINUATION

_COLOUR = r"(?:\x1b\[[0-9;]*m)?"
_LEVEL = r"(?:TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL)"
UVICORN_RE = re.compile(
    rf"(?P<time>{ZONED_ISO_TIME}) {_COLOUR}{_LEVEL}{_COLOUR}:\s+(?P<client_ip>[^ ]+?)(?::\d+)? - "
    r'"(?P<method>[A-Z]+) (?P<path>[^ "]+) HTTP/[\d.]+" '
    rf"{_COLOUR}(?P<status>\d{{3}})(?: [^\x1b]*)?{_COLOUR}"
)
UVICORN_MESSAGE = re.compile(
    rf"(?P<ts>{ZONED_ISO_TIME}) {_COLOUR}(?P<level>{_LEVEL}){_COLOUR}:\s+(?P<message>.*)"
)
"""uvicorn's own line behind the runtime's time."""
_TIMED_CONTINUATION = re.compile(rf"{ZONED_ISO_TIME} (?:{CONTINUATION.pattern})")
"""A traceback's line behind the runtime's time."""
UVICORN_EVENTS = OwnEvents(
    "uvicorn itself",
    UVICORN_MESSAGE,
    layout_events(
        "uvicorn",
        UVICORN_MESSAGE,
        "'<time> INFO:     <message>' (uvicorn's own line)",
        service="uvicorn",
        continuation=_TIMED_CONTINUATION,
        joined_prefix=re.compile(rf"{ZONED_ISO_TIME} "),
    ),
    _TIMED_CONTINUATION,
)
"""uvicorn's own lines (its start and stop, an application's errors) behind the runtime's
time: its log events, service `uvicorn`; a traceback's lines join the error before them."""
TIMELESS = re.compile(
    rf"{_COLOUR}{_LEVEL}{_COLOUR}:\s+[^ ]+?(?::\d+)? - \"[A-Z]+ [^ \"]+ HTTP/[\d.]+\" {_COLOUR}\d{{3}}\b.*"
)
"""uvicorn's access line as it writes it, with no time before it."""
LAYOUT = "'<time> INFO:     172.17.0.1:51234 - \"GET /items HTTP/1.1\" 200 OK'"
_FIELDS = {
    "ts": Field("time", iso_time, "an RFC 3339 time"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
}


def looks_like_uvicorn(line: str) -> bool:
    return UVICORN_RE.fullmatch(line) is not None


def parse_uvicorn(data: bytes) -> Parsed:
    """uvicorn access lines behind a runtime's time. ts is that time (when the runtime got the
    line, just after the response); client_ip the client's address without its port; method
    and path (with its query) from the request line; status_code. uvicorn logs no duration
    and no size."""
    return parse_lines(
        data,
        UVICORN_RE,
        format="uvicorn",
        expected=f"uvicorn's access log behind a runtime's time: expected {LAYOUT}",
        prepare=lambda records: (records, ()),
        fields=_FIELDS,
        hint=own_messages(
            UVICORN_MESSAGE, "it is a message of uvicorn itself (its start, its app), not a request"
        ),
        events=(UVICORN_EVENTS,),
    )


UVICORN = Format(
    "uvicorn",
    parse_uvicorn,
    looks_like_uvicorn,
    "uvicorn's access log behind a container runtime's time (docker logs -t)",
)
FORMATS: list[Format] = [UVICORN]
