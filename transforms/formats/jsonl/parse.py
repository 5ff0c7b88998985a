"""Parsing JSON lines into typed candidates: the fast Arrow path when it applies, else object
by object, naming every bad line and key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import orjson
import pandas as pd

from transforms.formats.attributes import ATTRIBUTES, COLUMN_PREFIX, object_leaves
from transforms.formats.base import (
    CANDIDATE_TYPES,
    LINE_NUMBER,
    RAW,
    CleanLines,
    Field,
    FileFormatError,
    Format,
    Parsed,
    build,
    clean_lines,
    rejects_frame,
    split_lines,
)
from transforms.formats.embedded import message_requests
from transforms.formats.jsonl.arrow import read_with_arrow
from transforms.formats.jsonl.keys import (
    DEFAULT_KEYS,
    NUMERIC,
    SAMPLE,
    JsonField,
    JsonMapping,
    as_time,
    choose_keys,
    converter,
    expectation,
)
from transforms.formats.jsonl.objects import Column, column_from, load_objects, refusing, values_at

CLEF_TIME = "@t"
"""The time key of Serilog's compact JSON (CLEF), which writes no `@l` for Information."""


def json_object(line: str) -> dict | None:
    """The JSON object on a line, None when the line holds none."""
    if not line.lstrip().startswith("{"):
        return None
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if type(value) is dict else None


def other_times(parsed: Parsed, keys: tuple[JsonField, ...], chosen: str) -> None:
    """ts of the records without the chosen key, from the other time keys (Traefik's own
    entries have `time` where its access entries have `StartUTC`; zap's own lines `ts` where
    a middleware's request lines have `time`)."""
    candidates = parsed.candidates
    if "ts" not in candidates or not candidates["ts"].isna().any():
        return
    rows = np.flatnonzero(candidates["ts"].isna().to_numpy())
    objects = [json_object(raw) or {} for raw in parsed.raw(rows)]
    for spec in keys:
        if spec.path == chosen:
            continue
        values = pd.Series(values_at(objects, spec.path), dtype="object")
        usable = values.map(lambda v: isinstance(v, str | int | float) and not isinstance(v, bool))
        if not usable.any():
            continue
        times = as_time(values.where(usable).astype("str").where(usable))
        fill = times.notna().to_numpy()
        candidates.loc[candidates.index[rows[fill]], "ts"] = times[fill].to_numpy()
        rows = rows[~fill]
        objects = [o for o, filled in zip(objects, fill, strict=True) if not filled]
        if not len(rows):
            return


def looks_like_jsonl(line: str) -> bool:
    return line.lstrip().startswith("{")


def parse_jsonl(
    data: bytes, *, mapping: JsonMapping | None = None, format: str = "jsonl"
) -> Parsed:
    """`read_jsonl`; with the default keys, a record without the chosen time key takes its
    time from another of them (`other_times`)."""
    parsed = read_jsonl(data, mapping=mapping, format=format)
    return finish_default_keys(parsed) if mapping is None else parsed


def finish_default_keys(parsed: Parsed) -> Parsed:
    """For records read with keys chosen from the defaults (by this file, or by the first
    piece of the file it is a piece of): `other_times` over the default time keys,
    `paired_requests`, `access_messages`, `platform_events`, then `plain_events`."""
    if parsed.mapping:
        chosen = dict((t, p) for t, p, _ in parsed.mapping).get("ts")
        other_times(parsed, DEFAULT_KEYS["ts"], chosen)
    paired_requests(parsed)
    access_messages(parsed.candidates)
    platform_events(parsed.candidates)
    return plain_events(parsed)


FAILED_INVOCATION = frozenset({"failure", "error", "timeout"})
"""The `record.status` of an AWS Lambda platform event about an invocation that failed."""


