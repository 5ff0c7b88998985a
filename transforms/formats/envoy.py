"""Envoy's default access log line (`envoy`), and Istio's default proxy format, which adds
fields to it, e.g.

    [2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.access import (
    BYTES,
    QUOTED,
    STATUS,
    FastSplit,
    Input,
    iso_time,
    latency,
    numbers,
    parse_lines,
    request_line,
)
from transforms.formats.access.lines import OwnEvents
from transforms.formats.base import (
    STR_MAPPER,
    Field,
    Format,
    Parsed,
    arrow_text,
    as_text,
    contains_byte,
    iso_fast,
)
from transforms.formats.own_events import layout_events

ENVOY_LAYOUT = (
    '`[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`'
)
_BARE = r'[^ "]++'
_QUOTED_FIELD = rf'"{QUOTED}"'
_NUMBER_OR_DASH = r"(?:\d+|-)"
ISTIO_TAIL = (
    rf" (?P<upstream_cluster>{_BARE}) {_BARE} {_BARE} (?P<downstream_remote>{_BARE}) "
    rf"{_BARE} {_BARE}"
)
"""Istio's six fields after the upstream host: %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%
%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%."""
ENVOY_PATTERN = (
    # Emissary-ingress (Ambassador) writes `ACCESS ` before each line
    rf"(?:ACCESS )?\[(?P<start_time>[^\] ]++)\] {request_line()} "
    rf"(?P<status>{_NUMBER_OR_DASH}) (?P<flags>{_BARE})"
    # Istio: %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
    # "%UPSTREAM_TRANSPORT_FAILURE_REASON%" (older: "%DYNAMIC_METADATA(istio.mixer:status)%")
    rf"(?: (?:{_QUOTED_FIELD}|{_BARE}))*?"
    rf" (?P<bytes_received>{_NUMBER_OR_DASH}) (?P<bytes_sent>{_NUMBER_OR_DASH})"
    rf" (?P<duration>{_NUMBER_OR_DASH}) (?P<upstream_time>{_NUMBER_OR_DASH})"
    rf' "(?P<forwarded_for>{QUOTED})" "(?P<user_agent>{QUOTED})" "(?P<request_id>{QUOTED})"'
    rf' "(?P<authority>{QUOTED})" "(?P<upstream_host>{QUOTED})"'
    rf"(?:{ISTIO_TAIL}|(?: (?:{_QUOTED_FIELD}|{_BARE}))*+)"
)
ENVOY_RE = re.compile(ENVOY_PATTERN)
ENVOY_START = re.compile(
    r"(?:ACCESS )?\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)\] \""
)
"""What detection asks of a line besides the layout: Envoy's START_TIME in brackets."""


def looks_like_envoy(line: str) -> bool:
    return ENVOY_START.match(line) is not None and ENVOY_RE.fullmatch(line) is not None


def start_time(text: pd.Series) -> pd.Series:
    """START_TIME: ISO 8601 with milliseconds and an offset (`2016-04-15T20:17:00.310Z`)."""
    fast = iso_fast(text)
    return fast if fast is not None else iso_time(text)


_PORT = r"^\[?([^\[\]]*?)\]?:\d+$"
_NULL = pa.scalar(None, pa.large_string())


def _client(forwarded_for: pd.Series, remote: pd.Series | None) -> pd.Series:
    """The first address of X-Forwarded-For, else (Istio) the downstream remote address without
    its port, else null."""
    chain = arrow_text(forwarded_for)
    first = pc.utf8_trim_whitespace(pc.list_element(pc.split_pattern(chain, ",", max_splits=1), 0))
    logged = pc.invert(pc.is_in(first, value_set=pa.array(["", "-"], pa.large_string())))
    client = pc.if_else(logged.fill_null(False), first, _NULL)
    if remote is not None:
        address = pc.replace_substring_regex(arrow_text(remote), _PORT, r"\1")
        address = pc.if_else(pc.equal(address, "-").fill_null(True), _NULL, address)
        client = pc.coalesce(client, address)
    return pd.Series(client.to_pandas(types_mapper=STR_MAPPER), index=forwarded_for.index)


def _prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    # a response code of 0: Envoy never sent the beginning of a response (the client went away)
    records["status"] = records["status"].where(records["status"] != "0").astype("str")
    remote = records["downstream_remote"] if records["downstream_remote"].notna().any() else None
    records["client_ip"] = _client(records["forwarded_for"], remote)
    return records, ()


