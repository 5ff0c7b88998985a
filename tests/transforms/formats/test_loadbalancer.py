import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import candidate_rows, examples
from transforms.formats.base import CANDIDATE_TYPES, FileFormatError
from transforms.formats.loadbalancer import (
    ALB,
    ELB,
    FORMATS,
    looks_like_alb,
    looks_like_elb,
    parse_alb,
    parse_elb,
)

FIXTURES = Path(__file__).parent / "fixtures"
NA = None
COLUMNS = (
    "ts",
    "method",
    "path",
    "status_code",
    "latency_ms",
    "bytes_sent",
    "client_ip",
    "error_reason",
    "region",
)


def ts(text):
    return pd.Timestamp(text).tz_convert("UTC")


def rows(parsed) -> list[tuple]:
    return candidate_rows(parsed, COLUMNS)


def assert_rows(actual, expected):
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for column, a, b in zip(COLUMNS, got, want, strict=True):
            if column == "latency_ms" and a is not NA and b is not NA:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9), (column, got)
            else:
                assert a == b, (column, got, want)


def check_accounting(parsed):
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    for column in parsed.candidates.columns:
        if column in CANDIDATE_TYPES:
            assert str(parsed.candidates[column].dtype) == CANDIDATE_TYPES[column], column


# given -> expected: the AWS documentation's examples ------------------------------------------
T1 = ts("2018-07-02T22:23:00.186641Z")
T2 = ts("2018-11-30T22:23:00.186641Z")
EAST, WEST = "us-east-2", "us-west-2"
ALB_DOCS = [
    # ts, method, path, status, latency_ms, bytes_sent, client_ip, error_reason, region
    (T1, "GET", "/", 200, 1.0, 366, "192.168.131.39", NA, EAST),  # http
    (T1, "GET", "/", 200, 171.0, 57, "192.168.131.39", NA, EAST),  # https
    (T1, "GET", "/", 200, 2.0, 257, "10.0.1.252", NA, EAST),  # h2
    (T1, "GET", "/", 101, 4.0, 587, "10.0.0.140", NA, EAST),  # ws
    (T1, "GET", "/", 101, 1.0, 786, "10.0.0.140", NA, WEST),  # wss
    (T2, "GET", "/", 200, 1.0, 366, "192.168.131.39", NA, EAST),  # Lambda
    (T2, "GET", "/", 502, 1.0, 366, "192.168.131.39", "LambdaInvalidResponse", EAST),
]
ALB_OLDER = [
    ALB_DOCS[0],  # 2018 layout, up to "redirect_url" "error_reason"
    ALB_DOCS[6],
    (ts("2016-08-10T22:08:42.945958Z"), "GET", "/", 200, 1.0, 366, "192.168.131.39", NA, EAST),
    (ts("2016-08-10T23:39:43.065466Z"), "GET", "/", 200, 171.0, 57, "192.168.131.39", NA, EAST),
]
T3 = ts("2015-05-13T23:39:43.945958Z")
ELB_DOCS = [
    (T3, "GET", "/", 200, 1.178, 29, "192.168.131.39", NA, NA),  # HTTP
    (T3, "GET", "/", 200, 2.471, 57, "192.168.131.39", NA, NA),  # HTTPS
    (T3, NA, NA, NA, 1.138, 305, "192.168.131.39", NA, NA),  # TCP: no request, no status
    (T3, NA, NA, NA, 1.103, 502, "192.168.131.39", NA, NA),  # SSL
]


@pytest.mark.parametrize(
    ("fixture", "parse", "expected"),
    [
        ("alb_docs.log", parse_alb, ALB_DOCS),
        ("alb_older_layouts.log", parse_alb, ALB_OLDER),
        ("elb_docs.log", parse_elb, ELB_DOCS),
    ],
)
def test_documentation_examples_given_expected(fixture, parse, expected):
    data = (FIXTURES / fixture).read_bytes()
    parsed = parse(data)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    check_accounting(parsed)
    assert parsed.candidates["line_number"].tolist() == list(range(1, len(expected) + 1))
    assert parsed.candidates["raw"].tolist() == data.decode().splitlines()
    assert_rows(rows(parsed), expected)
    assert "service" not in parsed.candidates or parsed.candidates["service"].isna().all()


