"""What every log layout shares: a header pattern read line by line, continuation lines
(stack traces) joined to the event before them, a time reading (with the year inferred where
the layout logs none) and a level reading; the result is typed candidates as every format's."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from transforms.formats.attributes import COLUMN_PREFIX, prefixed_columns
from transforms.formats.base import (
    CANDIDATE_TYPES,
    LINE_NUMBER,
    RAW,
    Field,
    Format,
    Parsed,
    as_text,
    build,
    present,
    rejects_frame,
    split_lines,
)
from transforms.formats.embedded import message_requests
from transforms.formats.layouts.levels import level_words
from transforms.formats.layouts.years import with_year
from transforms.formats.servicelog import (
    CONTINUATION,
    KeyedValues,
    keyed_fields,
    without_unsent_status,
)

CONTINUATION_LINE = re.compile(f"(?:{CONTINUATION.pattern})|[{{}}\\[\\]()]\\s*[,;]?\\s*$|[{{}}]")
"""Lines that continue the event before them: stack trace lines (as `servicelog` knows them)
and the lines of a structure printed over several lines (`{`, `}`, `],`)."""

TimeReader = Callable[[pd.Series, "pd.Timestamp | None"], pd.Series]
"""Time text (and the ingest time, for layouts that log no year) to UTC timestamps."""

LATENCY_FACTOR = "_latency_factor"
"""A record column a `finish` step may add with the canonical columns it read from key=value
pairs (`servicelog.KeyedValues`): the unit factor of each record's bare latency. Those columns
are then typed as servicelog types them."""


def with_message_requests(records: pd.DataFrame) -> pd.DataFrame:
    """The records with the request of each event whose message is an access line
    (`embedded.message_requests`) and that has no path of its own; its latency is in ms."""
    found = message_requests(records["message"])
    if found is None:
        return records
    if "path" in records:
        found = found[records.loc[found.index, "path"].isna().to_numpy()]
    for column in found.columns:
        if column not in records:
            records[column] = pd.Series(pd.NA, index=records.index, dtype="str")
        records.loc[found.index, column] = found[column]
    if LATENCY_FACTOR not in records:
        records[LATENCY_FACTOR] = pd.Series(1.0, index=records.index, dtype="float64")
    records.loc[found.index, LATENCY_FACTOR] = 1.0
    return records


def with_keyed(records: pd.DataFrame, keyed: KeyedValues) -> pd.DataFrame:
    """The records with the columns `keyed` read from their key=value pairs (those some record
    logs) and the unit factor of each record's bare latency (`LATENCY_FACTOR`)."""
    for column, values in keyed.columns().items():
        if any(v is not None for v in values):
            records[column] = pd.Series(values, index=records.index, dtype="str")
    records[LATENCY_FACTOR] = pd.Series(keyed.factors, index=records.index, dtype="float64")
    return records


COLUMNS = ("ts", "level", "service", "message")
"""Named groups a header pattern fills; any other named group (not starting with `_`) is kept
as an attribute (a thread, a pid, a host)."""