ENVOY_FIELDS = {
    "ts": Field("start_time", start_time, "a time like 2016-04-15T20:17:00.310Z"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes_sent", BYTES[1], BYTES[0]),
    "service": Field("upstream_cluster", as_text, "text"),
}
ENVOY_LATENCY = latency(Input("duration", numbers(), "a whole number of milliseconds"))


# the fast path: default-format lines split on their quotes ----------------------------------------
SPLIT_CHUNK = 131_072
_GROUPS = tuple(ENVOY_RE.groupindex)
_MIDDLE = re.compile(r"^ (\d+|-) [^ ]+ (\d+|-) (\d+|-) (\d+|-) (\d+|-) $").pattern
_REQUEST_TOKEN = r"^[A-Z][A-Z0-9_-]* [^ ]+ HTTP/\d+(?:\.\d+)?$"


def _fast_chunk(lines: pa.Array, backslash: bool) -> tuple[dict[str, pa.Array], np.ndarray]:
    parts = pc.split_pattern(lines, '"')
    ok = pc.equal(pc.list_value_length(parts), 13)
    if backslash:
        ok = pc.and_kleene(ok, pc.invert(pc.match_substring(lines, "\\")))
    parts = pc.if_else(ok, parts, pa.scalar([""] * 13, parts.type))
    head, request, middle = (pc.list_element(parts, i) for i in range(3))
    ok = pc.and_kleene(ok, pc.match_substring_regex(head, r"^\[[^\] ]+\] $"))
    ok = pc.and_kleene(ok, pc.match_substring_regex(request, _REQUEST_TOKEN))
    ok = pc.and_kleene(ok, pc.match_substring_regex(middle, _MIDDLE))
    for gap in (4, 6, 8, 10):
        ok = pc.and_kleene(ok, pc.equal(pc.list_element(parts, gap), " "))
    ok = pc.and_kleene(ok, pc.equal(pc.list_element(parts, 12), ""))
    words = pc.split_pattern(request, " ", max_splits=2)
    numbers_ = pc.split_pattern(pc.utf8_slice_codeunits(middle, 1, -1), " ")
    columns = {
        "start_time": pc.utf8_slice_codeunits(head, 1, -2),
        "method": pc.list_element(pc.if_else(ok, words, pa.scalar(["", "", ""], words.type)), 0),
        "path": pc.list_element(pc.if_else(ok, words, pa.scalar(["", "", ""], words.type)), 1),
    }
    padded = pc.if_else(ok, numbers_, pa.scalar([""] * 6, numbers_.type))
    for k, name in enumerate(
        ("status", "flags", "bytes_received", "bytes_sent", "duration", "upstream_time")
    ):
        columns[name] = pc.list_element(padded, k)
    for k, name in (
        (3, "forwarded_for"), (5, "user_agent"), (7, "request_id"), (9, "authority"),
        (11, "upstream_host"),
    ):  # fmt: skip
        columns[name] = pc.list_element(parts, k)
    done = ok.fill_null(False).to_numpy(zero_copy_only=False)
    keep = pa.array(done)
    out = {
        name: pc.filter(values, keep).cast(pa.large_string()) for name, values in columns.items()
    }
    empty = pa.nulls(int(done.sum()), pa.large_string())
    for name in _GROUPS:
        out.setdefault(name, empty)
    return out, done


def envoy_fast_split(lines: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Envoy default-format lines (12 quotes, no backslash, an HTTP request) split on their
    quotes and spaces in Arrow; Istio's lines, TCP lines and anything else go to the regex."""
    backslash = contains_byte(lines.buffers()[2], ord("\\")) if len(lines) else False
    chunks = [
        _fast_chunk(lines.slice(start, SPLIT_CHUNK), backslash)
        for start in range(0, len(lines), SPLIT_CHUNK)
    ]
    if not chunks:
        return {name: pa.array([], pa.large_string()) for name in _GROUPS}, np.zeros(0, bool)
    done = np.concatenate([d for _, d in chunks])
    columns = {name: pa.concat_arrays([c[name] for c, _ in chunks]) for name in _GROUPS}
    return columns, done


FAST: FastSplit = envoy_fast_split


ENVOY_LOG_LINE = re.compile(
    r"\[(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\]\[(?P<thread>\d+)\]"
    r"\[(?P<level>trace|debug|info|warning|error|critical)\]\[(?P<service>[\w-]+)\] "
    r"(?:\[(?P<source>[^\]\s]+)\] )?(?P<message>.*)"
)
ENVOY_EVENTS = OwnEvents(
    "Envoy itself",
    ENVOY_LOG_LINE,
    layout_events(
        "Envoy",
        ENVOY_LOG_LINE,
        "'[2024-05-26 11:42:52.601][1][info][main] [source/server/server.cc:430] <message>' "
        "(Envoy's own log)",
        requests=False,
    ),
)
"""Envoy's own log (its default application log format, `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#]
%v`), which shares a container's output with its access log: events of the logger (`main`,
`config`, `upstream` ...), the thread and source file as attributes."""


def parse_envoy(data: bytes) -> Parsed:
    """Envoy access log lines in its default format, and Istio's default proxy format (which
    adds the response code details, connection termination details and upstream transport
    failure reason before the byte counts, and six fields after the upstream host). ts is
    START_TIME (ISO 8601, offset applied); method and path come from the request (path as
    X-ENVOY-ORIGINAL-PATH or :PATH, with its query; TCP lines, `"- - -"`, have neither);
    status_code is RESPONSE_CODE, null for 0 (no response was sent) or '-' (TCP); bytes_sent
    is BYTES_SENT; latency_ms is DURATION (milliseconds); client_ip is the first address of
    X-Forwarded-For, else Istio's downstream remote address without its port, else null;
    service is Istio's upstream cluster (null for the default format, which logs none)."""
    return parse_lines(
        data,
        ENVOY_RE,
        format="envoy",
        expected=f"Envoy's default access log format: expected {ENVOY_LAYOUT} (or Istio's)",
        prepare=_prepare,
        fields=ENVOY_FIELDS,
        derived={"latency_ms": ENVOY_LATENCY},
        fast=FAST,
        attributes=ENVOY_ATTRIBUTES,
        events=(ENVOY_EVENTS,),
    )


ENVOY_ATTRIBUTES = {
    "response_flags": "flags", "bytes_received": "bytes_received",
    "upstream_service_time": "upstream_time", "x_forwarded_for": "forwarded_for",
    "user_agent": "user_agent", "request_id": "request_id", "authority": "authority",
    "upstream_host": "upstream_host",
}  # fmt: skip
"""What a line logs beyond the canonical columns, kept in `attributes`."""


ENVOY = Format(
    "envoy",
    parse_envoy,
    looks_like_envoy,
    "Envoy's default access log format (and Istio's default proxy format)",
)
FORMATS: list[Format] = [ENVOY]
