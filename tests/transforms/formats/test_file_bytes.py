import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import zipfile

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.formats.base import FileFormatError
from transforms.formats.file_bytes import (
    as_utf8,
    decompress,
    json_records,
    raw_column_lines,
    readable,
    without_nul_padding,
)
from transforms.reason_codes import reason_code

TEXT = (
    '203.0.113.9 - - [01/Nov/2026:10:00:00 +0000] "GET /café/ü?q=ß HTTP/1.1" 200 512 "-" "curl"\n'
    * 3
).encode()


@pytest.mark.parametrize(
    ("compress", "name"),
    [
        (gzip.compress, "gzip"),
        (bz2.compress, "bzip2"),
        (lzma.compress, "xz"),
        (lambda d: pa.Codec("zstd").compress(d, asbytes=True), "zstd"),
    ],
)
def test_each_codec_is_known_by_its_bytes_and_noted(compress, name):
    assert decompress(compress(TEXT)) == (TEXT, [f"{name}-compressed"])


def test_a_compressed_file_inside_another_is_opened_too():
    assert decompress(gzip.compress(bz2.compress(TEXT))) == (
        TEXT,
        ["gzip-compressed", "bzip2-compressed"],
    )


def test_text_that_starts_like_bzip2_is_text():
    text = b"BZh9 is a bzip2 header, this is a log line\n"
    assert decompress(text) == (text, [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gzip.compress(TEXT * 100)[:-30], "gzip data is truncated or corrupt"),
        (bz2.compress(TEXT * 100)[:-30], "bzip2 data is truncated or corrupt"),
        (lzma.compress(TEXT * 100)[:-30], "xz data is truncated or corrupt"),
        (pa.Codec("zstd").compress(TEXT * 100, asbytes=True)[:-30], "zstd data is truncated"),
        (b"PK\x03\x04" + b"\x00" * 40, "zip data is truncated or corrupt"),
    ],
)
def test_truncated_data_is_one_clear_error(data, message):
    with pytest.raises(FileFormatError, match=message):
        decompress(data)


@pytest.mark.parametrize(
    ("codec", "mark", "name"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16LE"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16BE"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32LE"),
        ("utf-32-be", codecs.BOM_UTF32_BE, "UTF-32BE"),
    ],
)
def test_a_byte_order_mark_decides_the_encoding(codec, mark, name):
    data = mark + TEXT.decode().encode(codec)
    assert as_utf8(data) == (TEXT, [f"{name} (byte order mark), read as UTF-8"])
    assert as_utf8(data, "cp1252")[0] == TEXT  # the mark wins over the setting


def test_a_source_encoding_is_decoded_and_bytes_it_cannot_decode_stay_as_they_were():
    data = TEXT.decode().encode("cp1252")
    assert as_utf8(data) == (data, [])  # UTF-8 by default: the bytes are not touched
    assert as_utf8(data, "cp1252") == (TEXT, ["decoded from cp1252"])
    undefined = data + b"\x81\n"  # no character in Windows-1252
    text, _ = as_utf8(undefined, "cp1252")
    assert text == TEXT + b"\x81\n"


def test_nul_bytes_before_the_first_line_are_skipped_and_noted():
    data, notes = without_nul_padding(b"\x00" * 70_000 + TEXT)
    assert data == TEXT
    assert notes == [
        "70,000 NUL bytes before the first line skipped (what copytruncate leaves when the "
        "program writing the log keeps its offset)"
    ]


@pytest.mark.parametrize(
    "data",
    [b"\x00" * 5000, bytes(range(256)) * 4, TEXT, b"\x00\x00\x07\x08binary\n"],
    ids=["only-nul", "binary", "text", "control-bytes"],
)
def test_other_files_keep_their_bytes(data):
    assert without_nul_padding(data) == (data, [])


def test_readable_applies_all_three_in_order():
    data = gzip.compress(codecs.BOM_UTF16_LE + ("\x00" * 10 + TEXT.decode()).encode("utf-16-le"))
    text, notes = readable(data)
    assert text == TEXT
    assert notes[:2] == ["gzip-compressed", "UTF-16LE (byte order mark), read as UTF-8"]
    assert notes[2].startswith("10 NUL bytes before the first line skipped")


