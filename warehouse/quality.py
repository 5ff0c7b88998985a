"""Great Expectations checkpoint over published metric-table partitions.

`check_partitions` validates every partition of one table in a single GX validation: the frames
are concatenated with a partition column and per-row partition bounds, one expectation suite
derived from the table's Pandera model runs once, and the unexpected row indices GX returns are
split back per partition. Every (partition, expectation) gets a `QualityResult`, successes
included, so the catalog can hold the full record (`Catalog.record_quality`).

The expectations, derived from the model so that new columns are covered automatically:

1. grain unique: the model's `Config.unique` columns (plus the partition) are unique;
2. counts non-negative: every integer column >= 0 (except declared signed ones);
3. rates in [0, 1]: every `*_rate` column, `share_of_day` and `score`;
4. percentiles ordered: latency_p50_ms <= p90 <= p95 <= p99 <= max over the columns present;
5. the time column lies inside its partition: [start, start + 1 hour) or [day, day + 1 day);
6. endpoint_hourly only: sum(requests) of a partition = the request rows of that hour.

A null passes the range checks where the model allows null and fails them where it does not.

GX's cost is per expectation, not per row (about 20 ms each, whatever the frame's size), and a
metric table has a range check for each of its count columns. So the checks run stacked: each
check's values become one block of a long frame (`_long_frame`), one
`ExpectColumnValuesToBeBetween` per distinct range, one `ExpectColumnPairValuesAToBeGreaterThanB`
for every order check, two for every time-inside-partition check and one
`ExpectColumnValuesToBeUnique` over each grain's keys (numbered per block: rows equal in every key
column share a number) judge all blocks at once, and each block's unexpected rows go back to its
check; a null where the model forbids it enters its block as -inf, which no range admits. Every
check still gets its own result per partition. `check_tables` stacks the checks of several tables
(a publish batch: the hourly tables of an hour, say) into one validation. A check on a column the
frame lacks, or holds as something other than numbers, stays a plain expectation on its table's
own frame, so GX names the problem; so do the other checks of that table, as GX's own
compound-unique and column-pair expectations (the oracle of the stacked ones in the tests).
Great Expectations is imported on first use (it takes seconds to import) and its ephemeral
context is created once per process; validations are serialised by a lock.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.registry import TABLES as REGISTRY
from schemas.registry import partition_bounds as bounds_of
from warehouse.lazy_imports import deferred


class TableRule(NamedTuple):
    """What the checkpoint needs to know about a published table."""

    model: type[pa.DataFrameModel]
    time_column: str
    period: Literal["hourly", "daily"]
    signed: tuple[str, ...] = ()
    """Integer columns that may be negative (not counts)."""


TABLES: dict[str, TableRule] = {
    spec.name: TableRule(spec.model, spec.time_column, spec.partitioning, spec.signed)
    for spec in REGISTRY
}
"""Table name -> its Pandera model, time column and partitioning, from the registry."""

PERCENTILES = (
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
)
"""Ordered low to high; each present column must be <= the next present one."""

RATE_COLUMNS = ("share_of_day", "score", "max_score")
"""Columns in [0, 1] besides those named `*_rate`."""

CROSS_TABLE = "sum(requests) = requests rows"

MAX_SAMPLES = 5
"""Unexpected values shown in a result's details."""

MAX_LISTED = 10
"""Failures named in a QualityError's message before "and N more"."""

# Helper columns added to the concatenated frame.
_PART = "_partition"
_START = "_partition_start"
_END = "_partition_end"
_TIME = "_partition_time"
"""The time column as naive UTC: GX's column-pair expectations read `Series.values`, which
pandas 3.1 deprecates (Pandas4Warning) for tz-aware columns, so bounds compare naive UTC."""
# Columns of the long frame of the order checks.
_ORDER = "_order"
_LOW = "_low"
_HIGH = "_high"


@dataclass(frozen=True)
class QualityResult:
    """The outcome of one expectation on one partition."""

    table: str
    partition: str
    expectation: str
    success: bool
    unexpected: int
    details: str


