"""The W3C extended log format (IIS, CloudFront): columns from `#Fields:` lines, on hand-made
files in the layouts those servers write."""

import pandas as pd
import pytest

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.w3c import looks_like_w3c, parse_w3c

IIS = (
    "#Software: Microsoft Internet Information Services 10.0\n"
    "#Version: 1.0\n"
    "#Date: 2026-03-02 08:00:00\n"
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"
    "2026-03-02 08:00:01 10.0.0.5 GET /api/orders id=7&x=1 443 - 203.0.113.9 "
    "Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15\n"
    "2026-03-02 08:00:02 10.0.0.5 POST /api/login - 443 alice 2001:db8::1 curl/8.0 - 401 1 0 3\n"
    # the service restarted with more fields: a new header block
    "#Software: Microsoft Internet Information Services 10.0\n"
    "#Version: 1.0\n"
    "#Date: 2026-03-02 09:00:00\n"
    "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query c-ip cs-host sc-status "
    "sc-bytes cs-bytes time-taken\n"
    "2026-03-02 09:00:00 W3SVC1 GET /health - 10.1.1.1 example.com 200 512 80 0\n"
)


def candidates(text: str) -> pd.DataFrame:
    return parse_w3c(text.encode()).candidates


def test_each_header_block_is_read_with_its_own_fields():
    parsed = parse_w3c(IIS.encode())
    assert parsed.records_read == 3  # directive lines are not records
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["line_number"].tolist() == [5, 6, 11]
    assert rows["ts"].tolist() == [
        pd.Timestamp("2026-03-02 08:00:01", tz="UTC"),
        pd.Timestamp("2026-03-02 08:00:02", tz="UTC"),
        pd.Timestamp("2026-03-02 09:00:00", tz="UTC"),
    ]
    assert rows["method"].tolist() == ["GET", "POST", "GET"]
    assert rows["path"].tolist() == ["/api/orders?id=7&x=1", "/api/login", "/health"]
    assert rows["status_code"].tolist() == [200, 401, 200]
    assert rows["client_ip"].tolist() == ["203.0.113.9", "2001:db8::1", "10.1.1.1"]
    assert rows["latency_ms"].tolist() == [15.0, 3.0, 0.0]  # IIS: milliseconds
    assert pd.isna(rows["bytes_sent"].iloc[0]) and rows["bytes_sent"].iloc[2] == 512
    assert rows["user_id"].isna().iloc[0] and rows["user_id"].iloc[1] == "alice"
    assert "time-taken read as milliseconds" in parsed.notes


def test_cloudfront_tab_separated_lines_with_time_taken_in_seconds():
    text = (
        "#Version: 1.0\n"
        "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem "
        "sc-status cs(Referer) cs(User-Agent) cs-uri-query x-edge-result-type time-taken\n"
        "2026-03-02\t10:15:00\tLAX1\t392\t192.0.2.100\tGET\td111.cloudfront.net\t/index.html\t"
        "200\t-\tMozilla/5.0%20(X11)\t-\tHit\t0.125\n"
        "2026-03-02\t10:15:01\tLAX1\t0\t192.0.2.101\tGET\td111.cloudfront.net\t/a.css\t"
        "304\t-\t-\tv=2\tRefreshHit\t0.002\n"
    )
    parsed = parse_w3c(text.encode())
    rows = parsed.candidates
    assert rows["latency_ms"].tolist() == pytest.approx([125.0, 2.0])
    assert rows["path"].tolist() == ["/index.html", "/a.css?v=2"]
    assert rows["bytes_sent"].tolist() == [392, 0]
    assert "time-taken read as seconds" in parsed.notes


ASPNET = (
    b"#Version: 1.0\n#Start-Date: 2021-09-29 22:18:28\n"
    b"#Fields: date time c-ip s-computername s-ip s-port cs-method cs-uri-stem cs-uri-query "
    b"sc-status time-taken cs-version cs-host cs(User-Agent) cs(Referer)\n"
    b"2021-09-29 22:18:28 ::1 DESKTOP-LH3TLTA ::1 5000 GET / - 200 59.9171 HTTP/1.1 "
    b"localhost:5000 Mozilla/5.0+(Windows+NT+10.0;+WOW64) -\n"
    b"2021-09-29 22:18:28 ::1 DESKTOP-LH3TLTA ::1 5000 GET / - 200 0.1802 HTTP/1.1 "
    b"localhost:5000 Mozilla/5.0+(Windows+NT+10.0;+WOW64) -\n"
)
"""ASP.NET Core's W3CLogger, as its documentation shows it: time-taken in ms with a fraction."""


def test_aspnet_core_time_taken_with_a_fraction_is_milliseconds():
    parsed = parse_w3c(ASPNET)
    assert parsed.candidates["latency_ms"].tolist() == [59.9171, 0.1802]
    assert "time-taken read as milliseconds" in parsed.notes


def test_aspnet_core_query_keeps_its_own_question_mark_once():
    """ASP.NET Core's W3CLogger writes `request.QueryString.Value`, which starts with `?`."""
    text = ASPNET.replace(b"GET / - 200 59.9171", b"GET /api/v1/orders ?page=2&size=50 200 42.4171")
    parsed = parse_w3c(text)
    assert parsed.candidates["path"].tolist() == ["/api/v1/orders?page=2&size=50", "/"]


