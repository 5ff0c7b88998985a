"""Which key each canonical column is read from (default keys or a mapping), and how its
values convert to the column's type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.base import (
    CANDIDATE_TYPES,
    EPOCH_UNITS,
    REQUEST_LINE,
    Converter,
    FileFormatError,
    as_int,
    as_text,
    as_timestamp,
    iso_fast,
    loose_times,
)
from transforms.formats.jsonl.objects import column_from, getter, values_at
from transforms.formats.layouts.levels import syslog_severity
from transforms.formats.servicelog import LEVELS, as_duration_ms, as_level

LATENCY_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "ns": 0.000_001}
TIME_UNITS = ("s", "ms", "us", "ns")
NUMERIC = frozenset({"ts", "latency_ms", "status_code", "bytes_sent"})
"""Columns whose JSON numbers are converted as numbers, not through text."""
SAMPLE = 1000
"""Records looked at to choose each column's key."""


@dataclass(frozen=True)
class JsonField:
    """Where a canonical column comes from in each object: a key, or a dotted path into nested
    objects (a literal key containing the dots is tried first), and a unit. For latency_ms the
    unit of bare numbers: ms (default), s, us or ns (strings like '250ms' carry their own). For
    ts: 'auto' (default: ISO 8601, or epoch seconds/ms/us/ns by magnitude), an epoch unit (s,
    ms, us, ns) or a strptime format."""

    path: str
    unit: str | None = None


JsonMapping = Mapping[str, "str | JsonField"]


def key_options(*paths: str, unit: str | None = None) -> tuple[JsonField, ...]:
    return tuple(JsonField(p, unit) for p in paths)


REQUEST = "request"
"""The unit of a key that holds a whole request line (`GET /path HTTP/1.1`, nginx's
`$request`): method and path are read from it."""
ENVOY_KEYS = frozenset({"response_flags", "upstream_service_time", "upstream_host"})
"""Keys only Envoy's JSON access log has (its command operators in lower case): there,
`duration` is in milliseconds (elsewhere, Caddy's for one, seconds)."""
CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"
"""nginx's `$time_local` (and API Gateway's `$context.requestTime`): 26/May/2024:13:42:52 +0200."""

