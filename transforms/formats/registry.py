"""Every format by name, and detection of a file's format from the share of its first lines
each format reads."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from transforms.formats import (
    access,
    azure_storage,
    cri,
    delimited,
    devserver,
    envoy,
    gin,
    heroku,
    iis,
    jsonl,
    layouts,
    loadbalancer,
    morgan,
    npm,
    phpfpm,
    proxies,
    s3,
    servicelog,
    squid,
    uvicorn,
    w3c,
    webproxies,
    zeek,
)
from transforms.formats.access import suggest
from transforms.formats.base import FileFormatError, Format, Parsed, split_lines
from transforms.reason_codes import reason_code


def _looks_delimited(*delimiters: str) -> Callable[[str], bool]:
    others = [d for d in (",", "\t", ";") if d not in delimiters]

    def looks_like(line: str) -> bool:
        # a header line: more of one of these delimiters than of the others
        return any(
            line.count(d) >= 1 and all(line.count(o) < line.count(d) for o in others)
            for d in delimiters
        )

    return looks_like


FORMATS: dict[str, Format] = {
    "csv": Format(
        "csv",
        lambda data, **o: delimited.parse_delimited(
            data, delimiter=delimited.csv_delimiter(data), format="csv", **o
        ),
        _looks_delimited(*delimited.DELIMITERS),
        "comma- (or semicolon-) separated with a header",
    ),
    "tsv": Format(
        "tsv",
        lambda data, **o: delimited.parse_delimited(data, delimiter="\t", format="tsv", **o),
        _looks_delimited("\t"),
        "tab-separated with a header",
    ),
}


def _delimited_mapping(mapping) -> dict[str, delimited.Column]:
    return {target: delimited.Column(column, unit) for target, column, unit in mapping}


def _json_mapping(mapping) -> dict[str, jsonl.JsonField]:
    return {target: jsonl.JsonField(path, unit) for target, path, unit in mapping}


MAPPED: dict[str, Callable[[Any], Any]] = {
    "csv": _delimited_mapping,
    "tsv": _delimited_mapping,
    "jsonl": _json_mapping,
    "caddy": _json_mapping,
    "traefik": _json_mapping,
}
"""Formats that take a column mapping, with the conversion from the settings' form."""


TIMED_ACCESS = ("common", "combined")
"""Access formats whose mapping names the unit of the request time logged after the bytes
(Common) or the user agent (Combined): `latency_ms = { column = "request_time", unit = "ms" }`
for Tomcat's `%D` and Jetty's latency, which are milliseconds where a whole number is
otherwise Apache's `%D`, microseconds."""


def _request_time_unit(fmt: str, mapping) -> str:
    """The request time's unit a `common` or `combined` mapping names."""
    units = access.clf.REQUEST_TIME_UNITS
    for target, column, unit in mapping:
        if target != "latency_ms" or column != "request_time" or unit not in units:
            raise FileFormatError(
                f"format '{fmt}' takes one mapping, the unit of its request time: "
                f'latency_ms = {{ column = "request_time", unit = "s", "ms" or "us" }}; got '
                f"{target} = {{ column = {column!r}, unit = {unit!r} }}"
            )
    return mapping[-1][2]


GENERIC = ("csv", "tsv")
"""Formats considered only when no line format claims any of the first lines."""


def register(fmt: Format) -> None:
    FORMATS[fmt.name] = fmt


for _module in (
    jsonl,
    servicelog,
    access,
    loadbalancer,
    proxies,
    heroku,
    squid,
    gin,
    phpfpm,
    s3,
    uvicorn,
    morgan,
    devserver,
    envoy,
    webproxies,
    npm,
    azure_storage,
    iis,
    w3c,
    zeek,
    layouts,
    cri,
):
    for _format in _module.FORMATS:
        register(_format)

NGINX_PREFIX = "nginx:"


