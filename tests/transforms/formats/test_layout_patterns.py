"""User-given layouts (grok `pattern:` and log4j `log4j:` formats) and the year of layouts that
log none, inferred from the ingest time."""

import pandas as pd
import pytest

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.layouts import log4j_to_grok
from transforms.formats.layouts.grok import compile_pattern
from transforms.formats.layouts.years import with_year

GROK = "pattern:%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{DATA:service}: %{GREEDYDATA:message}"
AS_OF = pd.Timestamp("2026-11-02T12:00:00Z")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def read(fmt: str, *lines: str, as_of=AS_OF):
    parsed = registry.parse(("\n".join(lines) + "\n").encode(), fmt, as_of=as_of)
    events = canonical_events(parsed, source="t", as_of=as_of)
    assert parsed.records_read == len(events.events) + len(events.rejects)
    return events


# grok -----------------------------------------------------------------------------------------
def test_a_grok_pattern_reads_named_parts_into_the_event_and_the_rest_into_attributes():
    events = read(
        "pattern:%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} \\[%{DATA:thread}\\] "
        "%{NOTSPACE:logger} %{IP:client} %{NUMBER:took}ms %{GREEDYDATA:msg}",
        "2026-11-01 10:00:00,250 WARN [main: 1] shop.Cart 10.0.0.7 35ms slow cart",
    )
    row = events.events.iloc[0]
    assert (row["ts"], row["level"], row["service"], row["message"]) == (
        utc("2026-11-01 10:00:00.25"), "WARNING", "shop.Cart", "slow cart"
    )  # fmt: skip
    assert row["attributes"] == '{"thread":"main: 1","client":"10.0.0.7","took":"35"}'


def test_a_mismatch_names_the_pattern_element_and_its_column():
    events = read(GROK, "2026-11-01 10:00:00 INFO a: ok", "2026-11-01 10:00:00 LOUD a: ok")
    assert len(events.events) == 1
    assert events.rejects["reasons"].iloc[0] == (
        "line 2: does not match the pattern: expected %{LOGLEVEL:level} at column 21 "
        "(found 'LOUD a: ok')"
    )


def test_a_time_format_option_and_the_year_of_a_format_without_one():
    events = read(
        "pattern:\\[%{DATA:ts:%m.%d %H:%M:%S}\\] %{DATA:service} - %{GREEDYDATA:message}",
        "[12.31 23:59:59] chrome.exe - open",
        "[11.02 11:00:00] chrome.exe - close",
    )
    assert events.events["ts"].tolist() == [utc("2025-12-31 23:59:59"), utc("2026-11-02 11:00")]
    assert (events.events["level"] == "INFO").all()  # the documented default without a level


def test_pattern_errors_are_one_sentence():
    with pytest.raises(FileFormatError, match=r"unknown grok pattern %\{NOPE\}"):
        registry.get("pattern:%{NOPE:ts}")
    with pytest.raises(FileFormatError, match="names no time"):
        registry.get("pattern:%{GREEDYDATA:message}")


def test_base_patterns_match_what_logstash_documents():
    assert compile_pattern("%{SYSLOGTIMESTAMP:t}").match("Jun  4 01:02:03")
    assert compile_pattern("%{HTTPDATE:t}").match("10/Oct/2000:13:55:36 -0700")
    assert compile_pattern("%{IP:a}").match("2001:db8::1")
    assert compile_pattern("%{IP:a}").match("192.168.0.1")
    assert not compile_pattern("%{IPV4:a}").match("192.168.0.256")
    assert compile_pattern("%{UUID:u}").match("123e4567-e89b-12d3-a456-426614174000")


# log4j conversion patterns ----------------------------------------------------------------------
def test_a_log4j_conversion_pattern_is_read_as_the_user_wrote_it():
    fmt = "log4j:%d{ISO8601} %-5p [%t] %c - %m%n"
    events = read(
        fmt,
        "2026-11-01 10:00:00,123 INFO  [pool-1: worker] com.shop.App - started",
        "2026-11-01 10:00:01,000 ERROR [main] com.shop.App - failed",
        "\tat com.shop.App.main(App.java:3)",
    )
    frame = events.events
    assert frame["level"].tolist() == ["INFO", "ERROR"]
    assert frame["service"].tolist() == ["com.shop.App", "com.shop.App"]
    assert frame["ts"].iloc[0] == utc("2026-11-01 10:00:00.123")
    assert frame["message"].iloc[1].endswith("(App.java:3)")
    grok, time_format = log4j_to_grok("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %p %m")
    assert time_format == "%Y-%m-%dT%H:%M:%S.%f%z"


