"""CSV and TSV with a header and any column names, mapped onto canonical columns."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from transforms.formats.base import (
    ARROW_THREADS,
    LINE_NUMBER,
    MISSING,
    RAW,
    REQUEST_LINE,
    STR_MAPPER,
    Converter,
    Field,
    FileFormatError,
    Parsed,
    RawLines,
    arrow_text,
    as_float,
    as_int,
    as_text,
    as_timestamp,
    build,
    clean_lines,
    contains_byte,
    rejects_frame,
    split_lines,
)


@dataclass(frozen=True)
class Column:
    """Where a canonical column comes from in a file: a header name and, for durations and
    times, a unit (latency: ms, s or us; timestamps: auto, or a strptime format)."""

    name: str
    unit: str | None = None
    then: str | None = None
    """A column whose text follows this one's, after a space: the time of a record logged as
    a date and a time in two columns."""

    @property
    def source(self) -> str:
        """The records' column the canonical column is read from (`then` joined to `name`)."""
        return self.name if self.then is None else f"{self.name} {self.then}"


ColumnMapping = Mapping[str, Column]

BUILT_IN_MAPPINGS: dict[str, dict[str, Column]] = {
    # timestamp,endpoint,response_time_ms,status_code,user_id[,service,region]
    "api": {
        "ts": Column("timestamp"),
        "path": Column("endpoint"),
        "latency_ms": Column("response_time_ms", "ms"),
        "status_code": Column("status_code"),
        "user_id": Column("user_id"),
        "service": Column("service"),
        "region": Column("region"),
        "method": Column("method"),
    },
    # request_id,api_name,TIMESTAMP,latency_ms,status_Code,document_type,region,device_type,error_reason
    "document-api": {
        "ts": Column("TIMESTAMP"),
        "path": Column("api_name"),
        "latency_ms": Column("latency_ms", "ms"),
        "status_code": Column("status_Code"),
        "region": Column("region"),
        "device_type": Column("device_type"),
        "error_reason": Column("error_reason"),
    },
}
BUILT_IN_MAPPINGS["k6"] = {
    # k6's `--out csv`: one row per metric sample; a request is its http_req_duration row
    "ts": Column("timestamp"),
    "path": Column("url"),
    "method": Column("method"),
    "status_code": Column("status"),
    "latency_ms": Column("metric_value", "ms"),
}
REQUIRED = ("ts", "path")
LAYOUT_COLUMNS = {"k6": ("metric_name", "metric_value")}
"""Columns a built-in layout's header has besides its required ones."""
K6_REQUEST_METRIC = "http_req_duration"
"""The metric of k6's CSV output whose rows are requests (their durations, in ms); its other
metrics (http_reqs, http_req_blocked, iterations, vus ...) describe the same requests or the
test, and are quarantined as no request."""
LATENCY_FACTORS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "ns": 0.000_001}


LAYOUT_HEADERS = {
    "k6": "metric_name,timestamp,metric_value,...,method,...,status,...,url (k6's --out csv)",
    "api": "timestamp,endpoint,response_time_ms,status_code,user_id[,service,region]",
    "document-api": "request_id,api_name,TIMESTAMP,latency_ms,status_Code,document_type,region,"
    "device_type,error_reason",
}


def _names(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name) for name in names)


