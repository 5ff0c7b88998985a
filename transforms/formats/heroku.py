"""Heroku's router log (`heroku`): one key=value line per request the router served, as
`heroku logs` prints it or a log drain delivers it (RFC 5424, with its octet count or not):

    2024-05-26T11:42:52.601635+00:00 heroku[router]: at=info method=GET path="/" host=app.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="204.204.204.204" dyno=web.1 connect=0ms service=18ms status=200 bytes=13 protocol=https
    <158>1 2024-05-26T11:42:52.601635+00:00 host heroku router - at=error code=H12 desc="Request timeout" method=GET path="/" ... service=30000ms status=503 bytes=0

The app's own output and the platform's messages in the same stream (`app[web.1]: ...`,
`heroku[web.1]: State changed ...`) are log events of their dyno, and count for the format
when detecting it."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.access import BYTES, STATUS, iso_time, own_messages, parse_lines
from transforms.formats.access.lines import OwnEvents
from transforms.formats.attributes import COLUMN_PREFIX
from transforms.formats.base import ZONED_ISO_TIME, Field, Format, Parsed, as_text
from transforms.formats.own_events import layout_events
from transforms.formats.servicelog import KEY_VALUE, as_duration_ms, unquoted

_DRAIN = r"(?:\d+ )?<\d{1,3}>\d{1,2} "  # a drain's octet count and syslog PRI and version
HEROKU_RE = re.compile(
    rf"(?:{_DRAIN})?(?P<time>{ZONED_ISO_TIME}) (?:heroku\[router\]:|\S+ heroku router -) "
    r"(?P<pairs>(?:[\w-]+=\S* )*at=\S*(?: .*)?)"  # `sock=client` may come first (H18, H27)
)
PLATFORM_LINE = re.compile(
    rf"(?:{_DRAIN})?{ZONED_ISO_TIME} (?:(?:app|heroku)\[[^\]\s]+\]:|\S+ (?:app|heroku) \S+ -)"
)
"""Any line of a Heroku app's log stream: the app's own output and the platform's messages."""
_PLATFORM_ERROR = re.compile(r"Error [A-Z]\d{2}\b")
"""Heroku's error codes in the platform's messages (`Error R14 (Memory quota exceeded)`)."""


def _platform_errors(records: pd.DataFrame) -> pd.DataFrame:
    """A platform message that reports one of Heroku's error codes is an ERROR."""
    coded = records["message"].str.match(_PLATFORM_ERROR.pattern).fillna(False).astype(bool)
    if coded.any():
        records.loc[coded, "level"] = "ERROR"
    return records


_LOGGED_LEVEL = r"(?:\[?(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)\]?:? )?"
DYNO_EVENTS = OwnEvents(
    "the app and the Heroku platform",
    re.compile(rf"{PLATFORM_LINE.pattern} ?.*"),
    layout_events(
        "Heroku app",
        re.compile(
            rf"(?:{_DRAIN})?(?P<ts>{ZONED_ISO_TIME}) (?:(?P<stream>app|heroku)\[(?P<service>[^\]\s]+)\]:"
            rf"|\S+ (?P<stream__d>app|heroku) (?P<service__d>\S+) -) ?{_LOGGED_LEVEL}(?P<message>.*)"
        ),
        "'<time> app[web.1]: <message>' (a Heroku app's or platform's line)",
        default_level="INFO",
        finish=_platform_errors,
        requests=False,  # the router logs each request: an app's access line is no other
    ),
)
"""The app's output (`app[web.1]: ...`) and the platform's messages about its dynos
(`heroku[web.1]: State changed from starting to up`): events of the dyno (the service), INFO
unless the line starts with a level (`[ERROR] ...`, `WARN: ...`) or reports an error code
(`Error R14 ...`: ERROR), the stream (`app`, `heroku`) an attribute. An app's own access line
stays an event: the router's line is that request."""
LAYOUT = (
    '\'<time> heroku[router]: at=info method=GET path="/" host=... fwd="..." dyno=web.1 '
    "connect=0ms service=18ms status=200 bytes=13'"
)
_FIELDS = {
    "ts": Field("time", iso_time, "an ISO 8601 time"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "latency_ms": Field("service", as_duration_ms(), "a duration like 18ms"),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
    "error_reason": Field("error", as_text, "text"),
}


def looks_like_heroku(line: str) -> bool:
    return HEROKU_RE.fullmatch(line) is not None


def _pairs(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The router's key=value pairs: method, path, status, bytes and service (the time spent
    proxying between client and dyno, the router's response time) to their columns; the client
    is the first address of `fwd` (X-Forwarded-For, as the router received it); every key,
    `fwd` and `connect` included, but not those read into columns, is an attribute."""
    n = len(records)
    columns: dict[str, list[str | None]] = {
        name: [None] * n for name in ("method", "path", "status", "bytes", "service", "client_ip")
    }
    extra: dict[str, list[str | None]] = {}
    for i, text in enumerate(records["pairs"].tolist()):
        for key, value in KEY_VALUE.findall(text):
            value = unquoted(value)
            if key in columns and key != "client_ip":
                columns[key][i] = value
            else:
                extra.setdefault(COLUMN_PREFIX + key, [None] * n)[i] = value
            if key == "fwd" and value:
                columns["client_ip"][i] = value.split(",")[0].strip()
    for name, values in {**columns, **extra}.items():
        records[name] = pd.Series(values, index=records.index, dtype="str")
    code, desc = (f"{COLUMN_PREFIX}{k}" for k in ("code", "desc"))
    if code in records:  # an error (H12 ...): its code and description
        described = records[code] + (" " + records[desc] if desc in records else "")
        records["error"] = described.where(records[code].notna())
    return records.drop(columns=["pairs"]), ()


def parse_heroku(data: bytes) -> Parsed:
    """Heroku router lines. ts is the router's time of the line (with its offset); method,
    path (with its query), status and bytes as logged; latency_ms is `service`; client_ip the
    first address of `fwd`; `at`, `host`, `request_id`, `dyno`, `connect`, `protocol` and, on
    errors, `code` (H12 ...) and `desc` are attributes. An empty value (`service=` when the
    app crashed) is null. A line with a status and no path (H15, an idle connection closed)
    is a response to no request: its endpoint is {invalid}."""
    extra: dict[str, str] = {}

    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        records, notes = _pairs(records)
        extra.update(
            {c.removeprefix(COLUMN_PREFIX): c for c in records if c.startswith(COLUMN_PREFIX)}
        )
        return records, notes

    return parse_lines(
        data,
        HEROKU_RE,
        format="heroku",
        expected=f"the Heroku router log format: expected {LAYOUT}",
        prepare=prepare,
        fields=_FIELDS,
        hint=own_messages(
            PLATFORM_LINE,
            "it is a line of the app or of the Heroku platform (not of its router), not a request",
            whole=False,
        ),
        attributes=extra,  # filled by `prepare`, before the records are typed
        events=(DYNO_EVENTS,),
    )


HEROKU = Format(
    "heroku",
    parse_heroku,
    looks_like_heroku,
    "Heroku router log lines (heroku logs, or a log drain's syslog lines)",
)
FORMATS: list[Format] = [HEROKU]
