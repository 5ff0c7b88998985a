"""Azure Storage Analytics logging (`azure_storage`): the classic request logs of Blob, Queue
and Table storage in the `$logs` container, one request per line, fields separated by `;`,
as Microsoft documents their format (version 1.0; 2.0 adds Azure AD fields at the end):

    1.0;2014-06-19T01:34:36.0000000Z;GetBlob;Success;200;109;107;authenticated;myaccount;myaccount;blob;"https://myaccount.blob.core.windows.net/thumbnails/lake.jpg?timeout=30000";"/myaccount/thumbnails/lake.jpg";a84aa705-8a85-48c5-b064-b43bd22979c1;0;10.1.2.3:4567;2009-09-19;252;0;265;100;0;;;"0x8D15A2913C934DE";Thursday, 19-Jun-14 01:34:36 GMT;;;;"6/19/2014 1:34:36 AM"

The request's HTTP method is not logged: the operation (`GetBlob`, `PutBlob`) is an
attribute. Azure Monitor's resource logs (`StorageBlobLogs`), which replace these, are JSON:
`jsonl` reads them."""

from __future__ import annotations

import re

from transforms.formats.access import BYTES, STATUS, iso_time, parse_lines
from transforms.formats.base import Field, Format, Parsed, as_float, as_text

_FIELD = r"[^;\"]*"
_QUOTED = r'"(?:[^"]|"")*"|[^;"]*'
AZURE_STORAGE_RE = re.compile(
    r"(?P<version>[12]\.0);"
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z);"
    rf"(?P<operation>[A-Za-z]+);(?P<request_status>{_FIELD});(?P<status>\d{{3}});"
    r"(?P<end_to_end_ms>\d*);(?P<server_ms>\d*);"
    rf"(?P<authentication>{_FIELD});(?P<requester_account>{_FIELD});(?P<owner_account>{_FIELD});"
    rf"(?P<storage_service>{_FIELD});(?P<url>{_QUOTED});(?P<object_key>{_QUOTED});"
    rf"(?P<request_id>{_FIELD});(?P<operation_count>\d*);(?P<client>{_FIELD});"
    rf"(?P<api_version>{_FIELD});(?P<request_header_bytes>\d*);(?P<request_packet_bytes>\d*);"
    r"(?P<response_header_bytes>\d*);(?P<bytes>\d*);(?P<request_content_length>\d*);"
    rf"(?P<request_md5>{_QUOTED});(?P<server_md5>{_QUOTED});(?P<etag>{_QUOTED});"
    rf"(?P<last_modified>{_FIELD});(?P<conditions>{_QUOTED});(?P<user_agent>{_QUOTED});"
    rf"(?P<referer>{_QUOTED});(?P<client_request_id>{_QUOTED})"
    r"(?:;(?P<rest>.*))?"
)
LAYOUT = (
    "'<version>;<start time>;<operation>;<status text>;<http status>;<end-to-end ms>;"
    '<server ms>;<auth>;<requester>;<owner>;<service>;"<url>";…\' (Storage Analytics)'
)
_FIELDS = {
    "ts": Field("time", iso_time, "an ISO 8601 time"),
    "service": Field("storage_service", as_text, "text"),
    "path": Field("url", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "latency_ms": Field("end_to_end_ms", as_float(), "a number of milliseconds"),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("requester_account", as_text, "text"),
}
ATTRIBUTES = {
    name: name
    for name in (
        "version",
        "operation",
        "request_status",
        "server_ms",
        "authentication",
        "owner_account",
        "object_key",
        "request_id",
        "api_version",
        "request_content_length",
        "etag",
        "user_agent",
        "referer",
        "client_request_id",
    )
}


def looks_like_azure_storage(line: str) -> bool:
    return AZURE_STORAGE_RE.fullmatch(line) is not None


def _unquoted(records):
    """Quoted fields without their quotes (a quote inside one is doubled); the client without
    its port (`10.1.2.3:4567`, `[2001:db8::1]:4567`)."""
    for name in ("url", "object_key", "etag", "user_agent", "referer", "client_request_id"):
        values = records[name]
        quoted = values.str.startswith('"', na=False)
        records[name] = values.where(
            ~quoted, values.str.slice(1, -1).str.replace('""', '"', regex=False)
        )
    client = records["client"].str.replace(r"^\[([^\]]*)\]:\d+$", r"\1", regex=True)
    records["client_ip"] = client.str.replace(r"^([^:]*):\d+$", r"\1", regex=True)
    return records.drop(columns=["client", "rest"], errors="ignore"), ()


def parse_azure_storage(data: bytes) -> Parsed:
    """Storage Analytics log lines. ts is when the request was received; service the storage
    service (blob, queue, table); path the request URL (scheme and host are dropped when the
    endpoint is made); status_code the HTTP status; latency_ms the end-to-end latency (the
    server's latency is an attribute); bytes_sent the response packet size; client_ip the
    requester's address without its port; user_id the requester's account (empty for
    anonymous requests: null). The operation, request status, authentication, owner, object
    key, request id, API version, ETag, user agent and referer are attributes."""
    return parse_lines(
        data,
        AZURE_STORAGE_RE,
        format="azure_storage",
        expected=f"Azure Storage Analytics log format: expected {LAYOUT}",
        prepare=_unquoted,
        fields=_FIELDS,
        attributes=ATTRIBUTES,
    )


AZURE_STORAGE = Format(
    "azure_storage",
    parse_azure_storage,
    looks_like_azure_storage,
    "Azure Storage Analytics request logs (classic Blob, Queue and Table logging)",
)
FORMATS: list[Format] = [AZURE_STORAGE]
