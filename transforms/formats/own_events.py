"""The log events a server or platform writes among its access lines, read by a small layout
of their own (`access.lines.OwnEvents`): Heroku's app and platform lines beside its router's,
uvicorn's own lines beside its access lines, PHP-FPM's notices beside its access log. Each is
an event with its time, level, service and message, checked as a `servicelog` event."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache

import pandas as pd

from transforms.formats.base import Parsed

REQUEST_COLUMNS = (
    "method",
    "path",
    "status_code",
    "latency_ms",
    "bytes_sent",
    "client_ip",
    "user_id",
)
"""The request columns of a record: what `embedded` reads from an access line in a message,
and what a log event that names a request leaves out when another line is that request."""
EVENT_FORMAT = "servicelog"
"""The format whose rules (`schemas.raw.ServiceLogRecord`) these events are checked by."""


def layout_events(
    name: str,
    header: re.Pattern[str],
    expected: str,
    *,
    time: str = "iso",
    service: str | None = None,
    default_level: str | None = None,
    continuation: re.Pattern[str] | None = None,
    joined_prefix: re.Pattern[str] | None = None,
    finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    requests: bool = True,
) -> Callable[[bytes], Parsed]:
    """A parser of such lines: `header` names `ts`, `message` and, where logged, `level` and
    `service` (else `service`, and `default_level` where no level is logged); `time` is "iso"
    or strptime formats separated by `|`; `continuation` matches the start of a line that joins
    the event before it (none: every line is an event), and `joined_prefix` is what the
    message leaves out of such a line (a container runtime's time before each line);
    `finish` adjusts the text records (a level read from the message). An event whose message
    is an access line is a request (`embedded`), unless not `requests`: where the format's own
    lines log each request already (Heroku's router before the app's web server)."""

    @cache
    def layout():
        # imported here: the layouts import the access formats, which use these parsers
        from transforms.formats.layouts.core import Layout, iso_time, strptime_time

        def finish_records(records: pd.DataFrame) -> pd.DataFrame:
            if service is not None:
                records["service"] = pd.Series(service, index=records.index, dtype="str")
            return records if finish is None else finish(records)

        return Layout(
            name,
            header,
            iso_time if time == "iso" else strptime_time(*time.split("|")),
            expected,
            default_level=default_level,
            finish=finish_records,
            continuation=continuation,
        )

    def parse(data: bytes) -> Parsed:
        from transforms.formats.layouts.core import parse_layout

        parsed = parse_layout(layout(), data)
        if joined_prefix is not None and "message" in parsed.candidates:
            lines = parsed.candidates["message"].str.split("\n")
            parsed.candidates["message"] = lines.map(
                lambda parts: "\n".join(
                    [parts[0], *(joined_prefix.sub("", p, count=1) for p in parts[1:])]
                ),
                na_action="ignore",
            ).astype("str")
        candidates = parsed.candidates
        if not requests:  # the message stays, the request read from it goes
            candidates = candidates.drop(columns=[c for c in REQUEST_COLUMNS if c in candidates])
        return replace(parsed, candidates=candidates, format=EVENT_FORMAT)

    return parse
