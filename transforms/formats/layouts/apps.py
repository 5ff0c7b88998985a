"""The log files and console output of application frameworks, read as service-log events:

    [2024-05-16 10:20:30] production.INFO: User logged in {"user_id":42} []      (Monolog)
    [Nest] 12345  - 05/16/2024, 10:20:30 AM     LOG [NestFactory] Starting Nest application...
    2024-05-16T10:20:28.101Z pid=12345 tid=2b4s class=HardJob jid=a1b2 INFO: start   (Sidekiq)

Monolog's line format is PHP's usual log (Laravel's `storage/logs/laravel.log`, Symfony's
`var/log/prod.log`): the channel is the service, its context and extra JSON stay in the
message, and a stack trace's lines (`[stacktrace]`, `#0 /var/www/...`) join their event.
NestJS's default logger writes the time in the locale's form (`05/16/2024, 10:20:30 AM` in
en-US) and the context as the service. Sidekiq names no service: its job's class is, when
the line has one, and its other `key=value` context (pid, tid, jid, elapsed) are attributes."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.attributes import COLUMN_PREFIX
from transforms.formats.base import ZONED_ISO_TIME, as_timestamp
from transforms.formats.layouts.core import CONTINUATION_LINE, Layout, iso_time

MONOLOG = re.compile(
    r"\[(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2})?)\] "
    r"(?P<service>[\w.-]+?)\.(?P<level>DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL|ALERT|EMERGENCY)"
    r": (?P<message>.*)$",
    re.DOTALL,
)
MONOLOG_CONTINUATION = re.compile(
    rf"(?:{CONTINUATION_LINE.pattern})|\[stacktrace\]|\[previous exception\]|#\d+ |\"\}}"
)
"""A Monolog event's stack trace, as Laravel writes it under the line."""

MONOLOG_LAYOUT = Layout(
    "monolog",
    MONOLOG,
    iso_time,
    "'[<time>] <channel>.<LEVEL>: <message> <context> <extra>' (Monolog: Laravel, Symfony)",
    time_what="a time like 2024-05-16 10:20:30",
    continuation=MONOLOG_CONTINUATION,
)

NEST = re.compile(
    r"\[Nest\] (?P<pid>\d+)\s+- "
    r"(?P<ts>\d{1,2}/\d{1,2}/\d{4},? \d{1,2}:\d{2}:\d{2}(?:\s?[AaPp][Mm])?)\s+"
    r"(?P<level>LOG|ERROR|WARN|DEBUG|VERBOSE|FATAL)\s+(?:\[(?P<service>[^\]]+)\] )?"
    r"(?P<message>.*)$",
    re.DOTALL,
)


def _locale_time(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    """A time as `Date.toLocaleString()` writes it (en-US: month first, AM/PM), read as UTC."""
    return as_timestamp()(text)


NEST_LAYOUT = Layout(
    "nestjs",
    NEST,
    _locale_time,
    "'[Nest] <pid>  - <date>, <time>     <LEVEL> [<context>] <message>' (NestJS)",
    time_what="a time like 05/16/2024, 10:20:30 AM",
)

SIDEKIQ = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))"
    r" (?P<context>pid=\d+ tid=\S+(?: [\w.]+=\S+)*) "
    r"(?P<level>DEBUG|INFO|WARN|ERROR|FATAL): (?P<message>.*)$",
    re.DOTALL,
)
_PAIR = re.compile(r"([\w.]+)=(\S+)")


def _sidekiq_context(records: pd.DataFrame) -> pd.DataFrame:
    """The job's class as the service; pid, tid, jid, elapsed ... as attributes."""
    n = len(records)
    columns: dict[str, list[str | None]] = {}
    services: list[str | None] = [None] * n
    for i, context in enumerate(records.pop(f"{COLUMN_PREFIX}context").tolist()):
        for key, value in _PAIR.findall(context or ""):
            if key == "class":
                services[i] = value
            else:
                columns.setdefault(COLUMN_PREFIX + key, [None] * n)[i] = value
    records["service"] = pd.Series(services, index=records.index, dtype="str")
    for column, values in columns.items():
        records[column] = pd.Series(values, index=records.index, dtype="str")
    return records


SIDEKIQ_LAYOUT = Layout(
    "sidekiq",
    SIDEKIQ,
    iso_time,
    "'<time> pid=<pid> tid=<tid> [class=<job> jid=<id> ...] <LEVEL>: <message>' (Sidekiq)",
    time_what="a timestamp (ISO 8601)",
    finish=_sidekiq_context,
)

_REQUEST_ID = r"[0-9a-fA-F-]{36}|undefined|None"
LAMBDA = re.compile(
    rf"(?:(?P<ts>{ZONED_ISO_TIME})\t(?P<request_id>{_REQUEST_ID})\t(?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL)"
    rf"|\[(?P<level__2>DEBUG|INFO|WARNING|ERROR|CRITICAL)\]\t(?P<ts__2>{ZONED_ISO_TIME})\t"
    rf"(?P<request_id__2>{_REQUEST_ID}))\t(?P<message>.*)$",
    re.DOTALL,
)
"""AWS Lambda's text logs: Node.js' and Java's `time<TAB>request id<TAB>LEVEL<TAB>message`, and
Python's `[LEVEL]<TAB>time<TAB>request id<TAB>message`; the request id is an attribute."""
LAMBDA_PLATFORM = re.compile(
    r"(?:INIT_START|START|END|REPORT|INIT_REPORT|RESTORE_START|RESTORE_REPORT|EXTENSION|TELEMETRY)"
    r"\b.*"
)
LAMBDA_HINT = (
    "it is a line of the Lambda platform (START, END, REPORT ...), which logs no time of its "
    "own, not a request"
)


LAMBDA_LAYOUT = Layout(
    "lambda",
    LAMBDA,
    iso_time,
    "'<time>\\t<request id>\\t<LEVEL>\\t<message>' (AWS Lambda)",
    time_what="a timestamp (ISO 8601)",
    own_lines=(LAMBDA_PLATFORM, LAMBDA_HINT),
)

FORMATS = [
    MONOLOG_LAYOUT.format("Monolog's line format (Laravel, Symfony): [time] channel.LEVEL: msg"),
    NEST_LAYOUT.format("NestJS's logger: [Nest] pid  - date, time     LEVEL [context] message"),
    SIDEKIQ_LAYOUT.format("Sidekiq: time pid=.. tid=.. [class=.. jid=..] LEVEL: message"),
    LAMBDA_LAYOUT.format("AWS Lambda's text logs: time, request id, LEVEL, message (tabs)"),
]
