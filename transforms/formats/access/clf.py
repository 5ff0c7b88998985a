"""The Apache/nginx Common and Combined Log Formats, with the timing fields nginx and Apache
setups append."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.access.lines import (
    HTTP_VERSION,
    METHOD,
    NUMBER,
    PAIR,
    PUMA_HINT,
    PUMA_MESSAGE,
    QUOTED,
    TIMES,
    FastSplit,
    OwnEvents,
    parse_lines,
    request_line,
)
from transforms.formats.access.values import (
    ACCESS_TIME,
    BYTES,
    CLF_TIME,
    STATUS,
    Derived,
    Input,
    Measure,
    clf_time,
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
    contains_byte,
    spelled_bytes,
)
from transforms.formats.servicelog import CONTINUATION

# Common and Combined Log Format ---------------------------------------------------------------
COMMON_LAYOUT = r"%h %l %u %t \"%r\" %>s %b"
COMBINED_LAYOUT = r"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\""
TIMING_NOTE = (
    "optionally followed by a request time (seconds like 0.123, or Apache %D microseconds), "
    'an nginx upstream response time, and key=value timings such as rt=0.255 urt="0.193"'
)
REQUEST_TIME_UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001}


FIELD = rf'(?:"{QUOTED}"|[^ "]++(?:"{QUOTED}")?+)'
"""Any one field after the user agent: quoted, bare, or a key with a quoted value
(`uct="0.001"`)."""
VHOST = r"(?P<vhost>[A-Za-z0-9][A-Za-z0-9.-]*+:\d{1,5}) "
"""`%v:%p ` before the client: Apache's `vhost_combined` (Debian's other_vhosts_access.log)."""
EXTRA_TIME = re.compile(
    rf'^ "{QUOTED}" (?P<time>\d+\.\d+)(?: (?P<upstream>{TIMES}))?(?: |$)'
    rf"|^ \d+ (?P<ingress>\d+\.\d+) \[[^\]]*\] \[[^\]]*\] "
)
"""A request time (seconds) in the fields after the user agent: after one quoted field (nginx's
`"$http_x_forwarded_for" $request_time [$upstream_response_time]`), or where ingress-nginx's
default format logs it (`$request_length $request_time [$proxy_upstream_name] [...] ...`)."""
_ADDRESS = r"(?:[0-9A-Fa-f:.]++(?:%[0-9A-Za-z]++)?+|unknown)"  # RFC 7239's unknown too
CLIENT_LIST = rf'(?P<client_list>"?{_ADDRESS}(?:"?(?:, ?| )"?{_ADDRESS})++"?|[^ "]++)'
"""`%h`, or a list of addresses where proxies log the X-Forwarded-For chain before it
(`10.0.0.2, 10.0.0.1, 85.181.35.98 - - [...]`, quoted or not): `client_address` picks the
client from it."""
SEPARATORS = re.compile(r'[", ]+')
DURATION = re.compile(r"(?:^| )(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|us|µs|s)$")
"""A duration with its unit as the last field after the user agent (Traefik's `2ms`)."""
DURATION_UNITS = {"ms": 1.0, "us": 0.001, "µs": 0.001, "s": 1000.0}


CLF_START = re.compile(rf'[^ "]++(?: [^ "]++){{2}} \[{ACCESS_TIME}\] ?"')
"""The start every Common-like access line shares: three fields, the time, a quoted request."""


def client_address(listed: str) -> str:
    """The client of an address list: its first public address (the first hop outside the
    private networks, as the X-Forwarded-For chain reads), else its first address (`unknown`
    is none)."""
    import ipaddress

    items = [item for item in SEPARATORS.split(listed) if item]
    addresses = []
    for item in items:
        try:
            address = ipaddress.ip_address(item.split("%", 1)[0])
        except ValueError:
            continue  # `unknown`, a hop that hides itself (RFC 7239)
        if address.is_global:
            return item
        addresses.append(item)
    return addresses[0] if addresses else items[0] if items else listed


def _clf_pattern(*, combined: bool, strict: bool) -> str:
    token = r'[^ "]++'
    time = ACCESS_TIME if strict else r"[^\]]*+"
    status = r"\d{3}" if strict else token
    size = r"(?:\d+|-)" if strict else token
    head = (
        rf"(?:{VHOST})?{CLIENT_LIST} (?P<ident>{token}) (?P<user>{token}) \[(?P<time>{time})\] ?"
        rf"{request_line()} (?P<status>{status}) (?P<bytes>{size})"
    )
    # key=value pairs may follow the user agent's closing quote without a space: the upstream
    # timing example in nginx's own admin guide concatenates its strings that way
    first_gap = r'(?: |(?<="))' if combined else " "
    timing = (
        rf"(?: (?P<request_time>{NUMBER}|-)(?: (?P<upstream_time>{TIMES}))?)?"
        rf"(?P<pairs>{first_gap}{PAIR}(?: {PAIR})*)?"
    )
    # ids after the bytes of a Common line (API Gateway's CLF template: the request id and the
    # extended request id): bare fields, kept as attributes
    ids = r"(?P<ids>(?: [^ \"=]++(?:=*+))++)"
    if not combined:
        return head + rf"(?:{timing}|{ids})"
    # combined: the referer and user agent (a Common line has neither, and a file may mix
    # both), then the timings, or else any number of extra fields, quoted or bare
    referer = rf'(?:"(?P<referer>{QUOTED})"|-)'  # Traefik writes an absent referer bare
    # a line may end inside its user agent, cut before the closing quote (a real line of
    # Elastic's `apache_logs` example does): the agent then runs to the end of the line
    agent = rf'(?P<agent> {referer} "(?P<user_agent>{QUOTED})(?:"|(?P<cut_agent>\Z)))?'
    return head + agent + rf"(?:{timing}|(?(agent)(?P<extra>(?: {FIELD})+)|{ids}))"


COMMON_RE = re.compile(_clf_pattern(combined=False, strict=False))
COMBINED_RE = re.compile(_clf_pattern(combined=True, strict=False))
COMMON_STRICT = re.compile(_clf_pattern(combined=False, strict=True))
COMBINED_STRICT = re.compile(_clf_pattern(combined=True, strict=True))
RT_PAIR = re.compile(r'(?:^| |")rt=(?:"(?P<v>[^"]*)"|(?P<w>[^ "]*))')
URT_PAIR = re.compile(r'(?:^| |")urt=(?:"(?P<v>[^"]*)"|(?P<w>[^ "]*))')


def looks_like_common(line: str) -> bool:
    return COMMON_STRICT.fullmatch(line) is not None


def looks_like_combined(line: str) -> bool:
    return COMBINED_STRICT.fullmatch(line) is not None


_ESCAPED = re.compile(r'((?:\\x[0-9A-Fa-f]{2})+)|\\(["\\ntrvf])')
_C_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f"}


def unescaped(text: str) -> str:
    """A request's text as the client sent it: nginx writes `"`, `\\`, control characters and
    every byte above 0x7E as `\\xHH` (a run of them is read as the UTF-8 bytes it spells,
    Windows-1252 where they are not UTF-8); Apache writes `"` and `\\` after a backslash,
    whitespace in C's notation (`\\t`) and other bytes as `\\xhh`."""
    if "\\" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return _C_ESCAPES[match.group(2)]
        return spelled_bytes(match.group(1))

    return _ESCAPED.sub(one, text)


def _prepare_clf(request_time_unit: str):
    def prepare(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
        notes: tuple[str, ...] = ()
        escaped = records["path"].str.contains("\\", regex=False).fillna(False).astype(bool)
        if escaped.any():  # the path as requested, not as the server escaped it in its log
            records.loc[escaped, "path"] = records.loc[escaped, "path"].map(unescaped)
        if "ids" in records:  # bare fields after a Common line's bytes: extra fields too
            ids = records.pop("ids").str.lstrip(" ")
            records["extra"] = records["extra"].fillna(ids) if "extra" in records else ids
        if "cut_agent" in records:
            cut = int(records.pop("cut_agent").notna().sum())
            if cut:
                notes += (
                    f"{cut} line{'s end' if cut > 1 else ' ends'} inside the user agent, before "
                    "its closing quote: the agent is read to the end of the line",
                )
        listed = records["client_list"]
        lists = listed.str.contains(r'[", ]', regex=True).fillna(False).astype(bool)
        records["client_ip"] = listed
        if lists.any():
            records.loc[lists, "client_ip"] = listed[lists].map(client_address)
        records["extra_ms"] = pd.Series(pd.NA, index=records.index, dtype="str")
        if request_time_unit == "auto":
            records, counted = _byte_counts(records)
            notes += counted
        extra = (
            records["extra"].astype("str")
            if "extra" in records
            else pd.Series(pd.NA, index=records.index, dtype="str")
        )
        if extra.notna().any():
            found = extra.str.extract(DURATION)
            factor = found["unit"].map(DURATION_UNITS)
            value = pd.to_numeric(found["value"], errors="coerce") * factor
            records["extra_ms"] = value.astype("str").where(value.notna())
        if request_time_unit == "auto" and extra.notna().any():  # seconds, as nginx logs them
            timed = extra.str.extract(EXTRA_TIME)
            seconds = timed["time"].where(timed["time"].notna(), timed["ingress"])
            untimed = records["request_time"].isna() & seconds.notna()
            records.loc[untimed, "request_time"] = seconds[untimed]
            records.loc[untimed, "upstream_time"] = timed["upstream"][untimed]
        # key=value timings after the user agent, or among the extra fields after it
        pairs = records["pairs"].fillna("")
        pairs = pairs.where(pairs != "", extra.fillna(""))
        for key, regex in (("rt", RT_PAIR), ("urt", URT_PAIR)):
            records[key] = pd.Series(pd.NA, index=records.index, dtype="str")
            if pairs.str.contains(f"{key}=", regex=False).any():
                found = pairs.str.extract(regex)
                records[key] = found["v"].where(found["v"].notna(), found["w"]).astype("str")
        if request_time_unit == "auto":
            times = records["request_time"].str.strip()
            whole = int(times.str.fullmatch(r"\d+").fillna(False).astype(bool).sum())
            if whole:
                lines = f"{whole} line{'s end' if whole > 1 else ' ends'}"
                notes = (
                    *notes,
                    f"{lines} in a whole-number request time, read as microseconds (Apache %D); "
                    "set request_time_unit=s for %T or ms for %{ms}T",
                )
        return records, notes

    return prepare


def _byte_counts(records: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Two whole numbers after the user agent are Apache's `combinedio` (`%I %O`, the bytes
    received and sent), not a request time and an upstream time (nginx logs times with a
    decimal point; Apache's %D is one number): they go to the extra fields, as logged."""
    time, upstream = records["request_time"], records["upstream_time"]
    both = upstream.notna() & records["pairs"].isna()
    if not both.any():  # the usual line: no second number
        return records, ()
    both &= time.str.fullmatch(r"\d+").fillna(False).astype(bool)
    both &= upstream.str.fullmatch(r"\d+").fillna(False).astype(bool)
    if not both.any():
        return records, ()
    moved = " " + time[both] + " " + upstream[both]
    if "extra" not in records:
        records["extra"] = pd.Series(pd.NA, index=records.index, dtype="str")
    records.loc[both, "extra"] = moved
    records.loc[both, ["request_time", "upstream_time"]] = pd.NA
    count = int(both.sum())
    return records, (
        f"{count} line{'s end' if count > 1 else ' ends'} in two whole numbers, read as "
        "Apache's combinedio byte counts (%I %O), not times: kept as attributes",
    )


def request_time(unit: str) -> Measure:
    """Request times: in `unit` (s, ms, us), or with unit 'auto' seconds where the value has a
    decimal point (nginx always prints milliseconds: 0.000) and microseconds where it is a
    whole number (Apache %D)."""
    if unit not in ("auto", *REQUEST_TIME_UNITS):
        raise FileFormatError(f"unknown request_time_unit '{unit}'; expected auto, s, ms or us")
    measure = numbers(1.0)

    def convert(text: pd.Series) -> tuple[pd.Series, pd.Series]:
        values, failed = measure(text)
        if unit != "auto":
            return values * REQUEST_TIME_UNITS[unit], failed
        seconds = text.str.contains(".", regex=False).fillna(True).astype(bool)
        return values * np.where(seconds, 1000.0, 0.001), failed

    return convert


CLF_FIELDS = {
    "ts": Field("time", clf_time, "a time like 10/Oct/2000:13:55:36 -0700"),
    "client_ip": Field("client_ip", as_text, "text"),
    "user_id": Field("user", as_text, "text"),
    "method": Field("method", as_text, "text"),
    "path": Field("path", as_text, "text"),
    "status_code": Field("status", STATUS[1], STATUS[0]),
    "bytes_sent": Field("bytes", BYTES[1], BYTES[0]),
}


CLF_ATTRIBUTES = {
    "ident": "ident",
    "referer": "referer",
    "user_agent": "user_agent",
    "extra": "extra",
    "vhost": "vhost",
}
"""What an access line logs beyond the canonical columns: the ident field where it is not `-`
(identd's answer in Apache's `%l`; lighttpd's default format logs the virtual host there), the
referer and user agent, and the extra fields after them as logged (nginx's
`"$http_x_forwarded_for"`, Traefik's router)."""


def _clf_latency(request_time_unit: str) -> Derived:
    return latency(
        Input("request_time", request_time(request_time_unit), "a number (request time)"),
        Input("rt", numbers(1000.0), "a number of seconds"),
        Input("upstream_time", number_lists(1000.0), "a number of seconds or a list of them"),
        Input("urt", number_lists(1000.0), "a number of seconds or a list of them"),
        Input("extra_ms", numbers(1.0), "a duration"),
    )


NGINX_ERROR_LINE = re.compile(
    r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?:debug|info|notice|warn|error|crit|alert|emerg)\] "
    r"\d+#\d+: .*"
)
"""A line of nginx's error log, which `docker logs` interleaves with the access log."""
NGINX_MESSAGE = re.compile(
    rf"{NGINX_ERROR_LINE.pattern}"
    r"|/?[\w./-]*docker-entrypoint(?:\.sh)?: .*|\d\d-[\w.-]+\.(?:sh|envsh): .*"
)
"""nginx's own messages in an access log: error log lines, and what the official image's
entrypoint (and its `/docker-entrypoint.d/` scripts) prints before nginx starts."""
NGINX_MESSAGE_HINT = (
    "it is a message of nginx itself (its error log, or its Docker image starting), not a request"
)
GUNICORN_ERROR_LINE = re.compile(
    r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [+-]\d{4})?\] \[\d+\] "
    r"\[(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\] .*"
)
"""A line of gunicorn's error log."""
GUNICORN_MESSAGE = re.compile(rf"{GUNICORN_ERROR_LINE.pattern}|(?:{CONTINUATION.pattern}).*")
"""gunicorn's error log (its start, its workers, their timeouts, with the tracebacks it
prints), which `docker logs` shows beside its access log (both go to the container's output
with `--access-logfile -`)."""
GUNICORN_MESSAGE_HINT = (
    "it is a message of gunicorn itself (its error log: start, workers, tracebacks), not a request"
)