DEFAULT_KEYS: dict[str, tuple[JsonField, ...]] = {
    "ts": (
        *key_options("timestamp", "time", "@timestamp", "ts", "StartUTC"),
        *key_options("timeMillis", unit="ms"),  # log4j2's JsonLayout (Logstash)
        *key_options("time_iso8601", "start_time"),  # nginx, Envoy and Istio
        *key_options("time_local", "requestTime", unit=CLF_TIME),  # nginx, API Gateway
        *key_options("@t", "Timestamp"),  # Serilog (compact, classic)
        *key_options("started_at"),  # Kong (epoch ms)
        *key_options("EdgeStartTimestamp"),  # Cloudflare Logpush
        *key_options("asctime"),  # python-json-logger
        *key_options("datetime"),  # PHP's Monolog (Laravel, Symfony)
        *key_options("timeStamp"),  # Azure Application Gateway
        *key_options("requestReceivedTimestamp"),  # Kubernetes' audit log
        *key_options("date"),  # log4net's JSON layouts
        *key_options("reqTimeSec"),  # Akamai DataStream 2 (epoch seconds, as text)
        *key_options("TimeGenerated"),  # Azure Monitor's tables (AppServiceHTTPLogs)
    ),
    "service": key_options(
        "service",
        "service.name",
        "app",
        "component",
        "loggerName",
        "SourceContext",  # Serilog
        "_log_logger",  # Spring Boot's GELF
        "logger_name",  # logstash-logback-encoder
        "logger",  # NLog
        "Category",  # .NET's JSON console formatter
        "@module",  # HashiCorp's hclog (Vault, Consul, Nomad) in JSON
    ),
    "method": (
        *key_options(
            "method",
            "http.method",
            "request.method",
            "req.method",
            "http.request.method",
            "RequestMethod",
            "request_method",  # nginx
            "httpMethod",  # API Gateway
            "httpRequest.requestMethod",  # Google Cloud's LogEntry
            "properties.httpMethod",  # Azure Front Door
            "meta.req.method",  # express-winston
            "ClientRequestMethod",  # Cloudflare Logpush
            "httpRequest.method",  # go-chi/httplog
            "State.Method",  # ASP.NET Core's HTTP logging, .NET's JSON console formatter
            "proxy.method",  # Vercel's log drains
            "http.http_method",  # Suricata's eve.json
            "span.method",  # Rust's tower-http
            "reqMethod",  # Akamai DataStream 2
            "CsMethod",  # Azure Monitor's AppServiceHTTPLogs
            "properties.method",  # Azure API Management's GatewayLogs
            "httpRequest.httpMethod",  # AWS WAF
            "protoPayload.method",  # App Engine's request log
        ),
        *key_options(REQUEST, unit=REQUEST),  # nginx's "$request"
        *key_options("routeKey", unit=REQUEST),  # API Gateway's HTTP APIs: "GET /pets/{petId}"
        *key_options("request_line", unit=REQUEST),  # NGINX Unit
    ),
    "path": (
        *key_options(
            "path",
            "endpoint",
            "url",
            "request.path",
            "uri",
            "request.uri",  # Caddy, Kong, APISIX (which log the whole URL as request.url)
            "request.url",
            "req.url",
            "url.path",
            "RequestPath",  # Traefik
            "request_uri",  # nginx
            "resourcePath",  # API Gateway (the resource's template)
            "httpRequest.requestUrl",  # Google Cloud's LogEntry
            "properties.requestUri",  # Azure Front Door
            "meta.req.originalUrl",  # express-winston
            "meta.req.url",
            "ClientRequestURI",  # Cloudflare Logpush
            "httpRequest.path",  # go-chi/httplog
            "requested_uri",  # logback-access with logstash-logback-encoder
            "State.Path",  # ASP.NET Core's HTTP logging
            "x-envoy-origin-path",  # Envoy Gateway
            "http.url",  # Suricata's eve.json
            "span.uri",  # Rust's tower-http
            "requestURI",  # Kubernetes' audit log
            "reqPath",  # Akamai DataStream 2
            "CsUriStem",  # Azure Monitor's AppServiceHTTPLogs
            "properties.url",  # Azure API Management's GatewayLogs
            "httpRequest.uri",  # AWS WAF (its query string apart, as `args`)
            "requestPath",  # MinIO's audit log
            "protoPayload.resource",  # App Engine's request log
            "Uri",  # Azure Monitor's StorageBlobLogs (the whole URL)
        ),
        *key_options(REQUEST, unit=REQUEST),  # nginx's "$request"
        *key_options("routeKey", unit=REQUEST),
        *key_options("request_line", unit=REQUEST),
    ),
    "status_code": key_options(
        "status",
        "status_code",
        "statusCode",
        "http.status_code",
        "res.statusCode",
        "http.response.status_code",
        "DownstreamStatus",  # Traefik
        "response_code",  # Envoy
        "httpRequest.status",  # Google Cloud's LogEntry
        "properties.httpStatusCode",  # Azure Front Door
        "meta.res.statusCode",  # express-winston
        "response.status",  # Kong, APISIX
        "StatusCode",  # Serilog's request logging
        "EdgeResponseStatus",  # Cloudflare Logpush
        "httpResponse.status",  # go-chi/httplog
        "State.StatusCode",  # ASP.NET Core's HTTP logging
        "http.status",  # Suricata's eve.json
        "fields.status",  # Rust's tower-http
        "properties.httpStatus",  # Azure Application Gateway
        "responseStatus.code",  # Kubernetes' audit log
        "response_status",  # Fastly's JSON logging example
        "ScStatus",  # Azure Monitor's AppServiceHTTPLogs
        "properties.responseCode",  # Azure API Management's GatewayLogs
        "api.statusCode",  # MinIO's audit log
        "protoPayload.status",  # App Engine's request log
        "responseCodeSent",  # AWS WAF, where a rule sent its own response
        "response",  # Logstash's name for it (its COMBINEDAPACHELOG, Elastic's nginx examples)
    ),
    "latency_ms": (
        *key_options(
            "latency_ms",
            "response_time_ms",
            "duration_ms",
            "responseTime",
            "responseLatency",
            "meta.responseTime",  # express-winston
            "latencies.request",  # Kong
            "Elapsed",  # Serilog's request logging
            "httpResponse.elapsed",  # go-chi/httplog
            "elapsed_time",  # logback-access with logstash-logback-encoder
            "State.Duration",  # ASP.NET Core's HTTP logging
            "fields.latency",  # Rust's tower-http ("37 ms")
            "turnAroundTimeMSec",  # Akamai DataStream 2
            "TimeTaken",  # Azure Monitor's AppServiceHTTPLogs
            "durationMs",  # Azure API Management's GatewayLogs
            "DurationMs",  # Azure Monitor's StorageBlobLogs
            unit="ms",
        ),
        *key_options("duration_s", unit="s"),  # GitLab's JSON logs
        *key_options("api.timeToResponse", unit="ns"),  # MinIO's audit log ("23456789ns")
        *key_options("protoPayload.latency", unit="s"),  # App Engine's request log ("0.045s")
        *key_options("time_elapsed", unit="us"),  # Fastly (VCL time.elapsed.usec)
        *key_options("response.latency", unit="ns"),  # samber/slog-http (a time.Duration)
        *key_options("total_ns", unit="ns"),  # Linkerd's proxy
        *key_options("latency", unit="ms"),
        *key_options("duration", "request_time", unit="s"),
        *key_options("event.duration", unit="ns"),  # Elastic Common Schema
        *key_options("Duration", unit="ns"),  # Traefik
        *key_options("httpRequest.latency", unit="s"),  # Google Cloud: "0.012345s"
        *key_options("properties.timeTaken", unit="s"),  # Azure Front Door
    ),
    "bytes_sent": key_options(
        "bytes_sent",
        "body_bytes_sent",
        "bytes",
        "response_bytes",
        "http.response.body.bytes",
        "res.headers.content-length",
        "size",  # Caddy
        "DownstreamContentSize",  # Traefik
        "responseLength",  # API Gateway
        "httpRequest.responseSize",  # Google Cloud's LogEntry
        "properties.responseBytes",  # Azure Front Door
        "response.size",  # Kong, APISIX
        "bytes_out",  # Echo
        "EdgeResponseBytes",  # Cloudflare Logpush
        "httpResponse.bytes",  # go-chi/httplog
        "response.length",  # samber/slog-http
        "content_length",  # logback-access with logstash-logback-encoder
        "response_body_len",  # Zeek's http.log
        "http.length",  # Suricata's eve.json
        "dataLength",  # gin-logrus
        "properties.sentBytes",  # Azure Application Gateway
        "response_body_size",  # Fastly's JSON logging example
        "ScBytes",  # Azure Monitor's AppServiceHTTPLogs
        "properties.responseSize",  # Azure API Management's GatewayLogs
        "api.tx",  # MinIO's audit log
        "protoPayload.responseSize",  # App Engine's request log
        "ResponseBodySize",  # Azure Monitor's StorageBlobLogs
    ),
    "user_id": key_options("user_id", "userId", "user", "user.id"),
    "client_ip": key_options(
        "client_ip",
        "remote_addr",
        "ip",
        "remote_ip",
        "client.ip",
        "req.remoteAddress",
        "request.client_ip",  # Caddy
        "request.remote_ip",
        "ClientHost",  # Traefik
        "httpRequest.remoteIp",  # Google Cloud's LogEntry
        "properties.clientIp",  # Azure Front Door
        "ClientIP",  # Cloudflare Logpush
        "source.ip",  # Elastic Common Schema
        "httpRequest.remoteIP",  # go-chi/httplog
        "request.ip",  # samber/slog-http
        "remote_host",  # logback-access with logstash-logback-encoder
        "id.orig_h",  # Zeek's http.log
        "proxy.clientIp",  # Vercel's log drains
        "clientIP",  # gin-logrus
        "src_ip",  # Suricata's eve.json
        "properties.clientIP",  # Azure Application Gateway
        "client.addr",  # Linkerd's proxy
        "cliIP",  # Akamai DataStream 2
        "downstream_remote_address",  # Envoy's and Istio's JSON access logs (with the port)
        "CIp",  # Azure Monitor's AppServiceHTTPLogs
        "callerIpAddress",  # Azure's resource logs (API Management's GatewayLogs)
        "httpRequest.clientIp",  # AWS WAF
        "remotehost",  # MinIO's audit log
        "protoPayload.ip",  # App Engine's request log
        "CallerIpAddress",  # Azure Monitor's StorageBlobLogs (with the port)
    ),
    "region": key_options("region", "cloud.region"),
    "device_type": key_options("device_type", "device"),
    "error_reason": key_options("error_reason", "error", "err", "error.message", "err.message"),
    "level": (
        *key_options("_level_name"),  # Spring Boot's GELF, beside GELF's numeric level
        *key_options("level_name"),  # Monolog, beside its numeric level
        *key_options("LogLevel"),  # .NET's JSON console formatter
        *key_options("level", "severity", "log.level", "levelname", "lvl", "@l", "Level"),
        *key_options("@level"),  # HashiCorp's hclog in JSON
    ),
    "message": key_options(
        "message",
        "msg",
        "event",
        "logEvent.message",
        "@m",
        "@mt",
        "RenderedMessage",
        "short_message",  # GELF
        "Message",  # .NET's JSON console formatter
        "fields.message",  # Rust's tracing
        "log",  # a container runtime's JSON around a program's line
        "line",  # Grafana Loki's entries (`logcli query --output=jsonl`)
        "@message",  # HashiCorp's hclog in JSON
    ),
}
"""For each canonical column, the keys it is read from when no mapping is given: per file, the
first key (in this order) that holds a usable value in any of the first `SAMPLE` records wins:
a plain value (not an object or array) that, for ts, latency, status and bytes, converts (a
`status` of 'shipped' is not a status code, so `status_code` is looked for next). Covers flat logs, pino/bunyan (`time`, `msg`, `req.url`,
`res.statusCode`, `responseTime`, numeric levels), zap/logrus (`ts`, `msg`, `error`),
structlog (`event`), Elastic Common Schema (`@timestamp`, `url.path`, `log.level`,
`event.duration`), Caddy's access log (`ts`, `request.uri`, `request.client_ip`, `status`,
`size`, `duration` in seconds) and Traefik's JSON access log (`StartUTC`, `RequestMethod`,
`RequestPath`, `DownstreamStatus`, `DownstreamContentSize`, `Duration` in nanoseconds),
Elasticsearch's JSON logs (`timestamp` with a comma before the milliseconds, `component`) and
log4j2's JsonLayout as Logstash writes it (`timeMillis`, `loggerName`, `logEvent.message`),
nginx's JSON log formats (`time_iso8601` or `time_local`, `request_method` and `request_uri`
or the whole `request` line, `body_bytes_sent`, `request_time` in seconds), Envoy's and
Istio's (`start_time`, `response_code`, `duration` in milliseconds where Envoy's
`response_flags`, `upstream_service_time` or `upstream_host` is logged too) and API Gateway's (`requestTime`, `httpMethod`,
`resourcePath`, `responseLength`, `responseLatency` in ms), Google Cloud's LogEntry (`httpRequest.*`,
`latency` like "0.012s"), Azure Front Door's (`properties.*`, `timeTaken` in seconds) and
express-winston's (`meta.req.*`, `meta.res.statusCode`, `meta.responseTime`). A bare `latency` is taken as milliseconds, `duration` as seconds: map the
key with its unit where a logger writes otherwise (zap's production config writes seconds)."""


