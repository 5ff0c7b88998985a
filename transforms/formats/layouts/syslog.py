"""syslog lines, RFC 3164 (BSD) and RFC 5424, as events:

    <34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8
    <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3"] An application event

The service is the app name (RFC 3164's tag, RFC 5424's APP-NAME; syslogd for its own
`--- last message repeated N times ---` lines); the host, the pid (PROCID)
and RFC 5424's MSGID and structured data are attributes (and the version sysklogd writes after
its name, the context macOS writes after the pid). The level is the PRI's severity
(notice is INFO); a line without PRI (as files written by rsyslog and syslog-ng have) takes a
level word that opens its message (`error: ...`, `[WARN] ...`), else INFO: such a line is still
an event, logged at the level syslog daemons use by default for programs that name none.
RFC 3164 times have no year: it is inferred from the ingest time (the latest year that does not
put the line after it); rsyslog's ISO 8601 times are read as they are."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.layouts.core import Layout, iso_time, yearless_time
from transforms.formats.layouts.levels import severity_of_pri, syslog_severity

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
"""rsyslog's RFC 3339 times, and journalctl's `-o short-iso` (`+0100` before systemd 250)."""
RFC3164 = re.compile(
    rf"(?:<(?P<_pri>\d{{1,3}})>)?(?P<ts>{_MONTH} [ \d]\d \d{{2}}:\d{{2}}:\d{{2}}|{_ISO})"
    # the host (never a level word: `<time> ERROR svc: ...` is a service log's line)
    r"\s+(?!(?i:trace|debug|info|notice|warn|warning|error|err|crit|critical|fatal|alert|emerg)\s)"
    r"(?P<host>[^\s:\[\]]+)"
    # a tag holds no space, except before a [pid] (macOS: `Microsoft Word[233]:`)
    r"\s+(?P<service>[^\s\[:][^\[:]*?(?=\[[^\]\s]*\]:)|[^\s\[:]+?(?:\([^)\s]*\))?)"
    r"(?:\[(?P<pid>[^\]\s]*)\])?"
    # sysklogd names its version (`syslogd 1.4.1: restart.`); macOS a context after the pid
    # (`sandboxd[129] ([31211]): ...`, `launchd[1] (com.apple...WebContent.32502): ...`)
    r"(?: (?P<version>\d+(?:\.\d+)+)| \((?P<context>\S*?)\))?:"
    r"(?:\s(?P<message>.*))?$"
    # syslogd's own notice, which names no host or tag
    rf"|(?P<ts__r>{_MONTH} [ \d]?\d \d{{2}}:\d{{2}}:\d{{2}}) (?P<message__r>--- last message "
    r"repeated \d+ times? ---)$",
    re.DOTALL,
)
RFC5424 = re.compile(
    r"<(?P<_pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<service>\S+) (?P<pid>\S+)"
    r" (?P<msgid>\S+) (?P<structured_data>-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)"
    r"(?: \ufeff?(?P<message>.*))?$",
    re.DOTALL,
)
_LEVEL_WORD = re.compile(
    r"(?i)^[<\[(]?(?P<level>emerg|alert|crit|critical|err|error|warn|warning|notice|info"
    r"|debug|fatal)[>\])]?(?::|\s|$)"
)


def _with_severity(records: pd.DataFrame) -> pd.DataFrame:
    """The PRI's severity as the level, else a level word that opens the message; syslogd's
    own `--- last message repeated N times ---` lines are syslogd's."""
    records["service"] = records["service"].fillna("syslogd")
    raw_first = records["raw"].str.split("\n", n=1).str[0]
    pri = raw_first.str.extract(r"^<(\d{1,3})>", expand=False)
    severity = pri.map(severity_of_pri, na_action="ignore")
    word = records["message"].str.extract(_LEVEL_WORD, expand=False)
    records["level"] = severity.where(severity.notna(), word).astype("str")
    return records


_3164_TIME = yearless_time("%b %d %H:%M:%S")


def syslog_time(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    """`Oct 11 22:14:15` (the year inferred from the ingest time) or ISO 8601."""
    iso = text.str.match(r"\d{4}-").fillna(False).astype(bool)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if iso.any():
        out[iso] = iso_time(text[iso], as_of)
    if (~iso).any():
        out[~iso] = _3164_TIME(text[~iso], as_of)
    return out


JOURNALCTL_MARKER = re.compile(
    r"-- (?:Boot [0-9a-f]+|Reboot|No entries|(?:Logs|Journal) begins? at .*|Journal started) --"
)
"""The lines journalctl writes between a journal's records (`-- Boot 0a1b… --`, `-- Logs begin
at … --`)."""
SYSLOG = Layout(
    "syslog",
    RFC3164,
    syslog_time,
    "'[<PRI>]<Mmm dd hh:mm:ss> <host> <tag>[<pid>]: <message>' (syslog, RFC 3164)",
    time_what="a timestamp (Mmm dd hh:mm:ss, or ISO 8601)",
    level=syslog_severity,
    default_level="INFO",
    finish=_with_severity,
    own_lines=(JOURNALCTL_MARKER, "it is journalctl's marker between records, not a request"),
)
SYSLOG5424 = Layout(
    "syslog5424",
    RFC5424,
    iso_time,
    "'<PRI>1 <timestamp> <host> <app> <procid> <msgid> <structured-data> <message>' "
    "(syslog, RFC 5424)",
    time_what="a timestamp (RFC 3339)",
    level=syslog_severity,
    default_level="INFO",
    finish=_with_severity,
)

FORMATS = [
    SYSLOG.format("syslog (RFC 3164): <PRI>Mmm dd hh:mm:ss host tag[pid]: message"),
    SYSLOG5424.format("syslog (RFC 5424): <PRI>1 timestamp host app procid msgid [sd] message"),
]
