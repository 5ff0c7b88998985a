import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import CANDIDATE_TYPES, MISSING, split_lines
from transforms.formats.servicelog import (
    FORMATS,
    NO_ERROR,
    as_level,
    duration_ms,
    looks_like_servicelog,
    parse_servicelog,
)

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = b"2026-11-01T10:00:00Z INFO api ok path=/a status=200\n"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def physical_lines_are_all_accounted_for(data: bytes, parsed) -> bool:
    """Every non-blank line is part of exactly one record (a candidate's or a reject's raw),
    and records_read counts those records."""
    lines = split_lines(data)
    expected = len(lines.texts) + len(lines.rejects)
    raws = [*parsed.candidates["raw"], *parsed.rejects["raw"]]
    numbers = [*parsed.candidates["line_number"], *parsed.rejects["line_number"]]
    return (
        parsed.records_read == len(raws) == len(set(numbers))
        and sum(raw.count("\n") + 1 for raw in raws) == expected
    )


def test_python_logging_with_a_traceback():
    data = (FIXTURES / "servicelog_python.log").read_bytes()
    parsed = parse_servicelog(data)
    assert parsed.rejects.empty and physical_lines_are_all_accounted_for(data, parsed)
    assert parsed.records_read == 4  # four events; the traceback belongs to the third
    rows = parsed.candidates
    assert rows["line_number"].tolist() == [1, 2, 3, 11]
    assert rows["ts"].tolist() == [
        utc("2026-11-01T10:00:00.123"),
        utc("2026-11-01T10:00:01.456"),
        utc("2026-11-01T10:00:02.789"),
        utc("2026-11-01T10:00:03"),
    ]
    assert rows["level"].tolist() == ["INFO", "WARNING", "ERROR", "CRITICAL"]
    assert rows["service"].tolist() == ["orders"] * 4
    assert rows["message"].iloc[0] == "created order"  # key=value pairs are not message
    assert rows["path"].iloc[0] == "/api/orders" and rows["method"].iloc[0] == "POST"
    assert rows["status_code"].iloc[0] == 201 and rows["latency_ms"].iloc[0] == 35.0
    assert rows["message"].iloc[1] == "inventory low"
    error = rows.iloc[2]
    assert error["error_reason"] == "card declined" and error["status_code"] == 502
    assert error["message"].startswith("failed to charge order\nTraceback (most recent call last):")
    assert error["message"].endswith("\norders.client.PaymentError: card declined")
    assert '\n  File "/app/orders/charge.py", line 57, in charge\n' in error["message"]
    assert error["raw"].count("\n") == 6 and error["raw"].startswith("2026-11-01 10:00:02,789")
    assert "6 continuation lines attached to 1 events" in parsed.notes
    assert any("records_read counts logical records" in note for note in parsed.notes)


def test_java_stack_trace_with_caused_by():
    data = (FIXTURES / "servicelog_java.log").read_bytes()
    parsed = parse_servicelog(data)
    assert parsed.rejects.empty and physical_lines_are_all_accounted_for(data, parsed)
    rows = parsed.candidates
    assert rows["line_number"].tolist() == [1, 2, 9]
    assert rows["message"].iloc[0] == "Started CheckoutApplication in 4.2 seconds"
    assert rows["level"].tolist() == ["INFO", "ERROR", "WARNING"]
    failed = rows.iloc[1]
    assert failed["message"].splitlines()[:2] == [
        "Request failed",
        "java.lang.IllegalStateException: cart is empty",
    ]
    assert failed["message"].splitlines()[-1] == "\t... 12 more"
    assert failed["path"] == "/api/checkout" and failed["status_code"] == 500
    assert failed["latency_ms"] == 812.0 and failed["user_id"] == "u7"
    assert failed["client_ip"] == "10.0.0.5"
    assert rows["latency_ms"].iloc[2] == 1500.0  # duration=1.5s


