"""AWS load balancer access logs: Application Load Balancer (`alb`, every layout since 2016)
and Classic Load Balancer (`elb`, with and without the user agent and TLS fields)."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from transforms.formats.access import (
    BYTES,
    QUOTED,
    STATUS,
    Derived,
    Input,
    iso_time,
    numbers,
    parse_lines,
    request_line,
)
from transforms.formats.base import Field, FileFormatError, Format, Parsed, as_text

BARE = r'[^ "]++'
"""An unquoted field."""
FIELD = rf'(?:"{QUOTED}"|{BARE})'
"""Any one field, quoted or not (AWS has quoted some fields only in later layouts)."""
ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
CLIENT = r'(?>\[?(?P<client_ip>[^ "]+?)\]?(?::\d+)? )'
"""`client:port `; an IPv6 address may come in brackets; the port is dropped."""
URL_AUTHORITY = r'[A-Za-z][A-Za-z0-9+.-]*://[^/ "]*'
"""`https://host:443` before the path: the request's URL is logged absolute."""
URL_PATH = r'(?:/[^ "]*)?'
TIMINGS = (
    f"(?P<request_processing_time>{BARE}) (?P<{{backend}}_processing_time>{BARE}) "
    f"(?P<response_processing_time>{BARE})"
)
REQUEST = request_line(URL_PATH, URL_AUTHORITY)

ALB_LAYOUT = (
    "`type time elb client:port target:port request_processing_time target_processing_time "
    "response_processing_time elb_status_code target_status_code received_bytes sent_bytes "
    '"request" "user_agent" ssl_cipher ssl_protocol`, then the fields later layouts append '
    '(target_group_arn "trace_id" ... "error_reason" ...)'
)
ELB_LAYOUT = (
    "`timestamp elb client:port backend:port request_processing_time backend_processing_time "
    "response_processing_time elb_status_code backend_status_code received_bytes sent_bytes "
    '"request"`, optionally followed by `"user_agent" ssl_cipher ssl_protocol`'
)


def _optional_chain(*parts: str) -> str:
    """`(?: a(?: b(?: c)?)?)?`: each field only if every earlier one is there."""
    chain = ""
    for part in reversed(parts):
        chain = f"(?: {part}{chain})?"
    return chain


ALB_PATTERN = (
    rf"[a-z][a-z0-9]* (?P<time>{BARE}) (?P<elb>{BARE}) {CLIENT}(?P<target>{BARE}) "
    + TIMINGS.format(backend="target")
    + rf" (?P<elb_status_code>{BARE}) (?P<target_status_code>{BARE})"
    + rf" (?P<received_bytes>{BARE}) (?P<sent_bytes>{BARE}) {REQUEST}"
    + rf' "(?P<user_agent>{QUOTED})" (?P<ssl_cipher>{BARE}) (?P<ssl_protocol>{BARE})'
    # each layout since 2016 appended fields to the one before: take as many as are there
    + _optional_chain(
        rf"(?P<target_group_arn>{BARE})",
        rf"(?P<trace_id>{FIELD})",
        rf"(?P<domain_name>{FIELD})",
        FIELD,  # "chosen_cert_arn"
        BARE,  # matched_rule_priority
        BARE,  # request_creation_time
        rf"(?P<actions_executed>{FIELD})",
        FIELD,  # "redirect_url"
        # then the fields AWS added later ("target:port_list" ... conn_trace_id, ...): "ignore
        # any fields at the end of the log entry that you were not expecting"
        rf'"(?P<error_reason>{QUOTED})"(?: {FIELD})*',
    )
)
ELB_PATTERN = (
    rf"(?P<time>{BARE}) (?P<elb>{BARE}) {CLIENT}(?P<backend>{BARE}) "
    + TIMINGS.format(backend="backend")
    + rf" (?P<elb_status_code>{BARE}) (?P<backend_status_code>{BARE})"
    + rf" (?P<received_bytes>{BARE}) (?P<sent_bytes>{BARE}) {REQUEST}"
    + rf'(?: "(?P<user_agent>{QUOTED})" (?P<ssl_cipher>{BARE}) (?P<ssl_protocol>{BARE}))?'
)
ALB_RE = re.compile(ALB_PATTERN)
ELB_RE = re.compile(ELB_PATTERN)
ALB_START = re.compile(rf"[a-z][a-z0-9]* {ISO_UTC} ")
ELB_START = re.compile(rf"{ISO_UTC} ")
FIELDS_IN_LINE = r'"[^"\\]*(?:\\.[^"\\]*)*"|[^ "]+|"'  # RE2 syntax: counted by pyarrow
TARGET_GROUP_ARN = r"arn:[^:]+:elasticloadbalancing:([a-z0-9-]+):\d+:targetgroup/([^/]+)/.+"
"""RE2 syntax (run by pyarrow): region and name of a target group."""


def looks_like_alb(line: str) -> bool:
    return ALB_START.match(line) is not None and ALB_RE.fullmatch(line) is not None


def looks_like_elb(line: str) -> bool:
    return ELB_START.match(line) is not None and ELB_RE.fullmatch(line) is not None


def _latency(backend: str) -> Derived:
    """The three processing times (seconds) summed, in ms; null when any of them is -1 (no
    response: the target was unreachable, timed out or closed, or the client sent a
    malformed request), never a negative or partial total."""

    def combine(values: list[pd.Series]) -> pd.Series:
        total = values[0] + values[1] + values[2]
        answered = (values[0] >= 0) & (values[1] >= 0) & (values[2] >= 0)
        return (total * 1000.0).where(answered)

    what = "a number of seconds (or -1)"
    return Derived(
        inputs=(
            Input("request_processing_time", numbers(), what),
            Input(f"{backend}_processing_time", numbers(), what),
            Input("response_processing_time", numbers(), what),
        ),
        combine=combine,
    )