NUMBER_TEXT = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


def choose_keys(
    sample: list[dict], mapping: JsonMapping | None, first_line: int
) -> tuple[dict[str, JsonField], str]:
    if mapping is not None:
        chosen = {t: f if isinstance(f, JsonField) else JsonField(f) for t, f in mapping.items()}
        unknown = [t for t in chosen if t not in CANDIDATE_TYPES]
        if unknown:
            raise FileFormatError(
                f"the key mapping names unknown columns {', '.join(unknown)}; "
                f"expected some of {', '.join(CANDIDATE_TYPES)}"
            )
        for target, spec in chosen.items():
            converter(target, spec)  # an unknown unit fails here, before any line is read
        if "ts" in chosen and sample:
            get = getter(chosen["ts"].path)
            if not any(get(o) is not None for o in sample):
                raise FileFormatError(
                    f"line {first_line}: the mapping reads ts from '{chosen['ts'].path}', "
                    f"which none of the first {len(sample)} records has"
                )
        return chosen, "configured mapping"
    chosen = {}
    for target, options in DEFAULT_KEYS.items():
        for spec in options:
            if fits(target, spec, values_at(sample, spec.path)):
                chosen[target] = spec
                break
    if "latency_ms" in chosen:
        chosen["latency_ms"] = latency_unit(chosen["latency_ms"], sample)
    if "status_code" not in chosen and any(
        obj.get("event") in ("request_finished", "request_failed") and "code" in obj
        for obj in sample
    ):
        chosen["status_code"] = JsonField("code")  # django-structlog's request_finished
    if "service" not in chosen:
        keys = sample_keys(sample)
        for key, beside in LOGGER_NAME_KEYS:
            if key in keys and any(keys >= other for other in beside):
                chosen["service"] = JsonField(key)
                break
    if chosen.get("level") == JsonField("level") and any(obj.keys() >= GELF_KEYS for obj in sample):
        chosen["level"] = JsonField("level", SYSLOG)  # GELF's level is a syslog severity
    if sample and "ts" not in chosen:
        raise FileFormatError(
            f"line {first_line}: no timestamp key in the first {len(sample)} records; expected "
            f"one of {', '.join(f.path for f in DEFAULT_KEYS['ts'])}, or a mapping naming it"
        )
    return chosen, "default keys"