class QualityError(RuntimeError):
    """Published partitions failed their expectations."""

    def __init__(self, failures: Sequence[QualityResult]):
        self.failures = list(failures)
        lines = [
            f"{f.table} {f.partition}: {f.expectation}"
            + (f" ({f.unexpected} unexpected)" if f.unexpected else "")
            + (f": {f.details}" if f.details else "")
            for f in self.failures[:MAX_LISTED]
        ]
        more = len(self.failures) - MAX_LISTED
        if more > 0:
            lines.append(f"and {more} more")
        noun = "failure" if len(self.failures) == 1 else "failures"
        super().__init__(f"{len(self.failures)} quality {noun}:\n  " + "\n  ".join(lines))


def raise_for_failures(results: Sequence[QualityResult]) -> None:
    """Raises QualityError naming every failed (table, partition, expectation)."""
    failures = [r for r in results if not r.success]
    if failures:
        raise QualityError(failures)


# Great Expectations --------------------------------------------------------------------------
GX_UNUSED_IMPORTS = ("altair",)
"""Imported by GX's KL-divergence expectation, which no check uses: loaded on first use.
(`scipy.stats`, which it imports too, is loaded as usual: the forecasting code uses it from
several threads at once, and Python 3.11's lazy loader is not safe for a first use from two
threads.)"""
_lock = threading.RLock()
_batch_definition: Any = None
_gx_module: Any = None


def _gx() -> Any:
    """The great_expectations module, imported on first use (the import takes seconds).

    Importing it calls `logging.captureWarnings(True)`, which would route every warning of the
    process to the `py.warnings` logger; that is undone when GX was the one to turn it on."""
    global _gx_module
    if _gx_module is None:
        with _lock:
            if _gx_module is None:
                showwarning = warnings.showwarning
                with deferred(GX_UNUSED_IMPORTS):
                    import great_expectations

                if warnings.showwarning is not showwarning:
                    logging.captureWarnings(False)
                logging.getLogger("great_expectations").setLevel(logging.WARNING)
                _gx_module = great_expectations
    return _gx_module


def load_great_expectations() -> None:
    """Imports Great Expectations now rather than at the first check (a command that waits
    for something else anyway can take the seconds then)."""
    _gx()


def _get_batch_definition() -> Any:
    """The whole-dataframe batch definition of the process's ephemeral GX context."""
    global _batch_definition
    with _lock:
        if _batch_definition is None:
            gx = _gx()
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
            asset = context.data_sources.add_pandas("logcast").add_dataframe_asset("partitions")
            _batch_definition = asset.add_batch_definition_whole_dataframe("frame")
        return _batch_definition


def _validate_all(frame: pd.DataFrame, expectations: list[Any]) -> list[Any]:
    """Runs the expectations over the frame in one validation; GX's results."""
    gx = _gx()
    with _lock:
        batch = _get_batch_definition().get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="logcast-quality", expectations=expectations)
        return list(batch.validate(suite, result_format={"result_format": "COMPLETE"}).results)


def _validate(frame: pd.DataFrame, expectations: list[Any]) -> dict[int, list[Any]]:
    """Runs the expectations over the frame in one validation; results by `meta["check"]`."""
    by_check: dict[int, list[Any]] = {}
    for result in _validate_all(frame, expectations):
        by_check.setdefault(result.expectation_config.meta["check"], []).append(result)
    return by_check


def _exception(result: Any) -> str | None:
    """GX's error message when computing the expectation raised, else None.

    `exception_info` is flat ({raised_exception, exception_message, ...}) when nothing raised
    and keyed by metric id when a metric did."""
    info = result.exception_info or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for entry in candidates:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "raised an exception")
    return None


# checks --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Stacked:
    """How a check enters the long frame: `column` within [low, high] (`above` None; a null
    fails when `required`), or `column` <= `above` (either null passes)."""

    column: str
    low: float = 0.0
    high: float | None = None
    required: bool = False
    above: str | None = None

    @property
    def key(self) -> str:
        """The long frame's column, and the expectation, that judge this check."""
        return _ORDER if self.above is not None else f"_in_{self.low:g}_{self.high}"


@dataclass
class _Check:
    """One readable expectation, run as one or more GX expectations whose unexpected rows are
    united, or as one block of the long frame (`stacked`)."""

    name: str
    expectations: list[Any]
    describe: Callable[[pd.DataFrame], str]
    """A few unexpected values, given the unexpected rows of one partition."""
    index: int = -1
    stacked: _Stacked | None = None
    kind: Literal["plain", "grain", "inside"] = "plain"
    """`grain` and `inside` checks can also be judged together with other tables'."""
    columns: tuple[str, ...] = ()
    """The frame's columns a grain or inside check reads."""