ALB_OK = (FIXTURES / "alb_docs.log").read_text().splitlines()[1]
ELB_OK = (FIXTURES / "elb_docs.log").read_text().splitlines()[1]


def test_alb_path_keeps_the_query_and_drops_scheme_host_and_port():
    line = ALB_OK.replace(
        "https://www.example.com:443/ ",
        "https://www.example.com:443/api/v1/items/7?expand=all&x=%20 ",
    )
    parsed = parse_alb(line.encode())
    assert parsed.candidates["path"].tolist() == ["/api/v1/items/7?expand=all&x=%20"]
    bracketed = ALB_OK.replace("192.168.131.39:2817", "[2001:db8::7]:2817")
    assert parse_alb(bracketed.encode()).candidates["client_ip"].tolist() == ["2001:db8::7"]


@pytest.mark.parametrize(
    ("times", "status"),
    [
        ("0.000 -1 -1", "504 -"),  # the target timed out
        ("-1 -1 -1", "460 -"),  # the client closed the connection
        ("0.001 0.002 -1", "502 502"),
    ],
)
def test_minus_one_processing_time_means_no_latency(times, status):
    line = ALB_OK.replace("0.086 0.048 0.037 200 200", f"{times} {status}")
    parsed = parse_alb(line.encode())
    assert parsed.rejects.empty
    assert pd.isna(parsed.candidates["latency_ms"].iloc[0])
    assert parsed.candidates["status_code"].iloc[0] == int(status.split()[0])
    elb = parse_elb(
        ELB_OK.replace("0.000086 0.001048 0.001337 200 200", f"{times} {status}").encode()
    )
    assert pd.isna(elb.candidates["latency_ms"].iloc[0])


@pytest.mark.parametrize(
    ("service_from", "expected"),
    [(None, NA), ("load_balancer", "my-loadbalancer"), ("target_group", "my-targets")],
)
def test_service_is_null_unless_asked_for(service_from, expected):
    service = parse_alb(ALB_OK.encode(), service_from=service_from).candidates.get("service")
    got = NA if service is None or pd.isna(service.iloc[0]) else service.iloc[0]
    assert got == expected


def test_elb_service_from_load_balancer_and_unknown_sources():
    assert parse_elb(ELB_OK.encode(), service_from="load_balancer").candidates[
        "service"
    ].tolist() == ["my-loadbalancer"]
    with pytest.raises(FileFormatError, match="unknown service_from 'target_group' for elb"):
        parse_elb(ELB_OK.encode(), service_from="target_group")


