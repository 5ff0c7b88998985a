"""The fields a format logs beyond the canonical columns, kept per record as one JSON object of
string to string (the `attributes` column of `requests`): a referer, a user agent, a CSV's
extra columns, the keys a JSON log carries that no column maps.

Built column-wise in Arrow: each value is escaped for JSON by substring replacement, and
only values with a rare control character go through `json.dumps` one by one."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ATTRIBUTES = "attributes"
COLUMN_PREFIX = "attribute:"
"""A parser's record column named `attribute:<name>` holds the attribute `<name>`."""


def prefixed_columns(columns) -> dict[str, str]:
    """Attribute name -> record column, for the record columns named `attribute:<name>`."""
    return {c.removeprefix(COLUMN_PREFIX): c for c in columns if c.startswith(COLUMN_PREFIX)}


_TEXT = pa.large_string()
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_OTHER_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
_NOT_LOGGED = pa.array(["", "-"], _TEXT)
_EMPTY = pa.scalar("", _TEXT)


def _text(values: pd.Series | pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as Arrow text: strings as they are, numbers and booleans cast."""
    array = getattr(values, "array", values)
    if isinstance(array, pa.ChunkedArray):
        chunked = array
    elif hasattr(array, "__arrow_array__"):
        chunked = array.__arrow_array__()
    else:
        chunked = pa.chunked_array([pa.array(np.asarray(values, dtype=object), from_pandas=True)])
    if pa.types.is_boolean(chunked.type):
        chunked = pc.if_else(chunked, pa.scalar("true", _TEXT), pa.scalar("false", _TEXT))
    elif not pa.types.is_large_string(chunked.type):
        chunked = chunked.cast(_TEXT)
    return chunked


def _escaped(values: pa.ChunkedArray) -> pa.ChunkedArray:
    other = pc.match_substring_regex(values, _OTHER_CONTROL).fill_null(False)
    originals = values.to_pylist() if pc.any(other).as_py() else None
    for plain, escaped in _ESCAPES:
        if pc.any(pc.match_substring(values, plain)).as_py():
            values = pc.replace_substring(values, plain, escaped)
    if originals is not None:
        python = values.to_pylist()
        for i in np.flatnonzero(other.to_numpy(zero_copy_only=False)).tolist():
            python[i] = json.dumps(originals[i], ensure_ascii=False)[1:-1]
        values = pa.chunked_array([pa.array(python, _TEXT)])
    return values


def attributes_json(columns: Mapping[str, pd.Series], length: int) -> pd.Series | None:
    """One JSON object per row of the logged values of `columns` (name -> values), keys in the
    given order; a value that is null, empty or "-" (not logged) is left out, and a row with
    no value logged is null. None when no column is given."""
    pieces = []
    for name, values in columns.items():
        text = pc.utf8_trim_whitespace(_text(values))
        logged = pc.invert(pc.is_in(text, value_set=_NOT_LOGGED))
        text = pc.if_else(logged.fill_null(False), text, pa.scalar(None, _TEXT))
        key = json.dumps(str(name), ensure_ascii=False)
        pieces.append(
            pc.binary_join_element_wise(
                pa.scalar(key + ':"', _TEXT), _escaped(text), pa.scalar('",', _TEXT), _EMPTY
            )
        )
    if not pieces:
        return None
    if length == 0:
        return pd.Series([], dtype="str")
    # each piece ends in a comma; a null piece adds nothing ("skip" mode drops rows of a
    # chunked array in some pyarrow versions, "replace" does not)
    joined = pc.binary_join_element_wise(
        *pieces, _EMPTY, null_handling="replace", null_replacement=""
    )
    body = pc.utf8_slice_codeunits(joined, 0, -1)
    objects = pc.binary_join_element_wise(
        pa.scalar("{", _TEXT), body, pa.scalar("}", _TEXT), _EMPTY
    )
    objects = pc.if_else(pc.equal(body, ""), pa.scalar(None, _TEXT), objects)
    return objects.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))


def attribute_values(attributes: pd.Series, name: str) -> pd.Series:
    """The value of one attribute in each row (null where the row does not log it)."""
    values = attribute_array(_text(attributes), name)
    out = values.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))
    return out.set_axis(attributes.index)


def attribute_array(attributes: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    """`attribute_values` over an Arrow column of attributes (plain or dictionary-encoded:
    then each distinct object is read once)."""
    if isinstance(attributes, pa.ChunkedArray):
        attributes = attributes.combine_chunks() if attributes.num_chunks else pa.array([], _TEXT)
    if pa.types.is_dictionary(attributes.type):
        distinct = attribute_array(attributes.dictionary, name)
        return pc.take(distinct, attributes.indices)
    if not pa.types.is_large_string(attributes.type):
        attributes = attributes.cast(_TEXT)
    key = json.dumps(name, ensure_ascii=False)
    pattern = "(?:^\\{|,)" + _regex_literal(key) + ':"(?P<value>(?:[^"\\\\]|\\\\.)*)"'
    values = pc.struct_field(pc.extract_regex(attributes, pattern), "value")
    escaped = pc.match_substring(values, "\\").fill_null(False)
    if pc.any(escaped).as_py():
        python = values.to_pylist()
        for i in np.flatnonzero(escaped.to_numpy(zero_copy_only=False)).tolist():
            python[i] = json.loads(f'"{python[i]}"')
        values = pa.array(python, _TEXT)
    return values


def _regex_literal(text: str) -> str:
    """`text` escaped for RE2."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


# JSON logs: every leaf that no column maps, under its dotted path ---------------------------------
def object_leaves(objects: list[dict], skip: frozenset[str]) -> dict[str, pd.Series]:
    """The leaves of JSON objects (nested objects flattened to dotted paths) as text columns,
    one value per object, leaving out the paths in `skip` (the mapped keys) and whatever lies
    below them. Strings stay as they are, integers and booleans are written as JSON writes
    them, other numbers as Arrow writes them (so that `table_leaves` gives the same text), and
    arrays as JSON text."""
    columns: dict[str, list] = {}
    floats: set[str] = set()

    def visit(row: int, value, path: str) -> None:
        if path in skip:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                visit(row, item, f"{path}.{key}" if path else str(key))
            return
        if value is None:
            return
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, float):
            text = value  # written below, all at once
            floats.add(path)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        column = columns.get(path)
        if column is None:
            column = columns[path] = [None] * len(objects)
        column[row] = text

    for row, obj in enumerate(objects):
        if isinstance(obj, dict):
            visit(row, obj, "")
    for path in floats:
        column = columns[path]
        at = [i for i, v in enumerate(column) if isinstance(v, float)]
        written = pa.array([column[i] for i in at], pa.float64()).cast(_TEXT).to_pylist()
        for i, text in zip(at, written, strict=True):
            column[i] = text
    return {path: pd.Series(values, dtype="str") for path, values in columns.items()}


