"""Log layouts as events: each layout's lines (hand-written after its documentation), the
lines that continue an event, level aliases, bad lines, and detection of each layout over the
others."""

import json
from pathlib import Path

import pandas as pd
import pytest

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.layouts.levels import (
    level_letters_or_words,
    level_words,
    severity_of_pri,
    syslog_severity,
)
from transforms.reason_codes import reason_codes

AS_OF = pd.Timestamp("2026-11-02T12:00:00Z")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def read(fmt: str, *lines: str, as_of=AS_OF):
    data = ("\n".join(lines) + "\n").encode()
    parsed = registry.parse(data, fmt, as_of=as_of)
    events = canonical_events(parsed, source="t", as_of=as_of)
    assert parsed.records_read == len(events.events) + len(events.rejects)
    return events


def attributes(events) -> list[dict]:
    return [json.loads(a) if isinstance(a, str) else {} for a in events.events["attributes"]]


# one layout at a time -------------------------------------------------------------------------
LOG4J = [
    "2015-10-18 18:04:11,034 ERROR [RMCommunicator Allocator] "
    "org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator: ERROR IN CONTACTING RM.",
    "2026-11-01 10:00:00.500 WARN [pool-1-thread-2: worker] com.shop.Cart - cart is full",
    "2026-11-01 10:00:01,000 [main] INFO  com.shop.App - started",  # logback's default, dated
    "26/11/01 10:00:02 INFO storage.BlockManager: block stored",  # %d{yy/MM/dd HH:mm:ss} %p %c{2}
    "261101 100003 148 INFO dfs.DataNode$PacketResponder: responder done",  # numeric thread
    "2026-11-01 10:00:04,747 - WARN  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:Leader@774] - "
    "follower lagging",
    "[2026-11-01 10:00:05,000] INFO Starting log cleaner (kafka.log.LogCleaner)",
]


def test_log4j_layouts_give_the_logger_as_service_and_keep_the_thread():
    events = read("log4j", *LOG4J).events
    assert events["service"].tolist() == [
        "org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator",
        "com.shop.Cart",
        "com.shop.App",
        "storage.BlockManager",
        "dfs.DataNode$PacketResponder",
        "Leader",
        "kafka.log.LogCleaner",
    ]
    assert events["level"].tolist() == [
        "ERROR",
        "WARNING",
        "INFO",
        "INFO",
        "INFO",
        "WARNING",
        "INFO",
    ]
    assert events["ts"].tolist() == [
        utc("2015-10-18 18:04:11.034"),
        utc("2026-11-01 10:00:00.5"),
        *(utc(f"2026-11-01 10:00:0{k}") for k in range(1, 4)),
        utc("2026-11-01 10:00:04.747"),
        utc("2026-11-01 10:00:05"),
    ]
    threads = [a.get("thread") for a in attributes(read("log4j", *LOG4J))]
    assert threads[:3] == ["RMCommunicator Allocator", "pool-1-thread-2: worker", "main"]
    assert threads[4:6] == ["148", "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181"]
    assert events["message"].iloc[0] == "ERROR IN CONTACTING RM."


def test_a_java_stack_trace_joins_the_event_it_follows():
    lines = [
        "2026-11-01 10:00:00,000 ERROR [main] com.shop.App: charge failed",
        "java.lang.IllegalStateException: card declined",
        "\tat com.shop.Pay.charge(Pay.java:42)",
        "Caused by: java.io.IOException: timeout",
        "\t... 3 more",
        "2026-11-01 10:00:01,000 INFO [main] com.shop.App: retried",
    ]
    events = read("log4j", *lines)
    assert len(events.events) == 2 and events.rejects.empty
    first = events.events.iloc[0]
    assert first["message"].splitlines()[0] == "charge failed"
    assert first["message"].splitlines()[-1] == "\t... 3 more"
    parsed = registry.parse(("\n".join(lines) + "\n").encode(), "log4j")
    assert parsed.records_read == 2
    assert parsed.candidates["raw"].iloc[0] == "\n".join(lines[:5])
    assert parsed.candidates["line_number"].tolist() == [1, 6]


def test_python_logging_layouts():
    events = read(
        "python",
        "2003-07-08 16:49:45,896 - simple_example - WARNING - warn message",
        "2003-07-08 16:49:46,000 ERROR:app.db:connection lost: retrying",
        "2003-07-08 16:49:47.008 25746 INFO nova.api.server [req-1 - -] GET /v2 status: 200",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: bad",
    ).events
    assert events["service"].tolist() == ["simple_example", "app.db", "nova.api.server"]
    assert events["level"].tolist() == ["WARNING", "ERROR", "INFO"]
    assert events["message"].tolist()[:2] == ["warn message", "connection lost: retrying"]
    assert events["message"].iloc[2].endswith("ValueError: bad")
    assert events["ts"].iloc[2] == utc("2003-07-08 16:49:47.008")


def test_python_logging_default_format_is_quarantined_for_its_missing_time():
    events = read("python", "WARNING:root:careful", "ERROR:app:bad")
    assert events.events.empty
    assert events.rejects["reasons"].str.contains("logs no time: add %\\(asctime\\)s").all()


