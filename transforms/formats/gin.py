"""Gin's request log (`gin`), as its default logger middleware writes it (`gin.Default()`):

    [GIN] 2024/05/16 - 10:20:33 | 200 |     123.456µs |       127.0.0.1 | GET      "/ping"

with the terminal colours it adds when writing to one. Gin's debug messages in the same output
(`[GIN-debug] GET /ping --> main.handler (3 handlers)`, `Listening and serving HTTP on :8080`)
are no requests."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.access import STATUS, own_messages, parse_lines
from transforms.formats.base import Field, Format, Parsed, as_text, as_timestamp
from transforms.formats.servicelog import as_duration_ms

_COLOUR = r"(?:\x1b\[[0-9;]*m)?"
GIN_RE = re.compile(
    # KrakenD, built on Gin, writes its own name and `[AccessLog]`
    r"\[(?:GIN|KRAKEND)\] (?P<time>\d{4}/\d{2}/\d{2} - \d{2}:\d{2}:\d{2})(?: \[AccessLog\])? \|"
    rf"{_COLOUR} *(?P<status>\d{{3}}) *{_COLOUR}\| *(?P<latency>[^ |]+) \| *(?P<client_ip>[^ |]*) \|"
    rf"{_COLOUR} *(?P<method>[A-Z]+) *{_COLOUR} *\"(?P<path>(?:[^\"\\]|\\.)*)\"(?P<error>.*)"
)
GIN_MESSAGE = re.compile(
    r"\[GIN-debug\] .*|\[GIN\] (?!\d{4}/).*|Error #\d+: .*"
    r"|\s+- using (?:env|code):.*|Please check https://pkg\.go\.dev/github\.com/gin-gonic/.*"
)
"""Gin's own lines: its debug messages (routes, the address it listens on, warnings), and the
errors its logger prints after a request's line."""
LAYOUT = (
    "'[GIN] 2024/05/16 - 10:20:33 | 200 |     123.456µs |       127.0.0.1 | GET      \"/ping\"'"
)
_FIELDS = {
    "ts": Field(
        "time", as_timestamp(("%Y/%m/%d - %H:%M:%S",)), "a time like 2024/05/16 - 10:20:33"
    ),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "latency_ms": Field("latency", as_duration_ms(), "a duration like 123.456µs or 1.2ms"),
}


def looks_like_gin(line: str) -> bool:
    return GIN_RE.fullmatch(line) is not None


def _prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The path as Go quoted it (`%#v`), unquoted; an error Gin printed on the line kept."""
    records["path"] = records["path"].str.replace(r'\\(["\\])', r"\1", regex=True)
    records["error"] = records["error"].str.strip()
    return records, ()


def parse_gin(data: bytes) -> Parsed:
    """Gin's default request log lines. ts is the time the request ended (the host's local
    time, without an offset: taken as UTC); status_code, latency_ms (Go's duration: `µs`,
    `ms`, `s`), client_ip, method and path (with its query) as logged; an error message on
    the line is the error_reason. Gin logs no response size."""
    return parse_lines(
        data,
        GIN_RE,
        format="gin",
        expected=f"Gin's request log format: expected {LAYOUT}",
        prepare=_prepare,
        fields={**_FIELDS, "error_reason": Field("error", as_text, "text")},
        hint=own_messages(
            GIN_MESSAGE,
            "it is a message of Gin itself (debug output, a request's error), not a request",
        ),
    )


GIN = Format("gin", parse_gin, looks_like_gin, "Gin's default request log (Go)")
FORMATS: list[Format] = [GIN]
