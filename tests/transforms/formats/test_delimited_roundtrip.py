"""Property: random valid records written by Python's csv module, as CSV or TSV, in the built-in
api layout or under a configured column mapping, parse back to the same canonical values."""

import csv
import datetime as dt
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from transforms.formats import registry

UTC = dt.UTC
API_HEADER = ["timestamp", "endpoint", "response_time_ms", "status_code", "user_id"]
LATENCY_SCALE = {"ms": 1.0, "s": 1e-3, "us": 1e3}
"""How a latency in milliseconds is written in each unit."""

# values --------------------------------------------------------------------------------------
moments = st.datetimes(dt.datetime(2001, 1, 2), dt.datetime(2037, 12, 30))
"""Naive datetimes taken as UTC, with microseconds."""
offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


def _epoch(moment: dt.datetime) -> int:
    """Whole microseconds since the epoch."""
    delta = moment - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds


def _expected(moment: dt.datetime, unit: str | None = None) -> pd.Timestamp:
    stamp = pd.Timestamp(moment, tz="UTC").as_unit("us")
    return stamp.floor(unit) if unit else stamp


TIME_FORMS = {
    # form: (text as written, the UTC time it means)
    "iso_z": lambda m, z: (m.isoformat() + "Z", _expected(m)),
    "iso_offset": lambda m, z: (m.replace(tzinfo=UTC).astimezone(z).isoformat(), _expected(m)),
    "iso_naive": lambda m, z: (m.isoformat(sep=" "), _expected(m)),  # naive is UTC
    "epoch_s": lambda m, z: (str(_epoch(m) // 10**6), _expected(m, "s")),
    "epoch_s_fraction": lambda m, z: (
        f"{_epoch(m) // 10**6}.{_epoch(m) % 10**6:06d}",
        _expected(m),
    ),
    "epoch_ms": lambda m, z: (str(_epoch(m) // 10**3), _expected(m, "ms")),
    "epoch_us": lambda m, z: (str(_epoch(m)), _expected(m)),
}

PRINTABLE = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))
CSV_TROUBLE = st.sampled_from([",", '"', "'", "\t", ";", " ", "\\"])
"""Characters that need quoting (the delimiter, quotes) or that parsers trip over."""
texts = st.text(st.one_of(PRINTABLE, CSV_TROUBLE), min_size=1, max_size=16).filter(
    lambda s: s == s.strip() and s != "-"  # values are stripped; '-' means not logged
)
paths = st.builds(
    lambda parts: "/" + "/".join(parts),
    st.lists(st.text(st.one_of(PRINTABLE, CSV_TROUBLE), min_size=1, max_size=10), max_size=4),
).filter(lambda p: p == p.rstrip())
missing = st.sampled_from(["", "-"])
"""How a file says a value was not logged."""

records = st.fixed_dictionaries(
    {
        "moment": moments,
        "form": st.sampled_from(sorted(TIME_FORMS)),
        "offset": offsets,
        "path": paths,
        "latency_ms": st.one_of(
            st.none(), st.floats(0, 86_399_999, allow_nan=False, allow_infinity=False)
        ),
        "status": st.one_of(st.none(), st.integers(100, 599)),
        "user": st.one_of(st.none(), texts),
        "missing": missing,
        "blank_before": st.booleans(),  # a blank line is not a record, but it is a line
    }
)


# files ---------------------------------------------------------------------------------------
def _cells(record: dict, unit: str) -> dict[str, str]:
    """A record's cells by role, as the file writes them."""
    latency = record["latency_ms"]
    status = record["status"]
    return {
        "ts": TIME_FORMS[record["form"]](record["moment"], record["offset"])[0],
        "path": record["path"],
        "latency_ms": record["missing"] if latency is None else repr(latency * LATENCY_SCALE[unit]),
        "status_code": record["missing"] if status is None else str(status),
        "user_id": "" if record["user"] is None else record["user"],
    }


def write_file(
    batch: list[dict], delimiter: str, header: list[str], roles: dict[str, str], unit: str
) -> tuple[bytes, list[int]]:
    """The file's bytes (csv module, minimal quoting) and each record's line number.
    `roles` maps each header column to the record field it holds ('' for a column no one
    reads, written with a filler value)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    line, numbers = 1, []
    for i, record in enumerate(batch):
        if record["blank_before"]:
            out.write("\n")
            line += 1
        cells = _cells(record, unit)
        writer.writerow([cells[roles[column]] if roles[column] else f"x{i}" for column in header])
        line += 1
        numbers.append(line)
    return out.getvalue().encode(), numbers


# a layout: (header columns, the role of each, the mapping for registry.parse, latency unit)
API_LAYOUT = (
    API_HEADER,
    dict(zip(API_HEADER, ["ts", "path", "latency_ms", "status_code", "user_id"], strict=True)),
    None,  # recognised from its header
    "ms",
)


def configured(order: list[int], ts_unit: str | None, unit: str):
    """A configured mapping over renamed columns in any order, with an unread extra column."""
    roles = {
        "when": "ts",
        "route": "path",
        "took": "latency_ms",
        "code": "status_code",
        "who": "user_id",
        "note": "",
    }
    header = [list(roles)[i] for i in order]
    mapping = (
        ("ts", "when", ts_unit),
        ("path", "route", None),
        ("latency_ms", "took", unit),
        ("status_code", "code", None),
        ("user_id", "who", None),
    )
    return header, roles, mapping, unit


layouts = st.one_of(
    st.just(API_LAYOUT),
    st.builds(
        configured,
        st.permutations(range(6)),
        st.sampled_from([None, "auto"]),
        st.sampled_from(sorted(LATENCY_SCALE)),
    ),
)


def check_round_trip(fmt: str, batch: list[dict], layout: tuple) -> None:
    """Writes the batch in the layout, parses it with the registry, and asserts every record
    came back whole: same time to the microsecond, path, status, user, latency (to float
    tolerance), line number and raw line, and nothing rejected."""
    header, roles, mapping, unit = layout
    delimiter = "," if fmt == "csv" else "\t"
    data, numbers = write_file(batch, delimiter, header, roles, unit)
    parsed = registry.parse(data, fmt, mapping=mapping)

    assert parsed.rejects.empty, parsed.rejects[["line_number", "reasons"]].to_dict("records")
    assert parsed.records_read == len(batch)
    assert parsed.records_read == len(parsed.candidates) + len(parsed.rejects)
    rows = parsed.candidates
    assert rows["line_number"].tolist() == numbers
    assert rows["ts"].tolist() == [
        TIME_FORMS[r["form"]](r["moment"], r["offset"])[1] for r in batch
    ]
    assert rows["path"].tolist() == [r["path"] for r in batch]
    assert [None if pd.isna(s) else int(s) for s in rows["status_code"]] == [
        r["status"] for r in batch
    ]
    assert [None if pd.isna(u) else u for u in rows["user_id"]] == [r["user"] for r in batch]
    for got, record in zip(rows["latency_ms"], batch, strict=True):
        if record["latency_ms"] is None:
            assert pd.isna(got)
        else:
            assert got == pytest.approx(record["latency_ms"], rel=1e-12, abs=1e-9)
    lines = data.decode().split("\n")
    assert parsed.raw(range(len(rows))).tolist() == [lines[n - 1] for n in numbers]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records, min_size=1, max_size=8), layout=layouts)
def test_written_records_parse_back_to_the_same_values(fmt, batch, layout):
    check_round_trip(fmt, batch, layout)
