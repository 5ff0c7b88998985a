"""Grok patterns (Logstash, Filebeat) translated to Python regular expressions.

The base patterns keep the names of Logstash's `patterns/legacy/grok-patterns` (logstash-plugins/
logstash-patterns-core), rewritten for Python's `re` (no atomic groups, no possessive
quantifiers); only the ones log layouts need are here."""

from __future__ import annotations

import re
from dataclasses import dataclass

BASE: dict[str, str] = {
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "USER": r"%{USERNAME}",
    "EMAILLOCALPART": r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+)*",
    "EMAILADDRESS": r"%{EMAILLOCALPART}@%{HOSTNAME}",
    "INT": r"[+-]?\d+",
    "BASE10NUM": r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)",
    "NUMBER": r"%{BASE10NUM}",
    "BASE16NUM": r"[+-]?(?:0x)?[0-9A-Fa-f]+",
    "POSINT": r"[1-9]\d*",
    "NONNEGINT": r"\d+",
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "QUOTEDSTRING": r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`",
    "QS": r"%{QUOTEDSTRING}",
    "UUID": r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    "MAC": r"(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}",
    "IPV4": r"(?<![0-9])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![0-9])",
    "IPV6": r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?:(?<=:)%{IPV4})?",
    "IP": r"%{IPV6}|%{IPV4}",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*"
    r"\.?\b",
    "IPORHOST": r"%{IP}|%{HOSTNAME}",
    "HOSTPORT": r"%{IPORHOST}:%{POSINT}",
    "UNIXPATH": r"(?:/[\w_%!$@:.,+~-]*)+",
    "WINPATH": r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+",
    "PATH": r"%{UNIXPATH}|%{WINPATH}",
    "URIPATH": r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+",
    "URIPARAM": r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*",
    "URIPATHPARAM": r"%{URIPATH}(?:%{URIPARAM})?",
    "MONTH": r"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?"
    r"|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?"
    r"|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b",
    "MONTHNUM": r"0?[1-9]|1[0-2]",
    "MONTHNUM2": r"0[1-9]|1[0-2]",
    "MONTHDAY": r"(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9]",
    "DAY": r"\b(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?"
    r"|Sat(?:urday)?|Sun(?:day)?)\b",
    "YEAR": r"(?:\d\d){1,2}",
    "HOUR": r"2[0123]|[01]?[0-9]",
    "MINUTE": r"[0-5][0-9]",
    "SECOND": r"(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?",
    "TIME": r"(?<![0-9.+-])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9.+-])",
    "DATE_US": r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}",
    "DATE_EU": r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}",
    "ISO8601_TIMEZONE": r"Z|[+-]%{HOUR}(?::?%{MINUTE})",
    "ISO8601_SECOND": r"%{SECOND}",
    "TIMESTAMP_ISO8601": r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}"
    r"(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    "DATE": r"%{DATE_US}|%{DATE_EU}",
    "DATESTAMP": r"%{DATE}[- ]%{TIME}",
    "TZ": r"[A-Z]{3}",
    "DATESTAMP_RFC822": r"%{DAY} %{MONTH} %{MONTHDAY} %{YEAR} %{TIME} %{TZ}",
    "DATESTAMP_OTHER": r"%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{TZ} %{YEAR}",
    "SYSLOGTIMESTAMP": r"%{MONTH} +%{MONTHDAY} %{TIME}",
    "HTTPDATE": r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
    "PROG": r"[\x21-\x5a\x5c\x5e-\x7e]+",
    "SYSLOGPROG": r"%{PROG}(?:\[%{POSINT}\])?",
    "SYSLOGHOST": r"%{IPORHOST}",
    "LOGLEVEL": r"[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?"
    r"|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?"
    r"|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?"
    r"|[Ee]merg(?:ency)?",
}
"""Logstash's grok-patterns, by name (a subset)."""

ELEMENT = re.compile(r"%\{(?P<syntax>\w+)(?::(?P<semantic>[\w.@\[\]-]+))?(?::(?P<option>[^}]*))?\}")
_ONIG_NAME = re.compile(r"\(\?<(?P<name>[A-Za-z_]\w*)>")


class GrokError(ValueError):
    """A pattern that cannot be compiled (an unknown %{NAME}, a bad regular expression)."""


@dataclass(frozen=True)
class Element:
    """One piece of a pattern: `%{SYNTAX:semantic:option}` or the regex text between them."""

    text: str  # as written
    regex: str  # translated
    start: int  # column in the pattern
    semantic: str | None = None
    option: str | None = None


def _expand(syntax: str, depth: int = 0) -> str:
    if syntax not in BASE:
        raise GrokError(f"unknown grok pattern %{{{syntax}}}; known: {', '.join(sorted(BASE))}")
    if depth > 20:
        raise GrokError(f"grok pattern %{{{syntax}}} refers to itself")
    return ELEMENT.sub(lambda m: f"(?:{_expand(m.group('syntax'), depth + 1)})", BASE[syntax])


def group_name(semantic: str) -> str:
    """A semantic as a Python group name (`[log][level]` and `log.level` become `log_level`)."""
    name = re.sub(r"\W+", "_", semantic).strip("_")
    return name if name and not name[0].isdigit() else f"f_{name}"


def elements(pattern: str) -> list[Element]:
    """The pattern's pieces in order: each %{...} and the literal regex text between them."""
    out: list[Element] = []
    at = 0
    for match in ELEMENT.finditer(pattern):
        if match.start() > at:
            text = pattern[at : match.start()]
            out.append(Element(text, _ONIG_NAME.sub(r"(?P<\g<name>>", text), at))
        inner = _expand(match.group("syntax"))
        semantic = match.group("semantic")
        regex = f"(?P<{group_name(semantic)}>{inner})" if semantic else f"(?:{inner})"
        out.append(Element(match.group(0), regex, match.start(), semantic, match.group("option")))
        at = match.end()
    if at < len(pattern):
        text = pattern[at:]
        out.append(Element(text, _ONIG_NAME.sub(r"(?P<\g<name>>", text), at))
    return out


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The whole pattern, anchored at the line's start and end."""
    try:
        return re.compile("(?:" + "".join(e.regex for e in elements(pattern)) + r")\s*$", re.DOTALL)
    except re.error as error:
        raise GrokError(f"pattern {pattern!r} is not a valid grok pattern: {error}") from None


def explain_mismatch(parts: list[Element], line: str) -> tuple[Element, int]:
    """The first element the line does not match, and the (1-based) column where it should.

    Tries ever longer prefixes of the pattern; the last prefix that matches ends where the
    next element failed."""
    end = 0
    for k in range(len(parts)):
        prefix = "".join(e.regex for e in parts[: k + 1])
        try:
            match = re.match(prefix, line, re.DOTALL)
        except re.error:  # a prefix that cuts a group open: try a longer one
            continue
        if match is None:
            return parts[k], end + 1
        end = match.end()
    return parts[-1], end + 1
