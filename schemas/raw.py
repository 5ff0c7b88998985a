"""Raw record models: what a well-formed record of each log format holds once parsed into typed
candidate columns, before it becomes a canonical `requests` event.

Each model reads a parser's candidates (the columns of `Request` a format fills, typed as there,
plus the parser's `line_number` and `raw`): columns a format may leave out are optional, the
fields a format always carries are required and not null. Types are checked, not coerced.
"""

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.common import (
    LATENCY_MS_LIMIT,
    STATUS_CODE_MAX,
    STATUS_CODE_MIN,
    TIME_FLOOR,
    UtcTimestamp,
)
from schemas.dtypes import Text

SERVICE_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The levels a service-log line's level word is folded onto (WARN is WARNING, FATAL is
CRITICAL; syslog's notice is INFO, its crit, alert and emerg are CRITICAL)."""

NGINX_PREFIX = "nginx:"
"""Format names `nginx:<log_format template>` name custom nginx access logs."""
PATTERN_PREFIXES = ("pattern:", "log4j:")
"""Format names `pattern:<grok>` and `log4j:<conversion pattern>` name user-given layouts."""


# field specifications, one function per kind of column so each model gets its own instance ----
def _ts() -> Any:
    return pa.Field(ge=TIME_FLOOR, description="event time, UTC, microseconds")


def _status(*, nullable: bool) -> Any:
    return pa.Field(
        ge=STATUS_CODE_MIN,
        le=STATUS_CODE_MAX,
        nullable=nullable,
        description=f"HTTP status code ({STATUS_CODE_MIN}..{STATUS_CODE_MAX})",
    )


def _text(description: str, *, nullable: bool = True) -> Any:
    return pa.Field(nullable=nullable, description=description)


class RawRecord(pa.DataFrameModel):
    """Any parsed record: every column optional, and the rules that hold whatever the format.

    A valid record has a `ts` (when the column is there) from 1970-01-01 (its bounds of use,
    the `earliest_event` setting and the ingest time + 1 day, are checked when events are made
    canonical: models never read the clock); a `status_code`, where logged, in
    100..599; a `latency_ms`, where logged, from 0 up to (not including) one day; and a
    `bytes_sent`, where logged, of 0 or more. This is also the model of an nginx `log_format`
    template: what a template logs is the user's choice, so only its clock, if it has one,
    must be set on every line.
    """

    ts: Series[UtcTimestamp] | None = _ts()
    service: Series[Text] | None = _text("service that served the request or wrote the event")
    method: Series[Text] | None = _text("HTTP method, as logged")
    path: Series[Text] | None = _text("request path (and query) as logged")
    status_code: Series[pd.Int16Dtype] | None = _status(nullable=True)
    latency_ms: Series[float] | None = pa.Field(
        ge=0,
        lt=LATENCY_MS_LIMIT,
        nullable=True,
        description="response time, milliseconds (under one day)",
    )
    bytes_sent: Series[pd.Int64Dtype] | None = pa.Field(
        ge=0, nullable=True, description="response size, bytes"
    )
    user_id: Series[Text] | None = _text("user identifier")
    client_ip: Series[Text] | None = _text("client address (IPv4 or IPv6, no port)")
    region: Series[Text] | None = _text("region that served the request")
    device_type: Series[Text] | None = _text("client device type")
    error_reason: Series[Text] | None = _text("error reason, as logged")
    level: Series[Text] | None = _text("log level, upper case")
    message: Series[Text] | None = _text("log message, as logged")
    attributes: Series[Text] | None = _text(
        "fields the format logs beyond these columns, as a JSON object of string to string"
    )

    class Config:
        strict = False  # line_number and raw ride along
        coerce = False  # parsers type their columns; a wrong type is their bug, not the data's


class NginxTemplateRecord(RawRecord):
    """A line of an nginx access log written with a custom `log_format` template
    (`nginx:<template>`).

    Valid: the shared rules of `RawRecord`. Which columns exist depends on the template's
    variables; `ts` (from $msec, $time_iso8601 or $time_local) is required on every line when
    the template logs a time, and everything else may be "-".
    """


