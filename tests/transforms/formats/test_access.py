import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from transforms.canonical import canonical_events
from transforms.formats import access, loadbalancer, registry
from transforms.formats.access import (
    nginx_format,
    parse_combined,
    parse_common,
    parse_nginx,
    template_text,
)
from transforms.formats.base import CANDIDATE_TYPES, FileFormatError

FIXTURES = Path(__file__).parent / "fixtures"
NA = None
UTC = "UTC"

# nginx's admin guide example, as written in nginx.conf (its strings concatenate without a space
# between the user agent and rt=)
UPSTREAM_TIME = """log_format upstream_time '$remote_addr - $remote_user [$time_local] '
                         '"$request" $status $body_bytes_sent '
                         '"$http_referer" "$http_user_agent"'
                         'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time"';"""
NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
COLUMNS = (
    "ts",
    "method",
    "path",
    "status_code",
    "latency_ms",
    "bytes_sent",
    "client_ip",
    "user_id",
)


def ts(text):
    return pd.Timestamp(text).tz_convert(UTC)


def rows(parsed) -> list[tuple]:
    frame = parsed.candidates
    out = []
    for _, row in frame.iterrows():
        values = []
        for column in COLUMNS:
            value = row[column] if column in frame else NA
            values.append(NA if pd.isna(value) else value)
        out.append(tuple(values))
    return out


def check_accounting(parsed):
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    for column in parsed.candidates.columns:
        if column in CANDIDATE_TYPES:
            assert str(parsed.candidates[column].dtype) == CANDIDATE_TYPES[column], column


# given -> expected: fixture lines exactly as the servers write them ---------------------------
COMMON_EXPECTED = [
    # ts, method, path, status_code, latency_ms, bytes_sent, client_ip, user_id
    (ts("2000-10-10T20:55:36Z"), "GET", "/apache_pb.gif", 200, NA, 2326, "127.0.0.1", "frank"),
    (ts("2026-11-22T06:01:02Z"), "GET", "/static/app.css", 304, NA, NA, "192.0.2.10", NA),
    (
        ts("2026-11-22T10:32:00Z"),
        "POST",
        "/api/v1/orders?dry_run=1",
        201,
        NA,
        87,
        "2001:db8::1",
        "alice",
    ),
    (ts("2026-11-22T05:31:07Z"), NA, NA, 400, NA, 0, "198.51.100.23", NA),  # nginx: no request
]
COMBINED_EXPECTED = [
    (ts("2000-10-10T20:55:36Z"), "GET", "/apache_pb.gif", 200, NA, 2326, "127.0.0.1", "frank"),
    (
        ts("2026-11-22T05:30:00Z"),
        "GET",
        "/api/v1/users/42?expand=orders",
        200,
        NA,
        512,
        "203.0.113.7",
        NA,
    ),
    (ts("2026-11-22T06:01:02Z"), "GET", "/static/app.css", 304, NA, NA, "192.0.2.10", NA),
    (ts("2026-11-22T05:31:07Z"), NA, NA, 400, NA, 0, "198.51.100.23", NA),
    (ts("2026-11-22T05:31:08Z"), NA, NA, 400, NA, 157, "198.51.100.23", NA),  # TLS to port 80
    (ts("2026-11-22T10:32:00Z"), "POST", "/api/v1/orders", 201, NA, 87, "2001:db8::1", "alice"),
    (ts("2026-11-22T06:01:03Z"), "GET", "/search?q=%22quoted%22", 200, NA, 1043, "192.0.2.10", NA),
]
TIMING_EXPECTED = [
    (ts("2026-11-22T05:30:00Z"), "GET", "/api/v1/users/42", 200, 4.0, 512, "203.0.113.7", NA),
    # the request time wins over the upstream times (0.100 + 0.148)
    (ts("2026-11-22T05:30:01Z"), "GET", "/api/v1/users/43", 502, 250.0, 157, "203.0.113.7", NA),
    (ts("2026-11-22T05:30:02Z"), "GET", "/favicon.ico", 200, 0.0, 318, "203.0.113.7", NA),
    # Apache %D: microseconds
    (ts("2026-11-22T06:01:02Z"), "GET", "/index.html", 200, 1.534, 2326, "192.0.2.10", NA),
]
UPSTREAM_TIME_EXPECTED = [
    (ts("2026-11-22T05:30:00Z"), "GET", "/api/health", 200, 2.0, 2, "192.0.2.1", NA),
    (ts("2026-11-22T05:30:01Z"), "POST", "/api/v1/payments", 502, 3004.0, 157, "192.0.2.1", NA),
    (ts("2026-11-22T05:30:02Z"), "GET", "/static/logo.png", 200, 0.0, 4096, "192.0.2.1", NA),
]


def assert_rows(actual, expected):
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for column, a, b in zip(COLUMNS, got, want, strict=True):
            if column == "latency_ms" and a is not NA and b is not NA:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9), (column, got)
            else:
                assert a == b, (column, got, want)


@pytest.mark.parametrize(
    ("fixture", "parse", "expected"),
    [
        ("access_common.log", parse_common, COMMON_EXPECTED),
        ("access_combined.log", parse_combined, COMBINED_EXPECTED),
        ("access_combined_timing.log", parse_combined, TIMING_EXPECTED),
        ("access_nginx_upstream_time.log", parse_combined, UPSTREAM_TIME_EXPECTED),
        (
            "access_nginx_upstream_time.log",
            lambda data: parse_nginx(data, UPSTREAM_TIME),
            UPSTREAM_TIME_EXPECTED,
        ),
        (
            "access_combined.log",
            lambda data: parse_nginx(data, NGINX_COMBINED),
            COMBINED_EXPECTED,
        ),
    ],
)
def test_fixture_lines_given_expected(fixture, parse, expected):
    data = (FIXTURES / fixture).read_bytes()
    parsed = parse(data)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    check_accounting(parsed)
    assert parsed.candidates["line_number"].tolist() == list(range(1, len(expected) + 1))
    assert parsed.candidates["raw"].tolist() == data.decode().splitlines()
    assert_rows(rows(parsed), expected)


def test_timing_note_names_the_microsecond_reading():
    parsed = parse_combined((FIXTURES / "access_combined_timing.log").read_bytes())
    assert parsed.notes == (
        "1 line ends in a whole-number request time, read as microseconds (Apache %D); set "
        "request_time_unit=s for %T or ms for %{ms}T",
    )


@pytest.mark.parametrize(
    ("unit", "latency"), [("s", 1_534_000.0), ("ms", 1534.0), ("us", 1.534), ("auto", 1.534)]
)
def test_request_time_unit_option(unit, latency):
    line = (FIXTURES / "access_combined_timing.log").read_bytes().splitlines()[-1]
    parsed = parse_combined(line, request_time_unit=unit)
    assert parsed.candidates["latency_ms"].iloc[0] == pytest.approx(latency)


