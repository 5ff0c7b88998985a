"""Conformance of logcast's access-log formats with a peer's parse: `make eval-formats`.

The corpus is Filebeat's module test fixtures in $LOGCAST_EVAL_DIR/logformats (default
../shared/eval/logformats; see its SOURCES.md): raw lines exactly as the servers wrote them and,
beside some files, the documents Filebeat parsed from them. Every `.log` file of the access-log
filesets is read as `logcast ingest` reads it (format detected from the file, then parsed and
validated into canonical events), and each expected document is compared with the event of the
same line (documents carry their line's byte offset) field by field:

    ts        @timestamp (UTC, to the millisecond)
    method    http.request.method
    path      url.original, else url.path and url.query
    status    http.response.status_code
    bytes     http.response.body.bytes, else http.response.bytes
    duration  event.duration (ns) as latency_ms
    client    source.ip, else source.address

A field is compared only where the document has it. An event *agrees* when all of its compared
fields among ts, method, path, status and duration do; a document whose line logcast did not
keep disagrees on all of them. Where Filebeat's own parse is lossy or wrong, `PEER_ERRORS` says
so and the field is reported apart instead of counted against logcast.

The service-log filesets (syslog, Kafka, Elasticsearch, PostgreSQL, MongoDB, ...) are read the
same way, each file detected, or, where no built-in layout reads it, with the grok pattern a
user would configure for it (`SERVICE_FILESETS`), and compared on

    ts       @timestamp (documents of year-less lines have none)
    level    log.level, folded onto the level set as logcast folds levels
    service  process.name (the syslog tag)

an event agreeing when all of those it is compared on do. Filesets no layout or pattern reads are listed
with why (`NOT_READ`).

Prints per fileset: files, lines, kept, quarantined, documents compared, agreement per field and
per event, and one example of each disagreement; then files that could not be read at all.
Exit status 0 when every fileset meets the target (>= 99 % of events agree), else 1; 2 when the
corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.realkpi import eval_dir
from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import LINE_NUMBER, FileFormatError
from transforms.formats.layouts.levels import LETTERS, WORDS
from transforms.formats.prefixes import strip_prefix

ACCESS_FILESETS = ("apache/access", "nginx/access", "haproxy/log", "iis/access", "traefik/access")
"""The access-log filesets of the corpus: the target applies to each."""
EVENT_FIELDS = ("ts", "method", "path", "status", "duration")
"""The fields an event must agree on to count as agreeing."""
FIELDS = (*EVENT_FIELDS, "bytes", "client")
LOG_FIELDS = ("ts", "level", "service")
LOG_EVENT_FIELDS = LOG_FIELDS
_ES = (
    "pattern:\\[%{TIMESTAMP_ISO8601:ts}\\]\\[%{LOGLEVEL:level}\\s*\\]\\[%{NOTSPACE:service}\\s*\\]"
    " %{GREEDYDATA:message}"
)
SERVICE_FILESETS: dict[str, str | None] = {
    "system/syslog": None,
    "system/auth": None,
    "kafka/log": None,
    "apache/error": None,
    "nginx/error": None,
    "elasticsearch/server": _ES,
    "elasticsearch/deprecation": _ES,
    "elasticsearch/slowlog": _ES,
    "logstash/log": _ES,
    "logstash/slowlog": _ES,
    "postgresql/log": "pattern:%{TIMESTAMP_ISO8601:ts} %{WORD:timezone} \\[%{DATA:pid}\\] "
    "(?:%{DATA:user}@%{DATA:database} )?%{WORD:level}:\\s+%{GREEDYDATA:message}",
    "mongodb/log": "pattern:%{TIMESTAMP_ISO8601:ts} %{WORD:level} %{NOTSPACE:service}\\s+"
    "\\[%{DATA:context}\\] %{GREEDYDATA:message}",
    "icinga/main": "pattern:\\[%{DATA:ts:%Y-%m-%d %H:%M:%S %z}\\] %{WORD:level}/%{DATA:service}: "
    "%{GREEDYDATA:message}",
    "icinga/debug": "pattern:\\[%{DATA:ts:%Y-%m-%d %H:%M:%S %z}\\] %{WORD:level}/%{DATA:service}: "
    "%{GREEDYDATA:message}",
    "nats/log": "pattern:\\[%{NUMBER:pid}\\] %{DATA:ts:%Y/%m/%d %H:%M:%S.%f} \\[%{WORD:level}\\] "
    "%{GREEDYDATA:message}",
    "santa/log": "pattern:\\[%{TIMESTAMP_ISO8601:ts}\\] %{WORD:level} %{PROG:service}: "
    "%{GREEDYDATA:message}",
}
"""The service-log filesets, each with the grok pattern a user would configure for the files
no built-in layout reads (None: detection only)."""
NOT_READ = {
    "redis/log": "Redis writes its level as a symbol (. - * #) and its role as a letter; "
    "Filebeat's documents have no time to compare (year-less lines)",
    "mysql/error": "each file mixes mysqld_safe's and mysqld's layouts (two time formats)",
    "icinga/startup": "no time on its lines",
    "elasticsearch/server/test-json.log": "its error entries are JSON objects spread over "
    "several lines (the stack trace an array printed one frame a line), which Filebeat joins "
    "with a multiline setting; jsonl reads one object per line",
    "kibana/log": "Kibana's entries carry their level among their tags, which jsonl does not "
    "read: it keeps those with an HTTP request as requests and the rest as INFO events",
    "mysql/slowlog, elasticsearch/gc, elasticsearch/audit, auditd/log, osquery/result": (
        "not service logs with a level: multi-line query reports, GC logs, audit records, "
        "query results"
    ),
}
"""Service-log filesets not read, and why."""
NOT_READ_FILES = ("elasticsearch/server/test-json.log",)
"""Files of the service-log filesets left out of the comparison (see NOT_READ)."""
TARGET = 0.99
AS_OF = pd.Timestamp("2030-01-01", tz="UTC")
"""Future-time bound of the events: the fixtures date from 2016-2019."""

PEER_ERRORS: dict[tuple[str, int, str], str] = {
    ("iis/access/test-iis-7.5.log", 5, "client"): (
        "the fixture's c-ip was mangled into a Markdown link, '[10.100.118.31](http://...)'; "
        "Filebeat's pattern pulls the address out of it, logcast keeps the field as logged"
    ),
}
PEER_SPLITS: dict[str, tuple[re.Pattern[str], str]] = {
    "postgresql/log": (
        re.compile(
            r"\S+ \S+ \S+ \[[^]]*\] (?:\S+@\S+ )?(?:DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):"
        ),
        "Filebeat keeps PostgreSQL's secondary lines (DETAIL, HINT, QUERY, CONTEXT, LOCATION, "
        "STATEMENT) as events of their own, the field's name as their level; they are part of "
        "the message before them, which logcast joins them to",
    ),
}
"""fileset -> (lines, why): a document of a line that logcast joined to the event before it (a
line neither kept as an event nor quarantined) and that matches the pattern is not counted
against logcast; the run lists it among the peer's notes."""

