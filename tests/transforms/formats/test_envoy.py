"""Envoy's default access log format and Istio's default proxy format (transforms.formats.envoy),
on the example lines of Envoy's and Istio's documentation and variants of them."""

import pandas as pd
import pytest

from tests.helpers import candidate_rows
from transforms.canonical import CONNECTION_ENDPOINT, INVALID_ENDPOINT, canonical_events
from transforms.formats import registry
from transforms.formats.access import extract, extract_with
from transforms.formats.base import CANDIDATE_TYPES, arrow_text, split_lines
from transforms.formats.envoy import ENVOY_RE, FAST, looks_like_envoy, parse_envoy

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
)

# Envoy's documentation, "Default format string"
ENVOY_DOCS = (
    '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 '
    '"10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" '
    '"tcp://10.0.2.1:80"'
)
# Istio's documentation, "Getting Envoy's Access Logs": the client's sidecar, then the server's
ISTIO_OUTBOUND = (
    '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 '
    '"-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" '
    '"10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 '
    "10.0.45.184:8000 10.44.1.23:46520 - default"
)
ISTIO_INBOUND = (
    '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 3 1 '
    '"-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" '
    '"127.0.0.1:80" inbound|8000|| 127.0.0.1:41854 10.44.1.27:80 10.44.1.23:37652 '
    "outbound_.8000_._.httpbin.foo.svc.cluster.local default"
)
T_DOCS = pd.Timestamp("2016-04-15T20:17:00.310Z")
T_ISTIO = pd.Timestamp("2020-11-25T21:26:18.409Z")


def rows(parsed):
    return candidate_rows(parsed, COLUMNS)


def parse(*lines: str):
    parsed = parse_envoy(("\n".join(lines) + "\n").encode())
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    for column in parsed.candidates.columns:
        if column in CANDIDATE_TYPES:
            assert str(parsed.candidates[column].dtype) == CANDIDATE_TYPES[column], column
    return parsed


def test_envoys_documented_line_given_expected():
    parsed = parse(ENVOY_DOCS)
    assert parsed.rejects.empty and parsed.format == "envoy"
    # no remote address in the default format: the client is the X-Forwarded-For address
    assert rows(parsed) == [(T_DOCS, "10.0.35.28", "POST", "/api/v1/locations", 204, 0, 226.0, NA)]


def test_istios_documented_lines_given_expected():
    parsed = parse(ISTIO_OUTBOUND, ISTIO_INBOUND)
    assert parsed.rejects.empty
    cluster = "outbound|8000||httpbin.foo.svc.cluster.local"
    assert rows(parsed) == [
        # no X-Forwarded-For: the downstream remote address, port dropped
        (T_ISTIO, "10.44.1.23", "GET", "/status/418", 418, 135, 4.0, cluster),
        (T_ISTIO, "10.44.1.23", "GET", "/status/418", 418, 135, 3.0, "inbound|8000||"),
    ]


def test_forwarded_for_chain_gives_its_first_address():
    line = ENVOY_DOCS.replace('"10.0.35.28"', '"203.0.113.9, 10.0.35.28,10.0.0.1"')
    assert rows(parse(line))[0][1] == "203.0.113.9"
    assert rows(parse(ENVOY_DOCS.replace('"10.0.35.28"', '"-"')))[0][1] is NA


def test_a_response_code_of_0_is_no_status_and_tcp_lines_are_connections():
    no_response = ENVOY_DOCS.replace(" 204 - ", " 0 DC ")
    tcp = '[2016-04-15T20:17:01.000Z] "- - -" 0 - 120 4500 3012 - "-" "-" "-" "-" "10.0.2.1:5432"'
    bad_request = '[2016-04-15T20:17:02.000Z] "- - HTTP/1.1" 400 DPE 0 11 0 - "-" "-" "-" "-" "-"'
    parsed = parse(no_response, tcp, bad_request)
    assert parsed.rejects.empty
    got = rows(parsed)
    assert got[0][4] is NA and got[0][3] == "/api/v1/locations"
    assert got[1] == (pd.Timestamp("2016-04-15T20:17:01Z"), NA, NA, NA, NA, 4500, 3012.0, NA)
    assert got[2][3:5] == (NA, 400)
    events = canonical_events(parsed, source="mesh", as_of=AS_OF)
    assert events.rejects.empty
    assert events.events["endpoint"].tolist() == [
        "/api/v1/locations",
        CONNECTION_ENDPOINT,
        INVALID_ENDPOINT,
    ]


def test_time_offsets_are_applied():
    line = ENVOY_DOCS.replace("2016-04-15T20:17:00.310Z", "2016-04-15T22:17:00.310+02:00")
    assert rows(parse(line))[0][0] == T_DOCS


