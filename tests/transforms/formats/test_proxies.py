import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import candidate_rows, examples
from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import CANDIDATE_TYPES, FileFormatError
from transforms.formats.proxies import (
    FORMATS,
    HAPROXY,
    UWSGI,
    haproxy_time,
    looks_like_haproxy,
    looks_like_uwsgi,
    parse_haproxy,
    parse_uwsgi,
)

FIXTURES = Path(__file__).parent / "fixtures"
NA = None
COLUMNS = (
    "ts",
    "client_ip",
    "method",
    "path",
    "status_code",
    "bytes_sent",
    "latency_ms",
    "service",
    "user_id",
)


def ts(text):
    return pd.Timestamp(text)


def rows(parsed) -> list[tuple]:
    return candidate_rows(parsed, COLUMNS)


def check(parsed, expected):
    """Every row's every column, exactly (latency to 1e-9), and the accounting and types."""
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    for column in parsed.candidates.columns:
        if column in CANDIDATE_TYPES:
            assert str(parsed.candidates[column].dtype) == CANDIDATE_TYPES[column], column
    assert str(parsed.candidates["ts"].dtype) == "datetime64[us, UTC]"
    got = rows(parsed)
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        for column, a, b in zip(COLUMNS, row, want, strict=True):
            if column == "latency_ms" and a is not NA and b is not NA:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9), (column, row)
            else:
                assert a == b, (column, row, want)


# haproxy: real lines -----------------------------------------------------------------------------
HTTP_HEADERS_BOTH = (
    "Jul 30 09:03:52 localhost haproxy[32450]: 1.2.3.4:38862 [30/Jul/2018:09:03:52.726] "
    "incoming~ docs_microservice/docs 0/0/1/0/2 304 168 - - ---- 6/6/0/0/0 0/0 "
    '{docs.example.internal||} {|||} "GET /component---src-pages-index-js-4b15624544f97cf0bb8f.js'
    ' HTTP/1.1"'
)
HTTP_NO_HEADERS = (
    "Dec 10 12:01:46 voyager haproxy[19312]: 127.0.0.1:35982 [10/Dec/2018:12:01:46.395] "
    "http-webservices http-webservices/<NOSRV> 0/-1/-1/-1/0 503 213 - - SC-- 1/1/0/0/0 0/0 "
    '"GET / HTTP/1.1"'
)
HTTP_REQUEST_HEADERS = (
    "Dec 10 15:46:49 voyager haproxy[29785]: 127.0.0.1:43738 [10/Dec/2018:15:46:49.497] "
    "http-webservices http-webservices/<NOSRV> 0/-1/-1/-1/0 503 213 - - SC-- 1/1/0/0/0 0/0 "
    '{localhost:8888||} "GET /foo HTTP/1.1"'
)
TCP = (
    "Sep 20 15:44:23 127.0.0.1 haproxy[25457]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] "
    "main app/<NOSRV> -1/-1/1 212 SC 1/1/0/0/0 0/0"
)
CONNECT = "Connect from 1.2.3.4:40780 to 1.2.3.4:5000 (main/HTTP)"
HAPROXY_LINES = [HTTP_HEADERS_BOTH, HTTP_NO_HEADERS, HTTP_REQUEST_HEADERS, TCP]
ASSET = "/component---src-pages-index-js-4b15624544f97cf0bb8f.js"
HAPROXY_EXPECTED = [
    # ts, client_ip, method, path, status, bytes, latency_ms, service, user_id
    (ts("2018-07-30T09:03:52.726Z"), "1.2.3.4", "GET", ASSET, 304, 168, 2.0,
     "docs_microservice", NA),
    (ts("2018-12-10T12:01:46.395Z"), "127.0.0.1", "GET", "/", 503, 213, 0.0,
     "http-webservices", NA),
    (ts("2018-12-10T15:46:49.497Z"), "127.0.0.1", "GET", "/foo", 503, 213, 0.0,
     "http-webservices", NA),
    # TCP: no request, no status (as the classic ELB's TCP listener entries)
    (ts("2018-09-20T15:44:23.285Z"), "127.0.0.1", NA, NA, NA, 212, 1.0, "app", NA),
]  # fmt: skip


