"""Container and shipper prefixes (transforms.formats.prefixes), and the JSON access logs of
Caddy and Traefik behind them, on hand-made lines in the layouts those tools write."""

import json

import pandas as pd
import pytest

from transforms.formats import registry
from transforms.formats.base import FileFormatError
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


# syslog headers ---------------------------------------------------------------------------------
SYSLOG_HEADERS = [
    "<134>Feb 25 16:19:48 web1 nginx[312]: ",  # RFC 3164 with its PRI
    "Feb 25 16:19:48 web1 nginx: ",  # as rsyslog writes it to a file, no pid
    "Feb  5 16:19:48 web1 nginx[312]: ",  # a one-digit day, space-padded
    "<190>Feb 25 16:19:48 nginx: ",  # nginx's own `access_log syslog:` header, no host name
    "2026-02-25T16:19:48.143+00:00 web1 nginx[312]: ",  # rsyslog's RFC 3339 time
    "<165>1 2026-02-25T16:19:48.003Z web1 nginx 312 - - ",  # RFC 5424
    '<165>1 2026-02-25T16:19:48.003Z web1 nginx 312 ID47 [exampleSDID@32473 iut="3" '
    'eventSource="Application"] ',
]


def test_syslog_headers_before_access_lines_are_stripped_and_named():
    for header in SYSLOG_HEADERS:
        text = "".join(header + COMBINED + "\n" for _ in range(3)).encode()
        stripped, note = strip_prefix(text)
        assert stripped == (COMBINED + "\n").encode() * 3, header
        kind = "RFC 5424" if header.startswith("<165>1 ") else "RFC 3164"
        assert note == f"syslog ({kind}) prefix stripped from every line"
        assert registry.detect(stripped) == "combined"


def test_a_syslog_like_start_that_a_format_reads_stays():
    haproxy = (
        b"Jul 30 09:03:52 lb haproxy[32450]: 1.2.3.4:38862 [30/Jul/2018:09:03:52.726] fe~ "
        b'docs/web1 0/0/1/0/2 304 168 - - ---- 6/6/0/0/0 0/0 "GET /index.js?v=2 HTTP/1.1"\n'
    )
    assert strip_prefix(haproxy * 3) == (haproxy * 3, None)  # HAProxy reads its own header
    service = b"2026-02-25T16:19:48Z INFO orders: charge failed path=/pay status=500\n"
    assert strip_prefix(service * 3) == (service * 3, None)
    notice = b"Feb 25 16:19:48 web1 systemd[1]: Started nginx.service.\n"
    assert strip_prefix(notice * 3) == (notice * 3, None)  # nothing to read behind it


def test_docker_compose_then_syslog():
    text = f"web-1  | <134>Feb 25 16:19:48 web1 nginx[312]: {COMBINED}\n".encode() * 3
    stripped, note = strip_prefix(text)
    assert stripped == (COMBINED + "\n").encode() * 3
    assert note == (
        "docker compose prefix stripped from every line; "
        "syslog (RFC 3164) prefix stripped from every line"
    )


# CRI partial lines ------------------------------------------------------------------------------
def test_cri_partial_lines_are_joined_per_stream_at_the_first_piece():
    half = len(TRAEFIK) // 2
    lines = [
        f"2026-03-02T10:15:00.1Z stdout P {TRAEFIK[:40]}",
        f"2026-03-02T10:15:00.1Z stderr F {TRAEFIK}",  # another stream, between the pieces
        f"2026-03-02T10:15:00.1Z stdout P {TRAEFIK[40:half]}",
        f"2026-03-02T10:15:00.2Z stdout F {TRAEFIK[half:]}",
        f"2026-03-02T10:15:00.3Z stdout F {TRAEFIK}",
    ]
    stripped, note = strip_prefix(("\n".join(lines) + "\n").encode())
    assert stripped.decode().split("\n") == [TRAEFIK, TRAEFIK, "", "", TRAEFIK, ""]
    assert note == (
        "Kubernetes CRI prefix stripped from every line, 1 line split by the runtime (tag P) "
        "joined again"
    )
    parsed = registry.parse(stripped, registry.detect(stripped))
    assert parsed.rejects.empty
    assert parsed.candidates["line_number"].tolist() == [1, 2, 5]  # the first piece's line