DEFAULT_NAMES: dict[str, tuple[Column, ...]] = {
    "ts": _names(
        "timestamp",
        "time",
        "datetime",
        "date_time",
        "@timestamp",
        "_time",  # Splunk
        "ts",
        "event_time",
        "timegenerated",  # Azure Log Analytics (`TimeGenerated [UTC]`)
        "time_micros",  # Google Cloud Storage usage logs (epoch microseconds)
        "start_time",
        "request_timestamp",
        "created_at",
        "time_stamp",
        "received_at",
        "date",  # a date alone, or with a `time` column beside it (`DATE_AND_TIME`)
    ),
    "path": _names(
        "path",
        "endpoint",
        "url",
        "uri",
        "request_uri",
        "request_path",
        "request_url",
        "url_path",  # Elastic (`url.path`)
        "url_original",
        "cs_uri",  # Google Cloud Storage usage logs
        "cs_uri_stem",
        "resourcepath",  # API Gateway
        "route",
        "api_name",
    ),
    "method": _names(
        "method",
        "http_method",
        "httpmethod",
        "request_method",
        "http_request_method",  # Elastic
        "request_verb",  # AWS's Athena table of ALB logs
        "cs_method",
        "verb",
    ),
    "status_code": _names(
        "status_code",
        "status",
        "statuscode",
        "http_status",
        "http_status_code",
        "http_response_status_code",  # Elastic
        "elb_status_code",  # AWS's Athena tables of load balancer logs
        "response_code",
        "responsecode",  # JMeter
        "resultcode",  # Azure Application Insights
        "response_status",
        "sc_status",
    ),
    "bytes_sent": _names(
        "bytes_sent",
        "body_bytes_sent",
        "response_bytes",
        "response_size",
        "http_response_body_bytes",  # Elastic
        "sent_bytes",
        "bytes",
        "sc_bytes",
        "size",
        "bytes_out",
    ),
    "client_ip": _names(
        "client_ip",
        "clientip",
        "c_ip",
        "source_ip",  # Elastic
        "remote_addr",
        "remote_ip",
        "client_addr",
        "ip",
        "client",
    ),
    "user_id": _names("user_id", "userid", "user", "username", "user_name", "cs_username"),
    "service": _names("service", "service_name", "app", "application"),
    "region": _names("region"),
}
"""Column names a csv's header may use for each canonical column, read when no built-in
layout matches and no mapping is configured: matched without regard to case, with `-`, `.`
and spaces as `_`, and without a bracketed note (`TimeGenerated [UTC]`); the first name the
header has wins. The latency is `LATENCY_NAMES`."""
LATENCY_NAMES = (
    ("elapsed", "ms"),  # JMeter's whole response time, where its `Latency` is the first byte's
    ("latency", "ms"),
    ("response_time", "ms"),
    ("responsetime", "ms"),
    ("elapsed_time", "ms"),
    ("time_taken", "ms"),  # IIS
    ("duration", "s"),
    ("request_time", "s"),  # nginx
    ("target_processing_time", "s"),  # AWS's Athena table of ALB logs
)
"""Latency columns by name, each with the unit taken when the name says none; a unit the
name says wins: a suffix (`latency_ms`, `duration_seconds`, `time_taken_micros`,
`DurationMs`) or a bracketed one (`Response Time (ms)`). JMeter's `elapsed` comes before its
`Latency`."""
_UNIT_WORDS = {
    "ms": "ms",
    "msec": "ms",
    "millis": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "seconds": "s",
    "us": "us",
    "µs": "us",
    "micros": "us",
    "microseconds": "us",
    "ns": "ns",
    "nanos": "ns",
    "nanoseconds": "ns",
}
_BRACKETED_UNIT = re.compile(r"\s*[(\[]\s*(\S+?)\s*[)\]]\s*$")
_UNIT_SUFFIX = re.compile(
    r"^(?P<base>.+?)(?:_(?P<unit>" + "|".join(sorted(_UNIT_WORDS, key=len, reverse=True))
    + r")|(?<!_)(?P<ms>ms))$"
)  # fmt: skip
DATE_AND_TIME = ("date", "time")
"""A `date` column and a `time` column (W3C fields exported as CSV, spreadsheets): the time
of a record is both, read together."""
DEFAULT_LAYOUT = "column names"
"""The layout name of a mapping chosen by `DEFAULT_NAMES`."""


def _normal(name: str) -> tuple[str, str | None]:
    """A header name matched against `DEFAULT_NAMES`, and the unit a bracket after it says."""
    unit = None
    bracket = _BRACKETED_UNIT.search(name)
    if bracket:
        unit = _UNIT_WORDS.get(bracket.group(1).lower())
        name = name[: bracket.start()]
    return re.sub(r"[-. ]+", "_", name.strip().lower()).strip("_"), unit


def _latency(names: dict[str, tuple[str, str | None]]) -> Column | None:
    """The latency column of `LATENCY_NAMES` with its unit, or None."""
    found: dict[str, tuple[str, str]] = {}
    for key, (name, bracketed) in names.items():
        if not name:
            continue
        suffix = _UNIT_SUFFIX.match(key)
        if suffix and suffix.group("base") in dict(LATENCY_NAMES):
            unit = "ms" if suffix.group("ms") else _UNIT_WORDS[suffix.group("unit")]
            found.setdefault(suffix.group("base"), (name, bracketed or unit))
        elif key in dict(LATENCY_NAMES):
            found.setdefault(key, (name, bracketed or dict(LATENCY_NAMES)[key]))
    for base, _ in LATENCY_NAMES:
        if base in found:
            name, unit = found[base]
            return Column(name, unit)
    return None