def test_go_style_key_value_lines():
    data = (FIXTURES / "servicelog_go.log").read_bytes()
    parsed = parse_servicelog(data)
    assert parsed.rejects.empty and parsed.records_read == 3
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        utc("2026-11-01T10:00:00.123"),
        utc("2026-11-01T08:00:00.5"),  # +02:00 applied
        utc("2026-11-01T09:59:59"),  # out of time order: kept
    ]
    assert rows["level"].tolist() == ["ERROR", "INFO", "DEBUG"]
    assert rows["service"].tolist() == ["payments"] * 3
    assert rows["message"].tolist() == ["Charge failed", "Charge ok", "cache warm"]
    assert rows["latency_ms"].tolist() == [57.0, 12.5, 250.0]
    assert rows["status_code"].iloc[:2].tolist() == [502, 200]
    assert rows["user_id"].iloc[:2].tolist() == ["u1", "u2"]
    assert rows["region"].iloc[1] == "eu-west-1"
    assert pd.isna(rows["path"].iloc[2]) and pd.isna(rows["status_code"].iloc[2])


def test_events_with_and_without_a_path_are_valid_canonical_events():
    parsed = parse_servicelog((FIXTURES / "servicelog_python.log").read_bytes())
    result = canonical_events(parsed, source="orders", as_of=pd.Timestamp("2026-11-02", tz="UTC"))
    assert result.rejects.empty and len(result.events) == 4
    assert result.events["endpoint"].isna().tolist() == [False, True, False, True]
    assert result.events["endpoint"].iloc[2] == "/api/orders/{id}/charge"


def test_candidate_columns_have_the_canonical_types():
    parsed = parse_servicelog((FIXTURES / "servicelog_go.log").read_bytes())
    for name, column in parsed.candidates.items():
        if name in CANDIDATE_TYPES:
            assert str(column.dtype) == CANDIDATE_TYPES[name], name


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2026-11-01T10:00:00Z INFO api hello", ("INFO", "api", "hello")),
        ("2026-11-01T10:00:00Z [INFO] api hello", ("INFO", "api", "hello")),
        ("2026-11-01T10:00:00Z [INFO] api: hello", ("INFO", "api", "hello")),
        ("2026-11-01T10:00:00Z INFO [api] hello", ("INFO", "api", "hello")),
        ("2026-11-01T10:00:00Z INFO: api hello", ("INFO", "api", "hello")),
        ("[2026-11-01 10:00:00] [WARN] [api] hello", ("WARNING", "api", "hello")),
        ("2026-11-01T10:00:00Z warn api hello", ("WARNING", "api", "hello")),
        ("2026-11-01T10:00:00Z Warning api hello", ("WARNING", "api", "hello")),
        ("2026-11-01T10:00:00Z FATAL api hello", ("CRITICAL", "api", "hello")),
        ("2026-11-01T10:00:00Z CRITICAL api hello", ("CRITICAL", "api", "hello")),
        ("2026-11-01T10:00:00Z trace api hello", ("TRACE", "api", "hello")),
        # RabbitMQ 3.9+ (Erlang's logger): notice is a level
        ("2026-11-01 10:00:00.123456+00:00 [notice] broker stopped", ("INFO", "broker", "stopped")),
        (
            "2026-11-01T10:00:00Z DEBUG api.worker-1 hello world",
            ("DEBUG", "api.worker-1", "hello world"),
        ),
        ("2026-11-01T10:00:00Z ERROR api", ("ERROR", "api", None)),
        ("2026-11-01T10:00:00Z ERROR", ("ERROR", None, None)),
        ("2026-11-01T10:00:00Z INFO status=200 path=/a", ("INFO", None, None)),
    ],
)
def test_header_layouts_and_levels(line, expected):
    row = parse_servicelog(line.encode()).candidates.iloc[0]
    got = tuple(None if pd.isna(row[c]) else row[c] for c in ("level", "service", "message"))
    assert got == expected


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00"),
        ("2026-11-01T10:00:00.123456Z", "2026-11-01T10:00:00.123456"),
        ("2026-11-01 10:00:00,123", "2026-11-01T10:00:00.123"),  # Python logging's comma
        ("2026-11-01 10:00:00", "2026-11-01T10:00:00"),  # naive: taken as UTC
        ("2026-11-01T12:00:00+02:00", "2026-11-01T10:00:00"),
        ("2026-11-01T05:00:00-0500", "2026-11-01T10:00:00"),
        ("2026-11-01 12:00:00 +0200", "2026-11-01T10:00:00"),
        ("2026-11-01 10:00:00 UTC", "2026-11-01T10:00:00"),
        ("[2026-11-01 10:00:00 +0000]", "2026-11-01T10:00:00"),
    ],
)
def test_timestamps_with_and_without_offsets(stamp, expected):
    parsed = parse_servicelog(f"{stamp} INFO api hello\n".encode())
    assert parsed.candidates["ts"].tolist() == [utc(expected)]