# bad lines --------------------------------------------------------------------------------------
ALB_EXPECTED = "does not match the ALB access log format: expected `type time elb client:port"
ELB_EXPECTED = "does not match the Classic Load Balancer access log format: expected `timestamp"
COMBINED = (FIXTURES / "access_combined.log").read_text().splitlines()[0]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (ALB_OK[: ALB_OK.index("example.com")], ALB_EXPECTED),  # cut inside the request
        (ALB_OK[:120], "the line has 8 fields (at least 16 expected)"),  # cut after a field
        (ALB_OK.replace(" 0 57 ", " 57 "), "the line has 32 fields (at least 16 expected)"),
        (
            ALB_OK.replace("2018-07-02T22:23:00.186641Z", "2018-07-02T25:23:00Z", 1),
            "time: '2018-07-02T25:23:00Z' is not an ISO 8601 time",
        ),
        (
            ALB_OK.replace(" 200 200 ", " 2x0 200 "),
            "elb_status_code: '2x0' is not an integer status code",
        ),
        (ALB_OK.replace(" 0 57 ", " 0 5.7 "), "sent_bytes: '5.7' is not a whole number of bytes"),
        (
            ALB_OK.replace("0.086 0.048", "0.086 fast"),
            "target_processing_time: 'fast' is not a number of seconds (or -1)",
        ),
        (ELB_OK, "it looks like an elb (Classic Load Balancer) line"),
        (COMBINED, ALB_EXPECTED),
        (ALB_OK.replace("curl", "cu\x00rl"), "line contains NUL bytes"),
        (ALB_OK.replace("curl", "cu\udcffrl"), "not valid UTF-8"),
    ],
)
def test_bad_alb_lines_are_rejected_with_their_reason(line, reason):
    good = ALB_OK.encode()
    raw = line.encode("utf-8", "surrogateescape")
    parsed = parse_alb(good + b"\n" + raw + b"\n" + good + b"\n")
    check_accounting(parsed)
    assert parsed.records_read == 3
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (ELB_OK[:100], ELB_EXPECTED),
        (ELB_OK.replace('"curl/7.38.0" ', ""), "the line has 14 fields (12 or 15 expected)"),
        (
            ELB_OK.replace("2015-05-13T23:39:43.945958Z", "13/May/2015:23:39:43"),
            "time: '13/May/2015:23:39:43' is not an ISO 8601 time",
        ),
        (ELB_OK.replace(" 200 200 ", " 2x0 200 "), "elb_status_code: '2x0' is not an integer"),
        (ALB_OK, "it looks like an alb (Application Load Balancer) line"),
        (COMBINED, ELB_EXPECTED),
        (ELB_OK.replace("curl", "cu\x00rl"), "line contains NUL bytes"),
        (ELB_OK.replace("curl", "cu\udcffrl"), "not valid UTF-8"),
    ],
)
def test_bad_elb_lines_are_rejected_with_their_reason(line, reason):
    good = ELB_OK.encode()
    raw = line.encode("utf-8", "surrogateescape")
    parsed = parse_elb(good + b"\n" + raw + b"\n" + good + b"\n")
    check_accounting(parsed)
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]


def test_out_of_range_status_is_kept_for_the_canonical_step():
    parsed = parse_alb(ALB_OK.replace(" 200 200 ", " 999 200 ").encode())
    assert parsed.rejects.empty and parsed.candidates["status_code"].tolist() == [999]


def test_formats_and_looks_like():
    assert [f.name for f in FORMATS] == ["alb", "elb"]
    assert ALB.looks_like is looks_like_alb and ELB.looks_like is looks_like_elb
    assert looks_like_alb(ALB_OK) and not looks_like_elb(ALB_OK)
    assert looks_like_elb(ELB_OK) and not looks_like_alb(ELB_OK)
    assert not looks_like_alb(COMBINED) and not looks_like_elb(COMBINED)
    assert not looks_like_elb("2026-11-22T05:30:00Z ERROR payments timeout after 3s")


# round trips ------------------------------------------------------------------------------------
SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-"
moments = st.datetimes(dt.datetime(2016, 1, 1), dt.datetime(2037, 12, 31)).map(
    lambda t: t.replace(tzinfo=dt.UTC)
)
paths = st.builds(
    lambda parts, query: "/" + "/".join(parts) + (f"?{query}" if query else ""),
    st.lists(st.text(SAFE, min_size=1, max_size=12), max_size=4),
    st.one_of(st.none(), st.text(SAFE + "=&%", min_size=1, max_size=20)),
)
timing = st.one_of(st.integers(0, 600_000), st.just(-1))  # ms, or -1 (no response)
records = st.fixed_dictionaries(
    {
        "time": moments,
        "client": st.one_of(
            st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: f"[{a}]")
        ),
        "port": st.integers(1, 65535),
        "times": st.tuples(timing, timing, timing),
        "status": st.integers(100, 599),
        "sent": st.integers(0, 10**10),
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
        "scheme": st.sampled_from(["http", "https", "h2"]),
        "host": st.sampled_from(["www.example.com", "10.0.2.105", "api.example.org"]),
        "path": paths,
        "agent": st.text(SAFE + " ;()/,", max_size=30),
        "region": st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]),
        "error": st.sampled_from(["-", "LambdaUnhandled", "LambdaTimeout"]),
        "trailing": st.integers(0, 7),  # how many fields after error_reason (later layouts)
    }
)


