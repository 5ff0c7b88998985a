"""Amazon S3's server access log (`s3`), as AWS documents its fields:

    79a59df9… DOC-EXAMPLE-BUCKET1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df9… 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHY…= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader DOC-EXAMPLE-BUCKET1.s3.us-west-1.amazonaws.com TLSV1.2 - -

Fields AWS added over the years (signature version to ACL required) may be missing at the end;
fields it adds later are read past."""

from __future__ import annotations

import re

from transforms.formats.access import BYTES, STATUS, clf_time, parse_lines, request_line
from transforms.formats.access.values import CLF_TIME
from transforms.formats.base import Field, Format, Parsed, as_float, as_text

_QUOTED = r'"(?:[^"\\]|\\.)*"'
S3_RE = re.compile(
    rf"(?P<bucket_owner>[^ ]+) (?P<bucket>[^ ]+) \[(?P<time>{CLF_TIME})\] (?P<client_ip>[^ ]+) "
    r"(?P<requester>[^ ]+) (?P<request_id>[^ ]+) (?P<operation>[A-Z0-9_.]+|-) (?P<key>[^ ]+) "
    rf"{request_line()} (?P<status>\d{{3}}|-) (?P<error_code>[^ ]+) (?P<bytes>\d+|-) "
    r"(?P<object_size>\d+|-) (?P<total_time>\d+|-) (?P<turnaround>\d+|-) "
    rf"(?P<referer>{_QUOTED}) (?P<user_agent>{_QUOTED}) (?P<version_id>[^ ]+)"
    r"(?: (?P<host_id>[^ ]+) (?P<signature>[^ ]+) (?P<cipher>[^ ]+) (?P<auth>[^ ]+) "
    r"(?P<host>[^ ]+) (?P<tls>[^ ]+)(?: (?P<access_point>[^ ]+))?(?: (?P<acl>[^ ]+))?"
    r"(?: .*)?)?"
)
LAYOUT = (
    '\'<owner> <bucket> [<time>] <ip> <requester> <request id> <operation> <key> "<request>" '
    '<status> <error> <bytes> <size> <total ms> <turn-around ms> "<referer>" "<agent>" …\''
)
_FIELDS = {
    "ts": Field("time", clf_time, "a time like 06/Feb/2019:00:00:38 +0000"),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("requester", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
    "latency_ms": Field("total_time", as_float(), "a number of milliseconds"),
    "error_reason": Field("error_code", as_text, "text"),
}
ATTRIBUTES = {
    name: name
    for name in (
        "bucket",
        "bucket_owner",
        "request_id",
        "operation",
        "key",
        "object_size",
        "turnaround",
        "referer",
        "user_agent",
        "version_id",
        "host_id",
        "signature",
        "cipher",
        "auth",
        "host",
        "tls",
        "access_point",
        "acl",
    )
}


def looks_like_s3(line: str) -> bool:
    return S3_RE.fullmatch(line) is not None


def _unquoted(records):
    for name in ("referer", "user_agent"):
        records[name] = records[name].str.slice(1, -1)
    return records, ()


def parse_s3(data: bytes) -> Parsed:
    """S3 server access log lines. ts is the time the request was received; client_ip the
    remote IP; user_id the requester (an IAM ARN or canonical id; `-` for anonymous: null);
    method and path from the request URI (with its query); status_code; bytes_sent the bytes
    sent (`-`: null); latency_ms the total time (ms, first byte received to last byte sent);
    error_reason S3's error code (`NoSuchKey` …). The bucket, operation, key, turn-around
    time, object size, referer, user agent and the fields after them are attributes. S3's own
    operations (a lifecycle expiry) log no request and no status: quarantined as having no
    path."""
    return parse_lines(
        data,
        S3_RE,
        format="s3",
        expected=f"Amazon S3's server access log format: expected {LAYOUT}",
        prepare=_unquoted,
        fields=_FIELDS,
        attributes=ATTRIBUTES,
    )


S3 = Format("s3", parse_s3, looks_like_s3, "Amazon S3 server access logs")
FORMATS: list[Format] = [S3]