@pytest.mark.parametrize(
    ("pairs", "column", "expected"),
    [
        ("latency_ms=57", "latency_ms", 57.0),
        ("duration_ms=12.5", "latency_ms", 12.5),
        ("latency=57", "latency_ms", 57.0),  # bare latency: milliseconds
        ("duration=1.5", "latency_ms", 1500.0),  # bare duration: seconds
        ("duration=1.5s", "latency_ms", 1500.0),
        ("duration=250ms", "latency_ms", 250.0),
        ("latency=1m2.5s", "latency_ms", 62500.0),  # Go's time.Duration
        ("latency=300us", "latency_ms", 0.3),
        ("latency_ms=5 duration=9s", "latency_ms", 5.0),  # the first-listed key wins
        ("status=404", "status_code", 404),
        ("STATUS_CODE=404", "status_code", 404),  # keys are case-insensitive
        ("route=/orders/{id}", "path", "/orders/{id}"),
        ('path="/a b"', "path", "/a b"),
        ('error="said \\"no\\""', "error_reason", 'said "no"'),
        ("err=timeout", "error_reason", "timeout"),
        ("user=u1 user=u2", "user_id", "u2"),  # a key given twice: the last value
        ("ip=10.0.0.1", "client_ip", "10.0.0.1"),
        ("bytes=512", "bytes_sent", 512),
        ("device=mobile", "device_type", "mobile"),
        ("method=GET", "method", "GET"),
        ("path=", "path", None),  # empty: not logged
        ("path=-", "path", None),
    ],
)
def test_key_value_pairs(pairs, column, expected):
    parsed = parse_servicelog(f"2026-11-01T10:00:00Z INFO api done {pairs}\n".encode())
    assert parsed.rejects.empty
    value = parsed.candidates[column].iloc[0]
    assert (pd.isna(value) and expected is None) or value == expected
    assert parsed.candidates["message"].iloc[0] == "done"


@pytest.mark.parametrize(
    ("rest", "message"),
    [
        ("charge failed id=42 for user=u1 today", "charge failed for today"),
        ('a k="v with spaces" b', "a b"),
        ("x == y and a=b", "x == y and"),
        ("ratio 3=4", "ratio 3=4"),  # not a key: keys start with a letter or _
        ("url?x=1 done", "url?x=1 done"),  # a pair starts a word
        ("  spaced   out  ", "spaced   out"),
    ],
)
def test_message_is_the_text_without_the_pairs(rest, message):
    parsed = parse_servicelog(f"2026-11-01T10:00:00Z INFO api {rest}\n".encode())
    assert parsed.candidates["message"].iloc[0] == message


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"hello world", "not a service-log line: no timestamp at its start"),
        (b"INFO api hello", "no timestamp at its start"),
        (b"10:00:00 INFO api hello", "no timestamp at its start"),
        (b"2026-11-01T10:00:00Z NOTED api hello", "no log level after the timestamp"),
        (b"2026-11-01T10:00:00Z api hello", "no log level after the timestamp"),
        (b"2026-11-01T10:00:00Z INFOS api hello", "no log level after the timestamp"),
        (
            b"2026-13-45T10:00:00Z INFO api hello",
            "timestamp: '2026-13-45T10:00:00Z' is not a timestamp",
        ),
        (
            b"2026-11-01T10:00:00Z INFO api x status=abc latency_ms=fast",
            "status_code: 'abc' is not an integer status code; latency_ms: 'fast' is not a duration",
        ),
        (b"2026-11-01T10:00:00Z INFO api x status=200.5", "status_code: '200.5' is not an integer"),
        (b"2026-11-01T10:00:00Z INFO api x bytes=-", None),  # '-' is "not logged": accepted
        (b"2026-11-01T10:00:00Z INFO api /\xff", "not valid UTF-8"),
        (b"2026-11-01T10:00:00Z INFO api \x00", "NUL bytes"),
    ],
)
def test_bad_lines_are_rejected_with_their_reason(line, reason):
    data = GOOD + line + b"\n" + GOOD
    parsed = parse_servicelog(data)
    assert parsed.records_read == 3 and physical_lines_are_all_accounted_for(data, parsed)
    if reason is None:
        assert parsed.rejects.empty
        return
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]


