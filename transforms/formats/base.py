"""What every format parser shares: lines with their numbers, typed conversions that keep
every failure's reason, and the `Parsed` result the canonical step consumes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.requests import Request
from transforms.formats.attributes import ATTRIBUTES, attributes_json

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

ARROW_THREADS: ContextVar[bool] = ContextVar("arrow_threads", default=True)
"""Whether Arrow's CSV and JSON readers parse with threads of their own: yes for a file read
whole, no in the thread of one of a file's pieces (its pieces already keep the cores busy, and
a reader's threads beside them only compete for the cores)."""

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

    candidates: pd.DataFrame  # any CANDIDATE_TYPES columns, typed, + line_number (+ raw)
    rejects: pd.DataFrame  # line_number, raw, reasons
    records_read: int
    format: str
    notes: tuple[str, ...] = field(default=())
    raw_lines: RawLines | None = None  # when candidates carry no raw column
    mapping: tuple[tuple[str, str, str | None], ...] | None = None
    """The mapping a parser chose for this file (jsonl keys), to read the rest of it alike."""
    others: tuple[Parsed, ...] = ()
    """Records of the same file read in another format: the lines a server writes itself
    among its access lines that are events of a log layout of their own (nginx's error log,
    gunicorn's), with their line numbers in the file. `records_read` counts them too."""

    def raw(self, rows: Iterable[int]) -> pd.Series:
        """The raw text of the given candidate rows (positions), looked up only when needed:
        a parser may leave the raw column out and give `raw_lines` instead."""
        rows = np.fromiter(rows, dtype="int64")
        if RAW in self.candidates:
            return self.candidates[RAW].iloc[rows].reset_index(drop=True)
        numbers = self.candidates[LINE_NUMBER].to_numpy(dtype="int64")[rows]
        return pd.Series(self.raw_lines(numbers) if len(numbers) else [], dtype="str")


RawLines = Callable[[np.ndarray], list[str]]
"""Line numbers in, the text of those lines out."""


def line_lookup(data: bytes, offsets: np.ndarray, first_line: int = 1) -> RawLines:
    """Raw text by line number from a file's bytes and the byte offset of each line's start
    (and the end): decodes only the lines asked for."""

    def lookup(numbers: np.ndarray) -> list[str]:
        at = np.asarray(numbers, dtype="int64") - first_line
        return [
            bytes(data[offsets[i] : offsets[i + 1]]).rstrip(b"\r\n").decode("utf-8")
            for i in at.tolist()
        ]

    return lookup


@dataclass(frozen=True)
class Format:
    """A named format: how to parse a file and how to recognise one of its lines (detection
    then measures the share of the first lines its parser reads)."""

    name: str
    parse: Callable[..., Parsed]  # parse(data: bytes, **options) -> Parsed
    looks_like: Callable[[str], bool]  # first non-blank line -> is this format?
    description: str
    takes_ingest_time: bool = False
    """Whether `parse` takes `as_of`, the ingest time (layouts that log no year infer it)."""


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
    fallen_back: int = 0
    """Lines not valid UTF-8 that were decoded with `split_lines`' fallback encoding."""