APACHE_ERROR_LINE = re.compile(
    r"\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,6})? \d{4}\] "
    r"\[(?:[\w-]*:)?(?:emerg|alert|crit|error|warn|notice|info|debug|trace[1-8])\] .*"
)


def _apache_error_log(data: bytes) -> Parsed:
    from transforms.formats.layouts.servers import APACHE_ERROR  # (the layouts import this)

    return APACHE_ERROR.parse(data)


def _nginx_error_log(data: bytes) -> Parsed:
    from transforms.formats.layouts.servers import NGINX_ERROR  # (the layouts import this)

    return NGINX_ERROR.parse(data)


def _gunicorn_error_log(data: bytes) -> Parsed:
    from transforms.formats.layouts.python import PYTHON

    return PYTHON.parse(data)


APACHE_MESSAGE = re.compile(r"AH\d{5}: .*")
"""Apache httpd's messages on its error output before its error log is open (`AH00558:
httpd: Could not reliably determine the server's fully qualified domain name ...`), as the
official image's `docker logs` shows them first: no time."""
APACHE_MESSAGE_HINT = (
    "it is a message of Apache httpd itself (at start-up, with no time), not a request"
)
NGINX_ERROR_EVENTS = OwnEvents("nginx's error log", NGINX_ERROR_LINE, _nginx_error_log)
SERVER_EVENTS = (
    NGINX_ERROR_EVENTS,
    OwnEvents("Apache's error log", APACHE_ERROR_LINE, _apache_error_log),
    OwnEvents("gunicorn's error log", GUNICORN_ERROR_LINE, _gunicorn_error_log, CONTINUATION),
)
"""The servers' own log lines that `docker logs` shows among their access lines, each with its
time and level: kept as log events (service `nginx`, `httpd`, `gunicorn.error`), not
quarantined."""