def _fmt(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, float) and np.isnan(value):
        return "null"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _sample(items: list[str], total: int) -> str:
    """The first few items (at most MAX_SAMPLES), then how many more there were."""
    more = total - len(items[:MAX_SAMPLES])
    return ", ".join(items[:MAX_SAMPLES]) + (f" and {more} more" if more > 0 else "")


def _key(row: pd.Series, columns: Sequence[str]) -> str:
    return "(" + ", ".join(_fmt(row[c]) for c in columns) + ")"


def _grain_check(unique: list[str]) -> _Check:
    gx = _gx()

    def describe(rows: pd.DataFrame) -> str:
        counts = rows.groupby(unique, dropna=False, sort=True).size()
        keys = [
            "(" + ", ".join(_fmt(v) for v in (k if isinstance(k, tuple) else (k,))) + f") x{n}"
            for k, n in counts.iloc[:MAX_SAMPLES].items()
        ]
        return "duplicate keys: " + _sample(keys, len(counts))

    return _Check(
        name=f"grain ({', '.join(unique)}) unique",
        expectations=[
            gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=[_PART, *unique])
        ],
        describe=describe,
        kind="grain",
        columns=(_PART, *unique),
    )


def _range_check(
    column: str,
    low: float,
    high: float | None,
    check_nulls: bool,
    unique: list[str],
    stack: bool,
) -> _Check:
    """`column` within [low, high]. GX's between ignores nulls; with `check_nulls` a null is
    unexpected too (a column the model declares non-nullable). Stacked when `stack`."""
    gx = _gx()
    stacked = None
    expectations = []
    if stack:
        stacked = _Stacked(column, low, high, required=check_nulls)
    else:
        expectations.append(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=low, max_value=high
            )
        )
        if check_nulls:
            expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))

    def describe(rows: pd.DataFrame) -> str:
        items = [
            f"{_fmt(r[column])} at {_key(r, unique)}" for _, r in rows.head(MAX_SAMPLES).iterrows()
        ]
        return f"{column} = " + _sample(items, len(rows))

    name = f"{column} >= {low:g}" if high is None else f"{column} between {low:g} and {high:g}"
    return _Check(name=name, expectations=expectations, describe=describe, stacked=stacked)


def _ordered_check(low: str, high: str, unique: list[str], stack: bool) -> _Check:
    """`low` <= `high` where both are present. Stacked when `stack`."""
    gx = _gx()

    def describe(rows: pd.DataFrame) -> str:
        items = [
            f"{_fmt(r[low])} > {_fmt(r[high])} at {_key(r, unique)}"
            for _, r in rows.head(MAX_SAMPLES).iterrows()
        ]
        return f"{low} > {high}: " + _sample(items, len(rows))

    name = f"{low} <= {high}"
    if stack:
        return _Check(name, [], describe, stacked=_Stacked(low, above=high))
    return _Check(
        name=name,
        expectations=[
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=high,
                column_B=low,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        ],
        describe=describe,
    )


def _inside_check(column: str, dtypes: pd.Series) -> _Check:
    gx = _gx()
    # compare the naive UTC copy; a missing column is left for GX to report by its name
    compared = _TIME if _TIME in dtypes else column

    def describe(rows: pd.DataFrame) -> str:
        first = rows.iloc[0]
        start, end = (pd.Timestamp(first[c]).tz_localize("UTC") for c in (_START, _END))
        bounds = f"[{_fmt(start)}, {_fmt(end)})"
        values = [_fmt(v) for v in rows[column].head(MAX_SAMPLES)]
        return f"{column} outside {bounds}: " + _sample(values, len(rows))

    return _Check(
        name=f"{column} inside the partition",
        expectations=[
            # start <= t (a null t fails: ignore_row_if="neither")
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=compared, column_B=_START, or_equal=True, ignore_row_if="neither"
            ),
            # t < end
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=_END, column_B=compared, or_equal=False, ignore_row_if="neither"
            ),
        ],
        describe=describe,
        kind="inside",
        columns=(compared,),
    )


