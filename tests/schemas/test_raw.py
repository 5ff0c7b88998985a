"""Raw format models: every fixture a parser reads validates against its format's model, and
each rule rejects a record that breaks it with a reason naming the column."""

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from schemas.raw import (
    RAW_MODELS,
    SERVICE_LOG_LEVELS,
    AccessLogRecord,
    AlbRecord,
    ApacheErrorRecord,
    AzureStorageRecord,
    CaddyRecord,
    DelimitedRecord,
    DevServerRecord,
    ElbRecord,
    EnvoyRecord,
    GinRecord,
    GologRecord,
    HaproxyRecord,
    HerokuRecord,
    IisRecord,
    JournaldRecord,
    JsonLinesRecord,
    KlogRecord,
    LambdaRecord,
    Log4jRecord,
    LogcatRecord,
    LogfmtRecord,
    MonologRecord,
    MorganRecord,
    NestRecord,
    NginxErrorRecord,
    NginxTemplateRecord,
    NpmRecord,
    PhpFpmRecord,
    PythonLogRecord,
    RubyRecord,
    S3Record,
    ServiceLogRecord,
    SidekiqRecord,
    SquidRecord,
    SslRequestRecord,
    Syslog5424Record,
    SyslogRecord,
    TraefikRecord,
    UvicornRecord,
    UwsgiRecord,
    W3cRecord,
    ZapRecord,
    ZeekRecord,
    raw_model,
)
from schemas.requests import Request
from transforms.formats import registry, servicelog
from transforms.formats.base import CANDIDATE_TYPES, LINE_NUMBER, RAW
from transforms.validate import schema_reasons

pytestmark = pytest.mark.clock

FIXTURES = Path(__file__).parents[1] / "transforms" / "formats" / "fixtures"