def test_continuation_lines_join_the_event_before_them():
    data = (
        b"2026-11-01T10:00:00Z ERROR api boom\n"
        b"Traceback (most recent call last):\n"
        b'  File "x.py", line 1, in <module>\n'
        b"ValueError: bad\n"
        b"\n"
        b"During handling of the above exception, another exception occurred:\n"
        b"KeyError: 'k'\n"
        b"2026-11-01T10:00:01Z INFO api next\n"
        b"    indented continuation of an INFO line\n"
    )
    parsed = parse_servicelog(data)
    assert parsed.rejects.empty and parsed.records_read == 2
    assert physical_lines_are_all_accounted_for(data, parsed)
    assert parsed.candidates["line_number"].tolist() == [1, 8]
    assert parsed.candidates["message"].iloc[0].splitlines()[-1] == "KeyError: 'k'"
    assert parsed.candidates["raw"].iloc[1].endswith("\n    indented continuation of an INFO line")


def test_continuation_lines_without_an_event_are_rejected():
    data = (
        b"  at the very start\n"
        b"2026-11-01T10:00:00Z ERROR api boom\n"
        b"garbage in the middle\n"
        b"\tat com.example.Foo.bar(Foo.java:1)\n"
        b"2026-11-01T10:00:01Z INFO api next\n"
    )
    parsed = parse_servicelog(data)
    assert physical_lines_are_all_accounted_for(data, parsed)
    assert parsed.candidates["line_number"].tolist() == [2, 5]
    assert parsed.candidates["raw"].iloc[0] == "2026-11-01T10:00:00Z ERROR api boom"
    assert parsed.rejects["line_number"].tolist() == [1, 3, 4]
    assert parsed.rejects["reasons"].tolist() == [
        "continuation line with no log line before it",
        "not a service-log line: no timestamp at its start; "
        "expected '<timestamp> <LEVEL> <service> <message>'",
        "continuation line after line 3, which is not a log line",
    ]


def test_a_rejected_event_takes_its_continuation_lines_with_it():
    data = GOOD + b"2026-11-01T10:00:00Z ERROR api failed status=abc\n  at frame\n" + GOOD
    parsed = parse_servicelog(data)
    assert physical_lines_are_all_accounted_for(data, parsed)
    assert parsed.rejects["raw"].tolist() == [
        "2026-11-01T10:00:00Z ERROR api failed status=abc\n  at frame"
    ]


def test_an_undecodable_line_inside_a_stack_trace_does_not_break_it():
    data = b"2026-11-01T10:00:00Z ERROR api boom\n  frame one\n  frame \xff two\n  frame three\n"
    parsed = parse_servicelog(data)
    assert physical_lines_are_all_accounted_for(data, parsed)
    assert parsed.rejects["line_number"].tolist() == [3]
    assert parsed.candidates["raw"].iloc[0].splitlines() == [
        "2026-11-01T10:00:00Z ERROR api boom",
        "  frame one",
        "  frame three",
    ]


@pytest.mark.parametrize("data", [b"", b"\n\n", b" \r\n"])
def test_empty_file_has_no_records(data):
    parsed = parse_servicelog(data)
    assert parsed.records_read == 0 and parsed.candidates.empty and parsed.rejects.empty


