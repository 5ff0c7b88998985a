"""Squid's native access log: lines as Squid's documentation of `logformat squid` and its
result codes describe them, status 000, CONNECT tunnels, and detection."""

import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
LINES = [
    "1716723772.601    112 192.168.0.10 TCP_MISS/200 10562 GET "
    "http://www.example.com/index.html - HIER_DIRECT/93.184.216.34 text/html",
    "1716723773.128      0 192.168.0.11 TCP_DENIED/407 3902 GET http://ads.example.net/x "
    "- HIER_NONE/- text/html",
    "1716723774.002  60543 192.168.0.10 TCP_TUNNEL/200 5120 CONNECT www.google.com:443 alice "
    "HIER_DIRECT/142.250.74.36 -",
    "1716723775.500     12 192.168.0.12 TCP_MEM_HIT/200 1024 GET "
    "http://cdn.example.com/app.js?v=3 - HIER_NONE/- application/javascript",
    # no reply was sent: status 000
    "1716723776.750   2301 192.168.0.10 TCP_MISS_ABORTED/000 0 GET "
    "http://slow.example.com/api/v1/items/5 - HIER_DIRECT/10.0.0.5 -",
    "1716723777.000      0 192.168.0.13 NONE/000 0 NONE error:invalid-request - HIER_NONE/- -",
    # Squid 5 and later: a request refused before it was parsed
    "1716723778.000      0 192.168.0.13 NONE_NONE/400 3810 NONE error:invalid-request - "
    "HIER_NONE/- text/html",
    "1716723779.000      0 192.168.0.14 NONE_NONE/000 0 - error:transaction-end-before-headers "
    "- HIER_NONE/- -",
]


def read(lines: list[str]):
    data = ("\n".join(lines) + "\n").encode()
    parsed = registry.parse(data, "squid")
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert parsed.records_read == len(events.events) + len(events.rejects)
    return events


def test_native_lines_are_requests_with_every_field():
    events = read(LINES)
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].iloc[0] == pd.Timestamp("2024-05-26T11:42:52.601Z")
    assert kept["latency_ms"].tolist() == [112.0, 0.0, 60543.0, 12.0, 2301.0, 0.0, 0.0, 0.0]
    assert kept["client_ip"].iloc[1] == "192.168.0.11"
    assert kept["status_code"].tolist()[:4] == [200, 407, 200, 200]
    assert kept["status_code"].iloc[4:].isna().tolist() == [True, True, False, True]  # 000
    assert kept["bytes_sent"].tolist() == [10562, 3902, 5120, 1024, 0, 0, 3810, 0]
    assert kept["method"].tolist()[:3] == ["GET", "GET", "CONNECT"]
    assert kept["path"].tolist()[:4] == [
        "http://www.example.com/index.html",
        "http://ads.example.net/x",
        "www.google.com:443",
        "http://cdn.example.com/app.js?v=3",
    ]
    assert kept["endpoint"].tolist() == [
        "/index.html",
        "/x",
        "www.google.com:443",
        "/app.js",
        "/api/v1/items/{id}",
        "{connection}",  # error:invalid-request, no status: no request, a connection
        "{invalid}",  # refused before it was parsed: a response to no request
        "{connection}",
    ]
    assert pd.isna(kept["method"].iloc[5]) and pd.isna(kept["path"].iloc[5])
    assert kept["user_id"].isna().tolist() == [True, True, False] + [True] * 5
    attributes = [json.loads(a) for a in kept["attributes"]]
    assert attributes[0] == {
        "result": "TCP_MISS",
        "hierarchy": "HIER_DIRECT",
        "peer": "93.184.216.34",
        "content_type": "text/html",
    }
    assert attributes[4]["result"] == "TCP_MISS_ABORTED"


def test_a_squid_line_is_squid_alone_and_a_broken_one_is_named():
    data = ("\n".join(LINES) + "\n").encode()
    assert registry.detect(data) == "squid"
    assert [n for n, f in registry.FORMATS.items() if f.looks_like(LINES[0])] == ["squid"]
    events = read([LINES[0].replace(" 10562 ", " lots ")])
    assert events.events.empty
    assert "does not match the Squid native access log format" in events.rejects["reasons"].iloc[0]