def test_real_haproxy_lines_given_expected():
    data = ("\n".join(HAPROXY_LINES) + "\n").encode()
    parsed = parse_haproxy(data)
    assert parsed.format == "haproxy"
    check(parsed, HAPROXY_EXPECTED)
    assert parsed.candidates["line_number"].tolist() == [1, 2, 3, 4]
    assert parsed.candidates["raw"].tolist() == HAPROXY_LINES
    assert parsed.candidates["ts"].iloc[0].microsecond == 726_000


BODY = HTTP_HEADERS_BOTH.split(": ", 1)[1]


@pytest.mark.parametrize(
    "header",
    [
        "",  # `log stdout format raw`
        "Jul 30 09:03:52 localhost haproxy[32450]: ",  # rsyslog, journald
        "Jul  3 09:03:52 localhost haproxy[32450]: ",  # a one-digit day, space-padded
        "Jul 30 09:03:52.123456 localhost haproxy[32450]: ",  # journalctl -o short-precise
        "2019-02-25T16:19:48.143+00:00 host haproxy[123]: ",  # rsyslog RFC 3339 time
        "2019-02-25T16:19:48+0000 host haproxy[123]: ",  # journalctl -o short-iso
        "<134>Jul 30 09:03:52 haproxy[32450]: ",  # HAProxy's own rfc3164, no host name
        "<134>1 2019-02-25T16:19:48.143Z host haproxy 123 - - ",  # RFC 5424
        '<134>1 2019-02-25T16:19:48.143Z host haproxy 123 - [meta sequenceId="1"] ',
        "Jul 30 09:03:52 localhost haproxy: ",  # no pid
    ],
)
def test_any_syslog_header_or_none(header):
    line = header + BODY
    assert looks_like_haproxy(line)
    assert registry.detect(line.encode()) == "haproxy"
    check(parse_haproxy(line.encode()), HAPROXY_EXPECTED[:1])


def test_the_date_in_brackets_is_the_time_not_the_syslog_header():
    line = "2019-02-25T16:19:48.143+05:00 host haproxy[123]: " + BODY
    assert parse_haproxy(line.encode()).candidates["ts"].tolist() == [
        ts("2018-07-30T09:03:52.726Z")
    ]


# the HAProxy 1.4 manual's example: Tq/Tw/Tc/Tr/Tt timers
OLD_HTTP = (
    "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] "
    "http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "
    '"GET /index.html HTTP/1.1"'
)
OLD_TCP = (
    "Feb  6 12:12:56 localhost haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] "
    "fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0"
)
T_2009 = ts("2009-02-06T12:14:14.655Z")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (OLD_HTTP, (T_2009, "10.0.1.2", "GET", "/index.html", 200, 2750, 109.0, "static", NA)),
        # option logasap: `+` before the total time and the bytes read so far
        (
            OLD_HTTP.replace("/109 200 2750", "/+109 200 +2750"),
            (T_2009, "10.0.1.2", "GET", "/index.html", 200, 2750, 109.0, "static", NA),
        ),
        (
            OLD_TCP,
            (ts("2009-02-06T12:12:51.443Z"), "10.0.1.2", NA, NA, NA, 212, 5007.0, "bck", NA),
        ),
        (
            OLD_TCP.replace("0/0/5007 212", "0/0/+5007 +212"),
            (ts("2009-02-06T12:12:51.443Z"), "10.0.1.2", NA, NA, NA, 212, 5007.0, "bck", NA),
        ),
        # -1 in the last timer: no latency, never a negative one
        (
            OLD_HTTP.replace("10/0/30/69/109", "-1/-1/-1/-1/-1"),
            (T_2009, "10.0.1.2", "GET", "/index.html", 200, 2750, NA, "static", NA),
        ),
        (
            OLD_TCP.replace("0/0/5007", "-1/-1/-1"),
            (ts("2009-02-06T12:12:51.443Z"), "10.0.1.2", NA, NA, NA, 212, NA, "bck", NA),
        ),
        # a status of -1: no response
        (
            OLD_HTTP.replace(" 200 2750 ", " -1 0 ").replace("----", "CD--"),
            (T_2009, "10.0.1.2", "GET", "/index.html", NA, 0, 109.0, "static", NA),
        ),
    ],
)
def test_old_timers_logasap_and_minus_one(line, expected):
    assert registry.detect(line.encode()) == "haproxy"
    check(parse_haproxy(line.encode()), [expected])


