"""The access logs of Caddy (`caddy`, JSON) and Traefik (`traefik`, JSON or its Common-like
text layout): JSON lines read with each server's own keys, Traefik's text lines with the
Combined parser. One line of each:

    {"level":"info","ts":1646861401.52,"logger":"http.log.access","msg":"handled request","request":{"client_ip":"203.0.113.9","method":"GET","uri":"/api/items"},"duration":0.012,"size":10900,"status":200}
    {"ClientHost":"192.0.2.7","DownstreamContentSize":523,"DownstreamStatus":404,"Duration":2500000,"RequestMethod":"POST","RequestPath":"/login","RouterName":"web@docker","StartUTC":"2026-03-02T10:15:00.123456789Z"}
    192.168.33.1 - - [02/Oct/2017:20:22:07 +0000] "GET /ui/favicon.png HTTP/1.1" 304 0 "-" "curl/8.0" 262 "Host-host-1" "http://172.19.0.3:5601" 2ms
"""

from __future__ import annotations

import re
from dataclasses import replace

from transforms.formats.access import COMBINED_STRICT, parse_combined
from transforms.formats.base import LINE_NUMBER, RAW, REASONS, Format, Parsed
from transforms.formats.jsonl import JsonField, JsonMapping, parse_jsonl
from transforms.formats.jsonl.keys import fits
from transforms.formats.jsonl.objects import values_at
from transforms.formats.jsonl.parse import json_object, other_times
from transforms.formats.own_events import REQUEST_COLUMNS

SAMPLE = 1000
"""JSON records looked at to choose each column's key (as jsonl does)."""

CADDY_KEYS: dict[str, tuple[JsonField, ...]] = {
    "ts": (JsonField("ts"),),  # epoch seconds, or ISO 8601 with a time_format
    "method": (JsonField("request.method"),),
    "path": (JsonField("request.uri"),),
    "status_code": (JsonField("status"),),
    # seconds by default; duration_format "string" writes '1.5ms', which carries its unit
    "latency_ms": (JsonField("duration", "s"),),
    "bytes_sent": (JsonField("size"),),
    "user_id": (JsonField("user_id"),),
    # client_ip (Caddy 2.7+, the client behind trusted proxies), remote_ip, and before 2.5
    # remote_addr with its port
    "client_ip": (
        JsonField("request.client_ip"),
        JsonField("request.remote_ip"),
        JsonField("request.remote_addr"),
    ),
    "level": (JsonField("level"),),
    "message": (JsonField("msg"),),
    "service": (JsonField("logger"),),
}
"""Caddy's access log keys (`http.log.access`), and the level, message and logger of Caddy's
other log entries, which share its output unless an access log is given a file of its own."""
CADDY_ACCESS_LOGGER = "http.log.access"

TRAEFIK_KEYS: dict[str, tuple[JsonField, ...]] = {
    "ts": (JsonField("StartUTC"), JsonField("time")),  # the request's start, else the log time
    "method": (JsonField("RequestMethod"),),
    "path": (JsonField("RequestPath"),),
    "status_code": (JsonField("DownstreamStatus"),),
    "latency_ms": (JsonField("Duration", "ns"),),
    "bytes_sent": (JsonField("DownstreamContentSize"),),
    "client_ip": (JsonField("ClientHost"), JsonField("ClientAddr")),
    "user_id": (JsonField("ClientUsername"),),
    "service": (JsonField("ServiceName"), JsonField("RouterName")),
    "level": (JsonField("level"),),
    "message": (JsonField("msg"),),
}
"""Traefik's JSON access log keys (`accessLog.format: json`), and the level and message of
Traefik's own log entries."""

TRAEFIK_TAIL = re.compile(
    r' (?P<requests>\d+) "(?P<router>[^"]*)" "(?P<server>[^"]*)" '
    r"(?P<duration>\d+(?:\.\d+)?)(?:ms|us|µs|s)$"
)
"""What Traefik appends to a Combined line: `<requests so far> "<router>" "<server URL>"
<duration>ms`."""
TRAEFIK_CLF_LAYOUT = (
    '`<client> - <user> [<time>] "<request>" <status> <size> "<referer>" "<user agent>" '
    '<requests> "<router>" "<server URL>" <duration>ms`'
)
_PORT = re.compile(r"^\[?(?P<host>[^\[\]]*?)\]?:\d+$")


def first_lines(data: bytes, count: int) -> list[str]:
    """The first `count` non-blank lines, decoded (undecodable bytes replaced: the parser
    names them)."""
    lines: list[str] = []
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while len(lines) < count and start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end].strip()
        if line:
            lines.append(line.decode("utf-8", "replace"))
        start = end + 1
    return lines


def looks_like_caddy(line: str) -> bool:
    """A Caddy access log entry: its `http.log.access` logger, or a `request` object with a
    `uri` beside a `status` and a `duration`."""
    value = json_object(line)
    if value is None:
        return False
    if str(value.get("logger", "")).startswith("http.log.access"):
        return True
    request = value.get("request")
    return type(request) is dict and "uri" in request and "status" in value and "duration" in value


def looks_like_traefik(line: str) -> bool:
    """A Traefik access log entry: JSON with its request and downstream keys, or a Combined
    line ending in Traefik's request count, router, server URL and duration."""
    value = json_object(line)
    if value is not None:
        return "RequestMethod" in value and "DownstreamStatus" in value
    return TRAEFIK_TAIL.search(line) is not None and COMBINED_STRICT.fullmatch(line) is not None


