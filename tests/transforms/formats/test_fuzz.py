"""No input breaks a parser: random bytes, truncated files and lines of every format mixed,
fed to every named format (and to detection). Each file is either refused whole with a
FileFormatError (one quarantine row) or read with every record kept or quarantined, and the
canonical step accounts for every candidate too."""

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.prefixes import strip_prefix

pytestmark = pytest.mark.slow  # about 300 files through every parser and the canonical step

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
SAMPLES = [
    b"timestamp,endpoint,response_time_ms,status_code,user_id\n2026-11-01T10:00:00Z,/a,12,200,u1",
    b'{"ts": "2026-11-01T10:00:00Z", "path": "/a", "status": 200, "latency_ms": 3}',
    b"2026-11-01 10:00:00 ERROR orders charge failed path=/pay status=500",
    b'203.0.113.7 - - [01/Nov/2026:10:00:00 +0000] "GET /a?x=1 HTTP/1.1" 200 512 "-" "curl/8"',
    b'198.51.100.23 - - [01/Nov/2026:10:00:00 +0000] "-" 400 0',
    b"h2 2026-11-01T10:00:00.123Z app/lb/1 1.2.3.4:5 10.0.0.1:80 0.001 0.002 0.000 200 200 34 "
    b'366 "GET https://x:443/a HTTP/2.0" "curl/8" ECDHE AES - "Root=1"',
    b"Jul 30 09:03:52 lb haproxy[1]: 1.2.3.4:38862 [30/Jul/2018:09:03:52.726] fe be/s1 "
    b'0/0/1/0/2 304 168 - - ---- 6/6/0/0/0 0/0 "GET /x HTTP/1.1"',
    b"[pid: 7|app: 0|req: 1/1] 172.17.0.1 () {34 vars in 377 bytes} [Sun Mar 13 22:49:12 2016] "
    b"GET / => generated 11 bytes in 0 msecs (HTTP/1.1 200) 2 headers in 79 bytes (1 switches "
    b"on core 0)",
    b"#Fields: date time cs-method cs-uri-stem sc-status time-taken\n2026-11-01 10:00:00 GET /a 200 5",
    b'caddy  | {"ts": 1762000000.5, "request": {"uri": "/a"}, "status": 200}',
    b'[2026-11-01T10:00:00.310Z] "POST /a HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" '
    b'"cc21d9b0" "locations" "tcp://10.0.2.1:80"',
    b'[2026-11-01T10:00:00.409Z] "GET /s HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl" '
    b'"8496" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin 10.44.1.23:37652 '
    b"10.0.45.184:8000 10.44.1.23:46520 - default",
    b'{"ClientHost":"192.0.2.7","DownstreamStatus":0,"Duration":2500000,"RequestMethod":"GET",'
    b'"RequestPath":"/a","StartUTC":"2026-11-01T10:00:00.123456789Z"}',
    b'10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 2 "-" "curl" 262 "web" '
    b'"http://10.0.0.3:80" 2ms',
    b'<134>Nov  1 10:00:00 web1 nginx[312]: 10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET /a '
    b'HTTP/1.1" 200 2 "-" "curl"',
    b"2026-11-01T10:00:00.1Z stdout P 10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] ",
    b'2026-11-01T10:00:00.601635+00:00 heroku[router]: at=info method=GET path="/a?x=1" '
    b'host=a.herokuapp.com fwd="10.0.0.1" dyno=web.1 connect=0ms service=18ms status=200 bytes=13',
    b"2026-11-01T10:00:01+00:00 app[web.1]: Started GET /a",
    b"1762000000.601    112 10.0.0.1 TCP_MISS/200 10562 GET http://a.example/x - "
    b"HIER_DIRECT/10.0.0.5 text/html",
    b'[01/Nov/2026:10:00:00 +0000] - 502, 200 200 - GET https a.example "/a?x=1" [Client 10.0.0.1] '
    b'[Length 5] [Gzip 1.50] [Sent-to 10.0.0.2] "curl/8" "-"',
    b"2026-11-01T10:00:00.1Z stdout F info: App[14]\n2026-11-01T10:00:00.2Z stdout F       listening",
    b'[GIN] 2026/11/01 - 10:00:00 | 200 |     123.456\xc2\xb5s |       127.0.0.1 | GET      "/a"',
    b"2026/11/01 10:00:00 INFO request method=GET path=/a status=200 duration=1.2ms",
    b'2026-11-01T10:00:00.123456789Z INFO:     10.0.0.1:51234 - "GET /a HTTP/1.1" 200 OK',
    b"2026-11-01T10:00:00.123456789Z \x1b[0mGET /a?x=1 \x1b[32m200\x1b[0m 12.345 ms - 123\x1b[0m",
    b"2026-11-01T10:00:00.123Z ::ffff:10.0.0.1 - POST /a HTTP/1.1 201 45 - 3.210 ms",
    b'1.0;2026-11-01T10:00:00.0000000Z;GetBlob;Success;200;9;7;anonymous;;acct;blob;"https://a.'
    b'blob.core.windows.net/c/x.jpg?t=1";"/acct/c/x.jpg";a8-1;0;10.0.0.1:4567;2009-09-19;252;0;'
    b'265;100;0;;;"0x8D1";Thursday, 19-Jun-14 01:34:36 GMT;;"curl/8";;"id-1"',
    b"192.168.114.201, -, 11/01/26, 10:00:00, W3SVC2, WEB1, 172.21.13.45, 45, 163, 3223, 200, 0, "
    b"GET, /a.gif, x=1,",
    b'127.0.0.1 - - [01/Nov/2026 10:00:00] "GET /a HTTP/1.1" 200 -',
    b"#separator \\x09\n#path\thttp\n#fields\tts\tid.orig_h\tmethod\turi\tstatus_code\n"
    b"1762000000.5\t10.0.0.1\tGET\t/a\t200",
    b"Timestamp,Endpoint,Response Time (ms)\n11/01/2026 10:00 AM,/a,12",
    b'2026-11-01 10:00:00,123 - uvicorn.access - INFO - 10.0.0.1:5 - "GET /a HTTP/1.1" 200',
    b'[2026-11-01 10:00:00] production.ERROR: failed {"id":1} []\n[stacktrace]\n#0 /a.php(1): x()',
    b"[Nest] 1  - 11/01/2026, 10:00:00 AM     LOG [App] started",
    b"2026-11-01T10:00:00.000Z pid=1 tid=2 class=Job jid=3 INFO: done",
    b'[2026-11-01T10:00:00Z INFO  actix_web::middleware::logger] 10.0.0.1 "GET / HTTP/1.1" 200 1 '
    b'"-" "curl" 0.001',
]
FORMATS = sorted(registry.FORMATS)