def _looks_like(name: str, strict: re.Pattern[str]) -> Callable[[pd.Series], pd.Series]:
    """A hint for lines rejected by one format that another one would take, or that nginx,
    gunicorn, Puma or Apache wrote itself."""

    def hint(texts: pd.Series) -> pd.Series:
        looks = np.fromiter((strict.fullmatch(t) is not None for t in texts), dtype=bool)
        own = np.fromiter((NGINX_MESSAGE.fullmatch(t) is not None for t in texts), dtype=bool)
        gunicorn = np.fromiter(
            (GUNICORN_MESSAGE.fullmatch(t) is not None for t in texts), dtype=bool
        )
        puma = np.fromiter((PUMA_MESSAGE.fullmatch(t) is not None for t in texts), dtype=bool)
        apache = np.fromiter((APACHE_MESSAGE.fullmatch(t) is not None for t in texts), dtype=bool)
        return pd.Series(
            np.select(
                [looks, own, gunicorn, puma, apache],
                [
                    f"it looks like a {name} line",
                    NGINX_MESSAGE_HINT,
                    GUNICORN_MESSAGE_HINT,
                    PUMA_HINT,
                    APACHE_MESSAGE_HINT,
                ],
                None,
            ),
            index=texts.index,
            dtype="str",
        )

    return hint


