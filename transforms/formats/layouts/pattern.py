"""User-given layouts: a grok pattern (`pattern:<grok>`, as Logstash and Filebeat write them) or
a log4j conversion pattern (`log4j:<pattern>`), read as events:

    format = "pattern:%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{DATA:service}: %{GREEDYDATA:message}"
    format = "log4j:%d{ISO8601} %-5p [%t] %c - %m%n"

A grok pattern's named parts fill the event: `ts` (or `timestamp`, `time`), `level` (or
`severity`, `loglevel`), `service` (or `logger`, `program`, `component`, `app`) and `message`
(or `msg`); every other named part is an attribute. The time is read as ISO 8601, epoch
seconds (milliseconds, ... by magnitude), `Mmm dd hh:mm:ss` or a strptime format given as the
part's third field, e.g. `%{DATA:ts:%y%m%d %H%M%S}`; a format without a year (%Y, %y) has its
year inferred from the ingest time, as syslog's. A pattern without a level gives its events
the level INFO. A line the pattern does not read is quarantined with the first part that
failed and its column. A line whose level is one of PostgreSQL's secondary fields (DETAIL,
HINT, QUERY, CONTEXT, LOCATION, STATEMENT) is no event of its own: it joins the event before it
as a continuation line, from that word on."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.base import FileFormatError, Format, as_timestamp
from transforms.formats.layouts.core import Layout, strptime_time, yearless_time
from transforms.formats.layouts.grok import (
    ELEMENT,
    GrokError,
    compile_pattern,
    elements,
    explain_mismatch,
)
from transforms.formats.layouts.levels import SECONDARY_FIELDS, level_letters_or_words

PATTERN_PREFIX = "pattern:"
LOG4J_PREFIX = "log4j:"
ALIASES = {
    "ts": "ts",
    "timestamp": "ts",
    "time": "ts",
    "@timestamp": "ts",
    "level": "level",
    "severity": "level",
    "loglevel": "level",
    "log.level": "level",
    "service": "service",
    "logger": "service",
    "program": "service",
    "component": "service",
    "app": "service",
    "message": "message",
    "msg": "message",
}
"""Semantic names that fill the event's columns."""
_YEARLESS_GUESS = yearless_time("%b %d %H:%M:%S")


