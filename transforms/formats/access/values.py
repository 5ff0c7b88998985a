"""Typing the text fields of a line format: measures (text -> numbers), inputs and derived
fields, log times (CLF and ISO 8601), status codes and byte counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.formats.base import (
    CANDIDATE_TYPES,
    LINE_NUMBER,
    MONTHS,
    RAW,
    REASONS,
    STR_MAPPER,
    ZONED_ISO_TIME,
    Field,
    Parsed,
    arrow_text,
    as_float,
    as_int,
    build,
    conversion_failures,
    present,
)

# measures: text -> (values, failed) ---------------------------------------------------------
Measure = Callable[[pd.Series], tuple[pd.Series, pd.Series]]
"""Text in, (float values, failed) out: a logged value that is not a valid one fails; text that
means "not logged" ('-', empty) is null without failing."""


def numbers(factor: float = 1.0) -> Measure:
    convert = as_float(factor)

    def measure(text: pd.Series) -> tuple[pd.Series, pd.Series]:
        values = convert(text)
        missing = values.isna()
        if not missing.any():
            return values, missing
        return values, missing & present(text)

    return measure


def number_lists(factor: float = 1.0) -> Measure:
    """Numbers, or lists of them in nginx's upstream notation ('0.010, 0.120 : 0.003'), summed;
    '-' items count as nothing, a list of only '-' is null."""
    single_measure = numbers(factor)

    def measure(text: pd.Series) -> tuple[pd.Series, pd.Series]:
        text = text.str.strip()
        values, failed = single_measure(text)
        lists = text.str.contains(r"[,:]", regex=True).fillna(False).astype(bool)
        if lists.any():
            items = text[lists].str.split(r"\s*[,:]\s*", regex=True).explode()
            item_values = pd.to_numeric(items, errors="coerce").astype("float64")
            bad = (item_values.isna() & present(items)).groupby(level=0).any()
            sums = item_values.groupby(level=0).sum(min_count=1) * factor
            values.loc[bad.index] = sums.where(~bad)
            failed.loc[bad.index] = bad
        return values, failed

    return measure


@dataclass(frozen=True)
class Input:
    """A text column that feeds a derived canonical column, checked on its own."""

    source: str
    measure: Measure
    what: str  # what a value must be, for the reason when it is not


@dataclass(frozen=True)
class Derived:
    """A canonical column computed from several text columns (e.g. a latency that is the sum
    of three timings, or one timing with another as fallback)."""

    inputs: tuple[Input, ...]
    combine: Callable[[list[pd.Series]], pd.Series]


def first_logged(values: list[pd.Series]) -> pd.Series:
    """Per row, the first input that was logged."""
    out = values[0]
    for more in values[1:]:
        out = out.where(out.notna(), more)
    return out


def build_derived(
    records: pd.DataFrame,
    fields: dict[str, Field],
    derived: dict[str, Derived],
    **kwargs,
) -> Parsed:
    """`build`, plus derived columns: every input that fails is named in the row's reasons
    after the fields' own (so a row still lists every field that failed)."""
    records = records.reset_index(drop=True)
    computed: dict[str, pd.Series] = {}
    failures: list[pd.Series] = []
    for target, spec in derived.items():
        if target not in CANDIDATE_TYPES:
            raise ValueError(f"unknown canonical column '{target}'")
        values = []
        for item in spec.inputs:
            if item.source not in records:
                values.append(pd.Series(np.nan, index=records.index, dtype="float64"))
                continue
            text = records[item.source].astype("str")
            value, failed = item.measure(text)
            if failed.any():
                failures.append(conversion_failures(item.source, text, failed, item.what))
            values.append(value)
        computed[target] = spec.combine(values).astype(CANDIDATE_TYPES[target])

    parsed = build(records, fields, **kwargs)
    numbers_ = records[LINE_NUMBER].to_numpy(dtype="int64")
    candidates = parsed.candidates
    positions = pd.Index(numbers_).get_indexer(candidates[LINE_NUMBER].to_numpy(dtype="int64"))
    for target, values in computed.items():
        candidates[target] = values.iloc[positions].set_axis(candidates.index)
    rejects = parsed.rejects
    if failures:
        reasons = pd.concat(failures).groupby(level=0, sort=True).agg("; ".join)
        reasons.index = numbers_[reasons.index.to_numpy()]
        again = rejects[LINE_NUMBER].isin(reasons.index).to_numpy()
        if again.any():
            more = reasons.reindex(rejects.loc[again, LINE_NUMBER].to_numpy()).to_numpy()
            rejects.loc[again, REASONS] = rejects.loc[again, REASONS] + "; " + more
        bad = candidates[LINE_NUMBER].isin(reasons.index).to_numpy()
        moved = pd.DataFrame(
            {
                LINE_NUMBER: candidates.loc[bad, LINE_NUMBER],
                RAW: candidates.loc[bad, RAW],
                REASONS: reasons.reindex(candidates.loc[bad, LINE_NUMBER].to_numpy())
                .astype("str")
                .to_numpy(),
            }
        )
        rejects = (
            pd.concat([rejects, moved], ignore_index=True)
            .sort_values(LINE_NUMBER, kind="stable")
            .reset_index(drop=True)
        )
        candidates = candidates.loc[~bad].reset_index(drop=True) if bad.any() else candidates
    order = [c for c in candidates if c not in (LINE_NUMBER, RAW)] + [LINE_NUMBER, RAW]
    return Parsed(
        candidates=candidates[order],
        rejects=rejects,
        records_read=parsed.records_read,
        format=parsed.format,
        notes=parsed.notes,
    )


