"""`requests.attributes`: what a format logs beyond the canonical columns, as JSON text that
`json.loads` (and DuckDB) read back exactly."""

import json

import duckdb
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from transforms.formats.attributes import attribute_array, attribute_values, attributes_json
from transforms.formats.registry import parse

values = st.one_of(st.none(), st.text(max_size=12))
rows = st.lists(st.tuples(values, values), min_size=0, max_size=20)
NAMES = ("referer", 'odd "key"\\')


def logged(value) -> bool:
    return value is not None and value.strip() not in ("", "-")


@settings(max_examples=examples(200), deadline=None)
@given(rows)
def test_attributes_are_json_objects_of_the_logged_values_and_read_back_exactly(rows):
    columns = {name: pd.Series([r[i] for r in rows], dtype="str") for i, name in enumerate(NAMES)}
    out = attributes_json(columns, len(rows))
    assert len(out) == len(rows)
    for row, text in zip(rows, out, strict=True):
        expected = {name: v.strip() for name, v in zip(NAMES, row, strict=True) if logged(v)}
        assert (json.loads(text) if isinstance(text, str) else {}) == expected
        assert pd.isna(text) == (not expected)
    for i, name in enumerate(NAMES):
        back = attribute_values(out, name).tolist()
        assert [None if pd.isna(v) else v for v in back] == [
            r[i].strip() if logged(r[i]) else None for r in rows
        ]
        dictionary = attribute_array(
            pa.array(out.tolist(), from_pandas=True).dictionary_encode(), name
        )
        assert dictionary.to_pylist() == [None if pd.isna(v) else v for v in back]


def test_duckdb_reads_the_attributes_with_its_json_operators():
    frame = attributes_json(
        {"user_agent": pd.Series(['Mozilla "5.0"\t(X11)', None], dtype="str")}, 2
    ).to_frame("attributes")
    con = duckdb.connect()
    con.register("req", frame)
    got = con.execute("SELECT attributes->>'user_agent' AS ua FROM req").df()["ua"].tolist()
    assert got[0] == 'Mozilla "5.0"\t(X11)' and pd.isna(got[1])


def attributes_of(data: bytes, fmt: str) -> list:
    parsed = parse(data, fmt)
    assert parsed.rejects.empty, parsed.rejects.to_dict("records")
    column = parsed.candidates.get("attributes")
    assert column is not None
    return [json.loads(v) if isinstance(v, str) else None for v in column]


def test_a_csv_keeps_the_columns_its_layout_does_not_read():
    data = (
        b"request_id,api_name,TIMESTAMP,latency_ms,status_Code,document_type,region,device_type,"
        b"error_reason\n"
        b"r1,/scan,2026-11-01T10:00:00Z,12,200,invoice,eu,mobile,\n"
        b'r2,/scan,2026-11-01T10:00:01Z,12,200,"receipt, scanned",eu,mobile,\n'
    )
    assert attributes_of(data, "csv") == [
        {"request_id": "r1", "document_type": "invoice"},
        {"request_id": "r2", "document_type": "receipt, scanned"},
    ]


def test_an_access_log_keeps_referer_user_agent_and_trailing_fields():
    data = (
        b'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 200 12 "http://x/" '
        b'"Mozilla/5.0 (X11)"\n'
        b'1.2.3.4 - - [10/Oct/2000:13:55:37 -0700] "GET /a HTTP/1.1" 200 12 "-" "curl/8" '
        b'"10.1.1.1"\n'
        b'1.2.3.4 - - [10/Oct/2000:13:55:38 -0700] "GET /a HTTP/1.1" 200 12\n'
    )
    assert attributes_of(data, "combined") == [
        {"referer": "http://x/", "user_agent": "Mozilla/5.0 (X11)"},
        {"user_agent": "curl/8", "extra": '"10.1.1.1"'},
        None,
    ]


def test_an_nginx_template_keeps_the_variables_no_column_reads():
    template = (
        'nginx:$remote_addr [$time_local] "$request" $status "$http_user_agent" '
        "up=$upstream_addr rt=$request_time"
    )
    data = b'1.2.3.4 [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 200 "curl/8" up=10.0.0.1:80 rt=0.1\n'
    assert attributes_of(data, template) == [
        {"user_agent": "curl/8", "upstream_addr": "10.0.0.1:80"}
    ]