def test_unknown_request_time_unit_is_a_file_error():
    with pytest.raises(FileFormatError, match="unknown request_time_unit 'minutes'"):
        parse_combined(b"", request_time_unit="minutes")


def test_upstream_times_sum_every_try_when_no_request_time():
    base = b'192.0.2.1 - - [22/Nov/2026:05:30:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua" '
    parsed = parse_combined(
        base + b'urt="0.010, 0.020 : 0.030"\n' + base + b"- 0.5, -\n" + base + b"- -, -\n"
    )
    assert parsed.candidates["latency_ms"].tolist()[:2] == pytest.approx([60.0, 500.0])
    assert pd.isna(parsed.candidates["latency_ms"].iloc[2])


# bad lines --------------------------------------------------------------------------------------
GOOD = (FIXTURES / "access_combined.log").read_bytes().splitlines()[1]
ALB_LINE = (FIXTURES / "alb_docs.log").read_bytes().splitlines()[0]
DOES_NOT_MATCH = (
    "does not match the combined log format: expected "
    '`%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\"`'
)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (GOOD[:80], DOES_NOT_MATCH),  # truncated inside the request
        (GOOD.rsplit(b' "', 1)[0], DOES_NOT_MATCH),  # a field short
        (
            GOOD.replace(b"22/Nov/2026:05:30:00", b"31/Nov/2026:05:30:00"),
            "time: '31/Nov/2026:05:30:00 +0000' is not a time like 10/Oct/2000:13:55:36 -0700",
        ),
        (
            GOOD.replace(b"22/Nov/2026", b"2026-11-22"),
            "time: '2026-11-22:05:30:00 +0000' is not a time like",
        ),
        (GOOD.replace(b" 200 ", b" 2x0 "), "status: '2x0' is not an integer status code"),
        (GOOD.replace(b" 512 ", b" 5k "), "bytes: '5k' is not a whole number of bytes"),
        (GOOD + b" rt=fast", "rt: 'fast' is not a number of seconds"),
        (ALB_LINE, DOES_NOT_MATCH),
        (b'{"ts": "2026-11-22T05:30:00Z", "path": "/a"}', DOES_NOT_MATCH),
        (GOOD.replace(b"/api", b"/\x00api"), "line contains NUL bytes"),
        (
            GOOD.replace(b"/api", b"/\xffapi"),
            f"not valid UTF-8 (byte {GOOD.index(b'/api') + 2} of the line",
        ),
    ],
)
def test_bad_lines_are_rejected_with_their_reason(line, reason):
    parsed = parse_combined(GOOD + b"\n" + line + b"\n\n" + GOOD + b"\n")
    check_accounting(parsed)
    assert parsed.records_read == 3
    assert parsed.candidates["line_number"].tolist() == [1, 4]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]


def test_every_failing_field_is_named():
    line = GOOD.replace(b" 200 ", b" 2x0 ").replace(b" 512 ", b" 5k ") + b" rt=fast"
    reasons = parse_combined(line).rejects["reasons"].iloc[0]
    assert reasons == (
        "status: '2x0' is not an integer status code; bytes: '5k' is not a whole number of "
        "bytes; rt: 'fast' is not a number of seconds"
    )


def test_out_of_range_status_is_kept_for_the_canonical_step():
    parsed = parse_combined(GOOD.replace(b" 200 ", b" 999 "))
    assert parsed.rejects.empty and parsed.candidates["status_code"].tolist() == [999]


def test_common_rejects_combined_lines_with_a_hint():
    parsed = parse_common(GOOD)
    assert parsed.rejects["reasons"].iloc[0].endswith("; it looks like a combined log format line")


def test_crlf_bom_and_blank_lines():
    data = b"\xef\xbb\xbf" + GOOD + b"\r\n\r\n" + GOOD + b"\r\n"
    parsed = parse_combined(data)
    assert parsed.records_read == 2 and parsed.rejects.empty
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.candidates["raw"].tolist() == [GOOD.decode()] * 2


RACK = (
    b'127.0.0.1 - - [16/May/2024:10:20:33 +0000] "GET /items?x=1 HTTP/1.1" 200 - 0.0123 \n'
    b'127.0.0.1 - - [16/May/2024:10:20:34 +0000] "POST /items HTTP/1.1" 201 45 0.1050 \n'
)
"""Rack's CommonLogger (Sinatra, Puma without a proxy): its format string ends in a space."""


def test_spaces_after_the_last_field_are_no_field():
    assert registry.detect(RACK) == "common"
    parsed = parse_common(RACK)
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["latency_ms"].tolist() == [12.3, 105.0]  # seconds, as Rack logs them
    assert rows["path"].tolist() == ["/items?x=1", "/items"]
    assert rows["raw"].iloc[0].endswith("0.0123 ")  # the line as written
    combined = parse_combined(GOOD.rstrip(b"\r\n") + b" \t\n")
    assert combined.rejects.empty and len(combined.candidates) == 1


def test_puma_start_up_lines_before_rack_requests_are_no_requests():
    boot = (
        b"[1] Puma starting in cluster mode...\n"
        b'[1] * Puma version: 6.4.2 (ruby 3.3.0-p0) ("The Eagle of Durango")\n'
        b"[1] *   Master PID: 1\n[1] *      Workers: 2\n[1] * Listening on http://0.0.0.0:9292\n"
        b"[1] Use Ctrl-C to stop\n[1] - Worker 0 (PID: 8) booted in 0.01s, phase: 0\n"
    )
    assert registry.detect(boot + RACK) == "common"
    parsed = parse_common(boot + RACK)
    assert len(parsed.candidates) == 2 and len(parsed.rejects) == 7
    assert all(
        r.endswith("(start-up, workers, shutdown), not a request")
        for r in parsed.rejects["reasons"]
    )


def test_empty_file_has_no_records():
    parsed = parse_combined(b"")
    assert parsed.records_read == 0 and parsed.candidates.empty and parsed.rejects.empty


# nginx log_format templates -------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        NGINX_COMBINED,
        f"'{NGINX_COMBINED}'",
        "log_format combined '$remote_addr - $remote_user [$time_local] '\n"
        "                    '\"$request\" $status $body_bytes_sent '\n"
        '                    \'"$http_referer" "$http_user_agent"\';',
        'log_format main escape=default "$remote_addr - $remote_user [$time_local] \\"$request\\"'
        ' $status $body_bytes_sent \\"$http_referer\\" \\"$http_user_agent\\"";',
    ],
)
def test_template_text_reads_nginx_conf_strings(template):
    assert template_text(template) == NGINX_COMBINED


def test_bad_templates_fail_before_any_file_is_read():
    with pytest.raises(FileFormatError, match="has no \\$variables"):
        nginx_format("just text")
    with pytest.raises(FileFormatError, match="unexpected"):
        nginx_format("'$remote_addr' junk '$status'")


