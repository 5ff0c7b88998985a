import time
from pathlib import Path

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.requests import Request
from tests.helpers import examples
from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import CANDIDATE_TYPES, FileFormatError
from transforms.formats.jsonl import FORMATS, JsonField, looks_like_jsonl, parse_jsonl

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = b'{"timestamp":"2026-11-01T10:00:00Z","path":"/a","status":200,"latency_ms":1.5}\n'


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC") if "+" in text else pd.Timestamp(text, tz="UTC")


def accounting_holds(parsed) -> bool:
    numbers = [*parsed.candidates["line_number"], *parsed.rejects["line_number"]]
    return parsed.records_read == len(numbers) == len(set(numbers))


def test_pino_http_logs_from_a_node_service():
    parsed = parse_jsonl((FIXTURES / "jsonl_pino.jsonl").read_bytes())
    assert parsed.rejects.empty and parsed.records_read == 3 and accounting_holds(parsed)
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        ts("2026-11-01T10:00:00.123"),
        ts("2026-11-01T10:00:01.456"),
        ts("2026-11-01T09:59:59"),  # out of time order: kept, order does not matter
    ]
    assert rows["method"].tolist()[:2] == ["GET", "POST"] and pd.isna(rows["method"].iloc[2])
    assert rows["path"].iloc[0] == "/api/orders/42?expand=items"
    assert rows["status_code"].tolist()[:2] == [200, 500]
    assert rows["latency_ms"].tolist()[:2] == [3.0, 12.25]
    assert rows["bytes_sent"].iloc[0] == 27  # content-length header, a string in the log
    assert rows["client_ip"].iloc[1] == "::ffff:10.0.0.9"
    assert rows["error_reason"].iloc[1] == "connect ECONNREFUSED 10.0.0.3:5432"
    assert rows["level"].tolist() == ["INFO", "ERROR", "WARNING"]  # pino's numeric levels
    assert rows["message"].tolist() == [
        "request completed",
        "request errored",
        "pool nearly exhausted",
    ]
    assert rows["line_number"].tolist() == [1, 2, 3]
    assert parsed.raw([0]).iloc[0].startswith('{"level":30,"time":1793527200123')
    note = parsed.notes[0]
    assert "default keys" in note
    assert "ts <- time" in note and "status_code <- res.statusCode" in note
    assert "error_reason <- err.message" in note  # `err` is an object: its message is read


def test_zap_logs_from_a_go_service():
    parsed = parse_jsonl((FIXTURES / "jsonl_zap.jsonl").read_bytes())
    assert parsed.rejects.empty and accounting_holds(parsed)
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        ts("2026-11-01T10:00:00.123456"),  # epoch seconds with microseconds
        ts("2026-11-01T10:00:01.5"),
        ts("2026-11-01T10:00:02"),
    ]
    assert rows["latency_ms"].tolist() == [57.2, 1500.0, 0.25]  # "57.2ms", "1.5s", "250µs"
    assert rows["level"].tolist() == ["INFO", "ERROR", "WARNING"]
    assert rows["service"].tolist() == ["payments"] * 3
    assert rows["status_code"].tolist()[:2] == [200, 502] and pd.isna(rows["status_code"][2])
    assert rows["user_id"].tolist()[:2] == ["u-1001", "u-1002"]
    assert rows["client_ip"].iloc[0] == "10.1.2.3"
    assert rows["error_reason"].tolist()[1] == "upstream timeout"
    assert pd.isna(rows["path"].iloc[2])  # not logged: null, never invented


def test_elastic_common_schema_nested_objects():
    parsed = parse_jsonl((FIXTURES / "jsonl_ecs.jsonl").read_bytes())
    assert parsed.rejects.empty and accounting_holds(parsed)
    rows = parsed.candidates
    assert rows["ts"].tolist() == [ts("2026-11-01T10:00:00.250"), ts("2026-11-01T10:00:00")]
    assert rows["path"].tolist() == ["/api/users/7", "/api/users/8"]  # `url` is an object
    assert rows["service"].tolist() == ["users", "users"]
    assert rows["method"].tolist() == ["GET", "GET"]
    assert rows["status_code"].tolist() == [200, 404]
    assert rows["latency_ms"].tolist() == [3.5, 0.12]  # event.duration is in nanoseconds
    assert rows["bytes_sent"].tolist() == [512, 0]
    assert rows["client_ip"].tolist() == ["192.0.2.10", "192.0.2.11"]
    assert rows["region"].tolist() == ["eu-west-1", "eu-west-1"]
    assert pd.isna(rows["error_reason"][0]) and rows["error_reason"][1] == "user not found"
    assert rows["level"].tolist() == ["INFO", "ERROR"]


def test_fixture_rows_are_valid_canonical_events():
    parsed = parse_jsonl((FIXTURES / "jsonl_ecs.jsonl").read_bytes())
    result = canonical_events(parsed, source="users", as_of=pd.Timestamp("2026-11-02", tz="UTC"))
    assert result.rejects.empty
    assert result.events["endpoint"].tolist() == ["/api/users/{id}"] * 2
    assert list(result.events.columns) == [*Request.to_schema().columns, "line_number"]


def test_candidate_columns_have_the_canonical_types():
    parsed = parse_jsonl((FIXTURES / "jsonl_ecs.jsonl").read_bytes())
    for name, column in parsed.candidates.items():
        if name in CANDIDATE_TYPES:
            assert str(column.dtype) == CANDIDATE_TYPES[name], name


def test_configured_mapping_with_dotted_paths_and_units():
    line = {
        "time": "2026-11-01T10:00:00+01:00",
        "http": {"duration_ms": 12},
        "request": {"url": {"path": "/x"}},
        "elapsed": 0.25,
        "status": "not read: the mapping names the columns",
    }
    mapping = {
        "ts": "time",
        "latency_ms": "http.duration_ms",
        "path": JsonField("request.url.path"),
    }
    parsed = parse_jsonl(orjson.dumps(line), mapping=mapping)
    row = parsed.candidates.iloc[0]
    assert row["ts"] == ts("2026-11-01T09:00:00")
    assert row["latency_ms"] == 12.0 and row["path"] == "/x"
    assert "status_code" not in parsed.candidates
    assert "configured mapping" in parsed.notes[0]

    seconds = parse_jsonl(
        orjson.dumps(line), mapping={"ts": "time", "latency_ms": JsonField("elapsed", "s")}
    )
    assert seconds.candidates["latency_ms"].iloc[0] == 250.0


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("s", 1793527200, "2026-11-01T10:00:00"),
        ("ms", 1793527200000, "2026-11-01T10:00:00"),
        ("ms", "1793527200500", "2026-11-01T10:00:00.5"),
        ("us", 1793527200000001, "2026-11-01T10:00:00.000001"),
        ("ns", 1793527200000001000, "2026-11-01T10:00:00.000001"),
        ("%d/%m/%Y %H:%M:%S", "01/11/2026 10:00:00", "2026-11-01T10:00:00"),
        ("auto", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00"),
    ],
)
def test_timestamp_units(unit, value, expected):
    data = orjson.dumps({"when": value})
    parsed = parse_jsonl(data, mapping={"ts": JsonField("when", unit)})
    assert parsed.candidates["ts"].iloc[0] == ts(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1793527200, "2026-11-01T10:00:00"),  # epoch seconds
        (1793527200.25, "2026-11-01T10:00:00.25"),
        (1793527200123, "2026-11-01T10:00:00.123"),  # epoch milliseconds
        (1793527200123456, "2026-11-01T10:00:00.123456"),  # epoch microseconds
        ("1793527200", "2026-11-01T10:00:00"),  # a number given as a string
        ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00"),
        ("2026-11-01T10:00:00.123456789Z", "2026-11-01T10:00:00.123456"),
        ("2026-11-01T12:00:00+02:00", "2026-11-01T10:00:00"),  # offset applied
        ("2026-11-01T05:00:00-0500", "2026-11-01T10:00:00"),
        ("2026-11-01 10:00:00", "2026-11-01T10:00:00"),  # naive: taken as UTC
    ],
)
def test_timestamps_in_every_usual_form(value, expected):
    parsed = parse_jsonl(orjson.dumps({"timestamp": value, "path": "/a"}))
    assert parsed.candidates["ts"].iloc[0] == ts(expected)


