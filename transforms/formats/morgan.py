"""The request lines of morgan, Express's HTTP logger, in its predefined `dev`, `short` and
`tiny` formats (`morgan`), behind the time a container runtime puts before each line:

    2024-05-26T11:42:52.601234567Z GET /api/items/12 200 12.345 ms - 123                (dev)
    2024-05-26T11:42:52.601Z ::ffff:10.0.0.1 - GET /api/items/12 HTTP/1.1 200 123 - 12.345 ms  (short)
    2024-05-26T11:42:52.601Z GET /api/items/12 200 123 - 12.345 ms                      (tiny)

These formats write no time of their own: `docker logs -t` and `kubectl logs --timestamps`
give them one, as a Kubernetes container log file does (see `prefixes`). `dev` wraps its
fields in colour codes whether or not it writes to a terminal. morgan's `combined`, `common`
and `default` formats are access lines with their own time (`combined`, `common`)."""

from __future__ import annotations

import re

from transforms.formats.access import CLF_FIELDS, Input, iso_time, latency, numbers, parse_lines
from transforms.formats.base import ZONED_ISO_TIME, Field, Format, Parsed

_COLOUR = r"(?:\x1b\[[0-9;]*m)*"
_REQUEST = r"(?P<method>[A-Z][A-Z0-9_-]*) (?P<path>[^ ]+)"
_LINE = (
    # dev: `:method :url :status :response-time ms - :res[content-length]`, in colour
    rf"{_COLOUR}{_REQUEST} {_COLOUR}(?P<status>\d{{3}}|-){_COLOUR} "
    rf"(?P<dev_ms>\d+(?:\.\d+)?|-) ms - (?P<dev_bytes>\d+|-){_COLOUR}"
    # short: `:remote-addr :remote-user :method :url HTTP/:http-version :status
    # :res[content-length] - :response-time ms`; tiny: the same from the method, without the
    # protocol
    r"|(?:(?P<client_ip>[^ ]+) (?P<user>[^ ]+) (?P<short_method>[A-Z][A-Z0-9_-]*) "
    r"(?P<short_path>[^ ]+) HTTP/[\d.]+ "
    r"|(?P<tiny_method>[A-Z][A-Z0-9_-]*) (?P<tiny_path>[^ ]+) )"
    r"(?P<other_status>\d{3}|-) (?P<bytes>\d+|-) - (?P<ms>\d+(?:\.\d+)?|-) ms"
)
MORGAN_RE = re.compile(rf"(?P<time>{ZONED_ISO_TIME}) (?:{_LINE})")
TIMELESS = re.compile(_LINE)
"""A morgan line as morgan writes it, with no time before it."""
LAYOUT = "'<time> GET /api/items 200 12.345 ms - 123' (dev; short and tiny likewise)"
_FIELDS = {
    "ts": Field("time", iso_time, "an RFC 3339 time"),
    **{name: field for name, field in CLF_FIELDS.items() if name != "ts"},
}
_LATENCY = latency(Input("ms", numbers(1.0), "a number of milliseconds"))


def looks_like_morgan(line: str) -> bool:
    return MORGAN_RE.fullmatch(line) is not None


_MERGED = (
    ("method", ("short_method", "tiny_method")),
    ("path", ("short_path", "tiny_path")),
    ("status", ("other_status",)),
    ("bytes", ("dev_bytes",)),
    ("ms", ("dev_ms",)),
)
"""Each column and the groups of the other layouts that hold it."""


def _one_layout(records):
    """The groups of the three formats as one set of columns."""
    for target, others in _MERGED:
        column = records.get(target)
        for other in others:
            if other in records:
                column = records[other] if column is None else column.fillna(records[other])
        records[target] = column
    merged = [other for _, others in _MERGED for other in others if other in records]
    return records.drop(columns=merged), ()


def parse_morgan(data: bytes) -> Parsed:
    """morgan's `dev`, `short` and `tiny` lines behind a runtime's time. ts is that time
    (when the runtime got the line, as the response ended); method, path (morgan's `:url`,
    with its query), status_code, bytes_sent (the response's Content-Length; `-`, none sent,
    is null) and latency_ms (`:response-time`, in milliseconds); `short` also logs client_ip
    and user_id (`-` is null). A `-` status is a request no response was sent to."""
    return parse_lines(
        data,
        MORGAN_RE,
        format="morgan",
        expected=f"morgan's dev, short or tiny line behind a runtime's time: expected {LAYOUT}",
        prepare=_one_layout,
        fields=_FIELDS,
        derived={"latency_ms": _LATENCY},
    )


MORGAN = Format(
    "morgan",
    parse_morgan,
    looks_like_morgan,
    "morgan's (Express) dev, short and tiny request lines behind a container runtime's time",
)
FORMATS: list[Format] = [MORGAN]