def test_nginx_format_is_named_after_its_template():
    fmt = nginx_format(NGINX_COMBINED)
    assert fmt.name == f"nginx:{NGINX_COMBINED}"
    line = (FIXTURES / "access_combined.log").read_text().splitlines()[1]
    assert fmt.looks_like(line) and not fmt.looks_like(line + " 0.1")
    assert fmt.parse(line.encode()).format == f"nginx:{NGINX_COMBINED}"


INGRESS = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] '
    "[$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length "
    "$upstream_response_time $upstream_status $req_id"
)


@pytest.mark.parametrize(
    ("template", "line", "expected"),
    [
        (  # ingress-nginx's default upstreaminfo: unknown variables matched and ignored
            INGRESS,
            '10.244.0.1 - - [22/Nov/2026:05:30:00 +0000] "GET /v1/items?page=2 HTTP/1.1" 200 '
            '1520 "-" "Go-http-client/1.1" 118 0.012 [shop-items-8080] [] 10.244.1.7:8080, '
            "10.244.1.8:8080 0, 1520 0.001, 0.011 502, 200 4f6c0a9e2f0e0b7c",
            (ts("2026-11-22T05:30:00Z"), "GET", "/v1/items?page=2", 200, 12.0, 1520),
        ),
        (  # no $request_time: the upstream tries are summed
            '$remote_addr [$time_iso8601] "$request_method $uri?$args" $status $bytes_sent '
            '"$upstream_response_time" "$http_x_forwarded_for"',
            '10.0.0.5 [2026-11-22T06:30:00+01:00] "PUT /a/b?c=1" 204 180 "0.010, 0.020 : 0.030" '
            '"198.51.100.7, 10.0.0.1"',
            (ts("2026-11-22T05:30:00Z"), "PUT", "/a/b?c=1", 204, 60.0, 180),
        ),
        (  # $msec, $request_method + $uri + $args rebuilt into the path, escape=json
            'log_format j escape=json \'{"t":$msec,"m":"$request_method","u":"$uri",'
            '"a":"$args","s":$status,"b":$body_bytes_sent,"rt":$request_time}\';',
            '{"t":1763789400.250,"m":"GET","u":"/x","a":"q=\\"1\\"","s":200,"b":5,"rt":0.007}',
            (ts("2025-11-22T05:30:00.250Z"), "GET", '/x?q=\\"1\\"', 200, 7.0, 5),
        ),
    ],
)
def test_nginx_templates_given_expected(template, line, expected):
    parsed = parse_nginx(line.encode(), template)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    got = rows(parsed)[0][:6]
    assert got[:4] == expected[:4] and got[5] == expected[5]
    assert got[4] == pytest.approx(expected[4])


def test_nginx_reasons_name_the_variable():
    parsed = parse_nginx(
        b"- [2026-11-22Tnoon] 2x0 0.1x\n", "$remote_addr [$time_iso8601] $status $request_time"
    )
    assert parsed.rejects["reasons"].tolist() == [
        "time_iso8601: '2026-11-22Tnoon' is not an ISO 8601 time; status: '2x0' is not an "
        "integer status code; request_time: '0.1x' is not a number of seconds"
    ]
    mismatch = parse_nginx(b"hello\n", "$remote_addr [$time_iso8601] $status")
    assert mismatch.rejects["reasons"].tolist() == [
        "does not match the nginx log_format: expected `$remote_addr [$time_iso8601] $status`"
    ]


# detection ------------------------------------------------------------------------------------
SAMPLES = [
    *[("common", line) for line in (FIXTURES / "access_common.log").read_text().splitlines()],
    *[("combined", line) for line in (FIXTURES / "access_combined.log").read_text().splitlines()],
    *[
        ("combined", line)
        for name in ("access_combined_timing.log", "access_nginx_upstream_time.log")
        for line in (FIXTURES / name).read_text().splitlines()
    ],
    *[("alb", line) for line in (FIXTURES / "alb_docs.log").read_text().splitlines()],
    *[("alb", line) for line in (FIXTURES / "alb_older_layouts.log").read_text().splitlines()],
    *[("elb", line) for line in (FIXTURES / "elb_docs.log").read_text().splitlines()],
]
MINE = {fmt.name: fmt for fmt in [*access.FORMATS, *loadbalancer.FORMATS]}


@pytest.mark.parametrize(("name", "line"), SAMPLES)
def test_each_sample_line_looks_like_exactly_its_own_format(name, line):
    claimed = [n for n, fmt in MINE.items() if fmt.looks_like(line)]
    # combined reads Common lines too (a file may mix them): detection prefers common there
    assert claimed == (["common", "combined"] if name == "common" else [name])


def test_combined_reads_common_lines_extra_fields_and_address_lists():
    lines = [
        GOOD.split(b' "https')[0],  # a Common line in a combined file
        GOOD + b' "-"',  # nginx's combined with "$http_x_forwarded_for" appended
        b'70.29.80.15 - - [28/Feb/2018:17:30:33 +0000] "GET /en/ HTTP/2.0" 200 2814 - "Mozilla/5.0"'
        b' 13 "Host-host1-com-0" "http://172.19.0.6:14008" 247ms',  # Traefik's CLF
        b'10.0.0.2, 10.0.0.1, 85.181.35.98 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1"'
        b' 200 571 "-" "Firefox"',  # the X-Forwarded-For chain before %h
        b'"10.5.102.222, 199.96.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /a HTTP/1.1"'
        b' 200 25507 "-" "Amazon CloudFront"',
        b'unknown, 10.0.0.2 - - [05/May/2024:11:10:06 +0000] "GET /shop/ HTTP/1.1" 200 9812 "-"'
        b' "Firefox"',  # RFC 7239's `unknown` for a hop that hides itself
    ]
    parsed = parse_combined(b"\n".join(lines) + b"\n")
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["status_code"].tolist() == [200, 200, 200, 200, 200, 200]
    assert rows["client_ip"].tolist()[2:] == [
        "70.29.80.15", "85.181.35.98", "199.96.1.1", "10.0.0.2",
    ]  # fmt: skip
    latency = rows["latency_ms"].tolist()
    assert pd.isna(latency[0]) and pd.isna(latency[1]) and latency[2] == 247.0
    assert rows["path"].tolist()[2] == "/en/"


def test_blank_lines_before_the_first_line_do_not_hide_it():
    """More blank lines than the sample holds bytes (a file a program padded with newlines):
    the lines after them are detected and numbered as in the file."""
    blank = b"\n" * 100_000 + b"  \r\n" * 10
    assert registry.detect(blank + GOOD + b"\n" + GOOD + b"\n") == "combined"
    with pytest.raises(FileFormatError, match="^line 100011: could not detect"):
        registry.detect(blank + b"something else entirely\n")
    with pytest.raises(FileFormatError, match="file is empty"):
        registry.detect(blank)


