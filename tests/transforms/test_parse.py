import pandas as pd
import pytest

from transforms.parse import FileFormatError, parse_delimited

HEADER = b"a,b,c\n"


def test_records_keep_line_numbers_and_raw_text():
    parsed = parse_delimited(HEADER + b"1,2,3\n\n4,5,6\n")
    assert parsed.header == ("a", "b", "c")
    assert parsed.records_read == 2
    assert parsed.records["line_number"].tolist() == [2, 4]
    assert parsed.records["raw"].tolist() == ["1,2,3", "4,5,6"]
    assert parsed.records["b"].tolist() == ["2", "5"]
    assert parsed.rejects.empty


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"1,2", "expected 3 fields"),
        (b"1,2,3,4", "expected 3 fields"),
        (b"1,\xff,3", "not valid UTF-8"),
        (b"1,\x00,3", "NUL bytes"),
        (b"a,b,c", "repeated header (first header on line 1)"),
        (b'1,"2,3', "malformed quoting"),
        (b"1;2;3", "expected 3 fields"),
    ],
)
def test_bad_lines_become_rejects_with_a_reason(line, reason):
    parsed = parse_delimited(HEADER + b"1,2,3\n" + line + b"\n7,8,9\n")
    assert parsed.records_read == 3
    assert parsed.records["line_number"].tolist() == [2, 4]
    assert parsed.rejects["line_number"].tolist() == [3]
    assert reason in parsed.rejects["reasons"].iloc[0]
    assert len(parsed.records) + len(parsed.rejects) == parsed.records_read


def test_bom_and_crlf_are_tolerated():
    parsed = parse_delimited(b"\xef\xbb\xbfa,b,c\r\n1,2,3\r\n")
    assert parsed.header == ("a", "b", "c")
    assert parsed.records["c"].tolist() == ["3"]
    assert parsed.records["raw"].tolist() == ["1,2,3"]


def test_tab_delimited():
    parsed = parse_delimited(b"a\tb\n1\t2\n", delimiter="\t")
    assert parsed.records["b"].tolist() == ["2"]


def test_header_only_and_empty_files_have_no_records():
    assert parse_delimited(HEADER).records_read == 0
    empty = parse_delimited(b"")
    assert empty.records_read == 0 and empty.header == ()


def test_undecodable_header_is_a_file_error():
    with pytest.raises(FileFormatError, match="line 1: header is not valid UTF-8"):
        parse_delimited(b"a,\xff\n1,2\n")


def test_records_are_strings():
    parsed = parse_delimited(HEADER + b"1,2,3\n")
    assert all(pd.api.types.is_string_dtype(parsed.records[c]) for c in ("a", "b", "c"))