def test_bad_lines_are_named_with_what_was_expected():
    data = (ENVOY_DOCS + "\n" + ENVOY_DOCS.replace(" 226 100 ", " 2x6 100 ") + "\n").encode()
    parsed = parse_envoy(data)
    assert len(parsed.candidates) == 1
    assert parsed.rejects["line_number"].tolist() == [2]
    reason = parsed.rejects["reasons"].iat[0]
    assert reason.startswith("does not match Envoy's default access log format: expected `[")


def test_the_fast_split_gives_the_regexs_values():
    variants = [
        ENVOY_DOCS,
        ENVOY_DOCS.replace("POST /api/v1/locations", "GET /a?b=1&c=%20"),
        ENVOY_DOCS.replace(" 100 ", " - "),
        ENVOY_DOCS.replace(" 204 - ", " 503 UH,URX "),
        ENVOY_DOCS.replace('"nsq2http"', '"Mozilla/5.0 (X11; Linux x86_64)"'),
        ENVOY_DOCS.replace('"nsq2http"', '"a \\"quoted\\" agent"'),  # to the regex
        ISTIO_OUTBOUND,  # to the regex
    ]
    texts = split_lines(("\n".join(variants) + "\n").encode()).texts
    fast, fast_matched = extract_with(texts, ENVOY_RE, FAST)
    slow, slow_matched = extract(texts, ENVOY_RE)
    assert fast_matched.all() and slow_matched.all()
    pd.testing.assert_frame_equal(fast, slow)
    _, done = FAST(arrow_text(texts).combine_chunks())
    assert done.tolist() == [True] * 5 + [False, False]


def test_detection_picks_envoy_and_leaves_other_access_logs_alone():
    assert looks_like_envoy(ENVOY_DOCS) and looks_like_envoy(ISTIO_INBOUND)
    assert registry.detect((ENVOY_DOCS + "\n" + ISTIO_OUTBOUND + "\n").encode()) == "envoy"
    combined = '10.0.0.1 - - [02/Mar/2026:10:15:00 +0000] "GET /a HTTP/1.1" 200 2 "-" "curl/8"'
    assert not looks_like_envoy(combined)
    assert registry.detect((combined + "\n").encode()) == "combined"


@pytest.mark.parametrize("start", ["", "[]", "[2016-04-15T20:17:00.310Z]", ENVOY_DOCS[:80]])
def test_truncated_lines_are_rejected_not_raised(start):
    parsed = parse_envoy((start + "\n").encode() if start else b"")
    assert parsed.records_read == len(parsed.rejects)


def test_envoys_own_log_beside_its_access_log_is_its_log_events():
    """`docker logs` of an Envoy container: its own log (the default application log format,
    `[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v`) and its access log share the output."""
    own = [
        "[2024-05-26 11:42:52.601][1][info][main] [source/server/server.cc:430] initializing "
        "epoch 0 (base id=0, hot restart version=11.104)",
        "[2024-05-26 11:42:52.660][1][info][config] [source/server/configuration_impl.cc:168] "
        "loading 1 cluster(s)",
        "[2024-05-26 11:43:05.002][14][warning][config] "
        "[source/common/config/grpc_stream.h:191] DeltaAggregatedResources gRPC config stream "
        "closed: 14, upstream connect error",
    ]
    data = ("\n".join([*own[:2], ENVOY_DOCS, own[2]]) + "\n").encode()
    assert registry.detect(data) == "envoy"
    parsed = parse_envoy(data)
    events = canonical_events(parsed, source="edge", as_of=AS_OF)
    assert events.rejects.empty
    kept = events.events
    assert kept["level"].tolist()[:2] == ["INFO", "INFO"] and kept["level"].iloc[3] == "WARNING"
    assert kept["service"].tolist()[:2] == ["main", "config"]
    assert kept["message"].iloc[1] == "loading 1 cluster(s)"
    assert kept["ts"].iloc[0] == pd.Timestamp("2024-05-26T11:42:52.601Z")
    assert kept["status_code"].notna().sum() == 1


def test_emissarys_access_prefix_is_read_and_detected():
    """Emissary-ingress (Ambassador) writes `ACCESS ` before Envoy's default line."""
    line = "ACCESS " + ENVOY_DOCS
    parsed = parse(line, line)
    assert parsed.rejects.empty
    assert rows(parsed)[0] == (T_DOCS, "10.0.35.28", "POST", "/api/v1/locations", 204, 0, 226.0, NA)
    assert registry.detect(f"{line}\n{line}\n".encode()) == "envoy"
