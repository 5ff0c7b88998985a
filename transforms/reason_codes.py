"""Stable codes for quarantine reasons: the reason sentences name the bad value ("status:
'2x0' is not an integer status code"), which is what a person needs and what makes `group by
reasons` useless; `reason_code` keeps the kind of problem and the field, never the value
("invalid_status"), so that quarantine can be counted by cause."""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

_FIELD = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]{0,40}): (?P<rest>.*)$", re.S)
_FIELD_KINDS = (
    (re.compile(r"^'.*' is not |^.* is not (?:a|an) "), "invalid"),
    (re.compile(r"^expected [<>]=? |^expected (?:at least|at most) "), "out_of_range"),
    (re.compile(r"^missing"), "missing"),
    (re.compile(r"is in the future"), "future"),
)
_SENTENCES = (
    ("does not match", "format_mismatch"),
    ("line contains NUL bytes", "nul_bytes"),
    ("not valid UTF-8", "invalid_utf8"),
    ("file is empty", "empty_file"),
    ("could not detect the format", "unknown_format"),
    ("ambiguous format", "unknown_format"),
    ("gzip data is truncated or corrupt", "corrupt_gzip"),
    (" data is truncated or corrupt", "corrupt_compressed"),
    ("a zip archive of ", "archive"),
    ("a tar archive", "archive"),
    ("not a log file", "not_a_log"),
    ("matches no known layout", "unknown_header"),
    ("a JSON array", "json_array"),
    ("repeated header", "repeated_header"),
    ("malformed quoting", "malformed_quoting"),
    ("continuation line with no log line before it", "orphan_continuation"),
    ("no #Fields: line before it", "w3c_no_fields"),
    ("names no date and time", "w3c_no_time"),
    ("names no ts field", "zeek_no_time"),
    ("the #Fields: line", "w3c_field_count"),
    ("it is a connection notice", "not_a_request"),
    (", not a request", "not_a_request"),
)
_HINTS = ("it looks like", "the line has ")
_FIELD_COUNT = re.compile(r"^expected \d+ fields")
_WORDS = re.compile(r"[a-z]+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")


@lru_cache(maxsize=4096)
def _shape(reason: str) -> str:
    """The code of one reason sentence."""
    reason = reason.strip()
    if reason.startswith("line ") and ": " in reason:  # a file-level error names its line
        reason = reason.split(": ", 1)[1]
    for needle, code in _SENTENCES:
        if needle in reason:
            return code
    if reason.startswith(_HINTS):  # a hint after a format mismatch: no code of its own
        return ""
    if _FIELD_COUNT.match(reason):
        return "field_count"
    field = _FIELD.match(reason)
    if field:
        name = field["field"].lower().replace(".", "_")
        for pattern, kind in _FIELD_KINDS:
            if pattern.search(field["rest"]):
                return f"{kind}_{name}"
        return f"bad_{name}"
    words = _WORDS.findall(_QUOTED.sub("", reason.lower()))[:5]
    return "_".join(words) or "unreadable"


def reason_code(reasons: str) -> str:
    """The codes of a record's '; '-separated reasons, each once, in order, joined by ';'."""
    codes: list[str] = []
    for part in reasons.split("; "):
        code = _shape(_QUOTED.sub("''", part) if "'" in part else part)
        if code and code not in codes:
            codes.append(code)
    return ";".join(codes) or "unreadable"


def reason_codes(reasons: pd.Series) -> pd.Series:
    """`reason_code` of every reasons string."""
    return reasons.astype("str").map(reason_code).astype("str")
