"""reason_code: the kind of each quarantine reason and its field, never its value."""

import pandas as pd
import pyarrow as pa
import pytest

from transforms.reading import CUT_LAST_LINE
from transforms.reason_codes import reason_code, reason_codes
from warehouse.compaction import with_reason_codes


@pytest.mark.parametrize(
    ("reasons", "code"),
    [
        ("status: '2x0' is not an integer status code", "invalid_status"),
        ("status: '999x' is not an integer status code", "invalid_status"),  # same code
        (
            "status: '2x0' is not an integer status code; bytes: '5k' is not a whole number "
            "of bytes",
            "invalid_status;invalid_bytes",
        ),
        ("latency_ms: expected < 86400000, got 90000000.5", "out_of_range_latency_ms"),
        ("ts: expected >= 1990-01-01 00:00:00+00:00, got '1989-12-31'", "out_of_range_ts"),
        ("ts: 2036-11-01T10:00:00Z is in the future (after 2026-11-02T12:00Z)", "future_ts"),
        (
            "endpoint: missing (a request needs a path or endpoint, a log event a level or a message)",
            "missing_endpoint",
        ),
        (
            "does not match the combined log format: expected `%h ...`; it looks like a common "
            "log format line",
            "format_mismatch",
        ),
        ("line 1: could not detect the format of: hello world", "unknown_format"),
        ("expected 7 fields (','-separated), found 3", "field_count"),
        ("not valid UTF-8 (byte 5 of the line)", "invalid_utf8"),
        (
            "not valid UTF-8 (byte 5 of the line: a source whose files are in another encoding "
            "names it in its `encoding` setting)",
            "invalid_utf8",
        ),
        (
            "does not match the combined log format: expected `%h ...`" + CUT_LAST_LINE,
            "format_mismatch",
        ),
        ("gzip data is truncated or corrupt (Compressed file ended)", "corrupt_gzip"),
        ("zstd data is truncated or corrupt (ZSTD decompression failed)", "corrupt_compressed"),
        ("a zip archive of 2 files (a.log, b.log): expected one log file, unzip it", "archive"),
        ("a Parquet file, not a log file: export it as CSV or JSON lines", "not_a_log"),
        ("line contains NUL bytes", "nul_bytes"),
        ("the line has 6 values, the #Fields: line 2 names 5", "w3c_field_count"),
        ("the #Fields: line 1 names no date and time", "w3c_no_time"),
        ("a sentence no rule knows, with 42 and 'x1'", "a_sentence_no_rule_knows"),
    ],
)
def test_each_reason_has_a_code_without_its_value(reasons, code):
    assert reason_code(reasons) == code


def test_codes_group_what_the_reasons_scatter():
    reasons = pd.Series([f"status: '{n}x' is not an integer status code" for n in range(100)])
    assert reasons.nunique() == 100
    assert reason_codes(reasons).unique().tolist() == ["invalid_status"]


def test_quarantine_rows_written_before_the_column_get_their_codes():
    old = pa.table({"reasons": pa.array(["line contains NUL bytes"], pa.large_string())})
    assert with_reason_codes(old).column("reason_code").to_pylist() == ["nul_bytes"]
    mixed = pa.table(
        {
            "reasons": pa.array(["line contains NUL bytes", "file is empty"], pa.large_string()),
            "reason_code": pa.array([None, "empty_file"], pa.large_string()),
        }
    )
    assert with_reason_codes(mixed).column("reason_code").to_pylist() == [
        "nul_bytes",
        "empty_file",
    ]