"""(file relative to the corpus, 1-based line, field) -> why Filebeat's value is not the one to
match there. Documents whose url.query is `-` (the W3C empty field, which Filebeat keeps as a
query) are compared without it, and reported here too."""
EMPTY_QUERY = "url.query '-' is the W3C empty field, not a query: compared without it"


@dataclass
class FileResult:
    """What logcast made of one fixture file."""

    path: str
    fmt: str | None
    lines: int
    kept: int
    quarantined: int
    error: str | None = None
    compared: int = 0
    event_agree: int = 0
    agree: Counter = field(default_factory=Counter)
    total: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    peer: list[str] = field(default_factory=list)
    quarantined_lines: frozenset[int] = frozenset()


def line_starts(data: bytes) -> np.ndarray:
    """The byte offset at which each line starts (line k + 1 starts at element k)."""
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    return np.array([0, *ends[:-1]] if ends and ends[-1] == len(data) else [0, *ends])


def expected_values(doc: dict) -> dict[str, object]:
    """The comparable fields of one Filebeat document (module docstring), where it has them."""
    out: dict[str, object] = {}
    if "@timestamp" in doc:
        out["ts"] = pd.Timestamp(doc["@timestamp"]).tz_convert("UTC")
    if "http.request.method" in doc:
        out["method"] = str(doc["http.request.method"])
    if "url.original" in doc:
        out["path"] = str(doc["url.original"])
    elif "url.path" in doc:
        query = doc.get("url.query")
        out["path"] = str(doc["url.path"]) + (f"?{query}" if query and query != "-" else "")
    if "http.response.status_code" in doc:
        out["status"] = int(doc["http.response.status_code"])
    for key in ("http.response.body.bytes", "http.response.bytes"):
        if key in doc:
            out["bytes"] = int(doc[key])
            break
    if "event.duration" in doc:
        out["duration"] = float(doc["event.duration"]) / 1e6
    for key in ("source.ip", "source.address"):
        if key in doc:
            out["client"] = str(doc[key])
            break
    if "log.level" in doc:
        out["level"] = folded_level(str(doc["log.level"]))
    if "process.name" in doc:
        out["service"] = str(doc["process.name"])
    return out


def folded_level(text: str) -> str:
    """A level word or letter as logcast folds it."""
    upper = text.upper()
    return WORDS.get(upper, LETTERS.get(upper, upper))