def test_epoch_seconds_and_milliseconds_mixed_in_one_file():
    lines = [{"ts": 1793527200}, {"ts": 1793527200000}, {"ts": "2026-11-01T10:00:00Z"}]
    parsed = parse_jsonl(b"\n".join(orjson.dumps(x) for x in lines))
    assert parsed.candidates["ts"].tolist() == [ts("2026-11-01T10:00:00")] * 3


def test_numbers_given_as_strings_are_accepted():
    line = b'{"time":"2026-11-01T10:00:00Z","status":"404","latency_ms":"12.5","bytes":"100"}'
    row = parse_jsonl(line).candidates.iloc[0]
    assert row["status_code"] == 404 and row["latency_ms"] == 12.5 and row["bytes_sent"] == 100


def test_numbers_in_text_columns_are_written_out():
    line = b'{"time":"2026-11-01T10:00:00Z","user_id":12345,"region":1.5,"message":""}'
    row = parse_jsonl(line).candidates.iloc[0]
    assert row["user_id"] == "12345" and row["region"] == "1.5"
    assert pd.isna(row["message"])  # an empty string is "not logged"


def test_literal_dotted_keys_and_nested_paths_both_resolve():
    data = (
        b'{"time":"2026-11-01T10:00:00Z","http.status_code":201}\n'
        b'{"time":"2026-11-01T10:00:00Z","http":{"status_code":202}}\n'
    )
    assert parse_jsonl(data).candidates["status_code"].tolist() == [201, 202]


def test_each_column_key_is_chosen_per_file():
    data = (
        b'{"time":"2026-11-01T10:00:00Z","msg":"a","status":"shipped","code":1}\n'
        b'{"time":"2026-11-01T10:00:01Z","message":"b","status_code":200}\n'
    )
    parsed = parse_jsonl(data)
    # message outranks msg, and appears in the first lines: line 1 has no message
    assert parsed.candidates["message"].isna().tolist() == [True, False]
    # `status` never holds a status code here, so status_code is read from `status_code`
    assert parsed.candidates["status_code"].isna().tolist() == [True, False]
    assert "status_code <- status_code" in parsed.notes[0]
    assert parsed.rejects.empty


def test_a_key_that_is_an_object_in_the_sample_is_not_chosen():
    data = b'{"time":"2026-11-01T10:00:00Z","user":{"id":"u1","name":"Ann"}}\n'
    parsed = parse_jsonl(data)
    assert parsed.candidates["user_id"].tolist() == ["u1"]
    assert "user_id <- user.id" in parsed.notes[0]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"time":"2026-11-01T10:00:00Z",', "not valid JSON: unexpected end of data at column 32"),
        (b'{"time":"2026-11-01T10:00:00Z" "path":"/a"}', "not valid JSON: unexpected character"),
        (
            b'{"time":"2026-11-01T10:00:00Z","path":"/a"}}',
            "not valid JSON: unexpected content after document at column 44",
        ),
        (b"{'time':'2026-11-01T10:00:00Z'}", "not valid JSON"),
        (b"time=2026-11-01T10:00:00Z path=/a", "not valid JSON"),
        (b"42", "expected a JSON object, found a number"),
        (b'"2026-11-01T10:00:00Z /a"', "expected a JSON object, found a string"),
        (b'[{"time":"2026-11-01T10:00:00Z"}]', "expected a JSON object, found an array"),
        (b"null", "expected a JSON object, found null"),
        (b"true", "expected a JSON object, found a boolean"),
        (
            b'{"time":"2026-11-01T10:00:00Z","status":"abc"}',
            "status: 'abc' is not an integer status code",
        ),
        (
            b'{"time":"2026-11-01T10:00:00Z","status":200.5}',
            "status: '200.5' is not an integer status code",
        ),
        (b'{"time":"2026-11-01T10:00:00Z","status":true}', "status: 'true' is not an integer"),
        (
            b'{"time":"2026-11-01T10:00:00Z","latency_ms":true}',
            "latency_ms: 'true' is not a duration",
        ),
        (
            b'{"time":"2026-11-01T10:00:00Z","latency_ms":"fast"}',
            "latency_ms: 'fast' is not a duration",
        ),
        (
            b'{"time":"2026-11-01T10:00:00Z","latency_ms":[1,2]}',
            "latency_ms: '[1,2]' is not a duration",
        ),
        (
            b'{"time":"2026-11-01T10:00:00Z","message":{"text":"hi"}}',
            """message: '{"text":"hi"}' is not a string or number""",
        ),
        (b'{"time":"2026-11-01T10:00:00Z","path":["/a"]}', "path: '[\"/a\"]' is not a string"),
        (b'{"time":"2026-11-01T10:00:00Z","error":false}', "error: 'false' is not a string"),
        (b'{"time":"yesterday"}', "time: 'yesterday' is not a timestamp"),
        (b'{"time":"2026-11-01T10:00:00Z","path":"/\xff"}', "not valid UTF-8"),
        (b'{"time":"2026-11-01T10:00:00Z","path":"/\x00"}', "NUL bytes"),
    ],
)
def test_bad_lines_are_rejected_with_their_reason(line, reason):
    good = b'{"time":"2026-11-01T10:00:00Z","path":"/a","status":200,"latency_ms":1,"message":"m","error":"e"}\n'
    parsed = parse_jsonl(good + line + b"\n" + good)
    assert parsed.records_read == 3 and accounting_holds(parsed)
    assert parsed.candidates["line_number"].tolist() == [1, 3]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert reason in parsed.rejects["reasons"].iloc[0]
    assert parsed.rejects["raw"].iloc[0]  # the line as read, for the quarantine


def test_every_failing_field_of_a_line_is_named():
    line = b'{"timestamp":"soon","status":"abc","latency_ms":{"p50":1},"path":"/a"}'
    reasons = parse_jsonl(GOOD + line).rejects["reasons"].iloc[0]
    assert "timestamp: 'soon' is not a timestamp" in reasons
    assert "status: 'abc' is not an integer status code" in reasons
    assert """latency_ms: '{"p50":1}' is not a duration""" in reasons


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'[{"time":"2026-11-01T10:00:00Z"},{"time":"2026-11-01T10:00:01Z"}]',
            "found one array of 2 elements",
        ),
        (
            b'[\n  {"time": "2026-11-01T10:00:00Z"},\n  {"time": "2026-11-01T10:00:01Z"}\n]\n',
            "found one array of 2",
        ),
        (
            b'\xef\xbb\xbf\n\n[\n  {"time": "2026-11-01T10:00:00Z"},\n',
            "line 3: a JSON array, not JSON lines",
        ),
        (b'{\n  "time": "2026-11-01T10:00:00Z"\n}\n', "spread over several lines"),
        (b'{"msg":"no time here"}\n', "line 1: no timestamp key in the first 1 records"),
    ],
)
def test_file_errors(data, message):
    with pytest.raises(FileFormatError, match=message):
        parse_jsonl(data)