def _checks(rule: TableRule, dtypes: pd.Series) -> list[_Check]:
    """The expectations of a table, derived from its Pandera model; `dtypes` are the frame's
    (a numpy integer or bool column cannot hold a null, so it needs no null check)."""
    schema = rule.model.to_schema()
    unique = list(schema.unique or getattr(rule.model.Config, "unique", None) or [])

    def check_nulls(name: str, column: Any) -> bool:
        dtype = dtypes.get(name)
        return not column.nullable and not (isinstance(dtype, np.dtype) and dtype.kind in "iub")

    def numbers(*names: str) -> bool:  # columns the long frame can hold as float64
        kinds = [dtypes.get(n) for n in names]
        return all(
            k is not None and pd.api.types.is_numeric_dtype(k) and not pd.api.types.is_bool_dtype(k)
            for k in kinds
        )

    checks = [_grain_check(unique)] if unique else []  # requests have no grain key
    for name, column in schema.columns.items():
        if name in rule.signed or not pd.api.types.is_integer_dtype(column.dtype.type):
            continue
        nulls = check_nulls(name, column)
        checks.append(_range_check(name, 0, None, nulls, unique, numbers(name)))
    for name, column in schema.columns.items():
        if name.endswith("_rate") or name in RATE_COLUMNS:
            nulls = check_nulls(name, column)
            checks.append(_range_check(name, 0, 1, nulls, unique, numbers(name)))
    present = [c for c in PERCENTILES if c in schema.columns]
    for low, high in zip(present, present[1:], strict=False):
        checks.append(_ordered_check(low, high, unique, numbers(low, high)))
    checks.append(_inside_check(rule.time_column, dtypes))
    return checks


def checked_columns(table: str) -> list[str]:
    """The columns the table's expectations read (for tables too large to hand over whole)."""
    rule = _rule(table)
    schema = rule.model.to_schema()
    unique = list(schema.unique or getattr(rule.model.Config, "unique", None) or [])
    wanted = [*unique, rule.time_column]
    for name, column in schema.columns.items():
        integer = pd.api.types.is_integer_dtype(column.dtype.type) and name not in rule.signed
        if integer or name.endswith("_rate") or name in RATE_COLUMNS or name in PERCENTILES:
            wanted.append(name)
    if table == "endpoint_hourly":
        wanted.append("requests")
    return [c for c in schema.columns if c in wanted]