API_CSV = (
    b"timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"
    b"2026-11-01T10:00:00Z,/api/orders/42,12.5,200,u1,shop,eu-west-1\n"
    b'2026-11-01T12:00:00+02:00,/api/orders,-,503,"doe, jane",,\n'
    b"1762000000,/api/health,0.25,204,,shop,\n"
)
DOCUMENT_API_CSV = (
    b"request_id,api_name,TIMESTAMP,latency_ms,status_Code,document_type,region,device_type,"
    b"error_reason\n"
    b"r1,/documents/upload,2026-11-01 10:00:00,250,500,pdf,eu-west-1,mobile,timeout\n"
    b"r2,/documents/list,2026-11-01 10:00:01,12,200,,eu-west-1,desktop,\n"
)
API_TSV = API_CSV.replace(b",", b"\t").replace(b'"doe\t jane"', b"doe, jane")
NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
NGINX_NO_CLOCK = "$remote_addr $status $request_time"
HAPROXY_LOG = (
    b"Jul 30 09:03:52 localhost haproxy[32450]: 1.2.3.4:38862 [30/Jul/2018:09:03:52.726] "
    b"incoming~ docs/web1 0/0/1/0/2 304 168 - - ---- 6/6/0/0/0 0/0 {docs.example.internal||} "
    b'"GET /index.js HTTP/1.1"\n'
    b"127.0.0.1:35982 [10/Dec/2018:12:01:46.395] www www/<NOSRV> 0/-1/-1/-1/0 503 213 - - SC-- "
    b'1/1/0/0/0 0/0 "GET /?q=1 HTTP/1.1"\n'
    b"Sep 20 15:44:23 127.0.0.1 haproxy[25457]: 127.0.0.1:40962 [20/Sep/2018:15:44:23.285] "
    b"main app/<NOSRV> -1/-1/1 212 SC 1/1/0/0/0 0/0\n"
)
UWSGI_LOG = (
    b"[pid: 7|app: 0|req: 1/1] 172.17.0.1 () {34 vars in 377 bytes} [Sun Mar 13 22:49:12 2016] "
    b"GET / => generated 11 bytes in 0 msecs (HTTP/1.1 200) 2 headers in 79 bytes "
    b"(1 switches on core 0)\n"
    b"[pid: 1|app: 0|req: 3/3] 10.0.0.5 (alice) {40 vars in 612 bytes} "
    b"[Wed Feb 21 10:01:02 2024] POST /api/v1/orders?x=1 => generated 512 bytes in 12 msecs "
    b"(HTTP/1.1 201) 5 headers in 180 bytes (1 switches on core 1)\n"
)
HEROKU_LOG = (
    b'2024-05-26T11:42:52.601635+00:00 heroku[router]: at=info method=GET path="/" '
    b"host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 "
    b'fwd="204.204.204.204" dyno=web.1 connect=0ms service=18ms status=200 bytes=13 '
    b"protocol=https\n"
    b'2010-10-06T21:51:37-07:00 heroku[router]: at=error code=H10 desc="App crashed" '
    b"method=GET path=/ host=myapp.herokuapp.com fwd=17.17.17.17 dyno= connect= service= "
    b"status=503 bytes=\n"
)
SQUID_LOG = (
    b"1716723772.601    112 192.168.0.10 TCP_MISS/200 10562 GET http://www.example.com/ - "
    b"HIER_DIRECT/93.184.216.34 text/html\n"
    b"1716723776.750   2301 192.168.0.10 TCP_MISS_ABORTED/000 0 GET http://a.example/x alice "
    b"HIER_DIRECT/10.0.0.5 -\n"
)
GIN_LOG = (
    b'[GIN] 2024/05/16 - 10:20:33 | 200 |     123.456\xc2\xb5s |       127.0.0.1 | GET      "/ping"\n'
    b'[GIN] 2024/05/16 - 10:20:34 | 404 |       1.2ms |                 | POST     "/x?y=1"\n'
)
PHPFPM_LOG = (
    b'172.17.0.3 -  16/May/2024:10:20:33 +0000 "GET /index.php" 200\n'
    b'172.17.0.3 - alice 16/May/2024:10:20:34 +0000 "POST /index.php?x=1" 302\n'
)
ENVOY_LOG = (
    b'[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 '
    b'"10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" '
    b'"tcp://10.0.2.1:80"\n'
    b'[2016-04-15T20:17:01.000Z] "- - -" 0 - 120 4500 3012 - "-" "-" "-" "-" "10.0.2.1:5432"\n'
)
CADDY_LOG = (
    b'{"level":"info","ts":1646861401.5241024,"logger":"http.log.access.log0","msg":"handled '
    b'request","request":{"remote_ip":"172.18.0.1","client_ip":"203.0.113.9","method":"GET",'
    b'"uri":"/api/v1/items?page=2"},"duration":0.012345,"size":10900,"status":200}\n'
    b'{"level":"info","ts":1646861400.1,"logger":"tls","msg":"finished cleaning storage units"}\n'
)
TRAEFIK_LOG = (
    b'192.168.33.1 - - [02/Oct/2017:20:22:07 +0000] "GET /ui/favicons/favicon-16x16.png '
    b'HTTP/1.1" 304 0 "http://example.com/login" "Mozilla/5.0" 262 "Host-host-1" '
    b'"http://172.19.0.3:5601" 2ms\n'
)
TRAEFIK_JSON = (
    b'{"ClientHost":"192.0.2.7","DownstreamContentSize":523,"DownstreamStatus":404,'
    b'"Duration":2500000,"RequestMethod":"POST","RequestPath":"/login","RouterName":"web@docker",'
    b'"StartUTC":"2026-03-02T10:15:00.123456789Z","level":"info","time":"2026-03-02T10:15:00Z"}\n'
)

# (format, file bytes, records expected): every fixture file of the format tests, plus
# inline csv/tsv files (those tests keep theirs inline) and an nginx template without a clock
SAMPLES = [
    ("csv", API_CSV, 3),
    ("csv", DOCUMENT_API_CSV, 2),
    ("tsv", API_TSV, 3),
    ("haproxy", HAPROXY_LOG, 3),
    ("uwsgi", UWSGI_LOG, 2),
    ("heroku", HEROKU_LOG, 2),
    ("squid", SQUID_LOG, 2),
    ("gin", GIN_LOG, 2),
    ("phpfpm", PHPFPM_LOG, 2),
    ("envoy", ENVOY_LOG, 2),
    ("caddy", CADDY_LOG, 2),
    ("traefik", TRAEFIK_LOG, 1),
    ("traefik", TRAEFIK_JSON, 1),
    *[
        (fmt, (FIXTURES / name).read_bytes(), count)
        for fmt, name, count in [
            ("jsonl", "jsonl_ecs.jsonl", 2),
            ("jsonl", "jsonl_pino.jsonl", 3),
            ("jsonl", "jsonl_zap.jsonl", 3),
            ("common", "access_common.log", 4),
            ("combined", "access_combined.log", 7),
            ("combined", "access_combined_timing.log", 4),
            ("combined", "access_nginx_upstream_time.log", 3),
            ("alb", "alb_docs.log", 7),
            ("alb", "alb_older_layouts.log", 4),
            ("elb", "elb_docs.log", 4),
            ("servicelog", "servicelog_go.log", 3),
            ("servicelog", "servicelog_java.log", 3),
            ("servicelog", "servicelog_python.log", 4),
            (f"nginx:{NGINX_COMBINED}", "access_combined.log", 7),
        ]
    ],
    (f"nginx:{NGINX_NO_CLOCK}", b"192.0.2.1 200 0.004\n192.0.2.2 - -\n", 2),
]
SAMPLE_IDS = [f"{fmt.split(':')[0]}-{i}" for i, (fmt, _, _) in enumerate(SAMPLES)]

