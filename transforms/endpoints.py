"""Endpoint normalisation: many logged paths, one endpoint name per route."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Segments that are identifiers rather than route names, by their shape: never words.
_PREFIX = r"(?:[A-Za-z]{1,3}[+:_.~-]?)?"  # `V+`, `id-`, `u_` before an id
_ID_SHAPES = re.compile(
    r"\d+"  # integers
    rf"|{_PREFIX}[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}"
    rf"|{_PREFIX}[0-9a-fA-F]{{16,}}"  # long hex (hashes, object ids)
)
_TOKEN = re.compile(r"[A-Za-z0-9_+=~.-]{16,}")
"""A long opaque token (session ids, base64, API keys) when it is not a slug of words."""
_SLUG = re.compile(r"(?:[A-Z]?[a-z]+|[A-Z]+|\d{1,4})(?:[-_.](?:[A-Z]?[a-z]+|[A-Z]+|\d{1,4}))*")
"""Words (and short numbers such as years) joined by - _ or .: a route or a page name."""
ID = "{id}"


def is_id(segment: str) -> bool:
    """Whether a path segment is an identifier: an integer, a UUID or long hex (with or without
    a short prefix), or a long token mixing letters with digits or cases that is not a slug of
    words (`boredom-induced-research` stays, `AbCdEfGhIjKlMnOpQrStUvWxYz_12` folds)."""
    if _ID_SHAPES.fullmatch(segment):
        return True
    if not _TOKEN.fullmatch(segment) or _SLUG.fullmatch(segment):
        return False
    digits = any(c.isdigit() for c in segment)
    letters = any(c.isalpha() for c in segment)
    mixed_case = any(c.isupper() for c in segment) and any(c.islower() for c in segment)
    return (digits and letters) or (mixed_case and len(segment) >= 20)


def fold_ids(path: str) -> str:
    """The path with each identifier segment replaced by {id}."""
    if not path:
        return path
    parts = path.split("/")
    return "/".join(ID if part and is_id(part) else part for part in parts)


def normalise_endpoints(paths: pd.Series) -> pd.Series:
    """Drops scheme and host of full URLs, query strings and fragments; folds identifier
    segments (`is_id`) to `{id}` and trailing slashes."""
    # Logs repeat a few thousand paths millions of times: normalise each distinct path once.
    array = pa.array(paths, type=pa.large_string(), from_pandas=True)
    values = pc.drop_null(pc.unique(array))  # no combined copy of a chunked column
    positions = pc.index_in(array, value_set=values)
    distinct = pd.Series(values.to_pylist(), dtype="str")
    # full URLs (some JSON logs carry them): drop scheme and host, keep the path
    relative = distinct.str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", "", regex=True)
    relative = relative.mask(relative == "", "/")
    stripped = relative.str.replace(r"[?#].*$", "", regex=True)
    folded = stripped.map(fold_ids).astype("str")
    folded = folded.where(folded.str.len() <= 1, folded.str.rstrip("/"))
    dictionary = pa.array(folded.tolist(), type=pa.large_string())
    taken = pc.take(dictionary, positions)
    out = taken.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))
    return out.set_axis(paths.index)
