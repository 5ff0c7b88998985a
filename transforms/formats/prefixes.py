"""Prefixes that container runtimes and log shippers put before every line a server wrote:
recognised on a file's first lines, stripped from every line, and recorded in the file's notes.

- `docker compose logs` (and `docker-compose`): the service name, padding and `| `
  (`caddy  | {"level":"info",...}`, `web-1  | 10.0.0.1 - - [...]`);
- `pm2 logs`: the process id and name, padding and `| ` (`0|api      | ...`), and pm2's own
  time with `--time` (`2024-05-16T10:20:33: `, stripped like the runtime's time below);
- `docker logs --timestamps` (also after compose's prefix): the time the runtime received the
  line, RFC 3339 with nanoseconds (`2024-05-26T11:42:52.601234567Z `), stripped only when the
  lines as written are no format detection knows and without it they are;
- Kubernetes' container log files (CRI format, what `/var/log/containers/*.log` and log shippers
  read): `2024-05-26T11:42:52.601Z stdout F ` (time, stream, full or partial line tag). A line
  the runtime split (tag `P`, for each piece but the last, which is tagged `F`) is joined
  again, per stream, as the CRI logging spec says: the whole line takes the first piece's line
  number, the other pieces' lines become blank;
- what command-line tools print before each line: `kubectl logs --prefix`
  (`[pod/web-5c7d9b8f6-4kz2p/nginx] `), Grafana Loki's `logcli query` (the time and the stream's
  labels), `fly logs` (time, process and machine, region, `[level]`), and, when the lines as
  written are no format and without it they are, `stern` (pod and container) and `aws logs
  tail` (time and log stream); the runtime's time `--timestamps` adds after them goes too;
- a syslog header, RFC 3164 (`<134>Feb 25 16:19:48 host nginx[312]: `, with or without the
  `<PRI>`, or with an ISO time as rsyslog writes it) or RFC 5424 (`<165>1
  2003-10-11T22:14:15.003Z host app procid msgid [sd] `), as a server's lines read when they
  were shipped through syslog. Only when the lines as written are no format detection knows
  (other than syslog itself) and without the header they are: a header-like start that is
  part of a format (HAProxy reads its own syslog header, a service log starts with a time and
  a level) stays, and a syslog file of free-text messages is read as syslog.

Before those, lines wrapped in JSON by a runtime or shipper are unwrapped: Docker's json-file
driver (`{"log":"<line>\\n","stream":"stdout","time":"..."}`, the default, what
`/var/lib/docker/containers/*/*-json.log` holds) and Fluent Bit's `json_lines` output
(`{"date":1715854833.12,"log":"<line>"}`), pm2's `log_type: json` (`{"message":"<line>\\n",
"timestamp":"...","type":"out","process_id":0,"app_name":"api"}`): the `log` (`message`) value
is the line, when detection knows the format of the lines so unwrapped. A line Docker split
(over 16 KiB, without its line end) is joined to the rest of it, at its first piece's line.

A file is stripped only when at least 90 % of the first lines detection samples carry the same
prefix, so a line that merely contains `| ` is never cut. Line numbers do not change; the
quarantine keeps the line without its prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.registry import MIN_SHARE, sample_head


@dataclass(frozen=True)
class Prefix:
    name: str
    pattern: re.Pattern[bytes]
    when_unreadable: bool = False
    """Strip only when the lines as written are no known format and without it they are."""


_CRI = (
    rb"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) "
    rb"(?P<stream>stdout|stderr) (?P<tag>[FP]) "
)
_ISO_TIME = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_BSD_TIME = rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"
_WORD = rb"[^ \n]++"
_CRI_LINES = re.compile(_CRI, re.M)
CRI = "Kubernetes CRI"
PREFIXES = (
    # `kubectl logs --prefix`: `[pod/web-5c7d9b8f6-4kz2p/nginx] `
    Prefix("kubectl --prefix", re.compile(rb"^\[pod/[^/\]\s]+/[^\]\s]+\] ", re.M)),
    # Grafana Loki's `logcli query`: the entry's time and its stream's labels (padded)
    Prefix(
        "logcli",
        re.compile(rb'^' + _ISO_TIME + rb' \{(?:[^{}"\n]|"(?:[^"\\\n]|\\.)*+")*+\} +', re.M),
    ),
    # `fly logs`: time, process[machine], region and [level] before the line
    Prefix(
        "fly logs",
        re.compile(rb"^" + _ISO_TIME + rb" [a-z][a-z0-9_-]*\[[0-9a-f]+\] [a-z]{3} \[[a-z]+\] ?", re.M),
    ),
    # `stern`: pod and container (its `--timestamps` add the docker timestamps below)
    Prefix(
        "stern",
        re.compile(rb"^[a-z0-9]+(?:[.-][a-z0-9]+)+ [a-z0-9]+(?:-[a-z0-9]+)* ", re.M),
        when_unreadable=True,
    ),
    # `aws logs tail`: the event's time and its log stream
    Prefix(
        "aws logs tail",
        re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d [^ \n]+ ", re.M),
        when_unreadable=True,
    ),
    Prefix("docker compose", re.compile(rb"^[A-Za-z0-9][A-Za-z0-9_.-]*[ \t]*\| ", re.M)),
    Prefix("pm2 logs", re.compile(rb"^\d+\|[^|\n]*?[ \t]*\| ", re.M)),  # `0|api      | `
    Prefix(CRI, _CRI_LINES),
    Prefix(
        "docker timestamps",  # `docker logs -t`, `docker compose logs -t`: RFC 3339, nanoseconds
        re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", re.M),
        when_unreadable=True,
    ),
    Prefix(
        "pm2 timestamps",  # pm2 --time (log_date_format YYYY-MM-DDTHH:mm:ss, then `: `)
        re.compile(rb"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?: ", re.M),
        when_unreadable=True,
    ),
    Prefix(
        "syslog (RFC 5424)",
        re.compile(
            rb"^<\d{1,3}>1 (?:" + _ISO_TIME + rb"|-) " + rb" ".join([_WORD] * 4)
            + rb" (?:-|(?:\[(?:[^\]\\\n]|\\.)*+\])++) (?:\xef\xbb\xbf)?",
            re.M,
        ),
        when_unreadable=True,
    ),
    Prefix(
        "syslog (RFC 3164)",
        re.compile(
            rb"^(?:<\d{1,3}>)?(?:" + _BSD_TIME + rb"|" + _ISO_TIME + rb") "
            rb"(?:" + _WORD + rb" )?[^ \n\[\]:]++(?:\[\d+\])?: ",
            re.M,
        ),
        when_unreadable=True,
    ),
)  # fmt: skip


SYSLOG_FORMATS = ("syslog", "syslog5424")
"""Formats that read a syslog header themselves: a file they read is stripped of its header
only when what follows the header is a format of its own (an access log shipped through
syslog), not free text."""
OWN_FORMATS = (*SYSLOG_FORMATS, "cri")
"""Formats whose lines carry the prefix itself: syslog, and a container's lines no other format
reads (`cri`)."""


def _detected(sample: bytes) -> str | None:
    """The format detection finds, None for none, syslog itself, or a container's lines no
    format reads (`cri`)."""
    try:
        found = registry.detect(sample)
    except FileFormatError:
        return None
    return None if found in OWN_FORMATS else found


def _detects(sample: bytes) -> bool:
    """Whether detection finds a format other than syslog itself."""
    return _detected(sample) is not None


def _applies(prefix: Prefix, text: bytes, lines: list[bytes], nested: bool = True) -> bool:
    carried = sum(prefix.pattern.match(line) is not None for line in lines)
    if carried < MIN_SHARE * len(lines):
        return False
    if not prefix.when_unreadable:
        return True
    sample = sample_head(text)
    try:
        as_written = registry.detect(sample)
    except FileFormatError:
        as_written = None
    written = None if as_written in OWN_FORMATS else as_written
    if written is not None and written not in registry.GENERIC:
        return False  # the lines as written are a format: the prefix is part of them
    # what detection finds once this prefix is gone, and any prefix after it (stern's
    # `--timestamps` put the runtime's time after the pod and container): one level deep
    without = prefix.pattern.sub(b"", sample)
    stripped = _detected(_stripped(without, nested=False)[0] if nested else without)
    if stripped is None:
        return False
    # a csv guess from a first line with commas is weaker than a line format: a prefix before
    # JSON lines (`2024-…Z {"level":30,…}`) makes them look like a header; and syslog lines,
    # read as they are, are not a csv file once their headers are gone (a message with commas)
    return stripped not in registry.GENERIC or as_written is None


def join_partial_lines(text: bytes, keep_time: bool = False) -> tuple[bytes, int]:
    """CRI lines with their prefix stripped (but for the time, with `keep_time`), a line split
    into `P` pieces and its `F` end joined per stream at the first piece's line (the other
    pieces' lines left blank, so line numbers stay); pieces the file ends without an `F` for
    are joined as they are. Also the number of lines that were joined."""
    pattern = re.compile(_CRI)
    lines = text.split(b"\n")
    out = list(lines)
    pending: dict[bytes, tuple[int, list[bytes]]] = {}
    joined = 0
    for i, line in enumerate(lines):
        found = pattern.match(line)
        if found is None:
            continue
        content = line[found.end() :]
        stream = found["stream"]
        if keep_time and stream not in pending:  # a line's first piece, or a whole line
            content = found["time"] + b" " + content
        if found["tag"] == b"P":
            if stream in pending:
                pending[stream][1].append(content)
                out[i] = b""
            else:
                pending[stream] = (i, [content])
            continue
        if stream in pending:
            first, pieces = pending.pop(stream)
            out[first] = b"".join(pieces) + content
            out[i] = b""
            joined += 1
        else:
            out[i] = content
    for first, pieces in pending.values():
        out[first] = b"".join(pieces)
        joined += 1
    return b"\n".join(out), joined


WRAPPERS = {
    "log": frozenset({"log", "stream", "time", "attrs", "date"}),
    "message": frozenset({"message", "timestamp", "type", "process_id", "app_name"}),
}
"""The key holding the line, and every key a wrapper's line may have: Docker's json-file
driver and Fluent Bit's json_lines output (`log`), pm2's `log_type: json` (`message`)."""


def _wrapped(line: bytes) -> str | None:
    """The line a JSON wrapper holds, None when the line is no such wrapper."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict:
        return None
    for key, allowed in WRAPPERS.items():
        if type(value.get(key)) is str and not value.keys() - allowed:
            return value[key]
    return None