NEW = "10.0.0.9:51000 [21/Feb/2024:10:01:02.003] fe~ api/web1 5/0/1/20/26 200 1024 - - ---- 3/3/1/1/0 0/0"


@pytest.mark.parametrize(
    ("tail", "client", "method", "path"),
    [
        ('"GET /search?q=a&page=2 HTTP/1.1"', "10.0.0.9", "GET", "/search?q=a&page=2"),
        # HTTP/2 requests are logged with an absolute URI by HAProxy 2.1+
        (
            '"GET https://example.com/api/items/7?x=1 HTTP/2.0"',
            "10.0.0.9",
            "GET",
            "/api/items/7?x=1",
        ),
        ('"<BADREQ>"', "10.0.0.9", NA, NA),  # a request HAProxy could not read
        # option httpslog: connection/TLS errors, SNI, TLS version and cipher after the request
        (
            '{1wt.eu} {} "GET / HTTP/1.1" 0/0/0/0/0 1wt.eu/TLSv1.3/TLS_AES_256_GCM_SHA384',
            "10.0.0.9",
            "GET",
            "/",
        ),
        ('{Mozilla/5.0 (X11; Linux x86_64)|a b} "DELETE /x HTTP/1.1"', "10.0.0.9", "DELETE", "/x"),
    ],
)
def test_requests_paths_and_captures(tail, client, method, path):
    line = f"{NEW} {tail}"
    expected = (ts("2024-02-21T10:01:02.003Z"), client, method, path, 200, 1024, 26.0, "api", NA)
    check(parse_haproxy(line.encode()), [expected])


@pytest.mark.parametrize(
    ("address", "client_ip"),
    [("::1:43738", "::1"), ("2001:db8::7:56789", "2001:db8::7"), ("unix:1", "unix")],
)
def test_client_address_drops_the_port(address, client_ip):
    line = NEW.replace("10.0.0.9:51000", address) + ' "GET / HTTP/1.1"'
    assert parse_haproxy(line.encode()).candidates["client_ip"].tolist() == [client_ip]


@pytest.mark.parametrize(
    ("service_from", "expected"),
    [("backend", "docs_microservice"), ("frontend", "incoming"), (None, NA)],
)
def test_service_is_the_backend_unless_asked_otherwise(service_from, expected):
    parsed = parse_haproxy(HTTP_HEADERS_BOTH.encode(), service_from=service_from)
    service = parsed.candidates.get("service")
    got = NA if service is None or pd.isna(service.iloc[0]) else service.iloc[0]
    assert got == expected


def test_unknown_service_source_is_a_file_error():
    with pytest.raises(FileFormatError, match="unknown service_from 'server' for haproxy"):
        parse_haproxy(HTTP_HEADERS_BOTH.encode(), service_from="server")