def _time_reader(fmt: str | None):
    if fmt and "%" in fmt:
        if re.search(r"%[Yys]", fmt) or "%G" in fmt:
            return strptime_time(fmt.replace(",", "."))
        return yearless_time(fmt)

    def guess(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
        out = as_timestamp()(text.str.replace(r"(\d),(\d)", r"\1.\2", regex=True))
        rest = out.isna() & text.notna()
        if rest.any():
            out[rest] = _YEARLESS_GUESS(text[rest], as_of)
        return out

    return guess


def pattern_format(spec: str, *, name: str | None = None, time_format: str | None = None) -> Format:
    """The format of a grok pattern; a pattern that does not compile raises FileFormatError."""
    renamed = ELEMENT.sub(
        lambda m: (
            "%{"
            + m.group("syntax")
            + ":"
            + ALIASES.get(m.group("semantic").lower(), m.group("semantic"))
            + (":" + m.group("option") if m.group("option") is not None else "")
            + "}"
            if m.group("semantic")
            else m.group(0)
        ),
        spec,
    )
    try:
        header = compile_pattern(renamed)
        parts = elements(renamed)
    except GrokError as error:
        raise FileFormatError(str(error)) from None
    if "ts" not in header.groupindex:
        raise FileFormatError(
            f"pattern {spec!r} names no time: name one part ts, e.g. %{{TIMESTAMP_ISO8601:ts}}"
        )
    time_option = time_format or next((e.option for e in parts if e.semantic == "ts"), None)
    originals = elements(spec)  # the user's own names, for the reasons

    def explain(number: int, text: str) -> str:
        part, column = explain_mismatch(parts, text)
        k = parts.index(part)
        as_written = originals[k].text if k < len(originals) else part.text
        found = text[column - 1 : column + 19]
        return (
            f"line {number}: does not match the pattern: expected {as_written} at column "
            f"{column}" + (f" (found {found!r})" if found else " (the line ends there)")
        )

    layout = Layout(
        name or PATTERN_PREFIX + spec,
        header,
        _time_reader(time_option),
        f"the pattern {spec!r}",
        time_what=f"a timestamp ({time_option})" if time_option else "a timestamp",
        level=level_letters_or_words,
        default_level=None if "level" in header.groupindex else "INFO",
        explain=explain,
        secondary=SECONDARY_FIELDS if "level" in header.groupindex else frozenset(),
    )
    return layout.format(f"grok pattern {spec}")


# log4j conversion patterns ---------------------------------------------------------------------
_CONVERSION = re.compile(
    r"%(?P<pad>-?\d*(?:\.\d+)?)(?P<word>[a-zA-Z]+)(?:\{(?P<option>[^}]*)\})?|%%"
)
_DATE_NAMES = {
    "ISO8601": "yyyy-MM-dd HH:mm:ss,SSS",
    "ISO8601_BASIC": "yyyyMMdd'T'HHmmss,SSS",
    "DEFAULT": "yyyy-MM-dd HH:mm:ss,SSS",
    "DATE": "dd MMM yyyy HH:mm:ss,SSS",
    "ISO8601_OFFSET_DATE_TIME_HHMM": "yyyy-MM-dd'T'HH:mm:ss,SSSZ",
    "ISO8601_OFFSET_DATE_TIME_HHCMM": "yyyy-MM-dd'T'HH:mm:ss,SSSXXX",
}
_JAVA_DATE = (
    ("yyyy", "%Y", r"\d{4}"),
    ("yy", "%y", r"\d{2}"),
    ("MMM", "%b", r"[A-Za-z]{3}"),
    ("MM", "%m", r"\d{2}"),
    ("dd", "%d", r"\d{2}"),
    ("HH", "%H", r"\d{2}"),
    ("mm", "%M", r"\d{2}"),
    ("ss", "%S", r"\d{2}"),
    ("SSSSSS", "%f", r"\d{6}"),
    ("SSS", "%f", r"\d{3}"),
    ("XXX", "%z", r"(?:Z|[+-]\d{2}:\d{2})"),
    ("Z", "%z", r"[+-]\d{4}"),
    ("EEE", "%a", r"[A-Za-z]{3}"),
)
_WORDS = {
    ("p", "le", "level"): "%{LOGLEVEL:level}",
    ("t", "thread"): "%{DATA:thread}",
    ("c", "lo", "logger"): r"(?<service>[^\s:]+?)",
    ("C", "class"): r"(?<class>[^\s:@]+?)",
    ("m", "msg", "message"): "%{GREEDYDATA:message}",
    ("L", "line"): "%{INT:line}",
    ("M", "method"): r"(?<method>[^\s:@]+?)",
    ("F", "file"): "%{NOTSPACE:file}",
    ("r", "relative"): "%{INT:relative}",
    ("x", "NDC"): "%{DATA:ndc}",
}


def _java_date(option: str | None) -> tuple[str, str]:
    """A java.text.SimpleDateFormat pattern (or a log4j date name) as (regex, strptime)."""
    java = _DATE_NAMES.get(option or "DEFAULT", option or "")
    regex, fmt, i = "", "", 0
    while i < len(java):
        if java[i] == "'":
            end = java.index("'", i + 1) if "'" in java[i + 1 :] else len(java)
            regex += re.escape(java[i + 1 : end])
            fmt += java[i + 1 : end]
            i = end + 1
            continue
        for token, directive, part in _JAVA_DATE:
            if java.startswith(token, i):
                regex, fmt, i = regex + part, fmt + directive, i + len(token)
                break
        else:
            regex, fmt, i = regex + re.escape(java[i]), fmt + java[i], i + 1
    return regex, fmt


def log4j_to_grok(conversion: str) -> tuple[str, str | None]:
    """A log4j/logback conversion pattern as (a grok pattern, the strptime format of its
    date); padding (`%-5p`) becomes optional space."""
    out, at, time_format = [], 0, None
    for match in _CONVERSION.finditer(conversion):
        out.append(re.sub(r"(\\ )+", r"\\s+", re.escape(conversion[at : match.start()])))
        at = match.end()
        word = match.group("word")
        if match.group(0) == "%%":
            out.append("%")
            continue
        if word == "n":
            continue
        if word in ("d", "date"):
            regex, time_format = _java_date(match.group("option"))
            out.append(f"(?<ts>{regex})")
        else:
            grok = next((g for names, g in _WORDS.items() if word in names), r"(?:\S*)")
            out.append(grok)
        if match.group("pad") and match.group("pad").lstrip("-"):
            out.append(r"\s*")
    out.append(re.sub(r"(\\ )+", r"\\s+", re.escape(conversion[at:])))
    grok = "".join(out)
    while grok.endswith((r"\s+", r"\s*")):
        grok = grok[:-3]
    return grok, time_format


def log4j_format(conversion: str) -> Format:
    """The format of a log4j/logback conversion pattern (`log4j:<pattern>`)."""
    grok, time_format = log4j_to_grok(conversion)
    return pattern_format(grok, name=LOG4J_PREFIX + conversion, time_format=time_format)