def test_detection_measures_the_share_each_format_reads():
    common = GOOD.split(b' "https')[0]
    mixed = b"\n".join([common, GOOD, common, GOOD]) + b"\n"
    assert registry.detect(mixed) == "combined"  # a Common-only reading keeps half
    assert registry.detect(b"\n".join([common] * 3) + b"\n") == "common"
    # a line the format reads but whose values are wrong counts as read: it is quarantined
    # for its status, not for its layout
    bad_status = GOOD.replace(b" 200 ", b" 2x0 ")
    assert registry.detect(GOOD + b"\n" + bad_status + b"\n") == "combined"
    garbage = b"\n".join([GOOD] + [b"something else entirely"] * 3) + b"\n"
    with pytest.raises(FileFormatError) as raised:
        registry.detect(garbage)
    message = str(raised.value)
    assert "combined 25%" in message and GOOD.decode() in message
    # combined reads the first line: the hint is the first line it cannot read, not a template
    assert "combined reads line 1 but not line 2: something else entirely" in message


@pytest.mark.parametrize(("name", "line"), SAMPLES)
def test_detection_picks_the_format_of_each_sample_line(monkeypatch, name, line):
    # user agents, upstream lists and ALB actions carry commas: the csv header test claims
    # those lines too, so detection must let the anchored line formats win
    for fmt in MINE.values():
        monkeypatch.setitem(registry.FORMATS, fmt.name, fmt)
    assert registry.detect(line.encode() + b"\n") == name


# round trips ------------------------------------------------------------------------------------
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-"

offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
times = st.builds(
    lambda moment, zone: moment.replace(tzinfo=dt.UTC).astimezone(zone),
    st.datetimes(dt.datetime(2001, 1, 2), dt.datetime(2037, 12, 30)).map(
        lambda t: t.replace(microsecond=0)
    ),
    offsets,
)
paths = st.builds(
    lambda parts, query: "/" + "/".join(parts) + (f"?{query}" if query else ""),
    st.lists(st.text(SAFE, min_size=1, max_size=12), max_size=4),
    st.one_of(st.none(), st.text(SAFE + "=&%", min_size=1, max_size=20)),
)
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30
)
records = st.fixed_dictionaries(
    {
        "ip": st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str),
        "user": st.one_of(
            st.none(), st.text(SAFE + "@", min_size=1, max_size=12).filter(lambda u: u != "-")
        ),
        "time": times,
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
        "path": paths,
        "status": st.integers(100, 599),
        "bytes": st.one_of(st.none(), st.integers(0, 10**10)),
        "request_ms": st.integers(0, 600_000),
        "upstream_ms": st.lists(st.one_of(st.none(), st.integers(0, 60_000)), max_size=3),
        "referer": texts,
        "agent": texts,
    }
)


def clf_time(moment: dt.datetime) -> str:
    offset = moment.strftime("%z")
    return f"{moment:%d}/{MONTH_NAMES[moment.month - 1]}/{moment:%Y:%H:%M:%S} {offset}"


