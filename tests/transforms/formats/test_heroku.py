"""Heroku's router log: lines as Heroku's documentation of its HTTP routing shows them (from
`heroku logs` and from a log drain), the platform's and the app's own lines beside them, and
detection."""

import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
ROUTER = [
    # the documentation's example line
    '2012-10-11T22:14:49.253123+00:00 heroku[router]: at=info method=GET path="/" '
    "host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 "
    'fwd="204.204.204.204" dyno=web.1 connect=1ms service=18ms status=200 bytes=13 '
    "protocol=https",
    # an error: its code and description first
    '2012-10-11T22:14:50.000001+00:00 heroku[router]: at=error code=H12 desc="Request timeout" '
    'method=POST path="/api/orders?x=1" host=myapp.herokuapp.com request_id=0d3f1c7e '
    'fwd="10.1.2.3,204.204.204.204" dyno=web.2 connect=0ms service=30000ms status=503 bytes=0 '
    "protocol=https",
    # an older line: fwd unquoted, no request id; a crashed app leaves values empty
    '2010-10-06T21:51:37-07:00 heroku[router]: at=error code=H10 desc="App crashed" method=GET '
    "path=/favicon.ico host=myapp.herokuapp.com fwd=17.17.17.17 dyno= connect= service= "
    "status=503 bytes=",
    # a log drain's line (RFC 5424, with its octet count)
    "283 <158>1 2012-10-11T22:14:51.5+00:00 host heroku router - at=info method=GET "
    'path="/api/items/42" host=myapp.herokuapp.com request_id=ab12 fwd="198.51.100.7" '
    "dyno=web.1 connect=2ms service=7ms status=404 bytes=220 protocol=http",
]
INTERRUPTED = [
    # `sock=` first: the client (H27) or the dyno (H18) closed the socket mid-request
    '2010-10-06T21:52:09-07:00 heroku[router]: sock=client at=info code=H27 desc="Client '
    'Request Interrupted" method=POST path="/submit/" host=myapp.herokuapp.com '
    'request_id=5f5d6b92 fwd="204.204.204.204" dyno=web.1 connect=1ms service=0ms status=499 '
    "bytes=0 protocol=https",
    # an idle connection closed: no request, a status
    '2010-10-06T21:52:10-07:00 heroku[router]: at=error code=H15 desc="Idle connection" '
    "dyno=web.1 connect=1ms service=55449ms status=503 bytes=18",
]
PLATFORM = [
    '2012-10-11T22:14:49.100000+00:00 app[web.1]: Started GET "/" for 204.204.204.204',
    "2012-10-11T22:14:48.000000+00:00 heroku[web.1]: State changed from starting to up",
    "2012-10-11T22:14:47.000000+00:00 heroku[api]: Deploy 2c4e3f1 by user@example.com",
]


def read(lines: list[str], fmt: str = "heroku"):
    data = ("\n".join(lines) + "\n").encode()
    parsed = registry.parse(data, fmt)
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert parsed.records_read == len(events.events) + len(events.rejects)
    return events


def test_router_lines_are_requests_with_every_field():
    events = read(ROUTER)
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].tolist() == [
        pd.Timestamp("2012-10-11T22:14:49.253123Z"),
        pd.Timestamp("2012-10-11T22:14:50.000001Z"),
        pd.Timestamp("2010-10-07T04:51:37Z"),  # its offset applied
        pd.Timestamp("2012-10-11T22:14:51.5Z"),
    ]
    assert kept["method"].tolist() == ["GET", "POST", "GET", "GET"]
    assert kept["path"].tolist() == ["/", "/api/orders?x=1", "/favicon.ico", "/api/items/42"]
    assert kept["endpoint"].tolist() == ["/", "/api/orders", "/favicon.ico", "/api/items/{id}"]
    assert kept["status_code"].tolist() == [200, 503, 503, 404]
    # latency is `service`, the time the router spent proxying to the dyno; empty: null
    assert kept["latency_ms"].tolist()[:2] == [18.0, 30000.0]
    assert pd.isna(kept["latency_ms"].iloc[2]) and kept["latency_ms"].iloc[3] == 7.0
    assert kept["bytes_sent"].tolist()[:2] == [13, 0]
    assert pd.isna(kept["bytes_sent"].iloc[2])
    # the client is the first address of X-Forwarded-For
    assert kept["client_ip"].tolist() == [
        "204.204.204.204",
        "10.1.2.3",
        "17.17.17.17",
        "198.51.100.7",
    ]
    attributes = [json.loads(a) for a in kept["attributes"]]
    assert attributes[0] == {
        "at": "info",
        "host": "myapp.herokuapp.com",
        "request_id": "8601b555-6a83-4c12-8269-97c8e32cdb22",
        "fwd": "204.204.204.204",
        "dyno": "web.1",
        "connect": "1ms",
        "protocol": "https",
    }
    assert attributes[1]["code"] == "H12" and attributes[1]["desc"] == "Request timeout"
    assert pd.isna(kept["error_reason"].iloc[0])  # no error code: no error
    assert kept["error_reason"].tolist()[1:3] == ["H12 Request timeout", "H10 App crashed"]
    assert "dyno" not in attributes[2] and "service" not in attributes[2]  # empty: not logged


