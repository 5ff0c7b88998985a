import pandas as pd
import pytest

from schemas.requests import Request
from transforms.canonical import EndpointRules, canonical_events, cap_endpoints
from transforms.formats import registry
from transforms.formats.base import Parsed, rejects_frame
from transforms.formats.delimited import parse_delimited

pytestmark = pytest.mark.clock

AS_OF = pd.Timestamp("2026-11-02T00:00:00Z")
HEADER = b"timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"


def events_of(body: bytes, **kwargs):
    return canonical_events(parse_delimited(HEADER + body), source="api", as_of=AS_OF, **kwargs)


def test_valid_line_becomes_a_canonical_event():
    result = events_of(
        b"2026-11-01T10:00:01.500Z,/api/v1/orders/123?x=1,12.5,200,u1,checkout,eu-west-1\n"
    )
    assert result.rejects.empty
    row = result.events.iloc[0]
    assert row["endpoint"] == "/api/v1/orders/{id}" and row["path"] == "/api/v1/orders/123?x=1"
    assert row["source"] == "api" and row["line_number"] == 2
    assert pd.isna(row["method"]) and pd.isna(row["bytes_sent"]) and pd.isna(row["level"])
    assert list(result.events.columns) == [*Request.to_schema().columns, "line_number"]
    assert result.new_endpoints == ("/api/v1/orders/{id}",)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"2026-11-01T10:00:00Z,/a,-3,200,u,s,r", "latency_ms: expected >= 0"),
        (b"2026-11-01T10:00:00Z,/a,3,999,u,s,r", "status_code: expected <= 599"),
        (b"2026-11-01T10:00:00Z,/a,3,70000,u,s,r", "status_code: expected <= 599"),
        (b"2036-11-01T10:00:00Z,/a,1,200,u,s,r", "is in the future"),
        (b"1989-12-31T10:00:00Z,/a,1,200,u,s,r", "ts: expected >= 1990-01-01"),
        (b"-,/a,1,200,u,s,r", "ts: missing"),
        (b"2026-11-01T10:00:00Z,,1,200,u,s,r", "path: missing"),
        (b"2026-11-01T10:00:00Z,/a,100000000,200,u,s,r", "latency_ms: expected < 86400000"),
    ],
)
def test_rule_breaking_records_are_rejected_with_their_reason(line, reason):
    result = events_of(b"2026-11-01T10:00:00Z,/ok,1,200,u,s,r\n" + line + b"\n")
    assert len(result.events) == 1
    assert result.rejects["line_number"].tolist() == [3]
    assert result.rejects["raw"].iloc[0] == line.decode()
    assert reason in result.rejects["reasons"].iloc[0]


@pytest.mark.parametrize(
    ("earliest", "kept"),
    [("1990-01-01", ["1995-08-01", "2026-11-01"]), ("2000-01-01", ["2026-11-01"]),
     ("1970-01-01", ["1985-03-02", "1995-08-01", "2026-11-01"])],
)  # fmt: skip
def test_the_earliest_accepted_time_is_a_setting(earliest, kept):
    lines = b"".join(
        f"{day}T10:00:00Z,/a,1,200,u,s,r\n".encode()
        for day in ("1985-03-02", "1995-08-01", "2026-11-01")
    )
    result = events_of(lines, earliest=pd.Timestamp(earliest, tz="UTC"))
    assert result.events["ts"].dt.strftime("%Y-%m-%d").tolist() == kept
    assert len(result.rejects) == 3 - len(kept)
    for reason in result.rejects["reasons"]:
        assert reason.startswith(
            f"ts: expected >= {earliest} 00:00:00Z (the earliest_event setting)"
        )


def test_every_reason_is_kept():
    reasons = events_of(b"2026-11-01T10:00:00Z,/a,-3,999,u,s,r\n").rejects["reasons"].iloc[0]
    assert "latency_ms" in reasons and "status_code" in reasons


def test_user_rules_apply_after_built_in_folding():
    rules = EndpointRules(rules=((r"^/v\d+/", "/"),))
    result = events_of(b"2026-11-01T10:00:00Z,/v2/users/42,1,200,u,s,r\n", rules=rules)
    assert result.events["endpoint"].tolist() == ["/users/{id}"]


def test_cardinality_cap_admits_frequent_endpoints_and_folds_rare_ones():
    endpoints = pd.Series(["/a", "/b", "/b", "/c", "/c", "/c", "/known"], dtype="str")
    capped, admitted, folded = cap_endpoints(endpoints, frozenset({"/known"}), cap=3)
    assert admitted == ("/c", "/b") and folded == ("/a",)
    assert capped.tolist() == ["{other}", "/b", "/b", "/c", "/c", "/c", "/known"]


def test_cap_is_reported_in_notes():
    body = b"".join(f"2026-11-01T10:00:00Z,/e{i},1,200,u,s,r\n".encode() for i in range(4))
    result = events_of(body, rules=EndpointRules(max_endpoints=2))
    assert sorted(result.events["endpoint"].unique()) == ["/e0", "/e1", "{other}"]
    assert any("endpoint cap of 2 reached" in note for note in result.notes)


def test_service_log_events_may_lack_an_endpoint_but_requests_may_not():
    candidates = pd.DataFrame(
        {
            "ts": pd.Series([pd.Timestamp("2026-11-01T10:00Z")] * 2, dtype="datetime64[us, UTC]"),
            "level": pd.Series(["ERROR", None], dtype="str"),
            "message": pd.Series(["charge failed", None], dtype="str"),
            "status_code": pd.array([None, 200], dtype="Int16"),
            "line_number": pd.array([1, 2], dtype="Int64"),
            "raw": pd.Series(["a", "b"], dtype="str"),
        }
    )
    parsed = Parsed(candidates=candidates, rejects=rejects_frame(), records_read=2, format="jsonl")
    result = canonical_events(parsed, source="svc", as_of=AS_OF)
    assert result.events["level"].tolist() == ["ERROR"]
    assert pd.isna(result.events["endpoint"].iloc[0])
    assert result.rejects["reasons"].tolist() == [
        "endpoint: missing (a request needs a path or endpoint, a log event a level or a message)"
    ]


def test_a_client_address_loses_the_port_a_logger_kept():
    lines = [
        "time=2026-11-01T10:00:00Z level=info method=GET path=/a status=200 remote_addr=203.0.113.7:51234",
        "time=2026-11-01T10:00:01Z level=info method=GET path=/a status=200 remote_addr=[2001:db8::1]:443",
        "time=2026-11-01T10:00:02Z level=info method=GET path=/a status=200 remote_addr=2001:db8::7",
        "time=2026-11-01T10:00:03Z level=info method=GET path=/a status=200 remote_addr=10.0.0.9",
    ]
    parsed = registry.parse(("\n".join(lines) + "\n").encode(), "logfmt")
    events = canonical_events(parsed, source="t", as_of=pd.Timestamp("2026-11-02", tz="UTC"))
    assert events.events["client_ip"].tolist() == [
        "203.0.113.7",
        "2001:db8::1",
        "2001:db8::7",  # IPv6 without brackets: whole
        "10.0.0.9",
    ]
