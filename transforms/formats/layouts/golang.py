"""Go loggers' text layouts as events: klog/glog (Kubernetes), logfmt (and logrus' text
formatter, which writes it) and zap's console encoder:

    I0102 15:04:05.000000    1 controller.go:12] Starting controller
    time="2024-01-02T03:04:05Z" level=warning msg="disk almost full" component=storage free=3%
    2024-01-02T03:04:05.123Z	INFO	server/main.go:42	listening	{"addr": ":8080"}

klog names no component: its service is the source file that logged (`controller.go`), the
line and thread id are attributes; klog times have no year, inferred from the ingest time.
logfmt's service is the first of `logger`, `service`, `component`, `app`, `name` given; keys no
column reads are attributes. zap's service is its logger name where one is logged, else the
caller's file; the caller and the JSON fields are attributes. zap's and logrus' JSON output is
read by `jsonl`."""

from __future__ import annotations

import json
import re

import pandas as pd

from transforms.formats.attributes import COLUMN_PREFIX
from transforms.formats.base import as_timestamp
from transforms.formats.layouts.core import (
    CONTINUATION_LINE,
    Layout,
    with_keyed,
    yearless_time,
)
from transforms.formats.layouts.levels import level_letters_or_words, level_words
from transforms.formats.layouts.years import with_year
from transforms.formats.servicelog import KEY_VALUE, KeyedValues, unquoted

GO_CONTINUATION = re.compile(
    rf"(?:{CONTINUATION_LINE.pattern})|goroutine \d+ \[[^\]]*\]:|\t.*|created by .*"
    r"|[\w./*()\[\]-]+\(.*\)|panic: .*|\[signal .*|exit status \d+"
)
"""What continues a Go event: the goroutines, frames and files of a panic's stack trace."""

KLOG = Layout(
    "klog",
    re.compile(
        r"(?P<level>[IWEF])(?P<ts>\d{4} \d{2}:\d{2}:\d{2}\.\d{6})\s+(?P<thread>\d+)"
        r" (?P<service>[^:\s]+):(?P<line>\d+)\] (?P<message>.*)$",
        re.DOTALL,
    ),
    yearless_time("%m%d %H:%M:%S.%f"),
    "'<L><mmdd hh:mm:ss.uuuuuu> <thread> <file>:<line>] <message>' (klog)",
    time_what="a timestamp (mmdd hh:mm:ss.uuuuuu)",
    level=level_letters_or_words,
    continuation=GO_CONTINUATION,  # a fatal line's goroutine dump
)

# logfmt ----------------------------------------------------------------------------------------
_TIME_KEYS = ("time", "ts", "timestamp", "t", "@timestamp", "datetime")
_LEVEL_KEYS = ("level", "lvl", "severity", "loglevel")
_MESSAGE_KEYS = ("msg", "message")
_SERVICE_KEYS = ("logger", "service", "component", "app", "name", "module")
LOGFMT = re.compile(
    rf"(?=.*(?<!\S)(?:{'|'.join(_TIME_KEYS)})=\S)"
    r"[A-Za-z_@][\w.\-@]*=(?:\"(?:[^\"\\]|\\.)*\"|\S*)(?:\s+[A-Za-z_@][\w.\-@]*=(?:\"(?:[^\"\\]|\\.)*\"|\S*))*\s*$",
    re.DOTALL,
)


def _logfmt_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """Each event's key=value pairs: the time, level, message and service keys to their
    columns, the request keys servicelog reads (`KEYS`: method, path, status, duration, bytes,
    client ...) to theirs, so a request logged in logfmt is counted as one; every other key to
    an attribute."""
    n = len(records)
    out: dict[str, list[str | None]] = {}
    keyed = KeyedValues(n)
    messages = []
    for i, raw in enumerate(records["raw"].tolist()):
        first, _, more = raw.partition("\n")
        pairs = {key: unquoted(value) for key, value in KEY_VALUE.findall(first)}
        columns = {}
        for column, keys in (
            ("timestamp", _TIME_KEYS),
            ("level", _LEVEL_KEYS),
            ("message", _MESSAGE_KEYS),
            ("service", _SERVICE_KEYS),
        ):
            key = next((k for k in keys if k in pairs), None)
            if key is not None:
                columns[column] = pairs.pop(key)
        message = columns.pop("message", None)
        messages.append("\n".join(filter(None, [message, more])) or None)
        for column, value in columns.items():
            out.setdefault(column, [None] * n)[i] = value
        keyed.add(i, pairs.items())
    records["message"] = pd.Series(messages, index=records.index, dtype="str")
    for column, values in out.items():
        records[column] = pd.Series(values, index=records.index, dtype="str")
    return with_keyed(records, keyed)


_YEARLESS = r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d$"
"""A time without a year (`Mar 12 14:02:11`): logrus with `TimestampFormat: "Jan 02 15:04:05"`,
as Tyk's gateway logs."""