# haproxy: bad lines ------------------------------------------------------------------------------
HAPROXY_EXPECTED_TEXT = "does not match the haproxy log format: expected `client:port [date]"
UWSGI_LINE = (
    "[pid: 7|app: 0|req: 1/1] 172.17.0.1 () {34 vars in 377 bytes} [Sun Mar 13 22:49:12 2016] "
    "GET / => generated 11 bytes in 0 msecs (HTTP/1.1 200) 2 headers in 79 bytes "
    "(1 switches on core 0)"
)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            CONNECT,
            "; it is a connection notice (HAProxy's default log format, without option httplog "
            "or tcplog), not a request",
        ),
        ("Feb  6 12:12:09 localhost haproxy[14385]: " + CONNECT, "it is a connection notice"),
        (
            "Jul 30 09:03:52 lb haproxy[1]: 1.2.3.4:5 [30/Jul/2018:09:03:52.726] "
            "fe/1: SSL handshake failure",
            "; it is a connection error logged without a request (e.g. a TLS handshake)",
        ),
        (
            HTTP_HEADERS_BOTH[:-10],
            "; its request has no closing quote: the line may have been cut at HAProxy's log "
            "length limit (`log ... len`, 1024 bytes by default)",
        ),
        ("Jul 30 09:03:52 localhost haproxy[1]: Proxy docs started.", HAPROXY_EXPECTED_TEXT),
        (HTTP_NO_HEADERS.replace(" 0/0 ", " "), HAPROXY_EXPECTED_TEXT),
        (TCP.replace("-1/-1/1", "-1/1"), HAPROXY_EXPECTED_TEXT),
        (UWSGI_LINE, HAPROXY_EXPECTED_TEXT),
        (
            HTTP_NO_HEADERS.replace("10/Dec/2018", "10/Foo/2018"),
            "accept_date: '10/Foo/2018:12:01:46.395' is not a time like 30/Jul/2018:09:03:52.726",
        ),
        (
            HTTP_NO_HEADERS.replace("10/Dec/2018", "32/Dec/2018"),
            "accept_date: '32/Dec/2018:12:01:46.395' is not a time like",
        ),
        (HTTP_NO_HEADERS.replace("GET", "G\x00T"), "line contains NUL bytes"),
        (HTTP_NO_HEADERS.replace("GET /", "GET /\udcff"), "not valid UTF-8"),
    ],
)
def test_bad_haproxy_lines_are_rejected_with_their_reason(line, reason):
    good = HTTP_NO_HEADERS.encode()
    raw = line.encode("utf-8", "surrogateescape")
    parsed = parse_haproxy(good + b"\n" + raw + b"\n" + good + b"\n")
    assert parsed.records_read == 3
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]
    if reason.startswith(";"):
        assert parsed.rejects["reasons"].iloc[0].startswith(HAPROXY_EXPECTED_TEXT)


def test_haproxy_time_keeps_milliseconds_and_nulls_what_is_not_a_time():
    text = pd.Series(["30/Jul/2018:09:03:52.726", "31/Feb/2018:09:03:52.726", "-"], dtype="str")
    assert haproxy_time(text).tolist()[0] == ts("2018-07-30T09:03:52.726Z")
    assert haproxy_time(text).isna().tolist() == [False, True, True]


def test_a_tcp_connection_is_kept_as_a_connection_and_a_notice_is_quarantined():
    """A TCP line has no HTTP request but is a connection with its time and bytes: it is kept
    with endpoint {connection}; a connection notice never gets that far."""
    data = "\n".join([HTTP_NO_HEADERS, TCP, CONNECT]).encode()
    events = canonical_events(
        parse_haproxy(data), source="lb", as_of=pd.Timestamp("2026-11-01", tz="UTC")
    )
    assert events.events["endpoint"].tolist() == ["/", "{connection}"]
    assert events.events["service"].tolist() == ["http-webservices", "app"]
    assert pd.isna(events.events["status_code"].iloc[1])
    assert events.events["latency_ms"].iloc[1] == 1.0
    assert events.rejects["line_number"].tolist() == [3]
    assert "it is a connection notice" in events.rejects["reasons"].iloc[0]


# uwsgi ------------------------------------------------------------------------------------------
UWSGI_POST = (
    "[pid: 1|app: 0|req: 3/3] 10.0.0.5 (alice) {40 vars in 612 bytes} [Wed Feb 21 10:01:02 2024] "
    "POST /api/v1/orders?x=1 => generated 512 bytes in 12 msecs (HTTP/1.1 201) 5 headers in 180 "
    "bytes (1 switches on core 1)"
)
UWSGI_LINES = [UWSGI_LINE, UWSGI_POST]
UWSGI_EXPECTED = [
    (ts("2016-03-13T22:49:12Z"), "172.17.0.1", "GET", "/", 200, 11, 0.0, NA, NA),
    (ts("2024-02-21T10:01:02Z"), "10.0.0.5", "POST", "/api/v1/orders?x=1", 201, 512, 12.0, NA,
     "alice"),
]  # fmt: skip