def expected(r, precision):
    latency = NA if min(r["times"]) < 0 else float(sum(r["times"]))
    return (
        pd.Timestamp(r["time"]).floor("us"),
        r["method"],
        r["path"],
        r["status"],
        latency,
        r["sent"],
        r["client"].strip("[]"),
        NA if r["error"] == "-" else r["error"],
        r["region"] if precision == "alb" else NA,
    )


def seconds(ms: int, decimals: int) -> str:
    return "-1" if ms < 0 else f"{ms / 1000:.{decimals}f}"


def request(r) -> str:
    port = 80 if r["scheme"] == "http" else 443
    version = "HTTP/2.0" if r["scheme"] == "h2" else "HTTP/1.1"
    scheme = "http" if r["scheme"] == "http" else "https"
    return f'"{r["method"]} {scheme}://{r["host"]}:{port}{r["path"]} {version}"'


def alb_line(r) -> str:
    times = " ".join(seconds(t, 3) for t in r["times"])
    arn = f"arn:aws:elasticloadbalancing:{r['region']}:123456789012:targetgroup/tg/73e2d6bc24d8a067"
    later = ['"10.0.0.1:80"', '"200"', '"-"', '"-"', "TID_1234abcd5678ef90", '"-"', '"-"']
    return (
        f"{r['scheme']} {r['time']:%Y-%m-%dT%H:%M:%S.%fZ} app/lb/50dc6c495c0c9188 "
        f"{r['client']}:{r['port']} 10.0.0.1:80 {times} {r['status']} 200 34 {r['sent']} "
        f'{request(r)} "{r["agent"]}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 {arn} '
        f'"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 '
        f'{r["time"]:%Y-%m-%dT%H:%M:%S.%fZ} "forward" "-" "{r["error"]}"'
        + "".join(f" {field}" for field in later[: r["trailing"]])
    )


def elb_line(r) -> str:
    times = " ".join(seconds(t, 6) for t in r["times"])
    tail = f' "{r["agent"]}" - -' if r["trailing"] % 2 else ""
    return (
        f"{r['time']:%Y-%m-%dT%H:%M:%S.%fZ} my-lb {r['client']}:{r['port']} 10.0.0.1:80 "
        f"{times} {r['status']} 200 0 {r['sent']} {request(r)}{tail}"
    )


@pytest.mark.parametrize("kind", ["alb", "elb"])
@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records, min_size=1, max_size=8))
def test_rendered_records_parse_back_to_the_same_values(kind, batch):
    if kind == "elb":
        batch = [{**r, "error": "-"} for r in batch]
    render, parse = (alb_line, parse_alb) if kind == "alb" else (elb_line, parse_elb)
    lines = [render(r) for r in batch]
    assert all((looks_like_alb if kind == "alb" else looks_like_elb)(line) for line in lines)
    parsed = parse(("\n".join(lines) + "\n").encode())
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    check_accounting(parsed)
    assert_rows(rows(parsed), [expected(r, kind) for r in batch])


def test_a_request_the_load_balancer_could_not_parse_is_kept_as_invalid_with_its_status():
    """An ALB answers a request it cannot parse with its own 400 and logs the request as
    `"- http://host:80- "`: a real response, counted with endpoint {invalid}."""
    from transforms.canonical import canonical_events
    from transforms.formats import registry

    line = (
        "http 2024-05-26T11:42:54.500000Z app/my-lb/50dc6c495c0c9188 198.51.100.9:40000 - -1 -1"
        ' -1 400 - 0 272 "- http://my-lb-123456789.us-east-1.elb.amazonaws.com:80- " "-" - - -'
        ' "-" "-" "-" - 2024-05-26T11:42:54.500000Z "-" "-" "-" "-" "-" "-" "-" TID_abe\n'
    )
    parsed = registry.parse(line.encode(), "alb")
    events = canonical_events(parsed, source="lb", as_of=pd.Timestamp("2026-11-01", tz="UTC"))
    assert events.rejects.empty
    row = events.events.iloc[0]
    assert row["endpoint"] == "{invalid}" and row["status_code"] == 400
    assert pd.isna(row["path"]) and pd.isna(row["latency_ms"])
