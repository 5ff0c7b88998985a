"""W3C extended log files (`w3c`): Microsoft IIS, AWS CloudFront and any other writer of the
W3C Extended Log File Format (https://www.w3.org/TR/WD-logfile.html).

The columns are named by `#Fields:` directive lines, and a file may repeat its directives (IIS
writes a new header block each time the service restarts), each block read with its own fields.
Values are separated by spaces (IIS; a space inside a value is written as `+`) or by tabs
(CloudFront); `-` is an empty field. `date` and `time` are UTC. `time-taken` is milliseconds in
IIS and ASP.NET Core (with a fraction there) and seconds with a fraction in CloudFront and the
W3C draft: a file whose time-taken values carry a decimal point is read as seconds unless its
fields name an IIS site or server (`s-sitename`, `s-computername`), else as milliseconds; the
notes say which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.access import BYTES, STATUS, Derived, Input, build_derived, iso_time
from transforms.formats.access.values import first_logged, numbers
from transforms.formats.attributes import COLUMN_PREFIX, prefixed_columns
from transforms.formats.base import (
    LINE_NUMBER,
    RAW,
    STR_MAPPER,
    Field,
    FileFormatError,
    Format,
    Parsed,
    arrow_text,
    as_text,
    contains_byte,
    rejects_frame,
    split_lines,
)

DIRECTIVE = re.compile(r"#(Software|Version|Date|Fields|Remark|Start-Date|End-Date):", re.I)
"""A W3C directive line."""
FIELDS_DIRECTIVE = "#fields:"
LAYOUT = "the W3C extended log format: `#Fields:` names the columns of the lines after it"

# W3C field identifiers -> the text columns the canonical fields are read from
_COLUMNS = {
    "date": "date",
    "time": "time",
    "c-ip": "client_ip",
    "cs-method": "method",
    "cs-uri-stem": "stem",
    "cs-uri-query": "query",
    "cs-uri": "uri",  # the whole URI: HTTP.sys's error log (HTTPERR) logs no stem and query
    "sc-status": "status_code",
    "sc-bytes": "bytes_sent",
    "time-taken": "time_taken",
    "cs-username": "user_id",
}
_ATTRIBUTE_NAMES = {
    "cs(user-agent)": "user_agent",
    "cs(referer)": "referer",
    "cs(referrer)": "referer",
    "s-sitename": "site",
    "cs-host": "host",
    "cs(host)": "host",
    "x-host-header": "host",
    "x-edge-location": "edge_location",
    "x-edge-result-type": "result_type",
}
"""The fields no canonical column reads are kept as attributes: under a common name where one
exists, else under the field's W3C identifier (`sc-substatus`, `s-ip`)."""

_NULL_TEXT = pa.scalar(None, pa.large_string())
W3C_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?$"
"""`date` T `time` as IIS and CloudFront write them."""


def w3c_time(text: pd.Series) -> pd.Series:
    """`date` and `time` joined by T, UTC: read by Arrow when every value has the layout W3C
    writers use, else by the ISO 8601 parser (which names what it cannot read)."""
    values = arrow_text(text)
    if pc.all(pc.match_substring_regex(values, W3C_TIME).fill_null(True)).as_py():
        try:
            parsed = pc.assume_timezone(values.cast(pa.timestamp("us")), "UTC")
        except pa.ArrowInvalid:  # a day or time out of range
            return iso_time(text)
        return pd.Series(parsed.to_pandas(), index=text.index).astype("datetime64[us, UTC]")
    return iso_time(text)


FIELDS = {
    "ts": Field("ts", w3c_time, "a W3C date and time (UTC)"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status_code", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes_sent", BYTES[1], BYTES[0]),
    "user_id": Field("user_id", as_text, "text"),
}


def looks_like_w3c(line: str) -> bool:
    """A file that starts with a W3C directive (`#Software:`, `#Version:`, `#Fields:` ...)."""
    return DIRECTIVE.match(line.strip()) is not None


@dataclass(frozen=True)
class Carried:
    """What the lines of a W3C file's later pieces need from the lines before them: every
    `#Fields:` line so far (its names, lower case, and its line number in the file) and the
    time-taken unit, once a piece had time-taken values (None before)."""

    fields: tuple[tuple[list[str], int], ...] = ()
    seconds: bool | None = None


class PieceReader:
    """Reads a W3C file piece by piece, in file order: each piece with the `#Fields:` lines
    and the time-taken unit of the pieces before it, so the pieces give what the whole file
    gives. A piece with time-taken values in seconds after the file's first ones were read as
    milliseconds raises FileFormatError: the caller then reads the file whole (the unit is
    the file's)."""

    def __init__(self) -> None:
        self.carried = Carried()

    def __call__(self, data: bytes, lines_before: int) -> Parsed:
        parsed, self.carried = parse_w3c_piece(data, self.carried, lines_before)
        return parsed


