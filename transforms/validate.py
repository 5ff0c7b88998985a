"""Row-level validation against Pandera models: every failing row keeps every reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine


def schema_reasons(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.Series:
    """One '; '-joined reason string per failing row (indexed like `frame`); empty if all pass.

    Failures that name no row (a missing column, say) apply to the whole frame and raise.
    Pandera judges only the rows `suspect_rows` cannot clear (its checks are row by row, so a
    row fails in the subset exactly as in the whole frame); where that screen cannot tell, the
    whole frame goes to Pandera.
    """
    suspects = suspect_rows(frame, model)
    if suspects is not None:
        if not suspects.any():
            return pd.Series(dtype="str")
        frame = frame.loc[suspects]
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pd.Series(dtype="str")
    whole = cases[cases["index"].isna()]
    if len(whole):
        first = whole.iloc[0]
        raise ValueError(
            f"{first['column'] or 'frame'}: {first['check']} failed ({first['failure_case']})"
        )
    messages = cases.apply(_message, axis=1)
    return messages.groupby(cases["index"].astype("int64").to_numpy()).agg(
        lambda m: "; ".join(dict.fromkeys(m))
    )


_EXPECTATIONS = {
    "greater_than_or_equal_to": ">=",
    "greater_than": ">",
    "less_than_or_equal_to": "<=",
    "less_than": "<",
    "str_matches": "to match",
    "str_startswith": "to start with",
    "isin": "one of",
    "str_length": "a length of",
}


def _message(case: pd.Series) -> str:
    check = str(case["check"])
    column = case["column"]
    value = case["failure_case"]
    if isinstance(value, pd.Timestamp):
        value = value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if check == "not_nullable":
        return f"{column}: missing"
    if check.startswith("coerce_dtype"):
        return (
            f"{column}: {value!r} is not a valid {check.removeprefix('coerce_dtype(').rstrip(')')}"
        )
    name, _, argument = check.partition("(")
    if name in _EXPECTATIONS:
        return f"{column}: expected {_EXPECTATIONS[name]} {argument.rstrip(')')}, got {value!r}"
    return f"{column}: {check} failed for {value!r}"


def merge_reasons(*reason_series: pd.Series) -> pd.Series:
    """Joins per-row reasons from several checks, keeping their order."""
    series = [s for s in reason_series if len(s)]
    if not series:
        return pd.Series(dtype="str")
    combined = pd.concat(series)
    return combined.groupby(level=0, sort=True).agg("; ".join)


# Pandera's built-in column checks this screen evaluates itself, as the comparison each makes
_COMPARISONS = {
    "greater_than_or_equal_to": ("min_value", np.greater_equal),
    "greater_than": ("min_value", np.greater),
    "less_than_or_equal_to": ("max_value", np.less_equal),
    "less_than": ("max_value", np.less),
}


def suspect_rows(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> np.ndarray | None:
    """Rows of `frame` that may fail `model` (True), computed with NumPy: a row is cleared only
    when it passes every rule of the model for certain. None when the frame must be validated
    whole: a column of another type than the model's (Pandera coerces or refuses it), a column
    missing or not allowed, or a rule this screen does not evaluate (uniqueness, say)."""
    schema = model.to_schema()
    if (
        schema.index is not None
        or schema.unique
        or schema.ordered
        or schema.add_missing_columns
        or schema.drop_invalid_rows
        or frame.columns.has_duplicates
        or (schema.strict and set(frame.columns) != set(schema.columns))
    ):
        return None
    suspects = np.zeros(len(frame), dtype=bool)
    for name, column in schema.columns.items():
        if name not in frame.columns:
            if column.required:
                return None
            continue
        if column.unique or column.regex or column.drop_invalid_rows or column.parsers:
            return None
        series = frame[name]
        if series.dtype == object or (
            column.dtype is None
            or column.dtype.check(pandas_engine.Engine.dtype(series.dtype)) is not True
        ):
            return None
        if column.nullable and not column.checks:
            continue  # any value of the type passes
        nulls = series.isna().to_numpy(dtype=bool)
        if not column.nullable:
            suspects |= nulls
        for check in column.checks:
            if check.name not in _COMPARISONS or not check.ignore_na:
                return None
            key, compare = _COMPARISONS[check.name]
            passed = _compare(series, nulls, compare, check.statistics[key])
            if passed is None:
                return None
            suspects |= ~passed
    for check in schema.checks:
        output = check(frame).check_output
        if not isinstance(output, pd.Series) or output.dtype != bool or len(output) != len(frame):
            return None
        suspects |= ~output.to_numpy()
    return suspects


def _compare(series: pd.Series, nulls: np.ndarray, compare, bound) -> np.ndarray | None:
    """Where `series` meets the bound (nulls pass: the checks ignore them), None when its type
    has no comparison of this kind here."""
    kind = series.dtype.kind
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        if not isinstance(bound, pd.Timestamp) or bound.tzinfo is None:
            return None
        values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()  # NaT never passes
        limit = np.datetime64(bound.tz_convert("UTC").tz_localize(None))
    elif kind in "iuf" and isinstance(bound, (int, float)) and not isinstance(bound, bool):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        if kind in "iu" and np.abs(values[~nulls]).max(initial=0) >= 2**53:
            return None  # not exact as floats
        limit = bound
    else:
        return None
    with np.errstate(invalid="ignore"):
        return compare(values, limit) | nulls
