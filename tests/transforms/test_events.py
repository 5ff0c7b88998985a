import pandas as pd
import pytest

from schemas.requests import Request
from transforms.events import api_csv_events
from transforms.parse import FileFormatError, parse_delimited

AS_OF = pd.Timestamp("2026-11-02T00:00:00Z")
HEADER = b"timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"


def events_of(body: bytes, header: bytes = HEADER):
    return api_csv_events(parse_delimited(header + body), source="api", as_of=AS_OF)


def test_valid_line_becomes_a_canonical_event():
    result = events_of(
        b"2026-11-01T10:00:01.500Z,/api/v1/orders/123?x=1,12.5,200,u1,checkout,eu-west-1\n"
    )
    assert result.rejects.empty
    row = result.events.iloc[0]
    assert row["ts"] == pd.Timestamp("2026-11-01T10:00:01.500Z")
    assert row["endpoint"] == "/api/v1/orders/{id}"
    assert row["path"] == "/api/v1/orders/123?x=1"
    assert row["latency_ms"] == 12.5
    assert row["status_code"] == 200
    assert row["service"] == "checkout" and row["region"] == "eu-west-1"
    assert row["source"] == "api" and row["line_number"] == 2
    # fields the format does not carry are null, never invented
    assert pd.isna(row["method"]) and pd.isna(row["bytes_sent"]) and pd.isna(row["level"])
    Request.validate(result.events.drop(columns="line_number"))


def test_offsets_are_normalised_to_utc():
    result = events_of(b"2026-11-01T12:00:00+02:00,/a,1,200,u,s,r\n")
    assert result.events["ts"].iloc[0] == pd.Timestamp("2026-11-01T10:00:00Z")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"2026-11-01T10:00:00Z,/a,-3,200,u,s,r", "latency_ms: expected >= 0"),
        (b"2026-11-01T10:00:00Z,/a,3,999,u,s,r", "status_code: expected <= 599"),
        (b"2026-11-01T10:00:00Z,/a,abc,200,u,s,r", "response_time_ms: 'abc' is not a number"),
        (b"yesterday,/a,1,200,u,s,r", "timestamp: 'yesterday' is not an ISO 8601 timestamp"),
        (b"2036-11-01T10:00:00Z,/a,1,200,u,s,r", "is after 2026-11-03T00:00Z"),
        (b"1999-12-31T10:00:00Z,/a,1,200,u,s,r", "ts: expected >= 2000-01-01"),
        (b"2026-11-01T10:00:00Z,,1,200,u,s,r", "endpoint"),
        (b"2026-11-01T10:00:00Z,/a,1,20x,u,s,r", "status_code"),
        (b"2026-11-01T10:00:00Z,/a,,200,u,s,r", "response_time_ms"),
        (b"2026-11-01T10:00:00Z,/a,100000000,200,u,s,r", "latency_ms: expected < 86400000"),
    ],
)
def test_invalid_records_are_rejected_with_their_reason(line, reason):
    result = events_of(b"2026-11-01T10:00:00Z,/ok,1,200,u,s,r\n" + line + b"\n")
    assert len(result.events) == 1
    assert result.rejects["line_number"].tolist() == [3]
    assert result.rejects["raw"].iloc[0] == line.decode()
    assert reason in result.rejects["reasons"].iloc[0]


def test_every_reason_is_kept():
    result = events_of(b"2026-11-01T10:00:00Z,/a,-3,999,u,s,r\n")
    reasons = result.rejects["reasons"].iloc[0]
    assert "latency_ms" in reasons and "status_code" in reasons


def test_optional_columns_may_be_absent():
    header = b"timestamp,endpoint,response_time_ms,status_code,user_id\n"
    result = events_of(b"2026-11-01T10:00:00Z,/a,1,200,\n", header=header)
    assert result.rejects.empty
    assert pd.isna(result.events["service"].iloc[0]) and pd.isna(result.events["user_id"].iloc[0])


def test_missing_required_columns_is_a_file_error_naming_them():
    with pytest.raises(FileFormatError, match="missing response_time_ms, status_code"):
        events_of(b"2026-11-01T10:00:00Z,/a\n", header=b"timestamp,endpoint\n")
