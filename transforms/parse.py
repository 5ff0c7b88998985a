"""Parsing landing-file bytes into raw text records, with every unusable line accounted for.

A record is one physical line: log shippers write one event per line, and a quoted field
spanning lines would be a fault worth quarantining rather than guessing around.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pandas as pd

LINE_NUMBER = "line_number"
RAW = "raw"
REASONS = "reasons"


@dataclass(frozen=True)
class ParsedFile:
    """Text records with their line numbers and raw text, plus the lines rejected outright."""

    records: pd.DataFrame  # one str column per header field + line_number + raw
    rejects: pd.DataFrame  # line_number, raw, reasons
    records_read: int  # data lines seen (header and blank lines excluded)
    header: tuple[str, ...]


class FileFormatError(ValueError):
    """The file as a whole cannot be read in the format asked for."""


def rejects_frame(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            LINE_NUMBER: pd.array([r[0] for r in rows], dtype="Int64"),
            RAW: pd.array([r[1] for r in rows], dtype="str"),
            REASONS: pd.array([r[2] for r in rows], dtype="str"),
        }
    )


def _decode(line: bytes) -> tuple[str | None, str | None]:
    if b"\x00" in line:
        return None, "line contains NUL bytes"
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start + 1} of the line)"


def parse_delimited(data: bytes, *, delimiter: str = ",") -> ParsedFile:
    """Splits a delimited text file with a header line into string records.

    Lines with the wrong number of fields, undecodable bytes or NUL bytes become rejects;
    blank lines are skipped and not counted as records.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    header: tuple[str, ...] | None = None
    header_line = 0
    rows: list[list[str]] = []
    numbers: list[int] = []
    raws: list[str] = []
    rejects: list[tuple[int, str, str]] = []
    records_read = 0
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue
        text, problem = _decode(line)
        if header is None:
            if text is None:
                raise FileFormatError(f"line {number}: header is {problem}")
            header = tuple(f.strip() for f in next(csv.reader([text], delimiter=delimiter)))
            header_line = number
            continue
        records_read += 1
        raw = text if text is not None else line.decode("utf-8", errors="backslashreplace")
        if problem:
            rejects.append((number, raw, problem))
            continue
        try:
            fields = next(csv.reader([text], delimiter=delimiter, strict=True))
        except csv.Error as exc:
            rejects.append((number, raw, f"malformed quoting: {exc}"))
            continue
        if tuple(f.strip() for f in fields) == header:
            rejects.append((number, raw, f"repeated header (first header on line {header_line})"))
            continue
        if len(fields) != len(header):
            rejects.append(
                (
                    number,
                    raw,
                    f"expected {len(header)} fields ({delimiter!r}-separated), found {len(fields)}",
                )
            )
            continue
        rows.append(fields)
        numbers.append(number)
        raws.append(raw)
    if header is None:
        header = ()
    records = pd.DataFrame(rows, columns=list(header), dtype="str") if header else pd.DataFrame()
    records[LINE_NUMBER] = pd.array(numbers, dtype="Int64")
    records[RAW] = pd.array(raws, dtype="str")
    return ParsedFile(
        records=records, rejects=rejects_frame(rejects), records_read=records_read, header=header
    )
