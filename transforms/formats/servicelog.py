"""Application log lines (`<timestamp> <LEVEL> <service> <message> [key=value ...]`) as events,
with stack traces folded into the event they follow; also the level and duration readings
that other log formats share."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.formats.attributes import COLUMN_PREFIX, prefixed_columns
from transforms.formats.base import (
    CANDIDATE_TYPES,
    LINE_NUMBER,
    RAW,
    ZONED_ISO_TIME,
    Converter,
    Field,
    Format,
    Parsed,
    as_int,
    as_text,
    build,
    present,
    rejects_frame,
    split_lines,
)
from transforms.formats.embedded import message_requests

# levels ----------------------------------------------------------------------------------------
LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""Canonical levels (Python's names, plus TRACE). Other spellings are folded onto these (NOTICE
is INFO); a level none of them names (e.g. AUDIT) is kept upper-cased as logged."""

LEVEL_ALIASES = {
    "WARN": "WARNING",
    "FATAL": "CRITICAL",  # logging.FATAL is logging.CRITICAL
    "CRIT": "CRITICAL",
    "PANIC": "CRITICAL",  # zap
    "DPANIC": "CRITICAL",
    "ERR": "ERROR",
    "INFORMATION": "INFO",  # .NET, Serilog
    "VERBOSE": "TRACE",  # Serilog
    "SEVERE": "ERROR",  # java.util.logging
    "FAIL": "ERROR",  # .NET's console
    "DBUG": "DEBUG",
    "TRCE": "TRACE",
    "NOTICE": "INFO",  # syslog notice: normal but significant; the level set has nothing between
    "EMERG": "CRITICAL",
    "EMERGENCY": "CRITICAL",
    "ALERT": "CRITICAL",
    "HTTP": "INFO",  # winston's npm levels: error, warn, info, http, verbose, debug, silly
    "SILLY": "TRACE",
}
NUMERIC_LEVELS = {
    "10": "TRACE",
    "20": "DEBUG",
    "30": "INFO",
    "40": "WARNING",
    "50": "ERROR",
    "60": "CRITICAL",
}
MONOLOG_LEVELS = {
    "100": "DEBUG",
    "200": "INFO",
    "250": "INFO",  # notice
    "300": "WARNING",
    "400": "ERROR",
    "500": "CRITICAL",
    "550": "CRITICAL",  # alert
    "600": "CRITICAL",  # emergency
}
"""pino and bunyan write levels as numbers, and so does PHP's Monolog (`level`, beside its
`level_name`)."""
_LEVEL_OFFSET = r"^(TRACE|DEBUG|INFO|WARN|WARNING|ERROR)[+-]\d+$"
"""log/slog writes a level between its named ones as the nearest below and an offset
(`WARN+2`, `INFO-4`)."""


def as_level(text: pd.Series) -> pd.Series:
    """Log levels upper-cased and folded onto `LEVELS`; never fails (unknown levels are kept)."""
    upper = as_text(text).str.upper().str.replace(_LEVEL_OFFSET, r"\1", regex=True)
    return upper.replace({**LEVEL_ALIASES, **NUMERIC_LEVELS, **MONOLOG_LEVELS}).astype("str")


# durations -------------------------------------------------------------------------------------
UNIT_MS = {
    "ns": 1e-6,
    "us": 1e-3,
    "µs": 1e-3,  # micro sign, as Go writes it
    "μs": 1e-3,  # greek mu
    "ms": 1.0,
    "s": 1000.0,
    "m": 60_000.0,
    "h": 3_600_000.0,
}
_UNIT = "ns|us|µs|μs|ms|s|m|h"
_DURATION = re.compile(rf"([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+) ?(?:{_UNIT}))+)")
_DURATION_PART = re.compile(rf"(\d+(?:\.\d*)?|\.\d+) ?({_UNIT})")