# one sample per format whose first record is a complete request, for breaking rules on
FIRST_ROW = {
    "csv": API_CSV,
    "tsv": API_TSV,
    "jsonl": (FIXTURES / "jsonl_ecs.jsonl").read_bytes(),
    "common": (FIXTURES / "access_common.log").read_bytes(),
    "combined": (FIXTURES / "access_combined_timing.log").read_bytes(),
    "alb": (FIXTURES / "alb_docs.log").read_bytes(),
    "elb": (FIXTURES / "elb_docs.log").read_bytes(),
    "haproxy": HAPROXY_LOG,
    "uwsgi": UWSGI_LOG,
    "heroku": HEROKU_LOG,
    "squid": SQUID_LOG,
    "gin": GIN_LOG,
    "phpfpm": PHPFPM_LOG,
    "envoy": ENVOY_LOG,
    "caddy": CADDY_LOG,
    "traefik": TRAEFIK_LOG,
    "servicelog": (FIXTURES / "servicelog_go.log").read_bytes(),
    f"nginx:{NGINX_COMBINED}": (FIXTURES / "access_combined.log").read_bytes(),
}
EVERY_FORMAT = list(FIRST_ROW)
SHORT_IDS = [fmt.split(":")[0] for fmt in EVERY_FORMAT]

REQUIRED = {
    # format: (columns that must be there, columns that must not be null)
    "csv": ({"ts", "path"}, {"ts", "path"}),
    "tsv": ({"ts", "path"}, {"ts", "path"}),
    "jsonl": ({"ts"}, {"ts"}),
    "common": ({"ts", "client_ip", "status_code", "path"}, {"ts", "client_ip", "status_code"}),
    "combined": ({"ts", "client_ip", "status_code", "path"}, {"ts", "client_ip", "status_code"}),
    "alb": ({"ts", "client_ip", "path", "status_code"}, {"ts", "client_ip"}),
    "elb": ({"ts", "client_ip", "path", "status_code"}, {"ts", "client_ip"}),
    "haproxy": ({"ts", "client_ip", "path", "status_code"}, {"ts", "client_ip"}),
    "uwsgi": ({"ts", "status_code", "path"}, {"ts", "status_code"}),
    "heroku": ({"ts", "status_code", "path"}, {"ts", "status_code"}),
    "gin": (
        {"ts", "status_code", "method", "path"},
        {"ts", "status_code", "method", "path"},
    ),
    "phpfpm": (
        {"ts", "method", "path", "status_code"},
        {"ts", "method", "path", "status_code"},
    ),
    "squid": ({"ts", "client_ip", "method", "path", "status_code"}, {"ts", "client_ip"}),
    "envoy": ({"ts", "path", "status_code"}, {"ts"}),
    "caddy": ({"ts"}, {"ts"}),
    "traefik": ({"ts"}, {"ts"}),
    "servicelog": (
        {"ts", "level", "service", "message"},
        {"ts", "level", "message"},  # a line may name no service (uvicorn's levelprefix)
    ),
    f"nginx:{NGINX_COMBINED}": (set(), {"ts"}),
}


@cache
def _parsed(fmt: str) -> pd.DataFrame:
    parsed = registry.parse(FIRST_ROW[fmt], fmt)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    return parsed.candidates


def candidates(fmt: str) -> pd.DataFrame:
    """The typed candidates of the format's sample file (a fresh copy)."""
    return _parsed(fmt).copy()


def with_value(frame: pd.DataFrame, column: str, value, row: int = 0) -> pd.DataFrame:
    """A copy of `frame` with one value replaced (the column added, typed, if absent)."""
    frame = frame.copy()
    if column not in frame:
        frame[column] = pd.Series(index=frame.index, dtype=CANDIDATE_TYPES[column])
    frame.loc[row, column] = value
    return frame