def test_real_uwsgi_lines_given_expected():
    parsed = parse_uwsgi(("\n".join(UWSGI_LINES) + "\n").encode())
    assert parsed.format == "uwsgi"
    check(parsed, UWSGI_EXPECTED)
    assert parsed.candidates["raw"].tolist() == UWSGI_LINES


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # --log-micros
        (
            UWSGI_POST.replace("in 12 msecs", "in 12345 micros"),
            (ts("2024-02-21T10:01:02Z"), "10.0.0.5", "POST", "/api/v1/orders?x=1", 201, 512,
             12.345, NA, "alice"),
        ),
        (
            UWSGI_POST.replace("in 12 msecs", "in 12 micros"),
            (ts("2024-02-21T10:01:02Z"), "10.0.0.5", "POST", "/api/v1/orders?x=1", 201, 512,
             0.012, NA, "alice"),
        ),
        # a one-digit day (ctime pads it with a space), a file sent with sendfile()
        (
            "[pid: 9|app: 0|req: 2/5] 192.0.2.7 () {38 vars in 520 bytes} "
            "[Thu Mar  3 07:05:09 2022] GET /static/app.css => generated 2048 bytes in 3 msecs "
            "via sendfile() (HTTP/1.0 200) 4 headers in 130 bytes (0 switches on core 0)",
            (ts("2022-03-03T07:05:09Z"), "192.0.2.7", "GET", "/static/app.css", 200, 2048, 3.0,
             NA, NA),
        ),
        # --vhost and --memory-report put the host and the memory use in front; no app
        # (app: -1) and an address-less unix socket client
        (
            "shop.example.com {address space usage: 81920000 bytes/78MB} {rss usage: 40960000 "
            "bytes/39MB} [pid: 3|app: -1|req: -1/8]  () {30 vars in 300 bytes} "
            "[Mon Jan  1 00:00:00 2024] GET /nope => generated 21 bytes in 1 msecs "
            "(HTTP/1.1 404) 2 headers in 71 bytes (1 switches on core 0)",
            (ts("2024-01-01T00:00:00Z"), NA, "GET", "/nope", 404, 21, 1.0, NA, NA),
        ),
        # the minimal line uWSGI writes for a request too long to log
        (
            "[pid: 3|app: 0|req: 9/9] 0.0.0.0 () {90 vars in 9000 bytes} "
            "[Mon Jan  1 00:00:00 2024] - - => generated 0 bytes in 5 msecs (- 414) 2 headers "
            "in 70 bytes (0 switches on core 0)",
            (ts("2024-01-01T00:00:00Z"), "0.0.0.0", NA, NA, 414, 0, 5.0, NA, NA),
        ),
    ],
)  # fmt: skip
def test_uwsgi_variants(line, expected):
    assert registry.detect(line.encode()) == "uwsgi"
    check(parse_uwsgi(line.encode()), [expected])


UWSGI_EXPECTED_TEXT = "does not match the uwsgi request log format: expected `[pid: N|app: N|req"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "*** Starting uWSGI 2.0.23 (64bit) on [Wed Feb 21 10:00:00 2024] ***",
            UWSGI_EXPECTED_TEXT,
        ),
        ("spawned uWSGI worker 1 (pid: 7, cores: 1)", UWSGI_EXPECTED_TEXT),
        (UWSGI_LINE.replace(" (HTTP/1.1 200)", ""), UWSGI_EXPECTED_TEXT),
        (UWSGI_LINE.replace("in 0 msecs", "in 0 secs"), UWSGI_EXPECTED_TEXT),
        (HTTP_NO_HEADERS, UWSGI_EXPECTED_TEXT),
        (
            UWSGI_LINE.replace("Mar 13", "Feb 30"),
            "time: 'Sun Feb 30 22:49:12 2016' is not a time like Sun Mar 13 22:49:12 2016",
        ),
        (UWSGI_LINE.replace("GET", "G\x00T"), "line contains NUL bytes"),
    ],
)
def test_bad_uwsgi_lines_are_rejected_with_their_reason(line, reason):
    good = UWSGI_POST.encode()
    parsed = parse_uwsgi(good + b"\n" + line.encode() + b"\n" + good + b"\n")
    assert parsed.records_read == 3
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]


# detection --------------------------------------------------------------------------------------
NEW_SAMPLES = [
    *[("haproxy", line) for line in [*HAPROXY_LINES, OLD_HTTP, OLD_TCP]],
    *[("uwsgi", line) for line in UWSGI_LINES],
]


