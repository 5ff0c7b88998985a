"""Any nginx `log_format` template, compiled to a regex and its fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from transforms.formats.access.clf import NGINX_ERROR_EVENTS
from transforms.formats.access.lines import HTTP_VERSION, METHOD, QUOTED, parse_lines
from transforms.formats.access.values import (
    BYTES,
    STATUS,
    Input,
    clf_time,
    iso_time,
    latency,
    number_lists,
    numbers,
)
from transforms.formats.base import (
    Field,
    FileFormatError,
    Format,
    Parsed,
    as_text,
    as_timestamp,
    present,
)

# nginx log_format templates ---------------------------------------------------------------------
TOKEN_VARIABLES = frozenset(
    {
        "remote_addr", "remote_user", "remote_port", "realip_remote_addr", "time_iso8601",
        "msec", "status", "body_bytes_sent", "bytes_sent", "request_time", "request_method",
        "request_uri", "uri", "document_uri", "args", "query_string", "host", "hostname",
        "server_name", "server_addr", "server_port", "server_protocol", "scheme",
        "request_length", "connection", "connection_requests", "request_id", "pipe",
        "ssl_protocol", "ssl_cipher", "gzip_ratio", "proxy_protocol_addr",
    }
)  # fmt: skip
"""Variables whose values never contain a space."""
LIST_VARIABLES = frozenset(
    {
        "upstream_addr", "upstream_status", "upstream_response_time", "upstream_connect_time",
        "upstream_header_time", "upstream_response_length", "upstream_bytes_received",
        "upstream_bytes_sent",
    }
)  # fmt: skip
"""Variables with one value per upstream tried: `a, b : c`."""
UPSTREAM_LIST = r"[^\s,]+(?:(?:, | : )[^\s,]+)*"
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
CONFIG_STRING = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\s+)|(;\s*$)""", re.S)
CONFIG_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}

NGINX_CANONICAL: dict[str, tuple[str, ...]] = {
    # canonical column: the variables it comes from, most precise first (per line, the first
    # one logged wins)
    "ts": ("msec", "time_iso8601", "time_local"),
    "method": ("request_method", "request:method"),
    "path": ("request_uri", "request:path", "uri"),
    "status_code": ("status",),
    "bytes_sent": ("body_bytes_sent", "bytes_sent"),
    "client_ip": ("remote_addr", "http_x_forwarded_for"),
    "user_id": ("remote_user",),
}
NGINX_CONVERTERS: dict[str, tuple[Callable[[pd.Series], pd.Series], str]] = {
    "msec": (as_timestamp(), "epoch seconds like 1700000000.123"),
    "time_iso8601": (iso_time, "an ISO 8601 time"),
    "time_local": (clf_time, "a time like 10/Oct/2000:13:55:36 -0700"),
    "status": STATUS[::-1],
    "body_bytes_sent": BYTES[::-1],
    "bytes_sent": BYTES[::-1],
}


def template_text(template: str) -> str:
    """The log_format template as nginx sees it. Accepts the bare template, the quoted strings
    of the directive (`'$remote_addr - ' '"$request"'`, concatenated as nginx does), or the
    whole directive (`log_format main escape=json '...' '...';`)."""
    text = template.strip()
    directive = re.match(r"log_format\s+[^\s'\"]+\s+", text)
    if directive:
        text = text[directive.end() :]
    escape = re.match(r"escape=\w+\s+", text)
    if escape:
        text = text[escape.end() :]
    if not text.startswith(("'", '"')):
        return text
    pieces, position = [], 0
    while position < len(text):
        part = CONFIG_STRING.match(text, position)
        if part is None:
            raise FileFormatError(
                f"nginx log_format template {template!r}: unexpected {text[position:][:20]!r} "
                "between quoted strings"
            )
        quoted = part.group(1) if part.group(1) is not None else part.group(2)
        if quoted is not None:
            pieces.append(
                re.sub(r"\\(.)", lambda m: CONFIG_ESCAPES.get(m.group(1), m.group(1)), quoted)
            )
        position = part.end()
    return "".join(pieces)


@dataclass(frozen=True)
class NginxTemplate:
    """A compiled nginx log_format: its regex and the group of each variable's first use."""

    template: str
    regex: re.Pattern[str]
    groups: dict[str, str]  # variable (or request:method / request:path) -> regex group


