"""PHP-FPM's access log (`phpfpm`), its default `access.format` (`%R - %u %t "%m %r" %s`):

    172.17.0.3 -  16/May/2024:10:20:33 +0000 "GET /index.php" 200

and the longer layout its `www.conf` suggests, with the script, the duration, the memory and
the CPU after the status (`%f %{mili}d %{kilo}M %C%%`). The official Docker image sends it to
the container's output beside FPM's own notices (`[16-May-2024 10:20:30] NOTICE: fpm is
running, pid 1`), which are its log events."""

from __future__ import annotations

import re

from transforms.formats.access import STATUS, clf_time, own_messages, parse_lines
from transforms.formats.access.lines import OwnEvents
from transforms.formats.access.values import CLF_TIME
from transforms.formats.base import Field, Format, Parsed, as_float, as_text
from transforms.formats.own_events import layout_events

PHPFPM_RE = re.compile(
    rf"(?P<client_ip>[^ ]+) - (?P<user>[^ ]*) +(?P<time>{CLF_TIME}) "
    r'"(?P<method>[A-Z]+) (?P<path>[^"]*)" (?P<status>\d{3})'
    r"(?: (?P<script>[^ ]+) (?P<duration>\d+(?:\.\d+)?) (?P<memory>\d+) (?P<cpu>[\d.]+%))?"
)
FPM_MESSAGE = re.compile(
    r"\[(?P<ts>\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?)\] "
    r"(?P<level>DEBUG|NOTICE|WARNING|ERROR|ALERT): (?P<message>.*)"
)
"""PHP-FPM's own log lines (its start, its pools and children, slow-script warnings)."""
FPM_EVENTS = OwnEvents(
    "PHP-FPM itself",
    FPM_MESSAGE,
    layout_events(
        "PHP-FPM",
        FPM_MESSAGE,
        "'[16-May-2024 10:20:30] NOTICE: <message>' (PHP-FPM's own line)",
        time="%d-%b-%Y %H:%M:%S.%f|%d-%b-%Y %H:%M:%S",
        service="php-fpm",
    ),
)
"""PHP-FPM's own lines: its log events (service `php-fpm`; NOTICE is INFO, ALERT CRITICAL)."""
LAYOUT = "'%R - %u %t \"%m %r\" %s', e.g. '172.17.0.3 -  16/May/2024:10:20:33 +0000 \"GET /index.php\" 200'"
_FIELDS = {
    "ts": Field("time", clf_time, "a time like 16/May/2024:10:20:33 +0000"),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("user", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "latency_ms": Field("duration", as_float(), "a number of milliseconds"),
}


def looks_like_phpfpm(line: str) -> bool:
    return PHPFPM_RE.fullmatch(line) is not None


def parse_phpfpm(data: bytes) -> Parsed:
    """PHP-FPM access log lines. ts is `%t` (the request's start, with its offset); client_ip
    `%R`, user_id `%u` (empty: null), method and path (`%r`, the request URI as FPM got it);
    status_code `%s`; with the suggested longer layout, latency_ms is `%{mili}d`, and the
    script, memory (KiB) and CPU are attributes. FPM logs no response size."""
    return parse_lines(
        data,
        PHPFPM_RE,
        format="phpfpm",
        expected=f"PHP-FPM's access log format: expected {LAYOUT}",
        prepare=lambda records: (records, ()),
        fields=_FIELDS,
        hint=own_messages(
            FPM_MESSAGE,
            "it is a message of PHP-FPM itself (its start, pools, children), not a request",
        ),
        events=(FPM_EVENTS,),
        attributes={"script": "script", "memory_kb": "memory", "cpu": "cpu"},
    )


PHPFPM = Format("phpfpm", parse_phpfpm, looks_like_phpfpm, "PHP-FPM's access log")
FORMATS: list[Format] = [PHPFPM]
