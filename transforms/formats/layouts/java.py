"""log4j and logback pattern layouts, the `%d %p [%t] %c: %m` family, as events:

    2015-10-18 18:04:11,034 ERROR [RMCommunicator Allocator] org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator: ERROR IN CONTACTING RM.

The service is the logger (`%c`) as logged, in full: it names the class or category, and a
shortened name would merge loggers of different packages. The thread (`%t`, which may hold
spaces, colons and brackets) is kept as the attribute `thread`. The layouts read: `%d %p [%t]
%c: %m` (or ` - %m`), `%d [%t] %p %c - %m` (logback), `%d %p %c: %m` (where %c has a capitalised
part, as Java class names do: `payments.api: ...` is a service log's), `%d %t %p %c: %m` (a
numeric thread), `%d - %p [%t:%C{1}@%L] - %m` (ZooKeeper), `[%d] %p %m (%c)` (Kafka) and
Spring Boot's console layout (`%d %5p PID --- [app] [thread] logger : %m`, the pid and the
application kept as attributes, the logger as the service) and Tomcat's console (JULI's
OneLineFormatter, `26-May-2024 11:42:52.601 INFO [main] org.apache.catalina.startup.Catalina.start
Server startup in [1021] milliseconds`, the class and method as the service); `%d`
is ISO 8601 (`,` or `.` before the milliseconds), `yy/MM/dd HH:mm:ss` or `yyMMdd HHmmss`."""

from __future__ import annotations

import re

from transforms.formats.layouts.core import Layout, strptime_time

LEVEL = (
    r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|FINE|FINER|FINEST|CONFIG)"
)
TIME = (
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?(?:Z| ?[+-]\d{2}:?\d{2})?"
    r"|\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[,.]\d{1,3})?"
    r"|\d{6} \d{6}"
)
LOGGER = r"[A-Za-z_$][\w$.\-]*"
CLASS = r"(?:[A-Za-z_$][\w$]*\.)*[A-Z][\w$]*(?:\.[A-Za-z_$][\w$]*)*"
"""A category with a capitalised part: a Java class (`storage.BlockManager`) or a logger named
after one (`Remoting`, `Configuration.deprecation`)."""
_END = r"(?::\s+|\s+-\s+|:?$)"
TOMCAT_TIME = r"\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2}(?:\.\d{1,3})?"
HEADER = re.compile(
    # Tomcat's console (JULI's OneLineFormatter): dd-MMM-yyyy HH:mm:ss.SSS LEVEL [thread]
    # class.method message
    rf"(?:(?P<ts__t>{TOMCAT_TIME})\s+(?P<level__t>{LEVEL})\s+\[(?P<thread__t>[^\]]*)\]\s+"
    rf"(?P<service__t>{LOGGER})\s+"
    rf"|\[?(?P<ts>{TIME})\]?\s+(?:"
    # %d %p [%t] %c: %m
    rf"(?P<level>{LEVEL})\s+\[(?P<thread>.*?)\]\s+(?P<service>{LOGGER}){_END}"
    # %d [%t] %p %c - %m (logback)
    rf"|\[(?P<thread__b>.*?)\]\s+(?P<level__b>{LEVEL})\s+(?P<service__b>{LOGGER}){_END}"
    # %d %p %c: %m, the category with a capitalised part (CLASS): a lower-case word there is
    # a service log's service, read by `servicelog` with its key=value pairs
    rf"|(?P<level__c>{LEVEL})\s+(?P<service__c>{CLASS}){_END}"
    # %d %t %p %c: %m (numeric thread)
    rf"|(?P<thread__d>\d+)\s+(?P<level__d>{LEVEL})\s+(?P<service__d>{LOGGER}){_END}"
    # %d - %p [%t:%C{{1}}@%L] - %m (ZooKeeper)
    rf"|-\s+(?P<level__e>{LEVEL})\s+\[(?P<thread__e>.*):(?P<service__e>[\w$.]+)@(?P<line>\d+)\]"
    r"\s+-\s+"
    # Spring Boot's console: %d %5p PID --- [app] [%15.15t] %-40.40logger{39} : %m
    rf"|(?P<level__g>{LEVEL})\s+(?P<pid>\d+)\s+---\s+(?:\[(?P<application>[^\]]*)\]\s+)?"
    r"\[\s*(?P<thread__g>[^\]]*?)\]\s+(?P<service__g>\S+)\s+:\s"
    # [%d] %p %m (%c) (Kafka)
    rf"|(?P<level__f>{LEVEL})\s+(?=.*\((?P<service__f>{LOGGER})\)$)"
    r"))(?P<message>.*)$",
    re.DOTALL,
)

log4j_time = strptime_time(
    "ISO8601",
    "%y/%m/%d %H:%M:%S",
    "%y/%m/%d %H:%M:%S.%f",
    "%y%m%d %H%M%S",
    "%d-%b-%Y %H:%M:%S.%f",  # Tomcat's
    "%d-%b-%Y %H:%M:%S",
)

LOG4J = Layout(
    "log4j",
    HEADER,
    log4j_time,
    "'<date> <LEVEL> [<thread>] <logger>: <message>' (a log4j/logback pattern layout)",
    time_what="a timestamp (ISO 8601, yy/MM/dd HH:mm:ss, yyMMdd HHmmss or dd-MMM-yyyy HH:mm:ss)",
)

FORMATS = [
    LOG4J.format("log4j/logback pattern layouts: <date> <LEVEL> [<thread>] <logger>: <message>")
]
