"""Access lines logged as the message of a service-log event or a JSON record are requests."""

import pandas as pd
import pytest

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.embedded import message_requests
from transforms.formats.jsonl.parse import parse_jsonl

AS_OF = pd.Timestamp("2026-12-01", tz="UTC")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # uvicorn's access logger
        ('172.17.0.1:51234 - "GET /items/42?q=1 HTTP/1.1" 200',
         ("GET", "/items/42?q=1", "200", None, "172.17.0.1", None)),
        ('[::1]:51234 - "POST /items HTTP/1.1" 422', ("POST", "/items", "422", None, "[::1]", None)),
        # gunicorn's access logger (Common Log Format)
        ('172.17.0.1 - - [16/May/2024:10:20:33 +0000] "GET /api/users/42 HTTP/1.1" 200 88 "-" '
         '"curl/8.4.0"', ("GET", "/api/users/42", "200", "88", "172.17.0.1", None)),
        # Quarkus' access log: its time without brackets
        ('10.42.0.7 - - 16/May/2024:10:20:31 +0200 "GET /orders/42 HTTP/1.1" 200 512',
         ("GET", "/orders/42", "200", "512", "10.42.0.7", None)),
        # django.server
        ('"GET /api/items/ HTTP/1.1" 200 1234', ("GET", "/api/items/", "200", "1234", None, None)),
        # eventlet's WSGI server under oslo.log (OpenStack's APIs): time in seconds
        ('[req-38101a0b 113d3a99 54fadb41 - - -] 10.11.10.1 "GET /v2/servers/detail HTTP/1.1" '
         "status: 200 len: 1893 time: 0.2477829",
         ("GET", "/v2/servers/detail", "200", "1893", "10.11.10.1", "247.7829")),
        # morgan's dev and tiny formats
        ("GET /api/users 200 12.345 ms - 123", ("GET", "/api/users", "200", None, None, "12.345")),
        ("GET /api/users 404 9 - 0.512 ms", ("GET", "/api/users", "404", "9", None, "0.512")),
        # Reactor Netty's access log (Spring Cloud Gateway, WebFlux): the duration in ms last
        ('203.0.113.10 - - [12/Mar/2024:15:02:11 +0100] "GET /pets HTTP/1.1" 200 415 23',
         ("GET", "/pets", "200", "415", "203.0.113.10", "23")),
        # uvicorn's line with its own level, as journald or Docker keep it
        ('INFO:     10.0.3.17:51976 - "GET /api/v1/orders HTTP/1.1" 200 OK',
         ("GET", "/api/v1/orders", "200", None, "10.0.3.17", None)),
        # Heroku's router, in a Papertrail archive or a syslog drain (service= is the latency)
        ('at=info method=GET path="/api/v1/orders" host=shop.example.com request_id=9f1c0000 '
         'fwd="10.0.3.17" dyno=web.1 connect=1ms service=331ms status=200 bytes=6568 protocol=https',
         ("GET", "/api/v1/orders", "200", "6568", "10.0.3.17", "331")),
        ('at=error code=H12 desc="Request timeout" method=POST path="/slow" host=a.herokuapp.com '
         'request_id=x fwd="5.6.7.8,10.0.0.1" dyno=web.1 connect=0ms service=30000ms status=503 '
         "bytes=0 protocol=https", ("POST", "/slow", "503", "0", "5.6.7.8", "30000")),
    ],
)  # fmt: skip
def test_access_lines_in_messages(message, expected):
    found = message_requests(pd.Series([message, "an ordinary message"], dtype="str"))
    assert found is not None and found.index.tolist() == [0]
    row = found.iloc[0]
    method, path, status, size, client, latency = expected
    assert (row["method"], row["path"], row["status_code"]) == (method, path, status)
    assert (None if pd.isna(row["bytes_sent"]) else row["bytes_sent"]) == size
    assert (None if pd.isna(row["client_ip"]) else row["client_ip"]) == client
    if latency is None:
        assert pd.isna(row["latency_ms"])
    else:
        assert float(row["latency_ms"]) == pytest.approx(float(latency))


def test_messages_that_only_mention_a_request_are_no_request():
    messages = pd.Series(
        ['Proxying "GET /x HTTP/1.1" 200 upstream', "took 12 ms", "GET is not allowed"],
        dtype="str",
    )
    assert message_requests(messages) is None


