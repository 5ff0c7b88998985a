"""Caddy's and Traefik's access logs as named formats (transforms.formats.webproxies): their
keys, Traefik's text layout (the lines of Filebeat's Traefik fixture, as Traefik wrote them),
detection against jsonl and combined, and reading in pieces."""

import pandas as pd
import pytest

from tests.helpers import candidate_rows
from tests.transforms.formats.test_prefixes import CADDY, COMBINED, TRAEFIK
from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.webproxies import looks_like_caddy, looks_like_traefik
from transforms.reading import read_events

NA = None
AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
COLUMNS = (
    "ts",
    "client_ip",
    "method",
    "path",
    "status_code",
    "bytes_sent",
    "latency_ms",
    "service",
    "level",
)
CADDY_OWN = (
    '{"level":"info","ts":1646861400.1,"logger":"tls","msg":"finished cleaning storage units"}'
)
TRAEFIK_OWN = (
    '{"level":"info","msg":"Configuration loaded from flags.","time":"2026-03-02T10:14:00Z"}'
)
# Filebeat's traefik/access fixture: Traefik 1.x lines, and a plain Common line
TRAEFIK_TEXT = [
    '192.168.33.1 - - [02/Oct/2017:20:22:07 +0000] "GET /ui/favicons/favicon-16x16.png HTTP/1.1" '
    '304 0 "http://example.com/login" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, '
    'like Gecko) Chrome/61.0.3163.100 Safari/537.36" 262 "Host-host-1" "http://172.19.0.3:5601" '
    "2ms",
    '70.29.80.15 - - [28/Feb/2018:17:30:33 +0000] "GET /en/ HTTP/2.0" 200 2814 - "Mozilla/5.0 '
    '(iPhone; CPU iPhone OS 11_2_5 like Mac OS X)" 13 "Host-host1-com-0" "http://172.19.0.6:14008" '
    "247ms",
    '::1 - - [29/Nov/2018:15:03:51 +0000] "GET / HTTP/1.1" 404 19 "-" "curl/7.62.0" 10 "backend '
    'not found" "/" 0ms',
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
]


