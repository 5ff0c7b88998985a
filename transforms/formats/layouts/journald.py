"""systemd's journal exported as JSON (`journalctl -o json`), one entry per line, as events:

    {"__REALTIME_TIMESTAMP":"1700000000123456","PRIORITY":"6","SYSLOG_IDENTIFIER":"sshd","_PID":"812","_HOSTNAME":"web1","MESSAGE":"Accepted publickey for ops"}

The time is `__REALTIME_TIMESTAMP` (microseconds since the epoch), the level `PRIORITY` (a
syslog severity, 0-7), the service `SYSLOG_IDENTIFIER`, else `_COMM`, else `_SYSTEMD_UNIT`; the
message `MESSAGE` (a byte array, as journalctl writes non-UTF-8 text, is decoded). The host,
pid and unit are attributes; an entry without PRIORITY is INFO (journald's default for
stdout)."""

from __future__ import annotations

import json
import re

import pandas as pd

from transforms.formats.attributes import COLUMN_PREFIX
from transforms.formats.base import as_timestamp
from transforms.formats.layouts.core import Layout
from transforms.formats.layouts.levels import syslog_severity

HEADER = re.compile(r"\s*\{.*\"__REALTIME_TIMESTAMP\"\s*:.*\}\s*$", re.DOTALL)
ATTRIBUTES = {
    "_HOSTNAME": "host",
    "_PID": "pid",
    "_SYSTEMD_UNIT": "unit",
    "_TRANSPORT": "transport",
}


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # non-UTF-8 text: an array of byte values
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value)


def _entries(records: pd.DataFrame) -> pd.DataFrame:
    n = len(records)
    columns: dict[str, list[str | None]] = {
        name: [None] * n for name in ("timestamp", "level", "service", "message")
    }
    for name in ATTRIBUTES.values():
        columns[COLUMN_PREFIX + name] = [None] * n
    for i, raw in enumerate(records["raw"].tolist()):
        try:
            entry = json.loads(raw)
        except ValueError:
            columns["timestamp"][i] = "(the line is not valid JSON)"
            continue
        if not isinstance(entry, dict):
            columns["timestamp"][i] = "(the line is not a JSON object)"
            continue
        columns["timestamp"][i] = _text(entry.get("__REALTIME_TIMESTAMP"))
        columns["level"][i] = _text(entry.get("PRIORITY"))
        columns["service"][i] = _text(
            entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or entry.get("_SYSTEMD_UNIT")
        )
        columns["message"][i] = _text(entry.get("MESSAGE"))
        for key, name in ATTRIBUTES.items():
            columns[COLUMN_PREFIX + name][i] = _text(entry.get(key))
    for name, values in columns.items():
        records[name] = pd.Series(values, index=records.index, dtype="str")
    return records


def _micros(text: pd.Series, as_of: pd.Timestamp | None = None) -> pd.Series:
    return as_timestamp()(text)


JOURNALD = Layout(
    "journald",
    HEADER,
    _micros,
    "a JSON object with __REALTIME_TIMESTAMP (journalctl -o json)",
    time_what="a time in microseconds since the epoch (__REALTIME_TIMESTAMP)",
    level=syslog_severity,
    default_level="INFO",
    finish=_entries,
    continuation=None,
)

FORMATS = [JOURNALD.format("systemd journal as JSON (journalctl -o json)")]