def test_python_logging_of_uvicorns_access_logger_is_requests():
    data = (
        b"2024-05-16 10:20:30,101 - uvicorn.error - INFO - Started server process [1]\n"
        b'2024-05-16 10:20:33,123 - uvicorn.access - INFO - 172.17.0.1:51234 - "GET /items/42?q=1 '
        b'HTTP/1.1" 200\n'
        b"2024-05-16 10:20:35,789 - app.main - ERROR - database timeout\n"
    )
    assert registry.detect(data) == "python"
    parsed = registry.parse(data, "python", as_of=AS_OF)
    events = canonical_events(parsed, source="t", as_of=AS_OF).events
    assert len(events) == 3
    requests = events[events["endpoint"].notna()]
    assert requests["path"].tolist() == ["/items/42?q=1"]
    assert requests["status_code"].tolist() == [200]
    assert requests["service"].tolist() == ["uvicorn.access"]
    assert events["level"].tolist() == ["INFO", "INFO", "ERROR"]


def test_a_winston_record_whose_message_is_a_morgan_line_is_a_request():
    data = (
        b'{"level":"info","message":"listening on 3000","timestamp":"2024-05-16T08:20:29.900Z"}\n'
        b'{"level":"http","message":"::ffff:172.18.0.1 - - [16/May/2024:08:20:30 +0000] \\"GET '
        b'/api/users/42 HTTP/1.1\\" 200 512 \\"-\\" \\"curl/8.5.0\\"","timestamp":'
        b'"2024-05-16T08:20:30.123Z"}\n'
    )
    rows = parse_jsonl(data).candidates
    assert rows["path"].isna().tolist() == [True, False]
    request = rows.iloc[1]
    assert (request["method"], request["path"], request["status_code"]) == (
        "GET",
        "/api/users/42",
        200,
    )
    assert request["bytes_sent"] == 512 and request["level"] == "INFO"


def test_heroku_router_lines_in_a_syslog_archive_are_requests():
    """Papertrail's command line prints a Heroku app's lines behind a syslog header."""
    router = (
        'May 16 10:20:3{i} shop-prod heroku/router: at=info method=GET path="/api/v1/orders/{i}" '
        'host=shop.example.com request_id=9f1c000{i} fwd="10.0.3.17" dyno=web.1 connect=1ms '
        "service=33{i}ms status=200 bytes=6568 protocol=https"
    )
    app = "May 16 10:20:3{i} shop-prod app/web.1: Completed 200 OK in 12ms"
    data = "".join(f"{router.format(i=i)}\n{app.format(i=i)}\n" for i in range(3)).encode()
    assert registry.detect(data) == "syslog"
    events = canonical_events(
        registry.parse(data, "syslog", as_of=AS_OF), source="s", as_of=AS_OF
    ).events
    requests = events[events["endpoint"].notna()]
    assert requests["endpoint"].tolist() == ["/api/v1/orders/{id}"] * 3
    assert requests["latency_ms"].tolist() == [330.0, 331.0, 332.0]
    assert events["endpoint"].isna().sum() == 3  # the app's own lines stay events


def test_gitea_router_lines_are_requests_and_its_caller_and_level_are_read():
    """Gitea's (and Forgejo's) log: the caller, a letter for the level, then the message; its
    router's `completed` lines are requests (before 1.20: `Completed GET /x 200 OK in 3.1ms`,
    the client on the `Started` line before it, which stays an event)."""
    lines = [
        "2026/11/20 10:20:30 cmd/web.go:242:runWeb() [I] Starting Gitea on PID: 17",
        "2026/11/20 10:20:31 ...eb/routing/logger.go:102:func1() [I] router: completed GET "
        "/user/login for 172.18.0.1:0, 200 OK in 12.5ms @ auth/auth.go:159(auth.SignIn)",
        "2026/11/20 10:20:32 ...eb/routing/logger.go:102:func1() [W] router: completed POST "
        "/user/login for 172.18.0.1:0, 303 See Other in 85.3ms @ auth/auth.go:201(auth.SignInPost)",
        "2026/11/20 10:20:33 Started GET /api/v1/repos for 172.18.0.1:54321",
        "2026/11/20 10:20:33 Completed GET /api/v1/repos 500 Internal Server Error in 1.5s",
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "golog"
    events = canonical_events(
        registry.parse(data, "golog", as_of=AS_OF), source="gitea", as_of=AS_OF
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["level"].tolist() == ["INFO", "INFO", "WARNING", "INFO", "INFO"]
    assert kept["message"].iloc[0] == "Starting Gitea on PID: 17"
    requests = kept[kept["endpoint"].notna()]
    assert requests["method"].tolist() == ["GET", "POST", "GET"]
    assert requests["endpoint"].tolist() == ["/user/login", "/user/login", "/api/v1/repos"]
    assert requests["status_code"].tolist() == [200, 303, 500]
    assert requests["latency_ms"].tolist() == [12.5, 85.3, 1500.0]
    assert requests["client_ip"].tolist()[:2] == ["172.18.0.1", "172.18.0.1"]