def choose_mapping(data: bytes, keys: dict[str, tuple[JsonField, ...]]) -> JsonMapping:
    """For each column, the first of its keys that holds a usable value in the first records
    (jsonl's rule, over this server's keys only); ts's first key when none does, for the
    parser to name."""
    objects = [o for o in map(json_object, first_lines(data, SAMPLE)) if o is not None]
    mapping = {}
    for target, options in keys.items():
        for spec in options:
            if fits(target, spec, values_at(objects, spec.path)):
                mapping[target] = spec
                break
    mapping.setdefault("ts", keys["ts"][0])
    return mapping


def _tidy(parsed: Parsed, name: str, server: str | None, keys) -> Parsed:
    """The candidates of a proxy's JSON log: ts from another time key where the chosen one is
    missing, a client address logged with its port without it, and the keys note naming the
    server (jsonl's parse has made a status of 0, no response sent, null)."""
    if parsed.mapping:
        chosen = dict((t, p) for t, p, _ in parsed.mapping).get("ts")
        other_times(parsed, keys["ts"], chosen)
    candidates = parsed.candidates
    if "client_ip" in candidates:
        clients = candidates["client_ip"]
        with_port = clients.str.contains(":", regex=False).fillna(False).astype(bool)
        with_port &= clients.str.count(":").eq(1) | clients.str.startswith("[").fillna(False)
        if with_port.any():
            candidates.loc[with_port, "client_ip"] = clients[with_port].str.replace(
                _PORT, r"\g<host>", regex=True
            )
    notes = parsed.notes
    if server is not None:  # the keys were this module's choice, not a configured mapping
        notes = tuple(
            note.replace(f"{name} keys mapped with the configured mapping", f"{server} keys mapped")
            for note in notes
        )
    return replace(parsed, candidates=candidates, notes=notes)


def _parse_json(data: bytes, name: str, server: str, keys, mapping: JsonMapping | None) -> Parsed:
    chosen = mapping if mapping is not None else choose_mapping(data, keys)
    parsed = parse_jsonl(data, mapping=chosen, format=name)
    return _tidy(parsed, name, server if mapping is None else None, keys)


def parse_caddy(data: bytes, *, mapping: JsonMapping | None = None) -> Parsed:
    """Caddy's JSON access log: ts is `ts` (epoch seconds, or ISO 8601), method, path (the URI,
    with its query) and client_ip (`client_ip`, else `remote_ip`, else `remote_addr` without
    its port) come from `request`; status_code is `status` (0, no response: null);
    bytes_sent is `size`; latency_ms is `duration` (seconds, or a string with its unit);
    user_id is `user_id`. Caddy's other entries in the same output keep their level and
    message, and their logger as the service; an entry of another logger that logs a
    request (`http.log.error`: the proxy could not reach its upstream) is an event, since the
    access log logs that request too. `mapping` replaces the key choice (jsonl's mapping)."""
    parsed = _parse_json(data, "caddy", "Caddy's", CADDY_KEYS, mapping)
    candidates = parsed.candidates
    if mapping is not None or "service" not in candidates:
        return parsed
    logger = candidates["service"]
    access = logger.str.startswith(CADDY_ACCESS_LOGGER).fillna(False).astype(bool)
    other = logger.notna() & ~access
    for column in REQUEST_COLUMNS:
        if column in candidates and other.any():
            candidates.loc[other, column] = None
    candidates.loc[access, "service"] = None  # the access log's logger names no service
    return replace(parsed, candidates=candidates)


def parse_traefik(data: bytes, *, mapping: JsonMapping | None = None) -> Parsed:
    """Traefik's access log, JSON or text, as the file's first line says. JSON: ts is
    `StartUTC` (else `time`), method `RequestMethod`, path `RequestPath`, status_code
    `DownstreamStatus` (0: null), bytes_sent `DownstreamContentSize`, latency_ms `Duration`
    (nanoseconds), client_ip `ClientHost` (else `ClientAddr` without its port), service
    `ServiceName` (else `RouterName`). Text (Traefik's Common-like format): read as Combined
    lines, whose last field, the duration, is the latency; service is the router's name,
    the only name the layout logs. `mapping` replaces the JSON key choice."""
    lines = first_lines(data, 1)
    if lines and lines[0].lstrip().startswith("{"):
        return _parse_json(data, "traefik", "Traefik's", TRAEFIK_KEYS, mapping)
    return _traefik_text(parse_combined(data))


def _traefik_text(parsed: Parsed) -> Parsed:
    candidates = parsed.candidates
    if len(candidates):
        tail = candidates[RAW].str.extract(TRAEFIK_TAIL)
        router = tail["router"]
        candidates["service"] = router.where(~router.isin(["", "-"])).astype("str")
        order = [c for c in candidates if c not in (LINE_NUMBER, RAW)] + [LINE_NUMBER, RAW]
        candidates = candidates[order]
    rejects = parsed.rejects
    if len(rejects):
        rejects = rejects.copy()
        rejects[REASONS] = rejects[REASONS].str.replace(
            r"^does not match the combined log format: expected `[^`]*`",
            f"does not match Traefik's text access log format: expected {TRAEFIK_CLF_LAYOUT} "
            "(or a Common or Combined line)",
            regex=True,
        )
    return replace(parsed, candidates=candidates, rejects=rejects, format="traefik")


CADDY = Format("caddy", parse_caddy, looks_like_caddy, "Caddy's JSON access log")
TRAEFIK = Format(
    "traefik",
    parse_traefik,
    looks_like_traefik,
    "Traefik's access log, JSON or its Common-like text format",
)
FORMATS: list[Format] = [CADDY, TRAEFIK]