def test_bom_and_crlf():
    data = b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n") + b"  at frame\r\n"
    parsed = parse_servicelog(data)
    assert parsed.candidates["raw"].tolist() == [GOOD.decode().strip() + "\n  at frame"]


def test_a_five_megabyte_line_is_read():
    data = GOOD + b"2026-11-01T10:00:00Z INFO api " + b"x" * 5_000_000 + b" status=200\n"
    parsed = parse_servicelog(data)
    assert parsed.records_read == 2 and parsed.rejects.empty
    assert len(parsed.candidates["message"].iloc[1]) == 5_000_000


def test_looks_like_and_format_record():
    assert looks_like_servicelog("2026-11-01T10:00:00.123Z ERROR payments Charge failed")
    assert looks_like_servicelog("2026-11-01 10:00:00,123 [INFO] orders: created order id=42")
    assert looks_like_servicelog("[2026-11-01 10:00:00 +0000] [WARN] [worker] slow")
    assert not looks_like_servicelog("timestamp,endpoint,response_time_ms")
    assert not looks_like_servicelog('{"time": "2026-11-01T10:00:00Z", "level": "info"}')
    assert not looks_like_servicelog("2026-11-01T10:00:00Z,/a,1.5,200,u1")
    assert not looks_like_servicelog('10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1"')
    (fmt,) = FORMATS
    assert fmt.name == "servicelog" and fmt.parse is parse_servicelog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", 250.0),
        ("1.5s", 1500.0),
        ("1m30s", 90_000.0),
        ("2h", 7_200_000.0),
        ("1.2µs", 0.0012),
        ("500ns", 0.0005),
        ("250 ms", 250.0),
        ("-5ms", -5.0),
        ("fast", math.nan),
        ("5 parsecs", math.nan),
    ],
)
def test_duration_ms(text, expected):
    got = duration_ms(text)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_as_level_folds_spellings_and_keeps_unknown_levels():
    levels = pd.Series(
        ["warn", "Warning", "fatal", "err", "30", "notice", "audit", "", None], dtype="str"
    )
    got = as_level(levels).tolist()
    assert got[:7] == ["WARNING", "WARNING", "CRITICAL", "ERROR", "INFO", "INFO", "AUDIT"]
    assert pd.isna(got[7]) and pd.isna(got[8])
    # winston's npm levels, Monolog's numbers, log/slog's levels between its named ones
    more = pd.Series(["http", "silly", "400", "250", "WARN+2", "INFO-4", "DEBUG+1"], dtype="str")
    assert as_level(more).tolist() == ["INFO", "TRACE", "ERROR", "INFO", "WARNING", "INFO", "DEBUG"]