def platform_events(candidates: pd.DataFrame) -> None:
    """AWS Lambda's platform events in its JSON log format (`{"time": ..., "type":
    "platform.report", "record": {...}}`), which log no message or level: an event each, its
    type as the message, ERROR when the invocation failed (`record.status`), else INFO."""
    if ATTRIBUTES not in candidates or not len(candidates):
        return
    bare = candidates[ATTRIBUTES].notna()
    for column in ("message", "level", "path"):
        if column in candidates:
            bare &= candidates[column].isna()
    if not bare.any():
        return
    rows, messages, levels = [], [], []
    for row, text in candidates.loc[bare, ATTRIBUTES].items():
        attributes = json_object(text) or {}
        kind = attributes.get("type")
        if not isinstance(kind, str) or not kind.startswith("platform."):
            continue
        rows.append(row)
        messages.append(kind)
        failed = attributes.get("record.status") in FAILED_INVOCATION
        levels.append("ERROR" if failed else "INFO")
    if not rows:
        return
    for column, values in (("message", messages), ("level", levels)):
        if column not in candidates:
            candidates[column] = pd.Series(index=candidates.index, dtype="str")
        candidates.loc[rows, column] = values


def access_messages(candidates: pd.DataFrame) -> None:
    """A record without a path whose message is an access line (a web server's or a
    middleware's line logged through winston, pino, Quarkus' JSON logging: see
    `embedded.message_requests`) is that request, its values typed as the columns are."""
    if "message" not in candidates or not len(candidates):
        return
    messages = candidates["message"]
    if "path" in candidates:
        messages = messages[candidates["path"].isna()]
    found = message_requests(messages)
    if found is None:
        return
    for column in found.columns:
        values = found[column]
        if column in ("status_code", "bytes_sent", "latency_ms"):
            values = pd.to_numeric(values, errors="coerce")
        dtype = CANDIDATE_TYPES[column]
        if column not in candidates:
            candidates[column] = pd.Series(index=candidates.index, dtype=dtype)
        present = values.notna()
        candidates.loc[values.index[present], column] = values[present].astype(dtype)


def plain_events(parsed: Parsed) -> Parsed:
    """Records with a message but neither a level nor a request (pm2's and a runtime's JSON
    around a program's output, a logger that writes no level) are INFO events, as a syslog
    line without its PRI is; the notes count them."""
    candidates = parsed.candidates
    if "message" not in candidates or not len(candidates):
        return parsed
    plain = candidates["message"].notna()
    for column in ("level", "path"):
        if column in candidates:
            plain &= candidates[column].isna()
    count = int(plain.sum())
    if not count:
        return parsed
    if "level" not in candidates:
        candidates["level"] = pd.Series(pd.NA, index=candidates.index, dtype="str")
    candidates.loc[plain, "level"] = "INFO"
    records = f"{count} record{'s' if count != 1 else ''}"
    note = f"{records} with a message and no level or request kept as INFO events"
    return replace(parsed, notes=(*parsed.notes, note))


PAIRED = (
    ("incoming request", "request completed", "reqId"),  # Fastify
    ("request_started", "request_finished", "request_id"),  # django-structlog
    ("request_started", "request_failed", "request_id"),
)
"""Loggers that write a request in two lines: (message when it arrives, message when its
response is sent, the key that ties them)."""


def paired_requests(parsed: Parsed) -> None:
    """Fastify logs a request in two lines with one `reqId`: `incoming request` (method, URL,
    client) and `request completed` (status, response time); django-structlog likewise
    (`request_started`, `request_finished` with its `code`). The completed line becomes the
    request, with the method, path and client of its incoming line where it logs none; the
    incoming line stays an event (its level and message). An incoming line without its
    completed one stays a request without a status."""
    for arrived, answered, key in PAIRED:
        _pair(parsed.candidates, arrived, answered, key)


def _pair(candidates: pd.DataFrame, arrived: str, answered: str, key: str) -> None:
    if not {"message", "path", "status_code", ATTRIBUTES} <= set(candidates.columns):
        return
    message = candidates["message"]
    incoming = (message == arrived) & candidates["path"].notna() & candidates["status_code"].isna()
    completed = message == answered
    if not incoming.any() or not completed.any():
        return

    def request_ids(rows: pd.Series) -> pd.Series:
        texts = candidates.loc[rows, ATTRIBUTES]
        ids = [(json_object(t) or {}).get(key) if isinstance(t, str) else None for t in texts]
        return pd.Series(ids, index=texts.index, dtype="object").dropna()

    starts = request_ids(incoming)
    starts = pd.Series(starts.index, index=starts.to_numpy()).groupby(level=0).first()
    ends = request_ids(completed)
    ends = ends[ends.isin(starts.index)]
    if ends.empty:
        return
    firsts = starts.loc[ends.to_numpy()].to_numpy()
    for column in ("method", "path", "client_ip"):
        if column in candidates:
            values = candidates.loc[firsts, column].to_numpy()
            keep = candidates.loc[ends.index, column]
            candidates.loc[ends.index, column] = keep.where(keep.notna(), values)
    candidates.loc[firsts, ["method", "path"] if "method" in candidates else ["path"]] = None


