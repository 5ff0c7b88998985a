"""Canonical request events from parsed records: types applied, rules checked, failures kept."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from schemas.raw import API_CSV_COLUMNS, ApiCsvRecord
from schemas.requests import Request
from transforms.endpoints import normalise_endpoints
from transforms.parse import LINE_NUMBER, RAW, REASONS, FileFormatError, ParsedFile
from transforms.validate import merge_reasons, schema_reasons

CANONICAL_COLUMNS = list(Request.to_schema().columns)
FUTURE_TOLERANCE = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Events:
    """Valid canonical events and the records that failed, with every reason."""

    events: pd.DataFrame  # Request model, plus line_number for ordering and lineage
    rejects: pd.DataFrame  # line_number, raw, reasons


def api_csv_events(parsed: ParsedFile, *, source: str, as_of: pd.Timestamp) -> Events:
    """Events from the plain API request CSV (`timestamp,endpoint,response_time_ms,status_code,
    user_id` plus optional `service,region`). `as_of` bounds future timestamps."""
    missing = [c for c in API_CSV_COLUMNS if c not in parsed.header]
    if missing:
        raise FileFormatError(
            f"header is missing {', '.join(missing)}; expected columns "
            f"{','.join(API_CSV_COLUMNS)} (and optionally service,region), found "
            f"{','.join(parsed.header) or 'no header'}"
        )
    records = parsed.records
    structural = schema_reasons(records, ApiCsvRecord)

    ts = pd.to_datetime(records["timestamp"], utc=True, format="ISO8601", errors="coerce")
    latency = pd.to_numeric(records["response_time_ms"], errors="coerce")
    status = pd.to_numeric(records["status_code"], errors="coerce")
    conversion = _conversion_reasons(
        records,
        {
            "timestamp": (ts.isna(), "is not an ISO 8601 timestamp"),
            "response_time_ms": (latency.isna(), "is not a number"),
            "status_code": (status.isna() | (status % 1 != 0), "is not an integer"),
        },
    )

    def optional(column: str) -> pd.Series:
        if column not in records:
            return pd.Series(pd.NA, index=records.index, dtype="str")
        values = records[column].str.strip()
        return values.mask(values == "")

    path = records["endpoint"].str.strip()
    frame = pd.DataFrame(
        {
            "ts": ts.dt.as_unit("us"),
            "source": pd.Series(source, index=records.index, dtype="str"),
            "service": optional("service"),
            "method": pd.Series(pd.NA, index=records.index, dtype="str"),
            "endpoint": normalise_endpoints(path),
            "path": path,
            "status_code": _int_or_na(status, "Int16"),
            "latency_ms": latency.astype("float64"),
            "bytes_sent": pd.Series(pd.NA, index=records.index, dtype="Int64"),
            "user_id": optional("user_id"),
            "client_ip": pd.Series(pd.NA, index=records.index, dtype="str"),
            "region": optional("region"),
            "device_type": pd.Series(pd.NA, index=records.index, dtype="str"),
            "error_reason": pd.Series(pd.NA, index=records.index, dtype="str"),
            "level": pd.Series(pd.NA, index=records.index, dtype="str"),
            "message": pd.Series(pd.NA, index=records.index, dtype="str"),
        },
        index=records.index,
    )
    return _checked(frame, records, as_of, structural, conversion)


def _int_or_na(values: pd.Series, dtype: str) -> pd.Series:
    # Out-of-range integers stay as they are for the schema to name; fractions become null
    # (already reported as "not an integer").
    whole = values.where((values % 1 == 0) & values.abs().lt(32_000))
    return whole.astype(dtype)


def _conversion_reasons(
    records: pd.DataFrame, checks: dict[str, tuple[pd.Series, str]]
) -> pd.Series:
    parts = []
    for column, (failed, what) in checks.items():
        present = records[column].str.strip() != ""
        bad = failed & present
        if bad.any():
            parts.append(column + ": " + records.loc[bad, column].map(repr) + " " + what)
    return merge_reasons(*parts)


def _checked(
    frame: pd.DataFrame,
    records: pd.DataFrame,
    as_of: pd.Timestamp,
    *earlier: pd.Series,
) -> Events:
    latest = pd.Timestamp(as_of).tz_convert("UTC") + FUTURE_TOLERANCE
    future = frame["ts"] > latest
    timing = pd.Series(
        "ts: "
        + frame.loc[future, "ts"].astype("str")
        + f" is after {latest:%Y-%m-%dT%H:%M}Z (now + 1 day)",
        dtype="str",
    )
    rules = schema_reasons(frame, Request)
    reasons = merge_reasons(*earlier, timing, rules)
    bad = frame.index.isin(reasons.index)
    events = Request.validate(frame.loc[~bad])
    events[LINE_NUMBER] = records.loc[~bad, LINE_NUMBER]
    rejects = pd.DataFrame(
        {
            LINE_NUMBER: records.loc[bad, LINE_NUMBER],
            RAW: records.loc[bad, RAW],
            REASONS: reasons.reindex(frame.index[bad]).astype("str"),
        }
    )
    return Events(events=events.reset_index(drop=True), rejects=rejects.reset_index(drop=True))