def test_a_json_array_file_error_names_line_one():
    with pytest.raises(FileFormatError, match=r"^line 1: a JSON array, not JSON lines: "):
        parse_jsonl(b'[{"time":"2026-11-01T10:00:00Z"}]')


def test_an_array_line_among_object_lines_is_only_a_bad_line():
    parsed = parse_jsonl(b'[1,2]\n{"ts":1793527200}\n')
    assert parsed.rejects["reasons"].tolist() == ["expected a JSON object, found an array"]
    assert len(parsed.candidates) == 1


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"ts": "time", "when": "x"}, "unknown columns when"),
        ({"ts": "time", "latency_ms": JsonField("d", "minutes")}, "unknown latency unit 'minutes'"),
        ({"ts": "when"}, "line 1: the mapping reads ts from 'when', which none of the first 1"),
    ],
)
def test_mapping_errors(mapping, message):
    with pytest.raises(FileFormatError, match=message):
        parse_jsonl(b'{"time":"2026-11-01T10:00:00Z"}\n', mapping=mapping)


def test_file_of_only_bad_lines_needs_no_mapping():
    parsed = parse_jsonl(b"nope\n[]\n")
    assert parsed.records_read == 2 and parsed.candidates.empty and len(parsed.rejects) == 2


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \r\n"])
def test_empty_file_has_no_records(data):
    parsed = parse_jsonl(data)
    assert parsed.records_read == 0 and parsed.candidates.empty and parsed.rejects.empty


def test_bom_crlf_and_blank_lines():
    data = b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n") + b"\r\n\r\n" + GOOD
    parsed = parse_jsonl(data)
    assert parsed.candidates["line_number"].tolist() == [1, 4]
    assert parsed.raw([0]).iloc[0] == GOOD.decode().strip()
    assert parsed.records_read == 2


def test_a_five_megabyte_value_is_read_in_bounded_time():
    huge = orjson.dumps({"time": "2026-11-01T10:00:00Z", "path": "/a", "message": "x" * 5_000_000})
    started = time.perf_counter()
    parsed = parse_jsonl(GOOD + huge + b"\n" + GOOD)
    assert time.perf_counter() - started < 10
    assert parsed.records_read == 3 and accounting_holds(parsed)
    assert len(parsed.candidates["message"].iloc[1]) == 5_000_000


def test_a_truncated_five_megabyte_line_is_rejected():
    huge = orjson.dumps({"time": "2026-11-01T10:00:00Z", "message": "x" * 5_000_000})[:-10]
    parsed = parse_jsonl(GOOD + huge + b"\n" + GOOD)
    assert parsed.rejects["line_number"].tolist() == [2]
    assert parsed.rejects["reasons"].iloc[0].startswith("not valid JSON: unexpected end of data")


def test_looks_like_and_format_record():
    assert looks_like_jsonl('{"a": 1}') and looks_like_jsonl('  {"a"')
    assert not looks_like_jsonl("[1, 2]") and not looks_like_jsonl("timestamp,endpoint")
    (fmt,) = FORMATS
    assert fmt.name == "jsonl" and fmt.parse is parse_jsonl and fmt.looks_like("{}")