def test_syslog_rfc3164_service_pid_and_levels():
    events = read(
        "syslog",
        "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
        "Oct 11 22:14:16 mymachine sshd(pam_unix)[19939]: authentication failure",
        "Oct 11 22:14:17 mymachine kernel: error: disk full",
        "Oct 11 22:14:18 mymachine Microsoft Word[233]: autosave",
        "Oct 11 22:14:19 mymachine cron[1]: [WARN] job late",
    )
    frame = events.events
    assert frame["service"].tolist() == ["su", "sshd(pam_unix)", "kernel", "Microsoft Word", "cron"]
    # PRI 34 is severity 2 (crit); no PRI: a level word opening the message, else INFO
    assert frame["level"].tolist() == ["CRITICAL", "INFO", "ERROR", "INFO", "WARNING"]
    assert [a.get("pid") for a in attributes(events)] == ["230", "19939", None, "233", "1"]
    assert attributes(events)[0]["host"] == "mymachine"
    assert frame["ts"].iloc[0] == utc("2026-10-11 22:14:15")


def test_journalctl_short_iso_with_either_offset_and_its_boot_markers():
    """`journalctl -o short-iso` writes `+0100` before systemd 250 and `+01:00` since; its
    `-- Boot … --` markers are its own lines, no record."""
    lines = [
        "2026-11-01T10:00:00+0100 host1 kernel: wireguard: WireGuard 1.0.0 loaded.",
        "2026-11-01T10:00:01+0100 host1 sshd[812]: Server listening on 0.0.0.0 port 22.",
        "-- Boot 0a1b2c3d4e5f --",
        "2026-11-01T10:05:00+01:00 host1 systemd[1]: Started Session 3 of User ops.",
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "syslog"
    events = read("syslog", *lines)
    assert events.events["ts"].tolist() == [
        utc("2026-11-01 09:00:00"),
        utc("2026-11-01 09:00:01"),
        utc("2026-11-01 09:05:00"),
    ]
    assert events.events["service"].tolist() == ["kernel", "sshd", "systemd"]
    assert events.rejects["line_number"].tolist() == [3]
    assert "journalctl's marker between records" in events.rejects["reasons"].iloc[0]


def test_syslog_rfc5424():
    events = read(
        "syslog5424",
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
        'iut="3" eventSource="Application"] An application event',
        "<11>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time",
    )
    frame = events.events
    assert frame["service"].tolist() == ["evntslog", "myproc"]
    assert frame["level"].tolist() == ["INFO", "ERROR"]  # 165: notice; 11: err
    assert frame["ts"].tolist() == [
        utc("2003-10-11T22:14:15.003"),
        utc("2003-08-24T12:14:15.000003"),
    ]
    assert attributes(events)[0]["msgid"] == "ID47"
    assert frame["message"].tolist() == ["An application event", "%% It's time"]


def test_journald_json_entries():
    events = read(
        "journald",
        '{"__REALTIME_TIMESTAMP":"1762000000123456","PRIORITY":"4","SYSLOG_IDENTIFIER":"sshd",'
        '"_PID":"812","_HOSTNAME":"web1","MESSAGE":"slow auth"}',
        '{"__REALTIME_TIMESTAMP":"1762000001000000","_COMM":"backup","MESSAGE":[104,105]}',
    )
    frame = events.events
    assert frame["ts"].tolist() == [utc("2025-11-01T12:26:40.123456"), utc("2025-11-01T12:26:41")]
    assert frame["level"].tolist() == ["WARNING", "INFO"]
    assert frame["service"].tolist() == ["sshd", "backup"]
    assert frame["message"].tolist() == ["slow auth", "hi"]


def test_a_klog_fatal_lines_goroutine_dump_continues_it():
    """klog's Fatal writes every goroutine's stack after its line (`goroutine 1 [running]:`,
    frames without an indent): one CRITICAL event, not a file of rejects."""
    lines = [
        'I1101 10:00:04.700000    1234 server.go:280] "Starting kubelet"',
        'F1101 10:00:05.800000    1234 server.go:300] "Failed to run kubelet" err="misconfiguration"',
        "goroutine 1 [running]:",
        "k8s.io/klog/v2.stacks(0x1)",
        "\tvendor/k8s.io/klog/v2/klog.go:860 +0x89",
        "main.main()",
        "\tcmd/kubelet/kubelet.go:39 +0x125",
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert registry.detect(data) == "klog"
    events = read("klog", *lines)
    assert events.rejects.empty
    assert events.events["level"].tolist() == ["INFO", "CRITICAL"]
    assert events.events["message"].iloc[1].endswith("cmd/kubelet/kubelet.go:39 +0x125")


def test_klog_logcat_apache_and_nginx_error_logs():
    klog = read("klog", "E1031 23:59:59.123456    7 reflector.go:138] watch failed").events
    assert (klog["level"].iloc[0], klog["service"].iloc[0]) == ("ERROR", "reflector.go")
    assert klog["ts"].iloc[0] == utc("2026-10-31 23:59:59.123456")
    logcat = read(
        "logcat",
        "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs",
        "03-17 16:13:38.812  1702  2395 V Some Tag: verbose",
        "03-17 16:13:38.813  1702  2395 F libc    : Fatal signal 11",
    ).events
    assert logcat["service"].tolist() == ["WindowManager", "Some Tag", "libc"]
    assert logcat["level"].tolist() == ["DEBUG", "TRACE", "CRITICAL"]
    apache = read(
        "apache_error",
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
        "[Wed Oct 11 14:32:52.123456 2000] [core:crit] [pid 35708:tid 4328636416] "
        "[client 1.2.3.4:5] AH00124: limit",
        "[Wed Oct 11 14:32:53 2000] [proxy:trace5] [pid 1] proxy: detail",
    )
    assert apache.events["level"].tolist() == ["INFO", "CRITICAL", "TRACE"]
    assert attributes(apache)[1] == {
        "module": "core", "pid": "35708", "tid": "4328636416", "client": "1.2.3.4:5"
    }  # fmt: skip
    nginx = read(
        "nginx_error",
        '2024/05/26 11:42:52 [error] 31#31: *1 open() "/x" failed (2: No such file), client: 1.2.3.4',
        "2024/05/26 11:42:53 [emerg] 1#1: bind() failed",
    ).events
    assert nginx["level"].tolist() == ["ERROR", "CRITICAL"]
    assert (nginx["service"] == "nginx").all()


def test_logfmt_and_zap_console():
    logfmt = read(
        "logfmt",
        'time="2026-11-01T10:00:00Z" level=warning msg="disk almost full" component=storage free=3%',
        "ts=1762000000.5 lvl=eror msg=failed logger=http",
    )
    assert logfmt.events["service"].tolist() == ["storage", "http"]
    assert logfmt.events["level"].tolist() == ["WARNING", "ERROR"]
    assert logfmt.events["message"].tolist() == ["disk almost full", "failed"]
    assert attributes(logfmt)[0] == {"free": "3%"}
    assert logfmt.events["endpoint"].isna().all()  # no request keys: events
    zap = read(
        "zap",
        '2026-11-01T10:00:00.123Z\tINFO\tserver/main.go:42\tlistening\t{"addr": ":8080"}',
        "2026-11-01T10:00:01.000Z\tERROR\thttp\tserver/main.go:50\tfailed",
    )
    assert zap.events["service"].tolist() == ["server/main.go", "http"]
    assert attributes(zap)[0] == {"caller": "server/main.go:42", "addr": ":8080"}


# levels ---------------------------------------------------------------------------------------
def test_level_aliases_fold_onto_the_one_level_set_and_numbers_are_kept_apart_by_layout():
    words = pd.Series(["warn", "notice", "crit", "severe", "fatal", "emerg", "alert", "Info"])
    assert level_words(words).tolist() == [
        "WARNING", "INFO", "CRITICAL", "ERROR", "CRITICAL", "CRITICAL", "CRITICAL", "INFO"
    ]  # fmt: skip
    letters = pd.Series(list("VDIWEFA"))
    assert level_letters_or_words(letters).tolist() == [
        "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "CRITICAL"
    ]  # fmt: skip
    severities = pd.Series([str(k) for k in range(8)])
    assert syslog_severity(severities).tolist() == [
        "CRITICAL", "CRITICAL", "CRITICAL", "ERROR", "WARNING", "INFO", "INFO", "DEBUG"
    ]  # fmt: skip
    assert syslog_severity(pd.Series(["30"])).tolist() == ["30"]  # pino's 30 is no severity
    assert [severity_of_pri(p) for p in ("0", "34", "165", "191", "192", "x")] == [
        "0", "2", "5", "7", None, None
    ]  # fmt: skip


def test_an_unknown_level_word_is_quarantined_naming_it():
    events = read("logfmt", "time=2026-11-01T10:00:00Z level=loud msg=hi")
    assert events.events.empty
    assert "LOUD" in events.rejects["reasons"].iloc[0]


# bad lines ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "good"),
    [
        ("log4j", LOG4J[0]),
        ("syslog", "Oct 11 22:14:15 host app[1]: ok"),
        ("logcat", "03-17 16:13:38.811  1702  2395 D Tag: ok"),
        ("klog", "I1031 10:00:00.000000    7 a.go:1] ok"),
        ("nginx_error", "2024/05/26 11:42:52 [error] 31#31: ok"),
    ],
)
def test_a_bad_line_is_one_quarantine_row_naming_the_line_and_the_layout(fmt, good):
    events = read(fmt, good, "this is not a log line", good)
    assert len(events.events) == 2 and len(events.rejects) == 1
    reason = events.rejects["reasons"].iloc[0]
    assert reason.startswith(f"line 2: does not match the {fmt} layout, expected '")
    assert events.rejects["line_number"].iloc[0] == 2


def test_a_continuation_line_before_any_event_is_quarantined():
    events = read("log4j", "\tat com.shop.Pay.charge(Pay.java:42)", LOG4J[0])
    assert len(events.events) == 1
    assert (
        events.rejects["reasons"]
        .iloc[0]
        .startswith("line 1: continuation line with no log line before it")
    )


# detection ------------------------------------------------------------------------------------
SAMPLES = {
    "log4j": LOG4J[:3],
    "python": ["2003-07-08 16:49:45,896 - simple_example - WARNING - warn message"] * 2,
    "syslog": ["Oct 11 22:14:15 mymachine su[230]: 'su root' failed", "Oct 11 22:14:16 h cron: x"],
    "syslog5424": ["<165>1 2003-10-11T22:14:15.003Z host app 1 ID47 - An application event"],
    "journald": [
        '{"__REALTIME_TIMESTAMP":"1762000000123456","PRIORITY":"6","MESSAGE":"x","_COMM":"a"}'
    ],
    "klog": ["I0102 15:04:05.000000       1 controller.go:12] Starting controller"],
    "logfmt": ['time="2026-11-01T10:00:00Z" level=info msg="started" port=80'],
    "zap": ["2026-11-01T10:00:00.123Z\tINFO\tserver/main.go:42\tlistening"],
    "logcat": ["03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs"],
    "apache_error": ["[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6"],
    "nginx_error": ["2024/05/26 11:42:52 [error] 31#31: *1 open() failed, client: 10.0.0.1"],
    "servicelog": ["2026-11-01T10:00:00Z INFO api started path=/a status=200"],
    "golog": ["2009/11/10 23:00:00 INFO hello count=3", "2009/11/10 23:00:01 listening on :80"],
    "ruby": ["I, [2024-05-16T10:20:33.101234 #12345]  INFO -- : Booting Puma"],
}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_each_layout_is_detected_for_its_own_lines(fmt):
    data = ("\n".join(SAMPLES[fmt]) + "\n").encode()
    assert registry.detect(data) == fmt


def test_detection_of_a_year_less_layout_needs_no_ingest_time():
    data = b"03-17 16:13:38.811  1702  2395 D WindowManager: x\n"
    assert registry.detect(data) == "logcat"  # parsed with a placeholder year, never the clock


def test_service_log_lines_stay_service_logs_beside_log4j_and_syslog():
    """A lower-case service with a colon is a service log's (with its key=value pairs), not a
    log4j category or a syslog host and tag."""
    data = (
        b"2026-11-01T10:00:00Z ERROR payments.api: failed status=500\n"
        b"2026-11-01T10:00:01Z INFO payments: ok latency_ms=3\n"
    )
    assert registry.detect(data) == "servicelog"


def test_spring_boot_console_lines_give_the_logger_as_service_not_the_pid():
    """Spring Boot's default console layout (3.x with the application's name, 2.x without):
    the pid and application are attributes, the logger the service."""
    lines = [
        "2024-05-26T13:42:52.601+02:00  INFO 12345 --- [myapp] [           main] "
        "o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port 8080 (http)",
        "2024-05-26 13:42:53.112 ERROR 12345 --- [nio-8080-exec-1] "
        "o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.demo.Api.get(Api.java:12)",
    ]
    assert registry.detect(("\n".join(lines) + "\n").encode()) == "log4j"
    read_back = read("log4j", *lines)
    events = read_back.events
    assert read_back.rejects.empty
    assert events["service"].tolist() == [
        "o.s.b.w.embedded.tomcat.TomcatWebServer",
        "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
    ]
    assert events["level"].tolist() == ["INFO", "ERROR"]
    assert events["ts"].tolist() == [utc("2024-05-26 11:42:52.601"), utc("2024-05-26 13:42:53.112")]
    assert events["message"].iloc[0] == "Tomcat started on port 8080 (http)"
    assert events["message"].iloc[1].endswith("(Api.java:12)")
    extra = attributes(read_back)
    assert (extra[0]["pid"], extra[0]["application"], extra[0]["thread"]) == (
        "12345",
        "myapp",
        "main",
    )
    assert "application" not in extra[1]


def test_gunicorn_error_log_lines_are_python_events_of_its_error_logger():
    lines = [
        "[2024-05-26 11:42:52 +0000] [1] [INFO] Starting gunicorn 21.2.0",
        "[2024-05-26 13:42:53 +0200] [7] [ERROR] Error handling request /api/orders",
        "Traceback (most recent call last):",
        '  File "/app/views.py", line 3, in orders',
        "ZeroDivisionError: division by zero",
        "[2024-05-26 11:42:54 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:7)",
    ]
    assert registry.detect(("\n".join(lines) + "\n").encode()) == "python"
    read_back = read("python", *lines)
    assert read_back.rejects.empty
    events = read_back.events
    assert events["service"].tolist() == ["gunicorn.error"] * 3
    assert events["level"].tolist() == ["INFO", "ERROR", "CRITICAL"]
    assert events["ts"].tolist() == [utc(f"2024-05-26 11:42:5{k}") for k in (2, 3, 4)]
    assert events["message"].iloc[1].endswith("ZeroDivisionError: division by zero")
    assert [a["pid"] for a in attributes(read_back)] == ["1", "7", "1"]


def test_logfmt_request_lines_are_requests_with_their_method_path_status_and_duration():
    # a Go HTTP middleware's request lines in logfmt (go-kit/log, logrus' text formatter):
    # durations as Go prints them, or bare numbers in the key's unit
    events = read(
        "logfmt",
        'time=2026-11-01T10:00:00.5Z level=info msg="request completed" method=GET '
        "path=/api/users/42 status=200 duration=12.5ms bytes=512 remote_addr=10.0.0.1",
        'time=2026-11-01T10:00:01Z level=error msg="request failed" method=POST '
        'uri="/api/orders?x=1" status=503 duration=1.2s remote_ip=10.0.0.2 trace=ab12',
        "time=2026-11-01T10:00:02Z level=warning msg=slow method=GET path=/api/items latency=812",
        "time=2026-11-01T10:00:03Z level=info msg=done method=GET path=/a status=abc",
        'time=2026-11-01T10:00:04Z level=info msg="cache warmed" entries=1200',
    )
    kept = events.events
    assert kept["endpoint"].tolist()[:3] == ["/api/users/{id}", "/api/orders", "/api/items"]
    assert pd.isna(kept["endpoint"].iloc[3])  # no request keys: an event
    assert kept["method"].tolist()[:3] == ["GET", "POST", "GET"]
    assert kept["status_code"].tolist()[:2] == [200, 503]
    assert kept["latency_ms"].tolist()[:3] == [12.5, 1200.0, 812.0]  # latency: bare is ms
    assert kept["bytes_sent"].iloc[0] == 512
    assert kept["client_ip"].tolist()[:2] == ["10.0.0.1", "10.0.0.2"]
    assert attributes(events)[1] == {"trace": "ab12"}
    assert attributes(events)[3] == {"entries": "1200"}
    # a status that is no number rejects its line, naming it
    assert events.rejects["line_number"].tolist() == [4]
    assert "'abc' is not an integer status code" in events.rejects["reasons"].iloc[0]


def test_go_log_and_slog_default_lines_with_their_request_attributes():
    # Go's `log` (no level: INFO) and log/slog's default handler through it
    events = read(
        "golog",
        "2024/05/16 10:20:30 listening on :8080",
        "2024/05/16 10:20:31.123456 INFO server started addr=:8080",
        "2024/05/16 10:20:32 INFO request method=GET path=/api/users/42 status=200 "
        "duration=1.234567ms remote_addr=203.0.113.7:51234",
        '2024/05/16 10:20:34 ERROR request failed method=GET path=/api/slow status=500 duration=2.5s err="context deadline exceeded"',
        "2024/05/16 10:20:35 WARN+2 disk space low free=3%",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].tolist()[:2] == [
        utc("2024-05-16T10:20:30"),
        utc("2024-05-16T10:20:31.123456"),
    ]
    assert kept["level"].tolist() == ["INFO", "INFO", "INFO", "ERROR", "WARNING"]
    assert kept["service"].isna().all()
    assert kept["message"].tolist() == [
        "listening on :8080",
        "server started",
        "request",
        "request failed",
        "disk space low",
    ]
    assert kept["endpoint"].tolist()[2:4] == ["/api/users/{id}", "/api/slow"]
    assert kept["status_code"].tolist()[2:4] == [200, 500]
    assert kept["latency_ms"].tolist()[2:4] == [1.234567, 2500.0]
    assert kept["client_ip"].iloc[2] == "203.0.113.7"
    assert kept["error_reason"].iloc[3] == "context deadline exceeded"
    assert attributes(events)[1] == {"addr": ":8080"}
    assert attributes(events)[4] == {"free": "3%"}
    # nginx's error log has the same date and a bracketed level: it stays nginx_error
    data = b"2024/05/26 11:42:52 [error] 31#31: *1 open() failed\n"
    assert registry.detect(data) == "nginx_error"


def test_grafanas_request_lines_read_their_size_and_a_negative_status_is_no_status():
    """Grafana's `Request Completed` lines: `size` is the bytes sent; `status=-1` (a request
    its handler took over, a websocket's) and `status=0` are no response sent, no status."""
    line = (
        "logger=context userId=1 orgId=1 uname=admin t=2026-10-20T10:20:3{n}.123Z level=info "
        'msg="Request Completed" method=GET path={path} status={status} remote_addr=172.18.0.1 '
        "time_ms=15 duration=15.123456ms size={size} handler={path}"
    )
    events = read(
        "logfmt",
        line.format(n=0, path="/api/dashboards/uid/abc", status=200, size=4211),
        line.format(n=1, path="/api/live/ws", status=-1, size=0),
        line.format(n=2, path="/api/live/ws", status=0, size=0),
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["endpoint"].tolist() == ["/api/dashboards/uid/abc", "/api/live/ws", "/api/live/ws"]
    assert kept["status_code"].tolist()[0] == 200
    assert kept["status_code"].iloc[1:].isna().all()
    assert kept["bytes_sent"].tolist() == [4211, 0, 0]
    assert kept["latency_ms"].tolist() == [15.123456] * 3


def test_a_unitless_latency_key_holding_no_duration_is_an_attribute():
    """Prometheus logs its retention as `duration=15d` and Loki the class of a query as
    `latency=fast`: under keys that name no unit, such values are no latency, and the line is
    kept with them as attributes (a key that names its unit still rejects a non-number)."""
    events = read(
        "logfmt",
        "ts=2026-11-01T10:00:00.123Z caller=main.go:539 level=info "
        'msg="No time or size retention was set so using the default time retention" '
        "duration=15d",
        "level=info ts=2026-11-01T10:00:03.6Z caller=metrics.go:159 component=querier "
        'latency=fast query_type=limited duration=12.345ms returned_lines=0 msg="query done"',
        "ts=2026-11-01T10:00:04Z level=info msg=done latency_ms=fast",
    )
    kept = events.events
    assert len(kept) == 2
    assert pd.isna(kept["latency_ms"].iloc[0])
    assert kept["latency_ms"].iloc[1] == 12.345  # the query's duration
    assert attributes(events)[0]["duration"] == "15d"
    assert attributes(events)[1]["latency"] == "fast"
    assert "latency_ms: 'fast' is not a duration" in events.rejects["reasons"].iloc[0]


def test_go_kit_logfmt_without_a_level_is_info_and_reads_took():
    events = read(
        "logfmt",
        "ts=2024-05-16T10:20:35.456789Z caller=main.go:60 msg=HTTP addr=:8080",
        "ts=2024-05-16T10:20:36Z caller=http.go:50 method=GET path=/api/items status=200 "
        "took=1.523ms err=null",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["level"].tolist() == ["INFO", "INFO"]
    assert pd.isna(kept["endpoint"].iloc[0]) and kept["endpoint"].iloc[1] == "/api/items"
    assert kept["latency_ms"].iloc[1] == 1.523
    assert pd.isna(kept["error_reason"].iloc[1])  # err=null: no error


def test_tyks_access_log_logrus_text_without_a_year():
    """Tyk's gateway writes logrus' text with `time="Mar 12 14:02:11"`: the year is the one that
    puts the time closest before the ingest time; latency_total is in milliseconds."""
    events = read(
        "logfmt",
        'time="Mar 12 14:02:11" level=info api_name="Pet Store" client_ip=203.0.113.10 '
        "latency_total=23 method=GET path=/pets prefix=access-log status=200",
        'time="Dec 31 23:59:59" level=info method=GET path=/pets status=200 latency_total=5',
        as_of=pd.Timestamp("2027-01-01T00:10:00Z"),
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].tolist() == [utc("2026-03-12T14:02:11"), utc("2026-12-31T23:59:59")]
    assert kept["latency_ms"].tolist() == [23.0, 5.0]
    assert kept["status_code"].tolist() == [200, 200]


@pytest.mark.parametrize(
    "line",
    [
        # go-chi/httplog (text)
        'time=2024-05-16T10:20:33.000Z level=WARN msg="Response: 404 Not Found" '
        "httpRequest.method=GET httpRequest.path=/nope httpRequest.remoteIP=127.0.0.1:55111 "
        "httpResponse.status=404 httpResponse.bytes=19 httpResponse.elapsed=0.031",
        # samber/slog-http (text)
        'time=2024-05-16T10:20:33.000Z level=WARN msg="404: Not Found" request.method=GET '
        "request.path=/nope request.ip=127.0.0.1 response.latency=31µs response.status=404 "
        "response.length=19",
        # gin-logrus
        'time="2024-05-16T10:20:33Z" level=warning msg="GET /nope" clientIP=127.0.0.1 '
        "dataLength=19 latency=0.031 method=GET path=/nope statusCode=404",
    ],
    ids=["httplog", "slog-http", "gin-logrus"],
)
def test_go_http_loggers_grouped_keys_in_logfmt(line):
    kept = read("logfmt", line).events.iloc[0]
    assert (kept["method"], kept["endpoint"], kept["status_code"]) == ("GET", "/nope", 404)
    assert (kept["bytes_sent"], kept["client_ip"]) == (19, "127.0.0.1")
    assert kept["latency_ms"] == pytest.approx(0.031)


RAILS = [
    'I, [2024-05-16T10:20:33.101234 #12345]  INFO -- : [a1b2] Started GET "/articles/42" for '
    "203.0.113.7 at 2024-05-16 10:20:33 +0000",
    'I, [2024-05-16T10:20:33.101300 #12345]  INFO -- : [c3d4] Started POST "/articles" for '
    "203.0.113.8 at 2024-05-16 10:20:33 +0000",
    "I, [2024-05-16T10:20:33.102345 #12345]  INFO -- : [a1b2] Processing by "
    "ArticlesController#show as HTML",
    "I, [2024-05-16T10:20:33.115678 #12345]  INFO -- : [c3d4] Completed 422 Unprocessable "
    "Entity in 9ms (Views: 4.0ms | ActiveRecord: 1.2ms | Allocations: 2222)",
    "I, [2024-05-16T10:20:33.115700 #12345]  INFO -- : [a1b2] Completed 200 OK in 14.5ms "
    "(Views: 6.1ms | ActiveRecord: 2.3ms | Allocations: 5678)",
    "W, [2024-05-16T10:20:34.000000 #12345]  WARN -- sidekiq: queue latency high",
]


def test_rails_production_log_completed_lines_are_requests_paired_by_their_tags():
    data = ("\n".join(RAILS) + "\n").encode()
    assert registry.detect(data) == "ruby"
    events = read("ruby", *RAILS)
    assert events.rejects.empty
    kept = events.events
    requests = kept[kept["endpoint"].notna()]
    # interleaved requests, each completed line with its own started line's method and path
    assert requests["endpoint"].tolist() == ["/articles", "/articles/{id}"]
    assert requests["method"].tolist() == ["POST", "GET"]
    assert requests["client_ip"].tolist() == ["203.0.113.8", "203.0.113.7"]
    assert requests["status_code"].tolist() == [422, 200]
    assert requests["latency_ms"].tolist() == [9.0, 14.5]
    assert kept["ts"].iloc[0] == utc("2024-05-16T10:20:33.101234")
    assert kept["message"].iloc[2] == "Processing by ArticlesController#show as HTML"
    assert attributes(events)[0] == {"pid": "12345", "tags": "[a1b2]"}
    assert kept["service"].tolist()[-1] == "sidekiq" and kept["level"].tolist()[-1] == "WARNING"
    assert len(kept) == 6  # the started lines stay, as events


PUMA_BOOT = [
    "=> Booting Puma",
    "=> Rails 7.1.3 application starting in production",
    "=> Run `bin/rails server --help` for more startup options",
    "Puma starting in single mode...",
    '* Puma version: 6.4.2 (ruby 3.3.0-p0) ("The Eagle of Durango")',
    "*  Min threads: 5",
    "*  Max threads: 5",
    "*  Environment: production",
    "*          PID: 1",
    "* Listening on http://0.0.0.0:3000",
    "Use Ctrl-C to stop",
]
"""What `rails server` (Puma) prints when it starts, before the log, as `docker logs` shows."""


def test_puma_start_up_lines_before_a_rails_log_are_no_requests():
    lines = [*PUMA_BOOT, *RAILS]
    assert registry.detect(("\n".join(lines) + "\n").encode()) == "ruby"
    events = read("ruby", *lines)
    assert len(events.events) == len(RAILS)
    assert len(events.rejects) == len(PUMA_BOOT)
    assert set(reason_codes(events.rejects["reasons"])) == {"not_a_request"}


def test_go_log_panics_are_joined_and_bracketed_levels_read():
    events = read(
        "golog",
        "2024/05/16 10:22:00 [INFO] consul: member joined",
        "2024/05/16 10:22:01 [ERR] agent: failed to sync",
        "2024/05/16 10:20:39 http: panic serving 10.0.0.9:40000: runtime error: index out of range",
        "goroutine 34 [running]:",
        "net/http.(*conn).serve.func1()",
        "\t/usr/local/go/src/net/http/server.go:1898 +0xbe",
        "created by net/http.(*Server).Serve in goroutine 1",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["level"].tolist() == ["INFO", "ERROR", "INFO"]
    assert kept["message"].tolist()[:2] == ["consul: member joined", "agent: failed to sync"]
    assert kept["message"].iloc[2].count("\n") == 4  # the stack trace joined to its event


def test_ruby_loggers_unknown_severity_is_info():
    events = read("ruby", "A, [2024-05-16T10:20:39.000000 #12345]   ANY -- : always logged")
    assert events.rejects.empty and events.events["level"].tolist() == ["INFO"]


def test_lograge_lines_in_rails_production_log_are_requests():
    events = read(
        "ruby",
        'I, [2024-05-16T10:20:33.101234 #1]  INFO -- : [a1] {"method":"GET","path":"/users",'
        '"format":"html","controller":"UsersController","action":"index","status":200,'
        '"duration":58.33,"view":40.43,"db":15.26}',
        "I, [2024-05-16T10:20:34.101234 #1]  INFO -- : [a2] method=POST path=/users format=json "
        "controller=UsersController action=create status=422 duration=1203.5 view=0.0 db=1.2",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["method"].tolist() == ["GET", "POST"]
    assert kept["endpoint"].tolist() == ["/users", "/users"]
    assert kept["status_code"].tolist() == [200, 422]
    assert kept["latency_ms"].tolist() == [58.33, 1203.5]  # lograge's duration: ms
    assert attributes(events)[1]["controller"] == "UsersController"


def test_monolog_lines_of_laravel_and_symfony():
    events = read(
        "monolog",
        '[2024-05-16 10:20:30] production.INFO: User logged in {"user_id":42} ',
        "[2024-05-16 10:20:33] production.ERROR: SQLSTATE[HY000] [2002] Connection refused "
        '{"exception":"[object] (PDOException(code: 2002): Connection refused at /var/www/x.php:70)',
        "[stacktrace]",
        "#0 /var/www/vendor/laravel/framework/src/Database/Connection.php(812): PDO->__construct()",
        "#1 {main}",
        '"} ',
        '[2024-05-16T10:20:30.123456+02:00] request.INFO: Matched route "app_user_show". '
        '{"route":"app_user_show"} []',
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["service"].tolist() == ["production", "production", "request"]
    assert kept["level"].tolist() == ["INFO", "ERROR", "INFO"]
    assert kept["ts"].iloc[2] == utc("2024-05-16T08:20:30.123456")
    assert kept["message"].iloc[1].count("\n") == 4  # the stack trace joined to its event


def test_nestjs_logger_lines():
    events = read(
        "nestjs",
        "[Nest] 12345  - 05/16/2024, 10:20:30 AM     LOG [NestFactory] Starting Nest application...",
        "[Nest] 12345  - 05/16/2024, 1:05:31 PM   ERROR [ExceptionsHandler] connect ECONNREFUSED",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].tolist() == [utc("2024-05-16T10:20:30"), utc("2024-05-16T13:05:31")]
    assert kept["level"].tolist() == ["INFO", "ERROR"]
    assert kept["service"].tolist() == ["NestFactory", "ExceptionsHandler"]


def test_sidekiq_lines_name_the_job_class_as_service():
    events = read(
        "sidekiq",
        "2024-05-16T10:20:28.101Z pid=12345 tid=2b4s INFO: Booted Rails 7.1.3 application",
        "2024-05-16T10:20:30.200Z pid=12345 tid=2b5t class=HardJob jid=b4a5 elapsed=1.2 INFO: done",
        "2024-05-16T10:20:31.000Z pid=12345 tid=2b5t class=HardJob jid=c6d7 ERROR: boom",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["service"].isna().tolist() == [True, False, False]
    assert kept["service"].tolist()[1:] == ["HardJob", "HardJob"]
    assert kept["level"].tolist() == ["INFO", "INFO", "ERROR"]
    assert attributes(events)[1]["jid"] == "b4a5"


def test_aws_lambda_text_logs_of_node_and_python_runtimes():
    """Lambda's own START/END/REPORT lines log no time: quarantined as no request, and they
    do not count against the format when it is detected."""
    lines = (
        "START RequestId: 6f1c2b7e-9d8a-4c5b-a3f2-e1d0c9b8a700 Version: $LATEST",
        "2024-05-16T10:20:30.125Z\t6f1c2b7e-9d8a-4c5b-a3f2-e1d0c9b8a700\tINFO\tfetching order 42",
        "[ERROR]\t2024-05-16T10:20:30.127Z\t6f1c2b7e-9d8a-4c5b-a3f2-e1d0c9b8a700\tKeyError: 'id'",
        "END RequestId: 6f1c2b7e-9d8a-4c5b-a3f2-e1d0c9b8a700",
        "REPORT RequestId: 6f1c2b7e-9d8a-4c5b-a3f2-e1d0c9b8a700\tDuration: 3.26 ms\tBilled "
        "Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB",
    )
    assert registry.detect(("\n".join(lines) + "\n").encode()) == "lambda"
    events = read("lambda", *lines)
    kept = events.events
    assert kept["ts"].tolist() == [utc("2024-05-16T10:20:30.125"), utc("2024-05-16T10:20:30.127")]
    assert kept["level"].tolist() == ["INFO", "ERROR"]
    assert kept["message"].tolist() == ["fetching order 42", "KeyError: 'id'"]
    assert [a["request_id"] for a in attributes(events)] == [
        "6f1c2b7e-9d8a-4c5b-a3f2-e1d0c9b8a700"
    ] * 2
    assert events.rejects["line_number"].tolist() == [1, 4, 5]
    assert set(reason_codes(events.rejects["reasons"])) == {"not_a_request"}


def test_celery_worker_lines_are_python_logging():
    events = read(
        "python",
        "[2024-05-16 10:20:28,101: INFO/MainProcess] Connected to redis://redis:6379/0",
        "[2024-05-16 10:20:31,002: ERROR/ForkPoolWorker-1] Task app.tasks.charge raised: Timeout",
    )
    assert events.rejects.empty
    kept = events.events
    assert kept["service"].tolist() == ["MainProcess", "ForkPoolWorker-1"]
    assert kept["level"].tolist() == ["INFO", "ERROR"]


def test_a_banner_before_the_log_is_quarantined_and_the_log_detected():
    data = (Path(__file__).parent / "fixtures" / "spring_boot3_banner.log").read_bytes()
    assert registry.detect(data) == "log4j"
    echo = (
        b"   ____    __\n  / __/___/ /  ___\n / _// __/ _ \\/ _ \\\n"
        b"High performance, minimalist Go web framework\nhttps://echo.labstack.com\n"
        b'{"time":"2024-05-16T10:20:30.123+02:00","remote_ip":"127.0.0.1","method":"GET",'
        b'"uri":"/","status":200,"latency":123456,"latency_human":"123.456\xc2\xb5s"}\n'
        b'{"time":"2024-05-16T10:20:31.123+02:00","remote_ip":"127.0.0.1","method":"GET",'
        b'"uri":"/x","status":404,"latency":23456,"latency_human":"23.456\xc2\xb5s"}\n'
    )
    assert registry.detect(echo) == "jsonl"
    # lines no format claims, with too few lines after them, are still no format
    with pytest.raises(FileFormatError, match="could not detect the format"):
        registry.detect(b"  ____\n / __/\n" + echo.splitlines(keepends=True)[-1])


def test_lines_with_a_time_of_day_and_no_date_say_so():
    data = (
        b"10:20:28.001 [info] Running MyAppWeb.Endpoint with Bandit 1.5.0 at 127.0.0.1:4000\n"
        b"10:20:30.123 request_id=F1a [info] GET /api/users\n"
        b"10:20:30.128 request_id=F1a [info] Sent 200 in 5ms\n"
    )
    with pytest.raises(FileFormatError, match="its lines log a time of day and no date"):
        registry.detect(data)


def test_tomcats_console_log_is_a_log4j_layout():
    """Tomcat's default console handler (JULI's OneLineFormatter): `dd-MMM-yyyy HH:mm:ss.SSS
    LEVEL [thread] class.method message`, as the official image prints it."""
    text = (
        b"26-May-2024 11:42:52.601 INFO [main] org.apache.catalina.startup.VersionLoggerListener"
        b".log Server version name:   Apache Tomcat/10.1.24\n"
        b"26-May-2024 11:42:54.512 WARNING [main] org.apache.catalina.util.SessionIdGeneratorBase"
        b".createSecureRandom Creation of SecureRandom instance took [212] milliseconds.\n"
        b"26-May-2024 11:42:54.630 INFO [main] org.apache.catalina.startup.Catalina.start Server "
        b"startup in [1510] milliseconds\n"
    )
    assert registry.detect(text) == "log4j"
    parsed = registry.parse(text, "log4j")
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["level"].tolist() == ["INFO", "WARNING", "INFO"]
    assert rows["service"].tolist()[2] == "org.apache.catalina.startup.Catalina.start"
    assert rows["message"].tolist()[2] == "Server startup in [1510] milliseconds"
    assert rows["ts"].tolist()[1] == pd.Timestamp("2024-05-26T11:42:54.512Z")