# years ----------------------------------------------------------------------------------------
def test_a_dec_31_line_ingested_on_jan_1_belongs_to_the_year_before():
    times = pd.Series(["Dec 31 23:59:59", "Jan  1 00:00:05"])
    got = with_year(times.str.replace(r"\s+", " ", regex=True), "%b %d %H:%M:%S",
                    pd.Timestamp("2027-01-01T00:10:00Z"))  # fmt: skip
    assert got.tolist() == [utc("2026-12-31 23:59:59"), utc("2027-01-01 00:00:05")]


def test_no_inferred_time_is_in_the_future():
    as_of = pd.Timestamp("2026-06-15T12:00:00Z")
    times = pd.Series(["06 16 11:00:00", "06 16 13:00:00", "12 01 00:00:00", "02 29 10:00:00"])
    got = with_year(times, "%m %d %H:%M:%S", as_of)
    # within the canonical step's one day of clock skew: this year; beyond it: the year before;
    # Feb 29: the last leap year
    assert got.tolist() == [
        utc("2026-06-16 11:00"), utc("2025-06-16 13:00"), utc("2025-12-01"), utc("2024-02-29 10:00")
    ]  # fmt: skip
    assert (got <= as_of + pd.Timedelta(days=1)).all()


def test_syslog_years_follow_the_ingest_time_through_the_flow_option():
    lines = ["Dec 31 23:59:59 host cron[1]: last", "Jan  1 00:00:01 host cron[1]: first"]
    events = read("syslog", *lines, as_of=pd.Timestamp("2027-01-01T00:05:00Z"))
    assert events.events["ts"].tolist() == [utc("2026-12-31 23:59:59"), utc("2027-01-01 00:00:01")]


# PostgreSQL's secondary fields -----------------------------------------------------------------
# log_line_prefix '%m [%p] ' (the default since PostgreSQL 10) and Debian's
# '%m [%p] %q%u@%d '; with log_error_verbosity = verbose a report has a LOCATION line too.
POSTGRES = (
    "pattern:%{TIMESTAMP_ISO8601:ts} %{WORD:timezone} \\[%{DATA:pid}\\] "
    "(?:%{DATA:user}@%{DATA:database} )?%{WORD:level}:\\s+%{GREEDYDATA:message}"
)


def test_postgresql_detail_hint_and_statement_lines_join_the_report_they_belong_to():
    events = read(
        POSTGRES,
        '2024-05-01 10:00:00.123 UTC [4321] app@shop ERROR:  duplicate key value violates unique constraint "users_pkey"',
        "2024-05-01 10:00:00.123 UTC [4321] app@shop DETAIL:  Key (id)=(1) already exists.",
        "2024-05-01 10:00:00.123 UTC [4321] app@shop STATEMENT:  INSERT INTO users VALUES (1);",
        "2024-05-01 10:00:01.500 UTC [77] LOG:  checkpoints are occurring too frequently (9 seconds apart)",
        '2024-05-01 10:00:01.500 UTC [77] HINT:  Consider increasing the configuration parameter "max_wal_size".',
        "2024-05-01 10:00:02.000 UTC [78] WARNING:  there is no transaction in progress",
        "2024-05-01 10:00:02.000 UTC [78] CONTEXT:  PL/pgSQL function f() line 3 at SQL statement",
        "2024-05-01 10:00:02.000 UTC [78] QUERY:  SELECT 1",
        "2024-05-01 10:00:02.000 UTC [78] LOCATION:  exec_stmt_raise, pl_exec.c:3907",
    )
    assert events.rejects.empty
    rows = events.events
    assert rows["line_number"].tolist() == [1, 4, 6]
    assert rows["level"].tolist() == ["ERROR", "INFO", "WARNING"]
    assert rows["message"].tolist() == [
        'duplicate key value violates unique constraint "users_pkey"\n'
        "DETAIL:  Key (id)=(1) already exists.\n"
        "STATEMENT:  INSERT INTO users VALUES (1);",
        "checkpoints are occurring too frequently (9 seconds apart)\n"
        'HINT:  Consider increasing the configuration parameter "max_wal_size".',
        "there is no transaction in progress\n"
        "CONTEXT:  PL/pgSQL function f() line 3 at SQL statement\n"
        "QUERY:  SELECT 1\n"
        "LOCATION:  exec_stmt_raise, pl_exec.c:3907",
    ]


def test_a_secondary_line_with_no_report_before_it_is_quarantined_with_why():
    events = read(
        POSTGRES,
        "2024-05-01 10:00:00.123 UTC [4321] HINT:  Consider a cast.",
        "2024-05-01 10:00:01.000 UTC [4321] LOG:  ok",
    )
    assert events.events["line_number"].tolist() == [2]
    (reason,) = events.rejects["reasons"]
    assert reason.startswith(
        "line 1: a HINT line belongs to the message before it, and there is none"
    )