def split_lines(data: bytes, fallback: str | None = None) -> Lines:
    """Splits on LF (CRLF tolerated, a leading BOM dropped); blank lines are not records. A
    line that is not valid UTF-8 is rejected, or decoded with the `fallback` encoding when
    one is given and it decodes the line (`Lines.fallen_back` counts them).

    Valid UTF-8 without NUL bytes (the common case) becomes one Arrow array over the file's
    own bytes: no Python string per line."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if len(data) <= start:
        return Lines(
            numbers=np.array([], "int64"), texts=pd.Series([], dtype="str"), rejects=rejects_frame()
        )
    offsets = None if b"\x00" in data else utf8_line_offsets(data, start)
    if offsets is None:
        return _split_lines_slow(data[start:], fallback)
    array = pc.utf8_rtrim(lines_over(data, offsets), "\r\n")
    blank = pc.or_(pc.equal(pc.binary_length(array), 0), pc.utf8_is_space(array))
    if pc.any(blank).as_py():
        keep = pc.invert(blank)
        numbers = np.flatnonzero(keep.to_numpy(zero_copy_only=False)) + 1
        array = pc.filter(array, keep)
    else:
        numbers = np.arange(1, len(array) + 1)
    return Lines(
        numbers=numbers, texts=array.to_pandas(types_mapper=STR_MAPPER), rejects=rejects_frame()
    )


REQUEST_LINE = re.compile(
    r"^\s*(?P<method>[A-Z][A-Z0-9_-]*) (?P<path>[^ ]+)(?: HTTP/\d+(?:\.\d+)?)?\s*$"
)
"""A whole request line as one value holds it (nginx's `$request` in JSON, a log split into
columns): `GET /path HTTP/1.1`, the protocol optional."""


_SCAN_BLOCK = 1 << 22


def newline_positions(data: bytes) -> np.ndarray:
    """Offsets of every LF byte (see `byte_positions`)."""
    return byte_positions(data, 10)


def _byte_blocks(buffer, byte: int, start: int = 0, stop: int | None = None):
    """(offset, mask) per block of `buffer[start:stop]`, the mask True where `byte` is: one
    small mask reused for every block instead of one the size of the file, filled by NumPy,
    which lets go of the GIL (`bytes` methods hold it: other threads wait the whole scan).
    Each mask is valid until the next block is asked for."""
    array = np.frombuffer(buffer, np.uint8)[start:stop]
    mask = np.empty(min(len(array), _SCAN_BLOCK), dtype=bool)
    for first in range(0, len(array), _SCAN_BLOCK):
        block = array[first : first + _SCAN_BLOCK]
        yield first, np.equal(block, byte, out=mask[: len(block)])


def byte_positions(data: bytes, byte: int) -> np.ndarray:
    """Offsets of every `byte`, scanned in blocks (`_byte_blocks`)."""
    parts = [np.flatnonzero(mask) + first for first, mask in _byte_blocks(data, byte)]
    return np.concatenate(parts) if parts else np.array([], dtype=np.int64)


def count_byte(buffer, byte: int, start: int = 0, stop: int | None = None) -> int:
    """How many times `byte` occurs in `buffer[start:stop]`, scanned in blocks."""
    return sum(int(np.count_nonzero(mask)) for _, mask in _byte_blocks(buffer, byte, start, stop))


def contains_byte(buffer, byte: int) -> bool:
    """Whether a bytes-like object holds `byte`, scanned in blocks up to the first one that
    does."""
    return any(mask.any() for _, mask in _byte_blocks(buffer, byte))


@dataclass(frozen=True)
class CleanLines:
    """A file whose every line is a record: valid UTF-8, no NUL byte, no blank line. Lines are
    found by their offsets in the file's bytes; none is decoded until asked for."""

    data: bytes
    offsets: np.ndarray  # start of each line, then the end of the last

    @property
    def count(self) -> int:
        return len(self.offsets) - 1

    def texts(self, stop: int) -> list[str]:
        """The first `stop` lines."""
        return self.lookup(np.arange(1, min(stop, self.count) + 1))

    @property
    def lookup(self) -> RawLines:
        return line_lookup(self.data, self.offsets)

    @property
    def array(self) -> pa.LargeStringArray:
        """Every line, with its line end, over the file's own bytes (no copy)."""
        return lines_over(self.data, self.offsets)


def clean_lines(data: bytes | memoryview) -> CleanLines | None:
    """The file's lines if it is clean (see CleanLines), else None. Takes any bytes-like
    object (a piece of a file as a view of it, say)."""
    start = 3 if bytes(data[:3]) == b"\xef\xbb\xbf" else 0
    if len(data) <= start or contains_byte(data, 0):
        return None
    offsets = utf8_line_offsets(data, start)
    if offsets is None:
        return None
    clean = CleanLines(data=data, offsets=offsets)
    lines = clean.array
    if (
        pc.any(pc.utf8_is_space(lines)).as_py()
        or pc.any(pc.equal(pc.binary_length(lines), 0)).as_py()
    ):
        return None  # a blank line
    return clean


def _plain_ascii(values: pa.ChunkedArray) -> bool:
    """Whether the bytes under the values are all printable ASCII other than space (so no
    value holds whitespace, Unicode whitespace included)."""
    for chunk in values.chunks:
        data = chunk.buffers()[2]
        if data is None or not data.size:
            continue
        array = np.frombuffer(data, np.uint8)
        if array.min() <= 32 or array.max() >= 127:
            return False
    return True


