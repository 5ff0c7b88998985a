"""Proxy and application server access logs: HAProxy's HTTP and TCP log formats (`haproxy`,
with or without the syslog header in front) and uWSGI's default request log line (`uwsgi`)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.access import (
    BYTES,
    MONTHS,
    STATUS,
    Derived,
    Input,
    iso_time,
    latency,
    numbers,
    own_messages,
    parse_lines,
    request_line,
)
from transforms.formats.base import (
    STR_MAPPER,
    Converter,
    Field,
    FileFormatError,
    Format,
    Parsed,
    arrow_text,
    as_text,
)
from transforms.formats.proxy_splits import haproxy_split, uwsgi_split

# times without an offset, rewritten to ISO 8601 (UTC) by slicing ---------------------------------
_MONTH_NAMES = pa.array(list(MONTHS), pa.large_string())
_MONTH_NUMBERS = pa.array(list(MONTHS.values()), pa.large_string())
_NULL_TEXT = pa.scalar(None, pa.large_string())
Slices = Callable[[Callable[[int, int], pa.ChunkedArray]], list[pa.ChunkedArray | str]]


def _fixed_width_time(layout: str, pieces: Slices) -> Converter:
    """Times of a fixed-width layout without an offset (taken as UTC, as Filebeat does), read
    by slicing each into ISO 8601 in Arrow: `pieces(part)` gives the ISO text's parts, with
    `part(start, stop)` the characters of the logged value and `part(m, -1)` the month's number
    from its name at m."""
    layout_re = f"^{layout}$"

    def convert(text: pd.Series) -> pd.Series:
        values = pc.utf8_trim_whitespace(arrow_text(text))
        valid = pc.match_substring_regex(values, layout_re).fill_null(False)
        values = pc.if_else(valid, values, _NULL_TEXT)

        def part(start: int, stop: int) -> pa.ChunkedArray:
            if stop < 0:  # the month named at `start`
                name = pc.utf8_slice_codeunits(values, start, start + 3)
                return pc.take(_MONTH_NUMBERS, pc.index_in(name, value_set=_MONTH_NAMES))
            return pc.utf8_slice_codeunits(values, start, stop)

        iso = pc.binary_join_element_wise(
            *(pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in pieces(part)),
            pa.scalar("", pa.large_string()),
        )
        try:
            parsed = iso.cast(pa.timestamp("us", "UTC"))
        except pa.ArrowInvalid:  # a day or time out of range: the slow path nulls only those
            return iso_time(pd.Series(iso.to_pandas(types_mapper=STR_MAPPER), index=text.index))
        return pd.Series(parsed.to_pandas(), index=text.index).astype("datetime64[us, UTC]")

    return convert


HAPROXY_DATE = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}"
CTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"


def _haproxy_iso(part) -> list:
    """30/Jul/2018:09:03:52.726 -> 2018-07-30T09:03:52.726Z"""
    return [part(7, 11), "-", part(3, -1), "-", part(0, 2), "T", part(12, 24), "Z"]


def _ctime_iso(part) -> list:
    """Sun Mar  3 22:49:12 2016 -> 2016-03-03T22:49:12Z (ctime pads the day with a space)"""
    day = pc.replace_substring(part(8, 10), " ", "0")
    return [part(20, 24), "-", part(4, -1), "-", day, "T", part(11, 19), "Z"]


haproxy_time = _fixed_width_time(HAPROXY_DATE, _haproxy_iso)
ctime_time = _fixed_width_time(CTIME, _ctime_iso)


# haproxy ------------------------------------------------------------------------------------------
_PRI = r"(?:<\d{1,3}>)?"
_BSD_TIME = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"
_ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
SYSLOG_HEADER = (
    # rsyslog/journald/HAProxy's rfc3164: `[<PRI>]time [host ]tag[pid]: `, time BSD or ISO
    rf"(?:{_PRI}(?:{_BSD_TIME}|{_ISO_TIME}) (?:[^ ]++ )?[^ \[\]:]++(?:\[\d+\])?: "
    # RFC 5424: `<PRI>1 time host app procid msgid structured-data `
    rf"|<\d{{1,3}}>1 (?:{_ISO_TIME}|-) [^ ]++ [^ ]++ [^ ]++ [^ ]++ (?:-|(?:\[[^\]]*+\])++) )?"
)
"""What a syslog daemon (or HAProxy itself, with `log ... format rfc3164/rfc5424`) puts before
the log line; none with `format raw`. Its time is when the line was logged: not used."""
_TIMER = r"-?\d+"
HAPROXY_CLIENT = r"(?P<client_ip>\[[^ \]]+\]|[^ ]+?):\d+ "
"""`%ci:%cp`: the address up to the last colon before the port (an IPv6 address unbracketed,
or in brackets, which are dropped)."""
HAPROXY_REQUEST = request_line(authority=r"(?:[A-Za-z][A-Za-z0-9+.-]*://[^/ \"]*)?")
"""`%{+Q}r`: HAProxy 2.1+ logs HTTP/2 requests with an absolute URI: scheme and host dropped."""
HAPROXY_PATTERN = (
    SYSLOG_HEADER
    + HAPROXY_CLIENT
    + rf"\[(?P<accept_date>{HAPROXY_DATE})\] "
    + r"(?P<frontend>[^ ]+?)~? (?P<backend>[^ /]+)/(?P<server>[^ ]+) "
    # HTTP: TR/Tw/Tc/Tr/Ta (1.4: Tq/Tw/Tc/Tr/Tt); TCP: Tw/Tc/Tt. `+` on the last one with
    # `option logasap` (and on bytes_read): the values when the line was logged
    + rf"{_TIMER}/{_TIMER}/(?P<http_timers>{_TIMER}/{_TIMER}/)?\+?(?P<total_time>{_TIMER}) "
    + r"(?(http_timers)(?P<status>-?\d+) )\+?(?P<bytes_read>\d+) "
    # captured cookies and the termination state (4 characters in HTTP, 2 in TCP)
    + r"(?(http_timers)[^ ]+ [^ ]+ [^ ]{4}|[^ ]{2}) "
    + r"\d+/\d+/\d+/\d+/\+?\d+ \d+/\d+"  # ac/fc/bc/sc/rc sq/bq
    # HTTP: up to two sets of captured headers, the request, and with `option httpslog` the
    # connection and TLS errors, SNI, TLS version and cipher
    + rf"(?(http_timers)(?: \{{[^{{}}]*+\}}){{0,2}} {HAPROXY_REQUEST}"
    + r'(?: [^ "/]++(?:/[^ "/]++){4} [^ "]*+)?)'
)
HAPROXY_RE = re.compile(HAPROXY_PATTERN)
HAPROXY_HTTP_LAYOUT = (
    "`client:port [date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes_read cookie "
    'cookie state ac/fc/bc/sc/rc sq/bq [{headers}] [{headers}] "request"` (option httplog)'
)
HAPROXY_TCP_LAYOUT = (
    "`client:port [date] frontend backend/server Tw/Tc/Tt bytes_read state ac/fc/bc/sc/rc "
    "sq/bq` (option tcplog)"
)
HAPROXY_CONNECT = re.compile(rf"{SYSLOG_HEADER}Connect from [^ ]+ to [^ ]+ \([^)]*\)")
"""HAProxy's default log format (no `option httplog` or `tcplog`): a connection, no request."""
HAPROXY_CONNECTION_ERROR = re.compile(
    rf"{SYSLOG_HEADER}[^ ]+:\d+ \[{HAPROXY_DATE}\] [^ ]+/[^ ]+: .*"
)
"""`client:port [date] frontend/bind: SSL handshake failure`: a connection that ended in an
error before any request (HAProxy's error log format)."""
HAPROXY_TAGGED = re.compile(
    rf"(?:{_PRI}(?:{_BSD_TIME}|{_ISO_TIME}) (?:[^ ]++ )?haproxy(?:\[\d+\])?: "
    rf"|<\d{{1,3}}>1 (?:{_ISO_TIME}|-) [^ ]++ haproxy .*)",
)
"""A line HAProxy itself sent to syslog (its tag is `haproxy`)."""
HAPROXY_MESSAGE = re.compile(
    r"(?:\[(?:NOTICE|WARNING|ALERT)\] .*"  # what HAProxy prints on its standard error
    r"|(?:Proxy|Frontend|Backend) [^ ]+ (?:started|stopped|paused|resumed)\b.*"
    r"|(?:Stopping|Pausing|Resuming) (?:frontend|backend|proxy) [^ ]+.*"
    r"|(?:Backup )?Server [^ /]+/[^ ]+ is (?:UP|DOWN|going DOWN|back from)\b.*"
    r"|(?:backend|proxy) [^ ]+ has no server available!.*"
    r"|Health check for (?:backup )?server [^ /]+/[^ ]+ (?:succeeded|failed)\b.*"
    r"|haproxy version is .*|path to executable is .*|Loading success\..*"
    r"|(?:New|Former|Current) worker .*|Reexecuting Master process.*"
    r"|(?:master|Master) (?:process|worker) .*)"
)
"""HAProxy's own messages (startup, reloads, server state changes, health checks) as it
writes them, with or without a syslog header: records of the file, but no request."""
HAPROXY_HTTP_START = re.compile(
    rf"{SYSLOG_HEADER}[^ ]+:\d+ \[{HAPROXY_DATE}\] [^ ]+ [^ ]+ (?:{_TIMER}/){{4}}"
)
HAPROXY_HEADER = re.compile(SYSLOG_HEADER)
SERVICE_SOURCES = ("backend", "frontend")