def unwrap_json(text: bytes) -> tuple[bytes, str] | None:
    """The lines a JSON wrapper holds (see the module), with the note saying so; None when
    fewer than MIN_SHARE of the first lines are wrapped or detection knows no format of what
    they hold."""
    lines = [line for line in sample_head(text).split(b"\n") if line.strip()]
    if not lines or not lines[0].lstrip().startswith(b"{"):
        return None
    if sum(_wrapped(line) is not None for line in lines) < MIN_SHARE * len(lines):
        return None
    out: list[bytes] = []
    pending: list[bytes] = []  # pieces of a line the runtime split
    pending_at = 0  # the line of its first piece
    joined = 0
    for line in text.split(b"\n"):
        inner = _wrapped(line) if line.strip() else None
        if inner is None:
            out.append(line)
            continue
        piece = inner.encode()
        if not piece.endswith(b"\n") and "stream" in orjson.loads(line):  # split by Docker
            if not pending:
                pending_at = len(out)
            pending.append(piece)
            out.append(b"")
            continue
        if pending:
            out[pending_at] = b"".join(pending) + piece.rstrip(b"\r\n").replace(b"\n", b" ")
            out.append(b"")
            pending = []
            joined += 1
            continue
        out.append(piece.rstrip(b"\r\n").replace(b"\n", b" "))
    if pending:
        out[pending_at] = b"".join(pending)
    unwrapped = b"\n".join(out)
    if not _detects(sample_head(unwrapped)):
        return None
    first = orjson.loads(lines[0]) if _wrapped(lines[0]) is not None else {}
    name, key = (
        ("Docker json-file", "log")
        if "stream" in first
        else ("pm2 JSON", "message")
        if "message" in first
        else ("Fluent Bit json_lines", "log")
    )
    note = f"{name} wrapper removed from every line (its `{key}` read as the line)"
    if joined:
        note += f", {joined} line{'s' if joined != 1 else ''} the runtime split joined again"
    return unwrapped, note