def named_mapping(header: tuple[str, ...]) -> dict[str, Column] | None:
    """The mapping `DEFAULT_NAMES` gives the header, or None when it names no time or no path.
    A column that appears twice in the header is not used (it names no single column)."""
    names: dict[str, tuple[str, str | None]] = {}
    for name in header:
        key, unit = _normal(name)
        names[key] = (name, unit) if key not in names else ("", None)
    chosen: dict[str, Column] = {}
    used: set[str] = set()
    for target, options in DEFAULT_NAMES.items():
        for option in options:
            name = names.get(option.name, ("", None))[0]
            if name and name not in used:
                chosen[target] = Column(name)
                used.add(name)
                break
    date, time = (names.get(k, ("", None))[0] for k in DATE_AND_TIME)
    if date and time and chosen.get("ts") in (Column(date), Column(time)):
        chosen["ts"] = Column(date, then=time)
    latency = _latency({k: v for k, v in names.items() if v[0] not in used})
    if latency is not None:
        chosen["latency_ms"] = latency
    request_time = names.get("request_time", ("", None))[0]
    if "ts" not in chosen and request_time and latency != Column(request_time, "s"):
        chosen = {"ts": Column(request_time), **chosen}  # `Request Time` beside a duration
    return chosen if all(k in chosen for k in REQUIRED) else None


def mapping_note(format: str, layout: str, mapping: ColumnMapping) -> str:
    """What the notes say of the columns read: the layout's name, and for one chosen by
    column names, which column each canonical column came from."""
    if layout != DEFAULT_LAYOUT:
        return f"{format} columns mapped with the {layout} layout"
    return f"{format} columns mapped by their names: " + ", ".join(
        f"{target} <- {column.source}"
        + (
            f" ({column.unit})"
            if target == "latency_ms" and not column.source.endswith(f"({column.unit})")
            else ""
        )
        for target, column in mapping.items()
    )


def mapping_for(
    header: tuple[str, ...], mapping: ColumnMapping | None
) -> tuple[str, ColumnMapping]:
    """The configured mapping, or the built-in one whose required columns the header has, or
    one chosen by the header's column names (`named_mapping`)."""
    if mapping is not None:
        absent = [
            f"{key} (column '{mapping[key].name}')" if key in mapping else key
            for key in REQUIRED
            if key not in mapping or mapping[key].name not in header
        ]
        if absent:
            raise FileFormatError(
                f"the column mapping needs {', '.join(absent)} in the header; "
                f"found {','.join(header) or 'no columns'}"
            )
        return "configured", mapping
    for name, candidate in BUILT_IN_MAPPINGS.items():
        if all(candidate[k].name in header for k in REQUIRED) and all(
            column in header for column in LAYOUT_COLUMNS.get(name, ())
        ):
            return name, candidate
    named = named_mapping(header)
    if named is not None:
        return DEFAULT_LAYOUT, named
    raise FileFormatError(
        f"header {','.join(header) or '(empty)'} matches no known layout; expected "
        + " or ".join(LAYOUT_HEADERS.values())
        + ", or columns named for a time (timestamp, time, ...) and a path (path, endpoint, "
        "url, ...), or a column mapping for this source"
    )


ANSI = "cp1252"
"""What a csv line that is not UTF-8 is read as: the ANSI code page of Western Windows
systems, in which Excel saves "CSV (Comma delimited)"."""
DELIMITERS = (",", ";")
"""What separates a csv's fields: commas, or semicolons as spreadsheets write CSV where the
comma is the decimal separator (there a latency of `12,5` is 12.5)."""
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


def csv_delimiter(data: bytes) -> str:
    """The delimiter of a csv from its header line: a semicolon when the header holds more
    semicolons than commas and tabs, else a comma."""
    end = data.find(b"\n", 0, 1 << 16)
    header = bytes(data[: end if end >= 0 else 1 << 16])
    semicolons = header.count(b";")
    if semicolons and semicolons > header.count(b",") and semicolons > header.count(b"\t"):
        return ";"
    return ","