# the registry and the models ----------------------------------------------------------------
def test_every_registered_format_has_a_raw_model():
    assert set(registry.FORMATS) == set(RAW_MODELS)
    assert {name: raw_model(name) for name in registry.FORMATS} == {
        "csv": DelimitedRecord,
        "tsv": DelimitedRecord,
        "jsonl": JsonLinesRecord,
        "servicelog": ServiceLogRecord,
        "common": AccessLogRecord,
        "combined": AccessLogRecord,
        "alb": AlbRecord,
        "elb": ElbRecord,
        "w3c": W3cRecord,
        "haproxy": HaproxyRecord,
        "uwsgi": UwsgiRecord,
        "heroku": HerokuRecord,
        "squid": SquidRecord,
        "gin": GinRecord,
        "phpfpm": PhpFpmRecord,
        "s3": S3Record,
        "zeek": ZeekRecord,
        "uvicorn": UvicornRecord,
        "devserver": DevServerRecord,
        "apache_ssl": SslRequestRecord,
        "envoy": EnvoyRecord,
        "caddy": CaddyRecord,
        "traefik": TraefikRecord,
        "npm": NpmRecord,
        "morgan": MorganRecord,
        "azure_storage": AzureStorageRecord,
        "iis": IisRecord,
        "log4j": Log4jRecord,
        "python": PythonLogRecord,
        "syslog": SyslogRecord,
        "syslog5424": Syslog5424Record,
        "journald": JournaldRecord,
        "klog": KlogRecord,
        "logfmt": LogfmtRecord,
        "zap": ZapRecord,
        "monolog": MonologRecord,
        "nestjs": NestRecord,
        "sidekiq": SidekiqRecord,
        "lambda": LambdaRecord,
        "cri": ServiceLogRecord,
        "golog": GologRecord,
        "ruby": RubyRecord,
        "logcat": LogcatRecord,
        "apache_error": ApacheErrorRecord,
        "nginx_error": NginxErrorRecord,
    }


def test_nginx_templates_use_the_template_model_and_unknown_names_fail():
    assert raw_model(f"nginx:{NGINX_COMBINED}") is NginxTemplateRecord
    assert raw_model("nginx:$status") is NginxTemplateRecord
    with pytest.raises(KeyError, match="no raw model for format 'gelf'; expected one of csv"):
        raw_model("gelf")


def test_service_log_levels_are_the_parsers_levels():
    assert SERVICE_LOG_LEVELS == servicelog.LEVELS


@pytest.mark.parametrize("fmt", EVERY_FORMAT, ids=SHORT_IDS)
def test_required_and_not_null_columns_per_format(fmt):
    columns = raw_model(fmt).to_schema().columns
    required, not_null = REQUIRED[fmt]
    assert {name for name, column in columns.items() if column.required} == required
    assert {name for name, column in columns.items() if not column.nullable} == not_null
    # every other candidate column is optional and may be null
    assert set(columns) == set(CANDIDATE_TYPES)


@pytest.mark.parametrize(
    "model",
    sorted({*RAW_MODELS.values(), NginxTemplateRecord}, key=lambda m: m.__name__),
    ids=lambda m: m.__name__,
)
def test_models_type_columns_like_requests_without_coercing(model):
    schema = model.to_schema()
    assert schema.coerce is False and schema.strict is False
    assert model.__doc__ and "Valid:" in model.__doc__
    assert all(column.description for column in schema.columns.values())
    canonical = Request.to_schema().columns
    assert {name: str(column.dtype) for name, column in schema.columns.items()} == {
        name: str(canonical[name].dtype) for name in CANDIDATE_TYPES
    }


# real files validate ----------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "data", "count"), SAMPLES, ids=SAMPLE_IDS)
def test_every_fixture_validates_against_its_raw_model(fmt, data, count):
    parsed = registry.parse(data, fmt)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    assert len(parsed.candidates) == count
    reasons = schema_reasons(parsed.candidates, raw_model(fmt))
    assert isinstance(reasons, pd.Series) and reasons.to_dict() == {}


def test_a_template_without_a_clock_needs_no_ts():
    parsed = registry.parse(b"192.0.2.1 200 0.004\n192.0.2.2 - -\n", f"nginx:{NGINX_NO_CLOCK}")
    assert "ts" not in parsed.candidates
    assert parsed.candidates["status_code"].tolist() == [200, pd.NA]
    assert schema_reasons(parsed.candidates, NginxTemplateRecord).empty


