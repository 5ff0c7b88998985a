"""The one-pass Arrow readers for clean csv and jsonl files, and the splits of plain access,
HAProxy and uWSGI lines, give exactly what the line-by-line readers and regexes give on the
same bytes: the same candidates, rejects, reasons and raw text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bench.ingest import events, write_csv, write_haproxy, write_jsonl, write_uwsgi
from transforms.canonical import canonical_events
from transforms.formats import access, delimited, jsonl, proxies, proxy_splits, registry

AS_OF = pd.Timestamp("2026-11-01", tz="UTC")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return events(3_000)


def _with_bad_values(path, fmt: str) -> bytes:
    """Well-formed lines whose values fail: a status that is not a number, a negative latency,
    a timestamp in the future; the structure stays clean, so the fast path still applies."""
    lines = path.read_bytes().split(b"\n")
    if fmt == "csv":
        for number, position, value in ((5, 3, b"abc"), (7, 2, b"-5")):
            parts = lines[number].split(b",")
            parts[position] = value
            lines[number] = b",".join(parts)
        lines[9] = b"2031" + lines[9][4:]
    else:
        lines[5] = lines[5].replace(b'"status":', b'"status":"abc","x":')
        lines[7] = lines[7].replace(b'"latency_ms":', b'"latency_ms":-5,"y":')
        lines[9] = lines[9].replace(b'"timestamp":"2026', b'"timestamp":"2031')
    return b"\n".join(lines)


def _both(monkeypatch, data: bytes, fmt: str):
    fast = registry.parse(data, fmt)
    if fmt == "csv":
        monkeypatch.setattr(delimited, "read_clean", lambda *a, **k: None)
    else:
        monkeypatch.setattr(jsonl.parse, "read_with_arrow", lambda *a, **k: None)
    slow = registry.parse(data, fmt)
    return fast, slow


@pytest.mark.parametrize("bad_values", [True, False], ids=["bad-values", "clean"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_fast_and_line_by_line_readers_agree(tmp_path, monkeypatch, frame, fmt, bad_values):
    path = tmp_path / f"requests.{fmt}"
    (write_csv if fmt == "csv" else write_jsonl)(frame, path)
    data = _with_bad_values(path, fmt) if bad_values else path.read_bytes()
    fast, slow = _both(monkeypatch, data, fmt)
    if fmt == "csv":
        assert fast.raw_lines is not None and "raw" not in fast.candidates  # the fast path ran
    assert fast.records_read == slow.records_read == len(frame)
    columns = [c for c in slow.candidates if c != "raw"]
    pd.testing.assert_frame_equal(
        fast.candidates[columns].reset_index(drop=True),
        slow.candidates[columns].reset_index(drop=True),
        check_dtype=True,
    )
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects)
    assert len(fast.rejects) == (1 if bad_values else 0)  # the bad status does not convert
    rows = range(len(fast.candidates))
    assert fast.raw(rows).tolist() == slow.raw(rows).tolist()

    fast_events = canonical_events(fast, source="s", as_of=AS_OF)
    slow_events = canonical_events(slow, source="s", as_of=AS_OF)
    pd.testing.assert_frame_equal(fast_events.events, slow_events.events)
    pd.testing.assert_frame_equal(fast_events.rejects, slow_events.rejects)
    reasons = " ".join(fast_events.rejects["reasons"])
    if bad_values:
        assert "latency_ms" in reasons and "in the future" in reasons
    else:
        assert fast_events.rejects.empty and len(fast_events.events) == len(frame)
    lines = data.decode().split("\n")
    for number, raw in zip(
        fast_events.rejects["line_number"], fast_events.rejects["raw"], strict=True
    ):
        assert raw == lines[number - 1]


FIXTURES = Path(__file__).parent / "fixtures"
TRICKY_ACCESS_LINES = [
    '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl/8"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a b/c HTTP/1.1" 200 - "-" "x y" 0.120',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1 extra" 404 0 "-" "-" 1234',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "-" 400 0 "-" "-" -',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "" 408 0 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET  /double HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /q?x=\\"y\\" HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" 0.1 0.05, 0.02',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" rt=0.2 urt="0.1"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"rt=0.2',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" - - "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" 0.1 ',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-"  "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" \u0661.\u0662',
    '2001:db8::1 - - [32/Oct/2000:13:55:36 -0700] "POST /x HTTP/2.0" 201 12 "https://r/" "UA"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 -  - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 0.3',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200',
    '10.0.0.1\t- - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 www.example.com bob [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"',
]


def _regex_only(monkeypatch):
    monkeypatch.setattr(
        access.lines, "extract_with", lambda texts, regex, fast: access.extract(texts, regex)
    )


@pytest.mark.parametrize("fmt", ["common", "combined"])
@pytest.mark.parametrize(
    "source", [*sorted(p.name for p in FIXTURES.glob("access_*.log")), "tricky"]
)
def test_access_split_and_regex_agree(monkeypatch, fmt, source):
    if source == "tricky":
        data = "\n".join(TRICKY_ACCESS_LINES).encode() + b"\n"
    else:
        data = (FIXTURES / source).read_bytes()
    fast = registry.parse(data, fmt)
    _regex_only(monkeypatch)
    slow = registry.parse(data, fmt)
    pd.testing.assert_frame_equal(fast.candidates, slow.candidates)
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects)
    assert fast.notes == slow.notes


def test_access_split_takes_the_plain_lines_and_leaves_the_rest_to_the_regex():
    lines = pa.array(TRICKY_ACCESS_LINES, pa.large_string())
    columns, done = access.clf.clf_fast_split(combined=True)(lines)
    taken = [line for line, d in zip(TRICKY_ACCESS_LINES, done, strict=True) if d]
    assert taken == [TRICKY_ACCESS_LINES[i] for i in (0, 3, 4, 10, 14, 15, 21)]
    assert columns["path"].to_pylist() == ["/a.gif", None, None, "/", "/x", "/", "/"]
    assert columns["method"].to_pylist() == ["GET", None, None, "GET", "POST", "GET", "GET"]
    assert columns["ident"].to_pylist()[-1] == "www.example.com"
    assert columns["user"].to_pylist()[-1] == "bob"
    assert columns["status"].to_pylist()[3] == "-" and columns["bytes"].to_pylist()[3] == "-"
    assert columns["request_time"].to_pylist() == [None, "-", None, None, None, None, None]
    assert columns["time"].to_pylist()[0] == "10/Oct/2000:13:55:36 -0700"
    assert columns["time"].to_pylist()[5] == "10/Oct/2000:13:55:36"
    assert columns["client_list"].to_pylist()[4] == "2001:db8::1"


HAPROXY_HEADER = "Dec 10 12:01:46 voyager haproxy[19312]: "
HAPROXY_PLAIN = (
    "127.0.0.1:35982 [10/Dec/2018:12:01:46.395] http-webservices http-webservices/<NOSRV> "
    '0/-1/-1/-1/0 503 213 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"'
)
TRICKY_HAPROXY_LINES = [
    HAPROXY_HEADER + HAPROXY_PLAIN,  # HAProxy's own documentation and Filebeat's fixtures
    HAPROXY_PLAIN,  # `log ... format raw`: no syslog header
    "<134>Oct  1 00:00:01 lb haproxy[1]: 2001:db8::1:4444 [01/Oct/2026:00:00:01.564] fe~ "
    'api/web1 0/0/1/12/13 200 512 - - ---- 6/6/0/0/0 0/0 "POST /api/v1/items?id=7 HTTP/2.0"',
    "Oct 01 00:00:01 haproxy[1]: 10.0.0.1:1 [01/Oct/2026:00:00:01.564] fe~~ api/web1/x "
    '0/0/1/-1/-1 -1 0 - - CD-- 6/6/0/0/0 0/0 "GET /a\\x HTTP/1.0"',
    HAPROXY_HEADER + HAPROXY_PLAIN.replace(" 0/0 ", " 0/0 {host||} {|||} "),
    HAPROXY_HEADER + HAPROXY_PLAIN.replace("GET /", "GET http://example.com/"),
    HAPROXY_HEADER + HAPROXY_PLAIN.replace("GET /", "GET /a b"),
    HAPROXY_HEADER + HAPROXY_PLAIN.replace("GET / HTTP/1.1", "GET /"),
    HAPROXY_HEADER + HAPROXY_PLAIN.replace(" 213 ", " +213 "),
    HAPROXY_HEADER + HAPROXY_PLAIN.replace("0/0 ", '0/0 "x" '),
    HAPROXY_HEADER + HAPROXY_PLAIN.replace("/0 503", "/+0 503"),
    "2018-12-10T12:01:46+00:00 voyager haproxy[19312]: " + HAPROXY_PLAIN,
    "<134>1 2018-12-10T12:01:46Z voyager haproxy 19312 - - " + HAPROXY_PLAIN,
    HAPROXY_HEADER + HAPROXY_PLAIN + " - - SSL_ERROR/0/0/0/0 example.com TLSv1.3 AES",
    "Sep 20 15:44:23 127.0.0.1 haproxy[25457]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] "
    "main app/<NOSRV> -1/-1/1 212 SC 1/1/0/0/0 0/0",
    "Connect from 1.2.3.4:40780 to 1.2.3.4:5000 (main/HTTP)",
    HAPROXY_HEADER + HAPROXY_PLAIN.replace("10/Dec/2018", "32/Dec/2018"),
]
UWSGI_PLAIN = (
    "[pid: 7|app: 0|req: 1/1] 172.17.0.1 () {34 vars in 377 bytes} [Sun Mar 13 22:49:12 2016] "
    "GET /?x=1 => generated 11 bytes in 0 msecs (HTTP/1.1 200) 2 headers in 79 bytes "
    "(1 switches on core 0)"
)
TRICKY_UWSGI_LINES = [
    UWSGI_PLAIN,  # uWSGI's documentation
    UWSGI_PLAIN.replace("()", "(alice)").replace("0 msecs", "12345 micros"),
    UWSGI_PLAIN.replace("Mar 13", "Mar  3").replace("172.17.0.1 ", " "),
    UWSGI_PLAIN.replace("GET /?x=1", "- -").replace("HTTP/1.1 200", "- 414"),
    UWSGI_PLAIN.replace("(HTTP/1.1 200)", "( 200)"),
    UWSGI_PLAIN.replace("0 msecs", "0 msecs via sendfile()"),
    "shop.example.com " + UWSGI_PLAIN,
    "{address space usage: 81920000 bytes/78MB} " + UWSGI_PLAIN,
    UWSGI_PLAIN.replace("()", "(john doe)"),
    UWSGI_PLAIN.replace("/?x=1", "/a b => generated 1 c"),
    UWSGI_PLAIN.replace("/?x=1", "/a b"),
    UWSGI_PLAIN.replace("Mar 13", "Feb 30"),
    UWSGI_PLAIN.replace(" (HTTP/1.1 200)", ""),
    "*** Starting uWSGI 2.0.23 (64bit) on [Wed Feb 21 10:00:00 2024] ***",
]
PROXY_SPLITS = {
    "haproxy": (proxy_splits.haproxy_split, TRICKY_HAPROXY_LINES, write_haproxy),
    "uwsgi": (proxy_splits.uwsgi_split, TRICKY_UWSGI_LINES, write_uwsgi),
}


@pytest.mark.parametrize("fmt", ["haproxy", "uwsgi"])
def test_proxy_split_and_regex_agree(tmp_path, monkeypatch, frame, fmt):
    _split, tricky, writer = PROXY_SPLITS[fmt]
    writer(frame, tmp_path / fmt)
    data = "\n".join(tricky).encode() + b"\n" + (tmp_path / fmt).read_bytes()
    fast = registry.parse(data, fmt)
    _regex_only(monkeypatch)
    slow = registry.parse(data, fmt)
    assert len(fast.candidates) >= len(frame)
    pd.testing.assert_frame_equal(fast.candidates, slow.candidates)
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects)
    assert fast.notes == slow.notes


@pytest.mark.parametrize(
    ("fmt", "taken", "regex"),
    [
        ("haproxy", [0, 1, 2, 3, 16], proxies.HAPROXY_RE),
        ("uwsgi", [0, 1, 2, 3, 4, 11], proxies.UWSGI_RE),
    ],
)
def test_proxy_split_takes_the_plain_lines_and_gives_the_regex_groups(fmt, taken, regex):
    split, tricky, _writer = PROXY_SPLITS[fmt]
    columns, done = split(pa.array(tricky, pa.large_string()))
    assert np.flatnonzero(done).tolist() == taken
    for row, line in enumerate(tricky[i] for i in taken):
        groups = regex.fullmatch(line).groupdict()
        assert {name: columns[name][row].as_py() for name in groups} == groups
