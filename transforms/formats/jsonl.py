"""JSON lines (one JSON object per line, as structured loggers write them), with canonical
columns read from dotted key paths chosen per file or configured."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from transforms.formats.base import (
    CANDIDATE_TYPES,
    EPOCH_UNITS,
    LINE_NUMBER,
    RAW,
    CleanLines,
    Converter,
    Field,
    FileFormatError,
    Format,
    Parsed,
    as_int,
    as_text,
    as_timestamp,
    build,
    clean_lines,
    iso_fast,
    rejects_frame,
    split_lines,
)
from transforms.formats.servicelog import as_duration_ms, as_level

LATENCY_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "ns": 0.000_001}
TIME_UNITS = ("s", "ms", "us", "ns")
NUMERIC = frozenset({"ts", "latency_ms", "status_code", "bytes_sent"})
"""Columns whose JSON numbers are converted as numbers, not through text."""
SAMPLE = 1000
"""Records looked at to choose each column's key."""


@dataclass(frozen=True)
class JsonField:
    """Where a canonical column comes from in each object: a key, or a dotted path into nested
    objects (a literal key containing the dots is tried first), and a unit. For latency_ms the
    unit of bare numbers: ms (default), s, us or ns (strings like '250ms' carry their own). For
    ts: 'auto' (default: ISO 8601, or epoch seconds/ms/us/ns by magnitude), an epoch unit (s,
    ms, us, ns) or a strptime format."""

    path: str
    unit: str | None = None


JsonMapping = Mapping[str, "str | JsonField"]


def _keys(*paths: str, unit: str | None = None) -> tuple[JsonField, ...]:
    return tuple(JsonField(p, unit) for p in paths)


DEFAULT_KEYS: dict[str, tuple[JsonField, ...]] = {
    "ts": _keys("timestamp", "time", "@timestamp", "ts"),
    "service": _keys("service", "service.name", "app"),
    "method": _keys("method", "http.method", "request.method", "req.method", "http.request.method"),
    "path": _keys(
        "path", "endpoint", "url", "request.path", "uri", "request.url", "req.url", "url.path"
    ),
    "status_code": _keys(
        "status",
        "status_code",
        "statusCode",
        "http.status_code",
        "res.statusCode",
        "http.response.status_code",
    ),
    "latency_ms": (
        *_keys("latency_ms", "response_time_ms", "duration_ms", "responseTime", unit="ms"),
        *_keys("latency", unit="ms"),
        *_keys("duration", "request_time", unit="s"),
        *_keys("event.duration", unit="ns"),  # Elastic Common Schema
    ),
    "bytes_sent": _keys(
        "bytes_sent",
        "body_bytes_sent",
        "bytes",
        "response_bytes",
        "http.response.body.bytes",
        "res.headers.content-length",
    ),
    "user_id": _keys("user_id", "userId", "user", "user.id"),
    "client_ip": _keys(
        "client_ip", "remote_addr", "ip", "remote_ip", "client.ip", "req.remoteAddress"
    ),
    "region": _keys("region", "cloud.region"),
    "device_type": _keys("device_type", "device"),
    "error_reason": _keys("error_reason", "error", "err", "error.message", "err.message"),
    "level": _keys("level", "severity", "log.level", "levelname", "lvl"),
    "message": _keys("message", "msg", "event"),
}
"""For each canonical column, the keys it is read from when no mapping is given: per file, the
first key (in this order) that holds a usable value in any of the first `SAMPLE` records wins:
a plain value (not an object or array) that, for ts, latency, status and bytes, converts (a
`status` of 'shipped' is not a status code, so `status_code` is looked for next). Covers flat logs, pino/bunyan (`time`, `msg`, `req.url`,
`res.statusCode`, `responseTime`, numeric levels), zap/logrus (`ts`, `msg`, `error`),
structlog (`event`) and Elastic Common Schema (`@timestamp`, `url.path`, `log.level`,
`event.duration`). A bare `latency` is taken as milliseconds, `duration` as seconds: map the
key with its unit where a logger writes otherwise (zap's production config writes seconds)."""

_MISSING = object()
_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
_NUMBER_TEXT = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


