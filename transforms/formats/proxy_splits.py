"""Fast paths for the proxy formats (`proxies`): the plain HAProxy HTTP line and uWSGI's
default request line, recognised by one RE2 check without captures (linear, in Arrow) and cut
into the regex's named groups by splitting on the separators their layout fixes. Any other
line (a TCP line, captured headers, an ISO or RFC 5424 syslog header, a user or path with a
space, `+` values, uWSGI's vhost or memory-report prefixes) is declined and left to the regex;
tests check that both give the same values on the lines the split takes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_TEXT = pa.large_string()
_NULL_TEXT = pa.scalar(None, _TEXT)
_EMPTY, _SLASH = pa.scalar("", _TEXT), pa.scalar("/", _TEXT)

_TOKEN = r'[^ "{}]+'
_DATE = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}"
_BSD_HEADER = (
    r"(?:(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? "
    r'(?:[^ "{}]+ )?[^ \[\]:"{}]+(?:\[\d+\])?: )?'
)
HAPROXY_PLAIN = (
    "^"
    + _BSD_HEADER
    + rf"{_TOKEN}:\d+ \[{_DATE}\] {_TOKEN} [^ /\"{{}}]+/{_TOKEN} (?:-?\d+/){{4}}-?\d+ -?\d+ \d+ "
    + rf'{_TOKEN} {_TOKEN} [^ "{{}}]{{4}} \d+/\d+/\d+/\d+/\d+ \d+/\d+ "[A-Z][A-Z0-9_-]* /[^ "]* '
    + r'HTTP/\d+(?:\.\d+)?"$'
)
"""An `option httplog` line with nothing optional but a BSD syslog header: 15 fields after
the header, none with a space, a quote or a brace; the request is `METHOD /path HTTP/x.y`."""
HAPROXY_FIELDS = 15

_CTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
UWSGI_PLAIN = (
    r"^\[pid: \d+\|app: -?\d+\|req: -?\d+/\d+\] [^ ]* \([^ )]*\) \{\d+ vars in \d+ bytes\} "
    rf"\[{_CTIME}\] [^ ]+ [^ ]* => generated \d+ bytes in \d+ (?:msecs|micros) "
    r"\([^ )]* \d+\) \d+ headers in \d+ bytes \(\d+ switches on core \d+\)$"
)
"""uWSGI's default line without a vhost or memory report, `via ...()`, or a space in the user
or the path."""


def _plain(lines: pa.Array, layout: str) -> tuple[pa.Array, np.ndarray]:
    done = pc.match_substring_regex(lines, layout).fill_null(False)
    done = done.to_numpy(zero_copy_only=False)
    return (lines if done.all() else lines.filter(pa.array(done))), done


def _from_end(parts: pa.ListArray, k: int) -> pa.Array:
    """The k-th item from the end of each list (every list has at least k)."""
    ends = np.asarray(parts.offsets)[1:]
    return parts.values.take(pa.array(ends - k))


def _split_once(values: pa.Array, separator: str, reverse: bool = False) -> tuple:
    parts = pc.split_pattern(values, separator, max_splits=1, reverse=reverse)
    return pc.list_element(parts, 0), pc.list_element(parts, 1)


def _cut(values: pa.Array, start: int, stop: int | None = None) -> pa.Array:
    return pc.utf8_slice_codeunits(values, start, stop if stop is not None else 2**31)


def haproxy_split(lines: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """HAProxy's regex groups for its plain HTTP lines, split on spaces from the end."""
    plain, done = _plain(lines, HAPROXY_PLAIN)
    parts = pc.split_pattern(plain, " ", max_splits=HAPROXY_FIELDS, reverse=True)
    # client:port [date] frontend backend/server timers status bytes_read, then cookies, state,
    # counts and queues, then "METHOD path HTTP/x.y"
    field = {k: _from_end(parts, HAPROXY_FIELDS - k) for k in (0, 1, 2, 3, 4, 5, 6, 12, 13)}
    client_ip, _port = _split_once(field[0], ":", reverse=True)
    frontend = field[2]
    tilde = pc.and_(pc.ends_with(frontend, "~"), pc.greater(pc.utf8_length(frontend), 1))
    backend, server = _split_once(field[3], "/")
    timers = pc.split_pattern(field[4], "/")
    # the regex's optional middle group: Tc/Tr/ of TR/Tw/Tc/Tr/Ta
    http_timers = pc.binary_join_element_wise(
        pc.list_element(timers, 2), pc.list_element(timers, 3), _EMPTY, _SLASH
    )
    columns = {
        "client_ip": client_ip,
        "accept_date": _cut(field[1], 1, -1),
        "frontend": pc.if_else(tilde, _cut(frontend, 0, -1), frontend),
        "backend": backend,
        "server": server,
        "http_timers": http_timers,
        "total_time": pc.list_element(timers, 4),
        "status": field[5],
        "bytes_read": field[6],
        "method": _cut(field[12], 1),
        "path": field[13],
    }
    return {name: values.cast(_TEXT) for name, values in columns.items()}, done


def uwsgi_split(lines: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """uWSGI's regex groups for its plain request lines, split on the separators between
    them (none of which the fields before them can hold)."""
    plain, done = _plain(lines, UWSGI_PLAIN)
    _pid, rest = _split_once(plain, "] ")
    client_ip, rest = _split_once(rest, " ")
    user, rest = _split_once(rest, ") ")
    _vars, rest = _split_once(rest, "} [")
    time, rest = _split_once(rest, "] ")
    method, rest = _split_once(rest, " ")
    path, rest = _split_once(rest, " => generated ")
    tail = pc.split_pattern(rest, " ", max_splits=6)  # N bytes in N unit (PROTOCOL STATUS) ...
    took, unit = pc.list_element(tail, 3), pc.list_element(tail, 4)
    msecs = pc.equal(unit, "msecs")
    columns = {
        "client_ip": client_ip,
        "user": _cut(user, 1),
        "time": time,
        "method": method,
        "path": path,
        "bytes": pc.list_element(tail, 0),
        "msecs": pc.if_else(msecs, took, _NULL_TEXT),
        "micros": pc.if_else(msecs, _NULL_TEXT, took),
        "protocol": _cut(pc.list_element(tail, 5), 1),
        "status": _split_once(pc.list_element(tail, 6), ")")[0],
    }
    return {name: values.cast(_TEXT) for name, values in columns.items()}, done
