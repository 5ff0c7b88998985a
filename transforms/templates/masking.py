"""Masking the variable parts of log messages (numbers, hex, ids, addresses, paths, times)
before templates are mined, applied to each distinct message once, with Arrow's RE2 engine.

The masks are Drain3's masking instructions (`drain3.masking.MaskingInstruction`: a pattern
and the name of its mask), written for RE2, which has no look-around: a pattern that needs the
character before it as a boundary captures it in group 1 and puts it back. They are generic,
never tuned to a particular log: the order matters, longer shapes first (a timestamp before
the numbers in it, an IPv4 address before its octets, a UUID before its hex groups)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from drain3.masking import MaskingInstruction

_START = r"(^|[^A-Za-z0-9_.\-/])"
"""What may come before a masked token: the start, or a character that is not part of a
word, a number, an id or a path (captured, then put back)."""

_MASKS: tuple[tuple[str, str, bool], ...] = (
    # (RE2 pattern, mask name, whether group 1 is the boundary before it)
    (
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?)?\b",
        "TS",
        False,
    ),
    (r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "TS", False),
    (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", "EMAIL", False),
    (r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+", "URL", False),
    (
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "UUID",
        False,
    ),
    (r"\b(?:[0-9a-fA-F]{2}[:\-]){5}[0-9a-fA-F]{2}\b", "MAC", False),
    (
        r"(?:\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"
        r"|\b(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?\b"
        r"|::(?:[fF]{4}:)?[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*\b)",
        "IP",
        False,
    ),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b", "IP", False),
    (r"\b[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+:\d{1,5}\b", "HOST", False),
    (r"(^|[\s=:\"'(\[,])(?:[A-Za-z]:\\|~?/)[^\s\"'(),\[\]]*", "PATH", True),
    (r"\b0[xX][0-9a-fA-F]+\b", "HEX", False),
    (
        r"\b(?:[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F]|[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9])"
        r"[0-9a-fA-F]*\b",
        "HEX",
        False,
    ),
    (
        _START + r"[-+]?\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|secs|seconds|m|min|mins|minutes"
        r"|h|hours)\b",
        "DURATION",
        True,
    ),
    (_START + r"[-+]?\d+(?:\.\d+)*\b", "NUM", True),
)

MASK_PREFIX, MASK_SUFFIX = "<", ">"

MASKING = tuple(MaskingInstruction(pattern, name) for pattern, name, _ in _MASKS)
"""The masks as Drain3 masking instructions (Drain3 itself applies them with Python's `re`;
logcast applies the same patterns with RE2 over distinct messages, `mask_messages`)."""


def _replacement(name: str, bounded: bool) -> str:
    token = f"{MASK_PREFIX}{name}{MASK_SUFFIX}"
    return rf"\1{token}" if bounded else token


def mask_messages(messages: pa.Array | pa.ChunkedArray | list[str]) -> pa.Array:
    """Each message with its variable parts replaced by `<TS>`, `<EMAIL>`, `<URL>`, `<UUID>`,
    `<MAC>`, `<IP>`, `<HOST>` (a host name with a port), `<PATH>`, `<HEX>`, `<DURATION>` or `<NUM>` (nulls stay null). Pass
    distinct messages: the cost is per message."""
    array = messages if isinstance(messages, pa.Array | pa.ChunkedArray) else pa.array(messages)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_string())
    for pattern, name, bounded in _MASKS:
        array = pc.replace_substring_regex(array, pattern, _replacement(name, bounded))
    return array.cast(pa.string())


def mask_codes(messages: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(per row, the code of its masked message or -1 for null; the distinct masked messages),
    masking each distinct message once."""
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    encoded = pc.dictionary_encode(messages)
    masked = mask_messages(encoded.dictionary)
    again = pc.dictionary_encode(masked)  # distinct messages may share a masked form
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    remap = again.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    out = np.where(codes >= 0, remap[np.maximum(codes, 0)] if len(remap) else -1, -1)
    return out, again.dictionary