def _any_time(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    """ISO 8601 / RFC 3339, or epoch seconds, milliseconds, ... by magnitude; a time without
    a year takes the year that puts it closest before the ingest time."""
    values = as_timestamp()(text)
    yearless = values.isna() & text.str.match(_YEARLESS).fillna(False).astype(bool)
    if yearless.any():
        values = values.astype("datetime64[us, UTC]")
        values[yearless] = with_year(text[yearless], "%b %d %H:%M:%S", as_of).to_numpy()
    return values


LOGFMT_LAYOUT = Layout(
    "logfmt",
    LOGFMT,
    _any_time,
    "'key=value' pairs with a time (time=, ts=) and a level (level=, lvl=) (logfmt)",
    time_what="a timestamp (RFC 3339 or epoch)",
    level=level_words,
    default_level="INFO",  # go-kit/log writes none unless asked
    finish=_logfmt_pairs,
)

# Go's log ---------------------------------------------------------------------------------------
GOLOG = re.compile(
    r"(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) (?!\[[a-z])"
    r"(?:(?P<level>DEBUG|INFO|WARN|ERROR)(?:[+-]\d+)? "
    r"|\[(?P<level__b>TRACE|DEBUG|INFO|WARN|WARNING|ERR|ERROR)\] "
    # Beego's logs: a letter for the level, then the caller ([I] [server.go:281]  message)
    r"|\[(?P<level__c>[MACEWNID])\] (?:\[(?P<caller>[\w./-]+:\d+)\] +)?"
    # Gitea's and Forgejo's: the caller, then a letter (...eb/routing/logger.go:102:func1() [I])
    r"|(?P<caller__g>[\w./-]+:\d+:[\w.$()*-]*\(\)) \[(?P<level__g>[TDIWEFC])\] )?(?P<message>.*)",
    re.DOTALL,
)


def _golog_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """A line's trailing key=value pairs (slog's default handler writes its attributes so):
    the request keys servicelog reads to their columns, the others to attributes; the text
    before them is the message."""
    n = len(records)
    keyed = KeyedValues(n)
    messages: list[str | None] = []
    for i, message in enumerate(records["message"].tolist()):
        first, _, more = (message or "").partition("\n")
        parts = KEY_VALUE.split(first)  # [text, key, value, text, key, value, ..., text]
        if len(parts) > 1 and not "".join(parts[3::3]).strip():  # pairs end the line
            keyed.add(i, zip(parts[1::3], map(unquoted, parts[2::3]), strict=True))
            first = parts[0].strip()
        messages.append("\n".join(filter(None, [first, more])) or None)
    records["message"] = pd.Series(messages, index=records.index, dtype="str")
    return with_keyed(records, keyed)


def _slash_time(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    """Go's `2009/11/10 23:00:00[.123456]`, the host's local time: taken as UTC."""
    return as_timestamp(("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S"))(text)


GOLOG_LAYOUT = Layout(
    "golog",
    GOLOG,
    _slash_time,
    "'<yyyy/mm/dd hh:mm:ss> [LEVEL] <message> [key=value ...]' (Go's log, log/slog's default)",
    time_what="a time like 2009/11/10 23:00:00",
    level=level_letters_or_words,
    default_level="INFO",
    finish=_golog_pairs,
    continuation=GO_CONTINUATION,
)

# zap console -----------------------------------------------------------------------------------
ZAP = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
    r"|\d{10}(?:\.\d+)?(?:e\+09)?)"
    r"\t(?P<level>(?i:debug|info|warn|error|dpanic|panic|fatal))"
    r"(?:\t(?P<_logger>[^\t]+?))??(?:\t(?P<caller>[^\t\s]+:\d+))?"
    r"\t(?P<message>[^\t]*)(?:\t(?P<_fields>\{.*\}))?$",
    re.DOTALL,
)


def _zap_fields(records: pd.DataFrame) -> pd.DataFrame:
    """The logger name (else the caller's file) as the service; JSON fields as attributes."""
    n = len(records)
    services, extra = [], {}
    for i, raw in enumerate(records["raw"].tolist()):
        match = ZAP.match(raw.partition("\n")[0])
        logger, caller, fields = match.group("_logger", "caller", "_fields")
        services.append(logger or (caller.rsplit(":", 1)[0] if caller else None))
        try:
            values = json.loads(fields) if fields else {}
        except ValueError:
            values = {"fields": fields}
        for key, value in values.items() if isinstance(values, dict) else ():
            text = value if isinstance(value, str) else json.dumps(value)
            extra.setdefault(COLUMN_PREFIX + key, [None] * n)[i] = text
    records["service"] = pd.Series(services, index=records.index, dtype="str")
    for column, values in extra.items():
        if column not in records:
            records[column] = pd.Series(values, index=records.index, dtype="str")
    return records


ZAP_CONSOLE = Layout(
    "zap",
    ZAP,
    _any_time,
    "'<time>\\t<level>\\t[<logger>\\t][<caller>\\t]<message>[\\t{json}]' (zap console)",
    time_what="a timestamp (ISO 8601 or epoch seconds)",
    finish=_zap_fields,
)

FORMATS = [
    KLOG.format("klog/glog: Lmmdd hh:mm:ss.uuuuuu thread file:line] message"),
    LOGFMT_LAYOUT.format("logfmt (and logrus text): time=... level=... msg=... key=value"),
    ZAP_CONSOLE.format("zap console: time<TAB>level<TAB>caller<TAB>message<TAB>{json}"),
    GOLOG_LAYOUT.format("Go's log and log/slog default: yyyy/mm/dd hh:mm:ss [LEVEL] message"),
]