# partitions ----------------------------------------------------------------------------------
def partition_bounds(table: str, partition: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of a partition of `table`: one UTC hour or one UTC day."""
    try:
        return bounds_of(partition, _rule(table).period)
    except ValueError as exc:
        raise ValueError(f"{table}: {exc}") from None


def _rule(table: str) -> TableRule:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(
            f"no quality rules for table '{table}'; expected one of {', '.join(TABLES)}"
        ) from None


def _floats(column: pd.Series) -> np.ndarray:
    """A numeric column as float64, nulls as NaN (exact for counts below 2**53; the checks
    compare with 0 and 1, which no rounding crosses)."""
    return column.to_numpy(dtype="float64", na_value=np.nan)


_KEY = "_key"
"""Column of the long frame of the grain checks: a number per distinct key of a block."""
_AT, _FROM, _TO = "_at", "_from", "_to"
"""Columns of the long frame of the time-inside-partition checks."""
_INSIDE_LOW, _INSIDE_HIGH = "_inside_from", "_inside_to"


def _long_frame(
    tables: list[_Table], blocks: list[tuple[int, _Check, int]]
) -> tuple[pd.DataFrame, list[Any], list[list[str]]]:
    """The blocks' values one after another (block b: its table's n rows): a grain check's
    keys numbered in `_key` (NaN elsewhere, which GX's uniqueness ignores), a range check's
    values in the column of its range (NaN in every other block, which GX's between ignores),
    an order check's pair in `_low`/`_high` (NaN elsewhere: either missing is ignored), an
    inside check's time and partition bounds in `_at`/`_from`/`_to` (missing elsewhere: both
    missing is ignored, while a missing time inside its block is unexpected). Returns the
    frame, the expectations that judge it (one per column key) and each block's keys."""
    gx = _gx()
    size = sum(n for _, _, n in blocks)
    columns: dict[str, np.ndarray] = {}
    expectations: dict[str, Any] = {}
    keys: list[list[str]] = []
    offset = 0
    for position, check, n in blocks:
        frame = tables[position].frame
        rows = slice(offset, offset + n)
        offset += n
        spec = check.stacked
        if check.kind == "grain":
            if _KEY not in expectations:
                columns[_KEY] = np.full(size, np.nan)
                expectations[_KEY] = gx.expectations.ExpectColumnValuesToBeUnique(
                    column=_KEY, meta={"stack": _KEY}
                )
            # rows equal in every key column (missing values equal) share a number, numbers
            # of different blocks never meet
            key = frame.groupby(list(check.columns), dropna=False, sort=False).ngroup()
            columns[_KEY][rows] = key.to_numpy(dtype="float64") + rows.start
            keys.append([_KEY])
            continue
        if spec is None:  # the time inside its partition
            if _INSIDE_LOW not in expectations:
                for name in (_AT, _FROM, _TO):
                    columns[name] = np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")
                # from <= at < to; a missing time inside its block is unexpected
                both = "both_values_are_missing"
                expectations[_INSIDE_LOW] = _at_least(_AT, _FROM, True, both, _INSIDE_LOW)
                expectations[_INSIDE_HIGH] = _at_least(_TO, _AT, False, both, _INSIDE_HIGH)
            columns[_AT][rows] = _datetimes(frame[_TIME])
            columns[_FROM][rows] = _datetimes(frame[_START])
            columns[_TO][rows] = _datetimes(frame[_END])
            keys.append([_INSIDE_LOW, _INSIDE_HIGH])
            continue
        if spec.above is not None:
            if _ORDER not in expectations:
                columns[_LOW] = np.full(size, np.nan)
                columns[_HIGH] = np.full(size, np.nan)
                expectations[_ORDER] = _at_least(
                    _HIGH, _LOW, True, "either_value_is_missing", _ORDER
                )
            columns[_LOW][rows] = _floats(frame[spec.column])
            columns[_HIGH][rows] = _floats(frame[spec.above])
            keys.append([_ORDER])
            continue
        if spec.key not in expectations:
            columns[spec.key] = np.full(size, np.nan)
            expectations[spec.key] = gx.expectations.ExpectColumnValuesToBeBetween(
                column=spec.key, min_value=spec.low, max_value=spec.high, meta={"stack": spec.key}
            )
        values = _floats(frame[spec.column])
        if spec.required:  # below every range: the null is unexpected
            values = np.where(np.isnan(values), -np.inf, values)
        columns[spec.key][rows] = values
        keys.append([spec.key])
    return pd.DataFrame(columns), list(expectations.values()), keys


def _at_least(high: str, low: str, or_equal: bool, ignore_row_if: str, stack: str) -> Any:
    """GX's `high` > `low` (>= with `or_equal`) over the long frame, judging block key
    `stack`."""
    return _gx().expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=high,
        column_B=low,
        or_equal=or_equal,
        ignore_row_if=ignore_row_if,
        meta={"stack": stack},
    )


def _datetimes(column: pd.Series) -> np.ndarray:
    """A naive datetime column as datetime64[ns], nulls as NaT."""
    return column.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))


def _unexpected(gx_results: list[Any]) -> tuple[list[str], np.ndarray, bool]:
    """GX's errors, the united unexpected row indices, and whether every result succeeded."""
    errors = [e for e in (_exception(r) for r in gx_results) if e]
    indices: set[int] = set()
    for result in gx_results:
        indices.update(int(i) for i in result.result.get("unexpected_index_list") or [])
    positions = np.array(sorted(indices), dtype=np.int64)
    return errors, positions, all(r.success for r in gx_results)


def _results_by_partition(
    table: str,
    check: _Check,
    outcome: tuple[list[str], np.ndarray, bool],
    frame: pd.DataFrame,
    codes: np.ndarray,
    partitions: list[str],
) -> list[QualityResult]:
    """Splits one check's unexpected rows (over all partitions) back per partition."""
    errors, positions, success = outcome
    if errors:
        details = "GX error: " + "; ".join(dict.fromkeys(errors))
        return [QualityResult(table, p, check.name, False, 0, details) for p in partitions]
    if not len(positions) and not success:
        details = "GX reported a failure without unexpected rows"
        return [QualityResult(table, p, check.name, False, 0, details) for p in partitions]
    counts = np.bincount(codes[positions], minlength=len(partitions))
    out = []
    for code, partition in enumerate(partitions):
        unexpected = int(counts[code])
        details = ""
        if unexpected:
            rows = frame.iloc[positions[codes[positions] == code]]
            details = check.describe(rows)
        out.append(
            QualityResult(table, partition, check.name, unexpected == 0, unexpected, details)
        )
    return out


