"""Reading a whole landing file into canonical events in pieces of bounded size: parse,
validate and normalise one piece at a time, keep only its events (as Arrow) and rejects, so
memory follows the piece size and the events, not the file's intermediate forms."""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.common import EARLIEST_EVENT, empty_frame
from schemas.requests import StoredRequest
from transforms.canonical import (
    OTHER_ENDPOINT,
    UNCAPPED,
    EndpointRules,
    canonical_events,
    rank_new_endpoints,
)
from transforms.endpoints import VAR, fold_file_endpoints
from transforms.formats import registry, w3c
from transforms.formats.base import (
    ARROW_THREADS,
    LINE_NUMBER,
    REASONS,
    FileFormatError,
    Parsed,
    byte_positions,
    count_byte,
    newline_positions,
)
from transforms.formats.jsonl.parse import file_keys, finish_default_keys

PIECE_RECORDS = 200_000
"""Records (lines) parsed at once, about: what a piece costs in memory and time follows its
records more than its bytes. A file up to 1.5 pieces is read whole."""
PIECE_BYTES: int | None = None
"""A fixed piece size in bytes instead (tests)."""
PIECES_AHEAD = 2
"""Pieces read at once, each in a thread of its own (one per core of the usual worker)."""
LINE_FORMATS = (
    "csv",
    "tsv",
    "jsonl",
    "common",
    "combined",
    "apache_ssl",
    "alb",
    "elb",
    "haproxy",
    "uwsgi",
    "envoy",
    "caddy",
    "traefik",
    "w3c",
)
"""Formats with one record per line, which split anywhere between lines (nginx templates
too; a W3C piece is read with the `#Fields:` lines before it, see `w3c.PieceReader`);
service logs carry multi-line records: they are read whole."""
MAPPING_NOTE = re.compile(r"^\S+ (columns|keys) mapped with ")


def _malloc_trim() -> Callable[[], object]:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lambda: libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        return lambda: None


release_free_memory = _malloc_trim()
"""Hands memory freed by a piece back to the system (glibc keeps freed heap memory for the
process otherwise, and each piece would add its intermediate arrays to the peak)."""

PR_SET_THP_DISABLE = 41
"""Linux's prctl option that turns transparent huge pages off for the calling process."""


@cache
def avoid_huge_pages() -> bool:
    """Turns transparent huge pages off for this process and the processes it starts (Linux;
    elsewhere nothing happens), once; True if the kernel took it. Arrow's allocator asks for
    huge pages for its arenas; where the kernel compacts memory to grant them on first touch
    (`defrag` set to `madvise`, as Debian and Ubuntu ship it), a new process spent about as
    much time in the kernel, compacting and zeroing pages, as parsing its first large file,
    which then took nearly twice as long as the next one."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux, or no prctl
        return False


@dataclass(frozen=True)
class FileEvents:
    """A file's valid events (Arrow, in file order; the columns it logged, see `complete`), its
    rejected records (line_number, raw, reasons) and what the run should say about it."""

    events: pa.Table
    rejects: pd.DataFrame
    records_read: int
    new_endpoints: tuple[str, ...]
    notes: tuple[str, ...]
    seen_endpoints: frozenset[str] = frozenset()
    """The source's endpoint templates after this file (see `fold_file_endpoints`)."""
    released_endpoints: tuple[str, ...] = ()
    """Admitted endpoints that now fold by variety: they get no new rows and leave the cap."""


Piece = tuple[int, int, int]
"""(start byte, stop byte, number to add to the piece's line numbers)."""


def pieces(text: bytes, fmt: str, size: int | None = None) -> list[Piece]:
    """Where to cut a file into pieces of about `size` bytes, between lines, and how its line
    numbers shift in each; `piece_bytes` makes one (delimited pieces after the first get the
    header line again, so their line 2 is their first record)."""
    out: list[Piece] = []
    lines_before = 0
    for k, (start, stop) in enumerate(spans(text, fmt, size)):
        out.append((start, stop, _shift(fmt, k, lines_before)))
        lines_before += text.count(b"\n", start, stop)
    return out


def _shift(fmt: str, k: int, lines_before: int) -> int:
    """What to add to the line numbers of piece k, after `lines_before` lines."""
    return lines_before - 1 if k and fmt in ("csv", "tsv") else lines_before