def file_keys(
    data: bytes | memoryview, stop: int, format: str = "jsonl"
) -> tuple[tuple[tuple[str, str, str | None], ...], str] | None:
    """The keys `read_jsonl` chooses with no mapping for `data[:stop]` (from its first SAMPLE
    JSON objects), as a mapping for `registry.parse`, with the note it makes of them; None
    when none can be chosen (its parse says why). Lets the pieces of a file all be read at
    once with its keys."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    objects: list[dict] = []
    size = 1 << 20
    while True:
        head = bytes(data[: min(size, stop)])
        lines = head.removeprefix(b"\xef\xbb\xbf").split(b"\n")
        if size < stop:
            lines.pop()  # may be cut
        objects = []
        for line in lines:
            try:
                value = loads(line)
            except decode_error:
                continue
            if type(value) is dict:
                objects.append(value)
                if len(objects) == SAMPLE:
                    break
        if len(objects) == SAMPLE or size >= stop:
            break
        size *= 4
    try:
        chosen, how = choose_keys(objects, None, 1)
    except FileFormatError:
        return None
    chosen = {t: chosen[t] for t in CANDIDATE_TYPES if t in chosen}
    note = f"{format} keys mapped with the {how}: {mapped_note(chosen)}"
    return tuple((t, s.path, s.unit) for t, s in chosen.items()), note


def read_jsonl(data: bytes, *, mapping: JsonMapping | None = None, format: str = "jsonl") -> Parsed:
    """Records from one JSON object per line. A line that is not valid JSON or not an object
    is rejected; so is one whose mapped value has the wrong type (an object, array or boolean,
    or text that is not a number where a number is expected), naming the key. Without a
    mapping, each column's key is chosen per file from `DEFAULT_KEYS`; a mapping names exactly
    the columns to read. `notes` says which key each column came from. `data` may also be a
    view of a file's bytes (a piece of it), not copied unless the file is not clean."""
    clean = clean_lines(data)
    if clean is not None:
        sample = clean.texts(SAMPLE)
        refuse_documents(data, 1, sample[0])
        fast = read_with_arrow(data, clean.count, sample, mapping)
        if fast is not None:
            return fast_parsed(fast, clean, format)
    data = bytes(data)  # line by line
    lines = split_lines(data)
    if len(lines.texts):
        refuse_documents(data, int(lines.numbers[0]), lines.texts.iat[0])
    objects, kept, bad = load_objects(lines.texts.tolist())
    bad_at = [i for i, _ in bad]
    line_rejects = pd.concat(
        [
            lines.rejects,
            rejects_frame(lines.numbers[bad_at], lines.texts.iloc[bad_at], [r for _, r in bad]),
        ],
        ignore_index=True,
    )
    first_line = int(lines.numbers[kept[0]]) if kept else 0
    chosen, how = choose_keys(objects[:SAMPLE], mapping, first_line)
    numbers = lines.numbers
    records = pd.DataFrame(
        {
            LINE_NUMBER: pd.array(numbers[kept], dtype="Int64"),
            RAW: lines.texts.iloc[kept].reset_index(drop=True),
        }
    )

    def column_of(path: str, numeric: bool) -> Column:
        return column_from(values_at(objects, path), numeric)

    extras = object_leaves(objects, frozenset(spec.path for spec in chosen.values()))
    return keyed(
        records,
        chosen,
        how,
        column_of,
        extras,
        format=format,
        records_read=len(lines.texts) + len(lines.rejects),
        rejects=line_rejects,
    )


