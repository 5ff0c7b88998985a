"""Gin's default request log: lines as its logger middleware writes them (with and without
terminal colours), its debug output beside them, and detection."""

import pandas as pd
import pytest

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.reason_codes import reason_codes

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
DEBUG = [
    '[GIN-debug] [WARNING] Running in "debug" mode. Switch to "release" mode in production.',
    " - using env:\texport GIN_MODE=release",
    " - using code:\tgin.SetMode(gin.ReleaseMode)",
    "[GIN-debug] GET    /ping                     --> main.main.func1 (3 handlers)",
    "[GIN-debug] Listening and serving HTTP on :8080",
]
REQUESTS = [
    '[GIN] 2024/05/16 - 10:20:33 | 200 |     123.456µs |       127.0.0.1 | GET      "/ping"',
    '[GIN] 2024/05/16 - 10:20:34 | 404 |       1.2ms |     203.0.113.7 | POST     "/api/x?y=1"',
    '[GIN] 2024/05/16 - 10:20:35 | 500 |  2.500123s |     203.0.113.7 | GET      "/boom"',
    # to a terminal: status and method in colour; the path as Go quotes it
    "[GIN] 2024/05/16 - 10:20:36 |\x1b[97;41m 500 \x1b[0m|     2.1ms |             ::1 |"
    '\x1b[97;44m POST    \x1b[0m "/api/\\"q\\""',
]


def test_request_lines_with_their_debug_output():
    lines = [*DEBUG, *REQUESTS, "Error #01: boom"]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "gin"
    parsed = registry.parse(data, "gin")
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert parsed.records_read == len(events.events) + len(events.rejects)
    kept = events.events
    assert kept["ts"].iloc[0] == pd.Timestamp("2024-05-16T10:20:33Z")
    assert kept["status_code"].tolist() == [200, 404, 500, 500]
    assert kept["latency_ms"].tolist() == pytest.approx([0.123456, 1.2, 2500.123, 2.1])
    assert kept["client_ip"].tolist() == ["127.0.0.1", "203.0.113.7", "203.0.113.7", "::1"]
    assert kept["method"].tolist() == ["GET", "POST", "GET", "POST"]
    assert kept["path"].tolist() == ["/ping", "/api/x?y=1", "/boom", '/api/"q"']
    assert events.rejects["line_number"].tolist() == [1, 2, 3, 4, 5, 10]
    assert set(reason_codes(events.rejects["reasons"])) == {"format_mismatch;not_a_request"}


def test_a_gin_line_is_gin_alone():
    for line in REQUESTS:
        claims = [
            n
            for n, f in registry.FORMATS.items()
            if n not in registry.GENERIC and f.looks_like(line)
        ]
        assert claims == ["gin"]
    only_debug = ("\n".join(DEBUG) + "\n").encode()
    assert registry.shares(only_debug, DEBUG).get("gin", 0) == 0


def test_krakends_access_log_is_gins_with_its_own_name():
    lines = [
        '[KRAKEND] 2024/03/12 - 14:02:11 [AccessLog] | 200 |   23.857900ms |    203.0.113.10 | GET     "/pets"',
        '[KRAKEND] 2024/03/12 - 14:02:25 [AccessLog] | 201 |   91.282400ms |      192.0.2.77 | POST    "/pets"',
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "gin"
    parsed = registry.parse(data, "gin")
    assert parsed.rejects.empty
    assert parsed.candidates["status_code"].tolist() == [200, 201]
    assert parsed.candidates["latency_ms"].tolist() == [23.8579, 91.2824]
    assert parsed.candidates["path"].tolist() == ["/pets", "/pets"]
