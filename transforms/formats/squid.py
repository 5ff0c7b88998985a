"""Squid's native access log (`squid`), its default `logformat squid`:

    %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
    1716723772.601    112 192.168.0.10 TCP_MISS/200 10562 GET http://www.example.com/index.html - HIER_DIRECT/93.184.216.34 text/html

Squid's `common` and `combined` log formats are read by `common` and `combined`."""

from __future__ import annotations

import re

import pandas as pd

from transforms.formats.access import BYTES, STATUS, parse_lines
from transforms.formats.base import Field, Format, Parsed, as_float, as_text, as_timestamp

SQUID_RE = re.compile(
    r"(?P<time>\d{9,10}\.\d{3}) +(?P<elapsed>-?\d+) (?P<client_ip>\S+) "
    r"(?P<result>[A-Z][A-Z_]*)/(?P<status>\d{3}) (?P<bytes>\d+) (?P<method>[^ ]+) "
    r"(?P<url>[^ ]+) (?P<user>[^ ]+) (?P<hierarchy>[A-Z][A-Z_]*)/(?P<peer>[^ ]+) "
    r"(?P<content_type>[^ ]+)(?: (?P<extra>.*))?"
)
LAYOUT = (
    "'<epoch.ms> <elapsed ms> <client> <result>/<status> <bytes> <method> <URL> <user> "
    "<hierarchy>/<peer> <type>' (logformat squid)"
)
_FIELDS = {
    "ts": Field("time", as_timestamp(), "epoch seconds with milliseconds"),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("user", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("url", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "latency_ms": Field("elapsed", as_float(), "a number of milliseconds"),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
}
ATTRIBUTES = {
    "result": "result",
    "hierarchy": "hierarchy",
    "peer": "peer",
    "content_type": "content_type",
    "extra": "extra",
}


def looks_like_squid(line: str) -> bool:
    return SQUID_RE.fullmatch(line) is not None


def _prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Status 000 (no reply was received or sent: an aborted or refused request) is no
    status, as `NONE/000` logs it. Squid's `error:invalid-request`,
    `error:transaction-end-before-headers` … in the URL's place (with method `NONE` or `-`)
    name no request: no method, no path."""
    records["status"] = records["status"].mask(records["status"] == "000")
    no_request = records["url"].str.startswith("error:")
    records["url"] = records["url"].mask(no_request)
    records["method"] = records["method"].mask(no_request | records["method"].isin(["NONE", "-"]))
    return records, ()


def parse_squid(data: bytes) -> Parsed:
    """Squid native access log lines. ts is the time the request completed (epoch); latency_ms
    the elapsed time (%tr, ms); client_ip the client's address; status_code the HTTP status
    sent (000, none sent: null); bytes_sent the bytes sent to the client, headers included;
    method and path (the URL as requested: absolute for proxied HTTP, `host:port` for a
    CONNECT tunnel); user_id the authenticated user (`-`: null). Squid's result code (TCP_MISS
    ...), hierarchy code, peer and content type are attributes."""
    return parse_lines(
        data,
        SQUID_RE,
        format="squid",
        expected=f"the Squid native access log format: expected {LAYOUT}",
        prepare=_prepare,
        fields=_FIELDS,
        attributes=ATTRIBUTES,
    )


SQUID = Format(
    "squid",
    parse_squid,
    looks_like_squid,
    "Squid's native access log (logformat squid)",
)
FORMATS: list[Format] = [SQUID]
