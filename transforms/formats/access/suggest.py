"""The nginx `log_format` template nearest to an access line no named format reads: each of
the line's fields named after what it holds (its time, request, status, bytes, addresses,
timings, `key=value` pairs), the fields it cannot name as `$field_N`, checked against the
line before it is offered."""

from __future__ import annotations

import re

from transforms.formats.access.nginx import compile_template
from transforms.formats.base import REQUEST_LINE, FileFormatError

FIELD = re.compile(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s"\[]+(?:"(?:[^"\\]|\\.)*")?')
"""A field of an access line: a quoted string, a bracketed one, or a run of other characters
(which may end in a quoted value: `urt="0.004"`)."""
ADDRESS = re.compile(r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*[0-9A-Fa-f])")
CLF_TIME = re.compile(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(?:\.\d{1,9})? [+-]\d{4}")
"""nginx's `$time_local` (with milliseconds, as Apache can write it)."""
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")
EPOCH = re.compile(r"1\d{9}\.\d{3}")
STATUS = re.compile(r"[1-5]\d\d")
METHOD = re.compile(r"[A-Z][A-Z0-9_-]*")
TARGET = re.compile(r"(?:/|[a-z][a-z0-9+.-]*://)\S*|\*")
SECONDS = re.compile(r"\d+\.\d+")
PAIR = re.compile(r"([A-Za-z_][\w-]*)=(.*)")
PAIR_VARIABLES = {
    "rt": "request_time",
    "request_time": "request_time",
    "urt": "upstream_response_time",
    "upstream_response_time": "upstream_response_time",
    "uct": "upstream_connect_time",
    "uht": "upstream_header_time",
    "ua": "upstream_addr",
    "upstream": "upstream_addr",
    "upstream_addr": "upstream_addr",
    "us": "upstream_status",
    "cs": "upstream_cache_status",
    "host": "host",
}
"""`key=value` fields of widely copied nginx templates (nginx's own `rt= uct= uht= urt=`
example), and the variable each key logs; any other key is logged under its own name."""


MAX_LENGTH = 2000
MAX_FIELDS = 40
"""Lines longer or with more fields get no template: checking one against them could take
the regex long."""


def layout(line: str) -> tuple[str, ...]:
    """The kind of each of a line's fields (quoted, bracketed, a `key=` pair, or bare): lines
    of one log_format have one layout."""
    out = []
    for found in FIELD.finditer(line):
        text = found.group()
        pair = PAIR.fullmatch(text)
        out.append(text[0] if text[0] in '"[' else f"{pair.group(1)}=" if pair else "_")
    return tuple(out)


def nearest_template(line: str) -> str | None:
    """An nginx log_format template that reads `line` with its time and request in their
    columns, or None when the line has no time or request line to build one around."""
    fields = list(FIELD.finditer(line))
    if len(line) > MAX_LENGTH or len(fields) > MAX_FIELDS or not fields:
        return None
    # fields apart, by spaces and tabs only: adjacent ones, or a stray quote, have no template
    gaps = [line[a.end() : b.start()] for a, b in zip(fields, fields[1:], strict=False)]
    if any(not gap or gap.strip(" \t") for gap in gaps) or (
        line[: fields[0].start()] + line[fields[-1].end() :]
    ).strip(" \t"):
        return None
    named: list[str] = []
    used: set[str] = set()

    def take(variable: str) -> str:
        used.add(variable)
        return f"${variable}"

    for k, found in enumerate(fields):
        text = found.group()
        quoted = text.startswith('"')
        inner = text[1:-1] if quoted or text.startswith("[") else text
        last = named[-1] if named else ""
        if text.startswith("["):
            if CLF_TIME.fullmatch(inner) and not used & {"time_local", "time_iso8601"}:
                named.append(f"[{take('time_local')}]")
            elif ISO_TIME.fullmatch(inner) and not used & {"time_local", "time_iso8601"}:
                named.append(f"[{take('time_iso8601')}]")
            else:
                named.append(f"[$field_{k + 1}]")
            continue
        if quoted:
            if not used & {"request", "request_uri"} and REQUEST_LINE.match(inner):
                named.append(f'"{take("request")}"')
            elif (
                "status" in used
                and "http_referer" not in used
                and (inner in ("", "-") or "://" in inner)
            ):
                named.append(f'"{take("http_referer")}"')
            elif "status" in used and "http_user_agent" not in used:
                named.append(f'"{take("http_user_agent")}"')
            elif (
                "http_user_agent" in used
                and "http_x_forwarded_for" not in used
                and (inner == "-" or ADDRESS.match(inner))
            ):
                named.append(f'"{take("http_x_forwarded_for")}"')
            else:
                named.append(f'"$field_{k + 1}"')
            continue
        pair = PAIR.fullmatch(text)
        if pair and not ADDRESS.fullmatch(text):
            key, value = pair.groups()
            variable = PAIR_VARIABLES.get(key.lower(), re.sub(r"\W", "_", key).lower())
            if variable in used:
                variable = f"field_{k + 1}"
            value_quoted = value.startswith('"') and value.endswith('"') and len(value) > 1
            named.append(f'{key}="{take(variable)}"' if value_quoted else f"{key}={take(variable)}")
            continue
        with_port = text.count(":") == 1
        timed = bool(used & {"time_local", "time_iso8601", "msec"})
        following = fields[k + 1].group() if k + 1 < len(fields) else ""
        if (
            "remote_addr" not in used
            and not used & {"request", "request_uri"}
            and (ADDRESS.fullmatch(text.rsplit(":", 1)[0] if with_port else text))
        ):
            named.append(take("remote_addr") + (f":{take('remote_port')}" if with_port else ""))
        elif last.startswith("$remote_addr") and text == "-" and not timed:
            named.append("-")  # CLF's identd field, always `-`
        elif not timed and "remote_addr" in used and following.startswith("["):
            named.append(take("remote_user"))
        elif ISO_TIME.fullmatch(text) and not timed:
            named.append(take("time_iso8601"))
        elif EPOCH.fullmatch(text) and not timed:
            named.append(take("msec"))
        elif (
            not used & {"request", "request_method"}
            and METHOD.fullmatch(text)
            and TARGET.fullmatch(following)
        ):
            named.append(take("request_method"))
        elif last == "$request_method":
            named.append(take("request_uri"))
        elif last in ('"$request"', "$request_uri") and STATUS.fullmatch(text):
            named.append(take("status"))
        elif last == "$status" and (text.isdigit() or text == "-"):
            named.append(take("body_bytes_sent"))
        elif SECONDS.fullmatch(text) and "request_time" not in used and timed:
            named.append(take("request_time"))
        else:
            named.append(f"$field_{k + 1}")
    if not used & {"time_local", "time_iso8601", "msec"} or not used & {"request", "request_uri"}:
        return None
    parts, position = [], 0
    for found, name in zip(fields, named, strict=True):
        parts.append(line[position : found.start()])
        parts.append(name)
        position = found.end()
    parts.append(line[position:])
    template = "".join(parts)
    try:
        compiled = compile_template(template)
    except FileFormatError:
        return None
    return template if compiled.regex.fullmatch(line) else None


def shell_quoted(text: str) -> str:
    """`text` in single quotes for a POSIX shell (an nginx template holds `$` and `"`)."""
    return "'" + text.replace("'", "'\\''") + "'"