# property: random events written as service-log lines parse back to the same values ---------
WORD = st.text(
    alphabet=st.characters(
        blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs", "Cf"), blacklist_characters='="\\'
    ),
    min_size=1,
    max_size=8,
)
SERVICE = st.from_regex(r"[a-z][a-z0-9_.\-]{0,10}", fullmatch=True)
VALUE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=10
).filter(lambda s: s.strip() not in ("", "-") and s == s.strip())
TIMES = st.datetimes(
    min_value=pd.Timestamp("2001-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
).map(lambda d: pd.Timestamp(d, tz="UTC").floor("ms"))
LEVEL_FORMS = {
    "TRACE": ["TRACE", "trace"],
    "DEBUG": ["DEBUG", "debug"],
    "INFO": ["INFO", "info"],
    "WARNING": ["WARN", "WARNING", "warn"],
    "ERROR": ["ERROR", "error"],
    "CRITICAL": ["CRITICAL", "FATAL", "fatal"],
}
EVENT = st.fixed_dictionaries(
    {
        "ts": TIMES,
        "level": st.sampled_from(sorted(LEVEL_FORMS)),
        "service": SERVICE,
        "words": st.lists(WORD, max_size=4),
    },
    optional={
        "path": VALUE.map(lambda s: "/" + s),
        "status_code": st.integers(100, 599),
        "latency_ms": st.floats(0, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
        "user_id": VALUE,
        "error_reason": VALUE.filter(lambda s: s.lower() not in NO_ERROR),  # they say none
        "region": VALUE,
    },
)
KEY_FOR = {
    "path": "path",
    "status_code": "status",
    "latency_ms": "latency_ms",
    "user_id": "user",
    "error_reason": "error",
    "region": "region",
}


def quoted(value: str) -> str:
    if value[0] != '"' and not any(c.isspace() or c in '"\\' for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(event, data) -> str:
    stamp = event["ts"]
    stamp = data.draw(
        st.sampled_from(
            [
                stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                stamp.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3],
                stamp.tz_convert("Asia/Kolkata").strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
                stamp.tz_convert("America/New_York").isoformat(),
            ]
        )
    )
    level = data.draw(st.sampled_from(LEVEL_FORMS[event["level"]]))
    layout = data.draw(st.sampled_from(["{t} {l} {s}", "{t} [{l}] {s}:", "[{t}] [{l}] [{s}]"]))
    words = list(event["words"])
    for column, key in KEY_FOR.items():
        if column in event:
            value = event[column]
            if column == "latency_ms" and data.draw(st.booleans()):
                text = f"{value}ms"
            else:
                text = quoted(str(value))
            words.insert(data.draw(st.integers(0, len(words))), f"{key}={text}")
    return " ".join([layout.format(t=stamp, l=level, s=event["service"]), *words])


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(EVENT, min_size=1, max_size=15), data=st.data())
def test_random_events_round_trip_through_service_log_lines(events, data):
    text = "\n".join(render(event, data) for event in events) + "\n"
    parsed = parse_servicelog(text.encode())
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    assert parsed.records_read == len(events)
    rows = parsed.candidates
    for i, event in enumerate(events):
        row = rows.iloc[i]
        assert row["ts"] == event["ts"]
        assert row["level"] == event["level"] and row["service"] == event["service"]
        message = " ".join(event["words"])
        # as everywhere in the formats, an empty field or a lone "-" was not logged: null
        expected = None if message in MISSING else message
        assert (pd.isna(row["message"]) and expected is None) or row["message"] == expected
        for column in KEY_FOR:
            if column not in event:
                assert pd.isna(row[column]), column
            elif column == "latency_ms":
                assert row[column] == pytest.approx(event[column]), column
            else:
                assert row[column] == event[column], column


def test_dotnet_console_messages_under_their_header_and_its_request_lines():
    """ASP.NET Core's console logger with a TimestampFormat: the message on the indented line
    under each header, `fail` an error, and the hosting diagnostics' `Request finished` lines
    requests."""
    data = (FIXTURES / "aspnet_console.log").read_bytes()
    parsed = parse_servicelog(data)
    assert parsed.rejects.empty and parsed.records_read == 10
    rows = parsed.candidates
    assert rows["service"].iloc[0] == "Microsoft.Hosting.Lifetime"
    assert rows["level"].tolist().count("ERROR") == 1
    requests = rows[rows["path"].notna() & rows["status_code"].notna()]
    assert requests["method"].tolist() == ["GET", "POST"]
    assert requests["path"].tolist() == [
        "http://localhost:8080/api/todos/7",
        "http://localhost:8080/api/todos",
    ]
    assert requests["status_code"].tolist() == [200, 500]
    assert requests["latency_ms"].tolist() == [12.3456, 87.1032]


def test_the_same_console_behind_a_runtimes_time_on_every_line():
    """Without a TimestampFormat .NET's console writes no time: `docker logs -t` and `kubectl
    logs --timestamps` put the runtime's before each line, the message's line included, which
    still continues its header's event (as a stack trace's lines do), its text without that
    time; the file's lines stay as written in `raw`."""
    plain = (FIXTURES / "aspnet_console.log").read_text().splitlines()
    time_first = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "  # its TimestampFormat's
    stamped = "".join(
        f"2024-05-26T11:42:{k:02d}.123456789Z {re.sub(time_first, '', line)}\n"
        for k, line in enumerate(plain)
    ).encode()
    assert registry.detect(stamped) == "servicelog"
    parsed = parse_servicelog(stamped)
    assert parsed.rejects.empty and parsed.records_read == 10
    rows = parsed.candidates
    requests = rows[rows["path"].notna() & rows["status_code"].notna()]
    assert requests["method"].tolist() == ["GET", "POST"]
    assert requests["status_code"].tolist() == [200, 500]
    assert requests["latency_ms"].tolist() == [12.3456, 87.1032]
    assert not rows["message"].str.contains("2024-05-26T", regex=False).any()
    assert rows["raw"].str.count("2024-05-26T").sum() == len(plain)


def test_lines_of_rust_loggers_and_uvicorns_levelprefix():
    data = (
        b"[2024-05-16T10:20:29Z INFO  actix_server::builder] starting 8 workers\n"
        b'[2024-05-16T10:20:30Z INFO  actix_web::middleware::logger] 127.0.0.1 "GET /u/42 HTTP/1.1" '
        b'200 87 "-" "curl/8.5.0" 0.004512\n'
        b"2024-05-16T10:20:30.125678Z DEBUG request{method=GET uri=/api/users version=HTTP/1.1}: "
        b"tower_http::trace::on_response: finished processing request latency=2 ms status=200\n"
        b"2024-05-16 10:20:28,101 INFO:     Started server process [1]\n"
    )
    rows = parse_servicelog(data).candidates
    assert rows["service"].tolist()[:3] == [
        "actix_server::builder",
        "actix_web::middleware::logger",
        "tower_http::trace::on_response",
    ]
    assert pd.isna(rows["service"].iloc[3])  # uvicorn's levelprefix names no service
    assert rows["path"].tolist()[1:3] == ["/u/42", "/api/users"]
    assert rows["status_code"].tolist()[1:3] == [200, 200]
    assert rows["latency_ms"].tolist()[1:3] == pytest.approx([4.512, 2.0])
    assert rows["method"].tolist()[1:3] == ["GET", "GET"]
    # a unit-like word after any other key's value stays a word of the message
    other = parse_servicelog(
        b"2001-01-01T00:00:00.000Z CRITICAL a path=/0 region=0 s\n"
        b"2001-01-01T00:00:00.000Z CRITICAL a latency_ms=0.0 s\n"
        b"2001-01-01T00:00:00.000Z CRITICAL a latency=1 s:\n"
    )
    assert other.rejects.empty
    assert other.candidates["message"].tolist() == ["s", "s", "s:"]
    latency = other.candidates["latency_ms"]
    assert pd.isna(latency.iloc[0]) and latency.tolist()[1:] == [0.0, 1.0]


def test_home_assistants_log_its_logger_thread_and_a_traceback_ending_in_its_exception():
    """Home Assistant's `%(asctime)s.%(msecs)03d %(levelname)s (%(threadName)s) [%(name)s]
    %(message)s`: the logger is the service, the thread an attribute; a traceback's last line
    names an exception class of its module whatever its name, and continues the event."""
    lines = [
        "2026-11-20 11:20:30.123 INFO (MainThread) [homeassistant.components.http] Now listening",
        "2026-11-20 11:20:32.789 ERROR (MainThread) [aiohttp.server] Error handling request",
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.12/site-packages/aiohttp/web_protocol.py", line 350',
        "    messages, upgraded, tail = self._request_parser.feed_data(data)",
        "aiohttp.http_exceptions.BadStatusLine: 400, message: Bad status line 'Invalid method'",
        "2026-11-20 11:20:33.000 WARNING (SyncWorker_3) [homeassistant.components.http.ban] "
        "Banned IP 203.0.113.45 for too many login attempts",
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "servicelog"
    parsed = parse_servicelog(data)
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["service"].tolist() == [
        "homeassistant.components.http",
        "aiohttp.server",
        "homeassistant.components.http.ban",
    ]
    assert rows["level"].tolist() == ["INFO", "ERROR", "WARNING"]
    assert rows["message"].iloc[1].endswith("Bad status line 'Invalid method'")
    assert rows["message"].iloc[0] == "Now listening"
    threads = [json.loads(a)["thread"] for a in rows["attributes"]]
    assert threads == ["MainThread", "MainThread", "SyncWorker_3"]