@pytest.mark.parametrize(("name", "line"), NEW_SAMPLES)
def test_each_new_line_is_detected_as_its_format_alone(name, line):
    assert registry.detect(line.encode()) == name
    claims = [
        n for n, f in registry.FORMATS.items() if n not in registry.GENERIC and f.looks_like(line)
    ]
    # a HAProxy line with its syslog header is a syslog line too; HAProxy wins on the tie
    assert [n for n in claims if n not in ("syslog", "syslog5424")] == [name]


OTHER_LINES = [
    line
    for name in sorted(p.name for p in FIXTURES.iterdir())
    for line in (FIXTURES / name).read_text().splitlines()
    if line.strip()
]


def test_no_line_of_another_format_looks_like_the_new_ones():
    assert len(OTHER_LINES) > 30
    assert not [line for line in OTHER_LINES if looks_like_haproxy(line) or looks_like_uwsgi(line)]


def test_lines_starting_with_a_bracket_are_json_only_when_no_line_format_claims_them():
    assert registry.detect(b'[{"ts": "2026-11-01T10:00:00Z"}]\n') == "jsonl"
    assert registry.detect(UWSGI_LINE.encode()) == "uwsgi"
    line = b"[2026-11-01 10:00:00 +0000] [WARN] [worker] queue is slow\n"
    assert registry.detect(line) == "servicelog"


def test_formats_are_registered():
    assert [f.name for f in FORMATS] == ["haproxy", "uwsgi"]
    assert registry.get("haproxy") is HAPROXY and registry.get("uwsgi") is UWSGI
    assert registry.parse(HTTP_NO_HEADERS.encode(), "haproxy").candidates[
        "status_code"
    ].tolist() == [503]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b"\xff\xfe\x00",
        b'"',
        b"[" * 5000,
        (HTTP_NO_HEADERS[:90] + "\t" * 3000).encode(),
    ],
)
@pytest.mark.parametrize("parse", [parse_haproxy, parse_uwsgi])
def test_odd_input_never_raises(parse, data):
    parsed = parse(data)
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    assert parsed.candidates.empty


# round trips ------------------------------------------------------------------------------------
SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
moments = st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2037, 12, 31)).map(
    lambda t: t.replace(tzinfo=dt.UTC)
)
paths = st.builds(
    lambda parts, query: "/" + "/".join(parts) + (f"?{query}" if query else ""),
    st.lists(st.text(SAFE, min_size=1, max_size=12), max_size=4),
    st.one_of(st.none(), st.text(SAFE + "=&%", min_size=1, max_size=20)),
)
names = st.text(SAFE.replace("~", ""), min_size=1, max_size=12).filter(lambda n: n != "-")
records = st.fixed_dictionaries(
    {
        "time": moments,
        "client": st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str),
        "port": st.integers(1, 65535),
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
        "path": paths,
        "status": st.integers(100, 599),
        "bytes": st.integers(0, 10**10),
        "ms": st.one_of(st.integers(0, 3_600_000), st.just(-1)),
        "us": st.integers(0, 10**9),
        "tcp": st.booleans(),
        "header": st.sampled_from(["", "Jul  3 09:03:52 lb haproxy[7]: ", "<134>1 - h a 1 - - "]),
        "captures": st.integers(0, 2),
        "frontend": names,
        "backend": names,
        "user": st.one_of(st.just(""), names),
    }
)


def haproxy_line(r) -> str:
    t = r["time"]
    date = f"{t:%d}/{MONTHS[t.month - 1]}/{t:%Y:%H:%M:%S}.{t.microsecond // 1000:03d}"
    head = f"{r['header']}{r['client']}:{r['port']} [{date}] {r['frontend']} {r['backend']}/s1"
    if r["tcp"]:
        return f"{head} 0/0/{r['ms']} {r['bytes']} -- 1/1/1/1/0 0/0"
    captures = " {a|b c}" * r["captures"]
    return (
        f"{head} 1/0/0/2/{r['ms']} {r['status']} {r['bytes']} - - ---- 1/1/1/1/0 0/0{captures} "
        f'"{r["method"]} {r["path"]} HTTP/1.1"'
    )