def test_only_the_required_columns_are_enough():
    frame = candidates("servicelog")[["ts", "level", "service", "message", LINE_NUMBER, RAW]]
    assert schema_reasons(frame, ServiceLogRecord).empty
    frame = candidates("csv")[["ts", "path", LINE_NUMBER, RAW]]
    assert schema_reasons(frame, DelimitedRecord).empty


# the shared rules ------------------------------------------------------------------------------
SHARED_RULES = [
    ("status_code", 999, "status_code: expected <= 599, got 999"),
    ("status_code", 99, "status_code: expected >= 100, got 99"),
    ("latency_ms", -1.0, "latency_ms: expected >= 0, got -1"),
    ("latency_ms", -0.5, "latency_ms: expected >= 0, got -0.5"),
    ("latency_ms", 86_400_000.0, "latency_ms: expected < 86400000, got 86400000"),
    ("latency_ms", 90_000_000.5, "latency_ms: expected < 86400000, got 90000000.5"),
    ("bytes_sent", -1, "bytes_sent: expected >= 0, got -1"),
    (
        "ts",
        pd.Timestamp("1969-12-31T23:59:59.999999Z"),
        "ts: expected >= 1970-01-01 00:00:00+00:00, got '1969-12-31T23:59:59.999999+00:00'",
    ),
]


@pytest.mark.parametrize("fmt", EVERY_FORMAT, ids=SHORT_IDS)
@pytest.mark.parametrize(("column", "value", "reason"), SHARED_RULES)
def test_shared_rules_reject_the_breaking_row_naming_the_column(fmt, column, value, reason):
    frame = with_value(candidates(fmt), column, value)
    assert schema_reasons(frame, raw_model(fmt)).to_dict() == {0: reason}


@pytest.mark.parametrize("fmt", EVERY_FORMAT, ids=SHORT_IDS)
def test_edges_of_the_shared_ranges_are_valid(fmt):
    frame = candidates(fmt)
    for column, value in [
        ("status_code", 100),
        ("status_code", 599),
        ("latency_ms", 0.0),
        ("latency_ms", 86_399_999.999),
        ("bytes_sent", 0),
        ("ts", pd.Timestamp("1970-01-01T00:00:00Z")),
    ]:
        assert schema_reasons(with_value(frame, column, value), raw_model(fmt)).empty, (
            column,
            value,
        )


@pytest.mark.parametrize("fmt", EVERY_FORMAT, ids=SHORT_IDS)
def test_the_models_do_not_read_the_clock(fmt):
    """A time far ahead of today is valid for the raw model: its upper bound depends on when
    the file is ingested, which canonical_events is given (as_of) and checks."""
    later = pd.Timestamp("2999-01-01T00:00:00Z")
    frame = with_value(candidates(fmt), "ts", later)
    assert schema_reasons(frame, raw_model(fmt)).empty


def test_every_failing_rule_of_a_row_is_named_and_other_rows_pass():
    frame = with_value(candidates("combined"), "status_code", 999)
    frame = with_value(frame, "latency_ms", -5.0)
    frame = with_value(frame, "bytes_sent", -1, row=2)
    assert schema_reasons(frame, AccessLogRecord).to_dict() == {
        0: "status_code: expected <= 599, got 999; latency_ms: expected >= 0, got -5",
        2: "bytes_sent: expected >= 0, got -1",
    }


# per-format required fields ----------------------------------------------------------------------
MISSING = [(fmt, column) for fmt in EVERY_FORMAT for column in sorted(REQUIRED[fmt][1])]


@pytest.mark.parametrize(
    ("fmt", "column"), MISSING, ids=[f"{f.split(':')[0]}-{c}" for f, c in MISSING]
)
def test_a_missing_required_field_is_rejected(fmt, column):
    frame = with_value(candidates(fmt), column, None, row=1)
    assert schema_reasons(frame, raw_model(fmt)).to_dict() == {1: f"{column}: missing"}