# property: random records written as JSON lines parse back to the same canonical values -----
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda s: s.strip() not in ("", "-") and s == s.strip())
TIMES = st.datetimes(
    min_value=pd.Timestamp("2001-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
).map(lambda d: pd.Timestamp(d, tz="UTC").floor("ms"))
RECORD = st.fixed_dictionaries(
    {"ts": TIMES},
    optional={
        "path": TEXT.map(lambda s: "/" + s),
        "status_code": st.integers(100, 599),
        "latency_ms": st.floats(0, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
        "bytes_sent": st.integers(0, 2**40),
        "user_id": TEXT,
        "method": st.sampled_from(["GET", "POST", "DELETE"]),
        "level": st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
        "message": TEXT,
    },
)
TIME_FORMS = {
    "iso": lambda t: t.isoformat().replace("+00:00", "Z"),
    "offset": lambda t: t.tz_convert("America/New_York").isoformat(),
    "epoch_s": lambda t: t.value / 1e9,  # a float, as zap writes it
    "epoch_ms": lambda t: t.value // 10**6,
    "epoch_ms_text": lambda t: str(t.value // 10**6),
}


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(RECORD, min_size=1, max_size=20),
    form=st.sampled_from(sorted(TIME_FORMS)),
    as_strings=st.booleans(),
)
def test_random_records_round_trip_through_json_lines(records, form, as_strings):
    keys = {"ts": "timestamp", "status_code": "status", "message": "msg"}
    lines = []
    for record in records:
        obj = {}
        for column, value in record.items():
            if column == "ts":
                value = TIME_FORMS[form](value)
            elif as_strings and isinstance(value, int | float):
                value = str(value)
            obj[keys.get(column, column)] = value
        lines.append(orjson.dumps(obj))
    parsed = parse_jsonl(b"\n".join(lines) + b"\n")
    assert parsed.rejects.empty and parsed.records_read == len(records)
    rows = parsed.candidates
    for i, record in enumerate(records):
        if "message" in record and not {"level", "path"} & record.keys():
            record = {**record, "level": "INFO"}  # a plain event (`plain_events`)
        for column in CANDIDATE_TYPES:
            got = rows[column].iloc[i] if column in rows else None
            if column not in record:
                assert got is None or pd.isna(got), column
            elif column == "latency_ms":
                assert got == pytest.approx(record[column]), column
            else:
                assert got == record[column], column


def test_elasticsearch_json_logs_with_a_comma_before_the_milliseconds():
    # Elasticsearch 7's server log (ESJsonLayout): ISO 8601 allows the comma
    data = (
        b'{"type": "server", "timestamp": "2019-01-18T08:55:08,159+0100", "level": "INFO", '
        b'"component": "o.e.e.NodeEnvironment", "cluster.name": "c", "node.name": "node-0", '
        b'"message": "heap size [989.8mb]"}\n'
        b'{"type": "server", "timestamp": "2019-01-18T08:55:09,5Z", "level": "WARN", '
        b'"component": "o.e.d.DiscoveryModule", "message": "using discovery type [zen]"}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        ts("2019-01-18T07:55:08.159Z"),
        ts("2019-01-18T08:55:09.5Z"),
    ]
    assert rows["service"].tolist() == ["o.e.e.NodeEnvironment", "o.e.d.DiscoveryModule"]
    assert rows["message"].tolist() == ["heap size [989.8mb]", "using discovery type [zen]"]


def test_log4j2_json_layout_as_logstash_writes_it():
    data = (
        b'{"level":"INFO","loggerName":"logstash.agent","timeMillis":1546896321871,'
        b'"thread":"Ruby-0-Thread-1","logEvent":{"message":"Pipelines running","count":1}}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    row = parsed.candidates.iloc[0]
    assert row["ts"] == ts("2019-01-07T21:25:21.871Z")
    assert (row["service"], row["message"]) == ("logstash.agent", "Pipelines running")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # nginx's JSON log_format with the whole request line and $time_local
        ('{"time_local":"26/May/2024:13:42:52 +0200","remote_addr":"203.0.113.9","request":'
         '"GET /api/items?x=1 HTTP/1.1","status":"200","body_bytes_sent":"17",'
         '"request_time":"0.004"}',
         ("2024-05-26T11:42:52Z", "GET", "/api/items?x=1", 200, 17, 4.0)),
        # nginx with $time_iso8601, $request_method and $request_uri
        ('{"time_iso8601":"2024-05-26T13:42:52+02:00","request_method":"POST","request_uri":'
         '"/api/orders","status":502,"body_bytes_sent":150,"request_time":1.503}',
         ("2024-05-26T11:42:52Z", "POST", "/api/orders", 502, 150, 1503.0)),
        # Envoy / Istio JSON: start_time and response_code
        ('{"start_time":"2024-05-26T11:42:52.601Z","method":"GET","path":"/productpage",'
         '"response_code":200,"bytes_sent":4294}',
         ("2024-05-26T11:42:52.601Z", "GET", "/productpage", 200, 4294, None)),
        # Contour's Envoy JSON: duration in milliseconds (Envoy's %DURATION%)
        ('{"@timestamp":"2024-05-26T11:42:52.601Z","method":"GET","path":"/","response_code":'
         '404,"response_flags":"NR","duration":250,"bytes_sent":0,"upstream_host":null}',
         ("2024-05-26T11:42:52.601Z", "GET", "/", 404, 0, 250.0)),
        # Google Cloud's LogEntry (Cloud Run, load balancers): latency as a duration string
        ('{"httpRequest":{"requestMethod":"GET","requestUrl":"https://hello-uc.a.run.app/api/items'
         '?x=1","status":200,"responseSize":"1290","remoteIp":"203.0.113.9","latency":"0.012345s"},'
         '"timestamp":"2024-05-26T11:42:52.601234Z","severity":"INFO"}',
         ("2024-05-26T11:42:52.601234Z", "GET", "https://hello-uc.a.run.app/api/items?x=1", 200,
          1290, 12.345)),
        # Azure Front Door's access log: properties, timeTaken in seconds
        ('{"time":"2024-05-26T11:42:52.6012345Z","category":"FrontDoorAccessLog","properties":'
         '{"httpMethod":"POST","requestUri":"https://www.contoso.com:443/api/orders",'
         '"responseBytes":"88","clientIp":"203.0.113.10","timeTaken":"1.503",'
         '"httpStatusCode":"502"}}',
         ("2024-05-26T11:42:52.601234Z", "POST", "https://www.contoso.com:443/api/orders", 502, 88,
          1503.0)),
        # express-winston
        ('{"meta":{"req":{"url":"/api/items?x=1","method":"GET","originalUrl":"/api/items?x=1"},'
         '"res":{"statusCode":200},"responseTime":4},"level":"info","message":"HTTP GET '
         '/api/items?x=1","timestamp":"2024-05-26T11:42:52.650Z"}',
         ("2024-05-26T11:42:52.650Z", "GET", "/api/items?x=1", 200, None, 4.0)),
        # API Gateway's access log (its documentation's JSON example)
        ('{"requestId":"c6af9ac6","ip":"203.0.113.9","requestTime":"26/May/2024:11:42:52 +0000",'
         '"httpMethod":"GET","resourcePath":"/pets/{petId}","status":"200","protocol":"HTTP/1.1",'
         '"responseLength":"42"}',
         ("2024-05-26T11:42:52Z", "GET", "/pets/{petId}", 200, 42, None)),
        # Go's log/slog JSONHandler: a time.Duration is whole nanoseconds
        ('{"time":"2024-05-16T10:20:32.456+02:00","level":"INFO","msg":"request","method":"GET",'
         '"path":"/api/users/42","status":200,"duration":1234567}',
         ("2024-05-16T08:20:32.456Z", "GET", "/api/users/42", 200, None, 1.234567)),
        # Echo's logger: latency in ns (latency_human beside it), bytes_out
        ('{"time":"2024-05-16T10:20:33.123456789+02:00","remote_ip":"::1","method":"GET",'
         '"uri":"/","status":200,"latency":123456,"latency_human":"123.456µs","bytes_out":13}',
         ("2024-05-16T08:20:33.123456Z", "GET", "/", 200, 13, 0.123456)),
        # Rails' lograge: duration in ms
        ('{"method":"GET","path":"/jobs/833552.json","controller":"JobsController","action":"show",'
         '"status":200,"duration":58.33,"view":40.43,"db":15.26,"time":"2024-05-16T10:20:33.123Z"}',
         ("2024-05-16T10:20:33.123Z", "GET", "/jobs/833552.json", 200, None, 58.33)),
        # zerolog: durations in float ms
        ('{"level":"info","time":"2024-05-16T10:20:33+02:00","method":"GET","url":"/api/items",'
         '"status":200,"size":512,"duration":1.234,"message":"request"}',
         ("2024-05-16T08:20:33Z", "GET", "/api/items", 200, 512, 1.234)),
        # Serilog's compact JSON, from its ASP.NET Core request logging
        ('{"@t":"2024-05-16T10:20:33.1234567Z","@mt":"HTTP {RequestMethod} {RequestPath} responded '
         '{StatusCode} in {Elapsed:0.0000} ms","RequestMethod":"GET","RequestPath":"/api/values",'
         '"StatusCode":200,"Elapsed":12.345678}',
         ("2024-05-16T10:20:33.123456Z", "GET", "/api/values", 200, None, 12.345678)),
        # Kong's file-log: started_at in epoch ms, request.uri (not the whole request.url)
        ('{"request":{"method":"GET","uri":"/get","url":"http://httpbin.org:8000/get"},'
         '"response":{"status":200,"size":"434"},"latencies":{"proxy":1430,"kong":9,'
         '"request":1921},"client_ip":"127.0.0.1","started_at":1433209822425}',
         ("2015-06-02T01:50:22.425Z", "GET", "/get", 200, 434, 1921.0)),
        # Cloudflare Logpush's HTTP requests
        ('{"ClientIP":"203.0.113.7","ClientRequestMethod":"GET","ClientRequestURI":"/api/items?x=1",'
         '"EdgeResponseBytes":2134,"EdgeResponseStatus":200,'
         '"EdgeStartTimestamp":"2024-05-16T10:20:32Z"}',
         ("2024-05-16T10:20:32Z", "GET", "/api/items?x=1", 200, 2134, None)),
        # Apache APISIX's file-logger
        ('{"client_ip":"127.0.0.1","start_time":1716000000123,"latency":18.5,"request":{"method":'
         '"GET","uri":"/hello?a=1","url":"http://127.0.0.1:9080/hello?a=1"},"response":{"status":'
         '200,"size":230}}',
         ("2024-05-18T02:40:00.123Z", "GET", "/hello?a=1", 200, 230, 18.5)),
        # logback-access with logstash-logback-encoder's LogstashAccessEncoder
        ('{"@timestamp":"2024-05-16T10:20:30.123+02:00","method":"GET","protocol":"HTTP/1.1",'
         '"status_code":200,"requested_url":"GET /api/orders/42 HTTP/1.1","requested_uri":'
         '"/api/orders/42","remote_host":"203.0.113.7","content_length":512,"elapsed_time":37}',
         ("2024-05-16T08:20:30.123Z", "GET", "/api/orders/42", 200, 512, 37.0)),
        # ASP.NET Core's HTTP logging through .NET's JSON console formatter
        ('{"Timestamp":"2024-05-16T08:20:31.456+00:00","EventId":9,"LogLevel":"Information",'
         '"Category":"Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware","Message":"Request '
         'and Response","State":{"Method":"GET","Path":"/weatherforecast","StatusCode":200,'
         '"Duration":12.3456}}',
         ("2024-05-16T08:20:31.456Z", "GET", "/weatherforecast", 200, None, 12.3456)),
        # Zeek's http.log as JSON
        ('{"ts":1591367999.430166,"uid":"C5bLoe2Mvxqhawzqqd","id.orig_h":"192.168.4.76",'
         '"id.orig_p":46378,"method":"GET","host":"testmyids.com","uri":"/","response_body_len":'
         '39,"status_code":200}',
         ("2020-06-05T14:39:59.430166Z", "GET", "/", 200, 39, None)),
        # Suricata's eve.json http event
        ('{"timestamp":"2017-04-07T22:24:37.251547+0100","event_type":"http","src_ip":'
         '"192.168.2.14","http":{"hostname":"209.53.113.5","url":"/api/v1/status","http_method":'
         '"GET","protocol":"HTTP/1.1","status":200,"length":5412}}',
         ("2017-04-07T21:24:37.251547Z", "GET", "/api/v1/status", 200, 5412, None)),
        # API Gateway HTTP APIs' default access log: the route key is "METHOD /path"
        ('{"requestId":"c6af9ac6","ip":"198.51.100.23","requestTime":"16/May/2024:10:20:30 +0200",'
         '"httpMethod":"GET","routeKey":"GET /pets/{petId}","status":"200","protocol":"HTTP/1.1",'
         '"responseLength":"256"}',
         ("2024-05-16T08:20:30Z", "GET", "/pets/{petId}", 200, 256, None)),
        # Linkerd's proxy access log: total_ns
        ('{"client.addr":"10.42.0.70:32996","method":"GET","response_bytes":"19627","status":200,'
         '"timestamp":"2022-08-23T20:33:42.321746212Z","total_ns":"14441135","uri":'
         '"http://webapp:7000/"}',
         ("2022-08-23T20:33:42.321746Z", "GET", "http://webapp:7000/", 200, 19627, 14.441135)),
        # gin-logrus: latency in whole ms
        ('{"clientIP":"172.17.0.1","dataLength":512,"hostname":"api","latency":3,"level":"info",'
         '"method":"GET","msg":"GET /api/users/42 (3ms)","path":"/api/users/42","statusCode":200,'
         '"time":"2024-05-16T10:20:30Z"}',
         ("2024-05-16T10:20:30Z", "GET", "/api/users/42", 200, 512, 3.0)),
        # gin-contrib/zap with zap's production config: latency in float seconds
        ('{"level":"info","ts":1715854830.1234567,"caller":"ginzap/zap.go:125","msg":"/api/users",'
         '"status":200,"method":"GET","path":"/api/users","ip":"172.17.0.1","latency":0.003211,'
         '"time":"2024-05-16T10:20:30Z"}',
         ("2024-05-16T10:20:30Z", "GET", "/api/users", 200, None, 3.211)),
        # Azure Application Gateway v1 (timeTaken in ms) and v2 (in seconds)
        ('{"time":"2024-05-16T08:20:30Z","category":"ApplicationGatewayAccessLog","properties":'
         '{"clientIP":"191.96.249.97","httpMethod":"GET","requestUri":"/setup.php","httpStatus":'
         '404,"sentBytes":553,"timeTaken":205}}',
         ("2024-05-16T08:20:30Z", "GET", "/setup.php", 404, 553, 205.0)),
        ('{"timeStamp":"2024-05-16T08:20:30+00:00","category":"ApplicationGatewayAccessLog",'
         '"properties":{"clientIP":"198.51.100.23","httpMethod":"GET","requestUri":"/api/orders/42",'
         '"httpStatus":200,"sentBytes":1843,"timeTaken":0.037}}',
         ("2024-05-16T08:20:30Z", "GET", "/api/orders/42", 200, 1843, 37.0)),
        # Envoy Gateway's default JSON access log
        ('{"start_time":"2024-05-16T08:20:30.123Z","method":"GET","response_code":200,"duration":3,'
         '"bytes_sent":512,"response_flags":"-","upstream_host":"10.244.0.30:3000",'
         '"x-envoy-origin-path":"/api/orders/42"}',
         ("2024-05-16T08:20:30.123Z", "GET", "/api/orders/42", 200, 512, 3.0)),
        # gunicorn's access log as JSON, with its bracketed %(t)
        ('{"time":"[16/May/2024:10:20:30 +0000]","method":"GET","path":"/api/items/42",'
         '"status":"200"}',
         ("2024-05-16T10:20:30Z", "GET", "/api/items/42", 200, None, None)),
        # Fastly's JSON logging example: time_elapsed is VCL's time.elapsed.usec
        ('{"timestamp":"2026-11-10T13:02:07+0000","client_ip":"203.0.113.17","url":"/api/v1/orders'
         '?page=2","request_method":"GET","response_status":200,"response_reason":"OK",'
         '"response_body_size":5123,"time_elapsed":42005}',
         ("2026-11-10T13:02:07Z", "GET", "/api/v1/orders?page=2", 200, 5123, 42.005)),
        # Akamai DataStream 2's JSON: every value a string, the time in epoch seconds
        ('{"version":"1","cp":"123456","reqTimeSec":"1794315727.123","bytes":"5123","cliIP":'
         '"203.0.113.17","statusCode":"200","reqMethod":"GET","reqPath":"/api/v1/orders",'
         '"queryStr":"page=2","turnAroundTimeMSec":"42","transferTimeMSec":"3"}',
         ("2026-11-10T13:02:07.123Z", "GET", "/api/v1/orders", 200, 5123, 42.0)),
        # Azure Monitor's AppServiceHTTPLogs rows (`az monitor log-analytics query`): strings
        ('{"CIp":"10.0.3.22","CsMethod":"GET","CsUriQuery":"","CsUriStem":"/static/app.js",'
         '"ScBytes":"1128","ScStatus":"200","TimeGenerated":"2024-05-16T10:21:09.604Z",'
         '"TimeTaken":"35"}',
         ("2024-05-16T10:21:09.604Z", "GET", "/static/app.js", 200, 1128, 35.0)),
        # Azure API Management's GatewayLogs (a resource log record)
        ('{"Level":4,"time":"2024-03-12T14:02:11.0000000Z","category":"GatewayLogs","durationMs":'
         '23,"callerIpAddress":"203.0.113.10","properties":{"method":"GET","url":'
         '"https://contoso.azure-api.net/petstore/pets","responseCode":200,"responseSize":705}}',
         ("2024-03-12T14:02:11Z", "GET", "https://contoso.azure-api.net/petstore/pets", 200, 705,
          23.0)),
        # NGINX Unit's JSON access log: the request line whole, the request time in seconds
        ('{"remote_addr":"203.0.113.10","time_local":"12/Mar/2024:14:02:11 +0000","request_line":'
         '"GET /pets HTTP/1.1","status":"200","body_bytes_sent":"415","request_time":"0.023"}',
         ("2024-03-12T14:02:11Z", "GET", "/pets", 200, 415, 23.0)),
    ],
)  # fmt: skip
def test_json_access_logs_of_nginx_envoy_and_api_gateway_by_default_keys(line, expected):
    data = (line + "\n").encode()
    assert registry.detect(data) == "jsonl"
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    row = parsed.candidates.iloc[0]
    ts, method, path, status, size, latency = expected
    assert row["ts"] == pd.Timestamp(ts)
    assert (row["method"], row["path"], row["status_code"]) == (method, path, status)
    assert pd.isna(row.get("bytes_sent")) if size is None else row["bytes_sent"] == size
    if latency is None:
        assert pd.isna(row.get("latency_ms"))
    else:
        assert row["latency_ms"] == pytest.approx(latency)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # python-json-logger's default fields
        ('{"asctime": "2024-05-16 10:20:29,101", "levelname": "WARNING", "name": "uvicorn.error", '
         '"message": "Application startup slow."}',
         ("2024-05-16T10:20:29.101Z", "uvicorn.error", "WARNING", "Application startup slow.")),
        # Monolog's JsonFormatter (Laravel, Symfony): level_name before its numeric level
        ('{"message":"Order not found","context":{"order_id":43},"level":300,"level_name":'
         '"WARNING","channel":"app","datetime":"2024-05-16T10:20:31.004211+02:00","extra":{}}',
         ("2024-05-16T08:20:31.004211Z", "app", "WARNING", "Order not found")),
        # .NET's JSON console formatter
        ('{"Timestamp":"2024-05-16T08:20:30.123+00:00","EventId":14,"LogLevel":"Information",'
         '"Category":"Microsoft.Hosting.Lifetime","Message":"Now listening on: http://[::]:8080"}',
         ("2024-05-16T08:20:30.123Z", "Microsoft.Hosting.Lifetime", "INFO",
          "Now listening on: http://[::]:8080")),
        # logstash-logback-encoder's LogstashEncoder
        ('{"@timestamp":"2024-05-16T10:20:30.123+02:00","message":"Started OrdersApp",'
         '"logger_name":"com.acme.OrdersApp","thread_name":"main","level":"INFO","level_value":'
         '20000}',
         ("2024-05-16T08:20:30.123Z", "com.acme.OrdersApp", "INFO", "Started OrdersApp")),
        # Rust's tracing-subscriber JSON
        ('{"timestamp":"2024-05-16T08:20:29.900112Z","level":"INFO","fields":{"message":'
         '"listening on 0.0.0.0:3000"},"target":"orders"}',
         ("2024-05-16T08:20:29.900112Z", "orders", "INFO", "listening on 0.0.0.0:3000")),
        # winston's npm levels
        ('{"level":"http","message":"GET /health 200","timestamp":"2024-05-16T10:20:30.123Z",'
         '"service":"api"}',
         ("2024-05-16T10:20:30.123Z", "api", "INFO", "GET /health 200")),
    ],
)  # fmt: skip
def test_json_application_logs_of_common_loggers_by_default_keys(line, expected):
    parsed = parse_jsonl((line + "\n").encode())
    assert parsed.rejects.empty
    row = parsed.candidates.iloc[0]
    ts, service, level, message = expected
    assert row["ts"] == pd.Timestamp(ts)
    assert (row["service"], row["level"], row["message"]) == (service, level, message)