NANOSECONDS_FROM = 100_000
"""A default latency key named without a unit (`UNITLESS_LATENCY_KEYS`) whose values are all
whole numbers with a median this large or more holds nanoseconds: Go's encoding/json and
log/slog write a time.Duration so (10⁵ s, or even ms, is no request's duration; 10⁵ ns is
0.1 ms)."""
UNITLESS_LATENCY_KEYS = frozenset({"duration", "latency"})
"""Default latency keys whose names say no unit (`duration_ms` does)."""
LOGRAGE_KEYS = frozenset({"controller", "action"})
"""Keys of Rails' lograge lines, whose `duration` is in milliseconds."""
ZEROLOG_KEYS = frozenset({"time", "level"})
"""zerolog's default keys, with no `msg` (its `message` is left out by `Msg("")`): its
durations are float milliseconds."""
GO_JSON_KEYS = frozenset({"time", "level", "msg"})
"""log/slog's and logrus' JSON keys (with text levels): a time.Duration is whole nanoseconds."""
GIN_LOGRUS_KEYS = frozenset({"statusCode", "clientIP", "dataLength"})
"""Keys of gin-logrus' request lines, whose `latency` is whole milliseconds."""
ZAP_KEYS = frozenset({"ts", "caller", "msg"})
"""zap's production JSON keys: it writes a time.Duration as float seconds."""


