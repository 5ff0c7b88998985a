"""The template tables built from request events and a mapping of masked messages to
templates: `log_messages_hourly` (the vocabulary, per hour), `log_templates_minutely` and
`log_templates`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.requests import Request as R
from schemas.templates import LogMessagesHourly, LogTemplates, LogTemplatesMinutely
from transforms.metrics.events import (
    UNKNOWN,
    US_PER_HOUR,
    US_PER_MINUTE,
    Groups,
    as_table,
    code,
    empty,
    finish,
    hour_starts,
    minute_starts,
    ts_us,
)
from transforms.templates.masking import mask_codes

EXAMPLES = 3
"""Raw example messages kept per template."""


class Logged:
    """The events that logged a level and a message, their messages masked (each distinct
    message once)."""

    def __init__(self, requests: pd.DataFrame | pa.Table):
        table = as_table(requests)
        if R.message in table.column_names and R.level in table.column_names:
            keep = pc.and_(pc.is_valid(table.column(R.message)), pc.is_valid(table.column(R.level)))
            table = table.filter(keep)
        else:
            table = table.slice(0, 0)
        self.size = table.num_rows
        self.ts = ts_us(table) if self.size else np.zeros(0, np.int64)
        self.service = code(table, R.service).with_default(UNKNOWN)
        self.level = code(table, R.level)
        if self.size:
            raw = pc.dictionary_encode(table.column(R.message).combine_chunks())
            self.raw_codes = raw.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            self.raw_values = np.asarray(raw.dictionary.to_pylist(), dtype=object)
            self.masked_codes, masked = mask_codes(raw.dictionary)
            self.masked_values = np.asarray(masked.to_pylist(), dtype=object)
        else:
            self.raw_codes = self.masked_codes = np.zeros(0, np.int64)
            self.raw_values = self.masked_values = np.array([], dtype=object)
        # each row's masked message: the masked form of its raw message
        self.masked = self.masked_codes[self.raw_codes] if self.size else np.zeros(0, np.int64)


Events = pd.DataFrame | pa.Table | Logged
"""Request events, or those of them already masked (`Logged`, to mask them once for both
tables of an hour)."""


def logged(requests: Events) -> Logged:
    return requests if isinstance(requests, Logged) else Logged(requests)


def log_messages_hourly(requests: Events, validate: bool = True) -> pd.DataFrame:
    """One row per (hour_start, service, masked message) among the events that logged a level
    and a message: events, first and last time, and the raw message of the first (ties: the
    smallest text)."""
    e = logged(requests)
    if not e.size:
        return empty(LogMessagesHourly)
    g = Groups([e.ts // US_PER_HOUR, e.service.codes, e.masked])
    raw_rank = np.argsort(np.argsort(e.raw_values.astype(str), kind="stable"))[e.raw_codes]
    order = np.lexsort((raw_rank, e.ts, g.ids))
    ids = g.ids[order]
    firsts = order[np.r_[True, ids[1:] != ids[:-1]]]
    lasts = order[np.r_[ids[1:] != ids[:-1], True]]
    first_of = np.empty(g.count, np.int64)
    first_of[g.ids[firsts]] = firsts
    last_ts = np.empty(g.count, np.int64)
    last_ts[g.ids[lasts]] = e.ts[lasts]
    frame = pd.DataFrame(
        {
            LogMessagesHourly.hour_start: hour_starts(g.keys[0]),
            LogMessagesHourly.service: e.service.values[g.keys[1]],
            LogMessagesHourly.message: e.masked_values[g.keys[2]],
            LogMessagesHourly.events: g.size(),
            LogMessagesHourly.first_seen: _times(e.ts[first_of]),
            LogMessagesHourly.last_seen: _times(last_ts),
            LogMessagesHourly.example: e.raw_values[e.raw_codes[first_of]],
        }
    )
    return finish(LogMessagesHourly, frame, validate)


def _times(us: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(us, unit="us", utc=True))


def log_templates_minutely(
    requests: Events, mapping: pd.DataFrame, validate: bool = True
) -> pd.DataFrame:
    """One row per (minute_start, service, template_id, level): the events that logged a level
    and a message, by the template of their masked message. `mapping` (service, message,
    template_id) must hold every (service, masked message) of the events."""
    e = logged(requests)
    if not e.size:
        return empty(LogTemplatesMinutely)
    pairs = Groups([e.service.codes, e.masked])
    keys = pd.DataFrame(
        {
            "service": e.service.values[pairs.keys[0]].astype(str),
            "message": e.masked_values[pairs.keys[1]].astype(str),
        }
    )
    found = keys.merge(
        mapping[["service", "message", "template_id"]].astype(str),
        on=["service", "message"],
        how="left",
        validate="one_to_one",
    )
    missing = found["template_id"].isna()
    if missing.any():
        first = found[missing].iloc[0]
        raise KeyError(
            f"no template for the message '{first.message}' of service '{first.service}': "
            "mine the service's messages first"
        )
    template_codes, template_values = pd.factorize(found["template_id"])
    per_row = template_codes[pairs.ids]
    g = Groups([e.ts // US_PER_MINUTE, e.service.codes, per_row, e.level.codes])
    frame = pd.DataFrame(
        {
            LogTemplatesMinutely.minute_start: minute_starts(g.keys[0]),
            LogTemplatesMinutely.service: e.service.values[g.keys[1]],
            LogTemplatesMinutely.template_id: np.asarray(template_values, dtype=object)[g.keys[2]],
            LogTemplatesMinutely.level: e.level.values[g.keys[3]],
            LogTemplatesMinutely.events: g.size(),
        }
    )
    return finish(LogTemplatesMinutely, frame, validate)


def log_templates(
    messages: pd.DataFrame, mapping: pd.DataFrame, validate: bool = True
) -> pd.DataFrame:
    """One row per (service, template_id) from `log_messages_hourly` rows (any hours) and the
    mapping of their masked messages to templates: times, events, and as examples the first
    raw message of each of its masked messages, earliest first, up to `EXAMPLES`."""
    if messages.empty:
        return empty(LogTemplates)
    m = LogMessagesHourly
    by_message = messages.sort_values(
        [m.service, m.message, m.first_seen, m.example], kind="stable"
    ).groupby([m.service, m.message], sort=False, as_index=False, observed=True)
    per_message = by_message.agg(
        events=(m.events, "sum"),
        first_seen=(m.first_seen, "min"),
        last_seen=(m.last_seen, "max"),
        example=(m.example, "first"),
    )
    per_message[m.service] = per_message[m.service].astype(str)
    per_message[m.message] = per_message[m.message].astype(str)
    joined = per_message.merge(
        mapping[["service", "message", "template_id", "template"]].astype(str),
        on=["service", "message"],
        how="left",
        validate="one_to_one",
    )
    if joined["template_id"].isna().any():
        raise KeyError("a masked message has no template: mine the service's messages first")
    joined = joined.sort_values(
        ["service", "template_id", "first_seen", "example"], kind="stable", ignore_index=True
    )
    grouped = joined.groupby(["service", "template_id"], sort=True, as_index=False)
    out = grouped.agg(
        template=("template", "first"),
        first_seen=("first_seen", "min"),
        last_seen=("last_seen", "max"),
        events=("events", "sum"),
        examples=("example", lambda values: json.dumps(list(dict.fromkeys(values))[:EXAMPLES])),
    )
    frame = out[list(LogTemplates.to_schema().columns)]
    return finish(LogTemplates, frame, validate)
