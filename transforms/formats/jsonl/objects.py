"""JSON objects read one by one: loading lines, values at dotted paths, and a key's values as
a column (text, numbers, and the rows of the wrong JSON type)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from transforms.formats.base import Converter, spelled_bytes

MISSING = object()
KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def load_objects(texts: list[str]) -> tuple[list[dict], list[int], list[tuple[int, str]]]:
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
            value = nginx_unescaped(text)
            if value is None:
                bad.append((i, f"not valid JSON: {exc.msg} at column {exc.colno}"))
                continue
        if type(value) is dict:
            objects.append(value)
            kept.append(i)
        else:
            bad.append((i, f"expected a JSON object, found {kind_of(value)}"))
    return objects, kept, bad


_NGINX_ESCAPES = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+")


def nginx_unescaped(text: str) -> Any:
    """The value of a line nginx wrote as JSON without `escape=json`: it escapes `"`, `\\`,
    control characters and every byte above 0x7E as `\\xHH`, which JSON does not allow. Each
    run of such escapes is read as the UTF-8 bytes it spells (Windows-1252 where they are not
    UTF-8) and written as JSON; None when the line has none or is still not JSON."""
    if "\\x" not in text:
        return None

    def as_json(match: re.Match[str]) -> str:
        return orjson.dumps(spelled_bytes(match.group(0))).decode()[1:-1]

    try:
        return orjson.loads(_NGINX_ESCAPES.sub(as_json, text))
    except orjson.JSONDecodeError:
        return None


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    return KINDS.get(type(value), "a number")


def values_at(objects: list[dict], path: str) -> list[Any]:
    """The value at `path` in each object; None where absent."""
    if "." not in path:
        return list(map(dict.get, objects, repeat(path)))
    return list(map(getter(path), objects))


def getter(path: str) -> Callable[[dict], Any]:
    if "." not in path:
        return lambda obj: obj.get(path)
    parts = path.split(".")

    def get(obj: dict) -> Any:
        value = obj.get(path, MISSING)
        if value is not MISSING:
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


def column_from(values: list[Any], numeric: bool) -> Column:
    """Strings as they are, numbers written out, null missing; objects, arrays and booleans
    written as JSON and flagged as the wrong type."""
    none = np.empty(0, dtype="int64")
    kinds = set(map(type, values))
    try:
        if kinds <= {str, type(None)}:
            return Column(str_series(pa.array(values, type=pa.large_string())), None, none)
        if numeric and kinds <= {int, float, type(None)}:
            array = pa.array(values)
            return Column(str_series(array), pd.Series(array.to_pandas()), none)
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


def str_series(array: pa.Array) -> pd.Series:
    return pd.Series(pd.array(array.cast(pa.large_string()), dtype="str"))


def refusing(convert: Converter, wrong: np.ndarray) -> Converter:
    """The converter, with values of the wrong JSON type turned to null so that `build`
    rejects their rows naming the key."""
    if not len(wrong):
        return convert

    def refuse(text: pd.Series) -> pd.Series:
        values = convert(text)
        return values.mask(np.isin(np.arange(len(values)), wrong))

    return refuse