def spans(text: bytes, fmt: str, size: int | None = None) -> list[tuple[int, int]]:
    """The (start, stop) bytes of each piece of `pieces`."""
    balanced = not (size or PIECE_BYTES)
    size = size or PIECE_BYTES or _bytes_for(text, PIECE_RECORDS)
    splittable = fmt in LINE_FORMATS or fmt.startswith("nginx:")
    whole = [(0, len(text))]
    if not splittable or len(text) <= size * 3 // 2:
        return whole
    if balanced:
        # pieces of one size, as many as keep every thread busy to the end (a multiple of
        # the threads)
        count = -(-len(text) // size)
        count += -count % PIECES_AHEAD
        size = -(-len(text) // count)
    safe = None  # where a delimited file may be cut: not inside a quoted field
    if fmt in ("csv", "tsv"):
        end = text.find(b"\n")
        if end < 0 or not text[: end + 1].strip(b"\xef\xbb\xbf \t\r\n"):
            return whole  # no header on line 1: read whole, as the parser expects
        safe = _outside_quotes(text)
    cuts = [0]
    # balanced pieces start with one half as long (and so end with another): the two threads
    # stay half a piece apart, one thread's Python part (which holds the GIL) beside the other's
    # parse (which lets go of it), where pieces of one size keep them in step, waiting on each
    # other for the GIL at the same moments
    step = size // 2 if balanced else size
    while cuts[-1] + step < len(text):
        if safe is None:
            cut = text.find(b"\n", cuts[-1] + step) + 1
        else:
            at = int(np.searchsorted(safe, cuts[-1] + step + 1))
            cut = int(safe[at]) if at < len(safe) else 0
        if cut <= 0 or cut >= len(text):
            break
        cuts.append(cut)
        step = size
    cuts.append(len(text))
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def _outside_quotes(text: bytes) -> np.ndarray | None:
    """Where each line of a delimited file starts that does not start inside a quoted field
    (RFC 4180 lets one hold line breaks): after each line break with an even number of quotes
    before it. None when the file has no quote."""
    quotes = byte_positions(text, ord('"'))
    if not len(quotes):
        return None
    breaks = newline_positions(text)
    return breaks[np.searchsorted(quotes, breaks) % 2 == 0] + 1


def _bytes_for(text: bytes, records: int) -> int:
    """Bytes that hold about `records` lines, from the line length at the file's start."""
    sample = text[: 1 << 20]
    lines = sample.count(b"\n") or 1
    return max(1 << 20, len(sample) * records // lines)


def piece_bytes(text: bytes, fmt: str, piece: Piece | tuple[int, int]) -> bytes | memoryview:
    """A piece's bytes: a view of the file's for jsonl, whose parser takes one (no copy made
    while holding the GIL), else a copy."""
    start, stop = piece[:2]
    if start == 0 and stop == len(text):
        return text
    if start and fmt in ("csv", "tsv"):  # the header line, then the piece
        return _with_header(text, text.find(b"\n") + 1, start, stop)
    if fmt == "jsonl":
        return memoryview(text)[start:stop]
    return text[start:stop]


def _with_header(text: bytes, head: int, start: int, stop: int) -> bytearray:
    """`text[:head] + text[start:stop]`, copied by NumPy, which lets go of the GIL while it
    copies (a bytes concatenation holds it)."""
    out = bytearray(head + stop - start)
    into = np.frombuffer(out, np.uint8)
    source = np.frombuffer(text, np.uint8)
    into[:head] = source[:head]
    into[head:] = source[start:stop]
    return out


def read_events(
    text: bytes,
    fmt: str,
    *,
    source: str,
    as_of: pd.Timestamp,
    mapping: tuple | None = None,
    rules: EndpointRules | None = None,
    known_endpoints: frozenset[str] = frozenset(),
    seen_endpoints: frozenset[str] = frozenset(),
    earliest: pd.Timestamp = EARLIEST_EVENT,
) -> FileEvents:
    """Events of a whole file, read piece by piece. Endpoints fold by variety, then the
    endpoint cap is applied, once each, over the whole file: variety is judged over the
    source's seen and known endpoints plus the file's, and endpoints are admitted by their
    frequency in the file. A piece whose layout the parser refuses on its own (its first line
    is not like the file's) sends the file back to being read whole, where the parser decides."""
    rules = rules or EndpointRules()
    parts = spans(text, fmt)
    endpoints = (known_endpoints, seen_endpoints)
    args = (text, fmt, source, as_of, mapping, rules, endpoints, earliest)
    try:
        read = _read(parts, *args)
    except FileFormatError:
        if len(parts) == 1:
            raise
        read = _read([(0, len(text))], *args)
    return _cut_last_line(read, text)


CUT_LAST_LINE = (
    "; the line has no line end: the file stops in the middle of it, as a file still being "
    "written does (the file is read again whole when it changes)"
)


def _cut_last_line(read: FileEvents, text: bytes) -> FileEvents:
    """The reasons of a rejected last line that has no line end say that it may be cut short."""
    if not len(read.rejects) or not text or text.endswith(b"\n"):
        return read
    last = count_byte(text, 10) + 1
    cut = read.rejects[LINE_NUMBER] == last
    if not cut.any():
        return read
    rejects = read.rejects.copy()
    rejects.loc[cut, REASONS] = rejects.loc[cut, REASONS] + CUT_LAST_LINE
    return replace(read, rejects=rejects)


def _read(parts, text, fmt, source, as_of, mapping, rules, endpoints, earliest) -> FileEvents:
    known_endpoints, seen_endpoints = endpoints
    tables: list[pa.Table] = []
    rejects: list[pd.DataFrame] = []
    piece_counts: list[pa.StructArray] = []  # each piece's endpoints with their rows
    notes: list[str] = []
    records_read = 0
    uncapped = EndpointRules(rules.rules, max_endpoints=UNCAPPED)
    # a W3C piece needs the `#Fields:` lines of the pieces before it: those are parsed in file
    # order, each once the one before is done; the other formats parse any piece on its own,
    # but jsonl reads every piece with the keys its first piece chooses: chosen from the
    # file's first objects before any piece is read (or, when none can be, by that piece's
    # parse, which the others then wait for)
    w3c_reader = w3c.PieceReader() if fmt == "w3c" and len(parts) > 1 else None
    chosen = {"mapping": mapping}
    keys_note = None
    if fmt == "jsonl" and mapping is None and len(parts) > 1:
        keys = file_keys(text, parts[0][1])
        if keys is not None:
            chosen["mapping"], keys_note = keys
            notes.append(keys_note)
    parsed_done = [threading.Event() for _ in parts]
    # each piece's lines, counted by its thread before it parses (so a piece has the counts of
    # every piece before it once their parses are done)
    line_counts = [0] * len(parts)

    def parse(k: int) -> Parsed:
        piece = parts[k]
        waits_for = (
            k - 1 if w3c_reader is not None else 0 if fmt == "jsonl" and keys_note is None else None
        )
        if k and waits_for is not None:
            parsed_done[waits_for].wait()
        try:
            if w3c_reader is not None and not chosen["mapping"]:  # registry.parse refuses it
                lines_before = _shift(fmt, k, sum(line_counts[:k]))
                return w3c_reader(piece_bytes(text, fmt, piece), lines_before)
            parsed = registry.parse(
                piece_bytes(text, fmt, piece), fmt, mapping=chosen["mapping"], as_of=as_of
            )
            if fmt == "jsonl" and mapping is None and (k or keys_note is not None):
                parsed = finish_default_keys(parsed)  # as `parse_jsonl` does with its keys
            if k == 0 and chosen["mapping"] is None and parsed.mapping is not None:
                chosen["mapping"] = parsed.mapping  # the keys the first piece chose, for all
            return parsed
        finally:
            parsed_done[k].set()

    def read_piece(
        k: int,
    ) -> tuple[int, pa.Table, pd.DataFrame, tuple[str, ...], pa.StructArray | None]:
        if len(parts) > 1:
            ARROW_THREADS.set(False)  # in this thread only
            line_counts[k] = count_byte(text, 10, *parts[k])
        parsed = parse(k)
        count = parsed.records_read
        result = canonical_events(
            parsed,
            source=source,
            as_of=as_of,
            rules=uncapped,
            known_endpoints=known_endpoints,
            earliest=earliest,
        )
        del parsed
        piece_rejects = result.rejects
        table, piece_notes = _logged_columns(result.events), result.notes
        del result
        counts = (
            pc.value_counts(table.column("endpoint")) if "endpoint" in table.column_names else None
        )
        release_free_memory()
        return count, table, piece_rejects, piece_notes, counts

    # Pieces go through PIECES_AHEAD threads, each parsing one piece and making its events
    # (the readers and compute kernels let go of the GIL, so the cores share the work); the
    # results, small beside a piece's intermediate forms, are taken in file order.
    pool = ThreadPoolExecutor(max_workers=PIECES_AHEAD, thread_name_prefix="piece")
    try:
        futures = [pool.submit(read_piece, k) for k in range(len(parts))]
        for k, future in enumerate(futures):
            count, table, piece_rejects, piece_notes, counts = future.result()
            if counts is not None:
                piece_counts.append(counts)
            records_read += count
            shift = _shift(fmt, k, sum(line_counts[:k]))
            if shift and len(piece_rejects):
                piece_rejects[LINE_NUMBER] = piece_rejects[LINE_NUMBER] + shift
            tables.append(table)
            rejects.append(piece_rejects)
            notes.extend(n for n in piece_notes if not ((k or keys_note) and MAPPING_NOTE.match(n)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    table = _concat(tables)
    del tables
    seen = seen_endpoints | known_endpoints  # known alone in catalogs older than `seen`
    if "endpoint" not in table.column_names:  # only service-log events: no endpoint to cap
        return FileEvents(
            table, _concat_rejects(rejects), records_read, (), _merged(notes), seen_endpoints=seen
        )
    counts = _endpoint_counts(piece_counts)
    table, folding = _fold_variety(table, counts.index.tolist(), seen, rules.fold_variety)
    if folding.names != folding.templates:  # the rows of each template
        templates = dict(zip(folding.names, folding.templates, strict=True))
        counts = counts.groupby(counts.index.map(templates), sort=False).sum()
    if folding.folded_parents:
        notes.append(
            f"endpoints folded by variety for source '{source}': "
            + ", ".join(f"{p.rstrip('/')}/{VAR}" for p in folding.folded_parents[:3])
            + (
                f" and {len(folding.folded_parents) - 3} more"
                if len(folding.folded_parents) > 3
                else ""
            )
            + f" (more than {rules.fold_variety} distinct values under the same parent)"
        )
    released = known_endpoints & folding.refolded
    known_endpoints = known_endpoints - released
    column = table.column("endpoint")
    admitted, folded = rank_new_endpoints(counts, known_endpoints, rules.max_endpoints)
    if folded:
        position = table.schema.get_field_index("endpoint")
        other = pa.scalar(OTHER_ENDPOINT, column.type)
        folded_values = pa.array(folded, column.type)
        table = table.set_column(
            position, "endpoint", pc.if_else(pc.is_in(column, folded_values), other, column)
        )
        notes.append(
            f"endpoint cap of {rules.max_endpoints} reached for source '{source}': "
            f"{len(folded)} rare endpoints folded into {OTHER_ENDPOINT} "
            f"(e.g. {', '.join(folded[:3])})"
        )
    return FileEvents(
        events=table,
        rejects=_concat_rejects(rejects),
        records_read=records_read,
        new_endpoints=admitted,
        notes=_merged(notes),
        seen_endpoints=folding.seen,
        released_endpoints=tuple(sorted(released)),
    )


def _endpoint_counts(pieces: list[pa.StructArray]) -> pd.Series:
    """The file's rows per endpoint (nulls left out) from its pieces' `value_counts`, each
    counted in its piece's thread."""
    if not pieces:
        return pd.Series([], dtype="int64")
    values = pa.concat_arrays([p.field("values") for p in pieces])
    counts = pd.Series(
        np.concatenate([p.field("counts").to_numpy() for p in pieces]),
        index=values.to_pylist(),
        dtype="int64",
    )
    return counts[counts.index.notna()].groupby(level=0, sort=False).sum()


def _fold_variety(table: pa.Table, distinct: list[str], seen: frozenset[str], limit: int):
    """The events with their endpoints (the `distinct` ones) folded by variety
    (`fold_file_endpoints`)."""
    folding = fold_file_endpoints(distinct, seen, limit)
    if folding.names != folding.templates:
        column = table.column("endpoint")
        names = pa.array(folding.names, column.type)
        templates = pa.array(folding.templates, column.type)
        column = pc.take(templates, pc.index_in(column, value_set=names))
        table = table.set_column(table.schema.get_field_index("endpoint"), "endpoint", column)
    return table, folding


@cache
def request_schema() -> pa.Schema:
    """The Arrow schema of a `requests` fragment (with its pandas metadata)."""
    return pa.Schema.from_pandas(empty_frame(StoredRequest), preserve_index=False)


def _logged_columns(events: pd.DataFrame) -> pa.Table:
    """A piece's events as Arrow without what `complete` restores when writing: the line
    number (events stay in file order), the source (one per file) and columns nothing in the
    piece logged."""
    table = pa.Table.from_pandas(
        events.drop(columns=[LINE_NUMBER, "source"]), preserve_index=False
    ).replace_schema_metadata(None)
    empty = [
        f.name for f, c in zip(table.schema, table.columns, strict=True) if c.null_count == len(c)
    ]
    return table.drop_columns(empty) if table.num_rows else table


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Pieces together, each with every column some piece logged (nulls where it did not)."""
    names = [f.name for f in request_schema() if any(f.name in t.column_names for t in tables)]
    types = {f.name: f.type for f in request_schema()}
    out = []
    for table in tables:
        for name in names:
            if name not in table.column_names:
                table = table.append_column(
                    pa.field(name, types[name]), pa.nulls(table.num_rows, types[name])
                )
        out.append(table.select(names))
    return pa.concat_tables(out)


def complete(table: pa.Table, source: str, file_id: str) -> pa.Table:
    """Events as `requests` stores them: every column in order, the source and landing file,
    nulls for what the file did not log, and the pandas metadata that restores the types."""
    return conform(Completer(source, file_id, table.num_rows)(table))


def conform(table: pa.Table) -> pa.Table:
    """Rows of `requests` with every column of the table in order (nulls for the columns
    they lack) and the pandas metadata that restores the types."""
    schema = request_schema()
    rows = table.num_rows
    columns = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


class Completer:
    """A file's events as its staged fragments hold them, for many tables of up to `rows`
    rows each: the columns the file logged, with its source and landing file added (made once;
    each table gets a zero-copy slice of them), in the order of `requests`. The columns it
    did not log are left out: compaction restores them (`conform`), and a staged fragment
    costs a column chunk less to write for each."""

    def __init__(self, source: str, file_id: str, rows: int):
        self.rows = rows
        self.schemas: dict[tuple[str, ...], tuple[pa.Schema, list[int | None]]] = {}
        self.filled = {
            f.name: pa.repeat(pa.scalar(source if f.name == "source" else file_id, f.type), rows)
            for f in request_schema()
            if f.name in ("source", "file_id")
        }

    def __call__(self, table: pa.Table) -> pa.Table:
        rows = table.num_rows
        if rows > self.rows:
            raise ValueError(f"{rows} rows, more than the {self.rows} made for")
        schema, positions = self._plan(tuple(table.column_names))
        columns = [
            table.column(position) if position is not None else self.filled[f.name].slice(0, rows)
            for position, f in zip(positions, schema, strict=True)
        ]
        return pa.Table.from_arrays(columns, schema=schema)

    def _plan(self, names: tuple[str, ...]) -> tuple[pa.Schema, list[int | None]]:
        """The stored schema of tables with these columns and, for each of its columns, its
        position in them (None: filled), worked out once per set of columns."""
        if names not in self.schemas:
            at = {name: k for k, name in enumerate(names)}
            fields = [f for f in request_schema() if f.name in at or f.name in self.filled]
            self.schemas[names] = (pa.schema(fields), [at.get(f.name) for f in fields])
        return self.schemas[names]


def _concat_rejects(frames: list[pd.DataFrame]) -> pd.DataFrame:
    found = [f for f in frames if len(f)]
    if len(found) <= 1:
        return found[0] if found else frames[0]
    return pd.concat(found, ignore_index=True)


_COUNT = re.compile(r"^(\d+) ")


def _merged(notes: list[str]) -> tuple[str, ...]:
    """Notes of all pieces, each once; notes that differ only in their leading count (one per
    piece) become one note with the total."""
    totals: dict[str, int] = {}
    texts: dict[str, str] = {}
    for note in notes:
        key = re.sub(r"\d+", "#", note).replace(" lines end ", " line ends ")
        key = re.sub(r"^# lines ", "# line ", key)
        match = _COUNT.match(note)
        if match:
            totals[key] = totals.get(key, 0) + int(match.group(1))
        texts.setdefault(key, note)
    out = []
    for key, note in texts.items():
        if key in totals:
            total = totals[key]
            note = _COUNT.sub(f"{total} ", note, count=1)
            if total > 1:
                note = note.replace(" line ends ", " lines end ", 1)
                note = re.sub(r"^(\d+) line ", r"\1 lines ", note)
        out.append(note)
    return tuple(out)
