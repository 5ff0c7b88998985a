"""A landing file's bytes as the formats read them: decompressed (gzip, bzip2, xz, zstd, a zip
of one file), decoded to UTF-8 (a UTF-16 or UTF-32 file with its byte order mark, or a source's
`encoding`), without the NUL bytes `copytruncate` leaves before the first line, and, for a log
platform's export, as its lines: a JSON document of records as JSON lines, a CSV export's
column of log lines as those lines. Each is found by the bytes themselves, whatever the file's
name, and named in the file's notes; a file that is no log (a workbook, a PDF, Parquet) is
refused in one sentence naming what it is."""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import zipfile
import zlib

import numpy as np
import orjson
import pyarrow as pa

from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.delimited import mapping_for
from transforms.formats.jsonl.keys import DEFAULT_KEYS
from transforms.formats.prefixes import strip_prefix

UTF8 = "utf-8"


def _zstd(data: bytes) -> bytes:
    return pa.input_stream(pa.BufferReader(data), compression="zstd").read()


OFFICE = (
    ("xl/", "an Excel workbook (.xlsx), not a log file: save the sheet as CSV"),
    ("word/", "a Word document (.docx), not a log file"),
    ("ppt/", "a PowerPoint presentation (.pptx), not a log file"),
)


def _one_file_of_zip(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        names = {m.filename for m in members}
        if "[Content_Types].xml" in names:
            for folder, what in OFFICE:
                if any(name.startswith(folder) for name in names):
                    raise FileFormatError(what)
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:3])
            more = f" and {len(members) - 3} more" if len(members) > 3 else ""
            held = f"{len(members)} files ({names}{more})" if members else "no file"
            raise FileFormatError(
                f"a zip archive of {held}: expected one log file, unzip it into the landing folder"
            )
        return archive.read(members[0])


def _is_bzip2(data: bytes) -> bool:
    # "BZh", the block size, then the magic of a first block or of an empty stream's end
    return (
        data[:3] == b"BZh"
        and data[3:4] in (b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9")
        and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90")
    )


COMPRESSIONS = (
    ("gzip", lambda d: d[:2] == b"\x1f\x8b", gzip.decompress),
    ("bzip2", _is_bzip2, bz2.decompress),
    ("xz", lambda d: d[:6] == b"\xfd7zXZ\x00", lzma.decompress),
    ("zstd", lambda d: d[:4] == b"\x28\xb5\x2f\xfd", _zstd),
    ("zip", lambda d: d[:4] in (b"PK\x03\x04", b"PK\x05\x06"), _one_file_of_zip),
)
"""(name, whether bytes start as its data do, decompress): the codecs logrotate, journald and
log exports use."""

_CORRUPT = (
    EOFError,
    OSError,
    ValueError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,  # an encrypted zip member
    pa.ArrowException,
)


def decompress(data: bytes) -> tuple[bytes, list[str]]:
    """The bytes inside a compressed file (a compressed file inside one too), with a note per
    codec; bytes that are not compressed as they are."""
    notes: list[str] = []
    for _ in range(3):
        found = next((c for c in COMPRESSIONS if c[1](data)), None)
        if found is None:
            break
        name, _, expand = found
        try:
            data = expand(data)
        except FileFormatError:
            raise
        except _CORRUPT as exc:
            raise FileFormatError(f"{name} data is truncated or corrupt ({exc})") from None
        notes.append(f"{name}-compressed")
    if data[257:262] == b"ustar":
        raise FileFormatError(
            "a tar archive: expected one log file, unpack it into the landing folder"
        )
    for magic, what in DOCUMENTS:
        if data.startswith(magic):
            raise FileFormatError(what)
    return data, notes


DOCUMENTS = (
    (b"PAR1", "a Parquet file, not a log file: export it as CSV or JSON lines"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an Office 97-2003 document (an .xls workbook, say), not a log file: save the sheet as CSV",
    ),
    (b"%PDF-", "a PDF document, not a log file"),
    (b"SQLite format 3\x00", "an SQLite database, not a log file"),
)
"""Binary files that land by mistake, known by their first bytes: each named in one sentence."""


BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
)
"""Longest first: UTF-32LE's mark starts as UTF-16LE's does."""