lines = st.one_of(
    st.sampled_from(SAMPLES),
    st.binary(max_size=200),
    st.sampled_from(SAMPLES).flatmap(lambda s: st.integers(0, len(s)).map(lambda n: s[:n])),
    st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
files = st.lists(lines, min_size=0, max_size=12).map(b"\n".join)


def check_file(data: bytes, fmt: str) -> None:
    try:
        parsed = registry.parse(data, fmt)
    except FileFormatError as refused:
        assert str(refused)  # one sentence, for the file's one quarantine row
        return
    others = parsed.others  # a server's own lines read as events of their layout
    assert all(o.records_read == len(o.candidates) + len(o.rejects) for o in others)
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects) + sum(
        o.records_read for o in others
    )
    events = canonical_events(parsed, source="fuzz", as_of=AS_OF)
    assert len(events.events) + len(events.rejects) == parsed.records_read
    assert events.rejects["reasons"].str.len().gt(0).all()


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=files)
@example(data=b"\r\x01")  # a carriage return inside the header line (the csv module refused it)
def test_every_format_reads_or_refuses_any_input_without_an_exception(fmt, data):
    check_file(data, fmt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=files)
def test_detection_names_a_format_or_refuses_in_one_sentence(data):
    try:
        chosen = registry.detect(data)
    except FileFormatError as refused:
        assert "\n" not in str(refused).strip() or "could not detect" in str(refused)
        return
    check_file(data, chosen)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=files)
def test_prefix_stripping_keeps_every_line_and_never_raises(data):
    stripped, note = strip_prefix(data)
    assert stripped.count(b"\n") == data.count(b"\n")  # line numbers stay
    if note is None:
        assert stripped == data
    try:
        chosen = registry.detect(stripped)
    except FileFormatError:
        return
    check_file(stripped, chosen)