@lru_cache(maxsize=64)
def compile_template(template: str) -> NginxTemplate:
    text = template_text(template)
    parts: list[tuple[str, str]] = []  # ("literal", text) or ("variable", name)
    position = 0
    for found in VARIABLE.finditer(text):
        if found.start() > position:
            parts.append(("literal", text[position : found.start()]))
        parts.append(("variable", found.group(1) or found.group(2)))
        position = found.end()
    if position < len(text):
        parts.append(("literal", text[position:]))
    if not any(kind == "variable" for kind, _ in parts):
        raise FileFormatError(f"nginx log_format template {template!r} has no $variables")

    pattern, groups = [], {}
    for index, (kind, value) in enumerate(parts):
        if kind == "literal":
            pattern.append(re.escape(value))
            continue
        after = parts[index + 1] if index + 1 < len(parts) else None
        quoted = after is not None and after[0] == "literal" and after[1].startswith('"')
        lazy = after is not None and after[0] == "variable"
        group = f"v{index}"
        if value == "request":
            target = r'[^ "]+(?: [^ "]+)*?' if quoted else r"\S+"
            rest = QUOTED if quoted else r".*?"
            body = (
                rf"(?:(?P<{group}_method>{METHOD}) (?P<{group}_path>{target}){HTTP_VERSION}"
                rf"{' *' if quoted else ''}|{rest})"
            )
            groups.setdefault("request:method", f"{group}_method")
            groups.setdefault("request:path", f"{group}_path")
            pattern.append(body)
            continue
        if quoted:
            body = QUOTED
        elif value == "time_local":
            body = r"\S+ \S+"
        elif value in LIST_VARIABLES:
            body = UPSTREAM_LIST
        elif value in TOKEN_VARIABLES:
            body = r"\S*?" if lazy else r"\S*"
        else:
            body = r".*?"
        groups.setdefault(value, group)
        pattern.append(f"(?P<{group}>{body})")
    return NginxTemplate(template=text, regex=re.compile("".join(pattern)), groups=groups)


NGINX_LATENCY = latency(
    Input("request_time", numbers(1000.0), "a number of seconds"),
    Input("upstream_response_time", number_lists(1000.0), "a number of seconds or a list of them"),
)


def _nginx_fields(compiled: NginxTemplate) -> tuple[dict[str, Field], dict[str, list[str]]]:
    """The canonical fields a template can fill, and the variables each one is read from."""
    fields, sources = {}, {}
    for target, candidates in NGINX_CANONICAL.items():
        logged = [v for v in candidates if v in compiled.groups]
        if not logged:
            continue
        if target == "ts":
            logged = logged[:1]  # one clock per file: the most precise one in the template
        convert, what = NGINX_CONVERTERS.get(logged[0], (as_text, "text"))
        fields[target] = Field(logged[0], convert, what)
        sources[logged[0]] = logged
    return fields, sources


def parse_nginx(data: bytes, template: str) -> Parsed:
    """Lines written by nginx with a `log_format` template, mapped onto canonical columns:
        ts from $msec, else $time_iso8601, else $time_local (one clock per template); method from
        $request_method or $request; path from $request_uri, $request, or $uri (+ ?$args);
        status_code from $status; bytes_sent from $body_bytes_sent or $bytes_sent; client_ip from
        $remote_addr or the first address of $http_x_forwarded_for; user_id from $remote_user;
        latency_ms from $request_time or, where that is not logged, $upstream_response_time (a
        list of tries is summed). Where a column has several sources, each line takes the first
        one logged. Every other variable is kept in `attributes` under its name ($http_referer and
    $http_user_agent as `referer` and `user_agent`, as in the other access formats)."""
    compiled = compile_template(template)
    fields, sources = _nginx_fields(compiled)
    by_group = {group: variable for variable, group in compiled.groups.items()}

    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        records = records.rename(columns=by_group)
        if "http_x_forwarded_for" in records:
            forwarded = records["http_x_forwarded_for"].str.split(",").str[0].str.strip()
            records["http_x_forwarded_for"] = forwarded.astype("str")
        args = next((a for a in ("args", "query_string") if a in records), None)
        if "uri" in records and args:
            with_args = present(records[args]) & records["uri"].notna()
            records["uri"] = records["uri"].where(~with_args, records["uri"] + "?" + records[args])
        for first, logged in sources.items():
            column = records[first]
            for other in logged[1:]:
                column = column.where(present(column), records[other])
            records[first] = column
        return records, ()

    return parse_lines(
        data,
        compiled.regex,
        format=f"nginx:{template}",
        expected=f"the nginx log_format: expected `{compiled.template}`",
        prepare=prepare,
        fields=fields,
        derived={"latency_ms": NGINX_LATENCY},
        attributes={
            _ATTRIBUTE_NAMES.get(v, v): v
            for v in compiled.groups
            if ":" not in v and v not in _READ
        },
        events=(NGINX_ERROR_EVENTS,),
    )


_READ = frozenset(
    {v for variables in NGINX_CANONICAL.values() for v in variables}
    | {item.source for item in NGINX_LATENCY.inputs}
    | {"args", "query_string", "request"}
)
"""Variables read into canonical columns; every other one a template logs is an attribute."""
_ATTRIBUTE_NAMES = {"http_referer": "referer", "http_user_agent": "user_agent"}
"""Attribute names shared with the other access formats."""


def nginx_format(template: str) -> Format:
    """The format named `nginx:<template>`, for lines written with that nginx `log_format`
    (see `template_text` for the ways to write the template)."""
    compiled = compile_template(template)  # a bad template fails here, before any file is read
    return Format(
        name=f"nginx:{template}",
        parse=lambda data: parse_nginx(data, template),
        looks_like=lambda line: compiled.regex.fullmatch(line) is not None,
        description=f"nginx access log written with log_format '{compiled.template}'",
    )
