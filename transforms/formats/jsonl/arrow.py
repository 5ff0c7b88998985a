"""The fast path: a whole file read in one pass by Arrow's JSON reader when every line is one
object and each chosen key keeps one JSON type."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from transforms.formats.attributes import sample_text_leaves, table_leaves
from transforms.formats.base import ARROW_THREADS, FileFormatError
from transforms.formats.jsonl.keys import NUMERIC, JsonField, JsonMapping, choose_keys
from transforms.formats.jsonl.objects import Column, getter, str_series, values_at

ARROW_BLOCK = 8 << 20
"""Bytes per block for Arrow's JSON reader (larger blocks parse faster on few cores)."""


def read_with_arrow(
    data: bytes | memoryview, count: int, sample_texts: list[str], mapping: JsonMapping | None
) -> tuple[dict[str, JsonField], str, dict[str, Column], dict[str, pd.Series]] | None:
    """The usual file read in one pass by Arrow's JSON reader: every line one object, and each
    chosen key of one JSON type throughout (strings, or numbers). Anything else (a bad line,
    a key whose type varies, a key both literal and nested, an unmapped value Arrow cannot
    write back as JSON does) returns None, and the file is read object by object, which finds
    and names each problem. The last item holds the unmapped leaves (`table_leaves`)."""
    loads = orjson.loads
    try:
        sample = [loads(text) for text in sample_texts]
    except orjson.JSONDecodeError:
        return None
    if not all(type(value) is dict for value in sample):
        return None
    try:
        chosen, how = choose_keys(sample, mapping, 1)
    except FileFormatError:
        return None
    paths: dict[str, bool] = {}  # path -> read only into numeric columns
    for target, spec in chosen.items():
        paths[spec.path] = paths.get(spec.path, True) and target in NUMERIC
    types: dict[str, pa.DataType] = {}
    for path, numeric in paths.items():
        literal = any(path in obj for obj in sample)
        if "." in path and literal and any(getter(path.split(".", 1)[0])(o) for o in sample):
            return None  # both a literal dotted key and a nested object: per object rules
        kinds = {type(v) for v in values_at(sample, path)} - {type(None)}
        if kinds == {str}:
            types[path] = pa.large_string()
        elif kinds and kinds <= {int, float}:
            types[path] = pa.float64() if numeric or float in kinds else pa.int64()
        else:
            return None
    for path in sample_text_leaves(sample, frozenset(paths)):
        types.setdefault(path, pa.large_string())  # unmapped text stays text (no timestamps)
    try:
        schema = nested_schema(types, {p for p in paths if any(p in o for o in sample)})
    except ValueError:
        return None
    try:
        table = pajson.read_json(
            pa.BufferReader(data[3:] if bytes(data[:3]) == b"\xef\xbb\xbf" else data),
            read_options=pajson.ReadOptions(
                block_size=ARROW_BLOCK, use_threads=ARROW_THREADS.get()
            ),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:
        return None  # a line held more than one object
    extras = table_leaves(table, frozenset(paths))
    if extras is None:
        return None
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
            columns[path] = Column(str_series(array), None, none)
        elif numeric:
            # numbers stay numbers: `build` writes one out as text only if it fails
            numbers = pd.Series(array.to_pandas())
            columns[path] = Column(numbers, numbers, none)
        else:
            columns[path] = Column(str_series(array.cast(pa.large_string())), None, none)
    return chosen, how, columns, extras


def nested_schema(types: dict[str, pa.DataType], literal_paths: set[str]) -> pa.Schema:
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