def quoted(text: str) -> str:
    """As Apache writes a header: `"` and `\\` escaped with a backslash."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def upstream(values) -> str:
    return ", ".join("-" if v is None else seconds(v) for v in values) or "-"


def upstream_ms(values):
    logged = [v for v in values if v is not None]
    return float(sum(logged)) if logged else NA


def common_line(r) -> str:
    return (
        f"{r['ip']} - {r['user'] or '-'} [{clf_time(r['time'])}] "
        f'"{r["method"]} {r["path"]} HTTP/1.1" {r["status"]} '
        f"{'-' if r['bytes'] is None else r['bytes']}"
    )


def combined_line(r) -> str:
    return f'{common_line(r)} "{quoted(r["referer"])}" "{quoted(r["agent"])}"'


def expected_row(r, latency):
    return (
        pd.Timestamp(r["time"]).tz_convert(UTC),
        r["method"],
        r["path"],
        r["status"],
        latency,
        r["bytes"],
        r["ip"],
        r["user"],
    )


RENDERINGS = {
    "common": (parse_common, common_line, lambda r: NA),
    "combined": (parse_combined, combined_line, lambda r: NA),
    "combined + request/upstream time": (
        parse_combined,
        lambda r: f"{combined_line(r)} {seconds(r['request_ms'])} {upstream(r['upstream_ms'])}",
        lambda r: float(r["request_ms"]),
    ),
    "combined + urt=": (
        parse_combined,
        lambda r: f'{combined_line(r)} uct="0.000" urt="{upstream(r["upstream_ms"])}"',
        lambda r: upstream_ms(r["upstream_ms"]),
    ),
    "combined + rt=": (
        parse_combined,
        lambda r: (
            f'{combined_line(r)}rt={seconds(r["request_ms"])} urt="{upstream(r["upstream_ms"])}"'
        ),
        lambda r: float(r["request_ms"]),
    ),
    "nginx template": (
        lambda data: parse_nginx(
            data,
            '$remote_addr $remote_user [$time_iso8601] "$request_method $request_uri '
            '$server_protocol" $status $body_bytes_sent "$http_user_agent" '
            "$upstream_response_time $host",
        ),
        lambda r: (
            f"{r['ip']} {r['user'] or '-'} [{r['time'].isoformat()}] "
            f'"{r["method"]} {r["path"]} HTTP/2.0" {r["status"]} '
            f'{"-" if r["bytes"] is None else r["bytes"]} "{quoted(r["agent"])}" '
            f"{upstream(r['upstream_ms'])} api.example.com"
        ),
        lambda r: upstream_ms(r["upstream_ms"]),
    ),
}


@pytest.mark.parametrize("rendering", list(RENDERINGS))
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records, min_size=1, max_size=8))
def test_rendered_records_parse_back_to_the_same_values(rendering, batch):
    parse, render, latency = RENDERINGS[rendering]
    data = "".join(render(r) + "\n" for r in batch).encode()
    parsed = parse(data)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    check_accounting(parsed)
    assert_rows(rows(parsed), [expected_row(r, latency(r)) for r in batch])


HEAD = '203.0.113.10 - - [26/May/2024:11:42:52 +0000] "GET /a HTTP/1.1" 200 512 "-" "curl/8.0"'


@pytest.mark.parametrize(
    ("tail", "latency"),
    [
        # nginx: "$http_x_forwarded_for" then key=value timings (quoted values among them)
        (' "-" rt=0.100 uct="0.000" uht="0.090" urt="0.095"', 100.0),
        # NGINX Amplify's main_ext
        (
            ' "www.example.com" sn="example.com" rt=0.250 ua="10.0.0.1:8080" us="200" ut="0.245"'
            ' ul="512" cs=-',
            250.0,
        ),
        # "$http_x_forwarded_for" then $request_time (and $upstream_response_time)
        (' "10.1.1.1, 10.2.2.2" 0.500', 500.0),
        (' "-" 0.500 0.480', 500.0),
        # ingress-nginx's default format
        (" 78 0.002 [default-web-80] [] 10.1.0.12:80 615 0.002 200 6f2b0e3c8d1a", 2.0),
        # Apache combinedio: bytes received and sent, no time
        (" 421 873", None),
        # Apache combined + %D (microseconds), as before
        (" 1234", 1.234),
    ],
)
def test_fields_after_the_user_agent_give_the_request_time_they_log(tail, latency):
    parsed = parse_combined((HEAD + tail + "\n").encode())
    assert parsed.rejects.empty
    value = parsed.candidates["latency_ms"].iloc[0]
    assert (pd.isna(value) and latency is None) or value == pytest.approx(latency)
    if latency is None:  # the byte counts are kept, as logged
        assert '"extra":"421 873"' in parsed.candidates["attributes"].iloc[0]
        assert any("combinedio" in note for note in parsed.notes)
    assert registry.detect((HEAD + tail + "\n").encode()) == "combined"


def test_an_escaped_quote_in_the_request_does_not_end_it():
    """Apache writes a `"` inside the request line as `\\"` (and `\\` as `\\\\`)."""
    lines = [
        r'10.0.0.3 - - [26/May/2024:11:43:01 +0000] "GET /q?x=\"y\" HTTP/1.1" 200 12 "-" "ua"',
        r'10.0.0.3 - - [26/May/2024:11:43:02 +0000] "GET /a\\b HTTP/1.1" 404 0 "-" "ua"',
        r'10.0.0.3 - - [26/May/2024:11:43:03 +0000] "GET /c HTTP/1.1" 200 1 "-" "a \"b\""',
    ]
    data = ("\n".join(lines) + "\n").encode()
    parsed = parse_combined(data)
    assert parsed.rejects.empty
    assert parsed.candidates["path"].tolist() == ['/q?x="y"', "/a\\b", "/c"]  # as requested
    assert parsed.candidates["status_code"].tolist() == [200, 404, 200]
    assert registry.detect(data) == "combined"


def test_apache_vhost_combined_keeps_the_client_and_the_virtual_host():
    """Debian's other_vhosts_access.log (`%v:%p %h %l %u %t ...`): the virtual host is not the
    client (nor an address of a forwarded-for list), it is kept as an attribute."""
    lines = [
        'www.example.com:80 192.0.2.1 - - [26/May/2024:11:42:52 +0000] "GET / HTTP/1.1" 200 612'
        ' "-" "Mozilla/5.0"',
        '127.0.1.1:443 198.51.100.7 - bob [26/May/2024:11:42:53 +0000] "GET /b HTTP/1.1" 200 1'
        ' "-" "Mozilla/5.0"',
        '1.2.3.4 - - [26/May/2024:11:42:54 +0000] "GET /c HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "combined"
    parsed = parse_combined(data)
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["client_ip"].tolist() == ["192.0.2.1", "198.51.100.7", "1.2.3.4"]
    assert rows["user_id"].tolist()[1] == "bob"
    assert '"vhost":"www.example.com:80"' in rows["attributes"].iloc[0]
    assert "vhost" not in rows["attributes"].iloc[2]


def test_docker_logs_of_the_nginx_image_read_as_combined_with_nginx_error_log_as_events():
    """`docker logs` of the official nginx image: the entrypoint's lines and nginx's error log
    come before and among the access lines. The error log's lines are nginx's log events, with
    their time and level; the entrypoint's, which log no time, are quarantined as no request.
    Neither counts against the format."""
    startup = [
        "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform "
        "configuration",
        "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
        "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of "
        "/etc/nginx/conf.d/default.conf",
        "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
        "/docker-entrypoint.sh: Configuration complete; ready for start up",
        '2024/05/26 11:40:00 [notice] 1#1: using the "epoll" event method',
        "2024/05/26 11:40:00 [notice] 1#1: nginx/1.25.5",
        "2024/05/26 11:40:00 [notice] 1#1: start worker process 29",
    ]
    requests = [HEAD.replace("/a ", f"/a{k} ") + ' "-"' for k in range(30)]
    error = (
        '2024/05/26 11:43:00 [error] 29#29: *7 open() "/usr/share/nginx/html/x" failed '
        '(2: No such file or directory), client: 172.17.0.1, server: localhost, request: "GET /x '
        'HTTP/1.1", host: "localhost"'
    )
    data = ("\n".join([*startup, *requests[:15], error, *requests[15:]]) + "\n").encode()
    assert registry.detect(data) == "combined"
    parsed = parse_combined(data)
    assert len(parsed.candidates) == 30
    assert parsed.rejects["line_number"].tolist() == [*range(1, 6)]
    assert all(r.endswith("not a request") for r in parsed.rejects["reasons"])
    assert parsed.records_read == len(data.splitlines())
    events = canonical_events(parsed, source="web", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    assert len(events.events) == 34 and len(events.rejects) == 5
    own = events.events[events.events["level"].notna()]
    assert own["line_number"].tolist() == [6, 7, 8, 24]
    assert own["level"].tolist() == ["INFO", "INFO", "INFO", "ERROR"]
    assert set(own["service"]) == {"nginx"} and own["endpoint"].isna().all()
    assert own["ts"].iloc[-1] == pd.Timestamp("2024-05-26T11:43:00Z")
    assert own["message"].iloc[-1].startswith('open() "/usr/share/nginx/html/x" failed')
    assert "4 lines of nginx's error log among the access lines read as log events" in (
        parsed.notes
    )


def test_docker_logs_of_gunicorn_read_as_combined_with_its_error_log_as_events():
    """gunicorn with `--access-logfile -` in a container: its error log (start, workers, a
    timeout's traceback) and its access log share the output; its own lines are its log
    events, a traceback joined to the event before it."""
    own = [
        "[2024-05-16 10:20:30 +0000] [1] [INFO] Starting gunicorn 22.0.0",
        "[2024-05-16 10:20:30 +0000] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)",
        "[2024-05-16 10:20:30 +0000] [7] [INFO] Booting worker with pid: 7",
    ]
    timeout = [
        "[2024-05-16 10:21:30 +0000] [7] [CRITICAL] WORKER TIMEOUT (pid:7)",
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.12/site-packages/gunicorn/workers/sync.py", line 135, '
        "in handle",
        "SystemExit: 1",
    ]
    requests = [HEAD.replace("/a ", f"/a{k} ") for k in range(12)]
    data = ("\n".join([*own, *requests[:6], *timeout, *requests[6:]]) + "\n").encode()
    assert registry.detect(data) == "combined"
    parsed = parse_combined(data)
    assert len(parsed.candidates) == 12
    assert parsed.rejects.empty
    assert parsed.records_read == 16  # 12 requests, 4 events (a traceback's 3 lines joined)
    events = canonical_events(parsed, source="app", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    assert len(events.events) == 16 and events.rejects.empty
    own = events.events[events.events["level"].notna()]
    assert own["line_number"].tolist() == [1, 2, 3, 10]
    assert own["level"].tolist() == ["INFO", "INFO", "INFO", "CRITICAL"]
    assert set(own["service"]) == {"gunicorn.error"}
    assert own["message"].iloc[-1].startswith("WORKER TIMEOUT (pid:7)\nTraceback")
    assert own["message"].iloc[-1].endswith("SystemExit: 1")
    assert events.events["line_number"].is_monotonic_increasing


def test_nginx_error_log_lines_among_a_templates_access_lines_are_events():
    """An nginx with its own `log_format`, in a container: its error log shares the output."""
    template = 'nginx:$remote_addr [$time_local] "$request" $status $request_time'
    data = (
        b"2024/05/16 10:20:30 [notice] 1#1: start worker processes\n"
        b'10.0.0.1 [16/May/2024:10:20:33 +0000] "GET /x HTTP/1.1" 200 0.012\n'
        b"2024/05/16 10:20:34 [warn] 29#29: *3 an upstream response is buffered\n"
    )
    parsed = registry.parse(data, template)
    events = canonical_events(parsed, source="web", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    assert events.rejects.empty
    kept = events.events
    assert kept["line_number"].tolist() == [1, 2, 3]
    assert kept["level"].tolist()[::2] == ["INFO", "WARNING"]
    assert kept["endpoint"].tolist()[1] == "/x" and kept["latency_ms"].tolist()[1] == 12.0


def test_docker_logs_of_the_httpd_image_read_as_common_with_its_error_log_as_events():
    """The official httpd image: its error log (to stderr) and access log (to stdout) share
    `docker logs`; the AH00558 warning it prints before its error log opens has no time."""
    lines = [
        "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, "
        "using 172.17.0.2. Set the 'ServerName' directive globally to suppress this message",
        "[Sun May 26 11:42:50.601234 2024] [mpm_event:notice] [pid 1:tid 140146284484480] "
        "AH00489: Apache/2.4.59 (Unix) configured -- resuming normal operations",
        "[Sun May 26 11:42:50.601300 2024] [core:notice] [pid 1:tid 140146284484480] AH00094: "
        "Command line: 'httpd -D FOREGROUND'",
        '172.17.0.1 - - [26/May/2024:11:42:52 +0000] "GET / HTTP/1.1" 200 45',
        '172.17.0.1 - - [26/May/2024:11:42:53 +0000] "GET /x HTTP/1.1" 404 196',
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "common"
    parsed = registry.parse(data, "common")
    events = canonical_events(parsed, source="web", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    own = events.events[events.events["level"].notna()]
    assert own["line_number"].tolist() == [2, 3]
    assert set(own["service"]) == {"httpd"} and set(own["level"]) == {"INFO"}
    assert own["ts"].iloc[0] == pd.Timestamp("2024-05-26T11:42:50.601234Z")
    assert events.events["status_code"].dropna().tolist() == [200, 404]
    assert events.rejects["line_number"].tolist() == [1]
    assert (
        events.rejects["reasons"]
        .iloc[0]
        .endswith(
            "it is a message of Apache httpd itself (at start-up, with no time), not a request"
        )
    )


SPRING_BOOT = [
    "2024-05-26T11:42:52.601Z  INFO 1 --- [demo] [           main] "
    "com.example.demo.DemoApplication         : Starting DemoApplication v0.0.1-SNAPSHOT using "
    "Java 17.0.11 with PID 1 (/app.jar started by root in /)",
    "2024-05-26T11:42:54.012Z  INFO 1 --- [demo] [           main] "
    "o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat initialized with port 8080 (http)",
    "2024-05-26T11:42:55.220Z  INFO 1 --- [demo] [           main] "
    "com.example.demo.DemoApplication         : Started DemoApplication in 3.1 seconds (process "
    "running for 3.6)",
    "2024-05-26T11:43:02.500Z ERROR 1 --- [demo] [nio-8080-exec-2] "
    "o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet "
    "[dispatcherServlet] threw exception",
    "java.lang.IllegalStateException: boom",
    "\tat com.example.demo.HelloController.hello(HelloController.java:12)",
]
"""Spring Boot 3's console log (its documented default layout), with an exception."""


def test_an_applications_log_beside_its_servers_access_lines_is_read_as_its_own_format():
    """Spring Boot's console log and Tomcat's access valve written to stdout (`server.tomcat.
    accesslog.directory=/dev`, `prefix=stdout`) share `docker logs`: the access lines are
    requests, the application's lines its log events in their own format (log4j's layouts
    read Spring Boot's), with their levels, loggers and stack trace."""
    access = [
        '172.17.0.1 - - [26/May/2024:11:43:01 +0000] "GET /api/hello HTTP/1.1" 200 13',
        '172.17.0.1 - - [26/May/2024:11:43:02 +0000] "GET /api/boom HTTP/1.1" 500 110',
    ]
    data = ("\n".join([*SPRING_BOOT[:3], access[0], *SPRING_BOOT[3:], access[1]]) + "\n").encode()
    assert registry.detect(data) == "common"
    parsed = registry.parse(data, "common")
    events = canonical_events(parsed, source="app", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    assert events.rejects.empty
    kept = events.events
    assert kept["line_number"].tolist() == [1, 2, 3, 4, 5, 8]
    assert kept["status_code"].dropna().tolist() == [200, 500]
    own = kept[kept["level"].notna()]
    assert own["level"].tolist() == ["INFO", "INFO", "INFO", "ERROR"]
    assert own["service"].tolist()[1] == "o.s.b.w.embedded.tomcat.TomcatWebServer"
    assert own["message"].iloc[-1].endswith("(HelloController.java:12)")
    assert "6 lines of another log among the access lines read as log4j events" in parsed.notes


def test_year_less_lines_of_another_log_among_access_lines_get_the_ingest_years():
    """ingress-nginx's controller writes klog lines (no year) among its access lines: they
    get their year from the ingest time, as the same lines read alone do."""
    klog = [
        "W1120 10:20:00.100000       7 client_config.go:659] Neither --kubeconfig nor --master "
        "was specified.  Using the inClusterConfig.  This might not work.",
        'I1120 10:20:00.200000       7 main.go:205] "Creating API client" host="https://10.96.0.1:443"',
        'I1120 10:20:01.000000       7 controller.go:210] "Backend successfully reloaded"',
    ]
    access = [
        f'203.0.113.45 - - [20/Nov/2026:10:21:{10 + i} +0000] "GET /api/items/{i} HTTP/1.1" 200 '
        f'1532 "-" "Mozilla/5.0" 412 0.012 [default-app-80] [] 10.244.2.7:8080 1532 0.011 200 '
        "5f2c1a0e2d1b3a4c5d6e7f8a9b0c1d2e"
        for i in range(20)
    ]
    data = ("\n".join(klog + access) + "\n").encode()
    as_of = pd.Timestamp("2026-12-01", tz="UTC")
    fmt = registry.detect(data)
    assert fmt == "combined"
    parsed = registry.parse(data, fmt, as_of=as_of)
    kept = canonical_events(parsed, source="ingress", as_of=as_of).events
    own = kept[kept["level"].notna()]
    assert own["ts"].tolist() == [
        pd.Timestamp("2026-11-20T10:20:00.100Z"),
        pd.Timestamp("2026-11-20T10:20:00.200Z"),
        pd.Timestamp("2026-11-20T10:20:01Z"),
    ]
    assert own["level"].tolist() == ["WARNING", "INFO", "INFO"]
    assert kept["status_code"].notna().sum() == 20


def test_a_few_stray_lines_among_access_lines_stay_quarantined_with_the_access_formats_reason():
    """Fewer than three lines no access pattern reads are not read as another log."""
    line = '{"ts": "2026-11-22T05:30:00Z", "path": "/a"}'
    data = ("\n".join([SPRING_BOOT[0], HEAD, line]) + "\n").encode()
    parsed = registry.parse(data, "combined")
    assert parsed.others == ()
    assert parsed.rejects["line_number"].tolist() == [1, 3]


def test_traefiks_own_log_beside_its_text_access_log_is_read_as_logfmt_events():
    own = [
        'time="2024-05-26T11:42:52Z" level=info msg="Configuration loaded from flags."',
        'time="2024-05-26T11:42:52Z" level=info msg="Traefik version 2.11.2 built on '
        '2024-04-11T15:40:33Z"',
        'time="2024-05-26T11:42:53Z" level=error msg="service \\"whoami\\" error: port is '
        'missing" providerName=docker container=whoami-demo-5e1f0a',
    ]
    access = (
        '172.18.0.1 - - [26/May/2024:11:43:01 +0000] "GET / HTTP/1.1" 200 359 "-" "curl/8.4.0" 1 '
        '"whoami@docker" "http://172.18.0.3:80" 2ms'
    )
    data = ("\n".join([*own, access]) + "\n").encode()
    assert registry.detect(data) == "traefik"
    parsed = registry.parse(data, "traefik")
    events = canonical_events(parsed, source="edge", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    assert events.rejects.empty
    kept = events.events
    assert kept["level"].tolist()[:3] == ["INFO", "INFO", "ERROR"]
    assert kept["latency_ms"].tolist()[3] == 2.0


TOMCAT = [
    "26-May-2024 11:42:52.601 INFO [main] org.apache.catalina.startup.VersionLoggerListener.log "
    "Server version name:   Apache Tomcat/10.1.24",
    "26-May-2024 11:42:53.001 INFO [main] org.apache.coyote.AbstractProtocol.init Initializing "
    'ProtocolHandler ["http-nio-8080"]',
    "26-May-2024 11:42:54.630 INFO [main] org.apache.catalina.startup.Catalina.start Server "
    "startup in [1510] milliseconds",
    "26-May-2024 11:43:02.100 SEVERE [http-nio-8080-exec-2] "
    "org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet "
    "[dispatcher] threw exception",
    "\tjava.lang.IllegalStateException: boom",
]
"""The official tomcat image's console: JULI's OneLineFormatter."""


def test_tomcats_console_beside_its_access_valve_and_a_stray_lines_reason_names_its_file_line():
    access = '172.17.0.1 - - [26/May/2024:11:43:01 +0000] "GET /app/ HTTP/1.1" 200 1234'
    stray = "NOTE: Picked up JDK_JAVA_OPTIONS:  --add-opens=java.base/java.lang=ALL-UNNAMED"
    lines = [access, *TOMCAT[:3] * 3, access, stray, *TOMCAT[3:]]  # 11 events, one stray
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "common"
    parsed = registry.parse(data, "common")
    events = canonical_events(parsed, source="app", as_of=pd.Timestamp("2024-06-01", tz="UTC"))
    kept = events.events
    own = kept[kept["level"].notna()]
    assert own["line_number"].tolist() == [*range(2, 11), 13]
    assert own["level"].tolist() == ["INFO"] * 9 + ["ERROR"]  # SEVERE
    assert own["service"].iloc[2] == "org.apache.catalina.startup.Catalina.start"
    assert own["ts"].iloc[0] == pd.Timestamp("2024-05-26T11:42:52.601Z")
    assert own["message"].iloc[-1].endswith("java.lang.IllegalStateException: boom")
    assert events.rejects["line_number"].tolist() == [12]
    assert events.rejects["reasons"].iloc[0].startswith("line 12: does not match the log4j layout")


@pytest.mark.parametrize("gap", ["", " "], ids=["console-template", "cdk-clf"])
def test_api_gateways_clf_template_is_common_with_its_request_ids_kept(gap):
    """API Gateway's console CLF template writes no space before the request and logs the
    request id and extended request id after the bytes; CDK's `AccessLogFormat.clf()` keeps
    the space."""
    line = (
        "203.0.113.10 - - [12/Mar/2024:14:02:11 +0000]" + gap + '"GET /pets/{petId} HTTP/1.1" '
        "200 415 6513270e-269e-0d37-f2a7-4de452e6b438 pDE0iGXlD6gNCF="
    )
    data = (line + "\n").encode() * 3
    assert registry.detect(data) == "common"
    parsed = registry.parse(data, "common")
    assert parsed.rejects.empty
    row = parsed.candidates.iloc[0]
    assert (row["method"], row["path"], row["status_code"], row["bytes_sent"]) == (
        "GET", "/pets/{petId}", 200, 415,
    )  # fmt: skip
    assert row["ts"] == pd.Timestamp("2024-03-12T14:02:11Z")
    assert '"extra":"6513270e-269e-0d37-f2a7-4de452e6b438 pDE0iGXlD6gNCF="' in row["attributes"]


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2024-03-10T14:02:11+01:00", "2024-03-10T13:02:11Z"),  # nginx's $time_iso8601
        ("2024-07-04T09:15:02-0700", "2024-07-04T16:15:02Z"),  # Apache %{%Y-%m-%dT%H:%M:%S%z}t
        ("04/Jul/2024:18:15:02.041 +0200", "2024-07-04T16:15:02.041Z"),  # Apache msec_frac
        ("04/Jul/2024 18:15:02.041 +0200", "2024-07-04T16:15:02.041Z"),  # its documented example
        ("Thu, 04 Jul 2024 16:15:02 GMT", "2024-07-04T16:15:02Z"),  # morgan `default`, Connect
    ],
    ids=["nginx-iso8601", "apache-iso", "apache-msec", "apache-msec-doc", "http-date"],
)
def test_other_times_in_the_brackets(time, expected):
    line = f'203.0.113.5 - - [{time}] "GET /api/v1/items?page=2 HTTP/1.1" 200 5123 "-" "curl/8"'
    data = (line + "\n").encode() * 3
    assert registry.detect(data) == "combined"
    parsed = registry.parse(data, "combined")
    assert parsed.rejects.empty
    assert parsed.candidates["ts"].tolist() == [pd.Timestamp(expected)] * 3


def test_spaces_after_the_protocol_are_no_part_of_the_path():
    """NASA's 1995 log has requests with a space before the closing quote; GoAccess reads
    them as the request they are."""
    data = (
        b'ix-sac6-20.ix.netcom.com - - [08/Aug/1995:14:43:39 -0400] "GET / HTTP/1.0 " 200 7131\n'
        b"ix-sac6-20.ix.netcom.com - - [08/Aug/1995:14:43:57 -0400] "
        b'"GET /images/ksclogo-medium.gif HTTP/1.0 " 200 5866\n'
        b'in24.inetnebr.com - - [01/Aug/1995:00:00:01 -0400] "GET /a b HTTP/1.0" 200 1839\n'
    )
    assert registry.detect(data) == "common"
    parsed = registry.parse(data, "common")
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["method"].tolist() == ["GET", "GET", "GET"]
    assert rows["path"].tolist() == ["/", "/images/ksclogo-medium.gif", "/a b"]
    template = parse_nginx(
        b'1.2.3.4 [01/Aug/1995:00:00:01 -0400] "GET / HTTP/1.0 " 200\n',
        '$remote_addr [$time_local] "$request" $status',
    )
    assert template.candidates["path"].tolist() == ["/"]


def test_a_line_cut_inside_its_user_agent_is_read_to_its_end():
    """A line of Elastic's `apache_logs` example ends before its user agent's closing quote:
    its time, request, status and bytes are all there (GoAccess counts it), and a note says
    how it was read."""
    lines = [
        '46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /scripts/grok-py-test/configlib.py '
        'HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html',
        '46.118.127.106 - - [20/May/2015:12:05:18 +0000] "GET /x HTTP/1.1" 200 235 "-" "curl/8"',
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "combined"
    parsed = parse_combined(data)
    assert parsed.rejects.empty
    assert parsed.candidates["path"].tolist() == ["/scripts/grok-py-test/configlib.py", "/x"]
    agent = json.loads(parsed.candidates["attributes"].iloc[0])["user_agent"]
    assert agent == "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html"
    assert "1 line ends inside the user agent" in " ".join(parsed.notes)
    # a quote still missing elsewhere leaves the line unread
    broken = parse_combined(data.replace(b'"GET /x HTTP/1.1"', b'"GET /x HTTP/1.1'))
    assert broken.rejects["line_number"].tolist() == [2]


def test_express_morgan_default_lines_are_combined_lines_with_an_http_date():
    """morgan's `default` format (Connect's logger before it): an HTTP date in the brackets,
    whose comma makes no csv header, and Node's IPv4-mapped client addresses."""
    data = (
        b'::ffff:127.0.0.1 - - [Sun, 01 Nov 2026 10:00:00 GMT] "GET /api/users HTTP/1.1" 200 123 '
        b'"-" "curl/8.0"\n::ffff:10.0.0.2 - - [Sun, 01 Nov 2026 10:59:59 GMT] "POST /api/orders '
        b'HTTP/1.1" 201 - "-" "curl/8.0"\n'
    )
    assert registry.detect(data) == "combined"
    parsed = registry.parse(data, "combined")
    assert parsed.rejects.empty
    assert parsed.candidates["ts"].tolist() == [
        pd.Timestamp("2026-11-01T10:00:00Z"),
        pd.Timestamp("2026-11-01T10:59:59Z"),
    ]
    assert parsed.candidates["client_ip"].tolist() == ["::ffff:127.0.0.1", "::ffff:10.0.0.2"]
    with pytest.raises(FileFormatError):  # a day name and GMT are part of the date
        registry.detect(data.replace(b"Sun, ", b"Sun ") * 2)


def test_an_access_line_no_format_reads_is_no_csv_header_for_the_commas_in_its_agent():
    """A custom layout's line whose user agent holds commas: detection suggests an nginx
    template, not a csv header that matches no layout."""
    line = (
        '192.0.2.20 - - [04/Jul/2024:18:15:00 +0200] "GET /index.html HTTP/1.1" 200 11158 400 '
        '0.002 "-" "Mozilla/5.0 (X11, Linux) AppleWebKit/537.36 (KHTML, like Gecko)"'
    )
    with pytest.raises(FileFormatError, match="could not detect the format") as raised:
        registry.detect((line + "\n").encode() * 3)
    assert "nginx:" in str(raised.value)


def test_nginx_escapes_in_the_request_are_read_as_the_bytes_they_spell():
    """nginx writes `"`, `\\` and every byte above 0x7E of the request as `\\xHH`."""
    lines = [
        r'10.0.0.3 - - [26/May/2024:11:43:01 +0000] "GET /files/..\x5C..\x5Cwin.ini HTTP/1.1" 400 0 "-" "ua"',
        r'10.0.0.3 - - [26/May/2024:11:43:02 +0000] "GET /fr/caf\xC3\xA9 HTTP/1.1" 200 12 "-" "ua"',
        r'10.0.0.3 - - [26/May/2024:11:43:03 +0000] "GET /q?x=\x22y\x22 HTTP/1.1" 200 1 "-" "ua"',
    ]
    parsed = parse_combined(("\n".join(lines) + "\n").encode())
    assert parsed.rejects.empty
    assert parsed.candidates["path"].tolist() == ["/files/..\\..\\win.ini", "/fr/café", '/q?x="y"']


@pytest.mark.parametrize("copies", [1, 500], ids=["regex", "split"])
def test_the_ident_field_is_kept_when_it_holds_a_value(copies):
    """lighttpd's default format logs the virtual host where Apache's `%l` (identd) stands:
    kept as the `ident` attribute; the usual `-` adds nothing."""
    lines = (
        b'192.168.1.10 www.example.com - [10/Oct/2023:13:55:36 +0200] "GET /i HTTP/1.1" 200 5 '
        b'"-" "Mozilla/5.0"\n'
        b'192.168.1.11 - bob [10/Oct/2023:13:55:37 +0200] "POST /l HTTP/1.1" 302 0 "-" "curl/8"\n'
    )
    parsed = registry.parse(lines * copies, "combined")
    assert parsed.rejects.empty
    first, second = parsed.candidates.iloc[0], parsed.candidates.iloc[1]
    assert json.loads(first["attributes"]) == {
        "ident": "www.example.com",
        "user_agent": "Mozilla/5.0",
    }
    assert pd.isna(first["user_id"])
    assert json.loads(second["attributes"]) == {"user_agent": "curl/8"}
    assert second["user_id"] == "bob"