def looks_like_jsonl(line: str) -> bool:
    return line.lstrip().startswith("{")


def parse_jsonl(
    data: bytes, *, mapping: JsonMapping | None = None, format: str = "jsonl"
) -> Parsed:
    """Records from one JSON object per line. A line that is not valid JSON or not an object
    is rejected; so is one whose mapped value has the wrong type (an object, array or boolean,
    or text that is not a number where a number is expected), naming the key. Without a
    mapping, each column's key is chosen per file from `DEFAULT_KEYS`; a mapping names exactly
    the columns to read. `notes` says which key each column came from."""
    clean = clean_lines(data)
    if clean is not None:
        sample = clean.texts(SAMPLE)
        _refuse_documents(data, 1, sample[0])
        fast = _read_with_arrow(data, clean.count, sample, mapping)
        if fast is not None:
            return _fast_parsed(fast, clean, format)
    lines = split_lines(data)
    if len(lines.texts):
        _refuse_documents(data, int(lines.numbers[0]), lines.texts.iat[0])
    objects, kept, bad = _load(lines.texts.tolist())
    bad_at = [i for i, _ in bad]
    line_rejects = pd.concat(
        [
            lines.rejects,
            rejects_frame(lines.numbers[bad_at], lines.texts.iloc[bad_at], [r for _, r in bad]),
        ],
        ignore_index=True,
    )
    first_line = int(lines.numbers[kept[0]]) if kept else 0
    chosen, how = _choose(objects[:SAMPLE], mapping, first_line)
    numbers = lines.numbers
    records = pd.DataFrame(
        {
            LINE_NUMBER: pd.array(numbers[kept], dtype="Int64"),
            RAW: lines.texts.iloc[kept].reset_index(drop=True),
        }
    )

    def column_of(path: str, numeric: bool) -> Column:
        return _column(_values(objects, path), numeric)

    return _keyed(
        records,
        chosen,
        how,
        column_of,
        format=format,
        records_read=len(lines.texts) + len(lines.rejects),
        rejects=line_rejects,
    )


def _keyed(
    records: pd.DataFrame,
    chosen: dict[str, JsonField],
    how: str,
    column_of: Callable[[str, bool], Column],
    **build_options,
) -> Parsed:
    """Typed candidates from the records and one column per chosen key (`column_of(path,
    numeric)`), each column named after its key for the reasons (unless the name is taken)."""
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
        convert = _converter(target, spec, column.numbers)
        fields[target] = Field(source, _refusing(convert, column.wrong), _what(target, spec))
    fmt = build_options["format"]
    parsed = build(
        records,
        fields,
        notes=(f"{fmt} keys mapped with the {how}: {_mapped(chosen)}",),
        **build_options,
    )
    return replace(parsed, mapping=tuple((t, s.path, s.unit) for t, s in chosen.items()))


ARROW_BLOCK = 8 << 20
"""Bytes per block for Arrow's JSON reader (larger blocks parse faster on few cores)."""


def _fast_parsed(fast, clean: CleanLines, format: str) -> Parsed:
    """The Parsed of a file read by `_read_with_arrow`: every line a record, raw text looked up
    only for the records rejected later."""
    chosen, how, columns_by_path = fast
    records = pd.DataFrame({LINE_NUMBER: pd.array(np.arange(1, clean.count + 1), dtype="Int64")})
    return _keyed(
        records,
        chosen,
        how,
        lambda path, _numeric: columns_by_path[path],
        format=format,
        records_read=clean.count,
        rejects=rejects_frame(),
        raw_lines=clean.lookup,
    )


def _mapped(chosen: dict[str, JsonField]) -> str:
    return (
        ", ".join(
            f"{t} <- {s.path}" + (f" ({s.unit})" if s.unit and t in ("ts", "latency_ms") else "")
            for t, s in chosen.items()
        )
        or "none"
    )


