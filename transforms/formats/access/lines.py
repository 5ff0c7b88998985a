"""Matching log lines against one regex: the regex pieces access-log formats share, a fast
C-level `extract` of named groups, and `parse_lines`, the shape of a line-per-record format."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from transforms.formats.access.values import Derived, build_derived
from transforms.formats.base import (
    LINE_NUMBER,
    RAW,
    REASONS,
    STR_MAPPER,
    Field,
    FileFormatError,
    Lines,
    Parsed,
    arrow_text,
    rejects_frame,
    split_lines,
)

# regex pieces (Python `re` syntax) -----------------------------------------------------------
QUOTED = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
"""The inside of a double-quoted field; Apache writes `"` and `\\` as `\\"` and `\\\\`, nginx
writes `"` as `\\x22` (or `\\"` with escape=json).

Patterns use possessive quantifiers and atomic groups where a field's end is unambiguous, so a
line that does not match fails in linear time instead of backtracking through every way of
splitting it (10-100x slower per line without them)."""
METHOD = r"[A-Z][A-Z0-9_-]*"
HTTP_VERSION = r"(?: HTTP/\d+(?:\.\d+)?)?"
NUMBER = r"\d+(?:\.\d+)?"
TIMES = rf"(?:{NUMBER}|-)(?:(?:, | : )(?:{NUMBER}|-))*"
"""nginx upstream timings: one value per upstream tried, ', ' between servers of a group and
' : ' across an internal redirect to another group; '-' where no time was kept."""
PAIR = rf'[A-Za-z_][A-Za-z0-9_]*+=(?:"{QUOTED}"|[^ "]*+)'


TARGET_PART = r'(?:[^ "\\]++|\\[\\"]?+)++'
"""A run of the request target without spaces: Apache's escapes `\\"` and `\\\\` are part of
it (so an escaped quote does not end the request), as is a backslash alone."""


def request_line(target: str = rf"{TARGET_PART}(?: {TARGET_PART})*?", authority: str = "") -> str:
    """A quoted request line `"METHOD [authority]target HTTP/x.y"`: method and target are
    captured; anything else logged there (`-`, an empty string, the bytes of a TLS
    handshake sent to a plain HTTP port) leaves both null. Spaces the client sent after the
    protocol are no part of the target (`"GET / HTTP/1.0 "`, as in NASA's 1995 log)."""
    return (
        rf'(?>"(?:(?P<method>{METHOD}) {authority}(?P<path>{target}){HTTP_VERSION} *+|{QUOTED})")'
    )


EXTRACT_CHUNK = 65_536
"""Lines matched per batch: bounds the Python objects alive at once (a match and a tuple of
group strings per line) to a few tens of MB, whatever the file's size."""


def extract(texts: pd.Series, regex: re.Pattern[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The named groups of `regex` matched against the whole of each text, as text columns
    (null where a group took no part), and which texts matched at all. Spaces or tabs after a
    line's last field are no field of their own (Rack's CommonLogger ends its lines with one).

    `Series.str.extract` runs Python's `re` with a Python callback per row on this pandas
    (and pyarrow's RE2 turns slow past four capture groups on long lines), so the matching is
    a C-level `map` of the compiled pattern over batches of lines: same semantics, 1.5-2x
    faster than `str.extract` on 200k access-log lines, and far less memory."""
    names = list(regex.groupindex)
    if regex.groups != len(names):
        raise ValueError("every group of a format's regex must be named")
    empty = (None,) * regex.groups
    chunks: list[list[pa.Array]] = [[] for _ in range(regex.groups)]
    matched = np.zeros(len(texts), dtype=bool)
    lines = texts.tolist()
    for start in range(0, len(lines), EXTRACT_CHUNK):
        batch = lines[start : start + EXTRACT_CHUNK]
        matches = list(map(regex.fullmatch, batch))
        if None in matches:  # spaces after a line's last field: matched without them
            for i in [i for i, m in enumerate(matches) if m is None and batch[i][-1:] in " \t"]:
                matches[i] = regex.fullmatch(batch[i].rstrip(" \t"))
        matched[start : start + len(matches)] = [m is not None for m in matches]
        rows = [m.groups() if m is not None else empty for m in matches]
        for chunk, column in zip(chunks, zip(*rows, strict=True), strict=True):
            chunk.append(pa.array(column, pa.large_string()))
    frame = pd.DataFrame(
        {
            # a pyarrow array wraps as a pandas "str" column without a copy per value
            name: pd.array(
                pa.chunked_array(chunks[regex.groupindex[name] - 1], pa.large_string()), "str"
            )
            for name in names
        },
        index=texts.index,
    )
    return frame, matched


FastSplit = Callable[[pa.Array], tuple[dict[str, pa.Array], np.ndarray]]
"""Lines in, (the regex's named groups for the lines it could split, which lines those are)
out; it may decline any line, which the regex then reads."""


def extract_with(
    texts: pd.Series, regex: re.Pattern[str], fast: FastSplit | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """`extract`, with the lines that `fast` splits taken from it (the same values the regex
    gives them, checked in tests) and only the others matched by the regex."""
    if fast is None or not len(texts):
        return extract(texts, regex)
    lines = arrow_text(texts).combine_chunks()
    columns, done = fast(lines)
    if done.all():
        frame = pd.DataFrame(
            {name: columns[name].to_pandas(types_mapper=STR_MAPPER) for name in regex.groupindex}
        )
        return frame.set_axis(texts.index), done
    rest, rest_matched = extract(texts[~done].reset_index(drop=True), regex)
    matched = done.copy()
    matched[~done] = rest_matched
    order = np.argsort(np.r_[np.flatnonzero(done), np.flatnonzero(~done)], kind="stable")
    frame = pd.DataFrame(
        {
            name: pd.concat(
                [
                    pd.Series(columns[name].to_pandas(types_mapper=STR_MAPPER)),
                    rest[name].reset_index(drop=True),
                ],
                ignore_index=True,
            )
            .iloc[order]
            .reset_index(drop=True)
            for name in regex.groupindex
        }
    )
    return frame.set_axis(texts.index), matched


PUMA_MESSAGE = re.compile(
    r"(?:\[\d+\] )?(?:"
    r"Puma starting in (?:single|cluster) mode\.\.\."
    r"|\*\s+(?:Puma version|Ruby version|Min threads|Max threads|Environment|(?:Master )?PID|"
    r"Workers|Restarts|Preloading application|Listening on|Loaded Extensions|Inherited)\b.*"
    r"|Use Ctrl-C to stop|- Worker \d+ \(PID: \d+\) booted\b.*|- Gracefully \w+ .*"
    r"|- Goodbye!|=== puma (?:startup|shutdown): .*|Exiting|Puma caught this error: .*"
    r"|=> (?:Booting \w+|Rails \S+ application starting .*|Run `.*` for more startup options)"
    r")"
)
"""The lines Puma (Ruby's usual app server: Rails, Sinatra, Rack) and `rails server` write
themselves when they start and stop, which `docker logs` shows before the requests."""
PUMA_HINT = "it is a message of Puma or Rails itself (start-up, workers, shutdown), not a request"


def own_messages(
    pattern: re.Pattern[str], what: str, *, whole: bool = True
) -> Callable[[pd.Series], pd.Series]:
    """A `hint` for `parse_lines`: for a line the server (or its platform) wrote itself, which
    `pattern` matches (the whole line, or its start when not `whole`), `what` it is, ending in
    "not a request" (the reason code `not_a_request`)."""
    match = pattern.fullmatch if whole else pattern.match

    def hint(texts: pd.Series) -> pd.Series:
        return pd.Series(
            [what if match(t) else None for t in texts], index=texts.index, dtype="str"
        )

    return hint


@dataclass(frozen=True)
class OwnEvents:
    """Lines a server writes itself among its access lines that are log events of a layout of
    their own (nginx's error log, gunicorn's, as `docker logs` interleaves them): each line
    `line` matches whole, with the lines after it that `continuation` matches the start of
    (a traceback), is read by `parse` as an event instead of being quarantined."""

    name: str
    line: re.Pattern[str]
    parse: Callable[[bytes], Parsed]
    continuation: re.Pattern[str] | None = None


def own_events(
    lines: Lines, unmatched: np.ndarray, kinds: Sequence[OwnEvents]
) -> tuple[list[Parsed], np.ndarray, list[str]]:
    """The events among the `unmatched` lines (a mask over `lines.texts`) that `kinds` read,
    with their line numbers in the file; the mask of the lines they took; a note per kind."""
    taken = np.zeros(len(lines.texts), dtype=bool)
    if not kinds or not unmatched.any():
        return [], taken, []
    chosen: dict[int, list[int]] = {}
    joining, last = None, -2
    for position in np.flatnonzero(unmatched).tolist():
        text = lines.texts.iat[position]
        kind = next((k for k, own in enumerate(kinds) if own.line.fullmatch(text)), None)
        if kind is None and joining is not None and position == last + 1:
            follows = kinds[joining].continuation
            kind = joining if follows is not None and follows.match(text) else None
        joining = kind
        if kind is not None:
            chosen.setdefault(kind, []).append(position)
            last = position
    parsed, notes = [], []
    for kind, positions in sorted(chosen.items()):
        own = kinds[kind]
        numbers = lines.numbers[positions]
        text = "\n".join(lines.texts.iloc[positions].tolist()) + "\n"
        events = own.parse(text.encode("utf-8"))
        parsed.append(_renumbered(events, numbers))
        taken[positions] = True
        notes.append(
            f"{len(positions)} line{'' if len(positions) == 1 else 's'} of {own.name} among "
            "the access lines read as log events"
        )
    return parsed, taken, notes


_DETECTING = threading.local()
"""Set while `other_format_events` detects a format: the formats it tries read no others."""
OTHER_LOG_LINES = 3
"""Lines no pattern of an access format reads that another log's format may read: fewer are
stray lines, quarantined with the access format's reason."""


def other_format_events(lines: Lines, rest: np.ndarray) -> tuple[Parsed | None, str | None]:
    """The `rest` lines (a mask over `lines.texts`: those no pattern of the format read) as the
    records of the one event format (`registry.EVENT_FORMATS`) detection names for them, as
    an application's log shares a container's output with its server's access lines (Spring
    Boot's beside Tomcat's access valve, Traefik's own log beside its access log); None when
    there are fewer than OTHER_LOG_LINES or no such format reads them."""
    if getattr(_DETECTING, "active", False) or int(rest.sum()) < OTHER_LOG_LINES:
        return None, None
    from transforms.formats import registry  # (the registry imports the formats)

    positions = np.flatnonzero(rest)
    data = ("\n".join(lines.texts.iloc[positions].tolist()) + "\n").encode("utf-8")
    _DETECTING.active = True
    try:
        fmt = registry.detect(data)
        if fmt not in registry.EVENT_FORMATS:
            return None, None
        parsed = registry.parse(data, fmt, as_of=registry.INGEST_TIME.get())
    except FileFormatError:
        return None, None
    finally:
        _DETECTING.active = False
    count = len(positions)
    note = f"{count} line{'' if count == 1 else 's'} of another log among the access lines read as {fmt} events"
    return _renumbered(parsed, lines.numbers[positions]), note


_LINE_AT_START = re.compile(r"^line (\d+):")


def _renumbered(parsed: Parsed, numbers: np.ndarray) -> Parsed:
    """`parsed`, read from some of a file's lines joined, with the file's line numbers
    (`numbers`, one per line it read, in order), in its line numbers and in its reasons that
    start with one (`line 3: ...`)."""

    def renumber(frame: pd.DataFrame) -> pd.DataFrame:
        if not len(frame):
            return frame
        at = frame[LINE_NUMBER].to_numpy(dtype="int64") - 1
        frame = frame.assign(**{LINE_NUMBER: pd.array(numbers[at], dtype="Int64")})
        if REASONS in frame:
            frame[REASONS] = frame[REASONS].str.replace(
                _LINE_AT_START, lambda m: f"line {numbers[int(m.group(1)) - 1]}:", regex=True
            )
        return frame

    raw_lines = parsed.raw_lines
    if raw_lines is not None:
        inner = {int(n): k + 1 for k, n in enumerate(numbers)}
        original = raw_lines
        raw_lines = lambda found: original(np.array([inner[int(n)] for n in found], "int64"))  # noqa: E731
    return replace(
        parsed,
        candidates=renumber(parsed.candidates),
        rejects=renumber(parsed.rejects),
        raw_lines=raw_lines,
    )


def parse_lines(
    data: bytes,
    regex: re.Pattern[str],
    *,
    format: str,
    expected: str,
    prepare: Callable[[pd.DataFrame], tuple[pd.DataFrame, tuple[str, ...]]],
    fields: dict[str, Field],
    derived: dict[str, Derived] | None = None,
    hint: Callable[[pd.Series], pd.Series] | None = None,
    fast: FastSplit | None = None,
    attributes: Mapping[str, str] | None = None,
    events: Sequence[OwnEvents] = (),
) -> Parsed:
    """The common shape of a line-per-record format: split, match one regex, reject what does
    not match ('does not match <expected>', plus `hint` where it has one), prepare the text
    columns, then type them; `attributes` (name -> text column) are kept as the `attributes`
    JSON object. Unmatched lines that one of `events` reads are its log events (`others`)."""
    lines = split_lines(data)
    records, matched = extract_with(lines.texts, regex, fast)
    others, taken, event_notes = own_events(lines, ~matched, events)
    rest = ~matched & ~taken
    if matched.any():
        found, note = other_format_events(lines, rest)
        if found is not None:
            others.append(found)
            event_notes.append(note)
            taken |= rest
            rest = np.zeros_like(rest)
    unmatched = lines.texts[rest]
    reasons = pd.Series(f"does not match {expected}", index=unmatched.index, dtype="str")
    if hint is not None and len(unmatched):
        extra = hint(unmatched)
        reasons = reasons.where(extra.isna(), reasons + "; " + extra)
    mismatch = rejects_frame(lines.numbers[rest], unmatched, reasons)
    records = records.loc[matched].reset_index(drop=True)
    records[LINE_NUMBER] = pd.array(lines.numbers[matched], dtype="Int64")
    records[RAW] = lines.texts[matched].reset_index(drop=True)
    records, notes = prepare(records)
    parsed = build_derived(
        records,
        fields,
        derived or {},
        format=format,
        records_read=len(lines.texts) + len(lines.rejects) - int(taken.sum()),
        rejects=pd.concat([lines.rejects, mismatch], ignore_index=True),
        notes=(*notes, *event_notes),
        attributes=attributes,
    )
    if not others:
        return parsed
    return replace(
        parsed,
        records_read=parsed.records_read + sum(o.records_read for o in others),
        others=tuple(others),
    )