def test_cri_lines_of_a_program_that_logs_no_time_keep_the_runtimes_time():
    """uvicorn's access log has no time of its own: in a Kubernetes container log file the
    runtime's time is the line's, as `kubectl logs --timestamps` shows it (a line split in
    pieces too)."""
    access = '172.17.0.1:51234 - "GET /items?x=1 HTTP/1.1" 200 OK'
    lines = [
        "2024-05-16T10:20:31.000000001Z stdout F INFO:     Started server process [1]",
        f"2024-05-16T10:20:33.123456789Z stdout F INFO:     {access}",
        f"2024-05-16T10:20:34.123456789Z stdout P INFO:     {access[:20]}",
        f"2024-05-16T10:20:34.223456789Z stdout F {access[20:]}",
        f"2024-05-16T10:20:35.123456789Z stdout F INFO:     {access}",
    ]
    stripped, note = strip_prefix(("\n".join(lines) + "\n").encode())
    assert note == (
        "Kubernetes CRI prefix stripped from every line but its time, 1 line split by the "
        "runtime (tag P) joined again"
    )
    assert stripped.decode().split("\n")[2] == f"2024-05-16T10:20:34.123456789Z INFO:     {access}"
    assert registry.detect(stripped) == "uvicorn"
    parsed = registry.parse(stripped, "uvicorn")
    assert parsed.candidates["line_number"].tolist() == [2, 3, 5]
    assert parsed.candidates["ts"].iloc[1] == pd.Timestamp("2024-05-16T10:20:34.123456Z")
    # lines that log their own time lose the runtime's
    assert (
        strip_prefix(f"2026-03-02T10:15:00.1Z stdout F {COMBINED}\n".encode() * 3)[1]
        == "Kubernetes CRI prefix stripped from every line"
    )


def test_cri_pieces_without_their_end_are_kept_as_they_are():
    lines = [
        *[f"2026-03-02T10:15:00.1Z stdout F {COMBINED}"] * 10,
        "2026-03-02T10:15:00.2Z stdout P 10.0.0.1 - - [02/Mar/2026:10:15:00 +0000] ",
        '2026-03-02T10:15:00.2Z stdout P "GET /cut HTTP/1.1" 200',
    ]
    stripped, _ = strip_prefix(("\n".join(lines) + "\n").encode())
    assert stripped.decode().split("\n") == [
        *[COMBINED] * 10,
        '10.0.0.1 - - [02/Mar/2026:10:15:00 +0000] "GET /cut HTTP/1.1" 200',
        "",
        "",
    ]


def test_docker_log_timestamps_are_stripped_after_compose_and_alone():
    """`docker compose logs -t` puts the runtime's receive time (RFC 3339, nanoseconds) after
    the service's prefix, `docker logs -t` before the line itself; a service log that starts
    with such a time of its own keeps it."""
    lines = [f"2026-03-02T10:15:0{i}.601234567Z {COMBINED}" for i in range(3)]
    compose = "".join(f"web-1  | {line}\n" for line in lines).encode()
    stripped, note = strip_prefix(compose)
    assert stripped == (COMBINED + "\n").encode() * 3
    assert note == (
        "docker compose prefix stripped from every line; docker timestamps prefix stripped "
        "from every line"
    )
    alone, note = strip_prefix("".join(f"{line}\n" for line in lines).encode())
    assert alone == (COMBINED + "\n").encode() * 3
    assert note == "docker timestamps prefix stripped from every line"
    service = b"".join(
        f"2026-03-02T10:15:0{i}.601234567Z INFO [api] request served\n".encode() for i in range(3)
    )
    assert strip_prefix(service) == (service, None)


def test_a_file_no_format_reads_is_quoted_as_written_prefix_included():
    written = b"web-1  | hello there this is no log line\nweb-1  | nor is this one\n"
    stripped, note = strip_prefix(written)
    assert note == "docker compose prefix stripped from every line"
    with pytest.raises(FileFormatError, match=r"of: web-1  \| hello there this is no log line;"):
        registry.detect(stripped, written)