def utf8_line_offsets(data: bytes, start: int = 0) -> np.ndarray | None:
    """The byte offset where each line of `data[start:]` starts, then the end of the last
    line; None when those bytes are not valid UTF-8 (checked in place, without a decoded
    copy)."""
    ends = newline_positions(data)
    if not len(ends) or ends[-1] != len(data) - 1:
        ends = np.r_[ends, len(data)]  # a last line without its newline
    offsets = np.r_[start, ends + 1].astype(np.int64)
    offsets[-1] = min(offsets[-1], len(data))
    try:
        lines_over(data, offsets).validate(full=True)
    except pa.ArrowInvalid:
        return None
    return offsets


def lines_over(data: bytes, offsets: np.ndarray) -> pa.LargeStringArray:
    """The lines between consecutive offsets, line ends included, over `data` itself."""
    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data)
    )


def _split_lines_slow(data: bytes, fallback: str | None = None) -> Lines:
    numbers, texts, bad = [], [], []
    fallen_back = 0
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
            if fallback is not None:
                try:
                    texts.append(line.decode(fallback))
                    numbers.append(number)
                    fallen_back += 1
                    continue
                except UnicodeDecodeError:
                    pass
            bad.append(
                (
                    number,
                    line.decode("utf-8", "backslashreplace"),
                    f"not valid UTF-8 (byte {exc.start + 1} of the line: a source whose "
                    "files are in another encoding names it in its `encoding` setting)",
                )
            )
    return Lines(
        numbers=np.asarray(numbers, dtype="int64"),
        texts=pd.Series(texts, dtype="str"),
        rejects=rejects_frame(*zip(*bad, strict=True)) if bad else rejects_frame(),
        fallen_back=fallen_back,
    )


# conversions ---------------------------------------------------------------------------------
Converter = Callable[[pd.Series], pd.Series]
"""Text in, typed values out; a value that cannot be converted becomes null."""

_MISSING_ARRAY = pa.array(sorted(MISSING), pa.large_string())


def arrow_text(text: pd.Series) -> pa.ChunkedArray:
    """The Arrow strings under a text Series (no copy for the default `str` dtype)."""
    array = text.array
    if hasattr(array, "__arrow_array__"):
        chunked = array.__arrow_array__()
    else:
        chunked = pa.chunked_array([pa.array(np.asarray(text, dtype=object), from_pandas=True)])
    if chunked.type != pa.large_string():
        chunked = chunked.cast(pa.large_string())
    return chunked


def _logged(stripped: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a stripped value was logged (not null, not empty, not '-')."""
    return pc.and_kleene(
        pc.is_valid(stripped), pc.invert(pc.is_in(stripped, value_set=_MISSING_ARRAY))
    ).fill_null(False)


def _stripped(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Values without surrounding whitespace (copied only if some value has any)."""
    if _plain_ascii(values):
        return values  # no byte that is or could start whitespace: nothing to trim
    for edge in (pc.utf8_slice_codeunits(values, 0, 1), pc.utf8_slice_codeunits(values, -1)):
        if pc.any(pc.utf8_is_space(edge)).as_py():
            return pc.utf8_trim_whitespace(values)
    return values


def present(text: pd.Series) -> pd.Series:
    """True where a value was logged (not empty, not '-')."""
    logged = _logged(_stripped(arrow_text(text)))
    return pd.Series(logged.to_numpy(zero_copy_only=False), index=text.index)


def _stripped_logged(text: pd.Series) -> pa.ChunkedArray:
    """Stripped text, null where nothing was logged."""
    stripped = _stripped(arrow_text(text))
    logged = _logged(stripped)
    if pc.all(logged).as_py():
        return stripped
    return pc.if_else(logged, stripped, pa.scalar(None, pa.large_string()))


def _arrow_cast(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray | None:
    """Arrow's strict cast, or None when any value does not convert (the caller then takes the
    slower path that finds which ones)."""
    try:
        return values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _series(values: pa.ChunkedArray, index: pd.Index, dtype: str) -> pd.Series:
    return pd.Series(values.to_pandas(), index=index).astype(dtype)


def as_text(text: pd.Series) -> pd.Series:
    return pd.Series(_stripped_logged(text).to_pandas(types_mapper=STR_MAPPER), index=text.index)


def as_float(factor: float = 1.0) -> Converter:
    """Numbers, scaled by `factor` (e.g. 1000 for seconds to milliseconds)."""

    def convert(text: pd.Series) -> pd.Series:
        values = _arrow_cast(_stripped_logged(text), pa.float64())
        if values is None:
            numbers = pd.to_numeric(text.str.strip(), errors="coerce")
        else:
            numbers = pd.Series(values.to_numpy(), index=text.index)
        return (numbers * factor).astype("float64")

    return convert


def as_int(dtype: str) -> Converter:
    """Whole numbers; fractions and out-of-range values become null."""

    def convert(text: pd.Series) -> pd.Series:
        values = _arrow_cast(_stripped_logged(text), pa.int64())
        if values is not None:
            whole = pd.Series(
                values.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get), index=text.index
            )
            whole = whole.where(whole.isna() | whole.abs().lt(2**53))
        else:
            numbers = pd.to_numeric(text.str.strip(), errors="coerce")
            whole = numbers.where((numbers % 1 == 0) & numbers.abs().lt(2**53))
        if dtype == "Int16":
            # keep out-of-range codes (e.g. 70000) for the schema to name, as a large number
            whole = whole.where(whole.isna() | whole.abs().lt(32_768), 32_767)
        return whole.astype(dtype)

    return convert


EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0, "s"))
"""Epoch magnitude thresholds: 1e11 s is year 5138, 1e11 ms is 1973: unambiguous for logs."""

