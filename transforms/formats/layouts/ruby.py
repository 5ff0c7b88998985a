"""Ruby's `Logger` layout as events, and Rails' request lines in it as requests:

    I, [2024-05-16T10:20:33.101234 #12345]  INFO -- : [a1b2c3d4-...] Started GET "/articles/42" for 203.0.113.7 at 2024-05-16 10:20:33 +0000
    I, [2024-05-16T10:20:33.115678 #12345]  INFO -- : [a1b2c3d4-...] Completed 200 OK in 14ms (Views: 6.1ms | ActiveRecord: 2.3ms)

The service is the logger's progname when it has one; the pid and Rails' log tags (the request
id, with `config.log_tags = [:request_id]`, the default of a new app's production config) are
attributes. A `Completed` line is the request (its status and duration), with the method, path
and client of the `Started` line of the same tags, which stays an event; without tags the two
cannot be told apart from other requests' lines, so they are not paired. A line of lograge's
key=value or JSON formatter (`method=GET path=/jobs status=200 duration=58.33 …`) is a request
on its own, its duration in ms, its other keys attributes."""

from __future__ import annotations

import re

import orjson
import pandas as pd

from transforms.formats.access.lines import PUMA_HINT, PUMA_MESSAGE
from transforms.formats.attributes import COLUMN_PREFIX
from transforms.formats.layouts.core import LATENCY_FACTOR, Layout, iso_time
from transforms.formats.layouts.levels import level_words
from transforms.formats.servicelog import KEY_VALUE, unquoted

HEADER = re.compile(
    r"[DIWEFAU], \[(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?) #(?P<pid>\d+)\] +"
    r"(?P<level>DEBUG|INFO|WARN|ERROR|FATAL|ANY|UNKNOWN) -- (?P<service>[^:]*?): "
    r"(?P<message>.*)$",
    re.DOTALL,
)
TAGS = re.compile(r"((?:\[[^\]\n]*\] ?)+)")
STARTED = re.compile(r'Started (?P<method>[A-Z]+) "(?P<path>[^"]*)" for (?P<client>\S+) at ')
COMPLETED = re.compile(r"Completed (?P<status>\d{3})\b.*? in (?P<ms>\d+(?:\.\d+)?)ms")
LOGRAGE = re.compile(r"method=\S+ path=\S+ .*\bstatus=\d{3}\b")
"""A request line of lograge's default key=value formatter (`duration` in ms)."""
LOGRAGE_COLUMNS = {"method": "method", "path": "path", "status": "status_code"}


def _lograge(message: str) -> list[tuple[str, str]] | None:
    """The (key, text) pairs of a lograge request line, key=value or JSON; None for others."""
    if LOGRAGE.match(message):
        return [(key, unquoted(value)) for key, value in KEY_VALUE.findall(message)]
    if not message.startswith("{"):
        return None
    try:
        value = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict or not {"method", "path", "status"} <= value.keys():
        return None
    return [
        (key, item if isinstance(item, str) else orjson.dumps(item).decode())
        for key, item in value.items()
        if item is not None
    ]


def _rails_requests(records: pd.DataFrame) -> pd.DataFrame:
    """Log tags to an attribute; each `Completed` line to a request with its status, duration
    and the method, path and client of its `Started` line (same tags), which becomes an event."""
    n = len(records)
    tags: list[str | None] = [None] * n
    messages: list[str | None] = []
    columns: dict[str, list[str | None]] = {
        name: [None] * n for name in ("method", "path", "client_ip", "status_code", "latency_ms")
    }
    started: dict[str, int] = {}  # tags -> the row of its last Started line not yet completed
    extra: dict[str, list[str | None]] = {}  # lograge's other keys
    for i, message in enumerate(records["message"].tolist()):
        message = message or ""
        match = TAGS.match(message)
        if match:
            tags[i] = match.group(1).strip()
            message = message[match.end() :]
        messages.append(message or None)
        pairs = _lograge(message)
        if pairs is not None:
            for key, value in pairs:
                if key in LOGRAGE_COLUMNS:
                    columns[LOGRAGE_COLUMNS[key]][i] = value
                elif key == "duration":
                    columns["latency_ms"][i] = value
                else:
                    extra.setdefault(f"{COLUMN_PREFIX}{key}", [None] * n)[i] = value
            continue
        begun = STARTED.match(message)
        if begun:
            columns["method"][i], columns["path"][i], columns["client_ip"][i] = begun.groups()
            if tags[i]:
                started[tags[i]] = i
            continue
        done = COMPLETED.match(message)
        if done:
            columns["status_code"][i], columns["latency_ms"][i] = done.groups()
            first = started.pop(tags[i], None) if tags[i] else None
            if first is not None:  # the request is this line; its Started line an event
                for name in ("method", "path", "client_ip"):
                    columns[name][i], columns[name][first] = columns[name][first], None
    records["message"] = pd.Series(messages, index=records.index, dtype="str")
    records[f"{COLUMN_PREFIX}tags"] = pd.Series(tags, index=records.index, dtype="str")
    for name, values in {**columns, **extra}.items():
        records[name] = pd.Series(values, index=records.index, dtype="str")
    records[LATENCY_FACTOR] = pd.Series(1.0, index=records.index, dtype="float64")
    return records


def _ruby_level(text: pd.Series) -> pd.Series:
    """Ruby's levels; ANY (Logger::UNKNOWN, a message always logged, whatever its level) is
    INFO."""
    return level_words(text.replace({"ANY": "INFO", "UNKNOWN": "INFO"}))


EXPECTED = "'<L>, [<time> #<pid>] <LEVEL> -- <progname>: <message>' (Ruby's Logger, Rails)"


RUBY = Layout(
    "ruby",
    HEADER,
    iso_time,
    EXPECTED,
    time_what="a time like 2024-05-16T10:20:33.101234",
    level=_ruby_level,
    finish=_rails_requests,
    own_lines=(PUMA_MESSAGE, PUMA_HINT),  # Puma's and `rails server`'s own start-up lines
)
FORMATS = [RUBY.format("Ruby's Logger (Rails' production.log): L, [time #pid] LEVEL -- prog: msg")]