def as_utf8(data: bytes, encoding: str = UTF8) -> tuple[bytes, list[str]]:
    """UTF-8 bytes of a file: one with a UTF-16 or UTF-32 byte order mark (what Windows
    PowerShell's `>` and `Out-File` write) is decoded by it; else, with an `encoding` other
    than UTF-8, by that encoding. Bytes the encoding cannot decode stay as they were, so the
    lines holding them are quarantined as not valid UTF-8, not lost."""
    for mark, codec, name in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            body = data[len(mark) :]
            if codec.startswith("utf-32"):  # or UTF-16LE text whose first character is NUL
                try:
                    text = body.decode(codec)
                except UnicodeDecodeError:
                    continue
            else:
                text = body.decode(codec, "backslashreplace")
            return text.encode(UTF8), [f"{name} (byte order mark), read as UTF-8"]
    if codecs.lookup(encoding).name == codecs.lookup(UTF8).name:
        return data, []
    text = data.decode(encoding, "surrogateescape")
    return text.encode(UTF8, "surrogateescape"), [f"decoded from {encoding}"]


_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x1b")


def _text(head: bytes) -> bool:
    """Whether bytes hold no control character a log line holds (tabs, line ends and the
    escapes of ANSI colours aside)."""
    return head.translate(None, _CONTROL) == head


def without_nul_padding(data: bytes) -> tuple[bytes, list[str]]:
    """A file whose first bytes are NUL (the hole `copytruncate` leaves when the program
    writing the log keeps its file offset after the copy) without them, when text follows
    them: they hold no line. Other files are left as they are (binary data starting with a
    NUL byte, a file of NUL bytes only)."""
    if data[:1] != b"\x00":
        return data, []
    array = np.frombuffer(data, np.uint8)
    block = 1 << 20
    for start in range(0, len(array), block):
        found = np.flatnonzero(array[start : start + block])
        if len(found):
            skipped = start + int(found[0])
            if not _text(data[skipped : skipped + 4096]):
                return data, []
            note = (
                f"{skipped:,} NUL bytes before the first line skipped (what copytruncate leaves "
                "when the program writing the log keeps its offset)"
            )
            return data[skipped:], [note]
    return data, []


TIME_KEYS = frozenset(spec.path for spec in DEFAULT_KEYS["ts"])
"""Keys of a record's time: an object with one is a record, not an envelope of records."""
ENVELOPE_DEPTH = 3
"""Objects passed through to find the array of records (Elasticsearch's `hits.hits`)."""


def json_records(data: bytes, time_keys: frozenset[str] = TIME_KEYS) -> tuple[bytes, list[str]]:
    """JSON lines from a file that is one JSON document holding records, as log platforms'
    command lines and APIs write them: an array of objects (`gcloud logging read
    --format=json`, `az monitor log-analytics query`), an object holding one array of objects
    (`aws logs filter-log-events`' `events`, an API's `data` or `results`, Elasticsearch's
    `hits.hits`), or objects printed one after another over several lines each (`jq .`).
    Each record becomes a line, in order; an Elasticsearch hit is its `_source`, a JSON:API
    resource its `attributes`. An object with a time key of its own (`time_keys`) is a
    record, not an envelope. Files that are JSON lines already, or hold anything else, are
    left as they are (the jsonl format says why it cannot read them)."""
    head = data[: 1 << 16].lstrip(b" \t\r\n\xef\xbb\xbf")
    if head[:1] not in (b"[", b"{"):
        return data, []
    start = min(len(data), 1 << 16) - len(head)
    stop = data.find(b"\n", start)
    if head[:1] == b"{" and stop >= 0 and data[stop : stop + (1 << 16)].strip():  # more lines
        try:
            orjson.loads(data[start:stop])
            return data, []  # JSON lines
        except orjson.JSONDecodeError:
            pass
    try:
        values = [orjson.loads(data.removeprefix(codecs.BOM_UTF8))]
    except orjson.JSONDecodeError:
        if data[start:stop].strip() != b"{":  # objects printed over lines open with `{` alone
            return data, []
        values = _concatenated(data.removeprefix(codecs.BOM_UTF8).decode(UTF8, "replace"))
        if values is None or len(values) < 2:
            return data, []
    if len(values) == 1:
        found = _records_in(values[0], time_keys)
        if found is None:
            return data, []
        records, where = found
    else:
        if not all(type(v) is dict for v in values):
            return data, []
        records, where = values, "JSON objects printed over several lines each"
    records = [_unwrapped(r) for r in records]
    lines = b"\n".join(_dumped(r) for r in records) + b"\n"
    count = f"{len(records)} record{'s' if len(records) != 1 else ''}"
    note = f"{where}: {count}, read one a line (line numbers count the records)"
    return lines, [note]


def _dumped(record: dict) -> bytes:
    """A record as one line of JSON (by the standard library where orjson cannot write it: a
    whole number beyond 64 bits)."""
    try:
        return orjson.dumps(record)
    except orjson.JSONEncodeError:
        return json.dumps(record, ensure_ascii=False).encode(UTF8, "surrogatepass")