def duration_ms(text: str) -> float:
    """'250ms', '1.5s', Go's '1m30.5s' or '1.2µs' in milliseconds; NaN when not a duration."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        return np.nan
    total = sum(float(n) * UNIT_MS[u] for n, u in _DURATION_PART.findall(match.group(2)))
    return -total if match.group(1) == "-" else total


def as_duration_ms(factor: float | pd.Series = 1.0) -> Converter:
    """Durations to milliseconds: bare numbers are scaled by `factor` (one number, or one per
    row aligned on the records' index), numbers with a unit suffix by their unit."""

    def convert(text: pd.Series) -> pd.Series:
        stripped = text.str.strip()
        values = (pd.to_numeric(stripped, errors="coerce") * factor).astype("float64")
        suffixed = values.isna() & present(stripped)
        if suffixed.any():
            values[suffixed] = stripped[suffixed].map(duration_ms).astype("float64")
        return values

    return convert


# the format ------------------------------------------------------------------------------------
_TS = (
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"(?: ?(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
)
LEVEL_WORDS = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|TRCE|DBUG|FAIL|CRIT"
"""Level words a service-log line starts with (any case): also .NET's console abbreviations
(`trce`, `dbug`, `info`, `warn`, `fail`, `crit`)."""
HEADER = re.compile(
    rf"\[?(?P<ts>{_TS})\]?"
    rf"\s+\[?(?P<level>(?i:{LEVEL_WORDS}))\]?"
    # a level with a colon and a padded gap is uvicorn's `levelprefix`: no service after it
    r"(?::\s\s+(?=\S)"
    r"|:?(?=\s|$)(?:\s+\((?P<thread>[^()\s]+)\)(?=\s+\[))?"  # Home Assistant's (MainThread)
    r"(?:\s+\[?(?P<service>[^\s\[\]=\"]+?)(?:\[\d+\])?\]?:?(?=\s|$))?)"
    r"\s*(?P<rest>.*)",
    re.DOTALL,
)
"""`2026-11-01T10:00:00.123Z ERROR payments ...`, `2026-11-01 10:00:00,123 [INFO] orders: ...`,
`[2026-11-01 10:00:00 +0000] [WARN] [worker] ...`: the service is the word after the level:
also a Rust module path in env_logger's bracket (`[2024-05-16T10:20:29Z INFO  actix_server::
builder] ...`), tracing's target (`INFO example_app: ...`) and .NET's category with its event id
(`info: Microsoft.Hosting.Lifetime[14] ...`). `INFO:     Started ...` (uvicorn) names none.
A thread in parentheses before a bracketed logger (Home Assistant's `INFO (MainThread)
[homeassistant.setup] ...`) is an attribute, the logger the service."""
_TS_ONLY = re.compile(rf"\[?{_TS}\]?(?:\s|$)")

CONTINUATION = re.compile(
    r"\s"  # indented: stack frames, wrapped text
    r"|Traceback \(most recent call last\)"
    r"|at\s"
    r"|Caused by:|Suppressed:"
    r"|\.\.\. \d+ (?:more|common frames omitted)"
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|[A-Za-z_][\w.$]*(?:Error|Exception|Throwable|Warning|Exit|Interrupt)\b(?::|$)"
    # a traceback's last line naming an exception class of a module, whatever its name
    # (`aiohttp.http_exceptions.BadStatusLine: 400, message: …`, `django.http.Http404: …`)
    r"|[a-z_]\w*(?:\.[A-Za-z_]\w*)*\.[A-Z]\w*:(?: |$)"
)
"""Lines that continue the event before them (Python and Java stack traces)."""
RUNTIME_TIME = re.compile(rf"{ZONED_ISO_TIME} (?={CONTINUATION.pattern})")
"""The time a container runtime puts before each line (`docker logs -t`, `kubectl logs
--timestamps`) before a continuation line: .NET's console message under its header line, a
stack trace's lines. The line continues the event before it, its text without that time."""

KEY_VALUE = re.compile(r'(?<!\S)([A-Za-z_][\w.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')
SPANS = re.compile(r"(?:[A-Za-z_][\w]*\{[^{}]*\}:)+ ")
"""Rust tracing's span context before an event's fields: `request{method=GET uri=/x}: `."""
TARGET = re.compile(r"([A-Za-z_][\w]*(?:::[\w]+)+): ")
"""tracing's target (a module path) after the span context: the event's service."""
SPACED_UNIT = re.compile(r"(?<!\S)([A-Za-z_][\w.\-]*)=(\d+(?:\.\d+)?) (ns|µs|μs|us|ms|s)(?=\s|$)")
"""A duration written with a space before its unit (`latency=2 ms`, tower-http's): joined to
its number only under a latency key (`KEYS`) whose name says no unit; after any other value
(`latency_ms=2`, `region=eu`) the word stays a word of the message."""
_NAMED_UNIT = re.compile(r"_(?:ns|us|ms|s)$")


def _spaced_units(rest: str) -> str:
    """`rest` with each latency key's `N unit` written `Nunit` (see SPACED_UNIT)."""

    def join(match: re.Match[str]) -> str:
        key, number, unit = match.groups()
        known = _ALIASES.get(key.lower())
        if known is None or known[0] != "latency_ms" or _NAMED_UNIT.search(key.lower()):
            return match.group(0)
        return f"{key}={number}{unit}"

    return SPACED_UNIT.sub(join, rest)


_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Key:
    """A key=value key and the unit of a bare number logged under it (durations only)."""

    name: str
    unit: str | None = None


KEYS: dict[str, tuple[Key, ...]] = {
    "latency_ms": (
        Key("latency_ms", "ms"),
        Key("duration_ms", "ms"),
        Key("response_time_ms", "ms"),
        Key("latency", "ms"),
        Key("duration", "s"),
        Key("request_time", "s"),
        Key("took", "ms"),  # go-kit
        Key("httpresponse.elapsed", "ms"),  # go-chi/httplog
        Key("response.latency", "ns"),  # samber/slog-http
        Key("latency_total", "ms"),  # Tyk's access log
    ),
    "status_code": (
        Key("status"),
        Key("status_code"),
        Key("statuscode"),  # gin-logrus
        Key("httpresponse.status"),
        Key("response.status"),
    ),
    "path": (
        Key("path"),
        Key("endpoint"),
        Key("route"),
        Key("uri"),
        Key("httprequest.path"),
        Key("request.path"),
    ),
    "method": (Key("method"), Key("httprequest.method"), Key("request.method")),
    "user_id": (Key("user"), Key("user_id")),
    "client_ip": (
        Key("ip"),
        Key("client_ip"),
        Key("remote_addr"),
        Key("remote_ip"),
        Key("clientip"),  # gin-logrus
        Key("httprequest.remoteip"),
        Key("request.ip"),
    ),
    "region": (Key("region"),),
    "device_type": (Key("device_type"), Key("device")),
    "error_reason": (Key("error"), Key("error_reason"), Key("err")),
    "bytes_sent": (
        Key("bytes_sent"),
        Key("bytes"),
        Key("datalength"),  # gin-logrus
        Key("httpresponse.bytes"),
        Key("response.length"),
        Key("size"),  # Grafana's request lines
    ),
}
"""Canonical columns read from key=value pairs (keys case-insensitive), first key first: plain
names, and the grouped ones of Go's HTTP loggers (go-chi/httplog's `httpRequest.method`,
samber/slog-http's `request.path`/`response.status`, gin-logrus' `statusCode`). A bare number
is in the key's unit; a number with a suffix (`1.5s`, `250ms`) in its own."""

_ALIASES = {
    key.name: (target, rank, UNIT_MS[key.unit or "ms"])
    for target, keys in KEYS.items()
    for rank, key in enumerate(keys)
}


NO_ERROR = frozenset({"null", "nil", "<nil>", "none"})
"""What loggers write for an error that is not there (go-kit's `err=null`, Go's `<nil>`)."""


def _a_duration(key: str, value: str) -> bool:
    """Whether a latency key's value is read as the latency: always under a key that names its
    unit (`latency_ms`: a value that is no number is then a reason to reject), and under one
    that does not (`duration`, `latency`) only when it is a number or a duration; otherwise the
    key means something else there (Prometheus' `duration=15d` retention, Loki's
    `latency=fast` class of a query) and stays an attribute."""
    if _NAMED_UNIT.search(key.lower()):
        return True
    text = value.strip()
    if not text or text == "-":
        return True
    try:
        float(text)
        return True
    except ValueError:
        return not np.isnan(duration_ms(text))


class KeyedValues:
    """The canonical columns (`KEYS`) read from the key=value pairs of n records, with the
    unit factor of each record's bare latency, and the pairs no column reads (attributes)."""

    def __init__(self, n: int):
        self.values: dict[str, list[str | None]] = {target: [None] * n for target in KEYS}
        self.factors = [1.0] * n
        self.extra: dict[str, list[str | None]] = {}
        self._n = n

    def add(self, i: int, pairs) -> None:
        """Record i's (key, value) pairs (values unquoted); among keys of one column, the one
        listed first in `KEYS` wins."""
        ranks: dict[str, int] = {}
        for key, value in pairs:
            known = _ALIASES.get(key.lower())
            if known is None:
                self.extra.setdefault(key, [None] * self._n)[i] = value
                continue
            target, rank, factor = known
            if target == "latency_ms" and not _a_duration(key, value):
                self.extra.setdefault(key, [None] * self._n)[i] = value
                continue
            if ranks.get(target, rank) < rank:
                continue  # a key listed earlier for this column was given
            if target == "error_reason" and value.lower() in NO_ERROR:
                continue
            ranks[target] = rank
            self.values[target][i] = value
            if target == "latency_ms":
                self.factors[i] = factor

    def columns(self) -> dict[str, list[str | None]]:
        """The text columns: one per canonical column, one `attribute:<key>` per other key."""
        return {**self.values, **{f"{COLUMN_PREFIX}{k}": v for k, v in self.extra.items()}}


_UNSENT = re.compile(r"\s*(?:0+|-\d+)\s*")


def without_unsent_status(records: pd.DataFrame) -> pd.DataFrame:
    """The records with no status where theirs is 0 or negative: no response was sent (Go
    servers log 0, Grafana `status=-1` for a request its handler took over, a websocket's)."""
    if "status_code" not in records:
        return records
    status = records["status_code"].astype("str")
    unsent = status.str.fullmatch(_UNSENT).fillna(False).astype(bool)
    if not unsent.any():
        return records
    return records.assign(status_code=status.mask(unsent))


def keyed_fields(factors: pd.Series) -> dict[str, Field]:
    """How the `KEYS` columns are typed: durations with each record's bare-number unit
    (`factors`, aligned on the records), whole status codes and bytes, the rest text."""
    fields = {
        "latency_ms": Field(
            "latency_ms", as_duration_ms(factors), "a duration (milliseconds, or e.g. 1.5s)"
        ),
        "status_code": Field("status_code", as_int("Int16"), "an integer status code"),
        "bytes_sent": Field("bytes_sent", as_int("Int64"), "a whole number of bytes"),
    }
    for target in KEYS:
        fields.setdefault(target, Field(target, as_text, "text"))
    return fields


EXPECTED = "expected '<timestamp> <LEVEL> <service> <message>'"


def looks_like_servicelog(line: str) -> bool:
    """An ISO-ish timestamp, optionally bracketed, then a level word (optionally bracketed)."""
    return HEADER.match(line.strip()) is not None


def parse_servicelog(data: bytes, *, format: str = "servicelog") -> Parsed:
    """Events from service-log lines. Continuation lines (stack traces) join the event before
    them: its `raw` holds all its lines and its message gains them, so `records_read` counts
    logical records (a log line with its continuation lines) plus rejected lines. Lines that are
    neither, and continuation lines with no log line before them, are rejected."""
    lines = split_lines(data)
    texts = lines.texts.tolist()
    numbers = lines.numbers.tolist()
    # the header fields of each log line (tuples of text, which the garbage collector skips)
    heads = [m.groups() if m else None for m in map(HEADER.match, texts)]
    starts: list[int] = []  # positions of the log lines among the lines
    tails: dict[int, list[str]] = {}  # event -> its continuation lines
    bad: list[tuple[int, str, str]] = []
    if None not in heads:
        starts = list(range(len(texts)))
    else:
        open_event = False  # whether the record before is a log line that lines can continue
        foreign: int | None = None  # the last line that was neither log line nor continuation
        for i, head in enumerate(heads):
            if head is not None:
                starts.append(i)
                open_event = True
            elif CONTINUATION.match(texts[i]) or RUNTIME_TIME.match(texts[i]):
                if open_event:
                    tails.setdefault(len(starts) - 1, []).append(texts[i])
                else:
                    reason = (
                        "continuation line with no log line before it"
                        if foreign is None
                        else f"continuation line after line {foreign}, which is not a log line"
                    )
                    bad.append((numbers[i], texts[i], reason))
            else:
                bad.append((numbers[i], texts[i], _not_a_log_line(texts[i])))
                open_event, foreign = False, numbers[i]

    records, units = _records(
        [numbers[i] for i in starts], [texts[i] for i in starts], [heads[i] for i in starts], tails
    )
    fields = {
        "ts": Field("timestamp", _as_log_time, "a timestamp (ISO 8601)"),
        "level": Field("level", as_level, "a log level"),
        "service": Field("service", as_text, "text"),
        "message": Field("message", _as_message, "text"),
        **keyed_fields(units),
    }
    fields = {name: fields[name] for name in CANDIDATE_TYPES if name in fields}  # reasons' order
    notes = [
        "servicelog records_read counts logical records: a log line with its continuation "
        "lines is one record"
    ]
    if tails:
        attached = sum(map(len, tails.values()))
        notes.append(f"{attached} continuation lines attached to {len(tails)} events")
    line_rejects = pd.concat(
        [lines.rejects, rejects_frame(*zip(*bad, strict=True)) if bad else rejects_frame()],
        ignore_index=True,
    )
    return build(
        without_unsent_status(records),
        fields,
        format=format,
        records_read=len(starts) + len(line_rejects),
        rejects=line_rejects,
        notes=tuple(notes),
        attributes=prefixed_columns(records),
    )


def _not_a_log_line(text: str) -> str:
    if _TS_ONLY.match(text):
        return (
            "not a service-log line: no log level after the timestamp "
            f"(expected one of {', '.join(LEVEL_WORDS.split('|'))})"
        )
    return f"not a service-log line: no timestamp at its start; {EXPECTED}"


def _records(
    numbers: list[int],
    firsts: list[str],
    heads: list[tuple[str, str, str | None, str | None, str]],
    tails: dict[int, list[str]],
) -> tuple[pd.DataFrame, pd.Series]:
    """Text records, one per event (its first line's number and header fields, and its
    continuation lines), and the unit factor of each event's bare latency."""
    n = len(numbers)
    ts, levels, threads, services, rests = zip(*heads, strict=True) if n else ((),) * 5
    messages: list[str | None] = [None] * n
    keyed = KeyedValues(n)
    access = message_requests(pd.Series(rests, dtype="str")) if n else None
    for i, thread in enumerate(threads):
        if thread is not None:
            keyed.extra.setdefault("thread", [None] * n)[i] = thread
    for i in _add_requests(keyed, access):  # access lines as messages: the line its message
        messages[i] = rests[i].strip()
    services = list(services)
    for i, rest in enumerate(rests):
        if messages[i] is not None:
            continue
        spans = SPANS.match(rest)
        span_pairs: list[tuple[str, str]] = []
        if spans:  # tracing's span context before its event: `request{method=GET uri=/}: `
            span_pairs = [
                (k, unquoted(v))
                for k, v in KEY_VALUE.findall(re.sub(r"[{}]:?", " ", spans.group(0)))
            ]
            rest = rest[spans.end() :]
            target = TARGET.match(rest)
            if target and services[i] is None:
                services[i], rest = target.group(1), rest[target.end() :]
        if "=" not in rest:
            messages[i] = rest.strip()
            if span_pairs:
                keyed.add(i, [(f"span.{k}", v) for k, v in span_pairs])
            continue
        # [text, key, value, text, key, value, ..., text]
        parts = KEY_VALUE.split(_spaced_units(rest))
        messages[i] = " ".join(filter(None, map(str.strip, parts[0::3])))
        pairs = list(zip(parts[1::3], map(unquoted, parts[2::3]), strict=True))
        # the span's request fields are the event's when it logs the response (its status)
        answered = any(k.lower() in ("status", "status_code") for k, _ in pairs)
        keyed.add(
            i, span_pairs + pairs if answered else [(f"span.{k}", v) for k, v in span_pairs] + pairs
        )
    raws = firsts
    if tails:
        raws = list(firsts)
        for i, more in tails.items():
            raws[i] = "\n".join([firsts[i], *more])
            more = [RUNTIME_TIME.sub("", line, count=1) for line in more]
            tails[i] = more
            messages[i] = "\n".join([messages[i], *more] if messages[i] else more)
        # .NET's console writes the message under its header line: a request's line there too
        bare = [
            i for i in tails if not (rests[i] or "").strip() and keyed.values["path"][i] is None
        ]
        _add_requests(
            keyed,
            message_requests(
                pd.Series([tails[i][0].strip() for i in bare], index=bare, dtype="str")
            ),
        )
    columns = {
        RAW: raws,
        "timestamp": ts,
        "level": levels,
        "service": services,
        "message": messages,
        **keyed.columns(),
    }
    records = pd.DataFrame({name: pd.Series(list(v), dtype="str") for name, v in columns.items()})
    records[LINE_NUMBER] = pd.array(numbers, dtype="Int64")
    return records, pd.Series(keyed.factors, index=records.index, dtype="float64")


def _add_requests(keyed: KeyedValues, found: pd.DataFrame | None) -> list[int]:
    """The requests `message_requests` found (its columns are `KEYS` names) added to `keyed`
    for their records; the records' positions."""
    if found is None:
        return []
    for i, row in found.iterrows():
        keyed.add(i, [(key, value) for key, value in row.items() if pd.notna(value)])
    return found.index.tolist()


def unquoted(value: str) -> str:
    """A key=value value as logged: a quoted one without its quotes and escapes."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _ESCAPE.sub(r"\1", value[1:-1])
    return value


def _as_log_time(text: pd.Series) -> pd.Series:
    """The header's timestamp (never an epoch number: the header pattern wants a date) to UTC;
    Python logging writes a comma before the milliseconds, offsets may follow a space."""
    iso = (
        text.str.replace(",", ".", regex=False)
        .str.replace(r" ?UTC$", "Z", regex=True)
        .str.replace(r" (?=[Z+-])", "", regex=True)
    )
    values = pd.to_datetime(iso, format="ISO8601", utc=True, errors="coerce")
    return values.dt.as_unit("us")


def _as_message(text: pd.Series) -> pd.Series:
    # keep the message as logged (a stack trace's indentation matters); only blanks are null
    return text.where(present(text)).astype("str")


FORMATS = [
    Format(
        "servicelog",
        parse_servicelog,
        looks_like_servicelog,
        "application log lines: <timestamp> <LEVEL> <service> <message> [key=value ...]",
    )
]