def actual_values(row: pd.Series) -> dict[str, object]:
    """The same fields of one logcast event (None where it has no value)."""

    def value(name):
        v = row.get(name)
        return None if v is None or pd.isna(v) else v

    ts = value("ts")
    return {
        "ts": None if ts is None else pd.Timestamp(ts).tz_convert("UTC"),
        "method": value("method"),
        "path": value("path"),
        "status": None if value("status_code") is None else int(value("status_code")),
        "bytes": None if value("bytes_sent") is None else int(value("bytes_sent")),
        "duration": None if value("latency_ms") is None else float(value("latency_ms")),
        "client": value("client_ip"),
        "level": value("level"),
        "service": value("service"),
    }


def same(name: str, expected: object, actual: object) -> bool:
    if actual is None:
        return False
    if name == "duration":
        return abs(float(actual) - float(expected)) <= 1e-6 * max(1.0, abs(float(expected)))
    if name == "ts":  # Filebeat keeps milliseconds
        return actual.floor("ms") == expected
    return actual == expected


def read_file(
    path: Path, corpus: Path, pattern: str | None = None
) -> tuple[FileResult, pd.DataFrame]:
    """The file read as `logcast ingest` reads it: (its summary, its kept events by line); a
    file detection cannot name is read with `pattern`, when given, as its source would be
    configured."""
    data = path.read_bytes()
    name = str(path.relative_to(corpus))
    lines = len(data.splitlines())
    try:
        data, _ = strip_prefix(data)
        try:
            fmt = registry.detect(data)
        except FileFormatError:
            if pattern is None:
                raise
            fmt = pattern
        if pattern is not None and fmt in registry.GENERIC:
            fmt = pattern  # a log file whose only claim is a comma in its first line
        parsed = registry.parse(data, fmt, as_of=AS_OF)
        events = canonical_events(parsed, source="eval", as_of=AS_OF)
    except FileFormatError as error:
        return FileResult(name, None, lines, 0, lines, error=str(error)), pd.DataFrame()
    kept = events.events
    shown = "pattern" if fmt == pattern else fmt
    result = FileResult(name, shown, lines, len(kept), len(events.rejects))
    result.quarantined_lines = frozenset(int(n) for n in events.rejects[LINE_NUMBER])
    return result, kept.set_index(LINE_NUMBER, drop=False)


def compare(
    result: FileResult,
    kept: pd.DataFrame,
    path: Path,
    fields: tuple[str, ...] = FIELDS,
    event_fields: tuple[str, ...] = EVENT_FIELDS,
) -> None:
    """Compares the file's expected documents with its kept events (module docstring) on
    `fields`; an event agrees when its `event_fields` do."""
    expected_path = path.with_name(path.name + "-expected.json")
    if not expected_path.exists():
        return
    data = path.read_bytes()
    starts = line_starts(data)
    texts = data.decode("utf-8", "replace").split("\n")
    split = PEER_SPLITS.get(str(Path(result.path).parent))
    for doc in json.loads(expected_path.read_text()):
        line = int(np.searchsorted(starts, int(doc["log.offset"]), side="right"))
        want = {k: v for k, v in expected_values(doc).items() if k in fields}
        if not want:
            continue
        joined = line not in kept.index and line not in result.quarantined_lines
        if split is not None and joined and split[0].match(texts[line - 1]):
            result.peer.append(f"line {line} event: {split[1]}")
            continue
        if doc.get("url.query") == "-":
            result.peer.append(f"line {line} path: {EMPTY_QUERY}")
        is_event = any(name in want for name in event_fields)
        result.compared += is_event
        got = actual_values(kept.loc[line]) if line in kept.index else {}
        agrees = True
        for name, value in want.items():
            peer = PEER_ERRORS.get((result.path, line, name))
            if peer is not None:
                result.peer.append(f"line {line} {name}: {peer}")
                continue
            result.total[name] += 1
            if same(name, value, got.get(name)):
                result.agree[name] += 1
            else:
                agrees = agrees and name not in event_fields
                result.examples.setdefault(
                    name,
                    f"{result.path} line {line}: expected {value!r}, got {got.get(name)!r}"
                    + ("" if got else " (line not kept)"),
                )
        result.event_agree += agrees and is_event


def fileset_results(
    corpus: Path,
    fileset: str,
    pattern: str | None = None,
    fields: tuple[str, ...] = FIELDS,
    event_fields: tuple[str, ...] = EVENT_FIELDS,
) -> list[FileResult]:
    results = []
    for path in sorted((corpus / fileset).glob("*.log")):
        if fields == LOG_FIELDS and any(path.match(p) for p in NOT_READ_FILES):
            continue
        result, kept = read_file(path, corpus, pattern)
        compare(result, kept, path, fields, event_fields)
        results.append(result)
    return results