def uwsgi_line(r) -> str:
    t = r["time"]
    ctime = f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {t.year}"
    took = f"{r['us']} micros" if r["tcp"] else f"{max(r['ms'], 0)} msecs"
    return (
        f"[pid: 7|app: 0|req: 1/1] {r['client']} ({r['user']}) {{34 vars in 377 bytes}} "
        f"[{ctime}] {r['method']} {r['path']} => generated {r['bytes']} bytes in {took} "
        f"(HTTP/1.1 {r['status']}) 2 headers in 79 bytes (1 switches on core 0)"
    )


def haproxy_expected(r) -> tuple:
    http = not r["tcp"]
    return (
        pd.Timestamp(r["time"]).floor("ms"),
        r["client"],
        r["method"] if http else NA,
        r["path"] if http else NA,
        r["status"] if http else NA,
        r["bytes"],
        NA if r["ms"] < 0 else float(r["ms"]),
        r["backend"],
        NA,
    )


def uwsgi_expected(r) -> tuple:
    took = r["us"] / 1000 if r["tcp"] else float(max(r["ms"], 0))
    return (
        pd.Timestamp(r["time"]).floor("s"),
        r["client"],
        r["method"],
        r["path"],
        r["status"],
        r["bytes"],
        took,
        NA,
        r["user"] or NA,
    )


@pytest.mark.parametrize("kind", ["haproxy", "uwsgi"])
@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records, min_size=1, max_size=8))
def test_rendered_records_parse_back_to_the_same_values(kind, batch):
    render, parse, expected = {
        "haproxy": (haproxy_line, parse_haproxy, haproxy_expected),
        "uwsgi": (uwsgi_line, parse_uwsgi, uwsgi_expected),
    }[kind]
    lines = [render(r) for r in batch]
    assert all(registry.detect(line.encode()) == kind for line in lines)
    check(parse(("\n".join(lines) + "\n").encode()), [expected(r) for r in batch])


# the servers' own messages ----------------------------------------------------------------------
UWSGI_BANNER = """*** Starting uWSGI 2.0.21 (64bit) on [Sun May 26 11:40:00 2024] ***
compiled with version: 12.2.0 on 26 May 2024 10:00:00
os: Linux-5.15.0-105-generic #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024
nodename: web-7d9f8c
machine: x86_64
clock source: unix
pcre jit disabled
detected number of CPU cores: 2
current working directory: /app
detected binary path: /usr/local/bin/uwsgi
uWSGI running as root, you can use --uid/--gid/--chroot options
*** WARNING: you are running uWSGI as root !!! (use the --uid flag) ***
your memory page size is 4096 bytes
detected max file descriptor number: 1048576
lock engine: pthread robust mutexes
thunder lock: disabled (you can enable it with --thunder-lock)
uwsgi socket 0 bound to TCP address :8000 fd 3
Python version: 3.11.9 (main, May 14 2024, 08:00:00) [GCC 12.2.0]
*** Python threads support is disabled. You can enable it with --enable-threads ***
Python main interpreter initialized at 0x55d0c1a2b3c0
your server socket listen backlog is limited to 100 connections
your mercy for graceful operations on workers is 60 seconds
mapped 145840 bytes (142 KB) for 1 cores
*** Operational MODE: single process ***
WSGI app 0 (mountpoint='') ready in 1 seconds on interpreter 0x55d0c1a2b3c0 pid: 7 (default app)
*** uWSGI is running in multiple interpreter mode ***
spawned uWSGI master process (pid: 7)
spawned uWSGI worker 1 (pid: 8, cores: 1)""".splitlines()
UWSGI_LATER = [
    "Sun May 26 11:42:00 2024 - SIGPIPE: writing to a closed pipe/socket/fd (probably the client "
    "disconnected) on request /items/3 (ip 172.17.0.1) !!!",
    "SIGINT/SIGQUIT received...killing workers...",
    "worker 1 buried after 1 seconds",
    "goodbye to uWSGI.",
]
HAPROXY_STARTUP = [
    "May 26 11:40:00 lb1 haproxy[1234]: Proxy fe_http started.",
    "May 26 11:40:00 lb1 haproxy[1234]: Proxy be_app started.",
    "May 26 11:40:01 lb1 haproxy[1234]: Server be_app/app1 is UP, reason: Layer4 check passed, "
    "check duration: 0ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total "
    "in queue.",
    "May 26 11:40:01 lb1 haproxy[1234]: Server be_app/app2 is DOWN, reason: Layer4 connection "
    'problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers '
    "left. 0 sessions active, 0 requeued, 0 remaining in queue.",
    "May 26 11:40:01 lb1 haproxy[1234]: backend be_app has no server available!",
    "[NOTICE]   (1) : New worker (8) forked",
    "[WARNING]  (8) : Server be_app/app1 is going DOWN for maintenance.",
]