def text(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def rows(parsed):
    return candidate_rows(parsed, COLUMNS)


def test_caddy_lines_given_expected_and_its_own_entries_kept_as_log_events():
    parsed = registry.parse(text(CADDY_OWN, CADDY), "caddy")
    assert parsed.rejects.empty and parsed.format == "caddy"
    got = rows(parsed)
    assert got[0] == (pd.Timestamp("2022-03-09T21:30:00.1Z"), *[NA] * 6, "tls", "INFO")
    t = pd.Timestamp(1646861401.5241024, unit="s", tz="UTC").as_unit("us")
    assert got[1][:7] == (t, "203.0.113.9", "GET", "/api/v1/items?page=2", 200, 10900, 12.345)
    assert parsed.notes[0].startswith("Caddy's keys mapped: ts <- ts, service <- logger, method <-")
    events = canonical_events(parsed, source="web", as_of=AS_OF)
    assert events.rejects.empty and len(events.events) == 2


def test_caddys_error_log_entry_for_a_request_is_an_event_beside_its_access_entry():
    """Caddy's error logger logs a request the proxy failed (with its URI and status), and its
    access logger logs the same request: one request, and an ERROR event of the error logger."""
    error = (
        '{"level":"error","ts":1716723781.1,"logger":"http.log.error.log0","msg":"dial tcp '
        '172.18.0.5:8080: connect: connection refused","request":{"remote_ip":"172.18.0.1",'
        '"client_ip":"172.18.0.1","proto":"HTTP/1.1","method":"GET","host":"localhost","uri":'
        '"/api/orders"},"duration":0.001,"status":502}'
    )
    access = (
        '{"level":"error","ts":1716723781.101,"logger":"http.log.access.log0","msg":"handled '
        'request","request":{"remote_ip":"172.18.0.1","client_ip":"172.18.0.1","proto":'
        '"HTTP/1.1","method":"GET","host":"localhost","uri":"/api/orders"},"bytes_read":0,'
        '"user_id":"","duration":0.0012,"size":0,"status":502}'
    )
    data = text(CADDY_OWN, error, access)
    assert registry.detect(data) == "caddy"
    events = canonical_events(registry.parse(data, "caddy"), source="web", as_of=AS_OF)
    kept = events.events
    assert events.rejects.empty and len(kept) == 3
    assert kept["status_code"].isna().tolist() == [True, True, False]
    assert kept["endpoint"].isna().tolist() == [True, True, False]
    assert kept["service"].tolist()[:2] == ["tls", "http.log.error.log0"]
    assert kept["level"].tolist()[1] == "ERROR"
    assert pd.isna(kept["service"].iloc[2])


def test_caddy_older_client_keys_and_a_status_of_0():
    older = CADDY.replace('"client_ip":"203.0.113.9",', "").replace(
        '"remote_ip":"172.18.0.1","remote_port":"41342",', '"remote_addr":"172.18.0.1:41342",'
    )
    gone = CADDY.replace('"status":200', '"status":0')
    got = rows(registry.parse(text(older, older), "caddy"))
    assert got[0][1] == "172.18.0.1"  # remote_addr without its port
    no_response = rows(registry.parse(text(gone), "caddy"))[0]
    assert no_response[4] is NA and no_response[3] == "/api/v1/items?page=2"


def test_traefik_json_given_expected():
    named = TRAEFIK.replace('"StartUTC"', '"RouterName":"web@docker","ServiceName":"web@docker",'
                            '"StartUTC"')  # fmt: skip
    parsed = registry.parse(text(TRAEFIK_OWN, named), "traefik")
    assert parsed.rejects.empty and parsed.format == "traefik"
    got = rows(parsed)
    assert got[0] == (pd.Timestamp("2026-03-02T10:14:00Z"), *[NA] * 7, "INFO")
    # StartUTC (the request's start, to the microsecond), not the log line's `time`
    start = pd.Timestamp("2026-03-02T10:15:00.123456Z")
    assert got[1] == (start, "192.0.2.7", "POST", "/login", 404, 523, 2.5, "web@docker", "INFO")


def test_traefik_text_lines_read_as_combined_with_the_router_as_service():
    parsed = registry.parse(text(*TRAEFIK_TEXT), "traefik")
    assert parsed.rejects.empty and parsed.format == "traefik"
    assert rows(parsed) == [
        (pd.Timestamp("2017-10-02T20:22:07Z"), "192.168.33.1", "GET",
         "/ui/favicons/favicon-16x16.png", 304, 0, 2.0, "Host-host-1", NA),
        (pd.Timestamp("2018-02-28T17:30:33Z"), "70.29.80.15", "GET", "/en/", 200, 2814, 247.0,
         "Host-host1-com-0", NA),
        (pd.Timestamp("2018-11-29T15:03:51Z"), "::1", "GET", "/", 404, 19, 0.0,
         "backend not found", NA),
        (pd.Timestamp("2000-10-10T20:55:36Z"), "127.0.0.1", "GET", "/apache_pb.gif", 200, 2326,
         NA, NA, NA),
    ]  # fmt: skip
    bad = registry.parse(text(TRAEFIK_TEXT[0], "not an access line"), "traefik")
    assert (
        bad.rejects["reasons"]
        .iat[0]
        .startswith("does not match Traefik's text access log format: expected `<client> - <user>")
    )


def test_detection_names_the_server_and_leaves_other_files_to_jsonl_and_combined():
    assert looks_like_caddy(CADDY) and not looks_like_caddy(TRAEFIK)
    assert looks_like_traefik(TRAEFIK) and looks_like_traefik(TRAEFIK_TEXT[0])
    assert not looks_like_traefik(COMBINED) and not looks_like_caddy(COMBINED)
    assert registry.detect(text(CADDY_OWN, CADDY, CADDY)) == "caddy"
    assert registry.detect(text(TRAEFIK_OWN, TRAEFIK)) == "traefik"
    assert registry.detect(text(*TRAEFIK_TEXT)) == "traefik"
    assert registry.detect(text(COMBINED, COMBINED)) == "combined"
    pino = '{"level":30,"time":1762000000000,"msg":"request completed","req":{"url":"/a"}}'
    assert registry.detect(text(pino, CADDY_OWN)) == "jsonl"


@pytest.mark.parametrize(
    ("line", "fmt"),
    [(CADDY, "caddy"), (TRAEFIK, "traefik"), (TRAEFIK_TEXT[0], "traefik")],
)
def test_read_in_pieces_as_one(line, fmt, monkeypatch):
    monkeypatch.setattr("transforms.reading.PIECE_BYTES", 4096)
    data = text(*[line] * 200)
    whole = registry.parse(data, fmt)
    events = read_events(data, fmt, source="web", as_of=AS_OF)
    assert events.rejects.empty
    assert events.records_read == len(whole.candidates) == 200
    assert events.events.num_rows == 200


def test_nanosecond_times_read_as_pandas_reads_them():
    from transforms.formats.access import iso_time
    from transforms.formats.base import iso_fast

    texts = pd.Series(
        ["2026-03-02T10:15:00.123456789Z", "2026-03-02T12:15:00.999999999+02:00"] * 40,
        dtype="str",
    )
    fast = iso_fast(texts)
    assert fast is not None and fast.tolist() == iso_time(texts).tolist()
    assert fast.iat[1] == pd.Timestamp("2026-03-02T10:15:00.999999Z")  # truncated
    # past the nanosecond range: left to the general parser
    assert iso_fast(pd.concat([texts, pd.Series(["2300-01-01T00:00:00.000000001Z"])])) is None


def test_a_traefik_text_line_without_a_router_has_no_service():
    """Traefik writes `"-"` for the router of a request no router took (a 404)."""
    line = (
        '192.168.33.1 - - [26/May/2024:11:42:53 +0000] "GET /nothing HTTP/1.1" 404 19 "-" '
        '"curl/8.0" 2 "-" "-" 0ms\n'
    )
    parsed = registry.parse(line.encode(), "traefik")
    assert parsed.rejects.empty
    assert pd.isna(parsed.candidates["service"].iloc[0])
    assert parsed.candidates["latency_ms"].iloc[0] == 0.0
