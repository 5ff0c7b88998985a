"""The request events as the metric tables read them: text columns dictionary-coded once,
rows grouped by integer keys, timed latencies sorted once; and the frame helpers every table
shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.common import empty_frame
from schemas.requests import Request as R

UNKNOWN = "unknown"
"""Service or region of events that did not log one."""

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 3_600_000_000


# coding the events once ---------------------------------------------------------------------
@dataclass(frozen=True)
class Coded:
    """A text column as integer codes (-1 for null) and the values they stand for."""

    codes: np.ndarray
    values: np.ndarray

    def with_default(self, default: str) -> Coded:
        """Nulls coded as `default` (appended to the values unless already one of them)."""
        if not (self.codes < 0).any():
            return self
        hits = np.flatnonzero(self.values == default)
        if len(hits):
            code, values = int(hits[0]), self.values
        else:
            code, values = len(self.values), np.append(self.values, default).astype(object)
        return Coded(np.where(self.codes < 0, code, self.codes), values)

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.values)


def as_table(requests: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(requests, pa.Table):
        return requests
    return pa.Table.from_pandas(requests, preserve_index=False)


def code(table: pa.Table, name: str) -> Coded:
    column = table.column(name) if name in table.column_names else None
    if column is None or pa.types.is_null(column.type):
        return Coded(np.full(table.num_rows, -1, dtype=np.int64), np.array([], dtype=object))
    if pa.types.is_dictionary(column.type):
        column = column.unify_dictionaries() if column.num_chunks > 1 else column
        dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
        indices = pa.chunked_array(
            [c.indices for c in column.chunks], type=column.type.index_type
        ).combine_chunks()
    else:
        encoded = pc.dictionary_encode(column.combine_chunks())
        dictionary, indices = encoded.dictionary, encoded.indices
    codes = indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    values = np.asarray(dictionary.cast(pa.string()).to_pylist(), dtype=object)
    return Coded(codes, values)


def numbers(table: pa.Table, name: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(values with nulls as 0 or NaN, mask of logged values)."""
    if name not in table.column_names:
        n = table.num_rows
        return np.zeros(n, dtype=dtype), np.zeros(n, dtype=bool)
    column = table.column(name).combine_chunks()
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    fill = float("nan") if np.dtype(dtype).kind == "f" else 0
    values = column.fill_null(fill).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return values, valid


def ts_us(table: pa.Table) -> np.ndarray:
    column = table.column(R.ts).combine_chunks()
    if column.type != pa.timestamp("us", tz="UTC"):
        column = column.cast(pa.timestamp("us", tz="UTC"))
    return column.cast(pa.int64()).to_numpy(zero_copy_only=False)


class Events:
    """The columns the metric tables need, coded once."""

    def __init__(self, requests: pd.DataFrame | pa.Table):
        table = as_table(requests)
        self.size = table.num_rows
        self.ts = ts_us(table) if self.size else np.zeros(0, np.int64)
        self.service = code(table, R.service).with_default(UNKNOWN)
        self.endpoint = code(table, R.endpoint)
        self.level = code(table, R.level)
        self.region = code(table, R.region).with_default(UNKNOWN)
        self.reason = code(table, R.error_reason)
        self.user = code(table, R.user_id)
        status, self.has_status = numbers(table, R.status_code, np.int64)
        self.status = np.where(self.has_status, status, 0)
        self.latency, self.timed = numbers(table, R.latency_ms, np.float64)
        self.bytes, self.has_bytes = numbers(table, R.bytes_sent, np.int64)
        self.is_request = self.endpoint.codes >= 0


# grouping -------------------------------------------------------------------------------------
class Groups:
    """Rows grouped by integer key columns: `ids` per row, one key tuple per group."""

    def __init__(self, keys: list[np.ndarray]):
        combined = np.zeros(len(keys[0]), dtype=np.int64)
        self.bases = []
        for key in keys:
            low = int(key.min()) if len(key) else 0
            span = int(key.max()) - low + 1 if len(key) else 1
            combined = combined * span + (key - low)
            self.bases.append((low, span))
        self.ids, uniques = pd.factorize(combined)
        self.ids = self.ids.astype(np.int64, copy=False)
        self.count = len(uniques)
        # decode the group keys
        self.keys = []
        rest = uniques.astype(np.int64, copy=True)
        for low, span in reversed(self.bases):
            self.keys.append(rest % span + low)
            rest //= span
        self.keys.reverse()

    def size(self, rows: np.ndarray | None = None) -> np.ndarray:
        ids = self.ids if rows is None else self.ids[rows]
        return np.bincount(ids, minlength=self.count)

    def total(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        ids = self.ids if rows is None else self.ids[rows]
        values = values if rows is None else values[rows]
        return np.bincount(ids, weights=values, minlength=self.count)


def quantile_cont(
    values: np.ndarray, starts: np.ndarray, sizes: np.ndarray, q: float
) -> np.ndarray:
    """`quantile_cont(q)` of each group of `values` (sorted within groups); NaN for empty."""
    out = np.full(len(sizes), np.nan)
    has = sizes > 0
    rank = q * (sizes[has] - 1)
    lower = np.floor(rank).astype(np.int64)
    upper = np.minimum(lower + 1, sizes[has] - 1)
    low = values[starts[has] + lower]
    high = values[starts[has] + upper]
    out[has] = low + (high - low) * (rank - lower)
    return out


class Latency:
    """The timed latencies among some rows, sorted once for every grouping of those rows."""

    def __init__(self, latency: np.ndarray, timed: np.ndarray):
        self.positions = np.flatnonzero(timed)  # the timed rows
        values = latency[self.positions]
        self.order = np.argsort(values)
        self.sorted = values[self.order]

    def quantiles(self, groups: Groups, quantiles: list[float]):
        """(values sorted by group then value, group starts, group sizes, one array per
        quantile) for `groups` of the same rows."""
        ids = groups.ids[self.positions][self.order]
        sizes = np.bincount(ids, minlength=groups.count)
        small = groups.count < np.iinfo(np.uint16).max
        by_group = np.argsort(ids.astype(np.uint16) if small else ids, kind="stable")
        values = self.sorted[by_group]
        starts = np.cumsum(sizes) - sizes
        return values, starts, sizes, [quantile_cont(values, starts, sizes, q) for q in quantiles]


def nullable_int(values: np.ndarray, logged: np.ndarray) -> pd.arrays.IntegerArray:
    """Int64 values, null where nothing was logged."""
    return pd.arrays.IntegerArray(values.astype(np.int64), ~logged)


def hour_starts(hours: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(hours * US_PER_HOUR, unit="us", utc=True))


def minute_starts(minutes: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(minutes * US_PER_MINUTE, unit="us", utc=True))


def empty(model) -> pd.DataFrame:
    return empty_frame(model)


def finish(model, frame: pd.DataFrame, validate: bool = True) -> pd.DataFrame:
    """Rows sorted by the grain, validated against the model unless the caller validates."""
    grain = list(model.Config.unique)
    frame = frame.sort_values(grain, kind="stable", ignore_index=True)
    return model.validate(frame) if validate else frame