ACCESS = [
    '172.17.0.1 - - [16/May/2024:10:20:33 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.4.0" "-"',
    '172.17.0.1 - - [16/May/2024:10:20:34 +0000] "GET /x HTTP/1.1" 404 153 "-" "curl/8.4.0" "-"',
]


def _docker(line: str, time: str = "2024-05-16T10:20:33.123456789Z", end: str = "\n") -> str:
    return json.dumps({"log": line + end, "stream": "stdout", "time": time})


def test_docker_json_file_lines_are_unwrapped_and_a_split_line_joined():
    long_path = "/" + "a" * 40
    split = ACCESS[0].replace('"GET / ', f'"GET {long_path} ')
    lines = [
        _docker(ACCESS[0]),
        _docker(split[:60], end=""),  # Docker split the line: no line end on the first piece
        _docker(split[60:]),
        _docker(ACCESS[1]),
    ]
    text, note = strip_prefix(("\n".join(lines) + "\n").encode())
    assert note.startswith("Docker json-file wrapper removed from every line")
    assert "1 line the runtime split joined again" in note
    assert text.decode().split("\n") == [ACCESS[0], split, "", ACCESS[1], ""]
    assert registry.detect(text) == "combined"


def test_fluent_bit_json_lines_are_unwrapped_and_plain_json_lines_are_not():
    lines = [json.dumps({"date": 1715854833.123456, "log": line}) for line in ACCESS]
    text, note = strip_prefix(("\n".join(lines) + "\n").encode())
    assert note.startswith("Fluent Bit json_lines wrapper removed")
    assert text.decode().split("\n")[:2] == ACCESS
    # an application's own JSON lines with a `log` key beside others are its records
    own = b'{"time":"2024-05-16T10:20:33Z","log":"x","path":"/a","status":200}\n'
    assert strip_prefix(own) == (own, None)
    # wrapped lines that no format reads stay wrapped (and are JSON lines)
    free = "\n".join(_docker(f"starting worker {i}") for i in range(3)).encode()
    assert strip_prefix(free) == (free, None)


def test_runtime_timestamps_before_json_lines_are_stripped_though_the_lines_look_like_csv():
    """`kubectl logs --timestamps` / `docker logs -t` of a pino app: with the runtime's time in
    front, a JSON line's commas make it look like a csv header; it is JSON lines."""
    lines = [
        '2024-05-16T10:20:33.123456789Z {"level":30,"time":1715854833123,"msg":"request '
        'completed","req":{"method":"GET","url":"/a"},"res":{"statusCode":200},"responseTime":3}',
        '2024-05-16T10:20:34.123456789Z {"level":30,"time":1715854834123,"msg":"request '
        'completed","req":{"method":"GET","url":"/b"},"res":{"statusCode":404},"responseTime":1}',
    ]
    text, note = strip_prefix(("\n".join(lines) + "\n").encode())
    assert note == "docker timestamps prefix stripped from every line"
    assert registry.detect(text) == "jsonl"


def test_pm2_prefixes_are_stripped():
    line = '::ffff:127.0.0.1 - - [16/May/2024:10:20:33 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8"'
    for prefix, name in [
        ("0|api      | ", "pm2 logs prefix stripped from every line"),
        ("2024-05-16T10:20:33: ", "pm2 timestamps prefix stripped from every line"),
    ]:
        text, note = strip_prefix(((prefix + line + "\n") * 3).encode())
        assert (text.decode().split("\n")[0], note) == (line, name)


def test_pm2_json_logs_are_unwrapped():
    line = '::ffff:127.0.0.1 - - [16/May/2024:10:20:33 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8"'
    wrapped = json.dumps(
        {
            "message": line + "\n",
            "timestamp": "2024-05-16T10:20:33.123Z",
            "type": "out",
            "process_id": 0,
            "app_name": "api",
        }
    )
    text, note = strip_prefix(((wrapped + "\n") * 3).encode())
    assert note == "pm2 JSON wrapper removed from every line (its `message` read as the line)"
    assert text.decode().split("\n")[0] == line


LOGFMT = 'time=2024-05-16T10:21:09.604Z level=info msg="request completed" method=GET path=/a status=200 duration=35.0ms'