def test_lines_without_their_fields_are_rejected_with_the_reason():
    text = (
        "2026-03-02 08:00:00 GET / 200\n"  # before any #Fields line
        "#Fields: date time cs-method cs-uri-stem sc-status\n"
        "2026-03-02 08:00:01 GET / 200\n"
        "2026-03-02 08:00:02 GET / 200 extra\n"
    )
    parsed = parse_w3c(text.encode())
    assert parsed.records_read == 3
    assert parsed.candidates["line_number"].tolist() == [3]
    reasons = dict(zip(parsed.rejects["line_number"], parsed.rejects["reasons"], strict=True))
    assert reasons[1].startswith("no #Fields: line before it")
    assert reasons[4] == "the line has 6 values, the #Fields: line 2 names 5"


def test_lines_of_a_fields_line_without_date_and_time_are_rejected_not_raised():
    # (a fuzz case: a #Fields: line naming one odd field, then CSV lines of one value each)
    text = (
        "#Fields: \x01\ntimestamp,endpoint,status\n"
        "#Fields: date time cs-uri-stem sc-status\n2026-03-02 08:00:01 /a 200\n"
    )
    parsed = parse_w3c(text.encode())
    assert parsed.records_read == 2 and parsed.candidates["line_number"].tolist() == [4]
    assert parsed.rejects["reasons"].tolist() == [
        "the #Fields: line 1 names no date and time; expected the W3C extended log format: "
        "`#Fields:` names the columns of the lines after it"
    ]
    events = canonical_events(parsed, source="iis", as_of=pd.Timestamp("2026-03-03", tz="UTC"))
    assert (len(events.events), len(events.rejects)) == (1, 1)
    nothing = parse_w3c(b"#Fields: \x01\n2026-03-02T08:00:01Z\n")
    events = canonical_events(nothing, source="iis", as_of=pd.Timestamp("2026-03-03", tz="UTC"))
    assert (len(events.events), len(events.rejects)) == (0, 1)


def test_a_line_written_with_an_earlier_header_block_is_read_with_it():
    # a writer changed its fields back without repeating the header: the line has as many
    # values as the first block's fields, not the second's
    text = (
        "#Fields: date time cs-method cs-uri-stem sc-status time-taken\n"
        "2026-03-02 08:00:00 GET /a 200 5\n"
        "#Fields: date time s-sitename cs-method cs-uri-stem sc-status sc-bytes time-taken\n"
        "2026-03-02 08:00:01 W3SVC1 GET /b 200 10 6\n"
        "2026-03-02 08:00:02 GET /c 404 7\n"
    )
    rows = candidates(text)
    assert rows["path"].tolist() == ["/a", "/b", "/c"]
    assert rows["status_code"].tolist() == [200, 200, 404]
    assert rows["latency_ms"].tolist() == [5.0, 6.0, 7.0]


def test_w3c_files_are_detected_by_their_directives():
    assert registry.detect(IIS.encode()) == "w3c"
    assert registry.detect(b"#Version: 1.0\n#Fields: date time\n") == "w3c"
    assert looks_like_w3c("#Fields: date time c-ip")
    assert not looks_like_w3c("# a comment")
    assert not looks_like_w3c('127.0.0.1 - - [02/Mar/2026:08:00:00 +0000] "GET / HTTP/1.1" 200 1')


def test_w3c_lines_become_canonical_events():
    events = canonical_events(
        parse_w3c(IIS.encode()), source="iis", as_of=pd.Timestamp("2026-03-03", tz="UTC")
    )
    assert events.rejects.empty
    assert events.events["endpoint"].tolist() == ["/api/orders", "/api/login", "/health"]
    assert events.events["status_code"].tolist() == [200, 401, 200]


def test_a_line_in_the_ansi_code_page_is_read_as_windows_1252():
    """IIS writes its logs in the system's ANSI code page when logInUTF8 is off: such a line is
    no UTF-8, and is read as Windows-1252 with a note, not quarantined."""
    data = (
        b"#Fields: date time cs-method cs-uri-stem sc-status time-taken\n"
        b"2024-05-26 11:42:54 GET /caf\xe9/men\xfc.aspx 200 15\n"
        b"2024-05-26 11:42:55 GET /api/items 200 3\n"
    )
    parsed = parse_w3c(data)
    assert parsed.rejects.empty
    assert parsed.candidates["path"].tolist() == ["/café/menü.aspx", "/api/items"]
    assert any("1 of its lines, not valid UTF-8, read as Windows-1252" in n for n in parsed.notes)


def test_http_sys_error_log_reads_its_whole_uri():
    """HTTP.sys's HTTPERR log names `cs-uri`, the whole URI, where IIS names stem and query;
    a connection that timed out logs no request and stays out of the requests."""
    text = (
        "#Software: Microsoft HTTP API 2.0\n#Version: 1.0\n#Date: 2024-03-12 14:02:11\n"
        "#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri streamid "
        "sc-status s-siteid s-reason s-queuename\n"
        "2024-03-12 14:02:11 203.0.113.10 50000 10.0.0.5 443 HTTP/1.1 GET /api/items?x=1 - 503 2 "
        "AppOffline DefaultAppPool\n"
        "2024-03-12 14:02:18 198.51.100.23 50017 10.0.0.5 443 - - - - - - Timer_ConnectionIdle -\n"
    )
    assert registry.detect(text.encode()) == "w3c"
    parsed = parse_w3c(text.encode())
    events = canonical_events(parsed, source="s", as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert events.events["path"].tolist() == ["/api/items?x=1"]
    assert events.events["status_code"].tolist() == [503]
    assert events.rejects["line_number"].tolist() == [6]
