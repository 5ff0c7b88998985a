"""Endpoint normalisation: many logged paths, one endpoint name per route."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Segments that are identifiers rather than route names.
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:"
    r"\d+"  # integers
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUIDs
    r"|[0-9a-fA-F]{16,}"  # long hex (hashes, object ids)
    r"|[A-Za-z0-9_\-]{24,}"  # long opaque tokens
    r")(?=/|$)"
)


def normalise_endpoints(paths: pd.Series) -> pd.Series:
    """Drops scheme and host of full URLs, query strings and fragments; folds id-like segments
    to `{id}` and trailing slashes."""
    # Logs repeat a few thousand paths millions of times: normalise each distinct path once.
    array = pa.array(paths, type=pa.large_string(), from_pandas=True)
    values = pc.drop_null(pc.unique(array))  # no combined copy of a chunked column
    positions = pc.index_in(array, value_set=values)
    distinct = pd.Series(values.to_pylist(), dtype="str")
    # full URLs (some JSON logs carry them): drop scheme and host, keep the path
    relative = distinct.str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", "", regex=True)
    relative = relative.mask(relative == "", "/")
    stripped = relative.str.replace(r"[?#].*$", "", regex=True)
    folded = stripped.str.replace(_ID_SEGMENT, "{id}", regex=True)
    folded = folded.where(folded.str.len() <= 1, folded.str.rstrip("/"))
    dictionary = pa.array(folded.tolist(), type=pa.large_string())
    taken = pc.take(dictionary, positions)
    out = taken.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))
    return out.set_axis(paths.index)