def _records_in(value: object, time_keys: frozenset[str]) -> tuple[list[dict], str] | None:
    if type(value) is list:
        if value and all(type(v) is dict for v in value):
            return value, "a JSON array of objects"
        return None
    path = []
    for _ in range(ENVELOPE_DEPTH):
        if type(value) is not dict or time_keys & value.keys():
            return None
        arrays = {k: v for k, v in value.items() if type(v) is list and v}
        records = {k: v for k, v in arrays.items() if all(type(x) is dict for x in v)}
        if len(records) == 1:
            key, found = next(iter(records.items()))
            return found, f"a JSON object holding its records in `{'.'.join([*path, key])}`"
        nested = [k for k, v in value.items() if type(v) is dict]
        if records or len(nested) != 1:
            return None
        path.append(nested[0])
        value = value[nested[0]]
    return None


def _unwrapped(record: dict) -> dict:
    source = record.get("_source")
    if type(source) is dict:  # an Elasticsearch/OpenSearch hit
        return source
    attributes = record.get("attributes")
    if type(attributes) is dict and "type" in record and "id" in record:  # JSON:API
        own = attributes.get("attributes")
        if type(own) is dict:  # Datadog's log search: the event's own attributes inside
            rest = {k: v for k, v in attributes.items() if k != "attributes"}
            return {**own, **rest}
        return attributes
    return record


def _concatenated(text: str) -> list | None:
    """JSON values written one after another (whitespace between them), or None."""
    decoder = json.JSONDecoder()
    values, at, end = [], 0, len(text)
    while True:
        while at < end and text[at] in " \t\r\n":
            at += 1
        if at == end:
            return values
        try:
            value, at = decoder.raw_decode(text, at)
        except (json.JSONDecodeError, RecursionError):
            return None
        values.append(value)


RAW_COLUMNS = ("_raw", "raw", "message", "@message", "log", "line", "msg")
"""Columns in which log platforms' CSV exports keep each event's line as it was logged:
Splunk's and Sumo Logic's `_raw`, Datadog's `Message`, CloudWatch Logs Insights' `@message`,
Sumo Logic's S3 forwarding `message`, a shipper's `log`, Loki's `line`."""


def raw_column_lines(data: bytes) -> tuple[bytes, list[str]]:
    """A CSV export of log lines as those lines: when the header names a column of
    `RAW_COLUMNS` and no layout the csv format knows, and the column's values are lines of a
    format detection knows (an nginx access line each, say), the file becomes those values,
    one record a line (a value over several lines, a stack trace, stays so). Otherwise the
    file is left as it is."""
    end = data.find(b"\n", 0, 1 << 16)
    first = data[: end if end >= 0 else 1 << 16].removeprefix(codecs.BOM_UTF8).rstrip(b"\r")
    if first[:1] in (b"{", b"[") or not first:
        return data, []
    delimiter = "\t" if first.count(b"\t") > first.count(b",") else ","
    try:
        header = tuple(
            f.strip()
            for f in next(csv.reader([first.decode(UTF8, "replace")], delimiter=delimiter))
        )
    except (csv.Error, StopIteration):
        return data, []
    names = [field.lower() for field in header]
    column = next((names.index(n) for n in RAW_COLUMNS if n in names), None)
    if column is None or len(header) < 2:
        return data, []
    try:
        mapping_for(header, None)
        return data, []  # a layout the csv format reads
    except FileFormatError:
        pass
    text = data.decode(UTF8, "surrogateescape").removeprefix("\ufeff")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return data, []
    if len(rows) < 2:
        return data, []
    lines = [
        row[column] if len(row) == len(header) else delimiter.join(row) for row in rows[1:] if row
    ]
    unwrapped = ("\n".join(lines) + "\n").encode(UTF8, "surrogateescape")
    stripped, _ = strip_prefix(unwrapped)
    try:
        found = registry.detect(stripped)
    except FileFormatError:
        return data, []
    if found in ("csv", "tsv"):
        return data, []
    note = (
        f"a CSV export of log lines: its `{header[column]}` values read as the file's lines "
        "(line numbers count them)"
    )
    return unwrapped, [note]


def readable(data: bytes, encoding: str = UTF8) -> tuple[bytes, list[str]]:
    """`decompress`, `as_utf8`, `without_nul_padding`, `json_records`, then
    `raw_column_lines`, with their notes."""
    data, notes = decompress(data)
    data, decoded = as_utf8(data, encoding)
    data, padded = without_nul_padding(data)
    data, unwrapped = json_records(data)
    data, exported = raw_column_lines(data)
    return data, notes + decoded + padded + unwrapped + exported