def _zip(names: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, b"<x/>")
    return out.getvalue()


def _parquet() -> bytes:
    out = pa.BufferOutputStream()
    pq.write_table(pa.table({"ts": ["2026-11-01T10:00:00Z"], "path": ["/a"]}), out)
    return out.getvalue().to_pybytes()


@pytest.mark.parametrize(
    ("data", "message", "code"),
    [
        (_zip(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]),
         "an Excel workbook (.xlsx), not a log file: save the sheet as CSV", "not_a_log"),
        (_zip(["[Content_Types].xml", "word/document.xml"]), "a Word document", "not_a_log"),
        (_zip(["a.log", "b.log"]), "a zip archive of 2 files (a.log, b.log)", "archive"),
        (_zip([]), "a zip archive of no file", "archive"),
        (_parquet(), "a Parquet file, not a log file: export it as CSV", "not_a_log"),
        (gzip.compress(_parquet()), "a Parquet file", "not_a_log"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document, not a log file", "not_a_log"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "an Office 97-2003 document", "not_a_log"),
        (b"SQLite format 3\x00" + bytes(84), "an SQLite database, not a log file", "not_a_log"),
    ],
    ids=["xlsx", "docx", "zip-of-two", "empty-zip", "parquet", "gzip-parquet", "pdf", "xls", "sqlite"],
)  # fmt: skip
def test_files_that_are_no_log_are_named_in_one_sentence(data, message, code):
    with pytest.raises(FileFormatError) as raised:
        decompress(data)
    assert message in str(raised.value)
    assert reason_code(str(raised.value)) == code


RECORD = {"timestamp": "2026-11-01T10:00:00Z", "path": "/a", "status": 200}
RECORD2 = {"timestamp": "2026-11-01T10:00:01Z", "path": "/b", "status": 404}
AS_LINES = orjson.dumps(RECORD) + b"\n" + orjson.dumps(RECORD2) + b"\n"


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (json.dumps([RECORD, RECORD2], indent=2), "a JSON array of objects"),
        (json.dumps([RECORD, RECORD2]), "a JSON array of objects"),
        (
            json.dumps({"events": [RECORD, RECORD2], "searchedLogStreams": []}, indent=4),
            "a JSON object holding its records in `events`",
        ),
        (
            json.dumps({"took": 3, "hits": {"total": 2, "hits": [{"_id": "x", "_source": RECORD}, {"_id": "y", "_source": RECORD2}]}}),
            "a JSON object holding its records in `hits.hits`",
        ),
        (
            json.dumps({"data": [{"id": "1", "type": "log", "attributes": RECORD}, {"id": "2", "type": "log", "attributes": RECORD2}]}),
            "a JSON object holding its records in `data`",
        ),
        (
            json.dumps(RECORD, indent=2) + "\n" + json.dumps(RECORD2, indent=2) + "\n",
            "JSON objects printed over several lines each",
        ),
    ],
    ids=["array", "one-line-array", "envelope", "elasticsearch", "json-api", "jq-stream"],
)  # fmt: skip
def test_a_json_document_of_records_becomes_json_lines(document, where):
    lines, notes = json_records(document.encode())
    assert lines == AS_LINES
    assert notes == [f"{where}: 2 records, read one a line (line numbers count the records)"]


def test_datadogs_event_attributes_join_the_record():
    hit = {
        "id": "1",
        "type": "log",
        "attributes": {**RECORD, "attributes": {"http": {"method": "GET"}}},
    }
    lines, _ = json_records(orjson.dumps({"data": [hit]}))
    assert orjson.loads(lines) == {**RECORD, "http": {"method": "GET"}}


