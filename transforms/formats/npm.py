"""Nginx Proxy Manager's access logs (`npm`): nginx writes them with the `log_format`s NPM
defines, `proxy` for its proxy hosts and `standard` for its default host and redirections:

    [20/Nov/2026:10:15:32 +0000] - 200 200 - GET https cloud.example.com "/index.php/apps/files/" [Client 203.0.113.45] [Length 10542] [Gzip 3.87] [Sent-to 192.168.1.20] "Mozilla/5.0" "https://cloud.example.com/"
    [20/Nov/2026:10:15:40 +0000] 404 - GET http example.org "/wp-login.php" [Client 198.51.100.9] [Length 146] [Gzip -] "curl/8.5.0" "-"

`proxy` logs `$upstream_cache_status $upstream_status $status`, `standard` only `$status`;
`$upstream_status` lists each upstream tried (`502, 200`). NPM logs no request time."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.access import CLF_FIELDS, parse_lines
from transforms.formats.access.lines import QUOTED
from transforms.formats.base import Format, Parsed

NPM_RE = re.compile(
    r"\[(?P<time>[^\]]++)\] "
    r"(?:(?P<upstream_cache_status>[^ ]++) (?P<upstream_status>[^ ,]++(?:, [^ ,]++)*+) )?"
    r"(?P<status>\d{3}) - (?P<method>[^ ]*+) (?P<scheme>[^ ]*+) (?P<host>[^ ]*+) "
    rf'"(?P<path>{QUOTED})" \[Client (?P<client_ip>[^\]]*+)\] \[Length (?P<bytes>[^\]]*+)\] '
    r"\[Gzip (?P<gzip_ratio>[^\]]*+)\](?: \[Sent-to (?P<server>[^\]]*+)\])? "
    rf'"(?P<user_agent>{QUOTED})" "(?P<referer>{QUOTED})"'
)
LAYOUT = (
    '\'[time] cache upstream_status status - METHOD scheme host "uri" [Client ip] '
    '[Length bytes] [Gzip ratio] [Sent-to server] "agent" "referer"\' (Nginx Proxy Manager)'
)
_FIELDS = {
    name: CLF_FIELDS[name]
    for name in ("ts", "client_ip", "method", "path", "status_code", "bytes_sent")
}  # `$time_local`, `$status` and `$body_bytes_sent` as the Combined format logs them
_ATTRIBUTES = {
    name: name
    for name in (
        "upstream_cache_status",
        "upstream_status",
        "scheme",
        "host",
        "gzip_ratio",
        "server",
        "user_agent",
        "referer",
    )
}


def looks_like_npm(line: str) -> bool:
    return NPM_RE.fullmatch(line) is not None


def _prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """`-` is nginx's empty value: a request nginx could not read has no method, host or path
    (the canonical step keeps its response, with endpoint `{invalid}`)."""
    for name in ("method", "path", "host", "upstream_cache_status", "upstream_status", "server"):
        records[name] = records[name].mask(records[name].isin(["", "-"]))
    for name in ("gzip_ratio", "user_agent", "referer"):
        records[name] = records[name].mask(records[name] == "-")
    return records, ()


def parse_npm(data: bytes) -> Parsed:
    """Nginx Proxy Manager's `proxy` and `standard` access lines: ts from `$time_local`,
    status, method, path (`$request_uri`, with its query), client and bytes (`$body_bytes_sent`)
    as logged; the scheme, host, upstream statuses, cache status, gzip ratio, upstream server,
    user agent and referer are attributes."""
    return parse_lines(
        data,
        NPM_RE,
        format="npm",
        expected=f"Nginx Proxy Manager's access log format: expected {LAYOUT}",
        prepare=_prepare,
        fields=_FIELDS,
        attributes=_ATTRIBUTES,
    )


NPM = Format("npm", parse_npm, looks_like_npm, "Nginx Proxy Manager's access logs")
FORMATS: list[Format] = [NPM]