def _field_lists(texts: pd.Series, numbers_: np.ndarray, lines_before: int):
    """Each `#Fields:` line's names (lower case) and line number in the file, in file order;
    for each line the number of `#Fields:` lines up to it, and which lines are directives."""
    is_directive = texts.str.startswith("#").fillna(False).to_numpy(dtype=bool)
    is_fields = (texts.str.slice(0, 8).str.lower() == FIELDS_DIRECTIVE).to_numpy(dtype=bool)
    lists = [
        (
            [name.lower() for name in texts.iloc[row].split(":", 1)[1].split()],
            int(numbers_[row]) + lines_before,
        )
        for row in np.flatnonzero(is_fields)
    ]
    return lists, np.cumsum(is_fields), is_directive


def _split(lines: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each line's values: tab-separated where the line has a tab, else space-separated."""
    if not any(contains_byte(chunk.buffers()[2] or b"", 9) for chunk in lines.chunks):
        return pc.split_pattern(lines, " ")
    has_tab = pc.match_substring(lines, "\t")
    tabbed = pc.split_pattern(lines, "\t")
    if pc.all(has_tab).as_py():
        return tabbed
    return pc.if_else(has_tab, tabbed, pc.split_pattern(lines, " "))


def _choose_fields(counts: np.ndarray, block: np.ndarray, lists) -> np.ndarray:
    """The `#Fields:` line (1-based number among them) each data line is read with: its own
    block's when the line has as many values as it names, else the latest one before it with
    that many (a writer that changed its fields without repeating the header), else 0."""
    chosen = np.where(block > 0, block, 0)
    widths = np.array([0] + [len(names) for names, _ in lists])
    wrong = (chosen == 0) | (widths[chosen] != counts)
    for row in np.flatnonzero(wrong):
        same = [k for k in range(block[row], 0, -1) if widths[k] == counts[row]]
        chosen[row] = same[0] if same else 0
    return chosen


MICROSOFT_FIELDS = frozenset({"s-sitename", "s-computername"})
"""Fields only Microsoft's writers log (IIS; ASP.NET Core's W3CLogger, whose default fields
name the server): their time-taken is milliseconds, with a fraction in ASP.NET Core's."""


def _time_taken(
    values: pd.Series, seconds: bool | None, microsoft: bool = False
) -> tuple[Derived, bool]:
    """time-taken in ms: seconds when the file's values carry a decimal point and its fields
    are not a Microsoft writer's (`MICROSOFT_FIELDS`), else ms (`seconds`: what the file's
    earlier values decided)."""
    decimal = not microsoft and bool(values.str.contains(".", regex=False).fillna(False).any())
    if seconds is False and decimal:
        raise FileFormatError(
            "time-taken values with a decimal point (seconds) after whole ones (milliseconds)"
        )
    seconds = decimal or bool(seconds)
    factor, unit = (1000.0, "seconds") if seconds else (1.0, "milliseconds")
    derived = Derived(
        inputs=(Input("time_taken", numbers(factor), f"a number of {unit}"),),
        combine=first_logged,
    )
    return derived, seconds


def parse_w3c(data: bytes) -> Parsed:
    """W3C extended log lines, each block of lines read with the `#Fields:` line before it.
    ts is `date` and `time` (UTC); path is cs-uri-stem with `?` cs-uri-query when there is a
    query; status_code sc-status; bytes_sent sc-bytes; client_ip c-ip; user_id cs-username;
    latency_ms time-taken (module docstring for its unit). `+` in a value is a space in IIS
    (in the user agent); the path keeps what was logged. Lines before any `#Fields:` line, and
    lines with more or fewer values than their fields, are rejected with the reason."""
    return parse_w3c_piece(data, Carried(), 0)[0]


ANSI = "cp1252"
"""What a W3C line that is not UTF-8 is read as: the ANSI code page of Western Windows
systems, which IIS writes its logs in when `logInUTF8` is off (IIS 6, or configured)."""


def parse_w3c_piece(data: bytes, carried: Carried, lines_before: int) -> tuple[Parsed, Carried]:
    """`parse_w3c` of a piece of a file that has `lines_before` lines before it (line numbers
    stay the piece's own, as every parser's), with what those lines carried; returns what
    this piece carries to the next."""
    lines = split_lines(data, fallback=ANSI)
    texts = lines.texts
    own, own_block, is_directive = _field_lists(texts, lines.numbers, lines_before)
    lists = [*carried.fields, *own]
    block = own_block + len(carried.fields)
    data_rows = np.flatnonzero(~is_directive)
    text_array = arrow_text(texts)
    if len(data_rows) and data_rows[-1] - data_rows[0] + 1 == len(data_rows):  # one run
        values = _split(text_array.slice(data_rows[0], len(data_rows)))
    else:
        values = _split(text_array.take(pa.array(data_rows)))
    counts = pc.list_value_length(values).to_numpy(zero_copy_only=False).astype("int64")
    chosen = _choose_fields(counts, block[data_rows], lists)
    frames: list[pd.DataFrame] = []
    reject_parts = [lines.rejects]
    # a #Fields: line without both date and time gives its lines no timestamp
    timeless = np.array([0] + [not {"date", "time"} <= set(names) for names, _ in lists])
    untimed = (chosen > 0) & (timeless[chosen] == 1)
    unread = (chosen == 0) | untimed
    if unread.any():
        rows = data_rows[unread]
        reasons = [
            f"the #Fields: line {lists[number - 1][1]} names no date and time; expected {LAYOUT}"
            if number
            else f"no #Fields: line before it; expected {LAYOUT}"
            if block[row] == 0
            else f"the line has {count} values, the #Fields: line {lists[block[row] - 1][1]} "
            f"names {len(lists[block[row] - 1][0])}"
            for row, count, number in zip(rows, counts[unread], chosen[unread], strict=True)
        ]
        reject_parts.append(rejects_frame(lines.numbers[rows], texts.iloc[rows], reasons))
    for number in np.unique(chosen[~unread]):
        names = lists[number - 1][0]
        mine = chosen == number
        rows = data_rows[mine]
        block_values = values if mine.all() else values.filter(pa.array(mine))
        records = pd.DataFrame(index=texts.index[rows])
        for position, name in enumerate(names):
            column = _COLUMNS.get(name, f"{COLUMN_PREFIX}{_ATTRIBUTE_NAMES.get(name, name)}")
            if column not in records:
                column_values = pc.list_element(block_values, position)
                column_values = pc.if_else(  # '-' is an empty field
                    pc.equal(column_values, "-"), _NULL_TEXT, column_values
                )
                records[column] = column_values.to_pandas(types_mapper=STR_MAPPER).set_axis(
                    records.index
                )
        records[LINE_NUMBER] = pd.array(lines.numbers[rows], dtype="Int64")
        records[RAW] = texts.iloc[rows].astype("str")
        frames.append(records)
    del values
    if len(frames) == 1:
        records = frames[0].reset_index(drop=True)
    elif frames:
        records = pd.concat(frames).sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True)
    else:
        records = pd.DataFrame(
            {LINE_NUMBER: pd.array([], dtype="Int64"), RAW: pd.Series([], dtype="str")}
        )
    notes: tuple[str, ...] = ()
    derived: dict[str, Derived] = {}
    seconds = carried.seconds
    if len(records):
        records = _prepare(records)
        if "time_taken" in records:
            microsoft = any(MICROSOFT_FIELDS & set(names) for names, _ in lists)
            derived["latency_ms"], seconds = _time_taken(records["time_taken"], seconds, microsoft)
            notes = (f"time-taken read as {'seconds' if seconds else 'milliseconds'}",)
    if lines.fallen_back:
        notes = (
            *notes,
            f"{lines.fallen_back} of its lines, not valid UTF-8, read as Windows-1252 (IIS "
            "writes its logs in the system's ANSI code page when logInUTF8 is off)",
        )
    rejects = pd.concat(reject_parts, ignore_index=True)
    parsed = build_derived(
        records,
        FIELDS,
        derived,
        format="w3c",
        records_read=len(texts) - int(is_directive.sum()) + len(lines.rejects),
        rejects=rejects,
        notes=notes,
        attributes=prefixed_columns(records),
    )
    return parsed, Carried(fields=tuple(lists), seconds=seconds)


def _prepare(records: pd.DataFrame) -> pd.DataFrame:
    """ts from date and time, path from stem and query ('-' is already null; a query that
    starts with its `?`, as ASP.NET Core's W3C logger writes it, keeps only that one), else
    from cs-uri, the whole URI."""
    if "date" in records and "time" in records:
        records["ts"] = (records["date"] + "T" + records["time"]).astype("str")
    if "stem" in records:
        path = records["stem"]
        if "query" in records:
            query = records["query"].str.replace(r"^\?", "", regex=True)
            path = path.where(query.isna(), path + "?" + query)
        records["path"] = path.astype("str")
    if "uri" in records:
        uri = records.pop("uri").astype("str")
        records["path"] = records["path"].fillna(uri) if "path" in records else uri
    return records


W3C = Format(
    "w3c",
    parse_w3c,
    looks_like_w3c,
    "W3C extended log files: IIS, CloudFront and others, columns from `#Fields:` lines",
)
FORMATS: list[Format] = [W3C]