@pytest.mark.parametrize(
    "data",
    [
        AS_LINES,
        orjson.dumps(RECORD) + b"\n",  # one record on one line
        orjson.dumps({**RECORD, "spans": [{"a": 1}, {"b": 2}]}) + b"\n",  # a record, not an envelope
        json.dumps(RECORD, indent=2).encode(),  # one record printed over lines: jsonl says so
        b"[1, 2, 3]\n",
        b"[" + orjson.dumps(RECORD) + b"]\n" + AS_LINES,  # an array line among object lines
        b'{"a": 1}\n{"broken": \n',
        b"not json at all\n",
    ],
    ids=["lines", "one-line", "record-with-array", "pretty-record", "numbers", "array-line", "broken", "text"],
)  # fmt: skip
def test_other_files_are_left_as_they_are(data):
    assert json_records(data) == (data, [])


NGINX = '10.0.3.22 - - [16/May/2024:10:21:09 +0000] "GET /static/app.js HTTP/1.1" 200 1128 "-" "Mozilla/5.0 (X11, Linux)"'
NGINX2 = NGINX.replace("10:21:09", "10:21:10").replace("/static/app.js", "/api/cart")


def _csv(header: str, *rows: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (_csv("_raw,_time,host,sourcetype", [NGINX, "2024-05-16T10:21:09.604+0000", "web-01", "access_combined"],
              [NGINX2, "2024-05-16T10:21:10.604+0000", "web-01", "access_combined"]), "_raw"),  # Splunk
        (_csv("Date,Host,Service,Status,Message", ["2024-05-16T10:21:09.604Z", "web", "nginx", "info", NGINX],
              ["2024-05-16T10:21:10.604Z", "web", "nginx", "info", NGINX2]), "Message"),  # Datadog
        (_csv("@timestamp,@message,@logStream", ["2024-05-16 10:21:09.604", NGINX, "s"],
              ["2024-05-16 10:21:10.604", NGINX2, "s"]), "@message"),  # CloudWatch Logs Insights
    ],
    ids=["splunk", "datadog", "cloudwatch-insights"],
)  # fmt: skip
def test_a_csv_export_of_log_lines_is_read_as_those_lines(data, column):
    lines, notes = raw_column_lines(data)
    assert lines == (NGINX + "\n" + NGINX2 + "\n").encode()
    assert notes == [
        f"a CSV export of log lines: its `{column}` values read as the file's lines "
        "(line numbers count them)"
    ]


@pytest.mark.parametrize(
    "data",
    [
        _csv("timestamp,path,status,message", ["2024-05-16T10:21:09Z", "/a", "200", NGINX]),  # csv reads it
        _csv("timestamp,level,message", ["2024-05-16T10:21:09Z", "INFO", "user signed in"],
             ["2024-05-16T10:21:10Z", "INFO", "user signed out"]),  # free text: csv says why not
        b'{"msg": "log line", "time": "2024-05-16T10:21:09Z"}\n' * 3,
        (NGINX + "\n").encode() * 3,
        b"message\n" + (NGINX + "\n").encode(),  # one column: not an export
    ],
    ids=["csv-layout", "free-text", "jsonl", "access-log", "one-column"],
)  # fmt: skip
def test_other_csv_and_log_files_are_left_as_they_are(data):
    assert raw_column_lines(data) == (data, [])


def test_records_orjson_cannot_write_and_nesting_too_deep_to_read():
    big = b'{\n "timestamp": "2026-11-01T10:00:00Z", "n": 99999999999999999999999\n}\n{\n}\n'
    lines, _ = json_records(big)
    assert lines == b'{"timestamp": "2026-11-01T10:00:00Z", "n": 99999999999999999999999}\n{}\n'
    deep = b"{\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n}\n"
    assert json_records(deep) == (deep, [])


MAGIC = [b"", b"\x1f\x8b", b"BZh91AY&SY", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"PK\x03\x04",
         b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00", b"[", b"{\n", b"_raw,_time\n",
         b"PAR1", b"%PDF-"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MAGIC), st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_in_one_sentence(magic, rest):
    try:
        data, notes = readable(magic + rest)
    except FileFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(data, bytes) and all(isinstance(n, str) for n in notes)