def _grouped(notes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(note, where) once per distinct note: 'file line N' or 'N documents, first file line N'."""
    by_note: dict[str, list[str]] = defaultdict(list)
    for path, note in notes:
        line, _, text = note.partition(": ")
        by_note[text].append(f"{path} {line}")
    return [
        (text, where[0] if len(where) == 1 else f"{len(where)} documents, first {where[0]}")
        for text, where in by_note.items()
    ]


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "-"


def report(
    corpus: Path,
    filesets: tuple[str, ...],
    fields: tuple[str, ...] = FIELDS,
    event_fields: tuple[str, ...] = EVENT_FIELDS,
    patterns: dict[str, str | None] | None = None,
) -> bool:
    """Prints the tables (module docstring); True when every fileset meets the target."""
    width = max(16, *(len(f) for f in filesets))
    header = (
        f"{'fileset':<{width}} {'files':>5} {'lines':>6} {'kept':>6} {'quar':>5} {'docs':>5} "
        + " ".join(f"{name:>8}" for name in fields)
        + f" {'events':>9}  formats"
    )
    print(header)
    print("-" * len(header))
    ok = True
    unread: list[FileResult] = []
    examples: dict[str, dict[str, str]] = defaultdict(dict)
    peer: list[tuple[str, str]] = []
    totals = Counter()
    for fileset in filesets:
        pattern = (patterns or {}).get(fileset)
        results = fileset_results(corpus, fileset, pattern, fields, event_fields)
        agree, total = Counter(), Counter()
        for r in results:
            agree.update(r.agree)
            total.update(r.total)
            for name, example in r.examples.items():
                examples[fileset].setdefault(name, example)
            peer.extend((r.path, note) for note in r.peer)
            if r.error:
                unread.append(r)
        compared = sum(r.compared for r in results)
        events_agree = sum(r.event_agree for r in results)
        lines = sum(r.lines for r in results)
        kept = sum(r.kept for r in results)
        quarantined = sum(r.quarantined for r in results)
        formats = sorted({r.fmt for r in results if r.fmt})
        met = compared > 0 and events_agree >= TARGET * compared
        ok = ok and met
        totals.update(lines=lines, kept=kept, quarantined=quarantined, docs=compared)
        totals.update(events=events_agree)
        print(
            f"{fileset:<{width}} {len(results):>5} {lines:>6} {kept:>6} {quarantined:>5} "
            f"{compared:>5} "
            + " ".join(f"{_share(agree[name], total[name]):>8}" for name in fields)
            + f" {_share(events_agree, compared):>9}  {', '.join(formats) or '-'}"
            + ("" if met else "  below target")
        )
    print("-" * len(header))
    print(
        f"{'total':<{width}} {'':>5} {totals['lines']:>6} {totals['kept']:>6} "
        f"{totals['quarantined']:>5} {totals['docs']:>5} "
        + " " * (9 * len(fields))
        + f" {_share(totals['events'], totals['docs']):>9}"
    )
    print(
        f"\ntarget: every fileset with >= {TARGET:.0%} of its documents' events agreeing on "
        f"{', '.join(event_fields)} (where the document has them): {'met' if ok else 'NOT met'}"
    )
    if any(examples.values()):
        print("\nfirst disagreement of each field, per fileset:")
        for fileset, by_field in examples.items():
            for name, example in by_field.items():
                print(f"  {fileset} {name}: {example}")
    if peer:
        print("\nwhere the peer's value is not the one to match (not counted):")
        for note, where in _grouped(peer):
            print(f"  {note} ({where})")
    if unread:
        print("\nfiles not read at all:")
        for r in unread:
            print(f"  {r.path}: {r.error}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.formats", description=__doc__)
    parser.add_argument("--fileset", action="append", help="only this fileset (repeatable)")
    args = parser.parse_args(argv)
    corpus = eval_dir() / "logformats"
    if not corpus.is_dir():
        print(
            f"logformats: no corpus at {corpus} (set LOGCAST_EVAL_DIR to the folder that holds "
            "logformats/); nothing to compare",
            file=sys.stderr,
        )
        return 2
    chosen = tuple(args.fileset) if args.fileset else (*ACCESS_FILESETS, *SERVICE_FILESETS)
    unknown = [f for f in chosen if not (corpus / f).is_dir()]
    if unknown:
        print(f"logformats: no fileset {', '.join(unknown)} in {corpus}", file=sys.stderr)
        return 2
    access = tuple(f for f in chosen if f not in SERVICE_FILESETS)
    service = tuple(f for f in chosen if f in SERVICE_FILESETS)
    ok = True
    if access:
        ok = report(corpus, access)
    if service:
        print("\nservice logs:\n" if access else "", end="")
        ok = report(corpus, service, LOG_FIELDS, LOG_EVENT_FIELDS, SERVICE_FILESETS) and ok
        if not args.fileset:
            print("\nservice-log filesets not read:")
            for fileset, why in NOT_READ.items():
                print(f"  {fileset}: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