def sample_keys(sample: list[dict]) -> set[str]:
    """Every top-level key of the sampled objects."""
    return set().union(*(obj.keys() for obj in sample)) if sample else set()


def _whole(path: str, sample: list[dict]) -> bool:
    values = [v for v in values_at(sample, path) if v is not None]
    return bool(values) and all(type(v) is int for v in values)


LOGGER_NAME_KEYS = (
    ("name", (frozenset({"levelname"}), frozenset({"hostname", "pid", "v"}))),
    ("channel", (frozenset({"level_name", "datetime"}),)),
    ("target", (frozenset({"fields", "level"}),)),
)
"""Keys too common to be a service on their own, that name the logger beside a logger's own
keys: python-json-logger's `name` (beside `levelname`), bunyan's (beside `hostname`, `pid`,
`v`), Monolog's `channel` (beside `level_name`, `datetime`), Rust tracing's `target` (beside
`fields`, `level`)."""
GELF_KEYS = frozenset({"version", "short_message"})
"""Keys every GELF message has; its `level` is a syslog severity (0-7)."""
SYSLOG = "syslog"
"""The unit of a level key holding syslog severities (0 emergency ... 7 debug)."""


def latency_unit(spec: JsonField, sample: list[dict]) -> JsonField:
    """The unit of a default latency key, where the records say it: gin-logrus' `latency` is in
    ms (`GIN_LOGRUS_KEYS`), zap's production numbers are seconds (`ZAP_KEYS`, not whole);
    Envoy's `duration` is in ms (`ENVOY_KEYS` beside it), so are lograge's (`LOGRAGE_KEYS`) and
    zerolog's (`ZEROLOG_KEYS`); the whole numbers of Go's JSON loggers (`GO_JSON_KEYS`, text levels) are
    ns, and so are Echo's `latency` (`latency_human` beside it) and any whole numbers from
    `NANOSECONDS_FROM` up."""
    keys = sample_keys(sample)
    if (
        spec.path == "properties.timeTaken"
        and _whole(spec.path, sample)
        and any(v is not None for v in values_at(sample, "properties.httpStatus"))
    ):
        return JsonField(spec.path, "ms")  # Application Gateway v1: whole ms (v2: seconds)
    if spec.path in UNITLESS_LATENCY_KEYS and keys >= GIN_LOGRUS_KEYS:
        return JsonField(spec.path, "ms")
    if spec.path in UNITLESS_LATENCY_KEYS and keys >= ZAP_KEYS and not _whole(spec.path, sample):
        return JsonField(spec.path, "s")
    if spec == JsonField("duration", "s") and (
        ENVOY_KEYS & keys or keys >= LOGRAGE_KEYS or (keys >= ZEROLOG_KEYS and "msg" not in keys)
    ):
        return JsonField("duration", "ms")
    if spec.path in UNITLESS_LATENCY_KEYS and keys >= GO_JSON_KEYS and _whole(spec.path, sample):
        levels = {type(v) for v in values_at(sample, "level") if v is not None}
        if levels == {str}:  # pino and bunyan, with the same keys, write numeric levels
            return JsonField(spec.path, "ns")
    if spec == JsonField("latency", "ms") and "latency_human" in keys:
        return JsonField("latency", "ns")
    if spec.path in UNITLESS_LATENCY_KEYS and _whole(spec.path, sample):
        values = [v for v in values_at(sample, spec.path) if v is not None]
        if float(np.median(values)) >= NANOSECONDS_FROM:
            return JsonField(spec.path, "ns")
    return spec


