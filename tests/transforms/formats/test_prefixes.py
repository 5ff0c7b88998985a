"""Container and shipper prefixes (transforms.formats.prefixes), and the JSON access logs of
Caddy and Traefik behind them, on hand-made lines in the layouts those tools write."""

import pandas as pd

from transforms.formats import registry
from transforms.formats.prefixes import strip_prefix

CADDY = (
    '{"level":"info","ts":1646861401.5241024,"logger":"http.log.access.log0","msg":"handled '
    'request","request":{"remote_ip":"172.18.0.1","remote_port":"41342","client_ip":'
    '"203.0.113.9","proto":"HTTP/1.1","method":"GET","host":"example.com","uri":"/api/v1/items'
    '?page=2","headers":{"User-Agent":["curl/8.0"]}},"bytes_read":0,"user_id":"","duration":'
    '0.012345,"size":10900,"status":200,"resp_headers":{"Server":["Caddy"]}}'
)
TRAEFIK = (
    '{"ClientAddr":"192.0.2.7:51234","ClientHost":"192.0.2.7","DownstreamContentSize":523,'
    '"DownstreamStatus":404,"Duration":2500000,"RequestMethod":"POST","RequestPath":"/login",'
    '"StartUTC":"2026-03-02T10:15:00.123456789Z","level":"info","msg":"","time":'
    '"2026-03-02T10:15:00Z"}'
)
COMBINED = (
    '10.0.0.1 - - [02/Mar/2026:10:15:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"'
)


def test_docker_compose_prefixes_are_stripped_and_named():
    text = f"caddy  | {CADDY}\ncaddy  | {CADDY}\n".encode()
    stripped, note = strip_prefix(text)
    assert stripped == f"{CADDY}\n{CADDY}\n".encode()
    assert note == "docker compose prefix stripped from every line"


def test_kubernetes_cri_prefixes_are_stripped():
    text = "".join(
        f"2026-03-02T10:15:0{i}.601234567Z stdout F {COMBINED}\n" for i in range(3)
    ).encode()
    stripped, note = strip_prefix(text)
    assert stripped == (COMBINED + "\n").encode() * 3
    assert note == "Kubernetes CRI prefix stripped from every line"
    assert registry.detect(stripped) == "combined"


def test_a_prefix_on_too_few_lines_is_left_alone():
    lines = [f"web | {COMBINED}"] + [COMBINED] * 9  # one line in ten: not the file's prefix
    text = "\n".join(lines).encode() + b"\n"
    assert strip_prefix(text) == (text, None)
    assert strip_prefix(b"") == (b"", None)


def test_caddy_json_access_logs_fill_every_request_column():
    parsed = registry.parse((CADDY + "\n").encode(), "jsonl")
    row = parsed.candidates.iloc[0]
    assert row["ts"] == pd.Timestamp(1646861401.5241024, unit="s", tz="UTC").as_unit("us")
    assert row["path"] == "/api/v1/items?page=2"
    assert row["method"] == "GET"
    assert row["client_ip"] == "203.0.113.9"
    assert row["status_code"] == 200 and row["bytes_sent"] == 10900
    assert abs(row["latency_ms"] - 12.345) < 1e-9


def test_traefik_json_access_logs_fill_every_request_column():
    parsed = registry.parse((TRAEFIK + "\n").encode(), "jsonl")
    row = parsed.candidates.iloc[0]
    assert row["path"] == "/login" and row["method"] == "POST"
    assert row["status_code"] == 404 and row["bytes_sent"] == 523
    assert row["client_ip"] == "192.0.2.7"
    assert row["latency_ms"] == 2.5  # Duration is in nanoseconds
    assert row["ts"] == pd.Timestamp("2026-03-02T10:15:00Z")  # `time` comes before StartUTC