class DelimitedRecord(RawRecord):
    """A data line of a CSV or TSV file with a header (the built-in `api` and `document-api`
    layouts, or a configured column mapping).

    Valid: a `ts` and a `path` on every line (every layout and mapping must name both); any
    other mapped column may be empty or "-"; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    path: Series[Text] = _text("request path (and query) as logged", nullable=False)


class JsonLinesRecord(RawRecord):
    """One JSON object of a JSON-lines file (structured application or access logs).

    Valid: a `ts` on every line; the shared rules of `RawRecord`. `path` may be absent or null:
    a structured logger writes requests (with a path) and plain log events (with a level and a
    message) into the same file, and the canonical step requires one or the other.
    """

    ts: Series[UtcTimestamp] = _ts()


class AccessLogRecord(RawRecord):
    """A line of the Apache/nginx Common or Combined Log Format (optionally with timings).

    Valid: a `ts` (from `%t`), a `client_ip` (`%h`) and a `status_code` (`%>s`, 100..599) on
    every line, and a `path` column, which is null when the request line is not an HTTP request
    (`"-"` from a connection closed before sending one, or TLS handshake bytes sent to a plain
    HTTP port); `method`, `user_id`, `bytes_sent` and `latency_ms` may be "-"; the shared rules
    of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("client address (%h), as logged", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)
    path: Series[Text] = _text("request target from the request line; null when none")