LOOSE_STATUS_KEYS = frozenset({"response"})
"""Status keys whose name other loggers give other things (a response's size or time): read
as the status only when every value is one (a whole number from 100 to 599)."""


def fits(target: str, spec: JsonField, values: list[Any]) -> bool:
    """Whether a key can be the column's source: some value is plain (not an object or
    array) and, for typed columns, converts (a `status` of 'shipped' is not a status code);
    a request line key holds some request line."""
    values = [v for v in values if v is not None and type(v) is not dict and type(v) is not list]
    if spec.unit == REQUEST:
        return any(type(v) is str and REQUEST_LINE.match(v) for v in values)
    if target == "level" and spec.unit is None:  # Kubernetes' audit `level` is no log level
        words = pd.Series([str(v) for v in values], dtype="str")
        numeric = any(type(v) is int or (type(v) is str and v.isdigit()) for v in values)
        return numeric or bool(as_level(words).isin(LEVELS).any())  # numbers: GELF's, pino's
    if not values or target not in NUMERIC:
        return bool(values)
    if target == "status_code" and spec.path in LOOSE_STATUS_KEYS:
        return all(str(v).isdigit() and 100 <= int(v) <= 599 for v in values)
    column = column_from(values, numeric=True)
    converted = converter(target, spec, column.numbers)(column.text)
    return bool(converted.notna().any())