def test_the_apps_and_platforms_own_lines_are_events_of_their_dyno_and_detection_counts_them():
    lines = [PLATFORM[2], PLATFORM[1], ROUTER[0], PLATFORM[0], ROUTER[1]]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "heroku"
    events = read(lines)
    assert events.rejects.empty
    kept = events.events
    assert kept["line_number"].tolist() == [1, 2, 3, 4, 5]
    own = kept[kept["level"].notna()]
    assert own["line_number"].tolist() == [1, 2, 4]
    assert own["service"].tolist() == ["api", "web.1", "web.1"]
    assert own["level"].tolist() == ["INFO"] * 3 and own["endpoint"].isna().all()
    assert own["message"].tolist() == [
        "Deploy 2c4e3f1 by user@example.com",
        "State changed from starting to up",
        'Started GET "/" for 204.204.204.204',
    ]
    assert [json.loads(a)["stream"] for a in own["attributes"]] == ["heroku", "heroku", "app"]
    assert own["ts"].iloc[0] == pd.Timestamp("2012-10-11T22:14:47Z")
    assert kept["status_code"].notna().sum() == 2


def test_a_logged_level_at_the_start_of_an_apps_line_is_its_level():
    """An app line that starts with a level word (`[ERROR] ...`, `WARN: ...`, as many loggers
    print them) has that level, and a drain's syslog form reads as the plain one."""
    lines = [
        ROUTER[0],
        "2012-10-11T22:14:50.000000+00:00 app[worker.1]: [ERROR] payment failed: timeout",
        "<190>1 2012-10-11T22:14:51.000000+00:00 host app web.2 - WARN: slow query (812 ms)",
    ]
    kept = read(lines).events
    own = kept[kept["level"].notna()]
    assert own["level"].tolist() == ["ERROR", "WARNING"]
    assert own["service"].tolist() == ["worker.1", "web.2"]
    assert own["message"].tolist() == ["payment failed: timeout", "slow query (812 ms)"]


def test_a_router_line_is_heroku_alone_and_a_broken_one_is_named():
    for line in ROUTER:
        assert registry.detect(line.encode()) == "heroku"
    assert [n for n, f in registry.FORMATS.items() if f.looks_like(ROUTER[0])] == ["heroku"]
    bad = ROUTER[0].replace("status=200", "status=OK")
    events = read([bad])
    assert events.events.empty
    assert "status: 'OK' is not an integer status code" in events.rejects["reasons"].iloc[0]
    # only the platform's lines: no request, so no heroku file
    only_platform = ("\n".join(PLATFORM) + "\n").encode()
    assert registry.shares(only_platform, PLATFORM).get("heroku", 0) == 0


def test_interrupted_requests_and_idle_connections_are_kept():
    events = read(INTERRUPTED)
    assert events.rejects.empty
    kept = events.events
    assert kept["endpoint"].tolist() == ["/submit", "{invalid}"]
    assert kept["status_code"].tolist() == [499, 503]
    assert json.loads(kept["attributes"].iloc[0])["sock"] == "client"
    assert registry.detect(INTERRUPTED[0].encode()) == "heroku"


def test_an_apps_own_access_line_is_an_event_beside_the_routers_request_and_error_codes_are_errors():
    """A web server inside the dyno logs the request the router logged already: one request,
    the router's; a platform message with one of Heroku's error codes is an ERROR."""
    lines = [
        ROUTER[0],
        "2012-10-11T22:14:49.200000+00:00 app[web.1]: 10.1.22.33 - - [11/Oct/2012:22:14:49 +0000] "
        '"GET / HTTP/1.1" 200 1548 "-" "curl/8.4.0"',
        "2012-10-11T22:14:50.000000+00:00 heroku[web.1]: Error R14 (Memory quota exceeded)",
    ]
    kept = read(lines).events
    assert kept["status_code"].notna().sum() == 1 and kept["endpoint"].notna().sum() == 1
    own = kept[kept["level"].notna()]
    assert own["level"].tolist() == ["INFO", "ERROR"]
    assert own["message"].iloc[0].startswith("10.1.22.33 - - [11/Oct/2012:22:14:49 +0000]")