def _read_with_arrow(
    data: bytes, count: int, sample_texts: list[str], mapping: JsonMapping | None
) -> tuple[dict[str, JsonField], str, dict[str, Column]] | None:
    """The usual file read in one pass by Arrow's JSON reader: every line one object, and each
    chosen key of one JSON type throughout (strings, or numbers). Anything else (a bad line,
    a key whose type varies, a key both literal and nested) returns None, and the file is read
    object by object, which finds and names each problem."""
    loads = orjson.loads
    try:
        sample = [loads(text) for text in sample_texts]
    except orjson.JSONDecodeError:
        return None
    if not all(type(value) is dict for value in sample):
        return None
    try:
        chosen, how = _choose(sample, mapping, 1)
    except FileFormatError:
        return None
    paths: dict[str, bool] = {}  # path -> read only into numeric columns
    for target, spec in chosen.items():
        paths[spec.path] = paths.get(spec.path, True) and target in NUMERIC
    types: dict[str, pa.DataType] = {}
    for path, numeric in paths.items():
        literal = any(path in obj for obj in sample)
        if "." in path and literal and any(_getter(path.split(".", 1)[0])(o) for o in sample):
            return None  # both a literal dotted key and a nested object: per object rules
        kinds = {type(v) for v in _values(sample, path)} - {type(None)}
        if kinds == {str}:
            types[path] = pa.large_string()
        elif kinds and kinds <= {int, float}:
            types[path] = pa.float64() if numeric or float in kinds else pa.int64()
        else:
            return None
    try:
        schema = _nested_schema(types, {p for p in paths if any(p in o for o in sample)})
    except ValueError:
        return None
    try:
        table = pajson.read_json(
            pa.BufferReader(data.removeprefix(b"\xef\xbb\xbf")),
            read_options=pajson.ReadOptions(block_size=ARROW_BLOCK),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:
        return None  # a line held more than one object
    columns: dict[str, Column] = {}
    none = np.empty(0, dtype="int64")
    for path, numeric in paths.items():
        if path in table.column_names:
            array = table.column(path)
        else:
            array = table.column(path.split(".")[0])
            for part in path.split(".")[1:]:
                array = pc.struct_field(array, part)
        array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        if pa.types.is_large_string(array.type):
            columns[path] = Column(_str_series(array), None, none)
        elif numeric:
            # numbers stay numbers: `build` writes one out as text only if it fails
            numbers = pd.Series(array.to_pandas())
            columns[path] = Column(numbers, numbers, none)
        else:
            columns[path] = Column(_str_series(array.cast(pa.large_string())), None, none)
    return chosen, how, columns


def _nested_schema(types: dict[str, pa.DataType], literal_paths: set[str]) -> pa.Schema:
    """An Arrow schema holding each path: literal keys at the top, dotted ones as structs."""
    tree: dict[str, Any] = {}
    for path, kind in types.items():
        parts = [path] if path in literal_paths or "." not in path else path.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"key '{part}' is both a value and an object")
        node[parts[-1]] = kind

    def build_type(node: dict[str, Any]) -> list[pa.Field]:
        return [
            pa.field(k, pa.struct(build_type(v)) if isinstance(v, dict) else v)
            for k, v in node.items()
        ]

    return pa.schema(build_type(tree))


def _refuse_documents(data: bytes, number: int, first: str) -> None:
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
        whole = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
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


