"""Web server access logs: the Apache/nginx Common and Combined Log Formats (with the timing
fields nginx and Apache setups append) and any nginx `log_format` template."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.base import (
    CANDIDATE_TYPES,
    LINE_NUMBER,
    RAW,
    REASONS,
    STR_MAPPER,
    Field,
    FileFormatError,
    Format,
    Parsed,
    arrow_text,
    as_float,
    as_int,
    as_text,
    as_timestamp,
    build,
    contains_byte,
    conversion_failures,
    present,
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


def request_line(target: str = r'[^ "]+(?: [^ "]+)*?', authority: str = "") -> str:
    """A quoted request line `"METHOD [authority]target HTTP/x.y"`: method and target are
    captured; anything else logged there (`-`, an empty string, the bytes of a TLS
    handshake sent to a plain HTTP port) leaves both null."""
    return rf'(?>"(?:(?P<method>{METHOD}) {authority}(?P<path>{target}){HTTP_VERSION}|{QUOTED})")'


EXTRACT_CHUNK = 65_536
"""Lines matched per batch: bounds the Python objects alive at once (a match and a tuple of
group strings per line) to a few tens of MB, whatever the file's size."""


def extract(texts: pd.Series, regex: re.Pattern[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The named groups of `regex` matched against the whole of each text, as text columns
    (null where a group took no part), and which texts matched at all.

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
        matches = list(map(regex.fullmatch, lines[start : start + EXTRACT_CHUNK]))
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


# measures: text -> (values, failed) ---------------------------------------------------------
Measure = Callable[[pd.Series], tuple[pd.Series, pd.Series]]
"""Text in, (float values, failed) out: a logged value that is not a valid one fails; text that
means "not logged" ('-', empty) is null without failing."""


def numbers(factor: float = 1.0) -> Measure:
    convert = as_float(factor)

    def measure(text: pd.Series) -> tuple[pd.Series, pd.Series]:
        values = convert(text)
        missing = values.isna()
        if not missing.any():
            return values, missing
        return values, missing & present(text)

    return measure


def number_lists(factor: float = 1.0) -> Measure:
    """Numbers, or lists of them in nginx's upstream notation ('0.010, 0.120 : 0.003'), summed;
    '-' items count as nothing, a list of only '-' is null."""
    single_measure = numbers(factor)

    def measure(text: pd.Series) -> tuple[pd.Series, pd.Series]:
        text = text.str.strip()
        values, failed = single_measure(text)
        lists = text.str.contains(r"[,:]", regex=True).fillna(False).astype(bool)
        if lists.any():
            items = text[lists].str.split(r"\s*[,:]\s*", regex=True).explode()
            item_values = pd.to_numeric(items, errors="coerce").astype("float64")
            bad = (item_values.isna() & present(items)).groupby(level=0).any()
            sums = item_values.groupby(level=0).sum(min_count=1) * factor
            values.loc[bad.index] = sums.where(~bad)
            failed.loc[bad.index] = bad
        return values, failed

    return measure


@dataclass(frozen=True)
class Input:
    """A text column that feeds a derived canonical column, checked on its own."""

    source: str
    measure: Measure
    what: str  # what a value must be, for the reason when it is not


@dataclass(frozen=True)
class Derived:
    """A canonical column computed from several text columns (e.g. a latency that is the sum
    of three timings, or one timing with another as fallback)."""

    inputs: tuple[Input, ...]
    combine: Callable[[list[pd.Series]], pd.Series]


def first_logged(values: list[pd.Series]) -> pd.Series:
    """Per row, the first input that was logged."""
    out = values[0]
    for more in values[1:]:
        out = out.where(out.notna(), more)
    return out


def build_derived(
    records: pd.DataFrame,
    fields: dict[str, Field],
    derived: dict[str, Derived],
    **kwargs,
) -> Parsed:
    """`build`, plus derived columns: every input that fails is named in the row's reasons
    after the fields' own (so a row still lists every field that failed)."""
    records = records.reset_index(drop=True)
    computed: dict[str, pd.Series] = {}
    failures: list[pd.Series] = []
    for target, spec in derived.items():
        if target not in CANDIDATE_TYPES:
            raise ValueError(f"unknown canonical column '{target}'")
        values = []
        for item in spec.inputs:
            if item.source not in records:
                values.append(pd.Series(np.nan, index=records.index, dtype="float64"))
                continue
            text = records[item.source].astype("str")
            value, failed = item.measure(text)
            if failed.any():
                failures.append(conversion_failures(item.source, text, failed, item.what))
            values.append(value)
        computed[target] = spec.combine(values).astype(CANDIDATE_TYPES[target])

    parsed = build(records, fields, **kwargs)
    numbers_ = records[LINE_NUMBER].to_numpy(dtype="int64")
    candidates = parsed.candidates
    positions = pd.Index(numbers_).get_indexer(candidates[LINE_NUMBER].to_numpy(dtype="int64"))
    for target, values in computed.items():
        candidates[target] = values.iloc[positions].set_axis(candidates.index)
    rejects = parsed.rejects
    if failures:
        reasons = pd.concat(failures).groupby(level=0, sort=True).agg("; ".join)
        reasons.index = numbers_[reasons.index.to_numpy()]
        again = rejects[LINE_NUMBER].isin(reasons.index).to_numpy()
        if again.any():
            more = reasons.reindex(rejects.loc[again, LINE_NUMBER].to_numpy()).to_numpy()
            rejects.loc[again, REASONS] = rejects.loc[again, REASONS] + "; " + more
        bad = candidates[LINE_NUMBER].isin(reasons.index).to_numpy()
        moved = pd.DataFrame(
            {
                LINE_NUMBER: candidates.loc[bad, LINE_NUMBER],
                RAW: candidates.loc[bad, RAW],
                REASONS: reasons.reindex(candidates.loc[bad, LINE_NUMBER].to_numpy())
                .astype("str")
                .to_numpy(),
            }
        )
        rejects = (
            pd.concat([rejects, moved], ignore_index=True)
            .sort_values(LINE_NUMBER, kind="stable")
            .reset_index(drop=True)
        )
        candidates = candidates.loc[~bad].reset_index(drop=True) if bad.any() else candidates
    order = [c for c in candidates if c not in (LINE_NUMBER, RAW)] + [LINE_NUMBER, RAW]
    return Parsed(
        candidates=candidates[order],
        rejects=rejects,
        records_read=parsed.records_read,
        format=parsed.format,
        notes=parsed.notes,
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
) -> Parsed:
    """The common shape of a line-per-record format: split, match one regex, reject what does
    not match ('does not match <expected>', plus `hint` where it has one), prepare the text
    columns, then type them."""
    lines = split_lines(data)
    records, matched = extract_with(lines.texts, regex, fast)
    unmatched = lines.texts[~matched]
    reasons = pd.Series(f"does not match {expected}", index=unmatched.index, dtype="str")
    if hint is not None and len(unmatched):
        extra = hint(unmatched)
        reasons = reasons.where(extra.isna(), reasons + "; " + extra)
    mismatch = rejects_frame(lines.numbers[~matched], unmatched, reasons)
    records = records.loc[matched].reset_index(drop=True)
    records[LINE_NUMBER] = pd.array(lines.numbers[matched], dtype="Int64")
    records[RAW] = lines.texts[matched].reset_index(drop=True)
    records, notes = prepare(records)
    return build_derived(
        records,
        fields,
        derived or {},
        format=format,
        records_read=len(lines.texts) + len(lines.rejects),
        rejects=pd.concat([lines.rejects, mismatch], ignore_index=True),
        notes=notes,
    )


# times ------------------------------------------------------------------------------------------
MONTHS = {
    name: f"{number:02d}"
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
CLF_TIME = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"


_MONTH_NAMES = pa.array(list(MONTHS), pa.large_string())
_MONTH_NUMBERS = pa.array(list(MONTHS.values()), pa.large_string())


def clf_time(text: pd.Series) -> pd.Series:
    """`10/Oct/2000:13:55:36 -0700` to UTC. Rewritten to ISO 8601 by slicing (the layout is
    fixed-width) in Arrow, then read by Arrow's ISO 8601 parser: strptime with %z is several
    times slower."""
    values = pc.utf8_trim_whitespace(arrow_text(text))
    valid = pc.match_substring_regex(values, f"^{CLF_TIME}$").fill_null(False)
    values = pc.if_else(valid, values, pa.scalar(None, pa.large_string()))

    def part(start: int, stop: int) -> pa.ChunkedArray:
        return pc.utf8_slice_codeunits(values, start, stop)

    month = pc.take(_MONTH_NUMBERS, pc.index_in(part(3, 6), value_set=_MONTH_NAMES))

    def lit(value: str) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())

    iso = pc.binary_join_element_wise(
        part(7, 11), lit("-"), month, lit("-"), part(0, 2), lit("T"), part(12, 20),
        part(21, 24), lit(":"), part(24, 26), lit(""),
    )  # fmt: skip
    parsed = _arrow_utc(iso)
    if parsed is None:  # a day or time out of range (32/Oct, 25:00): the slow path names none
        return iso_time(pd.Series(iso.to_pandas(types_mapper=STR_MAPPER), index=text.index))
    return pd.Series(parsed.to_pandas(), index=text.index).astype("datetime64[us, UTC]")


def _arrow_utc(iso: pa.ChunkedArray) -> pa.ChunkedArray | None:
    try:
        return iso.cast(pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        return None


def iso_time(text: pd.Series) -> pd.Series:
    """ISO 8601 to UTC (an offset is applied, a naive time is taken as UTC)."""
    values = pd.to_datetime(text.str.strip(), format="ISO8601", utc=True, errors="coerce")
    return values.dt.as_unit("us")


STATUS = ("an integer status code", as_int("Int16"))
BYTES = ("a whole number of bytes", as_int("Int64"))


# Common and Combined Log Format ---------------------------------------------------------------
COMMON_LAYOUT = r"%h %l %u %t \"%r\" %>s %b"
COMBINED_LAYOUT = r"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\""
TIMING_NOTE = (
    "optionally followed by a request time (seconds like 0.123, or Apache %D microseconds), "
    'an nginx upstream response time, and key=value timings such as rt=0.255 urt="0.193"'
)
REQUEST_TIME_UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001}


def _clf_pattern(*, combined: bool, strict: bool) -> str:
    token = r'[^ "]++'
    time = CLF_TIME if strict else r"[^\]]*+"
    status = r"\d{3}" if strict else token
    size = r"(?:\d+|-)" if strict else token
    head = (
        rf"(?P<client_ip>{token}) {token} (?P<user>{token}) \[(?P<time>{time})\] "
        rf"{request_line()} (?P<status>{status}) (?P<bytes>{size})"
    )
    agent = rf' "{QUOTED}" "{QUOTED}"' if combined else ""
    # key=value pairs may follow the user agent's closing quote without a space: the upstream
    # timing example in nginx's own admin guide concatenates its strings that way
    first_gap = r'(?: |(?<="))' if combined else " "
    tail = (
        rf"(?: (?P<request_time>{NUMBER}|-)(?: (?P<upstream_time>{TIMES}))?)?"
        rf"(?P<pairs>{first_gap}{PAIR}(?: {PAIR})*)?"
    )
    return head + agent + tail


COMMON_RE = re.compile(_clf_pattern(combined=False, strict=False))
COMBINED_RE = re.compile(_clf_pattern(combined=True, strict=False))
COMMON_STRICT = re.compile(_clf_pattern(combined=False, strict=True))
COMBINED_STRICT = re.compile(_clf_pattern(combined=True, strict=True))
RT_PAIR = re.compile(r'(?:^| |")rt=(?:"(?P<v>[^"]*)"|(?P<w>[^ "]*))')
URT_PAIR = re.compile(r'(?:^| |")urt=(?:"(?P<v>[^"]*)"|(?P<w>[^ "]*))')


def looks_like_common(line: str) -> bool:
    return COMMON_STRICT.fullmatch(line) is not None


def looks_like_combined(line: str) -> bool:
    return COMBINED_STRICT.fullmatch(line) is not None


def _prepare_clf(request_time_unit: str):
    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        pairs = records["pairs"].fillna("")
        for key, regex in (("rt", RT_PAIR), ("urt", URT_PAIR)):
            records[key] = pd.Series(pd.NA, index=records.index, dtype="str")
            if pairs.str.contains(f"{key}=", regex=False).any():
                found = pairs.str.extract(regex)
                records[key] = found["v"].where(found["v"].notna(), found["w"]).astype("str")
        notes = ()
        if request_time_unit == "auto":
            times = records["request_time"].str.strip()
            whole = int(times.str.fullmatch(r"\d+").fillna(False).astype(bool).sum())
            if whole:
                lines = f"{whole} line{'s end' if whole > 1 else ' ends'}"
                notes = (
                    f"{lines} in a whole-number request time, read as microseconds (Apache %D); "
                    "set request_time_unit=s for %T or ms for %{ms}T",
                )
        return records, notes

    return prepare


def request_time(unit: str) -> Measure:
    """Request times: in `unit` (s, ms, us), or with unit 'auto' seconds where the value has a
    decimal point (nginx always prints milliseconds: 0.000) and microseconds where it is a
    whole number (Apache %D)."""
    if unit not in ("auto", *REQUEST_TIME_UNITS):
        raise FileFormatError(f"unknown request_time_unit '{unit}'; expected auto, s, ms or us")
    measure = numbers(1.0)

    def convert(text: pd.Series) -> tuple[pd.Series, pd.Series]:
        values, failed = measure(text)
        if unit != "auto":
            return values * REQUEST_TIME_UNITS[unit], failed
        seconds = text.str.contains(".", regex=False).fillna(True).astype(bool)
        return values * np.where(seconds, 1000.0, 0.001), failed

    return convert


CLF_FIELDS = {
    "ts": Field("time", clf_time, "a time like 10/Oct/2000:13:55:36 -0700"),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("user", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
}


def latency(*inputs: Input) -> Derived:
    """latency_ms: per line, the first of `inputs` logged (request times before upstream ones)."""
    return Derived(inputs=inputs, combine=first_logged)


def _clf_latency(request_time_unit: str) -> Derived:
    return latency(
        Input("request_time", request_time(request_time_unit), "a number (request time)"),
        Input("rt", numbers(1000.0), "a number of seconds"),
        Input("upstream_time", number_lists(1000.0), "a number of seconds or a list of them"),
        Input("urt", number_lists(1000.0), "a number of seconds or a list of them"),
    )


def _looks_like(name: str, strict: re.Pattern[str]) -> Callable[[pd.Series], pd.Series]:
    """A hint for lines rejected by one format that another one would take."""

    def hint(texts: pd.Series) -> pd.Series:
        looks = np.fromiter((strict.fullmatch(t) is not None for t in texts), dtype=bool)
        return pd.Series(
            np.where(looks, f"it looks like a {name} line", None), index=texts.index, dtype="str"
        )

    return hint


_NULL_TEXT = pa.scalar(None, pa.large_string())
_REQUEST = re.compile(
    rf"^(?P<method>{METHOD}) (?P<path>[^ \"]+(?: [^ \"]+)*?){HTTP_VERSION}$"
).pattern
_TIME_TOKEN = rf"^(?:{NUMBER}|-)$"


SPLIT_CHUNK = 131_072
"""Lines split at once: bounds the intermediate lists to a few tens of MB."""
_METHOD_TOKEN = rf"^{METHOD}$"
_VERSION_TOKEN = r"^HTTP/\d+(?:\.\d+)?$"


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask.fill_null(False)).as_py())


def _clf_fast(*, combined: bool) -> FastSplit:
    """Common/combined lines split on their quotes and spaces, for lines whose layout leaves
    no choice: no backslash, exactly the format's quotes (2 or 6), single spaces between
    fields, and after the status and size at most one request time. Any other line (escaped
    quotes, key=value timings, upstream timings, a missing field) is left to the regex."""
    quotes = 6 if combined else 2

    def split(lines: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
        backslash = contains_byte(lines.buffers()[2], ord("\\")) if len(lines) else False
        chunks = [
            _clf_chunk(lines.slice(start, SPLIT_CHUNK), quotes, combined, backslash)
            for start in range(0, len(lines), SPLIT_CHUNK)
        ]
        done = np.concatenate([d for _, d in chunks]) if chunks else np.zeros(0, bool)
        columns = {
            name: pa.concat_arrays([c[name] for c, _ in chunks])
            if chunks
            else pa.array([], pa.large_string())
            for name in ("client_ip", "user", "time", "method", "path", "status", "bytes")
            + ("request_time",)
        }
        empty = pa.nulls(int(done.sum()), pa.large_string())
        columns.update(upstream_time=empty, pairs=empty)
        return columns, done

    return split


def _clf_chunk(
    lines: pa.Array, quotes: int, combined: bool, backslash: bool
) -> tuple[dict[str, pa.Array], np.ndarray]:
    parts = pc.split_pattern(lines, '"')
    ok = pc.equal(pc.list_value_length(parts), quotes + 1)
    if backslash:
        ok = pc.and_kleene(ok, pc.invert(pc.match_substring(lines, "\\")))
    if not _all(ok):
        parts = pc.if_else(ok, parts, pa.scalar([""] * (quotes + 1), parts.type))

    head = pc.split_pattern(pc.list_element(parts, 0), " ", max_splits=3)
    four = pc.equal(pc.list_value_length(head), 4)
    if not _all(four):
        ok = pc.and_kleene(ok, four)
        head = pc.if_else(four, head, pa.scalar(["", "", "", ""], head.type))
    client_ip, _ident, user, stamp = (pc.list_element(head, i) for i in range(4))
    for token in (client_ip, _ident, user):
        ok = pc.and_kleene(ok, pc.greater(pc.binary_length(token), 0))
    ok = pc.and_kleene(ok, pc.starts_with(stamp, "["))
    ok = pc.and_kleene(ok, pc.ends_with(stamp, "] "))
    time = pc.utf8_slice_codeunits(stamp, 1, -2)
    ok = pc.and_kleene(ok, pc.invert(pc.match_substring(time, "]")))

    # the request: 'METHOD PATH[ HTTP/x.y]' gives method and path; anything else neither
    request = pc.split_pattern(pc.list_element(parts, 1), " ")
    words = pc.list_value_length(request)
    two, three = pc.equal(words, 2), pc.equal(words, 3)
    ok = pc.and_kleene(ok, pc.less_equal(words, 3))
    padded = pc.if_else(
        pc.or_kleene(two, three),
        request,
        pa.scalar(["", "", ""], request.type),
    )
    first, second = pc.list_element(padded, 0), pc.list_element(padded, 1)
    version = pc.list_element(pc.if_else(three, padded, pa.scalar(["", "", ""], request.type)), 2)
    version_ok = pc.match_substring_regex(version, _VERSION_TOKEN)
    # three words whose last is not a version: the regex's lazy path takes 'a b': leave it
    ok = pc.and_kleene(ok, pc.or_kleene(pc.invert(three), version_ok))
    is_request = pc.and_kleene(
        pc.and_kleene(pc.or_kleene(two, three), pc.match_substring_regex(first, _METHOD_TOKEN)),
        pc.greater(pc.binary_length(second), 0),
    )
    method = pc.if_else(is_request, first, _NULL_TEXT)
    path = pc.if_else(is_request, second, _NULL_TEXT)

    middle = pc.list_element(parts, 2)  # ' STATUS BYTES ' or ' STATUS BYTES[ TIME]'
    if combined:
        ok = pc.and_kleene(ok, pc.ends_with(middle, " "))
        ok = pc.and_kleene(ok, pc.equal(pc.list_element(parts, 4), " "))
        middle = pc.utf8_slice_codeunits(middle, 0, -1)
    ok = pc.and_kleene(ok, pc.starts_with(middle, " "))
    fields = pc.split_pattern(pc.utf8_slice_codeunits(middle, 1), " ")
    count = pc.list_value_length(fields)
    wanted = pc.equal(count, 2) if combined else pc.or_kleene(
        pc.equal(count, 2), pc.equal(count, 3)
    )  # fmt: skip
    if not _all(wanted):
        ok = pc.and_kleene(ok, wanted)
        fields = pc.if_else(wanted, fields, pa.scalar(["", "", ""], fields.type))
    status, size = pc.list_element(fields, 0), pc.list_element(fields, 1)
    ok = pc.and_kleene(ok, pc.greater(pc.binary_length(status), 0))
    ok = pc.and_kleene(ok, pc.greater(pc.binary_length(size), 0))
    if combined:  # after the user agent: nothing, or ' TIME'
        tail = pc.list_element(parts, 6)
        has_time = pc.greater(pc.binary_length(tail), 0)
        ok = pc.and_kleene(ok, pc.or_kleene(pc.invert(has_time), pc.starts_with(tail, " ")))
        request_time = pc.if_else(has_time, pc.utf8_slice_codeunits(tail, 1), _NULL_TEXT)
    else:
        has_time = pc.equal(count, 3)
        third = pc.list_element(
            pc.if_else(has_time, fields, pa.scalar(["", "", ""], fields.type)), 2
        )
        request_time = pc.if_else(has_time, third, _NULL_TEXT)
    valid_time = pc.match_substring_regex(request_time, _TIME_TOKEN)
    ok = pc.and_kleene(ok, pc.or_kleene(pc.invert(has_time), valid_time))
    done = ok.fill_null(False).to_numpy(zero_copy_only=False)
    columns = {
        "client_ip": client_ip,
        "user": user,
        "time": time,
        "method": method,
        "path": path,
        "status": status,
        "bytes": size,
        "request_time": request_time,
    }
    if not done.all():
        keep = pa.array(done)
        columns = {name: pc.filter(values, keep) for name, values in columns.items()}
    return {name: values.cast(pa.large_string()) for name, values in columns.items()}, done


def parse_common(data: bytes, *, request_time_unit: str = "auto") -> Parsed:
    """Common Log Format lines (`%h %l %u %t "%r" %>s %b`), optionally followed by timings as
    `parse_combined` describes."""
    return parse_lines(
        data,
        COMMON_RE,
        format="common",
        expected=f"the common log format: expected `{COMMON_LAYOUT}`, {TIMING_NOTE}",
        prepare=_prepare_clf(request_time_unit),
        fields=CLF_FIELDS,
        derived={"latency_ms": _clf_latency(request_time_unit)},
        hint=_looks_like("combined log format", COMBINED_STRICT),
        fast=_clf_fast(combined=False),
    )


def parse_combined(data: bytes, *, request_time_unit: str = "auto") -> Parsed:
    """Combined Log Format lines (Common + `"%{Referer}i" "%{User-agent}i"`), optionally
    followed by, in this order:

    - a request time: `0.123` (nginx `$request_time`, seconds) or `1234` (Apache `%D`,
      microseconds): a value with a decimal point is seconds, a whole number microseconds,
      unless `request_time_unit` is s, ms or us;
    - after it, an upstream response time (nginx `$upstream_response_time`: seconds, '-', or a
      list `0.010, 0.120 : 0.003` when several upstreams were tried, summed: the client waited
      for every attempt in turn);
    - `key=value` pairs (`rt=0.255 uct="0.001" uht="0.190" urt="0.193"`): rt is the request
      time and urt the upstream response time, both in seconds; other keys are ignored.

    latency_ms is the request time, or where none was logged, the upstream response time."""
    return parse_lines(
        data,
        COMBINED_RE,
        format="combined",
        expected=f"the combined log format: expected `{COMBINED_LAYOUT}`, {TIMING_NOTE}",
        prepare=_prepare_clf(request_time_unit),
        fields=CLF_FIELDS,
        derived={"latency_ms": _clf_latency(request_time_unit)},
        hint=_looks_like("common log format", COMMON_STRICT),
        fast=_clf_fast(combined=True),
    )


# nginx log_format templates ---------------------------------------------------------------------
TOKEN_VARIABLES = frozenset(
    {
        "remote_addr", "remote_user", "remote_port", "realip_remote_addr", "time_iso8601",
        "msec", "status", "body_bytes_sent", "bytes_sent", "request_time", "request_method",
        "request_uri", "uri", "document_uri", "args", "query_string", "host", "hostname",
        "server_name", "server_addr", "server_port", "server_protocol", "scheme",
        "request_length", "connection", "connection_requests", "request_id", "pipe",
        "ssl_protocol", "ssl_cipher", "gzip_ratio", "proxy_protocol_addr",
    }
)  # fmt: skip
"""Variables whose values never contain a space."""
LIST_VARIABLES = frozenset(
    {
        "upstream_addr", "upstream_status", "upstream_response_time", "upstream_connect_time",
        "upstream_header_time", "upstream_response_length", "upstream_bytes_received",
        "upstream_bytes_sent",
    }
)  # fmt: skip
"""Variables with one value per upstream tried: `a, b : c`."""
UPSTREAM_LIST = r"[^\s,]+(?:(?:, | : )[^\s,]+)*"
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
CONFIG_STRING = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\s+)|(;\s*$)""", re.S)
CONFIG_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}

NGINX_CANONICAL: dict[str, tuple[str, ...]] = {
    # canonical column: the variables it comes from, most precise first (per line, the first
    # one logged wins)
    "ts": ("msec", "time_iso8601", "time_local"),
    "method": ("request_method", "request:method"),
    "path": ("request_uri", "request:path", "uri"),
    "status_code": ("status",),
    "bytes_sent": ("body_bytes_sent", "bytes_sent"),
    "client_ip": ("remote_addr", "http_x_forwarded_for"),
    "user_id": ("remote_user",),
}
NGINX_CONVERTERS: dict[str, tuple[Callable[[pd.Series], pd.Series], str]] = {
    "msec": (as_timestamp(), "epoch seconds like 1700000000.123"),
    "time_iso8601": (iso_time, "an ISO 8601 time"),
    "time_local": (clf_time, "a time like 10/Oct/2000:13:55:36 -0700"),
    "status": STATUS[::-1],
    "body_bytes_sent": BYTES[::-1],
    "bytes_sent": BYTES[::-1],
}


def template_text(template: str) -> str:
    """The log_format template as nginx sees it. Accepts the bare template, the quoted strings
    of the directive (`'$remote_addr - ' '"$request"'`, concatenated as nginx does), or the
    whole directive (`log_format main escape=json '...' '...';`)."""
    text = template.strip()
    directive = re.match(r"log_format\s+[^\s'\"]+\s+", text)
    if directive:
        text = text[directive.end() :]
    escape = re.match(r"escape=\w+\s+", text)
    if escape:
        text = text[escape.end() :]
    if not text.startswith(("'", '"')):
        return text
    pieces, position = [], 0
    while position < len(text):
        part = CONFIG_STRING.match(text, position)
        if part is None:
            raise FileFormatError(
                f"nginx log_format template {template!r}: unexpected {text[position:][:20]!r} "
                "between quoted strings"
            )
        quoted = part.group(1) if part.group(1) is not None else part.group(2)
        if quoted is not None:
            pieces.append(
                re.sub(r"\\(.)", lambda m: CONFIG_ESCAPES.get(m.group(1), m.group(1)), quoted)
            )
        position = part.end()
    return "".join(pieces)


@dataclass(frozen=True)
class NginxTemplate:
    """A compiled nginx log_format: its regex and the group of each variable's first use."""

    template: str
    regex: re.Pattern[str]
    groups: dict[str, str]  # variable (or request:method / request:path) -> regex group


@lru_cache(maxsize=64)
def compile_template(template: str) -> NginxTemplate:
    text = template_text(template)
    parts: list[tuple[str, str]] = []  # ("literal", text) or ("variable", name)
    position = 0
    for found in VARIABLE.finditer(text):
        if found.start() > position:
            parts.append(("literal", text[position : found.start()]))
        parts.append(("variable", found.group(1) or found.group(2)))
        position = found.end()
    if position < len(text):
        parts.append(("literal", text[position:]))
    if not any(kind == "variable" for kind, _ in parts):
        raise FileFormatError(f"nginx log_format template {template!r} has no $variables")

    pattern, groups = [], {}
    for index, (kind, value) in enumerate(parts):
        if kind == "literal":
            pattern.append(re.escape(value))
            continue
        after = parts[index + 1] if index + 1 < len(parts) else None
        quoted = after is not None and after[0] == "literal" and after[1].startswith('"')
        lazy = after is not None and after[0] == "variable"
        group = f"v{index}"
        if value == "request":
            target = r'[^ "]+(?: [^ "]+)*?' if quoted else r"\S+"
            rest = QUOTED if quoted else r".*?"
            body = (
                rf"(?:(?P<{group}_method>{METHOD}) (?P<{group}_path>{target}){HTTP_VERSION}"
                rf"|{rest})"
            )
            groups.setdefault("request:method", f"{group}_method")
            groups.setdefault("request:path", f"{group}_path")
            pattern.append(body)
            continue
        if quoted:
            body = QUOTED
        elif value == "time_local":
            body = r"\S+ \S+"
        elif value in LIST_VARIABLES:
            body = UPSTREAM_LIST
        elif value in TOKEN_VARIABLES:
            body = r"\S*?" if lazy else r"\S*"
        else:
            body = r".*?"
        groups.setdefault(value, group)
        pattern.append(f"(?P<{group}>{body})")
    return NginxTemplate(template=text, regex=re.compile("".join(pattern)), groups=groups)


NGINX_LATENCY = latency(
    Input("request_time", numbers(1000.0), "a number of seconds"),
    Input("upstream_response_time", number_lists(1000.0), "a number of seconds or a list of them"),
)


def _nginx_fields(compiled: NginxTemplate) -> tuple[dict[str, Field], dict[str, list[str]]]:
    """The canonical fields a template can fill, and the variables each one is read from."""
    fields, sources = {}, {}
    for target, candidates in NGINX_CANONICAL.items():
        logged = [v for v in candidates if v in compiled.groups]
        if not logged:
            continue
        if target == "ts":
            logged = logged[:1]  # one clock per file: the most precise one in the template
        convert, what = NGINX_CONVERTERS.get(logged[0], (as_text, "text"))
        fields[target] = Field(logged[0], convert, what)
        sources[logged[0]] = logged
    return fields, sources


def parse_nginx(data: bytes, template: str) -> Parsed:
    """Lines written by nginx with a `log_format` template, mapped onto canonical columns:
    ts from $msec, else $time_iso8601, else $time_local (one clock per template); method from
    $request_method or $request; path from $request_uri, $request, or $uri (+ ?$args);
    status_code from $status; bytes_sent from $body_bytes_sent or $bytes_sent; client_ip from
    $remote_addr or the first address of $http_x_forwarded_for; user_id from $remote_user;
    latency_ms from $request_time or, where that is not logged, $upstream_response_time (a
    list of tries is summed). Where a column has several sources, each line takes the first
    one logged. Every other variable is matched and ignored."""
    compiled = compile_template(template)
    fields, sources = _nginx_fields(compiled)
    by_group = {group: variable for variable, group in compiled.groups.items()}

    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        records = records.rename(columns=by_group)
        if "http_x_forwarded_for" in records:
            forwarded = records["http_x_forwarded_for"].str.split(",").str[0].str.strip()
            records["http_x_forwarded_for"] = forwarded.astype("str")
        args = next((a for a in ("args", "query_string") if a in records), None)
        if "uri" in records and args:
            with_args = present(records[args]) & records["uri"].notna()
            records["uri"] = records["uri"].where(~with_args, records["uri"] + "?" + records[args])
        for first, logged in sources.items():
            column = records[first]
            for other in logged[1:]:
                column = column.where(present(column), records[other])
            records[first] = column
        return records, ()

    return parse_lines(
        data,
        compiled.regex,
        format=f"nginx:{template}",
        expected=f"the nginx log_format: expected `{compiled.template}`",
        prepare=prepare,
        fields=fields,
        derived={"latency_ms": NGINX_LATENCY},
    )


def nginx_format(template: str) -> Format:
    """The format named `nginx:<template>`, for lines written with that nginx `log_format`
    (see `template_text` for the ways to write the template)."""
    compiled = compile_template(template)  # a bad template fails here, before any file is read
    return Format(
        name=f"nginx:{template}",
        parse=lambda data: parse_nginx(data, template),
        looks_like=lambda line: compiled.regex.fullmatch(line) is not None,
        description=f"nginx access log written with log_format '{compiled.template}'",
    )


COMMON = Format(
    "common",
    parse_common,
    looks_like_common,
    f"Apache/nginx Common Log Format `{COMMON_LAYOUT}`, {TIMING_NOTE}",
)
COMBINED = Format(
    "combined",
    parse_combined,
    looks_like_combined,
    f"Apache/nginx Combined Log Format `{COMBINED_LAYOUT}`, {TIMING_NOTE}",
)
FORMATS: list[Format] = [COMMON, COMBINED]