def _cross_table(
    table: str, frames: dict[str, pd.DataFrame], partitions: list[str], rows: dict[str, int]
) -> list[QualityResult]:
    """sum(requests) of each endpoint_hourly partition = the request rows of its hour, as a GX
    expectation over a one-row-per-partition frame. A partition missing from `rows` fails."""
    gx = _gx()
    sums = pd.DataFrame(
        {
            "partition": partitions,
            "requests_sum": [float(frames[p]["requests"].sum()) for p in partitions],
            "requests_rows": [float(rows[p]) if p in rows else np.nan for p in partitions],
        }
    )
    expectation = gx.expectations.ExpectColumnPairValuesToBeEqual(
        column_A="requests_sum",
        column_B="requests_rows",
        ignore_row_if="neither",
        meta={"check": 0},
    )
    (result,) = _validate(sums, [expectation])[0]
    error = _exception(result)
    failed = set(result.result.get("unexpected_index_list") or [])
    out = []
    for i, row in sums.iterrows():
        observed = f"sum(requests) = {int(row['requests_sum'])}, requests rows = " + (
            "not given" if np.isnan(row["requests_rows"]) else f"{int(row['requests_rows'])}"
        )
        if error:
            details = f"GX error: {error}"
            out.append(QualityResult(table, row["partition"], CROSS_TABLE, False, 0, details))
        else:
            bad = i in failed
            out.append(
                QualityResult(table, row["partition"], CROSS_TABLE, not bad, int(bad), observed)
            )
    return out


def check_partitions(
    table: str,
    frames: dict[str, pd.DataFrame],
    *,
    requests_rows: dict[str, int] | None = None,
) -> list[QualityResult]:
    """Validates partitions of one table (partition string -> its rows) with Great Expectations.

    Returns one result per (partition, expectation), successes included, ordered by partition.
    `requests_rows` (endpoint_hourly only): per partition, the rows of the `requests` partition
    with an endpoint; when given, sum(requests) must equal it.
    """
    _rule(table)
    if requests_rows is not None and table != "endpoint_hourly":
        raise ValueError(f"requests_rows only applies to endpoint_hourly, not {table}")
    return check_tables({table: frames}, requests_rows=requests_rows)


def check_tables(
    tables: dict[str, dict[str, pd.DataFrame]],
    *,
    requests_rows: dict[str, int] | None = None,
) -> list[QualityResult]:
    """`check_partitions` of several tables at once (table -> its partitions' rows): the same
    results, table by table in the order given, from fewer validations. The checks of every
    table whose columns are all there run together: its grain checks side by side in one
    frame, its range, order and time-inside-partition checks stacked in one long frame with
    the other tables' (GX's cost is per expectation, so checking ten tables together costs
    little more than checking one). `requests_rows` applies to endpoint_hourly."""
    prepared = [_prepare(table, frames) for table, frames in tables.items() if frames]
    outcomes: dict[tuple[int, int], tuple[list[str], np.ndarray, bool]] = {}
    together = [i for i, t in enumerate(prepared) if t.together]
    if together:
        outcomes.update(_outcomes_together([prepared[i] for i in together], together))
    for i, t in enumerate(prepared):
        if not t.together:
            outcomes.update({(i, k): v for k, v in _outcomes_alone(t).items()})

    results: list[QualityResult] = []
    for i, t in enumerate(prepared):
        per_partition: dict[str, list[QualityResult]] = {p: [] for p in t.partitions}
        for check in t.checks:
            for result in _results_by_partition(
                t.name, check, outcomes[(i, check.index)], t.frame, t.codes, t.partitions
            ):
                per_partition[result.partition].append(result)
        if requests_rows is not None and t.name == "endpoint_hourly":
            for result in _cross_table(t.name, t.frames, t.partitions, requests_rows):
                per_partition[result.partition].append(result)
        results += [r for p in t.partitions for r in per_partition[p]]
    return results