FIELDS = {
    "ts": Field("time", iso_time, "an ISO 8601 time"),
    "client_ip": Field("client_ip", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("elb_status_code", STATUS[1], STATUS[0]),
    "bytes_sent": Field("sent_bytes", BYTES[1], BYTES[0]),
    "error_reason": Field("error_reason", as_text, "text"),
    "region": Field("region", as_text, "text"),
    "service": Field("service", as_text, "text"),
}
ATTRIBUTES = {
    kind: {
        name: name
        for name in (
            "elb", backend, f"{backend}_status_code", "received_bytes", "user_agent",
            "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name",
            "actions_executed",
        )
    }
    for kind, backend in (("alb", "target"), ("elb", "backend"))
}  # fmt: skip
"""The fields of an entry kept in `attributes`, under AWS's names (quotes of a quoted field
dropped)."""
SERVICE_SOURCES = {"alb": ("load_balancer", "target_group"), "elb": ("load_balancer",)}


def _arn_part(arn: pd.Series, group: int) -> pd.Series:
    """The region (1) or name (2) of a target group ARN; null where the field is not one ('-'
    when the request was not routed to a target group)."""
    is_arn = arn.str.fullmatch(TARGET_GROUP_ARN).fillna(False).astype(bool)
    part = arn.where(is_arn).str.replace(f"^{TARGET_GROUP_ARN}$", rf"\{group}", regex=True)
    return part.astype("str")


def _prepare(kind: str, service_from: str | None):
    allowed = SERVICE_SOURCES[kind]
    if service_from is not None and service_from not in allowed:
        raise FileFormatError(
            f"unknown service_from '{service_from}' for {kind}; expected {' or '.join(allowed)}"
            " (or none: service stays null)"
        )

    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        for name in ("trace_id", "domain_name", "actions_executed"):
            if name in records:
                records[name] = records[name].str.removeprefix('"').str.removesuffix('"')
        if "target_group_arn" in records:
            arn = records["target_group_arn"]
            records["region"] = _arn_part(arn, 1)
            if service_from == "target_group":
                records["service"] = _arn_part(arn, 2)
        if service_from == "load_balancer":
            # ALB: app/<name>/<id>; classic: <name>
            name = records["elb"].str.replace(r"^app/([^/]+)/.*$", r"\1", regex=True)
            records["service"] = name.astype("str")
        return records, ()

    return prepare


def _hint(expected: str, other: str, looks: Callable[[str], bool]):
    """For a line that does not match: how many fields it has, or which format it is."""

    def hint(texts: pd.Series) -> pd.Series:
        count = texts.str.count(FIELDS_IN_LINE)
        plural = pd.Series(np.where(count == 1, " field", " fields"), index=texts.index)
        message = "the line has " + count.astype(str) + plural + f" ({expected})"
        other_kind = np.fromiter((looks(t) for t in texts), dtype=bool, count=len(texts))
        return message.where(~other_kind, f"it looks like an {other} line").astype("str")

    return hint


def parse_alb(data: bytes, *, service_from: str | None = None) -> Parsed:
    """Application Load Balancer access log entries, in the current layout or any older one
    (fields AWS appends later are ignored). ts is `time` (when the load balancer answered),
    UTC; status_code is elb_status_code; path is the request URL's path and query (scheme,
    host and port dropped); latency_ms is the sum of the three processing times, null when
    any is -1; bytes_sent is sent_bytes; error_reason is the Lambda `error_reason` field;
    region comes from the target group's ARN. service stays null unless `service_from` is
    'load_balancer' (the load balancer's name) or 'target_group' (the target group's name)."""
    return parse_lines(
        data,
        ALB_RE,
        format="alb",
        expected=f"the ALB access log format: expected {ALB_LAYOUT}",
        prepare=_prepare("alb", service_from),
        fields=FIELDS,
        derived={"latency_ms": _latency("target")},
        attributes=ATTRIBUTES["alb"],
        hint=_hint("at least 16 expected", "elb (Classic Load Balancer)", looks_like_elb),
    )


def parse_elb(data: bytes, *, service_from: str | None = None) -> Parsed:
    """Classic Load Balancer access log entries, with or without the user agent and TLS
    fields. ts is `timestamp` (when the load balancer received the request), UTC; latency_ms
    is the sum of the three processing times, null when any is -1; TCP/SSL listener entries
    (request `- - - `, status `-`) keep method, path and status null. service stays null
    unless `service_from` is 'load_balancer'."""
    return parse_lines(
        data,
        ELB_RE,
        format="elb",
        expected=f"the Classic Load Balancer access log format: expected {ELB_LAYOUT}",
        prepare=_prepare("elb", service_from),
        fields=FIELDS,
        derived={"latency_ms": _latency("backend")},
        attributes=ATTRIBUTES["elb"],
        hint=_hint("12 or 15 expected", "alb (Application Load Balancer)", looks_like_alb),
    )


ALB = Format(
    "alb",
    parse_alb,
    looks_like_alb,
    "AWS Application Load Balancer access log entries (any layout since 2016)",
)
ELB = Format(
    "elb",
    parse_elb,
    looks_like_elb,
    "AWS Classic Load Balancer access log entries",
)
FORMATS: list[Format] = [ALB, ELB]