def looks_like_haproxy(line: str) -> bool:
    return HAPROXY_RE.fullmatch(line) is not None


def _haproxy_prepare(service_from: str | None):
    if service_from is not None and service_from not in SERVICE_SOURCES:
        raise FileFormatError(
            f"unknown service_from '{service_from}' for haproxy; expected "
            f"{' or '.join(SERVICE_SOURCES)} (or none: service stays null)"
        )

    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        # a status of -1: no response reached the client
        records["status"] = records["status"].where(records["status"] != "-1").astype("str")
        bracketed = records["client_ip"].str.startswith("[").fillna(False).astype(bool)
        if bracketed.any():  # an IPv6 client logged in brackets
            records.loc[bracketed, "client_ip"] = records.loc[bracketed, "client_ip"].str.strip(
                "[]"
            )
        if service_from is not None:
            records["service"] = records[service_from]
        return records, ()

    return prepare


def _haproxy_hint(texts: pd.Series) -> pd.Series:
    """For a line that is not a request log line: what HAProxy logged instead."""

    def hint(line: str) -> str | None:
        if HAPROXY_CONNECT.fullmatch(line):
            return (
                "it is a connection notice (HAProxy's default log format, without option "
                "httplog or tcplog), not a request"
            )
        if HAPROXY_CONNECTION_ERROR.fullmatch(line):
            return "it is a connection error logged without a request (e.g. a TLS handshake)"
        message = HAPROXY_HEADER.sub("", line, count=1)
        if HAPROXY_MESSAGE.fullmatch(message) or (
            HAPROXY_TAGGED.match(line) and not HAPROXY_HTTP_START.match(line)
        ):
            return (
                "it is a message of HAProxy itself (startup, reload, server state), not a request"
            )
        if HAPROXY_HTTP_START.match(line) and line.count('"') % 2:
            return (
                "its request has no closing quote: the line may have been cut at HAProxy's "
                "log length limit (`log ... len`, 1024 bytes by default)"
            )
        return None

    return pd.Series([hint(t) for t in texts], index=texts.index, dtype="str")


