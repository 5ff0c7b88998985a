"""JSON lines (one JSON object per line, as structured loggers write them), with canonical
columns read from dotted key paths chosen per file or configured.

Split by concern: `keys` (which key feeds each column, and its conversion), `objects` (JSON
objects read one by one), `arrow` (the one-pass Arrow reader) and `parse` (the format itself);
this module is the public API."""

from transforms.formats.jsonl.arrow import ARROW_BLOCK
from transforms.formats.jsonl.keys import (
    DEFAULT_KEYS,
    LATENCY_UNITS,
    NUMERIC,
    SAMPLE,
    TIME_UNITS,
    JsonField,
    JsonMapping,
)
from transforms.formats.jsonl.objects import Column
from transforms.formats.jsonl.parse import FORMATS, looks_like_jsonl, parse_jsonl

__all__ = [
    "ARROW_BLOCK",
    "DEFAULT_KEYS",
    "FORMATS",
    "LATENCY_UNITS",
    "NUMERIC",
    "SAMPLE",
    "TIME_UNITS",
    "Column",
    "JsonField",
    "JsonMapping",
    "looks_like_jsonl",
    "parse_jsonl",
]
