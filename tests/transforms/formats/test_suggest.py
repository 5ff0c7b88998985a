"""The nginx template suggested for an access line no named format reads, and what detection
says when it cannot choose a format: the suggestion must read the user's lines with their
values in the right columns."""

import json
import shlex

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.formats import registry
from transforms.formats.access.nginx import compile_template
from transforms.formats.access.suggest import layout, nearest_template, shell_quoted
from transforms.formats.base import FileFormatError

LINES = {
    "latency before the request": (
        '1.2.3.4 app-7 [10/Oct/2023:13:55:36 +0000] 0.123 "GET /a?x=1 HTTP/1.1" 200 12 "-" '
        '"Mozilla/5.0 (X)" upstream=10.0.0.1:80',
        ("2023-10-10 13:55:36", "GET", "/a?x=1", 200, 12, 123.0, "1.2.3.4"),
        {"upstream_addr": "10.0.0.1:80"},
    ),
    "nginx's timing example": (
        '1.2.3.4 - frank [10/Oct/2023:13:55:36 -0200] "POST /b HTTP/2.0" 201 0 '
        '"https://r.example/" "curl/8" "5.6.7.8" rt=0.005 uct="0.000" uht="0.001" urt="0.004"',
        ("2023-10-10 15:55:36", "POST", "/b", 201, 0, 5.0, "1.2.3.4"),
        {"upstream_connect_time": "0.000", "upstream_header_time": "0.001"},
    ),
    "iso time first, then the address": (
        '[2023-10-10T13:55:36+00:00] 10.0.0.1 "GET /x HTTP/1.1" 404 10 0.002 "curl/8"',
        ("2023-10-10 13:55:36", "GET", "/x", 404, 10, 2.0, "10.0.0.1"),
        {},
    ),
    "method and path apart": (
        "2023-10-10T13:55:36Z 10.0.0.1 DELETE /x/7 204 0 0.003",
        ("2023-10-10 13:55:36", "DELETE", "/x/7", 204, 0, 3.0, "10.0.0.1"),
        {},
    ),
    "a field it cannot name": (
        '10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /a HTTP/1.1" 200 12 "-" "x" blue',
        ("2023-10-10 13:55:36", "GET", "/a", 200, 12, None, "10.0.0.1"),
        {"field_10": "blue"},
    ),
}


@pytest.mark.parametrize("name", LINES)
def test_the_nearest_template_reads_the_line_into_its_columns(name):
    line, (ts, method, path, status, sent, latency, client), attributes = LINES[name]
    template = nearest_template(line)
    assert template is not None
    parsed = registry.parse(((line + "\n") * 2).encode(), f"nginx:{template}")
    assert parsed.rejects.empty
    row = parsed.candidates.iloc[0]
    assert row["ts"] == pd.Timestamp(ts, tz="UTC")
    assert (row["method"], row["path"], row["client_ip"]) == (method, path, client)
    assert (row["status_code"], row["bytes_sent"]) == (status, sent)
    if latency is None:
        assert "latency_ms" not in parsed.candidates or pd.isna(row["latency_ms"])
    else:
        assert row["latency_ms"] == pytest.approx(latency)
    kept = json.loads(row["attributes"]) if isinstance(row.get("attributes"), str) else {}
    assert {key: kept.get(key) for key in attributes} == attributes


@pytest.mark.parametrize(
    "line",
    [
        "hello world",
        '10.0.0.1 - - "GET /a HTTP/1.1" 200 12',  # no time
        "10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] 200 12",  # no request
        "x " * 3000,
    ],
)
def test_no_template_without_a_time_and_a_request_or_for_a_long_line(line):
    assert nearest_template(line) is None


def test_the_layout_is_the_kinds_of_the_fields():
    line = '1.2.3.4 - [t] "GET / HTTP/1.1" 200 rt=0.1 urt="0.2"'
    assert layout(line) == ("_", "_", "[", '"', "_", "rt=", "urt=")
    assert layout(line.replace("0.1", "3")) == layout(line)
    assert layout(line.replace(" 200", ' "200"')) != layout(line)


