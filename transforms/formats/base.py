"""What every format parser shares: lines with their numbers, typed conversions that keep
every failure's reason, and the `Parsed` result the canonical step consumes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.requests import Request

LINE_NUMBER = "line_number"
RAW = "raw"
REASONS = "reasons"

CANDIDATE_TYPES: dict[str, str] = {
    name: "str" if str(column.dtype).startswith(("str", "string")) else str(column.dtype)
    for name, column in Request.to_schema().columns.items()
    if name not in ("source", "endpoint")
}
"""Columns a parser may fill, with their types; `source` and `endpoint` are added afterwards."""

MISSING = frozenset({"", "-"})

_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def STR_MAPPER(_type: pa.DataType) -> pd.StringDtype:
    """Arrow strings to pandas' default `str` dtype, without copying."""
    return _STR_DTYPE


"""Text that means "not logged" in every format."""


class FileFormatError(ValueError):
    """The file as a whole cannot be read in the format asked for."""


@dataclass(frozen=True)
class Parsed:
    """A parser's result: typed candidate rows and the lines that could not become one."""

    candidates: pd.DataFrame  # any CANDIDATE_TYPES columns, typed, + line_number + raw
    rejects: pd.DataFrame  # line_number, raw, reasons
    records_read: int
    format: str
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Format:
    """A named format: how to parse a file and how to recognise its first line."""

    name: str
    parse: Callable[..., Parsed]  # parse(data: bytes, **options) -> Parsed
    looks_like: Callable[[str], bool]  # first non-blank line -> is this format?
    description: str


def rejects_frame(numbers=(), raws=(), reasons=()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            LINE_NUMBER: pd.array(list(numbers), dtype="Int64"),
            RAW: pd.array(list(raws), dtype="str"),
            REASONS: pd.array(list(reasons), dtype="str"),
        }
    )


@dataclass(frozen=True)
class Lines:
    """The non-blank lines of a file, decoded, with 1-based line numbers."""

    numbers: np.ndarray
    texts: pd.Series  # str, index 0..n-1
    rejects: pd.DataFrame  # undecodable lines or lines with NUL bytes


