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
                import great_expectations

                if warnings.showwarning is not showwarning:
                    logging.captureWarnings(False)
                logging.getLogger("great_expectations").setLevel(logging.WARNING)
                _gx_module = great_expectations
    return _gx_module


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


def _validate(frame: pd.DataFrame, expectations: list[Any]) -> dict[int, list[Any]]:
    """Runs the expectations over the frame in one validation; results by `meta["check"]`."""
    gx = _gx()
    with _lock:
        batch = _get_batch_definition().get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="logcast-quality", expectations=expectations)
        outcome = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    by_check: dict[int, list[Any]] = {}
    for result in outcome.results:
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
@dataclass
class _Check:
    """One readable expectation, run as one or more GX expectations whose unexpected rows are
    united."""

    name: str
    expectations: list[Any]
    describe: Callable[[pd.DataFrame], str]
    """A few unexpected values, given the unexpected rows of one partition."""
    index: int = -1


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
    )


def _range_check(
    column: str, low: float, high: float | None, check_nulls: bool, unique: list[str]
) -> _Check:
    """`column` within [low, high]. GX's between ignores nulls; with `check_nulls` a null is
    unexpected too (a column the model declares non-nullable)."""
    gx = _gx()
    expectations = [
        gx.expectations.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
    ]
    if check_nulls:
        expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))

    def describe(rows: pd.DataFrame) -> str:
        items = [
            f"{_fmt(r[column])} at {_key(r, unique)}" for _, r in rows.head(MAX_SAMPLES).iterrows()
        ]
        return f"{column} = " + _sample(items, len(rows))

    name = f"{column} >= {low:g}" if high is None else f"{column} between {low:g} and {high:g}"
    return _Check(name=name, expectations=expectations, describe=describe)


def _ordered_check(low: str, high: str, unique: list[str]) -> _Check:
    gx = _gx()

    def describe(rows: pd.DataFrame) -> str:
        items = [
            f"{_fmt(r[low])} > {_fmt(r[high])} at {_key(r, unique)}"
            for _, r in rows.head(MAX_SAMPLES).iterrows()
        ]
        return f"{low} > {high}: " + _sample(items, len(rows))

    return _Check(
        name=f"{low} <= {high}",
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
    )


def _checks(rule: TableRule, dtypes: pd.Series) -> list[_Check]:
    """The expectations of a table, derived from its Pandera model; `dtypes` are the frame's
    (a numpy integer or bool column cannot hold a null, so it needs no null check)."""
    schema = rule.model.to_schema()
    unique = list(schema.unique or getattr(rule.model.Config, "unique", None) or [])

    def check_nulls(name: str, column: Any) -> bool:
        dtype = dtypes.get(name)
        return not column.nullable and not (isinstance(dtype, np.dtype) and dtype.kind in "iub")

    checks = [_grain_check(unique)] if unique else []  # requests have no grain key
    for name, column in schema.columns.items():
        if name in rule.signed or not pd.api.types.is_integer_dtype(column.dtype.type):
            continue
        checks.append(_range_check(name, 0, None, check_nulls(name, column), unique))
    for name, column in schema.columns.items():
        if name.endswith("_rate") or name in RATE_COLUMNS:
            checks.append(_range_check(name, 0, 1, check_nulls(name, column), unique))
    present = [c for c in PERCENTILES if c in schema.columns]
    for low, high in zip(present, present[1:], strict=False):
        checks.append(_ordered_check(low, high, unique))
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


def _results_by_partition(
    table: str,
    check: _Check,
    gx_results: list[Any],
    frame: pd.DataFrame,
    codes: np.ndarray,
    partitions: list[str],
) -> list[QualityResult]:
    """Splits one check's unexpected rows (over all partitions) back per partition."""
    errors = [e for e in (_exception(r) for r in gx_results) if e]
    if errors:
        details = "GX error: " + "; ".join(dict.fromkeys(errors))
        return [QualityResult(table, p, check.name, False, 0, details) for p in partitions]
    indices: set[int] = set()
    for result in gx_results:
        indices.update(int(i) for i in result.result.get("unexpected_index_list") or [])
    if not indices and not all(r.success for r in gx_results):
        details = "GX reported a failure without unexpected rows"
        return [QualityResult(table, p, check.name, False, 0, details) for p in partitions]
    positions = np.array(sorted(indices), dtype=np.int64)
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
    rule = _rule(table)
    if requests_rows is not None and table != "endpoint_hourly":
        raise ValueError(f"requests_rows only applies to endpoint_hourly, not {table}")
    if not frames:
        return []
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
    expectations = []
    for index, check in enumerate(checks):
        check.index = index
        for expectation in check.expectations:
            expectation.meta = {"check": index}
            expectations.append(expectation)
    by_check = _validate(frame, expectations)

    per_partition: dict[str, list[QualityResult]] = {p: [] for p in partitions}
    for check in checks:
        for result in _results_by_partition(
            table, check, by_check[check.index], frame, codes, partitions
        ):
            per_partition[result.partition].append(result)
    if requests_rows is not None:
        for result in _cross_table(table, frames, partitions, requests_rows):
            per_partition[result.partition].append(result)
    return [r for p in partitions for r in per_partition[p]]