_UTC_US = pa.timestamp("us", "UTC")


def iso_fast(text: pd.Series) -> pd.Series | None:
    """ISO 8601 text that Arrow converts as a whole: all with offsets, or all naive (taken as
    UTC); None when any value is not that, and the general parser decides."""
    stripped = _stripped_logged(text)
    values = None
    if pc.any(pc.match_substring_regex(stripped.slice(0, 64), r"\.\d{7}")).as_py():
        # nanoseconds (Traefik's StartUTC, Go's RFC 3339 with nanoseconds): Arrow refuses them
        # as microseconds, slowly; read as nanoseconds and truncated, as pandas does
        values = _arrow_cast(stripped, pa.timestamp("ns", "UTC"))
        values = values.cast(_UTC_US, safe=False) if values is not None else None
    if values is None:
        values = _arrow_cast(stripped, _UTC_US)
    if values is None:
        naive = _arrow_cast(stripped, pa.timestamp("us"))
        if naive is None:
            return None
        values = pc.assume_timezone(naive, "UTC")
    return pd.Series(values.to_pandas(), index=text.index).astype("datetime64[us, UTC]")


def spelled_bytes(run: str) -> str:
    """The text a run of `\\xHH` escapes spells (as nginx writes `"`, `\\`, control
    characters and every byte above 0x7E): its bytes as UTF-8, else Windows-1252."""
    raw = bytes.fromhex(run.replace("\\x", ""))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