def _load(texts: list[str]) -> tuple[list[dict], list[int], list[tuple[int, str]]]:
    """The objects, their positions among the lines, and (position, reason) for the rest."""
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    try:  # the usual file: every line an object, read without per-line bookkeeping
        values = [loads(text) for text in texts]
        if all(type(value) is dict for value in values):
            return values, list(range(len(values))), []
    except decode_error:
        pass
    objects: list[dict] = []
    kept: list[int] = []
    bad: list[tuple[int, str]] = []
    for i, text in enumerate(texts):
        try:
            value = loads(text)
        except decode_error as exc:
            bad.append((i, f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if type(value) is dict:
            objects.append(value)
            kept.append(i)
        else:
            bad.append((i, f"expected a JSON object, found {_kind(value)}"))
    return objects, kept, bad


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return _KINDS.get(type(value), "a number")


def _values(objects: list[dict], path: str) -> list[Any]:
    """The value at `path` in each object; None where absent."""
    if "." not in path:
        return list(map(dict.get, objects, repeat(path)))
    return list(map(_getter(path), objects))


def _getter(path: str) -> Callable[[dict], Any]:
    if "." not in path:
        return lambda obj: obj.get(path)
    parts = path.split(".")

    def get(obj: dict) -> Any:
        value = obj.get(path, _MISSING)
        if value is not _MISSING:
            return value
        for part in parts:
            if type(obj) is not dict:
                return None
            obj = obj.get(part)
        return obj

    return get


@dataclass(frozen=True)
class Column:
    """One key's values as text for `build`; also as numbers when all of them are JSON numbers
    (so numeric columns skip a round trip through text); and the rows of the wrong JSON type."""

    text: pd.Series
    numbers: pd.Series | None
    wrong: np.ndarray


def _column(values: list[Any], numeric: bool) -> Column:
    """Strings as they are, numbers written out, null missing; objects, arrays and booleans
    written as JSON and flagged as the wrong type."""
    none = np.empty(0, dtype="int64")
    kinds = set(map(type, values))
    try:
        if kinds <= {str, type(None)}:
            return Column(_str_series(pa.array(values, type=pa.large_string())), None, none)
        if numeric and kinds <= {int, float, type(None)}:
            array = pa.array(values)
            return Column(_str_series(array), pd.Series(array.to_pandas()), none)
    except (pa.ArrowInvalid, OverflowError):  # integers beyond 64 bits
        pass
    texts: list[Any] = []
    wrong: list[int] = []
    for i, value in enumerate(values):
        kind = type(value)
        if kind is str or value is None:
            texts.append(value)
        elif kind is int or kind is float:
            texts.append(repr(value))
        else:
            texts.append(orjson.dumps(value).decode())
            wrong.append(i)
    return Column(pd.Series(texts, dtype="str"), None, np.asarray(wrong, dtype="int64"))


def _str_series(array: pa.Array) -> pd.Series:
    return pd.Series(pd.array(array.cast(pa.large_string()), dtype="str"))


def _refusing(convert: Converter, wrong: np.ndarray) -> Converter:
    """The converter, with values of the wrong JSON type turned to null so that `build`
    rejects their rows naming the key."""
    if not len(wrong):
        return convert

    def refuse(text: pd.Series) -> pd.Series:
        values = convert(text)
        return values.mask(np.isin(np.arange(len(values)), wrong))

    return refuse


def _choose(
    sample: list[dict], mapping: JsonMapping | None, first_line: int
) -> tuple[dict[str, JsonField], str]:
    if mapping is not None:
        chosen = {t: f if isinstance(f, JsonField) else JsonField(f) for t, f in mapping.items()}
        unknown = [t for t in chosen if t not in CANDIDATE_TYPES]
        if unknown:
            raise FileFormatError(
                f"the key mapping names unknown columns {', '.join(unknown)}; "
                f"expected some of {', '.join(CANDIDATE_TYPES)}"
            )
        for target, spec in chosen.items():
            _converter(target, spec)  # an unknown unit fails here, before any line is read
        if "ts" in chosen and sample:
            get = _getter(chosen["ts"].path)
            if not any(get(o) is not None for o in sample):
                raise FileFormatError(
                    f"line {first_line}: the mapping reads ts from '{chosen['ts'].path}', "
                    f"which none of the first {len(sample)} records has"
                )
        return chosen, "configured mapping"
    chosen = {}
    for target, options in DEFAULT_KEYS.items():
        for spec in options:
            if _fits(target, spec, _values(sample, spec.path)):
                chosen[target] = spec
                break
    if sample and "ts" not in chosen:
        raise FileFormatError(
            f"line {first_line}: no timestamp key in the first {len(sample)} records; expected "
            f"one of {', '.join(f.path for f in DEFAULT_KEYS['ts'])}, or a mapping naming it"
        )
    return chosen, "default keys"


def _fits(target: str, spec: JsonField, values: list[Any]) -> bool:
    """Whether a key can be the column's source: some value is plain (not an object or
    array) and, for typed columns, converts (a `status` of 'shipped' is not a status code)."""
    values = [v for v in values if v is not None and type(v) is not dict and type(v) is not list]
    if not values or target not in NUMERIC:
        return bool(values)
    column = _column(values, numeric=True)
    converted = _converter(target, spec, column.numbers)(column.text)
    return bool(converted.notna().any())


def _converter(target: str, spec: JsonField, numbers: pd.Series | None = None) -> Converter:
    """The conversion for a column; from `numbers` directly when the key held only numbers."""
    if target == "ts":
        if spec.unit in (None, "auto"):
            return _as_epoch(numbers, None) if numbers is not None else _as_time
        if spec.unit in TIME_UNITS:
            return _as_epoch(numbers, spec.unit)
        return as_timestamp((spec.unit,))
    if target == "latency_ms":
        factor = LATENCY_UNITS.get(spec.unit or "ms")
        if factor is None:
            raise FileFormatError(
                f"unknown latency unit '{spec.unit}' for key '{spec.path}'; expected ms, s, us or ns"
            )
        if numbers is not None:
            return lambda text: (numbers * factor).astype("float64")
        return as_duration_ms(factor)
    if target in ("status_code", "bytes_sent"):
        dtype = CANDIDATE_TYPES[target]
        return _as_whole(numbers, dtype) if numbers is not None else as_int(dtype)
    if target == "level":
        return as_level
    return as_text


def _what(target: str, spec: JsonField) -> str:
    if target == "ts":
        return "a timestamp (ISO 8601 or epoch)"
    if target == "latency_ms":
        return f"a duration (a number in {spec.unit or 'ms'}, or e.g. '250ms')"
    if target == "status_code":
        return "an integer status code"
    if target == "bytes_sent":
        return "a whole number of bytes"
    return "a string or number"


def _as_time(text: pd.Series) -> pd.Series:
    """ISO 8601 (offsets applied, naive times taken as UTC) or epoch numbers by magnitude:
    `as_timestamp`'s rules, but epoch numbers are rounded to the microsecond (a float like
    1793527200.123456 is a hair off in binary), and only numeric-looking values are tried
    as numbers, which keeps a column of ISO text fast."""
    fast = iso_fast(text)
    if fast is not None:
        return fast
    stripped = text.str.strip()
    numeric = pd.Series(
        pc.match_substring_regex(pa.array(stripped.array), _NUMBER_TEXT).fill_null(False),
        index=text.index,
        dtype="bool",
    )
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if numeric.any():
        out[numeric] = _as_epoch(None, None)(stripped[numeric])
    iso = ~numeric & stripped.notna()
    if iso.any():
        values = pd.to_datetime(stripped[iso], format="ISO8601", utc=True, errors="coerce")
        out[iso] = values.dt.as_unit("us")
    return out


def _as_epoch(numbers: pd.Series | None, unit: str | None) -> Converter:
    """Epoch numbers in `unit`, or by magnitude (base.EPOCH_UNITS) when unit is None, to the
    nearest microsecond."""

    def convert(text: pd.Series) -> pd.Series:
        values = (
            numbers if numbers is not None else pd.to_numeric(text.str.strip(), errors="coerce")
        )
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        remaining = values.notna()
        for threshold, magnitude_unit in EPOCH_UNITS:
            chosen = remaining & (values.abs() >= threshold) if unit is None else remaining
            if chosen.any():
                times = pd.to_datetime(
                    values[chosen], unit=unit or magnitude_unit, utc=True, errors="coerce"
                )
                out[chosen] = times.dt.round("us").dt.as_unit("us")
                remaining &= ~chosen
        return out

    return convert


def _as_whole(numbers: pd.Series, dtype: str) -> Converter:
    """`as_int` for values that are numbers already."""

    def convert(text: pd.Series) -> pd.Series:
        values = numbers.astype("float64")
        whole = values.where((values % 1 == 0) & values.abs().lt(2**53))
        if dtype == "Int16":
            # as in as_int: an out-of-range code is kept large for the schema to name
            whole = whole.where(whole.isna() | whole.abs().lt(32_768), 32_767)
        return whole.astype(dtype)

    return convert


FORMATS = [
    Format(
        "jsonl",
        parse_jsonl,
        looks_like_jsonl,
        "JSON lines: one JSON object per line (structured application or access logs)",
    )
]