def converter(target: str, spec: JsonField, numbers: pd.Series | None = None) -> Converter:
    """The conversion for a column; from `numbers` directly when the key held only numbers."""
    if target == "ts":
        if spec.unit in (None, "auto"):
            return as_epoch(numbers, None) if numbers is not None else as_time
        if spec.unit in TIME_UNITS:
            return as_epoch(numbers, spec.unit)
        return as_timestamp((spec.unit,))
    if target == "latency_ms":
        factor = LATENCY_UNITS.get(spec.unit or "ms")
        if factor is None:
            raise FileFormatError(
                f"unknown latency unit '{spec.unit}' for key '{spec.path}'; expected ms, s, us or ns"
            )
        if numbers is not None:
            return lambda text: (numbers * factor).astype("float64")
        return as_duration_ms(factor)
    if target in ("status_code", "bytes_sent"):
        dtype = CANDIDATE_TYPES[target]
        return as_whole(numbers, dtype) if numbers is not None else as_int(dtype)
    if target == "level":
        return syslog_severity if spec.unit == SYSLOG else as_level
    if spec.unit == REQUEST and target in ("method", "path"):
        return request_part(target)
    return as_text


def request_part(target: str) -> Converter:
    """The method or the path of request lines (null where a value is no request line)."""

    def convert(text: pd.Series) -> pd.Series:
        return as_text(text.str.extract(REQUEST_LINE)[target].astype("str"))

    return convert


def expectation(target: str, spec: JsonField) -> str:
    if target == "ts":
        return "a timestamp (ISO 8601 or epoch)"
    if target == "latency_ms":
        return f"a duration (a number in {spec.unit or 'ms'}, or e.g. '250ms')"
    if target == "status_code":
        return "an integer status code"
    if target == "bytes_sent":
        return "a whole number of bytes"
    if spec.unit == REQUEST:
        return "a request line like 'GET /path HTTP/1.1'"
    return "a string or number"


def as_time(text: pd.Series) -> pd.Series:
    """ISO 8601 (offsets applied, naive times taken as UTC), the times of `loose_times`, or
    epoch numbers by magnitude:
    `as_timestamp`'s rules, but epoch numbers are rounded to the microsecond (a float like
    1793527200.123456 is a hair off in binary), and only numeric-looking values are tried
    as numbers, which keeps a column of ISO text fast."""
    fast = iso_fast(text)
    if fast is not None:
        return fast
    stripped = text.str.strip()
    numeric = pd.Series(
        pc.match_substring_regex(pa.array(stripped.array), NUMBER_TEXT).fill_null(False),
        index=text.index,
        dtype="bool",
    )
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if numeric.any():
        out[numeric] = as_epoch(None, None)(stripped[numeric])
    iso = ~numeric & stripped.notna()
    if iso.any():
        # ISO 8601 allows a comma before the fraction (Elasticsearch's and log4j's JSON
        # layouts write 2019-01-18T08:55:08,159+0100); pandas reads only the point
        text = stripped[iso].str.replace(r"(T?\d\d:\d\d:\d\d),(\d)", r"\1.\2", regex=True)
        values = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        out[iso] = values.dt.as_unit("us")
        rest = iso & out.isna()
        if rest.any():  # gunicorn's `[16/May/2024:10:20:30 +0000]`, a console's `5/14/2024 ...`
            out[rest] = loose_times(stripped[rest])
    return out


def as_epoch(numbers: pd.Series | None, unit: str | None) -> Converter:
    """Epoch numbers in `unit`, or by magnitude (base.EPOCH_UNITS) when unit is None, to the
    nearest microsecond."""

    def convert(text: pd.Series) -> pd.Series:
        values = (
            numbers if numbers is not None else pd.to_numeric(text.str.strip(), errors="coerce")
        )
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        remaining = values.notna()
        for threshold, magnitude_unit in EPOCH_UNITS:
            chosen = remaining & (values.abs() >= threshold) if unit is None else remaining
            if chosen.any():
                times = pd.to_datetime(
                    values[chosen], unit=unit or magnitude_unit, utc=True, errors="coerce"
                )
                out[chosen] = times.dt.round("us").dt.as_unit("us")
                remaining &= ~chosen
        return out

    return convert


def as_whole(numbers: pd.Series, dtype: str) -> Converter:
    """`as_int` for values that are numbers already."""

    def convert(text: pd.Series) -> pd.Series:
        values = numbers.astype("float64")
        whole = values.where((values % 1 == 0) & values.abs().lt(2**53))
        if dtype == "Int16":
            # as in as_int: an out-of-range code is kept large for the schema to name
            whole = whole.where(whole.isna() | whole.abs().lt(32_768), 32_767)
        return whole.astype(dtype)

    return convert