def _with_decimal_comma(convert: Converter) -> Converter:
    """`convert`, reading `12,5` as 12.5 first."""

    def read(text: pd.Series) -> pd.Series:
        comma = text.str.match(_DECIMAL_COMMA).fillna(False).astype(bool)
        if comma.any():
            text = text.where(~comma, text.str.replace(",", ".", regex=False))
        return convert(text)

    return read


_THOUSANDS = re.compile(r"^\s*\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$")


def _with_thousands(convert: Converter) -> Converter:
    """`convert`, reading a value it fails on that groups its thousands with commas (`1,432`,
    as Kibana's and spreadsheets' exports format numbers) without them."""

    def read(text: pd.Series) -> pd.Series:
        values = convert(text)
        failed = values.isna() & text.notna()
        if failed.any():
            grouped = text[failed].str.match(_THOUSANDS).fillna(False).astype(bool)
            if grouped.any():
                rows = grouped.index[grouped]
                values = values.astype("float64") if values.dtype.kind == "f" else values
                values.loc[rows] = convert(text[rows].str.replace(",", "", regex=False))
        return values

    return read


def _fields(mapping: ColumnMapping, delimiter: str = ",") -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for target, column in mapping.items():
        if target == "ts":
            formats = ("ISO8601",) if column.unit in (None, "auto") else (column.unit,)
            fields[target] = Field(
                column.source,
                as_timestamp(formats),
                "a timestamp (ISO 8601, epoch, or a date and time as spreadsheets write them, "
                "day and month told apart by the file's values; else name the column's format "
                "in the source's mapping)"
                if formats == ("ISO8601",)
                else f"a timestamp like {formats[0]}",
                typed=pa.timestamp("us", "UTC")
                if formats == ("ISO8601",) and column.then is None
                else None,
            )
        elif target == "latency_ms":
            factor = LATENCY_FACTORS.get(column.unit or "ms")
            if factor is None:
                raise FileFormatError(
                    f"unknown latency unit '{column.unit}'; expected ms, s, us or ns"
                )
            fields[target] = Field(
                column.name,
                _with_thousands(as_float(factor))
                if delimiter != ";"
                else _with_decimal_comma(as_float(factor)),
                "a number",
                typed=pa.float64() if factor == 1 else None,
            )
        elif target == "status_code":
            fields[target] = Field(
                column.name, as_int("Int16"), "an integer status code", typed=pa.int16()
            )
        elif target == "bytes_sent":
            fields[target] = Field(
                column.name,
                _with_thousands(as_int("Int64")) if delimiter != ";" else as_int("Int64"),
                "a whole number of bytes",
                typed=pa.int64(),
            )
        else:
            fields[target] = Field(column.name, as_text, "text")
    return fields