HAPROXY_FIELDS = {
    "ts": Field("accept_date", haproxy_time, "a time like 30/Jul/2018:09:03:52.726"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes_read", BYTES[1], BYTES[0]),
    "service": Field("service", as_text, "text"),
}


def _total_time(values: list[pd.Series]) -> pd.Series:
    """The last timer in ms; -1 (the session or request never completed) is no latency."""
    return values[0].where(values[0] >= 0)


HAPROXY_LATENCY = Derived(
    inputs=(Input("total_time", numbers(), "a whole number of milliseconds (or -1)"),),
    combine=_total_time,
)


def parse_haproxy(data: bytes, *, service_from: str | None = "backend") -> Parsed:
    """HAProxy log lines in the HTTP format (`option httplog`, also `option httpslog` and the
    1.4-style timers) or the TCP format (`option tcplog`), each with or without a syslog header
    (BSD, ISO or RFC 5424). ts is the date in brackets (accept or request date, milliseconds,
    no offset: taken as UTC); client_ip drops the port; method and path come from the request
    (path with its query; scheme and host of an absolute URI dropped), status_code is the HTTP
    status (null when -1); bytes_sent is bytes_read; latency_ms is the last timer (Ta, or Tt for
    1.4 and TCP lines), null when -1. TCP lines keep method, path and status null. service is
    the backend's name, or with `service_from` 'frontend' the frontend's (None: null)."""
    return parse_lines(
        data,
        HAPROXY_RE,
        format="haproxy",
        expected=(
            f"the haproxy log format: expected {HAPROXY_HTTP_LAYOUT} or {HAPROXY_TCP_LAYOUT}, "
            "after an optional syslog header"
        ),
        prepare=_haproxy_prepare(service_from),
        fields=HAPROXY_FIELDS,
        derived={"latency_ms": HAPROXY_LATENCY},
        hint=_haproxy_hint,
        fast=haproxy_split,
        attributes={"frontend": "frontend", "backend": "backend", "server": "server"},
    )


HAPROXY = Format(
    "haproxy",
    parse_haproxy,
    looks_like_haproxy,
    "HAProxy HTTP (option httplog/httpslog) and TCP (option tcplog) log lines, with or "
    "without a syslog header",
)


# uwsgi --------------------------------------------------------------------------------------------
UWSGI_PATTERN = (
    r"(?:[^ \[{]++ )?"  # the host (SERVER_NAME), in --vhost mode
    r"(?:\{address space usage: [^}]*+\} (?:\{rss usage: [^}]*+\} )?)?"  # --memory-report
    r"\[pid: \d+\|app: -?\d+\|req: -?\d+/\d+\] "
    r"(?P<client_ip>[^ ]*+) \((?P<user>[^)]*+)\) \{\d+ vars in \d+ bytes\} "
    rf"\[(?P<time>{CTIME})\] (?P<method>[^ ]++) (?P<path>.*?) "
    r"=> generated (?P<bytes>\d+) bytes in (?:(?P<msecs>\d+) msecs|(?P<micros>\d+) micros)"
    r"(?: via [a-z]+\(\))? "  # via sendfile(), route() or offload()
    r"\((?P<protocol>[^ )]*+) (?P<status>\d+)\) \d+ headers in \d+ bytes "
    r"\(\d+ switches on core \d+\)"
)
UWSGI_RE = re.compile(UWSGI_PATTERN)
UWSGI_LAYOUT = (
    "`[pid: N|app: N|req: N/N] address (user) {N vars in N bytes} [Sun Mar 13 22:49:12 2016] "
    "METHOD URI => generated N bytes in N msecs (PROTOCOL STATUS) N headers in N bytes "
    "(N switches on core N)` (micros instead of msecs with --log-micros)"
)
UWSGI_FIELDS = {
    "ts": Field("time", ctime_time, "a time like Sun Mar 13 22:49:12 2016"),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("user", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
}
UWSGI_LATENCY = latency(
    Input("msecs", numbers(), "a whole number of milliseconds"),
    Input("micros", numbers(0.001), "a whole number of microseconds"),
)


UWSGI_MESSAGE = re.compile(
    r"(?:\*\*\* .*|!!! .*|\[uWSGI\] .*|\.\.\..*"  # banners, warnings, `...killing workers...`
    rf"|{CTIME} - .*"  # its own dated messages (SIGPIPE, IOError, harakiri, ...)
    r"|(?:compiled with version|os|nodename|machine|clock source|detected number of CPU cores"
    r"|current working directory|detected binary path|detected max file descriptor number"
    r"|lock engine|thunder lock|Python version|writing pidfile to|chdir\(\) to"
    r"|set(?:u|g)id\(\) to|your (?:memory page size|processes number limit|server socket listen"
    r" backlog|mercy for graceful operations[^:]*)) ?(?:is|:) .*"
    r"|pcre jit .*|uWSGI running as root.*|uwsgi socket \d+ bound to .*|uWSGI http bound on .*"
    r"|Python main interpreter initialized at .*|python threads support enabled.*"
    r"|Set PythonHome to .*|mapped \d+ bytes .*|WSGI app \d+ \(mountpoint=.*"
    r"|spawned uWSGI (?:master process|worker|http|fastrouter) .*|announcing my loyalty to .*"
    r"|(?:Gracefully|Brutally) killing worker .*|worker \d+ (?:buried|killed) .*"
    r"|Respawned uWSGI worker .*|DAMN ! worker .*|goodbye to uWSGI.*|VACUUM: .*"
    r"|(?:SIGINT|SIGQUIT|SIGTERM|SIGHUP)(?:/\w+)* received.*|binary reloading uWSGI.*"
    r"|gracefully (?:killing|destroying|stopping) .*|unable to load app .*"
    r"|--- no python application found.*|added .* to pythonpath.*|The work of process .*"
    r"|(?:SIGPIPE|IOError|OSError|uwsgi_response_\w+)\b.*|stats server enabled on .*"
    r"|limiting address space of processes.*|your processes number limit is .*"
    r"|Operational MODE: .*|cache \S+ .*|subscription .*|cheaper .*)"
)
"""uWSGI's own messages, as its core and Python plugin write them: its startup banner, the
workers' lifecycle, reloads and the signals it receives, and its dated warnings."""


def looks_like_uwsgi(line: str) -> bool:
    return UWSGI_RE.fullmatch(line) is not None


def parse_uwsgi(data: bytes) -> Parsed:
    """uWSGI request log lines in its default format. ts is the request's start (ctime, the
    server's local time without an offset: taken as UTC); client_ip is the remote address;
    user_id the remote user (empty: null); method and path come from the request (path as the
    URI, with its query; '-' when uWSGI logged its minimal line); status_code from `(HTTP/1.1
    200)`; bytes_sent is `generated N bytes` (the body); latency_ms is `in N msecs`, or `in N
    micros` / 1000 with --log-micros."""
    return parse_lines(
        data,
        UWSGI_RE,
        format="uwsgi",
        expected=f"the uwsgi request log format: expected {UWSGI_LAYOUT}",
        prepare=lambda records: (records, ()),
        fields=UWSGI_FIELDS,
        derived={"latency_ms": UWSGI_LATENCY},
        hint=own_messages(
            UWSGI_MESSAGE,
            "it is a message of uWSGI itself (startup, workers, signals), not a request",
        ),
        fast=uwsgi_split,
        attributes={"protocol": "protocol"},
    )


UWSGI = Format(
    "uwsgi",
    parse_uwsgi,
    looks_like_uwsgi,
    "uWSGI request log lines (its default log format)",
)
FORMATS: list[Format] = [HAPROXY, UWSGI]