@pytest.mark.parametrize(
    ("prefixed", "line", "note", "fmt"),
    [
        ("[pod/web-5c7d9b8f6-4kz2p/nginx] {line}", COMBINED, "kubectl --prefix prefix", "combined"),
        ("[pod/web-5c7d9b8f6-4kz2p/nginx] 2026-03-02T10:15:00.123456789Z {line}", COMBINED,
         "kubectl --prefix prefix stripped from every line; docker timestamps prefix", "combined"),
        ('2024-05-16T10:21:09Z {{app="api", namespace="prod", pod="api-7d9f8c6b5-x2kqz"}}   {line}',
         LOGFMT, "logcli prefix", "logfmt"),
        ("2024-05-16T10:20:30Z app[148ed193b95089] iad [info]{line}", COMBINED, "fly logs prefix", "combined"),
        ("web-5c7d9b8f6-4kz2p nginx {line}", COMBINED, "stern prefix", "combined"),
        ("web-5c7d9b8f6-4kz2p nginx 2026-03-02T10:15:00.123456789Z {line}", COMBINED,
         "stern prefix stripped from every line; docker timestamps prefix", "combined"),
        ("2024-05-16T10:20:30.123000+00:00 nginx/nginx/5f1c9a2b7e3d4c8f {line}", COMBINED,
         "aws logs tail prefix", "combined"),
    ],
    ids=["kubectl-prefix", "kubectl-prefix-timestamps", "logcli", "fly", "stern", "stern-timestamps",
         "aws-logs-tail"],
)  # fmt: skip
def test_command_line_tools_prefixes_are_stripped(prefixed, line, note, fmt):
    text = "".join(prefixed.format(line=line) + "\n" for _ in range(3)).encode()
    stripped, found = strip_prefix(text)
    assert stripped == (line + "\n").encode() * 3
    assert found.startswith(note)
    assert registry.detect(stripped) == fmt


def test_a_line_that_starts_like_stern_but_is_a_format_keeps_its_start():
    """Two words before a line no format reads: stern's prefix only when the rest is read."""
    text = b"web-1 api-2 something no format reads\n" * 3
    assert strip_prefix(text) == (text, None)


def test_lines_that_look_like_endless_prefixes_are_left_alone():
    """Every two words look like stern's pod and container: checked one level deep only."""
    line = " ".join(f"pod-{i} c{i}" for i in range(600))
    text = (line + "\n").encode() * 5
    assert strip_prefix(text) == (text, None)


def test_syslog_lines_whose_first_message_has_commas_stay_syslog():
    """Postfix's first line (`daemon started -- version 3.7.6, configuration /etc/postfix`):
    its messages without their headers would look like a csv header, but the lines as they
    are are syslog, which a csv guess does not beat."""
    lines = [
        "Nov  1 10:00:00 mail postfix/master[1001]: daemon started -- version 3.7.6, "
        "configuration /etc/postfix",
        "Nov  1 10:00:01 mail postfix/smtpd[1200]: connect from unknown[203.0.113.7]",
        "Nov  1 10:00:02 mail postfix/smtpd[1200]: disconnect from unknown[203.0.113.7]",
    ]
    data = ("\n".join(lines) + "\n").encode()
    text, note = strip_prefix(data)
    assert (text, note) == (data, None)
    assert registry.detect(data) == "syslog"


@pytest.mark.parametrize(
    "line",
    [
        "INFO  [main] 2026-11-01 10:00:00,123 YamlConfigurationLoader.java:104 - Configuration "
        "location: file:/etc/cassandra/cassandra.yaml",
        "2026-11-01 10:00:00,123 | INFO  | Refreshing org.apache.activemq.xbean.XBeanBrokerFactory"
        "$1@5b0abc94: startup date [Sun Nov 01 10:00:00 UTC 2026] | org.apache.activemq | main",
    ],
    ids=["cassandra", "activemq"],
)
def test_a_log_line_with_commas_is_no_csv_header(line):
    """A line holding a time of day names no columns: detection says it cannot read it (with
    the closest formats) rather than reading a csv whose header matches no layout."""
    with pytest.raises(FileFormatError, match="could not detect the format of") as raised:
        registry.detect((line + "\n").encode() * 3)
    assert "matches no known layout" not in str(raised.value)