def test_kubernetes_audit_levels_are_no_log_levels():
    line = (
        '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":'
        '"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?limit=500","verb":"list",'
        '"sourceIPs":["172.18.0.1"],"responseStatus":{"metadata":{},"code":200},'
        '"requestReceivedTimestamp":"2024-05-16T08:20:30.120345Z"}\n'
    )
    parsed = parse_jsonl(line.encode())
    row = parsed.candidates.iloc[0]
    assert row["path"] == "/api/v1/namespaces/default/pods?limit=500" and row["status_code"] == 200
    assert "level" not in parsed.candidates or pd.isna(row["level"])


def test_json_lines_without_a_time_key_are_jsonl_and_say_so():
    """A JSON-lines file no key of which is a time is not a CSV file with a strange header:
    detection sends it to jsonl, which names the keys it looked for."""
    data = b'{"began":1716723772601,"request":{"method":"GET","uri":"/x"}}\n' * 3
    assert registry.detect(data) == "jsonl"
    with pytest.raises(FileFormatError, match="no timestamp key in the first 3 records"):
        parse_jsonl(data)


def test_a_status_of_0_is_no_status():
    """Envoy (and Go servers) log status 0 where no response was sent: no status, not an
    out-of-range one; the request is kept."""
    data = (
        b'{"start_time":"2024-05-26T11:42:52Z","method":"GET","path":"/a","response_code":0,'
        b'"response_flags":"DC","duration":3}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    assert pd.isna(parsed.candidates["status_code"].iloc[0])
    assert parsed.candidates["latency_ms"].iloc[0] == 3.0


def test_a_record_without_the_chosen_time_key_takes_another_default_one():
    """gin-contrib/zap: the request lines carry `time` (chosen: it comes first among the
    defaults), zap's own lines only `ts`; both are kept with their times."""
    data = (
        b'{"level":"info","ts":1716723772.6012,"msg":"listening","addr":":8080"}\n'
        b'{"level":"info","ts":1716723772.6503,"msg":"/api/items","status":200,"method":"GET",'
        b'"path":"/api/items","latency":4.2,"time":"2024-05-26T11:42:52Z"}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    assert parsed.candidates["ts"].tolist() == [
        pd.Timestamp("2024-05-26T11:42:52.601200Z"),
        pd.Timestamp("2024-05-26T11:42:52Z"),
    ]
    assert any("ts <- time" in n for n in parsed.notes)


def test_nginx_json_written_without_escape_json_reads_its_hex_escapes():
    """nginx's default escaping writes `"`, `\\`, control characters and bytes above 0x7E as
    \\xHH (ngx_http_log_module: escape=default), which is not JSON: such a line is read with
    each run of escapes taken as the UTF-8 bytes it spells."""
    lines = [
        '{"time_iso8601":"2024-05-26T13:42:52+02:00","request_uri":"/search?q=caf\\xC3\\xA9",'
        '"status":"200","http_user_agent":"Mozilla/5.0 \\x22quoted\\x22 \\x5Cbs",'
        '"request_method":"GET"}',
        '{"time_iso8601":"2024-05-26T13:42:53+02:00","request_uri":"/a","status":"404",'
        '"http_user_agent":"latin \\xE9t\\xE9","request_method":"GET"}',
        '{"time_iso8601":"2024-05-26T13:42:54+02:00","request_uri":"/b","status":"200",'
        '"http_user_agent":"plain","request_method":"GET"}',
        '{"time_iso8601":"2024-05-26T13:42:55+02:00","request_uri":"/c\\x22 broken',
    ]
    parsed = parse_jsonl(("\n".join(lines) + "\n").encode())
    kept = parsed.candidates
    assert kept["path"].tolist() == ["/search?q=café", "/a", "/b"]
    assert kept["status_code"].tolist() == [200, 404, 200]
    attributes = [orjson.loads(a) for a in kept["attributes"]]
    assert attributes[0]["http_user_agent"] == 'Mozilla/5.0 "quoted" \\bs'
    assert attributes[1]["http_user_agent"] == "latin été"  # not UTF-8: Windows-1252
    # a line that is not JSON even so is still rejected as such
    assert parsed.rejects["line_number"].tolist() == [4]
    assert parsed.rejects["reasons"].iloc[0].startswith("not valid JSON")


def test_logstash_named_status_response_is_read_only_when_every_value_is_a_status():
    """Elastic's nginx JSON example (`log_format json_logstash`) names `$status` `response`,
    as Logstash's COMBINEDAPACHELOG does; elsewhere `response` may be a size or a time."""
    lines = [
        '{"time": "17/May/2015:08:05:32 +0000", "remote_ip": "93.180.71.3", "remote_user": "-", '
        '"request": "GET /downloads/product_1 HTTP/1.1", "response": 304, "bytes": 0, '
        '"referrer": "-", "agent": "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)"}',
        '{"time": "17/May/2015:08:05:23 +0000", "remote_ip": "93.180.71.3", "remote_user": "-", '
        '"request": "GET /downloads/product_2 HTTP/1.1", "response": 404, "bytes": 332, '
        '"referrer": "-", "agent": "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)"}',
    ]
    parsed = parse_jsonl(("\n".join(lines) + "\n").encode())
    assert parsed.rejects.empty
    assert parsed.candidates["status_code"].tolist() == [304, 404]
    assert any("status_code <- response" in n for n in parsed.notes)
    sized = [line.replace('"response": 304', '"response": 1234') for line in lines]
    parsed = parse_jsonl(("\n".join(sized) + "\n").encode())
    assert "status_code" not in parsed.candidates or parsed.candidates["status_code"].isna().all()
    assert not any("status_code <-" in n for n in parsed.notes)
    assert parsed.candidates["attributes"].str.contains('"response":"1234"').iloc[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (  # AWS WAF: the request a rule judged, no status unless a rule sent its own
            '{"timestamp":1795169731981,"formatVersion":1,"action":"ALLOW","responseCodeSent":null,'
            '"httpRequest":{"clientIp":"203.0.113.45","country":"US","uri":"/api/v1/orders",'
            '"args":"expand=items","httpVersion":"HTTP/1.1","httpMethod":"GET"}}',
            {"method": "GET", "path": "/api/v1/orders", "client_ip": "203.0.113.45"},
        ),
        (  # MinIO's audit log
            '{"version":"1","time":"2026-11-20T10:20:30.123456789Z","api":{"name":"GetObject",'
            '"statusCode":200,"rx":312,"tx":1048576,"timeToResponse":"23456789ns"},'
            '"remotehost":"203.0.113.45","requestPath":"/photos/img.jpg"}',
            {"path": "/photos/img.jpg", "status_code": 200, "latency_ms": 23.456789,
             "bytes_sent": 1048576, "client_ip": "203.0.113.45"},
        ),
        (  # App Engine's request log, as Cloud Logging exports it
            '{"protoPayload":{"ip":"203.0.113.45","latency":"0.045s","method":"GET",'
            '"resource":"/api/items?page=2","status":200,"responseSize":"1532"},'
            '"timestamp":"2026-11-20T10:20:30.123456Z","severity":"INFO"}',
            {"method": "GET", "path": "/api/items?page=2", "status_code": 200,
             "latency_ms": 45.0, "bytes_sent": 1532, "client_ip": "203.0.113.45"},
        ),
        (  # GitLab's production_json.log
            '{"method":"GET","path":"/group/project/-/issues/1234","status":200,'
            '"time":"2026-11-20T10:15:54.821Z","remote_ip":"203.0.113.45","duration_s":0.654}',
            {"method": "GET", "status_code": 200, "latency_ms": 654.0},
        ),
        (  # Azure Monitor's StorageBlobLogs
            '{"TimeGenerated":"2026-11-20T19:10:21.2123117Z","OperationName":"GetBlob",'
            '"StatusCode":"200","DurationMs":5,"Uri":"https://acct.blob.core.windows.net/p/a.jpg",'
            '"CallerIpAddress":"192.100.0.102:4362","ResponseBodySize":4096}',
            {"status_code": 200, "latency_ms": 5.0, "bytes_sent": 4096},
        ),
        (  # HashiCorp's hclog in JSON (Vault, Consul, Nomad)
            '{"@level":"warn","@message":"bootstrap_expect > 0: expecting 3 servers",'
            '"@module":"agent","@timestamp":"2026-11-01T10:00:00.124000Z"}',
            {"level": "WARNING", "service": "agent",
             "message": "bootstrap_expect > 0: expecting 3 servers"},
        ),
    ],
    ids=["aws-waf", "minio-audit", "app-engine", "gitlab", "azure-storage", "hclog"],
)  # fmt: skip
def test_the_json_logs_of_gateways_stores_and_platforms_are_read_by_their_keys(line, expected):
    parsed = parse_jsonl((line + "\n" + line + "\n").encode())
    assert parsed.rejects.empty
    row = parsed.candidates.iloc[0]
    for column, value in expected.items():
        got = row[column]
        assert (got == pytest.approx(value)) if isinstance(value, float) else got == value, column