def _strip_cri(text: bytes) -> tuple[bytes, str | None]:
    """CRI lines without their prefix, pieces (tag P) joined again; the runtime's time is kept
    before each line when the lines are no known format without it and are one with it (a
    program that logs no time of its own, as uvicorn's access log). When they are no format
    either way, the text as it is and no note: the `cri` format reads such a file."""
    partial = re.search(rb"^\S+ (?:stdout|stderr) P ", text, re.M) is not None

    def stripped(keep_time: bool) -> tuple[bytes, int]:
        if partial:
            return join_partial_lines(text, keep_time)
        return _CRI_LINES.sub(rb"\g<time> " if keep_time else b"", text), 0

    out, joined = stripped(False)
    kept = ""
    if _detected(sample_head(out)) is None:
        timed, timed_joined = stripped(True)
        if _detected(sample_head(timed)) is None:
            return text, None
        out, joined, kept = timed, timed_joined, " but its time"
    note = f"{CRI} prefix stripped from every line{kept}"
    if partial:
        note += (
            f", {joined} line{'s' if joined != 1 else ''} split by the runtime (tag P) joined again"
        )
    return out, note


def strip_prefix(text: bytes) -> tuple[bytes, str | None]:
    """`text` with the prefixes every line carries removed (a JSON wrapper's, a container
    runtime's, then a syslog header), and a note naming them (None and the text unchanged when
    no known prefix is on at least MIN_SHARE of the first lines)."""
    return _stripped(text)


def _stripped(text: bytes, nested: bool = True) -> tuple[bytes, str | None]:
    """`strip_prefix`; a prefix is checked against the lines without it and without the
    prefixes after it only when `nested` (one level deep, however many prefixes match)."""
    notes = []
    unwrapped = unwrap_json(text)
    if unwrapped is not None:
        text = unwrapped[0]
        notes.append(unwrapped[1])
    for prefix in PREFIXES:
        lines = [line for line in sample_head(text).split(b"\n") if line.strip()]
        if not lines or not _applies(prefix, text, lines, nested):
            continue
        if prefix.name == CRI:
            stripped, note = _strip_cri(text)
            if note is None:  # no format reads the lines: the `cri` format reads the file
                continue
            text = stripped
            notes.append(note)
        else:
            text = prefix.pattern.sub(b"", text)
            notes.append(f"{prefix.name} prefix stripped from every line")
    return text, "; ".join(notes) or None