def latency(*inputs: Input) -> Derived:
    """latency_ms: per line, the first of `inputs` logged (request times before upstream ones)."""
    return Derived(inputs=inputs, combine=first_logged)


# times ------------------------------------------------------------------------------------------
CLF_TIME = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
HTTP_DATE = r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT"
"""An HTTP date (RFC 9110's IMF-fixdate, JavaScript's `toUTCString()`)."""
ACCESS_TIME = (
    rf"(?:{CLF_TIME}"
    r"|\d\d/[A-Z][a-z]{2}/\d{4}[: ]\d\d:\d\d:\d\d\.\d{1,9} [+-]\d{4}"
    rf"|{ZONED_ISO_TIME}|{HTTP_DATE})"
)
"""The time in an access line's brackets: CLF's `%t` (nginx's `$time_local`), Apache's with
milliseconds (`[%{%d/%b/%Y:%H:%M:%S}t.%{msec_frac}t %{%z}t]`, or with a space before the time
as its documentation's example has it), ISO 8601 (nginx's `$time_iso8601`, Apache's
`%{%Y-%m-%dT%H:%M:%S%z}t`) and an HTTP date (Express's morgan `default` format and Connect's
logger before it: `[Sun, 01 Nov 2026 10:00:00 GMT]`)."""
_FRACTION_CLF = re.compile(
    r"^(?P<d>\d\d)/(?P<m>[A-Z][a-z]{2})/(?P<y>\d{4})[: ](?P<t>\d\d:\d\d:\d\d\.\d{1,9}) "
    r"(?P<z>[+-]\d{4})$"
)
_HTTP_DATE = re.compile(
    r"^[A-Z][a-z]{2}, (?P<d>\d\d) (?P<m>[A-Z][a-z]{2}) (?P<y>\d{4}) (?P<t>\d\d:\d\d:\d\d) GMT$"
)


_MONTH_NAMES = pa.array(list(MONTHS), pa.large_string())
_MONTH_NUMBERS = pa.array(list(MONTHS.values()), pa.large_string())


def clf_time(text: pd.Series) -> pd.Series:
    """`10/Oct/2000:13:55:36 -0700` to UTC. Rewritten to ISO 8601 by slicing (the layout is
    fixed-width) in Arrow, then read by Arrow's ISO 8601 parser: strptime with %z is several
    times slower."""
    values = pc.utf8_trim_whitespace(arrow_text(text))
    valid = pc.match_substring_regex(values, f"^{CLF_TIME}$").fill_null(False)
    values = pc.if_else(valid, values, pa.scalar(None, pa.large_string()))

    def part(start: int, stop: int) -> pa.ChunkedArray:
        return pc.utf8_slice_codeunits(values, start, stop)

    month = pc.take(_MONTH_NUMBERS, pc.index_in(part(3, 6), value_set=_MONTH_NAMES))

    def lit(value: str) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())

    iso = pc.binary_join_element_wise(
        part(7, 11), lit("-"), month, lit("-"), part(0, 2), lit("T"), part(12, 20),
        part(21, 24), lit(":"), part(24, 26), lit(""),
    )  # fmt: skip
    parsed = _arrow_utc(iso)
    if parsed is None:  # a day or time out of range (32/Oct, 25:00): the slow path names none
        out = iso_time(pd.Series(iso.to_pandas(types_mapper=STR_MAPPER), index=text.index))
    else:
        out = pd.Series(parsed.to_pandas(), index=text.index).astype("datetime64[us, UTC]")
    other = ~valid.to_numpy(zero_copy_only=False) & text.notna().to_numpy()
    if other.any():  # the other times of `ACCESS_TIME`
        out[other] = _other_access_times(text[other]).array
    return out


def _other_access_times(text: pd.Series) -> pd.Series:
    """Apache's times with milliseconds, HTTP dates and ISO 8601 times to UTC (anything else
    is NaT)."""

    def iso(value: str) -> str:
        value = value.strip()
        match = _FRACTION_CLF.match(value) or _HTTP_DATE.match(value)
        if match is None:
            return value
        month = MONTHS.get(match["m"])
        zone = match["z"] if "z" in match.groupdict() else "+0000"
        return f"{match['y']}-{month}-{match['d']}T{match['t']}{zone}" if month else value

    return iso_time(text.astype("str").map(iso).astype("str"))


def _arrow_utc(iso: pa.ChunkedArray) -> pa.ChunkedArray | None:
    try:
        return iso.cast(pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        return None


def iso_time(text: pd.Series) -> pd.Series:
    """ISO 8601 to UTC (an offset is applied, a naive time is taken as UTC)."""
    values = pd.to_datetime(text.str.strip(), format="ISO8601", utc=True, errors="coerce")
    return values.dt.as_unit("us")


STATUS = ("an integer status code", as_int("Int16"))
BYTES = ("a whole number of bytes", as_int("Int64"))