def get(fmt: str) -> Format:
    """A registered format, a custom nginx `log_format` named `nginx:<template>`, a grok
    pattern named `pattern:<grok>` or a log4j conversion pattern named `log4j:<pattern>`."""
    if fmt in FORMATS:
        return FORMATS[fmt]
    if fmt.startswith(NGINX_PREFIX):
        return access.nginx_format(fmt.removeprefix(NGINX_PREFIX))
    if fmt.startswith(layouts.PATTERN_PREFIX):
        return layouts.pattern_format(fmt.removeprefix(layouts.PATTERN_PREFIX))
    if fmt.startswith(layouts.LOG4J_PREFIX):
        return layouts.log4j_format(fmt.removeprefix(layouts.LOG4J_PREFIX))
    raise FileFormatError(
        f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}, nginx:'<log_format>', "
        "pattern:'<grok pattern>' or log4j:'<conversion pattern>'"
    )


SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 200
"""Detection reads the first lines of a file, at most this many, in at most SAMPLE_BYTES."""
MIN_SHARE = 0.9
"""A format is chosen only if it reads at least this share of the sampled records."""
HEADER_FORMATS = ("w3c", "zeek")
"""Formats a file announces on its first line (directives): that line decides."""
PREFERENCE = (
    "w3c",
    "alb",
    "elb",
    "haproxy",
    "uwsgi",
    "heroku",
    "squid",
    "gin",
    "phpfpm",
    "s3",
    "azure_storage",
    "iis",
    "uvicorn",
    "morgan",
    "devserver",
    "envoy",
    "caddy",
    "traefik",
    "npm",
    "apache_ssl",
    "common",
    "combined",
    "journald",
    "syslog5424",
    "syslog",
    "klog",
    "logcat",
    "apache_error",
    "nginx_error",
    "zap",
    "golog",
    "ruby",
    "python",
    "log4j",
    "servicelog",
    "logfmt",
    "jsonl",
    "cri",
)
"""On a tie of shares, the more specific format wins (Common before Combined, which reads
Common lines too; Traefik before Combined and, with Caddy, before JSON lines, whose parsers
read their lines too; the journal before JSON lines; Python logging and log4j before the
service log, which reads some of their lines with the thread or logger as the service)."""
EVENT_FORMATS = frozenset(
    {
        "journald",
        "syslog5424",
        "syslog",
        "klog",
        "logcat",
        "apache_error",
        "nginx_error",
        "zap",
        "golog",
        "ruby",
        "python",
        "log4j",
        "servicelog",
        "logfmt",
        "jsonl",
        "monolog",
        "nestjs",
        "sidekiq",
        "lambda",
    }
)
"""Formats of log events (a time, a level, a service, a message) rather than of access lines:
those an access log's other lines may be read in (`access.lines.other_format_events`)."""
JSON_ARRAY = re.compile(r"\s*\[\s*(?:[{\[]|$)")
"""A first line that opens a JSON array of objects or arrays."""


def sample_head(data: bytes) -> bytes:
    """The first SAMPLE_LINES lines of `data` in at most SAMPLE_BYTES (a line cut by the byte
    limit is left out), counted from its first line with text: blank lines before it stay
    in the sample as empty lines, so that lines keep their numbers."""
    cut, blank = _blank_start(data)
    head = data[cut : cut + SAMPLE_BYTES]
    if len(data) - cut > SAMPLE_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    end = 0
    for _ in range(SAMPLE_LINES):
        end = head.find(b"\n", end) + 1
        if end <= 0:
            break
    else:
        head = head[:end]
    return b"\n" * blank + head if blank else head


_BLANK = b" \t\r\n"


def _blank_start(data: bytes) -> tuple[int, int]:
    """Where the first line with text starts, and how many lines come before it."""
    if data[:1] not in (b" ", b"\t", b"\r", b"\n"):
        return 0, 0
    for start in range(0, len(data), 1 << 20):
        block = data[start : start + (1 << 20)]
        rest = block.lstrip(_BLANK)
        if rest:
            text = start + len(block) - len(rest)
            cut = data.rfind(b"\n", 0, text) + 1
            return cut, data.count(b"\n", 0, cut)
    return 0, 0