def keyed(
    records: pd.DataFrame,
    chosen: dict[str, JsonField],
    how: str,
    column_of: Callable[[str, bool], Column],
    extras: dict[str, pd.Series],
    **build_options,
) -> Parsed:
    """Typed candidates from the records and one column per chosen key (`column_of(path,
    numeric)`), each column named after its key for the reasons (unless the name is taken);
    `extras` (dotted path -> text) are the unmapped leaves, kept as attributes."""
    chosen = {t: chosen[t] for t in CANDIDATE_TYPES if t in chosen}  # the reasons' order
    columns: dict[str, Column] = {}
    fields: dict[str, Field] = {}
    for target, spec in chosen.items():
        source = spec.path if spec.path not in (LINE_NUMBER, RAW) else f"{spec.path} (key)"
        if source not in columns:
            numeric = any(t in NUMERIC for t, s in chosen.items() if s.path == spec.path)
            columns[source] = column_of(spec.path, numeric)
            records[source] = columns[source].text
        column = columns[source]
        convert = converter(target, spec, column.numbers)
        fields[target] = Field(source, refusing(convert, column.wrong), expectation(target, spec))
    attributes = {}
    for path, values in extras.items():
        attributes[path] = f"{COLUMN_PREFIX}{path}"
        records[attributes[path]] = values.set_axis(records.index)
    fmt = build_options["format"]
    parsed = build(
        records,
        fields,
        notes=(f"{fmt} keys mapped with the {how}: {mapped_note(chosen)}",),
        attributes=attributes,
        **build_options,
    )
    if "status_code" in parsed.candidates:  # 0: no response was sent (Envoy, Go servers)
        status = parsed.candidates["status_code"]
        parsed.candidates["status_code"] = status.mask(status == 0)
    if "ts" in chosen and chosen["ts"].path == CLEF_TIME and len(parsed.candidates):
        # Serilog's compact JSON leaves out the level of Information events
        level = parsed.candidates.get("level")
        parsed.candidates["level"] = (
            pd.Series("INFO", index=parsed.candidates.index, dtype="str")
            if level is None
            else level.fillna("INFO")
        )
    return replace(parsed, mapping=tuple((t, s.path, s.unit) for t, s in chosen.items()))


def fast_parsed(fast, clean: CleanLines, format: str) -> Parsed:
    """The Parsed of a file read by `read_with_arrow`: every line a record, raw text looked up
    only for the records rejected later."""
    chosen, how, columns_by_path, extras = fast
    records = pd.DataFrame({LINE_NUMBER: pd.array(np.arange(1, clean.count + 1), dtype="Int64")})
    return keyed(
        records,
        chosen,
        how,
        lambda path, _numeric: columns_by_path[path],
        extras,
        format=format,
        records_read=clean.count,
        rejects=rejects_frame(),
        raw_lines=clean.lookup,
    )


def mapped_note(chosen: dict[str, JsonField]) -> str:
    return (
        ", ".join(
            f"{t} <- {s.path}" + (f" ({s.unit})" if s.unit and t in ("ts", "latency_ms") else "")
            for t, s in chosen.items()
        )
        or "none"
    )


def refuse_documents(data: bytes, number: int, first: str) -> None:
    """A file that is one JSON array (on one line or pretty-printed), or whose objects are
    pretty-printed over several lines, is not JSON lines. A one-line array followed by object
    lines is only a bad line, rejected on its own."""
    first = first.strip()
    if first == "{":
        raise FileFormatError(
            f"line {number}: a JSON object spread over several lines (pretty-printed), not JSON "
            "lines: expected one JSON object per line"
        )
    if not first.startswith("["):
        return
    try:
        whole = orjson.loads(bytes(data).removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        found = f"found one array of {len(whole)} element{'' if len(whole) == 1 else 's'}"
    else:
        try:
            orjson.loads(first)
            return
        except orjson.JSONDecodeError:
            found = "found an array that opens on this line and does not parse as a whole"
    raise FileFormatError(
        f"line {number}: a JSON array, not JSON lines: expected one JSON object per line, {found}"
    )


FORMATS = [
    Format(
        "jsonl",
        parse_jsonl,
        looks_like_jsonl,
        "JSON lines: one JSON object per line (structured application or access logs)",
    )
]
