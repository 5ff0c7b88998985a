"""CSV and TSV with a header and any column names, mapped onto canonical columns."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.base import (
    LINE_NUMBER,
    RAW,
    STR_MAPPER,
    Field,
    FileFormatError,
    Parsed,
    as_float,
    as_int,
    as_text,
    as_timestamp,
    build,
    rejects_frame,
    split_lines,
)


@dataclass(frozen=True)
class Column:
    """Where a canonical column comes from in a file: a header name and, for durations and
    times, a unit (latency: ms, s or us; timestamps: auto, or a strptime format)."""

    name: str
    unit: str | None = None


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
REQUIRED = ("ts", "path")
LATENCY_FACTORS = {"ms": 1.0, "s": 1000.0, "us": 0.001}


LAYOUT_HEADERS = {
    "api": "timestamp,endpoint,response_time_ms,status_code,user_id[,service,region]",
    "document-api": "request_id,api_name,TIMESTAMP,latency_ms,status_Code,document_type,region,"
    "device_type,error_reason",
}


def mapping_for(
    header: tuple[str, ...], mapping: ColumnMapping | None
) -> tuple[str, ColumnMapping]:
    """The configured mapping, or the built-in one whose required columns the header has."""
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
        if all(candidate[k].name in header for k in REQUIRED):
            return name, candidate
    raise FileFormatError(
        f"header {','.join(header) or '(empty)'} matches no known layout; expected "
        + " or ".join(LAYOUT_HEADERS.values())
        + ", or a column mapping for this source"
    )


def _fields(mapping: ColumnMapping) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for target, column in mapping.items():
        if target == "ts":
            formats = ("ISO8601",) if column.unit in (None, "auto") else (column.unit,)
            fields[target] = Field(
                column.name, as_timestamp(formats), "a timestamp (ISO 8601 or epoch)"
            )
        elif target == "latency_ms":
            factor = LATENCY_FACTORS.get(column.unit or "ms")
            if factor is None:
                raise FileFormatError(f"unknown latency unit '{column.unit}'; expected ms, s or us")
            fields[target] = Field(column.name, as_float(factor), "a number")
        elif target == "status_code":
            fields[target] = Field(column.name, as_int("Int16"), "an integer status code")
        elif target == "bytes_sent":
            fields[target] = Field(column.name, as_int("Int64"), "a whole number of bytes")
        else:
            fields[target] = Field(column.name, as_text, "text")
    return fields


def parse_delimited(
    data: bytes, *, delimiter: str = ",", mapping: ColumnMapping | None = None, format: str = "csv"
) -> Parsed:
    """Records from a header line and delimited data lines; lines with the wrong number of
    fields, bad quoting, a repeated header, undecodable bytes or NUL bytes are rejected."""
    lines = split_lines(data)
    if not len(lines.texts):
        raise FileFormatError("file is empty: expected a header line")
    header_line = int(lines.numbers[0])
    header_text = lines.texts.iloc[0]
    if lines.rejects[LINE_NUMBER].lt(header_line).any():
        first = lines.rejects.iloc[0]
        raise FileFormatError(f"line {first[LINE_NUMBER]}: header is {first['reasons']}")
    header = tuple(f.strip() for f in next(csv.reader([header_text], delimiter=delimiter)))
    layout, chosen = mapping_for(header, mapping)

    numbers = lines.numbers[1:]
    texts = lines.texts.iloc[1:].reset_index(drop=True)
    records_read = len(texts) + len(lines.rejects)
    columns, ok, reasons = _split_fields(texts, header, delimiter, header_line)
    records = pd.DataFrame(columns)
    records[LINE_NUMBER] = pd.array(numbers[ok], dtype="Int64")
    records[RAW] = texts[ok].reset_index(drop=True)
    bad = ~ok
    split_rejects = rejects_frame(
        numbers[bad], texts[bad], [reasons[i] for i in np.flatnonzero(bad)]
    )
    return build(
        records,
        _fields(chosen),
        format=format,
        records_read=records_read,
        rejects=pd.concat([lines.rejects, split_rejects], ignore_index=True),
        notes=(f"{format} columns mapped with the {layout} layout",),
    )


def _split_fields(
    texts: pd.Series, header: tuple[str, ...], delimiter: str, header_line: int
) -> tuple[dict[str, pd.Series], np.ndarray, dict[int, str]]:
    """Columns of the well-formed lines (in line order), which lines those are, and the reason
    for each other line. Lines without quotes are split by Arrow in one pass; the few quoted
    ones go through the csv module."""
    width = len(header)
    array = pa.array(texts, type=pa.large_string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    header_again = pc.equal(pc.utf8_trim_whitespace(array), delimiter.join(header))
    header_again = header_again.to_numpy(zero_copy_only=False)
    quoted = pc.match_substring(array, '"').to_numpy(zero_copy_only=False)
    lists = pc.split_pattern(array, delimiter)
    counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    simple = ~quoted & (counts == width) & ~header_again
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
            reasons[i] = f"malformed quoting: {exc}"
            continue
        if len(fields) != width:
            reasons[i] = f"expected {width} fields ({delimiter!r}-separated), found {len(fields)}"
            continue
        slow_rows[i] = fields
        ok[i] = True
    fast = pc.filter(lists, pa.array(simple))
    columns = {
        name: pc.list_element(fast, position).to_pandas(types_mapper=STR_MAPPER)
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