def sample_text_leaves(sample: list[dict], skip: frozenset[str]) -> list[str]:
    """The leaf paths of a sample of objects whose values are all strings (no dotted key of
    its own on the way): declared as text to Arrow's JSON reader, which would otherwise read
    a date-like string as a timestamp and lose how it was written."""
    kinds: dict[str, set[type]] = {}

    def visit(value, path: str) -> None:
        if path in skip:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if "." not in str(key):
                    visit(item, f"{path}.{key}" if path else str(key))
            return
        kinds.setdefault(path, set()).add(type(value))

    for obj in sample:
        visit(obj, "")
    return [path for path, found in kinds.items() if found <= {str, type(None)} and str in found]


def table_leaves(table: pa.Table, skip: frozenset[str]) -> dict[str, pd.Series] | None:
    """`object_leaves` of a table read by Arrow's JSON reader: structs flattened to dotted
    paths, scalars cast to text, arrays of strings written as JSON arrays; None when a column
    holds anything else (the caller then reads object by object)."""
    out: dict[str, pd.Series] = {}

    def visit(array: pa.ChunkedArray, path: str) -> bool:
        if path in skip:
            return True
        kind = array.type
        if pa.types.is_struct(kind):
            return all(
                visit(pc.struct_field(array, kind.field(i).name), f"{path}.{kind.field(i).name}")
                for i in range(kind.num_fields)
            )
        if pa.types.is_null(kind):
            return True
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            if not (
                pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
            ):
                return False
            out[path] = _string_lists(array)
            return True
        if not (
            pa.types.is_floating(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_boolean(kind)
        ):
            return False
        out[path] = _text(array)
        return True

    for name in table.column_names:
        if not visit(table.column(name), name):
            return None
    return {
        path: values.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))
        for path, values in out.items()
    }


def _string_lists(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Lists of strings as JSON array text (null lists stay null)."""
    chunks = []
    for chunk in array.chunks:
        flat = pc.list_flatten(chunk)
        quoted = pc.binary_join_element_wise(
            pa.scalar('"', _TEXT), _escaped(pc.cast(flat, _TEXT)), pa.scalar('"', _TEXT), _EMPTY
        )
        lists = pa.LargeListArray.from_arrays(_offsets(chunk), quoted, mask=chunk.is_null())
        joined = pc.binary_join(lists, pa.scalar(",", _TEXT))
        chunks.append(
            pc.binary_join_element_wise(
                pa.scalar("[", _TEXT), joined, pa.scalar("]", _TEXT), _EMPTY
            )
        )
    return pa.chunked_array(chunks, _TEXT)


def _offsets(chunk: pa.Array) -> pa.Array:
    offsets = chunk.offsets
    start = offsets[0].as_py()
    return (
        pc.cast(pc.subtract(offsets, start), pa.int64()) if start else pc.cast(offsets, pa.int64())
    )