ZONED_ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)"
"""An ISO 8601 time with its zone (`Z` or an offset, with or without its colon), as a regex."""
MONTHS = {
    name: f"{number:02d}"
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
"""English month abbreviations (as logs write them) to their two-digit numbers."""
_CLOCK = r"(?:[ T,]+(?P<h>\d{1,2}):(?P<mi>\d\d)(?::(?P<s>\d\d)(?:[.,](?P<f>\d{1,9}))?)?"
_LOOSE = re.compile(
    r"^\[?(?:"
    # 5/14/2024 10:15:03 AM, 14/05/2024 10:15, 14.05.2024 10:15:03, 2024/05/14 10:15:03
    rf"(?P<a>\d{{1,2}})(?P<sep>[/.])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}),?{_CLOCK}"
    r"(?:\s*(?P<ampm>[AaPp][Mm]))?)?"
    rf"|(?P<y2>\d{{4}})/(?P<m2>\d\d)/(?P<d2>\d\d){_CLOCK.replace('P<', 'P<x')})?"
    # 14/May/2024:10:15:03 +0000 (the Common Log Format's time, bracketed or not, its zone
    # left out where a log was split into columns at its spaces)
    r"|(?P<d3>\d{1,2})/(?P<b3>[A-Za-z]{3})/(?P<y3>\d{4}):(?P<h3>\d\d):(?P<mi3>\d\d):(?P<s3>\d\d)"
    r"(?:\.(?P<f3>\d{1,6}))?(?: (?P<z3>[+-]\d{4}))?"
    # May 14, 2024 @ 10:15:03.148 (Kibana)
    r"|(?P<b4>[A-Za-z]{3}) (?P<d4>\d{1,2}), (?P<y4>\d{4})(?: @)?"
    r" (?P<h4>\d\d):(?P<mi4>\d\d)(?::(?P<s4>\d\d)(?:\.(?P<f4>\d{1,6}))?)?"
    # 2024-05-14 10:15:03.148014 UTC (BigQuery)
    r"|(?P<iso>\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?) (?:UTC|GMT)"
    r")\]?$"
)


def _two(values: pd.Series) -> pd.Series:
    return values.str.zfill(2)


def loose_times(text: pd.Series) -> pd.Series:
    """Times as spreadsheets, consoles and exports write them, read as UTC: `5/14/2024 10:15:03
    AM` and `5/14/2024, 10:15:03.148 AM` (US), `14/05/2024 10:15` and `14.05.2024 10:15:03`
    (day first), `2024/05/14 10:15:03`, the Common Log Format's `[14/May/2024:10:15:03 +0000]`,
    Kibana's `May 14, 2024 @ 10:15:03.148` and BigQuery's `2024-05-14 10:15:03.148014 UTC`.
    Whether `a/b/yyyy` is month or day first the values decide, all together: a first number
    above 12 means day first, a second one month first, AM/PM month first; values that could
    be either way, with nothing to tell, stay unread (NaT), as do values mixing both ways."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    parts = text.astype("str").str.strip().str.extract(_LOOSE)
    if parts.isna().all(axis=None):
        return out
    iso = pd.Series(pd.NA, index=text.index, dtype="str")

    def clock(h, mi, sec, frac) -> pd.Series:
        return (
            "T" + _two(h.fillna("0")) + ":" + mi.fillna("00") + ":" + sec.fillna("00")
            + ("." + frac).fillna("")
        )  # fmt: skip

    slashed = parts["a"].notna()
    if slashed.any():
        a, b = parts["a"].astype("float"), parts["b"].astype("float")
        dots = parts["sep"] == "."
        ampm = parts["ampm"].notna()
        day_first = dots | (slashed & ~dots & bool(((a > 12) & ~dots).any()))
        month_first = (
            slashed & ~dots & (bool(((b > 12) & ~dots).any()) | bool((ampm & ~dots).any()))
        )
        told = slashed & (day_first ^ month_first)
        day = a.where(day_first, b).astype("Int64").astype("str")
        month = b.where(day_first, a).astype("Int64").astype("str")
        hour = parts["h"].astype("float")
        pm = parts["ampm"].str.lower() == "pm"
        hour = hour.where(~ampm, (hour % 12) + pm.fillna(False).astype(int) * 12)
        hours = hour.astype("Int64").astype("str").where(parts["h"].notna())
        iso[told] = (
            parts["y"] + "-" + _two(month) + "-" + _two(day)
            + clock(hours, parts["mi"], parts["s"], parts["f"])
        )[told]  # fmt: skip
    year_first = parts["y2"].notna()
    if year_first.any():
        iso[year_first] = (
            parts["y2"] + "-" + parts["m2"] + "-" + parts["d2"]
            + clock(parts["xh"], parts["xmi"], parts["xs"], parts["xf"])
        )[year_first]  # fmt: skip
    clf = parts["d3"].notna()
    if clf.any():
        zone = (parts["z3"].str.slice(0, 3) + ":" + parts["z3"].str.slice(3)).fillna("+00:00")
        iso[clf] = (
            parts["y3"] + "-" + parts["b3"].str.title().map(MONTHS) + "-" + _two(parts["d3"])
            + clock(parts["h3"], parts["mi3"], parts["s3"], parts["f3"]) + zone
        )[clf]  # fmt: skip
    kibana = parts["b4"].notna()
    if kibana.any():
        iso[kibana] = (
            parts["y4"] + "-" + parts["b4"].str.title().map(MONTHS) + "-" + _two(parts["d4"])
            + clock(parts["h4"], parts["mi4"], parts["s4"], parts["f4"])
        )[kibana]  # fmt: skip
    suffixed = parts["iso"].notna()
    iso[suffixed] = parts["iso"][suffixed]
    found = iso.notna()
    if found.any():
        values = pd.to_datetime(iso[found], format="ISO8601", utc=True, errors="coerce")
        out[found] = values.dt.as_unit("us")
    return out


def as_timestamp(formats: tuple[str, ...] = ("ISO8601",)) -> Converter:
    """Timestamps to UTC: ISO 8601 (an offset is applied, a naive time is taken as UTC) or the
    times of `loose_times`, epoch seconds/milliseconds/microseconds by magnitude, or any
    strptime format given."""

    def convert(text: pd.Series) -> pd.Series:
        if formats == ("ISO8601",):
            fast = iso_fast(text)
            if fast is not None:
                return fast
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
        if formats == ("ISO8601",) and rest.any():
            values = loose_times(text[rest])
            parsed = values.notna()
            out.loc[values.index[parsed]] = values[parsed]
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
    typed: pa.DataType | None = None
    """A type a reader may produce this column in directly (strict, '' and '-' null) when
    the conversion is exactly that; `build` then keeps the column as it is."""


def build(
    records: pd.DataFrame,
    fields: dict[str, Field],
    *,
    format: str,
    records_read: int,
    rejects: pd.DataFrame,
    notes: tuple[str, ...] = (),
    raw_lines: RawLines | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Parsed:
    """Typed candidates from text records (which carry line_number and raw; a column may also
    hold numbers that its converter reads as they are). A logged value that
    does not convert rejects its row with '<source>: <value> is not <what>'; every failing
    field of a row is named. `attributes` (name -> record column) are the fields the format
    logs beyond the canonical columns, kept as the `attributes` JSON object."""
    columns: dict[str, pd.Series] = {}
    failures = []
    for target, spec in fields.items():
        if target not in CANDIDATE_TYPES:
            raise ValueError(f"unknown canonical column '{target}'")
        if spec.source not in records:
            continue
        logged = records[spec.source]
        if spec.typed is not None and not pd.api.types.is_string_dtype(logged.dtype):
            columns[target] = logged.astype(CANDIDATE_TYPES[target])  # read as this type
            continue
        # a numeric record column (JSON numbers) goes to its converter as it is; it is written
        # out as text only where a value fails, for the reason
        numeric = pd.api.types.is_numeric_dtype(logged.dtype)
        text = logged if numeric else logged.astype("str")
        values = spec.convert(text)
        missing = values.isna()
        if not missing.any():
            columns[target] = values.astype(CANDIDATE_TYPES[target])
            continue
        if numeric:
            failed = missing & logged.notna()
            text = pd.Series(pd.NA, index=logged.index, dtype="str")
            text[failed] = [repr(v) if v % 1 else repr(int(v)) for v in logged[failed].tolist()]
        else:
            failed = missing & present(text)
        if failed.any():
            failures.append(conversion_failures(spec.source, text, failed, spec.what))
        columns[target] = values.astype(CANDIDATE_TYPES[target])
    extra = attributes_json(
        {name: records[column] for name, column in (attributes or {}).items() if column in records},
        len(records),
    )
    if extra is not None:
        columns[ATTRIBUTES] = extra.set_axis(records.index)
    candidates = pd.DataFrame(columns, index=records.index)
    bad = pd.Series(False, index=records.index)
    reasons = pd.Series(dtype="str")
    if failures:
        joined = pd.concat(failures)
        reasons = joined.groupby(level=0, sort=True).agg("; ".join)
        bad = records.index.isin(reasons.index)
    candidates[LINE_NUMBER] = records[LINE_NUMBER].astype("Int64")
    if RAW in records:
        candidates[RAW] = records[RAW].astype("str")
        bad_raw = records.loc[bad, RAW].astype("str")
    else:
        bad_numbers = records.loc[bad, LINE_NUMBER].to_numpy(dtype="int64")
        bad_raw = pd.Series(
            raw_lines(bad_numbers) if len(bad_numbers) else [],
            index=records.index[bad],
            dtype="str",
        )
    conversion_rejects = pd.DataFrame(
        {
            LINE_NUMBER: records.loc[bad, LINE_NUMBER].astype("Int64"),
            RAW: bad_raw,
            REASONS: reasons.reindex(records.index[bad]).astype("str"),
        }
    )
    all_rejects = pd.concat([rejects, conversion_rejects], ignore_index=True)
    return Parsed(
        candidates=candidates.loc[~bad].reset_index(drop=True) if bad.any() else candidates,
        rejects=all_rejects.sort_values(LINE_NUMBER, kind="stable").reset_index(drop=True),
        records_read=records_read,
        format=format,
        notes=notes,
        raw_lines=raw_lines,
    )