def test_the_suggestion_is_quoted_for_the_shell():
    template = 'nginx:$remote_addr [$time_local] "$request" it\'s'
    assert shlex.split(f"--format {shell_quoted(template)}") == ["--format", template]


def detection_error(data: bytes) -> str:
    with pytest.raises(FileFormatError) as raised:
        registry.detect(data)
    return str(raised.value)


def test_detection_offers_the_nearest_template_and_it_reads_the_file():
    line = LINES["latency before the request"][0]
    data = "\n".join([line, line.replace("0.123", "0.020"), line]).encode() + b"\n"
    message = detection_error(data)
    assert "3 of the first 3 lines have this line's layout" in message
    argument = message.split("as in --format ", 1)[1].split(" (3 of")[0]
    [fmt] = shlex.split(argument)
    parsed = registry.parse(data, fmt)
    assert parsed.rejects.empty and len(parsed.candidates) == 3
    assert parsed.candidates["latency_ms"].tolist() == [123.0, 20.0, 123.0]


def test_detection_names_the_first_line_the_best_format_cannot_read():
    good = '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET /a HTTP/1.1" 200 12 "-" "x"'
    data = "\n".join([good, "a note someone typed", good, "another one"]).encode() + b"\n"
    message = detection_error(data)
    assert "combined 50%" in message
    assert "combined reads line 1 but not line 2: a note someone typed" in message
    assert "--format combined reads the file as combined" in message
    assert "nginx:" not in message  # the layout is combined's: no template to write
    parsed = registry.parse(data, "combined")
    assert len(parsed.candidates) == 2 and parsed.rejects["line_number"].tolist() == [2, 4]


def test_uvicorns_lines_without_a_time_say_how_to_get_one():
    data = (
        b'INFO:     10.0.0.1:50000 - "GET /api/items/12 HTTP/1.1" 200 OK\n'
        b'INFO:     10.0.0.1:50001 - "POST /api/items HTTP/1.1" 201 Created\n'
    )
    message = detection_error(data)
    assert "uvicorn's access lines, which carry no time" in message
    assert "kubectl logs --timestamps" in message
    stamped = b"".join(
        b"2024-05-26T11:42:5%dZ " % k + line + b"\n" for k, line in enumerate(data.splitlines())
    )
    assert registry.detect(stamped) == "uvicorn"


ACCESS_PIECES = st.sampled_from(
    [
        "1.2.3.4", "-", "frank", "[10/Oct/2023:13:55:36 +0000]", "[2023-10-10T13:55:36Z]",
        '"GET /a?b=1 HTTP/1.1"', '"-"', '"curl/8 (x)"', "200", "404", "12", "0.005",
        'rt="0.1"', "urt=0.2", "x=", "[", '"', "$v", "2023-10-10T13:55:36Z", "GET", "/p",
    ]
)  # fmt: skip


@given(
    st.lists(
        st.one_of(
            ACCESS_PIECES,
            st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8),
        ),
        max_size=14,
    ),
    st.sampled_from(["[10/Oct/2023:13:55:36 +0000]", "2023-10-10T13:55:36Z", "1696946136.123"]),
    st.sampled_from(['"GET /a?b=1 HTTP/1.1"', '"POST /x/7 HTTP/2.0"', "DELETE /x/7"]),
    st.integers(0, 14),
    st.integers(0, 14),
    st.sampled_from([" ", "  ", "\t"]),
)
@settings(max_examples=300, deadline=None)
def test_a_suggested_template_reads_its_own_line_into_a_request(
    pieces, time, request, at_time, at_request, gap
):
    pieces.insert(at_time, time)
    pieces.insert(at_request, request)
    line = gap.join(pieces).strip()
    template = nearest_template(line)  # never raises
    if template is not None:
        assert compile_template(template).regex.fullmatch(line)
        parsed = registry.parse(line.encode() + b"\n", f"nginx:{template}")
        assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
        row = parsed.candidates.iloc[0]
        assert pd.notna(row["ts"]) and pd.notna(row["method"]) and pd.notna(row["path"])