VALUE_PROBLEMS = ("invalid_", "out_of_range_", "missing_", "future_")
"""Reason codes of a record the format read whose values are wrong (a status 'teapot'): the
format fits the line, the record is quarantined for its values."""
NOT_A_REQUEST = "not_a_request"
"""The reason code of a line a format names as its server's own message, not a request."""


def shares(sample: bytes, first_lines: list[str]) -> dict[str, float]:
    """For each line format that claims one of `first_lines`, the share of the sample's
    records its parser reads (records: lines, or events with their continuation lines),
    records it read but rejects for a bad value included, and so are the server's own
    messages it names (a startup banner, a server going down: `not_a_request`) or reads as
    events of their own layout (`Parsed.others`) once it has read a record of its own."""
    out: dict[str, float] = {}
    for fmt in FORMATS.values():
        if fmt.name in GENERIC or not any(
            fmt.looks_like(line.rstrip(" \t")) for line in first_lines
        ):
            continue
        try:
            parsed = fmt.parse(sample)
        except FileFormatError:
            continue
        if parsed.records_read:
            bad_value, not_request = _reject_kinds(parsed)
            valued = int(bad_value.sum())
            if len(parsed.candidates) or valued:
                valued += int(not_request.sum())
                valued += sum(len(o.candidates) + len(o.rejects) for o in parsed.others)
            out[fmt.name] = (len(parsed.candidates) + valued) / parsed.records_read
    return out


def _rank(found: dict[str, float]) -> list[tuple[str, float]]:
    order = {name: k for k, name in enumerate(PREFERENCE)}
    return sorted(found.items(), key=lambda item: (-item[1], order.get(item[0], len(order))))


PREAMBLE_LINES = 40
"""Lines a file may open with that no format claims (a framework's ASCII-art banner: Spring
Boot's, Quarkus', Echo's) before its log lines."""


def _after_preamble(sample: bytes, texts: list[str], numbers: np.ndarray) -> str | None:
    """The format of the lines after a preamble (see PREAMBLE_LINES) that no format claims
    any line of, when at least two follow it and MIN_SHARE of them are one format's; None
    when there is no such preamble or format. The preamble's lines are then
    quarantined, as any line its format does not read."""
    claimed = [
        k
        for k, line in enumerate(texts[: PREAMBLE_LINES + 1])
        if any(f.name not in GENERIC and f.looks_like(line.rstrip(" \t")) for f in FORMATS.values())
    ]
    start = claimed[0] if claimed else 0
    if not 0 < start <= PREAMBLE_LINES or len(texts) - start < 2:
        return None
    cut = 0
    for _ in range(int(numbers[start]) - 1):  # blank lines have numbers, not texts
        cut = sample.index(b"\n", cut) + 1
    ranked = _rank(shares(sample[cut:], texts[start:]))
    return ranked[0][0] if ranked and ranked[0][1] >= MIN_SHARE else None