def _lines(count: int, make) -> list[str]:
    return [make(k) for k in range(count)]


def test_a_uwsgi_log_with_its_startup_banner_is_read_as_uwsgi_and_the_banner_quarantined():
    """uWSGI writes its banner (28 lines here) and its workers' messages into the request log:
    detection counts them as the format's own lines, so the file is read as uwsgi although
    they are more than a tenth of its first lines, and each is quarantined as no request."""
    requests = _lines(60, lambda k: UWSGI_LINE.replace("req: 1/1", f"req: {k + 1}/{k + 1}"))
    lines = [*UWSGI_BANNER, *requests[:30], UWSGI_LATER[0], *requests[30:], *UWSGI_LATER[1:]]
    data = ("\n".join(lines) + "\n").encode()
    assert len(UWSGI_BANNER) + len(UWSGI_LATER) > 0.3 * len(lines)
    assert registry.detect(data) == "uwsgi"
    parsed = parse_uwsgi(data)
    assert len(parsed.candidates) == 60
    assert parsed.rejects["line_number"].tolist() == [
        *range(1, len(UWSGI_BANNER) + 1),
        len(UWSGI_BANNER) + 31,
        *range(len(lines) - 2, len(lines) + 1),
    ]
    from transforms.reason_codes import reason_codes

    assert set(reason_codes(parsed.rejects["reasons"])) == {"format_mismatch;not_a_request"}


def test_a_haproxy_log_that_starts_with_a_restart_is_read_as_haproxy():
    """HAProxy's startup and server-state messages before its request lines are its own: the
    file is HAProxy's (not syslog's, which reads every line), the messages quarantined."""
    requests = _lines(40, lambda k: HTTP_NO_HEADERS)
    data = ("\n".join([*HAPROXY_STARTUP, *requests]) + "\n").encode()
    assert registry.detect(data) == "haproxy"
    parsed = parse_haproxy(data)
    assert len(parsed.candidates) == 40
    assert parsed.rejects["line_number"].tolist() == list(range(1, len(HAPROXY_STARTUP) + 1))
    assert all(r.endswith("not a request") for r in parsed.rejects["reasons"])


def test_server_messages_alone_or_among_other_lines_choose_no_request_format():
    """A file of nothing but HAProxy's messages stays syslog's (its events are kept); messages
    count for a format only beside its own records, and lines no format knows still count
    against it."""
    assert registry.detect(("\n".join(HAPROXY_STARTUP[:5]) + "\n").encode()) == "syslog"
    junk = _lines(10, lambda k: f"Traceback line {k}: something the app printed")
    data = "\n".join([*UWSGI_BANNER[:5], *_lines(30, lambda k: UWSGI_LINE), *junk]) + "\n"
    with pytest.raises(FileFormatError, match="uwsgi 78%"):
        registry.detect(data.encode())


def test_an_ipv6_client_in_brackets_is_kept_without_them():
    line = (
        "Feb  6 12:14:22 localhost haproxy[14389]: [2001:db8::1]:33325 "
        "[06/Feb/2009:12:14:22.655] http-in static/srv1 0/0/1/2/3 200 120 - - ---- 1/1/1/1/0 0/0"
        ' "GET /v6 HTTP/1.1"'
    )
    captured = line.replace('0/0 "GET', '0/0 {curl/8.0} "GET')  # read by the regex
    parsed = parse_haproxy(f"{line}\n{captured}\n".encode())
    assert parsed.candidates["client_ip"].tolist() == ["2001:db8::1", "2001:db8::1"]
    assert registry.detect((line + "\n").encode()) == "haproxy"