def parse_delimited(
    data: bytes, *, delimiter: str = ",", mapping: ColumnMapping | None = None, format: str = "csv"
) -> Parsed:
    """Records from a header line and delimited data lines; lines with the wrong number of
    fields, bad quoting, a repeated header, undecodable bytes or NUL bytes are rejected."""
    clean = read_clean(data, delimiter, mapping)
    if clean is not None:
        header, records, raw_lines, layout, chosen, fields = clean
        records_read = len(records)
        records, metrics = other_metrics(records, layout, raw_lines)
        records = with_joined_columns(unmeasured(records, chosen, layout), chosen)
        records, read_fields, split = with_request_lines(records, fields)
        return build(
            records,
            read_fields,
            format=format,
            records_read=records_read,
            rejects=metrics,
            notes=(mapping_note(format, layout, chosen), *split),
            raw_lines=raw_lines,
            attributes=unmapped(header, fields, chosen),
        )
    lines = split_lines(data, fallback=ANSI)
    if not len(lines.texts):
        raise FileFormatError("file is empty: expected a header line")
    header_line = int(lines.numbers[0])
    header_text = lines.texts.iloc[0]
    if lines.rejects[LINE_NUMBER].lt(header_line).any():
        first = lines.rejects.iloc[0]
        raise FileFormatError(f"line {first[LINE_NUMBER]}: header is {first['reasons']}")
    header = _header_fields(header_text, delimiter, header_line)
    layout, chosen = mapping_for(header, mapping)

    texts, numbers, joined = records_across_lines(
        lines.texts.iloc[1:].reset_index(drop=True), lines.numbers[1:], delimiter, len(header)
    )
    records_read = len(texts) + len(lines.rejects)
    columns, ok, reasons = _split_fields(texts, header, delimiter, header_line)
    records = pd.DataFrame(columns)
    records[LINE_NUMBER] = pd.array(numbers[ok], dtype="Int64")
    records[RAW] = texts if ok.all() else texts[ok].reset_index(drop=True)
    bad = ~ok
    split_rejects = rejects_frame(
        numbers[bad], texts[bad], [reasons[i] for i in np.flatnonzero(bad)]
    )
    fields = _fields(chosen, delimiter)
    notes = [mapping_note(format, layout, chosen)]
    if joined:
        notes.append(
            f"{joined} record{'s' if joined > 1 else ''} with a line break inside a quoted field "
            "read across lines (a record has its first line's number)"
        )
    if lines.fallen_back:
        notes.append(
            f"{lines.fallen_back} of its lines, not valid UTF-8, read as Windows-1252 (the "
            "encoding of a CSV that Excel saves on Windows)"
        )
    records, metrics = other_metrics(records, layout)
    records = with_joined_columns(
        unmeasured(without_null_markers(records, chosen), chosen, layout), chosen
    )
    records, read_fields, split = with_request_lines(records, fields)
    return build(
        records,
        read_fields,
        format=format,
        records_read=records_read,
        rejects=pd.concat([lines.rejects, split_rejects, metrics], ignore_index=True),
        notes=(*notes, *split),
        attributes=unmapped(header, fields, chosen),
    )


JOIN_LIMIT = 100
"""Lines one record may span at most (a quoted field with line breaks in it)."""


def records_across_lines(
    texts: pd.Series, numbers: np.ndarray, delimiter: str, width: int
) -> tuple[pd.Series, np.ndarray, int]:
    """The records of the data lines, where a quoted field holds line breaks (RFC 4180): a line
    whose quotes do not balance goes on over the next lines until they do, if that makes one
    record of `width` fields (else its lines stay apart, each judged alone, so one stray quote
    costs no other line). Each record has its first line's number; also how many records
    were joined."""
    odd = texts.str.count('"').fillna(0).to_numpy() % 2 == 1
    if not odd.any():
        return texts, numbers, 0
    values = texts.tolist()
    out_texts: list[str] = []
    out_numbers: list[int] = []
    joined = 0
    i = 0
    while i < len(values):
        stop = i + 1
        if odd[i]:
            ends = np.flatnonzero(odd[i + 1 : i + JOIN_LIMIT])
            stop = i + 2 + int(ends[0]) if len(ends) else i + 1
        record = "\n".join(values[i:stop])
        if stop > i + 1:
            try:
                fields = next(csv.reader([record], delimiter=delimiter, strict=True))
            except csv.Error:
                fields = []
            if len(fields) != width:
                stop, record = i + 1, values[i]
            else:
                joined += 1
        out_texts.append(record)
        out_numbers.append(int(numbers[i]))
        i = stop
    return pd.Series(out_texts, dtype="str"), np.asarray(out_numbers, dtype="int64"), joined


def _header_fields(text: str, delimiter: str, line: int) -> tuple[str, ...]:
    """The column names of the header line, or a FileFormatError naming what is wrong with it
    (the csv module refuses some lines, e.g. a carriage return outside quotes)."""
    try:
        return tuple(f.strip() for f in next(csv.reader([text], delimiter=delimiter)))
    except csv.Error as exc:
        raise FileFormatError(
            f"line {line}: header cannot be split into column names, {_csv_problem(exc, text)}; "
            f"expected one line of {delimiter!r}-separated names"
        ) from None


def _csv_problem(exc: csv.Error, text: str) -> str:
    """What the csv module found wrong with a line, in the file's terms rather than Python's
    (its message about a stray carriage return speaks of opening files in newline mode)."""
    if "new-line character" in str(exc) and "\r" in text:
        return (
            "a carriage return inside an unquoted field (lines must end in LF or CRLF; "
            "a file with CR-only line ends is one line)"
        )
    return f"malformed quoting: {exc}"