_NULL_TEXT = pa.scalar(None, pa.large_string())
_REQUEST = re.compile(
    rf"^(?P<method>{METHOD}) (?P<path>[^ \"]+(?: [^ \"]+)*?){HTTP_VERSION}$"
).pattern
_TIME_TOKEN = rf"^(?:{NUMBER}|-)$"


SPLIT_CHUNK = 131_072
"""Lines split at once: bounds the intermediate lists to a few tens of MB."""
_METHOD_TOKEN = rf"^{METHOD}$"
_VERSION_TOKEN = r"^HTTP/\d+(?:\.\d+)?$"


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask.fill_null(False)).as_py())


def clf_fast_split(*, combined: bool) -> FastSplit:
    """Common/combined lines split on their quotes and spaces, for lines whose layout leaves
    no choice: no backslash, exactly the format's quotes (2 or 6), single spaces between
    fields, and after the status and size at most one request time. Any other line (escaped
    quotes, key=value timings, upstream timings, a missing field) is left to the regex."""
    quotes = 6 if combined else 2

    def split(lines: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
        backslash = contains_byte(lines.buffers()[2], ord("\\")) if len(lines) else False
        chunks = [
            _clf_chunk(lines.slice(start, SPLIT_CHUNK), quotes, combined, backslash)
            for start in range(0, len(lines), SPLIT_CHUNK)
        ]
        done = np.concatenate([d for _, d in chunks]) if chunks else np.zeros(0, bool)
        columns = {
            name: pa.concat_arrays([c[name] for c, _ in chunks])
            if chunks
            else pa.array([], pa.large_string())
            for name in (
                "client_list",
                "ident",
                "user",
                "time",
                "method",
                "path",
                "status",
                "bytes",
            )  # fmt: skip
            + ("request_time",)
            + (("referer", "user_agent") if combined else ())
        }
        empty = pa.nulls(int(done.sum()), pa.large_string())
        columns.update(
            upstream_time=empty,
            pairs=empty,
            agent=empty,
            extra=empty,
            vhost=empty,
            ids=empty,
            cut_agent=empty,
        )
        if not combined:
            columns.update(referer=empty, user_agent=empty)
        return columns, done

    return split


def _clf_chunk(
    lines: pa.Array, quotes: int, combined: bool, backslash: bool
) -> tuple[dict[str, pa.Array], np.ndarray]:
    parts = pc.split_pattern(lines, '"')
    ok = pc.equal(pc.list_value_length(parts), quotes + 1)
    if backslash:
        ok = pc.and_kleene(ok, pc.invert(pc.match_substring(lines, "\\")))
    if not _all(ok):
        parts = pc.if_else(ok, parts, pa.scalar([""] * (quotes + 1), parts.type))

    head = pc.split_pattern(pc.list_element(parts, 0), " ", max_splits=3)
    four = pc.equal(pc.list_value_length(head), 4)
    if not _all(four):
        ok = pc.and_kleene(ok, four)
        head = pc.if_else(four, head, pa.scalar(["", "", "", ""], head.type))
    client_ip, ident, user, stamp = (pc.list_element(head, i) for i in range(4))
    for token in (client_ip, ident, user):
        ok = pc.and_kleene(ok, pc.greater(pc.binary_length(token), 0))
    ok = pc.and_kleene(ok, pc.starts_with(stamp, "["))
    ok = pc.and_kleene(ok, pc.ends_with(stamp, "] "))
    time = pc.utf8_slice_codeunits(stamp, 1, -2)
    ok = pc.and_kleene(ok, pc.invert(pc.match_substring(time, "]")))

    # the request: 'METHOD PATH[ HTTP/x.y]' gives method and path; anything else neither
    request = pc.split_pattern(pc.list_element(parts, 1), " ")
    words = pc.list_value_length(request)
    two, three = pc.equal(words, 2), pc.equal(words, 3)
    ok = pc.and_kleene(ok, pc.less_equal(words, 3))
    padded = pc.if_else(
        pc.or_kleene(two, three),
        request,
        pa.scalar(["", "", ""], request.type),
    )
    first, second = pc.list_element(padded, 0), pc.list_element(padded, 1)
    version = pc.list_element(pc.if_else(three, padded, pa.scalar(["", "", ""], request.type)), 2)
    version_ok = pc.match_substring_regex(version, _VERSION_TOKEN)
    # three words whose last is not a version: the regex's lazy path takes 'a b': leave it
    ok = pc.and_kleene(ok, pc.or_kleene(pc.invert(three), version_ok))
    is_request = pc.and_kleene(
        pc.and_kleene(pc.or_kleene(two, three), pc.match_substring_regex(first, _METHOD_TOKEN)),
        pc.greater(pc.binary_length(second), 0),
    )
    method = pc.if_else(is_request, first, _NULL_TEXT)
    path = pc.if_else(is_request, second, _NULL_TEXT)

    middle = pc.list_element(parts, 2)  # ' STATUS BYTES ' or ' STATUS BYTES[ TIME]'
    if combined:
        ok = pc.and_kleene(ok, pc.ends_with(middle, " "))
        ok = pc.and_kleene(ok, pc.equal(pc.list_element(parts, 4), " "))
        middle = pc.utf8_slice_codeunits(middle, 0, -1)
    ok = pc.and_kleene(ok, pc.starts_with(middle, " "))
    fields = pc.split_pattern(pc.utf8_slice_codeunits(middle, 1), " ")
    count = pc.list_value_length(fields)
    wanted = pc.equal(count, 2) if combined else pc.or_kleene(
        pc.equal(count, 2), pc.equal(count, 3)
    )  # fmt: skip
    if not _all(wanted):
        ok = pc.and_kleene(ok, wanted)
        fields = pc.if_else(wanted, fields, pa.scalar(["", "", ""], fields.type))
    status, size = pc.list_element(fields, 0), pc.list_element(fields, 1)
    ok = pc.and_kleene(ok, pc.greater(pc.binary_length(status), 0))
    ok = pc.and_kleene(ok, pc.greater(pc.binary_length(size), 0))
    if combined:  # after the user agent: nothing, or ' TIME'
        tail = pc.list_element(parts, 6)
        has_time = pc.greater(pc.binary_length(tail), 0)
        ok = pc.and_kleene(ok, pc.or_kleene(pc.invert(has_time), pc.starts_with(tail, " ")))
        request_time = pc.if_else(has_time, pc.utf8_slice_codeunits(tail, 1), _NULL_TEXT)
    else:
        has_time = pc.equal(count, 3)
        third = pc.list_element(
            pc.if_else(has_time, fields, pa.scalar(["", "", ""], fields.type)), 2
        )
        request_time = pc.if_else(has_time, third, _NULL_TEXT)
    valid_time = pc.match_substring_regex(request_time, _TIME_TOKEN)
    ok = pc.and_kleene(ok, pc.or_kleene(pc.invert(has_time), valid_time))
    done = ok.fill_null(False).to_numpy(zero_copy_only=False)
    columns = {
        "client_list": client_ip,
        "ident": ident,
        "user": user,
        "time": time,
        "method": method,
        "path": path,
        "status": status,
        "bytes": size,
        "request_time": request_time,
    }
    if combined:
        columns.update(referer=pc.list_element(parts, 3), user_agent=pc.list_element(parts, 5))
    if not done.all():
        keep = pa.array(done)
        columns = {name: pc.filter(values, keep) for name, values in columns.items()}
    return {name: values.cast(pa.large_string()) for name, values in columns.items()}, done


def parse_common(data: bytes, *, request_time_unit: str = "auto") -> Parsed:
    """Common Log Format lines (`%h %l %u %t "%r" %>s %b`), optionally followed by timings as
    `parse_combined` describes."""
    return _parse_clf(data, combined=False, request_time_unit=request_time_unit)


def parse_combined(data: bytes, *, request_time_unit: str = "auto") -> Parsed:
    """Combined Log Format lines (Common + `"%{Referer}i" "%{User-agent}i"`), optionally
    followed by, in this order:

    - a request time: `0.123` (nginx `$request_time`, seconds) or `1234` (Apache `%D`,
      microseconds): a value with a decimal point is seconds, a whole number microseconds,
      unless `request_time_unit` is s, ms or us;
    - after it, an upstream response time (nginx `$upstream_response_time`: seconds, '-', or a
      list `0.010, 0.120 : 0.003` when several upstreams were tried, summed: the client waited
      for every attempt in turn);
    - `key=value` pairs (`rt=0.255 uct="0.001" uht="0.190" urt="0.193"`): rt is the request
      time and urt the upstream response time, both in seconds; other keys are ignored.

    latency_ms is the request time, or where none was logged, the upstream response time."""
    return _parse_clf(data, combined=True, request_time_unit=request_time_unit)


def _parse_clf(data: bytes, *, combined: bool, request_time_unit: str) -> Parsed:
    name, layout, regex = (
        ("combined", COMBINED_LAYOUT, COMBINED_RE)
        if combined
        else ("common", COMMON_LAYOUT, COMMON_RE)
    )
    other, other_strict = ("common", COMMON_STRICT) if combined else ("combined", COMBINED_STRICT)
    return parse_lines(
        data,
        regex,
        format=name,
        expected=f"the {name} log format: expected `{layout}`, {TIMING_NOTE}",
        prepare=_prepare_clf(request_time_unit),
        fields=CLF_FIELDS,
        derived={"latency_ms": _clf_latency(request_time_unit)},
        hint=_looks_like(f"{other} log format", other_strict),
        fast=clf_fast_split(combined=combined),
        attributes=CLF_ATTRIBUTES,
        events=SERVER_EVENTS,
    )


# mod_ssl's request log ---------------------------------------------------------------------------
SSL_REQUEST_LAYOUT = r'[%t] %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b'
SSL_REQUEST_RE = re.compile(
    rf'\[(?P<time>[^\]]*+)\] (?P<client_ip>[^ "]++) (?P<protocol>[^ "]++) (?P<cipher>[^ "]++) '
    rf"{request_line()} (?P<bytes>[^ \"]++)"
)
SSL_REQUEST_STRICT = re.compile(
    rf'\[{CLF_TIME}\] [^ "]++ (?:SSLv[23]|TLSv1(?:\.[0-3])?|-) [^ "]++ {request_line()} (?:\d+|-)'
)
SSL_REQUEST_FIELDS = {
    name: CLF_FIELDS[name] for name in ("ts", "client_ip", "method", "path", "bytes_sent")
}


def looks_like_apache_ssl(line: str) -> bool:
    return SSL_REQUEST_STRICT.fullmatch(line) is not None


def parse_apache_ssl(data: bytes) -> Parsed:
    """mod_ssl's request log, Apache's default `ssl_request_log` (`[%t] %h %{SSL_PROTOCOL}x
    %{SSL_CIPHER}x "%r" %b`): time, client, method, path and bytes; it logs no status."""
    return parse_lines(
        data,
        SSL_REQUEST_RE,
        format="apache_ssl",
        expected=f"the mod_ssl request log format: expected `{SSL_REQUEST_LAYOUT}`",
        prepare=lambda records: (records, ()),
        fields=SSL_REQUEST_FIELDS,
        attributes={"ssl_protocol": "protocol", "ssl_cipher": "cipher"},
    )


APACHE_SSL = Format(
    "apache_ssl",
    parse_apache_ssl,
    looks_like_apache_ssl,
    f"Apache mod_ssl request log `{SSL_REQUEST_LAYOUT}` (no status)",
)
COMMON = Format(
    "common",
    parse_common,
    looks_like_common,
    f"Apache/nginx Common Log Format `{COMMON_LAYOUT}`, {TIMING_NOTE}",
)
COMBINED = Format(
    "combined",
    parse_combined,
    looks_like_combined,
    f"Apache/nginx Combined Log Format `{COMBINED_LAYOUT}`, {TIMING_NOTE}",
)
