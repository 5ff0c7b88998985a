"""A Kubernetes container's log file (`cri`), as the container runtime writes it under
`/var/log/pods`, when the program's own lines are no format logcast reads: each line is an
event with the runtime's time, the stream as an attribute, and the program's line as the
message (a level word opening it is its level, else INFO):

    2026-11-01T10:00:00.100000000Z stdout F info: Microsoft.Hosting.Lifetime[14]
    2026-11-01T10:00:00.100100000Z stdout F       Now listening on: http://[::]:8080

An indented line, or another line of a stack trace, continues the event before it. Where the
program's lines are a format (JSON lines, an access log, a service log), the runtime's prefix
is stripped instead and that format reads them (`prefixes.strip_prefix`)."""

from __future__ import annotations

import re

from transforms.formats.base import ZONED_ISO_TIME, Format
from transforms.formats.layouts.core import CONTINUATION_LINE
from transforms.formats.own_events import layout_events
from transforms.formats.servicelog import LEVEL_WORDS

_RUNTIME = rf"{ZONED_ISO_TIME} (?:stdout|stderr) [FP] "
"""The runtime's prefix of a line: its time, the stream and the piece's tag."""
CRI_LINE = re.compile(
    rf"(?P<ts>{ZONED_ISO_TIME}) (?P<stream>stdout|stderr) [FP] (?!{CONTINUATION_LINE.pattern})"
    rf"(?:(?P<level>(?i:{LEVEL_WORDS}))(?::\s*|\s+(?=\S)))?(?P<message>.*)",
    re.DOTALL,
)
CRI_CONTINUATION = re.compile(rf"{_RUNTIME}(?:{CONTINUATION_LINE.pattern})")
"""A line whose program's part continues the event before it (indented, a stack trace's)."""
JOINED_PREFIX = re.compile(rf"^{_RUNTIME}")

parse_cri = layout_events(
    "cri",
    CRI_LINE,
    "'<RFC 3339 time> <stdout|stderr> <F|P> <line>' (a Kubernetes container's log file)",
    default_level="INFO",
    continuation=CRI_CONTINUATION,
    joined_prefix=JOINED_PREFIX,
    requests=True,
)


def looks_like_cri(line: str) -> bool:
    return CRI_LINE.match(line) is not None


CRI = Format(
    "cri",
    parse_cri,
    looks_like_cri,
    "a Kubernetes container's log file whose lines are no other format: events",
)
FORMATS: list[Format] = [CRI]
