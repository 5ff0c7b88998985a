"""Row-level validation against Pandera models: every failing row keeps every reason."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa


def schema_reasons(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.Series:
    """One '; '-joined reason string per failing row (indexed like `frame`); empty if all pass.

    Failures that name no row (a missing column, say) apply to the whole frame and raise.
    """
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