def iso_time(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    """ISO 8601-like times (`2015-10-18 18:04:11,034`, a `T`, an offset or not; naive is UTC)."""
    iso = (
        text.str.strip()
        .str.replace(",", ".", regex=False)
        .str.replace(r" ?UTC$", "Z", regex=True)
        .str.replace(r" (?=[Z+-]\d*)", "", regex=True)
    )
    values = pd.to_datetime(iso, format="ISO8601", utc=True, errors="coerce")
    return values.dt.as_unit("us")


def strptime_time(*formats: str) -> TimeReader:
    """Times in any of the strptime `formats` (the first that reads a value wins); naive is UTC."""

    def read(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
        text = text.str.strip().str.replace(",", ".", regex=False)
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        for fmt in formats:
            rest = out.isna() & text.notna()
            if not rest.any():
                break
            values = pd.to_datetime(text[rest], format=fmt, utc=True, errors="coerce")
            out[values.index] = values.dt.as_unit("us")
        return out

    return read


def yearless_time(fmt: str) -> TimeReader:
    """Times without a year (strptime `fmt`), the year inferred from the ingest time."""

    def read(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
        return with_year(text.str.replace(r"\s+", " ", regex=True), fmt, as_of)

    return read


@dataclass(frozen=True)
class Layout:
    """A log layout read by its header pattern (one per event's first line)."""

    name: str
    header: re.Pattern[str]
    time: TimeReader
    expected: str  # the layout, for a rejected line's reason: "'<date> <LEVEL> ...'"
    time_what: str = "a timestamp"
    level: Callable[[pd.Series], pd.Series] = level_words
    default_level: str | None = None
    """The level of an event whose line logs none (syslog without PRI); None: required."""
    finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    """Adjusts the text records (e.g. a syslog PRI to a level) before they are typed."""
    continuation: re.Pattern[str] | None = CONTINUATION_LINE
    notes: tuple[str, ...] = field(default=())
    secondary: frozenset[str] = frozenset()
    """Words in the level's place that mark a line as part of the event before it (PostgreSQL's
    DETAIL, HINT, STATEMENT ...): the line joins that event as a continuation line, from the
    word on."""
    explain: Callable[[int, str], str] | None = None
    """Why a line is not in the layout (line number, text); default: the layout expected."""
    own_lines: tuple[re.Pattern[str], str] | None = None
    """Lines the program writes besides its log (a server's start-up, a platform's own lines),
    and the reason they get instead: `…, not a request`."""

    def looks_like(self, line: str) -> bool:
        return self.header.match(line) is not None

    def format(self, description: str) -> Format:
        return Format(self.name, self.parse, self.looks_like, description, takes_ingest_time=True)

    def parse(self, data: bytes, *, as_of: pd.Timestamp | None = None, **_) -> Parsed:
        return parse_layout(self, data, as_of=as_of)


def parse_layout(layout: Layout, data: bytes, *, as_of: pd.Timestamp | None = None) -> Parsed:
    """Events from a file in `layout`. Continuation lines (stack traces) join the event before
    them: its `raw` holds all its lines and its message gains them, so `records_read` counts
    events plus rejected lines. A line that is neither is rejected, naming the layout."""
    lines = split_lines(data)
    texts = lines.texts.tolist()
    numbers = lines.numbers.tolist()
    matches = [layout.header.match(t) for t in texts]
    starts: list[int] = []
    tails: dict[int, list[str]] = {}
    bad: list[tuple[int, str, str]] = []
    open_event = False
    for i, match in enumerate(matches):
        secondary = _secondary(layout, match)
        if secondary is not None:
            at, word = secondary
            if open_event:
                tails.setdefault(len(starts) - 1, []).append(texts[i][at:])
            else:
                bad.append(
                    (
                        numbers[i],
                        texts[i],
                        f"line {numbers[i]}: a {word} line belongs to the message before it, "
                        f"and there is none (expected {layout.expected} first)",
                    )
                )
        elif match is not None:
            starts.append(i)
            open_event = True
        elif layout.continuation is not None and layout.continuation.match(texts[i]):
            if open_event:
                tails.setdefault(len(starts) - 1, []).append(texts[i])
            else:
                bad.append(
                    (
                        numbers[i],
                        texts[i],
                        f"line {numbers[i]}: continuation line with no log line before it "
                        f"(expected {layout.expected} first)",
                    )
                )
        else:
            bad.append((numbers[i], texts[i], _not_this_layout(layout, numbers[i], texts[i])))
            open_event = False
    records = _records(layout, [matches[i] for i in starts], [texts[i] for i in starts], tails)
    records[LINE_NUMBER] = pd.array([numbers[i] for i in starts], dtype="Int64")
    if layout.finish is not None and len(records):
        records = layout.finish(records)
    if layout.default_level is not None and len(records):
        records["level"] = records["level"].where(present(records["level"]), layout.default_level)
    if "message" in records:
        records = with_message_requests(records)

    def read_time(text: pd.Series) -> pd.Series:
        return layout.time(text, as_of)

    fields = {
        "ts": Field("timestamp", read_time, layout.time_what),
        "level": Field("level", layout.level, "a log level"),
        "service": Field("service", as_text, "text"),
        "message": Field("message", _as_message, "text"),
    }
    if LATENCY_FACTOR in records:
        keyed = keyed_fields(records[LATENCY_FACTOR])
        fields.update({t: keyed[t] for t in CANDIDATE_TYPES if t in keyed and t in records})
    notes = list(layout.notes)
    if tails:
        attached = sum(map(len, tails.values()))
        notes.append(f"{attached} continuation lines attached to {len(tails)} events")
    rejects = pd.concat(
        [lines.rejects, rejects_frame(*zip(*bad, strict=True)) if bad else rejects_frame()],
        ignore_index=True,
    )
    return build(
        without_unsent_status(records),
        fields,
        format=layout.name,
        records_read=len(starts) + len(rejects),
        rejects=rejects,
        notes=tuple(notes),
        attributes=prefixed_columns(records),
    )


def _secondary(layout: Layout, match: re.Match[str] | None) -> tuple[int, str] | None:
    """Where a header line's secondary field starts and its word, when its level part names
    one of the layout's `secondary` words; else None."""
    if match is None or not layout.secondary:
        return None
    for group in match.re.groupindex:
        value = match.group(group) if group.split("__")[0] == "level" else None
        if value is not None:
            word = value.strip()
            if word.upper() not in layout.secondary:
                return None
            return match.start(group) + value.index(word), word
    return None


def _not_this_layout(layout: Layout, number: int, text: str) -> str:
    if layout.explain is not None:
        return layout.explain(number, text)
    if layout.own_lines is not None and layout.own_lines[0].fullmatch(text):
        return f"line {number}: {layout.own_lines[1]}"
    return f"line {number}: does not match the {layout.name} layout, expected {layout.expected}"


def _records(
    layout: Layout, matches: list[re.Match[str]], firsts: list[str], tails: dict[int, list[str]]
) -> pd.DataFrame:
    """One text record per event: the header's groups, its raw lines and its message."""
    columns: dict[str, list[str | None]] = {}
    for group in layout.header.groupindex:
        if group.startswith("_"):
            continue
        # `name__k` groups are alternatives of `name` (a pattern may not repeat a group name)
        name = group.split("__")[0]
        values = [m.group(group) for m in matches]
        if name in columns:
            values = [a if a is not None else b for a, b in zip(columns[name], values, strict=True)]
        columns[name] = values
    for name in COLUMNS:
        columns.setdefault(name, [None] * len(matches))
    columns["timestamp"] = columns.pop("ts")
    raws = list(firsts)
    messages = columns["message"]
    for i, more in tails.items():
        raws[i] = "\n".join([firsts[i], *more])
        messages[i] = "\n".join([messages[i], *more] if messages[i] else more)
    out = {RAW: raws}
    for name, values in columns.items():
        key = name if name in ("timestamp", "level", "service", "message") else COLUMN_PREFIX + name
        out[key] = values
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in out.items()})


def _as_message(text: pd.Series) -> pd.Series:
    # kept as logged (a stack trace's indentation matters); only blanks are null
    return text.where(present(text)).astype("str")