def test_serilog_compact_json_events_without_a_level_are_information():
    data = (
        b'{"@t":"2024-05-16T10:20:35.0000000Z","@mt":"Now listening on: {address}",'
        b'"address":"http://localhost:5000","SourceContext":"Microsoft.Hosting.Lifetime"}\n'
        b'{"@t":"2024-05-16T10:20:36.0000000Z","@mt":"Unhandled exception","@l":"Error",'
        b'"SourceContext":"Microsoft.AspNetCore.Server.Kestrel"}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    assert parsed.candidates["level"].tolist() == ["INFO", "ERROR"]
    assert parsed.candidates["service"].iloc[0] == "Microsoft.Hosting.Lifetime"


def test_whole_number_durations_of_a_unitless_key_are_nanoseconds_only_when_that_large():
    def latency(values):
        lines = [
            f'{{"time":"2024-05-16T10:20:3{i}Z","path":"/a","status":200,"duration":{v}}}'
            for i, v in enumerate(values)
        ]
        parsed = parse_jsonl(("\n".join(lines) + "\n").encode())
        return parsed.candidates["latency_ms"].tolist()

    assert latency([1234567, 15200000]) == [1.234567, 15.2]  # ns, as Go writes them
    assert latency([2, 3]) == [2000.0, 3000.0]  # small whole numbers: seconds still
    assert latency([0.5, 120000]) == [500.0, 120000000.0]  # not all whole: as the key says


def test_gelf_levels_are_syslog_severities_and_spring_boots_names_are_taken_first():
    graylog = (
        b'{"version":"1.1","host":"web1","short_message":"Request failed","timestamp":1715854834.1,'
        b'"level":3,"_app":"shop"}\n'
        b'{"version":"1.1","host":"web1","short_message":"Started","timestamp":1715854835.1,'
        b'"level":6}\n'
    )
    parsed = parse_jsonl(graylog)
    assert parsed.candidates["level"].tolist() == ["ERROR", "INFO"]
    assert parsed.candidates["message"].tolist() == ["Request failed", "Started"]
    spring = (
        b'{"version":"1.1","short_message":"Low disk","timestamp":1715854835.123,"level":4,'
        b'"_level_name":"WARN","_log_logger":"org.example.Disk"}\n'
    )
    row = parse_jsonl(spring).candidates.iloc[0]
    assert (row["level"], row["service"]) == ("WARNING", "org.example.Disk")


def test_ecs_source_ip_is_the_client():
    data = (
        b'{"@timestamp":"2024-05-16T10:20:34.123Z","log.level":"info","message":"GET /a",'
        b'"url.path":"/a","http.response.status_code":200,"source.ip":"203.0.113.7"}\n'
    )
    assert parse_jsonl(data).candidates["client_ip"].iloc[0] == "203.0.113.7"


def test_go_chi_httplog_json():
    data = (
        b'{"time":"2024-05-16T10:20:33.000Z","level":"WARN","msg":"Response: 404 Not Found",'
        b'"httpRequest":{"url":"http://localhost:8000/nope","method":"GET","path":"/nope",'
        b'"remoteIP":"127.0.0.1:55111"},"httpResponse":{"status":404,"bytes":19,"elapsed":0.031}}\n'
    )
    row = parse_jsonl(data).candidates.iloc[0]
    assert (row["method"], row["path"], row["status_code"]) == ("GET", "/nope", 404)
    assert (row["bytes_sent"], row["latency_ms"]) == (19, 0.031)


def test_fastifys_two_lines_per_request_make_one_request():
    """Fastify's default logging: `incoming request` (method, URL, client) and `request
    completed` (status, response time), tied by reqId; the completed line is the request."""
    data = (FIXTURES / "jsonl_fastify.jsonl").read_bytes()
    parsed = parse_jsonl(data)
    events = canonical_events(parsed, source="t", as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert events.rejects.empty
    kept = events.events
    requests = kept[kept["endpoint"].notna()]
    assert requests["message"].tolist() == [
        "request completed",
        "request completed",
        "incoming request",  # never completed: a request without a status
    ]
    assert requests["endpoint"].tolist() == ["/api/users/{id}", "/api/orders", "/slow"]
    assert requests["method"].tolist() == ["GET", "POST", "GET"]
    assert requests["status_code"].tolist()[:2] == [200, 500]
    assert requests["latency_ms"].tolist()[:2] == [9.87, 11.2]
    assert requests["client_ip"].tolist() == ["127.0.0.1", "127.0.0.2", "127.0.0.1"]
    # the incoming lines of completed requests stay, as events
    arrivals = kept[(kept["message"] == "incoming request") & kept["endpoint"].isna()]
    assert len(arrivals) == 2 and (arrivals["level"] == "INFO").all()


def test_django_structlogs_started_and_finished_lines_make_one_request_with_its_code():
    data = (
        b'{"request": "GET /api/items/", "event": "request_started", "ip": "203.0.113.7", '
        b'"request_id": "3a8f", "timestamp": "2024-05-16T10:20:33.123456Z", "level": "info"}\n'
        b'{"code": 200, "request": "GET /api/items/", "event": "request_finished", "ip": '
        b'"203.0.113.7", "request_id": "3a8f", "timestamp": "2024-05-16T10:20:33.223456Z", '
        b'"level": "info"}\n'
    )
    parsed = parse_jsonl(data)
    events = canonical_events(parsed, source="t", as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    kept = events.events
    assert kept["endpoint"].isna().tolist() == [True, False]
    assert kept["status_code"].iloc[1] == 200
    assert kept["message"].tolist() == ["request_started", "request_finished"]


def test_records_with_a_message_and_no_level_or_request_are_info_events():
    wrapped = (
        b'{"log":"INFO:     Started server process [1]\\n","stream":"stderr",'
        b'"time":"2024-05-16T10:20:31Z"}\n'
    )
    parsed = parse_jsonl(wrapped * 2)
    assert parsed.candidates["level"].tolist() == ["INFO", "INFO"]
    assert parsed.candidates["message"].iloc[0] == "INFO:     Started server process [1]"
    assert "2 records with a message and no level or request kept as INFO events" in parsed.notes
    data = (
        b'{"time":"2024-05-16T10:20:31Z","msg":"started"}\n'
        b'{"time":"2024-05-16T10:20:32Z","msg":"hello","level":"debug"}\n'
        b'{"time":"2024-05-16T10:20:33Z","msg":"GET /a","path":"/a","status":200}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.candidates["level"].tolist()[:2] == ["INFO", "DEBUG"]
    assert pd.isna(parsed.candidates["level"].iloc[2])  # a request keeps no level


@pytest.mark.parametrize(
    ("lines", "latency"),
    [
        # zerolog's access handler with Msg(""): no message key; Dur is in ms
        (['{"level":"info","method":"GET","url":"/a","status":200,"duration":12.345,'
          '"time":"2024-05-16T10:20:33Z"}'], [12.345]),
        # log/slog JSON, fast requests only: whole nanoseconds below 100,000
        (['{"time":"2024-05-16T10:20:33Z","level":"INFO","msg":"request","path":"/a",'
          '"status":200,"duration":85000}'], [0.085]),
        # pino's keys are alike but its levels are numbers: duration stays seconds
        (['{"time":1715854833000,"level":30,"msg":"request","path":"/a","status":200,'
          '"duration":2}'], [2000.0]),
    ],
)  # fmt: skip
def test_go_loggers_duration_units_from_their_keys(lines, latency):
    parsed = parse_jsonl(("\n".join(lines) + "\n").encode())
    assert parsed.candidates["latency_ms"].tolist() == pytest.approx(latency)


def test_django_structlogs_failed_requests_are_one_request():
    data = (
        b'{"request": "POST /api/orders", "event": "request_started", "request_id": "a1", '
        b'"timestamp": "2024-05-16T10:20:33Z", "level": "info"}\n'
        b'{"code": 500, "request": "POST /api/orders", "event": "request_failed", '
        b'"request_id": "a1", "timestamp": "2024-05-16T10:20:34Z", "level": "error"}\n'
    )
    kept = canonical_events(
        parse_jsonl(data), source="t", as_of=pd.Timestamp("2026-12-01", tz="UTC")
    ).events
    assert kept["endpoint"].isna().tolist() == [True, False]
    assert kept["status_code"].iloc[1] == 500


def test_aws_lambdas_platform_events_are_events():
    data = (
        b'{"time":"2024-05-16T08:20:30.110Z","type":"platform.start","record":{"requestId":"79b4",'
        b'"version":"$LATEST"}}\n'
        b'{"timestamp":"2024-05-16T08:20:30.123Z","level":"INFO","message":"fetched order 42",'
        b'"logger":"root","requestId":"79b4"}\n'
        b'{"time":"2024-05-16T08:20:33.152Z","type":"platform.report","record":{"requestId":"79b4",'
        b'"metrics":{"durationMs":3001.2},"status":"timeout"}}\n'
    )
    parsed = parse_jsonl(data)
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["message"].tolist() == ["platform.start", "fetched order 42", "platform.report"]
    assert rows["level"].tolist() == ["INFO", "INFO", "ERROR"]  # the invocation timed out
    assert rows["ts"].iloc[0] == pd.Timestamp("2024-05-16T08:20:30.110Z")


def test_istios_json_access_log_takes_the_client_from_the_downstream_address_without_its_port():
    lines = [
        '{"authority":"reviews:9080","bytes_sent":295,"downstream_remote_address":'
        '"203.0.113.17:41000","duration":42,"method":"GET","path":"/reviews/0","response_code":200,'
        '"response_flags":"-","start_time":"2026-11-10T13:02:07.123Z","upstream_host":'
        '"10.244.0.12:9080","x_forwarded_for":null}',
        '{"authority":"reviews:9080","bytes_sent":19,"downstream_remote_address":'
        '"[2001:db8::7]:41001","duration":3,"method":"GET","path":"/nope","response_code":404,'
        '"response_flags":"NR","start_time":"2026-11-10T13:02:08.123Z","upstream_host":null,'
        '"x_forwarded_for":null}',
    ]
    parsed = parse_jsonl(("\n".join(lines) + "\n").encode())
    events = canonical_events(parsed, source="mesh", as_of=pd.Timestamp("2026-11-11", tz="UTC"))
    assert events.rejects.empty
    kept = events.events
    assert kept["client_ip"].tolist() == ["203.0.113.17", "2001:db8::7"]
    assert kept["latency_ms"].tolist() == [42.0, 3.0]