@dataclass
class _Table:
    """One table's partitions concatenated (with the helper columns) and its checks."""

    name: str
    frames: dict[str, pd.DataFrame]
    partitions: list[str]
    codes: np.ndarray
    frame: pd.DataFrame
    checks: list[_Check]

    @property
    def together(self) -> bool:
        """Whether its checks can run with other tables': every one stacked, or a grain or
        inside check over columns the frame has (a missing column is left to GX to name, in a
        validation of its own)."""
        return all(
            c.stacked is not None
            or (
                c.kind in ("grain", "inside")
                and all(col in self.frame.columns for col in c.columns)
                and (c.kind == "grain" or c.columns == (_TIME,))
            )
            for c in self.checks
        )


def _prepare(table: str, frames: dict[str, pd.DataFrame]) -> _Table:
    rule = _rule(table)
    partitions = sorted(frames)
    bounds = [partition_bounds(table, p) for p in partitions]

    sizes = np.array([len(frames[p]) for p in partitions], dtype=np.int64)
    codes = np.repeat(np.arange(len(partitions)), sizes)
    frame = pd.concat([frames[p] for p in partitions], ignore_index=True)
    clash = {_PART, _START, _END, _TIME} & set(frame.columns)
    if clash:
        raise ValueError(f"{table}: frames must not have columns {sorted(clash)}")
    frame[_PART] = np.array(partitions, dtype=object)[codes]
    frame[_START] = pd.DatetimeIndex([b[0] for b in bounds]).tz_convert(None).take(codes)
    frame[_END] = pd.DatetimeIndex([b[1] for b in bounds]).tz_convert(None).take(codes)
    if rule.time_column in frame.columns:
        time = frame[rule.time_column]
        if isinstance(time.dtype, pd.DatetimeTZDtype):
            time = time.dt.tz_convert(None)  # a naive time column is taken for UTC
        frame[_TIME] = time

    checks = _checks(rule, frame.dtypes)
    for index, check in enumerate(checks):
        check.index = index
    return _Table(table, frames, partitions, codes, frame, checks)


def _outcomes_alone(t: _Table) -> dict[int, tuple[list[str], np.ndarray, bool]]:
    """A table's checks in validations of its own: the plain expectations over its frame,
    the stacked ones over its long frame."""
    expectations = []
    for check in t.checks:
        for expectation in check.expectations:
            expectation.meta = {"check": check.index}
            expectations.append(expectation)
    by_check = _validate(t.frame, expectations)
    outcomes = {c.index: _unexpected(by_check[c.index]) for c in t.checks if c.stacked is None}
    stacked = [c for c in t.checks if c.stacked is not None]
    if stacked:
        blocks = [(0, c, len(t.frame)) for c in stacked]
        outcomes.update({index: o for (_, index), o in _stacked_outcomes([t], blocks).items()})
    return outcomes


def _outcomes_together(
    tables: list[_Table], ids: list[int]
) -> dict[tuple[int, int], tuple[list[str], np.ndarray, bool]]:
    """The checks of `tables` (numbered `ids` in the results), every one stacked in one long
    frame and judged in one validation."""
    blocks = [(position, c, len(t.frame)) for position, t in enumerate(tables) for c in t.checks]
    stacked = _stacked_outcomes(tables, blocks)
    return {(ids[position], index): o for (position, index), o in stacked.items()}


def _stacked_outcomes(
    tables: list[_Table], blocks: list[tuple[int, _Check, int]]
) -> dict[tuple[int, int], tuple[list[str], np.ndarray, bool]]:
    """Judges the blocks (table position, check, rows) in one long frame; each block's
    outcome, by (table position, check index), in its own rows' positions."""
    long, judges, keys = _long_frame(tables, blocks)
    by_key = {r.expectation_config.meta["stack"]: r for r in _validate_all(long, judges)}
    outcomes = {}
    offset = 0
    for (position, check, n), block_keys in zip(blocks, keys, strict=True):
        errors, indices, success = _unexpected([by_key[k] for k in block_keys])
        # this block's rows only; an expectation failing with no unexpected row at all is
        # reported by every check it judges
        mine = indices[(indices >= offset) & (indices < offset + n)] - offset
        outcomes[(position, check.index)] = (errors, mine, success or len(indices) > 0)
        offset += n
    return outcomes