def detect(data: bytes, written: bytes | None = None) -> str:
    """The format of a file, measured on its first lines (SAMPLE_LINES): a format that
    announces itself on the first line (W3C directives) is that format; else every line
    format that claims one of the sampled lines parses the sample, and the one that reads the
    largest share of its records wins, if that share is at least MIN_SHARE (on a tie, the
    first in PREFERENCE). When no line format reads any sampled line, a JSON array or object
    goes to jsonl (whose parser says why it cannot read it: not JSON lines, no time key) and a
    header line to csv or tsv. A preamble no format claims (a banner) may come first
    (`_after_preamble`).
    Otherwise FileFormatError names the best candidates with their shares and quotes the first
    line as written (from `written`, the file before a prefix was stripped, when given)."""
    sample = sample_head(data)
    lines = split_lines(sample)
    if not len(lines.texts):
        if len(lines.rejects):
            raise FileFormatError(
                f"line {lines.rejects.iloc[0]['line_number']}: {lines.rejects.iloc[0]['reasons']};"
                " cannot detect the format"
            )
        raise FileFormatError("file is empty: no line to detect the format from")
    first = lines.texts.iloc[0]
    for name in HEADER_FORMATS:
        if FORMATS[name].looks_like(first):
            return name
    ranked = _rank(shares(sample, lines.texts.tolist()))
    if ranked and ranked[0][1] >= MIN_SHARE:
        return ranked[0][0]
    after = _after_preamble(sample, lines.texts.tolist(), lines.numbers)
    if after is not None:
        return after
    if not ranked:  # no line format reads the sampled lines
        if JSON_ARRAY.match(first) or jsonl.looks_like_jsonl(first):
            return "jsonl"  # whose parser says why it cannot read them
        generic = [name for name in GENERIC if FORMATS[name].looks_like(first)]
        # an access line's commas (in its user agent) make no header: it gets the template
        # hint; nor do a log line's (`10:00:00,123`): a header names columns, it holds no time
        if (
            len(generic) == 1
            and not access.clf.CLF_START.match(first)
            and not TIME_IN_LINE.search(first)
        ):
            return generic[0]
    if written is not None:  # the same line as the user wrote it, prefix included
        original = split_lines(sample_head(written))
        at = np.flatnonzero(original.numbers == lines.numbers[0])
        first = original.texts.iloc[at[0]] if len(at) else first
    shown = first if len(first) <= 300 else first[:300] + f"… ({len(first) - 300} more characters)"
    best = ", ".join(f"{name} {share:.0%}" for name, share in ranked[:3])
    hint = (
        f"; the closest formats read only {best} of the first {len(lines.texts)} lines"
        if best
        else ""
    )
    suggestion = (
        _unread_hint(ranked[0][0] if ranked else None, sample, int(lines.numbers[0]))
        or _template_hint(first, lines.texts.tolist())
        or _no_date_hint(lines.texts.tolist())
        or _no_time_hint(lines.texts.tolist())
    )
    raise FileFormatError(
        f"line {lines.numbers[0]}: could not detect the format of: {shown}{hint}; expected one "
        f"of {', '.join(FORMATS)} (name it with --format){suggestion}"
    )


TIME_IN_LINE = re.compile(r"(?<![\d:])\d{1,2}:\d{2}:\d{2}(?![\d:])")
"""A time of day anywhere in a line: a log line's, never a header's."""
TIME_OF_DAY = re.compile(r"^\[?\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?\]?\s")
"""A line that starts with a time of day and no date (Elixir's Logger, Fiber's and Micronaut's
default formats)."""


def _no_date_hint(texts: list[str]) -> str:
    """For a file whose lines start with a time of day and no date: that it cannot be read
    without a date, and how to log one."""
    timed = sum(bool(TIME_OF_DAY.match(t)) for t in texts)
    if timed < 2 or timed < len(texts) // 4:  # most of a file, after any banner
        return ""
    return (
        "; its lines log a time of day and no date, so no event can be placed in time: "
        "configure the logger to write the date too (an ISO 8601 time, e.g. "
        "2024-05-16T10:20:30.123Z)"
    )


TIMELESS = (
    (uvicorn.TIMELESS, "uvicorn's access lines", "uvicorn", "%(asctime)s in its access formatter"),
    (morgan.TIMELESS, "morgan's dev, short or tiny lines (Express)", "morgan", ":date[iso] first"),
)
"""Request lines of programs that write no time by default: (layout, what they are, the format
that reads them behind a runtime's time, how to make the program write a time)."""


def _no_time_hint(texts: list[str]) -> str:
    """For lines a program writes without a time (uvicorn's access log, morgan's dev, short
    and tiny formats): that no request can be placed in time, and how to get a time."""
    for layout, what, fmt, own_time in TIMELESS:
        timeless = sum(bool(layout.fullmatch(t)) for t in texts)
        if timeless < min(2, len(texts)) or timeless < len(texts) // 4:  # most lines, as above
            continue
        return (
            f"; its lines are {what}, which carry no time, so no request can be placed in "
            "time: read them with the time their container runtime adds (`docker logs -t`, "
            f"`kubectl logs --timestamps`; read as {fmt}), or have the program write one "
            f"({own_time})"
        )
    return ""