NULLABLE = [
    ("csv", "status_code"),
    ("csv", "latency_ms"),
    ("csv", "user_id"),
    ("jsonl", "path"),
    ("jsonl", "status_code"),
    ("common", "path"),
    ("common", "method"),
    ("common", "bytes_sent"),
    ("combined", "latency_ms"),
    ("alb", "status_code"),
    ("alb", "latency_ms"),
    ("elb", "path"),
    ("elb", "status_code"),
    ("haproxy", "path"),
    ("haproxy", "status_code"),
    ("haproxy", "latency_ms"),
    ("haproxy", "service"),
    ("uwsgi", "path"),
    ("uwsgi", "client_ip"),
    ("uwsgi", "user_id"),
    ("heroku", "client_ip"),
    ("heroku", "path"),
    ("heroku", "latency_ms"),
    ("heroku", "bytes_sent"),
    ("squid", "status_code"),
    ("squid", "user_id"),
    ("gin", "client_ip"),
    ("gin", "latency_ms"),
    ("phpfpm", "user_id"),
    ("phpfpm", "latency_ms"),
    ("servicelog", "path"),
    ("servicelog", "status_code"),
    (f"nginx:{NGINX_COMBINED}", "path"),
    (f"nginx:{NGINX_COMBINED}", "client_ip"),
]


@pytest.mark.parametrize(
    ("fmt", "column"), NULLABLE, ids=[f"{f.split(':')[0]}-{c}" for f, c in NULLABLE]
)
def test_a_field_the_format_may_leave_out_can_be_null(fmt, column):
    frame = with_value(candidates(fmt), column, None)
    assert schema_reasons(frame, raw_model(fmt)).empty


def test_records_the_parsers_keep_without_a_request_stay_valid():
    # "-" and TLS bytes as the request line; TCP listener entries of a classic load balancer
    combined = registry.parse((FIXTURES / "access_combined.log").read_bytes(), "combined")
    assert combined.candidates["path"].isna().tolist() == [False] * 3 + [True] * 2 + [False] * 2
    assert schema_reasons(combined.candidates, AccessLogRecord).empty
    elb = registry.parse((FIXTURES / "elb_docs.log").read_bytes(), "elb")
    assert elb.candidates["status_code"].isna().tolist() == [False, False, True, True]
    assert schema_reasons(elb.candidates, ElbRecord).empty
    haproxy = registry.parse(HAPROXY_LOG, "haproxy")  # the last line is a TCP connection
    assert haproxy.candidates["path"].isna().tolist() == [False, False, True]
    assert haproxy.candidates["status_code"].isna().tolist() == [False, False, True]
    assert schema_reasons(haproxy.candidates, HaproxyRecord).empty


@pytest.mark.parametrize(
    ("fmt", "column"),
    [("csv", "path"), ("common", "status_code"), ("alb", "path"), ("servicelog", "level")],
)
def test_a_required_column_the_parser_did_not_produce_fails_the_whole_frame(fmt, column):
    frame = candidates(fmt).drop(columns=[column])
    with pytest.raises(ValueError, match=f"column_in_dataframe failed \\({column}\\)"):
        schema_reasons(frame, raw_model(fmt))


def test_types_are_checked_not_coerced():
    frame = candidates("common")
    frame["status_code"] = frame["status_code"].astype("float64")
    with pytest.raises(ValueError, match="status_code: dtype\\('Int16'\\) failed \\(float64\\)"):
        schema_reasons(frame, AccessLogRecord)


# service-log levels ------------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["FATAL", "WARN", "NOTICE", "info"])
def test_a_level_the_parser_does_not_fold_to_is_rejected(level):
    frame = with_value(candidates("servicelog"), "level", level, row=2)
    assert schema_reasons(frame, ServiceLogRecord).to_dict() == {
        2: (
            "level: expected one of ['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'], "
            f"got '{level}'"
        )
    }


def test_the_parser_folds_every_level_word_onto_a_valid_level():
    words = ["TRACE", "debug", "Info", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL"]
    data = "".join(f"2026-11-01T10:00:0{i}Z {w} svc event {i}\n" for i, w in enumerate(words))
    parsed = registry.parse(data.encode(), "servicelog")
    assert parsed.candidates["level"].tolist() == [
        "TRACE",
        "DEBUG",
        "INFO",
        "WARNING",
        "WARNING",
        "ERROR",
        "CRITICAL",
        "CRITICAL",
    ]
    assert schema_reasons(parsed.candidates, ServiceLogRecord).empty


def test_jsonl_keeps_unknown_levels_as_logged():
    data = (
        b'{"time":"2026-11-01T10:00:00Z","level":"notice","msg":"disk at 80%"}\n'
        b'{"time":"2026-11-01T10:00:01Z","level":"audit","msg":"login"}\n'
    )
    parsed = registry.parse(data, "jsonl")
    assert parsed.candidates["level"].tolist() == ["INFO", "AUDIT"]  # NOTICE folds onto INFO
    assert schema_reasons(parsed.candidates, JsonLinesRecord).empty