class SslRequestRecord(RawRecord):
    """A line of Apache mod_ssl's request log (`[%t] %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r"
    %b`).

    Valid: a `ts` and a `client_ip` on every line, and a `path` column, null when the request
    line is not an HTTP request; it logs no status; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("client address (%h), as logged", nullable=False)
    path: Series[Text] = _text("request target from the request line; null when none")


class AlbRecord(RawRecord):
    """An AWS Application Load Balancer access log entry (any layout since 2016).

    Valid: a `ts` (`time`) and a `client_ip` (port dropped) on every entry, a `path` column
    (the request URL's path and query), null when the load balancer could not parse the
    request (`"- http://host:80- "`, answered with its own 400), and a `status_code` column
    (elb_status_code), null ("-") when the load balancer sent no response; `latency_ms` is
    null where a processing time is -1; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("client address, port dropped", nullable=False)
    path: Series[Text] = _text("request URL's path and query; null when none was parsed")
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class ElbRecord(RawRecord):
    """An AWS Classic Load Balancer access log entry (with or without the user agent and TLS
    fields).

    Valid: a `ts` (`timestamp`) and a `client_ip` (port dropped) on every entry, and `path` and
    `status_code` columns, both null for the entries of TCP/SSL listeners (request `- - - `,
    status "-"), which carry no HTTP request; `latency_ms` is null where a processing time is
    -1; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("client address, port dropped", nullable=False)
    path: Series[Text] = _text("request URL's path and query; null for TCP/SSL listeners")
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class W3cRecord(RawRecord):
    """A data line of a W3C extended log file (IIS, CloudFront, ...), read with the
    `#Fields:` line before it.

    Valid: a `ts` (`date` and `time`, UTC) on every line; `path` (cs-uri-stem and
    cs-uri-query), `status_code`, `client_ip`, `bytes_sent` and `latency_ms` (time-taken) are
    read where the fields name them and may be "-"; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()


class HaproxyRecord(RawRecord):
    """A HAProxy log line in the HTTP format (`option httplog`/`httpslog`) or the TCP format
    (`option tcplog`), with or without a syslog header.

    Valid: a `ts` (the date in brackets) and a `client_ip` (port dropped) on every line, and
    `path` and `status_code` columns: both null on TCP lines, which carry no HTTP request, `path`
    null for a request HAProxy could not read (`<BADREQ>`) and `status_code` null for `-1` (no
    response); `latency_ms` is null where the last timer is -1; the shared rules of
    `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("client address, port dropped", nullable=False)
    path: Series[Text] = _text("request path and query; null for TCP lines")
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class UwsgiRecord(RawRecord):
    """A uWSGI request log line (its default log format).

    Valid: a `ts` (the request's start) and a `status_code` on every line, and a `path` column,
    null when uWSGI logged its minimal line (`- -` for a request too long to log); `client_ip`
    may be empty (a request over a unix socket); the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)
    path: Series[Text] = _text("request URI (path and query) as logged; null when not logged")


class HerokuRecord(RawRecord):
    """A line of Heroku's router log (`at=info method=GET path="/" ... status=200`).

    Valid: a `ts` and a `status_code` on every line and a `path` column, null where the router
    closed a connection that sent no request (H15); `client_ip` (the first address of `fwd`)
    and `latency_ms` (`service`, empty when the app crashed) may be null; the shared rules of
    `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)
    path: Series[Text] = _text("request path and query as the router logged it; null for H15")


class SquidRecord(RawRecord):
    """A line of Squid's native access log (`logformat squid`).

    Valid: a `ts` and a `client_ip` on every line; `method` and `path` (the URL) columns,
    null where Squid logged no request (`error:invalid-request` …); a `status_code` column,
    null for status 000 (no reply was sent); the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("the client's address", nullable=False)
    method: Series[Text] = _text("request method; null where no request was logged")
    path: Series[Text] = _text("the URL as requested (host:port for CONNECT); null for error:…")
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class GinRecord(RawRecord):
    """A line of Gin's default request log.

    Valid: a `ts`, a `status_code`, a `method` and a `path` on every line; `client_ip` may be
    empty; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)
    method: Series[Text] = _text("request method", nullable=False)
    path: Series[Text] = _text("request path and query as logged", nullable=False)


class NpmRecord(RawRecord):
    """A line of Nginx Proxy Manager's access logs (its `proxy` and `standard` log formats).

    Valid: a `ts` and a `status_code` on every line, and a `path` column, null where nginx
    read no request (`"-"`, a 400 to a connection that sent none); the shared rules of
    `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)
    path: Series[Text] = _text("request URI ($request_uri) as logged", nullable=True)


class PhpFpmRecord(RawRecord):
    """A line of PHP-FPM's access log.

    Valid: a `ts`, a `method`, a `path` and a `status_code` on every line; the shared rules
    of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    method: Series[Text] = _text("request method", nullable=False)
    path: Series[Text] = _text("the request URI as FPM got it", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)


class S3Record(RawRecord):
    """A line of Amazon S3's server access log.

    Valid: a `ts` and a `client_ip` on every line; `path` and `status_code` columns, null on
    S3's own operations (lifecycle), which log no request; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    client_ip: Series[Text] = _text("the requester's IP address", nullable=False)
    path: Series[Text] = _text("request URI (path and query); null on S3's own operations")
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class AzureStorageRecord(RawRecord):
    """A line of Azure Storage Analytics logging (classic Blob, Queue and Table logs).

    Valid: a `ts`, a `path` (the request URL) and a `status_code` on every line; the shared
    rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    path: Series[Text] = _text("request URL as logged", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)


class IisRecord(RawRecord):
    """A line of IIS's own log file format (comma-separated).

    Valid: a `ts`, a `method` and a `path` on every line; `status_code` null where IIS sent
    no HTTP response (0); the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    method: Series[Text] = _text("request method", nullable=False)
    path: Series[Text] = _text("target and parameters as logged", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class ZeekRecord(RawRecord):
    """A line of Zeek's (Bro's) http.log, read with the `#fields` line before it.

    Valid: a `ts` (epoch seconds, UTC) on every line; `path` (`uri`), `method`, `status_code`
    and `client_ip` (`id.orig_h`) where the fields name them, null where Zeek left them
    unset (`-`: a request it saw no response to has no status); the shared rules of
    `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()


class UvicornRecord(RawRecord):
    """A uvicorn access line behind a container runtime's time.

    Valid: a `ts`, a `method`, a `path` and a `status_code` on every line; the shared rules
    of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    method: Series[Text] = _text("request method", nullable=False)
    path: Series[Text] = _text("request path and query", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)


class MorganRecord(RawRecord):
    """A morgan (Express) dev, short or tiny request line behind a container runtime's time.

    Valid: a `ts`, a `method` and a `path` on every line; `status_code` null where no
    response was sent (morgan's `-`), `bytes_sent` where no Content-Length was (`-`); the
    shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    method: Series[Text] = _text("request method", nullable=False)
    path: Series[Text] = _text("request URL as logged", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class DevServerRecord(RawRecord):
    """A request line of Werkzeug's or Django's development server.

    Valid: a `ts`, a `method`, a `path` and a `status_code` on every line; `client_ip` (only
    Werkzeug logs it) and `bytes_sent` (Werkzeug's `-`) may be null; the shared rules of
    `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    method: Series[Text] = _text("request method", nullable=False)
    path: Series[Text] = _text("request path and query", nullable=False)
    status_code: Series[pd.Int16Dtype] = _status(nullable=False)


class EnvoyRecord(RawRecord):
    """A line of Envoy's default access log format (or Istio's default proxy format).

    Valid: a `ts` (START_TIME) on every line, and `path` and `status_code` columns: both null
    on TCP proxy lines (`"- - -"`), `status_code` null for a response code of 0 (no response
    was sent); `client_ip` is null when neither X-Forwarded-For nor (Istio) the downstream
    remote address was logged; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    path: Series[Text] = _text("request path (and query); null for TCP proxy lines")
    status_code: Series[pd.Int16Dtype] = _status(nullable=True)


class CaddyRecord(RawRecord):
    """One JSON object of Caddy's log: an access log entry, or one of Caddy's own entries in
    the same output (a level and a message).

    Valid: a `ts` on every line; `status_code` null for 0 (no response was sent); the shared
    rules of `RawRecord`. The canonical step requires a path or a level of every record.
    """

    ts: Series[UtcTimestamp] = _ts()


class TraefikRecord(RawRecord):
    """One entry of Traefik's access log, JSON or its Common-like text format (or one of
    Traefik's own entries in the same output).

    Valid: a `ts` on every line (StartUTC, or the text line's time); `status_code` null for
    0 (no response was sent); the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()


class ServiceLogRecord(RawRecord):
    """An application log event (`<timestamp> <LEVEL> <service> <message> [key=value ...]`,
    with any stack trace lines that follow it).

    Valid: a `ts`, a `level` (one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL) and a
    `message` on every event, a `service` where one is logged (else the event's service is
    `unknown`); request fields read from key=value pairs (`path`,
    `status_code`, `latency_ms`, ...) may be absent; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    level: Series[Text] = pa.Field(
        isin=list(SERVICE_LOG_LEVELS), description="log level, folded onto SERVICE_LOG_LEVELS"
    )
    service: Series[Text] = _text("service: the word after the level, where one is logged")
    message: Series[Text] = _text("message text, with any stack trace lines", nullable=False)


def _level() -> Any:
    return pa.Field(
        isin=list(SERVICE_LOG_LEVELS), description="log level, folded onto SERVICE_LOG_LEVELS"
    )


class LayoutRecord(RawRecord):
    """An event of a log layout (log4j, syslog, ...): one log line with any continuation lines
    (stack traces) after it.

    Valid: a `ts` and a `level` (one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL) on every
    event, and a `service` where the layout always names one; `message` may be empty; the
    layout's other fields are attributes; the shared rules of `RawRecord`.
    """

    ts: Series[UtcTimestamp] = _ts()
    level: Series[Text] = _level()
    service: Series[Text] = _text("service: the layout's logger, tag or program", nullable=False)


class Log4jRecord(LayoutRecord):
    """A log4j/logback pattern layout event (`%d %p [%t] %c: %m` and its family): the service
    is the logger (`%c`), the thread an attribute. Valid: as `LayoutRecord`."""


class PythonLogRecord(LayoutRecord):
    """A Python `logging` event: the service is the logger name; a line of the default format
    (`LEVEL:name:message`) has no time and is quarantined for it. Valid: as `LayoutRecord`."""


class SyslogRecord(LayoutRecord):
    """A syslog line (RFC 3164): the service is the tag; the level the PRI's severity, a level
    word opening the message, else INFO; the year, not logged, inferred from the ingest time. Valid: as `LayoutRecord`."""


class Syslog5424Record(LayoutRecord):
    """A syslog message (RFC 5424): the service is the APP-NAME ('-' is none); the level the
    PRI's severity. Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("APP-NAME; null when '-'")


class JournaldRecord(LayoutRecord):
    """A systemd journal entry (`journalctl -o json`): the service is SYSLOG_IDENTIFIER, _COMM
    or _SYSTEMD_UNIT when the entry has one; the level PRIORITY, else INFO. Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("SYSLOG_IDENTIFIER, else _COMM, else _SYSTEMD_UNIT")


class KlogRecord(LayoutRecord):
    """A klog/glog line: the service is the source file that logged; the year inferred. Valid: as `LayoutRecord`."""


class LogfmtRecord(LayoutRecord):
    """A logfmt line (logrus text, go-kit): a time key on every line, and a level key (INFO
    where none is logged); the service is the first of logger, service, component, app, name
    when given. Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("logger, service, component, app or name key, when given")


class GologRecord(LayoutRecord):
    """A line of Go's standard `log` (or of `log/slog`'s default handler, which adds a level
    and key=value attributes): no service; a line without a level is INFO. Valid: as
    `LayoutRecord`."""

    service: Series[Text] = _text("never logged: null")


class RubyRecord(LayoutRecord):
    """A line of Ruby's Logger (Rails' production.log): the service is the progname, when
    logged; a Rails `Completed` line carries the request's status and duration, and the
    method, path and client of its `Started` line. Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("the logger's progname, when given")


class MonologRecord(LayoutRecord):
    """A line of Monolog's line format (Laravel, Symfony): the service is the channel. Valid:
    as `LayoutRecord`."""

    service: Series[Text] = _text("Monolog's channel")


class NestRecord(LayoutRecord):
    """A line of NestJS's logger: the service is its context, when logged. Valid: as
    `LayoutRecord`."""

    service: Series[Text] = _text("the logger's context, when given")


class SidekiqRecord(LayoutRecord):
    """A line of Sidekiq's log: the service is the job's class, when the line runs a job.
    Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("the job's class, when logged")


class LambdaRecord(LayoutRecord):
    """A line of an AWS Lambda function's text log: it names no service (the function's name
    is the log group's, not the line's). Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("not logged")


class ZapRecord(LayoutRecord):
    """A zap console line: the service is the logger name, else the caller's file. Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("logger name, else the caller's file, when logged")


class LogcatRecord(LayoutRecord):
    """An Android logcat threadtime line: the service is the tag; the year inferred. Valid: as `LayoutRecord`."""


class ApacheErrorRecord(LayoutRecord):
    """An Apache httpd error log line (2.2 or 2.4): the service is httpd. Valid: as `LayoutRecord`."""


class NginxErrorRecord(LayoutRecord):
    """An nginx error log line: the service is nginx. Valid: as `LayoutRecord`."""


class PatternRecord(LayoutRecord):
    """An event read by a user-given grok or log4j pattern: a `ts` on every event, a `level`
    (INFO when the pattern names none); a service only where the pattern names one. Valid: as `LayoutRecord`."""

    service: Series[Text] = _text("the pattern's service part, when it has one")


RAW_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "csv": DelimitedRecord,
    "tsv": DelimitedRecord,
    "jsonl": JsonLinesRecord,
    "common": AccessLogRecord,
    "combined": AccessLogRecord,
    "apache_ssl": SslRequestRecord,
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
    "azure_storage": AzureStorageRecord,
    "iis": IisRecord,
    "zeek": ZeekRecord,
    "uvicorn": UvicornRecord,
    "morgan": MorganRecord,
    "devserver": DevServerRecord,
    "envoy": EnvoyRecord,
    "caddy": CaddyRecord,
    "traefik": TraefikRecord,
    "npm": NpmRecord,
    "servicelog": ServiceLogRecord,
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
    "cri": ServiceLogRecord,  # its events are checked as servicelog events
    "golog": GologRecord,
    "ruby": RubyRecord,
    "logcat": LogcatRecord,
    "apache_error": ApacheErrorRecord,
    "nginx_error": NginxErrorRecord,
}
"""The raw model of each named format; `raw_model` also knows nginx templates."""


def raw_model(format_name: str) -> type[pa.DataFrameModel]:
    """The raw model of a format: one of `RAW_MODELS`, or `NginxTemplateRecord` for
    `nginx:<template>`; an unknown name raises KeyError."""
    if format_name.startswith(NGINX_PREFIX):
        return NginxTemplateRecord
    if format_name.startswith(PATTERN_PREFIXES):
        return PatternRecord
    try:
        return RAW_MODELS[format_name]
    except KeyError:
        raise KeyError(
            f"no raw model for format '{format_name}'; expected one of "
            f"{', '.join(RAW_MODELS)}, {NGINX_PREFIX}<log_format> or "
            f"{PATTERN_PREFIXES[0]}<grok>"
        ) from None