def _reject_kinds(parsed: Parsed) -> tuple[np.ndarray, np.ndarray]:
    """For each rejected record of a parse: whether the format read it and rejected it for a
    bad value only, and whether it named it its server's own message (`not_a_request`)."""
    codes = [reason_code(r).split(";") for r in parsed.rejects["reasons"]]
    bad_value = [all(code.startswith(VALUE_PROBLEMS) for code in c) for c in codes]
    not_request = [NOT_A_REQUEST in c for c in codes]
    return np.array(bad_value, bool), np.array(not_request, bool)


def _layout_rejects(parsed: Parsed) -> pd.DataFrame:
    """The records a format could not read at all (not those it read and rejected for a bad
    value, nor its server's own messages: see `shares`)."""
    bad_value, not_request = _reject_kinds(parsed)
    return parsed.rejects[~(bad_value | not_request)]


def _unread_hint(best: str | None, sample: bytes, first_number: int) -> str:
    """For a file whose first line the best format reads, but too few of the others: the
    first line it does not read, and that naming the format reads the file with it."""
    if best is None:
        return ""
    try:
        unread = _layout_rejects(FORMATS[best].parse(sample))
    except FileFormatError:
        return ""
    if not len(unread) or int(unread["line_number"].iloc[0]) == first_number:
        return ""
    number = int(unread["line_number"].iloc[0])
    text = str(unread["raw"].iloc[0])
    shown = text if len(text) <= 200 else text[:200] + "…"
    return (
        f"; {best} reads line {first_number} but not line {number}: {shown}; "
        f"--format {best} reads the file as {best}, and each line it cannot read goes to "
        "quarantine with the reason"
    )


def _template_hint(line: str, texts: list[str]) -> str:
    """For an access-log line no format reads: the nginx log_format template nearest to it
    (`suggest.nearest_template`), and how many of the sampled lines have its layout."""
    template = suggest.nearest_template(line)
    if template is None:
        return ""
    shape = suggest.layout(line)
    alike = sum(suggest.layout(text) == shape for text in texts)
    fields = (
        "; each $field_N is kept as an attribute under that name: rename it after what it holds"
        if "$field_" in template
        else ""
    )
    return (
        "; it looks like an access log line: name its layout as an nginx log_format, as in "
        f"--format {suggest.shell_quoted('nginx:' + template)} ({alike} of the first "
        f"{len(texts)} lines have this line's layout){fields}"
    )


def parse(
    data: bytes,
    fmt: str,
    *,
    mapping: tuple[tuple[str, str, str | None], ...] | None = None,
    as_of: pd.Timestamp | None = None,
) -> Parsed:
    """Parses with the named format; `mapping` is (canonical column, file column or dotted
    path, unit) for the formats that take one (csv, tsv, jsonl); `as_of`, the ingest time,
    goes to the formats that take it (layouts that log no year infer it from it)."""
    chosen = get(fmt)
    options: dict[str, Any] = {}
    if as_of is not None and chosen.takes_ingest_time:
        options["as_of"] = as_of
    if mapping and fmt in TIMED_ACCESS:
        options["request_time_unit"] = _request_time_unit(fmt, mapping)
    elif mapping:
        if fmt not in MAPPED:
            raise FileFormatError(f"format '{fmt}' takes no column mapping")
        options["mapping"] = MAPPED[fmt](mapping)
    token = INGEST_TIME.set(as_of)
    try:
        return chosen.parse(data, **options)
    finally:
        INGEST_TIME.reset(token)


INGEST_TIME: ContextVar[pd.Timestamp | None] = ContextVar("ingest_time", default=None)
"""The ingest time of the parse under way (`parse`'s `as_of`): the lines of another log that
a format reads among its own (`access.lines.other_format_events`) are parsed with it, so their
year-less times (klog's, syslog's) get their year as the same lines read alone do."""