def other_metrics(
    records: pd.DataFrame, layout: str, raw_lines: RawLines | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A k6 file's rows of metrics other than `K6_REQUEST_METRIC`, as rejects that say they
    are no request; the records without them. Other layouts: the records as they are."""
    if layout != "k6" or "metric_name" not in records:
        return records, rejects_frame()
    other = (records["metric_name"] != K6_REQUEST_METRIC).fillna(True).to_numpy(dtype=bool)
    if not other.any():
        return records, rejects_frame()
    numbers = records.loc[other, LINE_NUMBER].to_numpy(dtype="int64")
    raw = records.loc[other, RAW].tolist() if RAW in records else raw_lines(numbers)
    names = records.loc[other, "metric_name"].fillna("").tolist()
    reasons = [
        f"k6's {name} metric, not a request (its requests are its {K6_REQUEST_METRIC} rows)"
        for name in names
    ]
    return records.loc[~other].reset_index(drop=True), rejects_frame(numbers, raw, reasons)


def with_joined_columns(records: pd.DataFrame, mapping: ColumnMapping) -> pd.DataFrame:
    """The records with the text of each column read from two (`Column.then`): the first
    column's text, a space, the second's (null when either is)."""
    for column in mapping.values():
        if column.then is not None and column.name in records and column.then in records:
            first, then = records[column.name].astype("str"), records[column.then].astype("str")
            records[column.source] = (first.str.strip() + " " + then.str.strip()).astype("str")
    return records


REQUEST_SCREEN = 100
"""Values of a path column looked at before all of them are (`with_request_lines`)."""


def with_request_lines(
    records: pd.DataFrame, fields: dict[str, Field]
) -> tuple[pd.DataFrame, dict[str, Field], tuple[str, ...]]:
    """Where no method column is read and every value of the path column is a whole request
    line (`GET /login.php HTTP/1.1`, as a log split into columns keeps it), the method and
    the path are read from it; with the note that says so."""
    spec = fields.get("path")
    if spec is None or "method" in fields or spec.source not in records or not len(records):
        return records, fields, ()
    head = records[spec.source].head(REQUEST_SCREEN).astype("str")
    head = head[head.notna() & (head.str.strip() != "")]
    if len(head) and not bool(head.str.match(REQUEST_LINE).fillna(False).all()):
        return records, fields, ()  # the usual path column: decided by its first values
    values = records[spec.source].astype("str")
    logged = values.notna() & (values.str.strip() != "")
    if not logged.any() or not bool(values[logged].str.match(r"[A-Z][A-Z0-9_-]* ").all()):
        return records, fields, ()
    parts = values.str.extract(REQUEST_LINE)
    if parts["method"][logged].isna().any():
        return records, fields, ()
    method = f"{spec.source} (method)"
    records = records.assign(**{method: parts["method"], spec.source: parts["path"]})
    note = (
        f"{spec.source} holds whole request lines (`{values[logged].iloc[0]}`): method and "
        "path read from them"
    )
    return records, {**fields, "method": Field(method, as_text, "text")}, (note,)


def unmapped(
    header: tuple[str, ...], fields: dict[str, Field], mapping: ColumnMapping | None = None
) -> dict[str, str]:
    """The columns no canonical column is read from, kept as attributes under their header
    names (a name that appears twice, or an empty one, names no single column)."""
    used = {spec.source for spec in fields.values()}
    for column in (mapping or {}).values():
        if column.then is not None:
            used |= {column.name, column.then}
    return {
        name: name
        for name in header
        if name and name not in used and header.count(name) == 1 and name not in (LINE_NUMBER, RAW)
    }


def read_clean(
    data: bytes, delimiter: str, mapping: ColumnMapping | None
) -> tuple[tuple[str, ...], pd.DataFrame, RawLines, str, ColumnMapping, dict[str, Field]] | None:
    """The usual file in one pass, straight from its bytes: a header on line 1, then data lines
    with no quote, carriage return, NUL byte, blank line or repeated header, each with the
    header's number of fields, all valid UTF-8. Records carry no raw column (the lines are
    looked up in `data` for the few that fail later). Timestamps, numbers and status codes are
    typed by the reader itself where every value converts plainly. None for any other file:
    the line-by-line path then finds and names each problem."""
    if contains_byte(data, ord('"')) or contains_byte(data, ord("\r")):  # without the GIL
        return None
    clean = clean_lines(data)
    if clean is None or clean.count < 2:
        return None  # not clean, or a header alone
    header_text = clean.texts(1)[0]
    header = tuple(f.strip() for f in header_text.split(delimiter))
    body = clean.array.slice(1)
    if pc.any(pc.is_in(body, pa.array([header_text + "\n", header_text]))).as_py():
        return None  # the header again
    layout, chosen = mapping_for(header, mapping)
    fields = _fields(chosen, delimiter)
    typed = {
        header.index(f.source): f.typed
        for f in fields.values()
        if f.typed is not None and header.count(f.source) == 1
    }
    view = memoryview(data)[int(clean.offsets[1]) :]
    table = _read_simple(view, len(header), delimiter, typed) if typed else None
    as_text = table is None
    if as_text:  # some value does not convert plainly: all as text
        table = _read_simple(view, len(header), delimiter)
    if table is None or table.num_rows != len(body):
        return None  # a blank line or a line with the wrong number of fields
    records = pd.DataFrame(
        {name: _to_pandas(table.column(position)) for position, name in enumerate(header)}
    )
    if as_text:
        records = without_null_markers(records, chosen)
    records[LINE_NUMBER] = pd.array(np.arange(2, len(body) + 2), dtype="Int64")
    return header, records, clean.lookup, layout, chosen, fields


NULL_MARKERS = ("\\N", "NULL", "null", "N/A", "n/a", "#N/A", "NaN")
"""What databases and spreadsheets write for a missing value (`\\N`: MySQL, PostgreSQL's text
format, ClickHouse), read as not logged in the columns of times and numbers."""


def unmeasured(records: pd.DataFrame, mapping: ColumnMapping, layout: str) -> pd.DataFrame:
    """The records with a latency of -1 not logged, in a file read by its column names: load
    balancers write -1 for a time they could not measure (AWS's ALB and ELB when the target
    did not answer; their logs exported from Athena). A layout or mapping of one's own keeps
    -1 a wrong value."""
    column = mapping.get("latency_ms")
    if layout != DEFAULT_LAYOUT or column is None or column.name not in records:
        return records
    values = records[column.name]
    minus_one = (
        values == -1
        if pd.api.types.is_numeric_dtype(values.dtype)
        else pd.to_numeric(values.str.strip(), errors="coerce") == -1
    )
    if minus_one.fillna(False).any():
        records[column.name] = values.mask(minus_one.fillna(False).astype(bool))
    return records


def without_null_markers(records: pd.DataFrame, mapping: ColumnMapping) -> pd.DataFrame:
    """The records with `NULL_MARKERS` as null in the columns mapped onto times and numbers
    (text keeps them: a user may be named NULL)."""
    for target, column in mapping.items():
        if target not in ("ts", "latency_ms", "status_code", "bytes_sent"):
            continue
        for name in (column.name, column.then):
            if name in records and pd.api.types.is_string_dtype(records[name].dtype):
                values = records[name]
                marked = values.isin(NULL_MARKERS)
                if marked.any():
                    records[name] = values.mask(marked)
    return records


_PANDAS_TYPES = {
    pa.int16(): pd.Int16Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.large_string(): STR_MAPPER(pa.large_string()),
}


def _to_pandas(column: pa.ChunkedArray) -> pd.Series:
    """Text as `str`, whole numbers as nullable integers, times and floats as numpy."""
    return column.to_pandas(types_mapper=_PANDAS_TYPES.get)


def _split_fields(
    texts: pd.Series,
    header: tuple[str, ...],
    delimiter: str,
    header_line: int,
) -> tuple[dict[str, pd.Series], np.ndarray, dict[int, str]]:
    """Columns of the well-formed lines (in line order), which lines those are, and the reason
    for each other line. Lines without quotes go through Arrow's CSV reader in one pass (with
    quoting off, so one line is always one record); the few quoted ones go through the csv
    module."""
    width = len(header)
    array = arrow_text(texts).combine_chunks()
    header_again = _repeated_header(array, delimiter.join(header))
    simple = ~header_again
    quoted = np.zeros(len(array), dtype=bool)
    body = _joined(array, simple)
    if b'"' in body or b"\r" in body:
        # quoted fields (and stray carriage returns, which Arrow would take for line ends)
        # need the csv module, line by line
        quoted = pc.match_substring_regex(array, '["\r]').fill_null(False)
        quoted = quoted.to_numpy(zero_copy_only=False)
        simple &= ~quoted
        body = _joined(array, simple)
    table = _read_simple(body, len(header), delimiter)
    counts = None
    if table is None or table.num_rows != simple.sum():
        # some line has the wrong number of fields: find which
        counts = pc.add(pc.count_substring(array, delimiter), 1).to_numpy(zero_copy_only=False)
        simple &= counts == width
        table = _read_simple(_joined(array, simple), len(header), delimiter)
        if table is None or table.num_rows != simple.sum():
            raise AssertionError("lines with the right number of fields failed to split")
    ok = simple.copy()
    reasons: dict[int, str] = {}
    slow_rows: dict[int, list[str]] = {}
    for i in np.flatnonzero(~simple).tolist():
        if header_again[i]:
            reasons[i] = f"repeated header (first header on line {header_line})"
            continue
        if not quoted[i]:
            reasons[i] = f"expected {width} fields ({delimiter!r}-separated), found {counts[i]}"
            continue
        try:
            fields = next(csv.reader([texts.iat[i]], delimiter=delimiter, strict=True))
        except csv.Error as exc:
            reasons[i] = _csv_problem(exc, texts.iat[i])
            continue
        if len(fields) != width:
            reasons[i] = f"expected {width} fields ({delimiter!r}-separated), found {len(fields)}"
            continue
        slow_rows[i] = fields
        ok[i] = True
    columns = {
        name: table.column(position).to_pandas(types_mapper=STR_MAPPER)
        for position, name in enumerate(header)
    }
    if slow_rows:
        # put the quoted lines back in line order among the simple ones
        order = np.argsort(np.r_[np.flatnonzero(simple), sorted(slow_rows)], kind="stable")
        slow = [slow_rows[i] for i in sorted(slow_rows)]
        for position, name in enumerate(header):
            extra = pd.Series([row[position] for row in slow], dtype="str")
            merged = pd.concat([columns[name], extra], ignore_index=True)
            columns[name] = merged.iloc[order].reset_index(drop=True)
    return columns, ok, reasons


def _repeated_header(lines: pa.Array, header_text: str) -> np.ndarray:
    """Which lines are the header again (surrounding whitespace aside). Only lines with
    whitespace at an end are trimmed to compare: no copy of the other lines."""
    same = pc.equal(lines, header_text)
    padded = pc.or_(
        pc.utf8_is_space(pc.utf8_slice_codeunits(lines, 0, 1)),
        pc.utf8_is_space(pc.utf8_slice_codeunits(lines, -1)),
    )
    if pc.any(padded).as_py():
        at = np.flatnonzero(padded.fill_null(False).to_numpy(zero_copy_only=False))
        trimmed = pc.equal(pc.utf8_trim_whitespace(lines.take(at)), header_text)
        same = same.to_numpy(zero_copy_only=False).copy()
        same[at] |= trimmed.fill_null(False).to_numpy(zero_copy_only=False)
        return same
    return same.fill_null(False).to_numpy(zero_copy_only=False)


def _joined(lines: pa.Array, keep: np.ndarray) -> bytes:
    """The kept lines as one newline-separated buffer."""
    kept = lines if keep.all() else lines.filter(pa.array(keep))
    if not len(kept):
        return b""
    return (
        pc.binary_join(
            pa.LargeListArray.from_arrays(pa.array([0, len(kept)], pa.int64()), kept),
            pa.scalar("\n", pa.large_string()),
        )[0]
        .as_buffer()
        .to_pybytes()
    )


def _read_simple(
    body: bytes | memoryview,
    width: int,
    delimiter: str,
    typed: dict[int, pa.DataType] | None = None,
) -> pa.Table | None:
    """Lines split into `width` text columns by Arrow's CSV reader, quoting off (a quote is an
    ordinary character), or into the `typed` columns' types ('' and '-' null); None if a line
    has the wrong number of fields or a typed value does not convert."""
    names = [f"c{i}" for i in range(width)]  # header names may repeat or be empty
    types = {name: pa.large_string() for name in names}
    types.update({names[position]: kind for position, kind in (typed or {}).items()})
    if not len(body):
        return pa.table({name: pa.array([], pa.large_string()) for name in names})
    try:
        return pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=4 << 20, use_threads=ARROW_THREADS.get()
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=sorted(MISSING),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
