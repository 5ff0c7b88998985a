"""IIS's own log file format (`iis`), the fixed, comma-separated layout IIS offers beside W3C
extended (its default, read by `w3c`) and NCSA (read by `common`), as Microsoft documents it:

    192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif, -,

client IP, user name, date (month/day/year), time, service and instance, server name,
server IP, time taken (ms), bytes received, bytes sent, status, Windows status, request
method, target, parameters (the query, `-` for none). IIS writes this format in the server's
local time, without an offset: taken as UTC."""

from __future__ import annotations

import re

from transforms.formats.access import CLF_FIELDS, parse_lines
from transforms.formats.base import Field, Format, Parsed, as_float, as_timestamp

_VALUE = r"[^,]*"
IIS_RE = re.compile(
    r"(?P<client_ip>[^, ]+), (?P<user>[^,]+), (?P<date>\d{1,2}/\d{1,2}/\d{2}(?:\d{2})?), "
    r"(?P<clock>\d{1,2}:\d\d:\d\d), (?P<site>[^, ]+), (?P<server>[^, ]+), "
    r"(?P<server_ip>[^, ]+), (?P<time_taken>\d+|-), (?P<bytes_received>\d+|-), "
    r"(?P<bytes>\d+|-), (?P<status>\d+|-), (?P<win32_status>\d+|-), "
    rf"(?P<method>[^, ]+), (?P<target>[^, ]+), (?P<parameters>{_VALUE}),?"
)
LAYOUT = (
    "'<client>, <user>, <m/d/y>, <time>, <service>, <server>, <server ip>, <ms>, "
    "<bytes received>, <bytes sent>, <status>, <windows status>, <method>, <target>, "
    "<parameters>,' (IIS's W3C extended logs are `w3c`)"
)
_FIELDS = {
    "ts": Field(
        "time",
        as_timestamp(("%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S")),
        "a date and time like 03/20/01 7:55:20",
    ),
    **{name: field for name, field in CLF_FIELDS.items() if name != "ts"},
    "latency_ms": Field("time_taken", as_float(), "a number of milliseconds"),
}
ATTRIBUTES = {
    name: name for name in ("site", "server", "server_ip", "bytes_received", "win32_status")
}


def looks_like_iis(line: str) -> bool:
    return IIS_RE.fullmatch(line) is not None


def _prepared(records):
    """The date and time as one value, the target with its parameters as the path, and a
    status of 0 (a request IIS sent no HTTP response to) as none."""
    records["time"] = records["date"] + " " + records["clock"]
    query = records["parameters"].str.strip()
    has_query = query.notna() & ~query.isin(["", "-"])
    records["path"] = records["target"].where(~has_query, records["target"] + "?" + query)
    records["status"] = records["status"].mask(records["status"] == "0")
    return records.drop(columns=["date", "clock", "target", "parameters"]), ()


def parse_iis(data: bytes) -> Parsed:
    """IIS log file format lines. ts is the date and time (local, taken as UTC); client_ip,
    user_id (`-`, anonymous: null), method, path (the target, with its parameters as the
    query), status_code (0: none), bytes_sent and latency_ms (time taken, ms) as logged; the
    service and instance (`W3SVC2`), server name and address, bytes received and Windows
    status are attributes."""
    return parse_lines(
        data,
        IIS_RE,
        format="iis",
        expected=f"IIS's log file format: expected {LAYOUT}",
        prepare=_prepared,
        fields=_FIELDS,
        attributes=ATTRIBUTES,
    )


IIS = Format(
    "iis",
    parse_iis,
    looks_like_iis,
    "IIS's own log file format (comma-separated; its W3C extended logs are `w3c`)",
)
FORMATS: list[Format] = [IIS]