def split_lines(data: bytes) -> Lines:
    """Splits on LF (CRLF tolerated, a leading BOM dropped); blank lines are not records."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        if b"\x00" in data:
            raise UnicodeError
        text = data.decode("utf-8")
    except UnicodeError:
        return _split_lines_slow(data)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    array = pa.array(lines, type=pa.large_string())
    del lines
    if "\r" in text:
        array = pc.replace_substring_regex(array, "\r$", "")
    keep = pc.invert(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(array)), 0))
    numbers = np.flatnonzero(keep.to_numpy(zero_copy_only=False)) + 1
    texts = pc.filter(array, keep).to_pandas(types_mapper=STR_MAPPER)
    return Lines(numbers=numbers, texts=texts, rejects=rejects_frame())


def _split_lines_slow(data: bytes) -> Lines:
    numbers, texts, bad = [], [], []
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for number, line in enumerate(raw_lines, start=1):
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue
        if b"\x00" in line:
            bad.append(
                (number, line.decode("utf-8", "backslashreplace"), "line contains NUL bytes")
            )
            continue
        try:
            texts.append(line.decode("utf-8"))
            numbers.append(number)
        except UnicodeDecodeError as exc:
            bad.append(
                (
                    number,
                    line.decode("utf-8", "backslashreplace"),
                    f"not valid UTF-8 (byte {exc.start + 1} of the line)",
                )
            )
    return Lines(
        numbers=np.asarray(numbers, dtype="int64"),
        texts=pd.Series(texts, dtype="str"),
        rejects=rejects_frame(*zip(*bad, strict=True)) if bad else rejects_frame(),
    )


# conversions ---------------------------------------------------------------------------------
Converter = Callable[[pd.Series], pd.Series]
"""Text in, typed values out; a value that cannot be converted becomes null."""


def present(text: pd.Series) -> pd.Series:
    """True where a value was logged (not empty, not '-')."""
    return ~text.fillna("").str.strip().isin(MISSING)


def as_text(text: pd.Series) -> pd.Series:
    stripped = text.str.strip()
    return stripped.where(present(stripped)).astype("str")


def as_float(factor: float = 1.0) -> Converter:
    """Numbers, scaled by `factor` (e.g. 1000 for seconds to milliseconds)."""

    def convert(text: pd.Series) -> pd.Series:
        return (pd.to_numeric(text.str.strip(), errors="coerce") * factor).astype("float64")

    return convert


def as_int(dtype: str) -> Converter:
    """Whole numbers; fractions and out-of-range values become null."""

    def convert(text: pd.Series) -> pd.Series:
        values = pd.to_numeric(text.str.strip(), errors="coerce")
        whole = values.where((values % 1 == 0) & values.abs().lt(2**53))
        if dtype == "Int16":
            # keep out-of-range codes (e.g. 70000) for the schema to name, as a large number
            whole = whole.where(whole.isna() | whole.abs().lt(32_768), 32_767)
        return whole.astype(dtype)

    return convert


EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0, "s"))
"""Epoch magnitude thresholds: 1e11 s is year 5138, 1e11 ms is 1973: unambiguous for logs."""


def as_timestamp(formats: tuple[str, ...] = ("ISO8601",)) -> Converter:
    """Timestamps to UTC: ISO 8601 (an offset is applied, a naive time is taken as UTC), epoch
    seconds/milliseconds/microseconds by magnitude, or any strptime format given."""

    def convert(text: pd.Series) -> pd.Series:
        text = text.str.strip()
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        # only numeric-looking values are tried as epochs: ISO text is the common case
        looks_numeric = text.str.fullmatch(r"-?\d+(\.\d*)?").fillna(False).astype(bool)
        numeric = pd.to_numeric(text[looks_numeric], errors="coerce")
        numeric = numeric[numeric.notna()]
        is_epoch = pd.Series(text.index.isin(numeric.index), index=text.index)
        if is_epoch.any():
            epoch = numeric[is_epoch]
            for threshold, unit in EPOCH_UNITS:
                chosen = epoch.abs() >= threshold
                if chosen.any():
                    values = pd.to_datetime(epoch[chosen], unit=unit, utc=True, errors="coerce")
                    # float epochs carry binary noise: round to the microsecond, don't truncate
                    out.loc[values.index] = values.dt.round("us").dt.as_unit("us")
                    epoch = epoch[~chosen]
        rest = ~is_epoch & present(text)
        for fmt in formats:
            if not rest.any():
                break
            values = pd.to_datetime(text[rest], format=fmt, utc=True, errors="coerce")
            parsed = values.notna()
            out.loc[values.index[parsed]] = values[parsed].dt.as_unit("us")
            rest.loc[values.index[parsed]] = False
        return out

    return convert


def conversion_failures(source: str, text: pd.Series, failed: pd.Series, what: str) -> pd.Series:
    """ "<source>: '<value>' is not <what>" for each failed row (values cut at 80 characters)."""
    return source + ": " + text[failed].str.slice(0, 80).map(repr) + f" is not {what}"


@dataclass(frozen=True)
class Field:
    """How one candidate column comes from one text column of the records."""

    source: str  # the text column in the records (also the name used in reasons)
    convert: Converter
    what: str  # what a value must be, for the reason when it is not


def build(
    records: pd.DataFrame,
    fields: dict[str, Field],
    *,
    format: str,
    records_read: int,
    rejects: pd.DataFrame,
    notes: tuple[str, ...] = (),
) -> Parsed:
    """Typed candidates from text records (which carry line_number and raw). A logged value that
    does not convert rejects its row with '<source>: <value> is not <what>'; every failing
    field of a row is named."""
    columns: dict[str, pd.Series] = {}
    failures = []
    for target, spec in fields.items():
        if target not in CANDIDATE_TYPES:
            raise ValueError(f"unknown canonical column '{target}'")
        if spec.source not in records:
            continue
        text = records[spec.source].astype("str")
        values = spec.convert(text)
        failed = values.isna() & present(text)
        if failed.any():
            failures.append(conversion_failures(spec.source, text, failed, spec.what))
        columns[target] = values.astype(CANDIDATE_TYPES[target])
    candidates = pd.DataFrame(columns, index=records.index)
    bad = pd.Series(False, index=records.index)
    reasons = pd.Series(dtype="str")
    if failures:
        joined = pd.concat(failures)
        reasons = joined.groupby(level=0, sort=True).agg("; ".join)
        bad = records.index.isin(reasons.index)
    candidates[LINE_NUMBER] = records[LINE_NUMBER].astype("Int64")
    candidates[RAW] = records[RAW].astype("str")
    conversion_rejects = pd.DataFrame(
        {
            LINE_NUMBER: records.loc[bad, LINE_NUMBER].astype("Int64"),
            RAW: records.loc[bad, RAW].astype("str"),
            REASONS: reasons.reindex(records.index[bad]).astype("str"),
        }
    )
    all_rejects = pd.concat([rejects, conversion_rejects], ignore_index=True)
    return Parsed(
        candidates=candidates.loc[~bad].reset_index(drop=True),
        rejects=all_rejects.sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True),
        records_read=records_read,
        format=format,
        notes=notes,
    )