def test_a_load_balancer_entry_keeps_its_other_fields():
    # AWS's documented example of a Classic Load Balancer entry
    data = (
        b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 "
        b'0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" '
        b'"curl/7.38.0" DHE-RSA-AES128-SHA TLSv1.2\n'
    )
    assert attributes_of(data, "elb") == [
        {"elb": "my-loadbalancer", "backend": "10.0.0.1:80", "backend_status_code": "200",
         "received_bytes": "0", "user_agent": "curl/7.38.0", "ssl_cipher": "DHE-RSA-AES128-SHA",
         "ssl_protocol": "TLSv1.2"}
    ]  # fmt: skip


JSON_LINES = [
    {"ts": "2026-11-01T10:00:00Z", "request": {"uri": "/a", "headers": {"User-Agent": ["curl/7"]}},
     "status": 200, "size": 12, "handler": "http.log.access", "tls": True},
    {"ts": "2026-11-01T10:00:01Z", "request": {"uri": "/b"}, "status": 200, "size": 13,
     "tenant": "acme", "retries": 2},
]  # fmt: skip
EXPECTED_JSON = [
    {"request.headers.User-Agent": '["curl/7"]', "handler": "http.log.access", "tls": "true"},
    {"tenant": "acme", "retries": "2"},
]


def test_json_lines_keep_every_unmapped_leaf_on_both_paths():
    lines = [*JSON_LINES, {"ts": "2026-11-01T10:00:02Z", "request": {"uri": "/c"}, "w": 1.0,
                           "at": "2026-11-01T10:00:02Z", "ratio": 1.5e-7}]  # fmt: skip
    expected = [*EXPECTED_JSON, {"w": "1", "at": "2026-11-01T10:00:02Z", "ratio": "1.5e-7"}]
    fast = "".join(json.dumps(line) + "\n" for line in lines).encode()
    assert attributes_of(fast, "jsonl") == expected
    # a line that is not JSON sends the file object by object: the same attributes
    slow = parse(fast + b"not json\n", "jsonl")
    assert len(slow.rejects) == 1
    assert [json.loads(v) for v in slow.candidates["attributes"]] == expected


def test_a_service_log_keeps_the_key_value_pairs_no_column_reads():
    data = (
        b"2026-11-01T10:00:00Z ERROR checkout payment failed order=123 status=502 "
        b'tenant="acme corp"\n'
        b"2026-11-01T10:00:01Z INFO checkout ok\n"
    )
    assert attributes_of(data, "servicelog") == [{"order": "123", "tenant": "acme corp"}, None]


def test_w3c_haproxy_and_uwsgi_keep_their_other_fields():
    w3c = (
        b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) "
        b"sc-status sc-substatus time-taken\n"
        b"2026-11-01 10:00:00 10.0.0.5 GET /a x=1 1.2.3.4 Mozilla/5.0+(Windows) 200 0 15\n"
    )
    assert attributes_of(w3c, "w3c") == [
        {"s-ip": "10.0.0.5", "user_agent": "Mozilla/5.0+(Windows)", "sc-substatus": "0"}
    ]
    # HAProxy's documented HTTP log example
    haproxy = (
        b"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] "
        b"http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "
        b'"GET /index.html HTTP/1.1"\n'
    )
    assert attributes_of(haproxy, "haproxy") == [
        {"frontend": "http-in", "backend": "static", "server": "srv1"}
    ]
    uwsgi = (
        b"[pid: 29134|app: 0|req: 1/1] 127.0.0.1 () {34 vars in 377 bytes} "
        b"[Sun Mar 13 22:49:12 2016] GET / => generated 12 bytes in 2 msecs (HTTP/1.1 200) "
        b"2 headers in 79 bytes (1 switches on core 0)\n"
    )
    assert attributes_of(uwsgi, "uwsgi") == [{"protocol": "HTTP/1.1"}]


def test_the_mod_ssl_request_log_keeps_protocol_and_cipher():
    data = (
        b'[10/Oct/2000:13:55:36 -0700] 1.2.3.4 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 "GET /a '
        b'HTTP/1.1" 512\n'
    )
    assert attributes_of(data, "apache_ssl") == [
        {"ssl_protocol": "TLSv1.2", "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256"}
    ]
