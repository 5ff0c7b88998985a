"""The canonical request event (`requests` table) and the `quarantine` table."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.common import (
    LATENCY_MS_LIMIT,
    STATUS_CODE_MAX,
    STATUS_CODE_MIN,
    TIME_FLOOR,
    UtcTimestamp,
)
from schemas.dtypes import Text


class Request(pa.DataFrameModel):
    """`requests`: one row per logged request or service-log event, whatever its source format.

    Missing fields are null, never invented. Stored with the id of the landing file as
    `StoredRequest`.
    """

    ts: Series[UtcTimestamp] = pa.Field(ge=TIME_FLOOR, description="event time, UTC")
    source: Series[Text] = pa.Field(description="name of the log source the file came from")
    service: Series[Text] = pa.Field(nullable=True, description="service that served the request")
    method: Series[Text] = pa.Field(nullable=True, description="HTTP method")
    endpoint: Series[Text] = pa.Field(
        nullable=True,
        description=(
            "normalised endpoint (ids folded to {id}, values of a segment of high variety to "
            "{var}); null only for service-log events"
        ),
    )
    path: Series[Text] = pa.Field(nullable=True, description="path as logged")
    status_code: Series[pd.Int16Dtype] = pa.Field(
        ge=STATUS_CODE_MIN, le=STATUS_CODE_MAX, nullable=True, description="HTTP status code"
    )
    latency_ms: Series[float] = pa.Field(
        ge=0, lt=LATENCY_MS_LIMIT, nullable=True, description="response time, milliseconds"
    )
    bytes_sent: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True, description="response bytes")
    user_id: Series[Text] = pa.Field(nullable=True, description="user identifier")
    client_ip: Series[Text] = pa.Field(nullable=True, description="client address")
    region: Series[Text] = pa.Field(nullable=True, description="region that served the request")
    device_type: Series[Text] = pa.Field(nullable=True, description="client device type")
    error_reason: Series[Text] = pa.Field(nullable=True, description="error reason as logged")
    level: Series[Text] = pa.Field(nullable=True, description="log level of a service-log event")
    message: Series[Text] = pa.Field(nullable=True, description="message of a service-log event")
    attributes: Series[Text] = pa.Field(
        nullable=True,
        description="fields logged beyond these columns (a referer, a user agent, a CSV's extra "
        'columns, unmapped JSON keys), as a JSON object of string to string: {"referer": "..."}; '
        "null when none",
    )

    class Config:
        strict = True
        coerce = True

    @pa.dataframe_check
    @classmethod
    def request_or_log_event(cls, df) -> Series[bool]:
        """A request names its endpoint; only a service-log event (with a level) may not."""
        return df["endpoint"].notna() | df["level"].notna()


class StoredRequest(Request):
    """`requests`: one row per logged request or service-log event, as stored: the canonical
    event and the landing file it came from. Missing fields are null, never invented.

    Partitioned by event hour, one file per partition: `requests/date=YYYY-MM-DD/hour=HH/`.
    Rows are in time order; rows of the same time keep their order in the file.
    """

    file_id: Series[Text] = pa.Field(
        description="landing file the event came from (the catalog's files.file_id)"
    )


class Quarantine(pa.DataFrameModel):
    """`quarantine`: one row per input record that could not be kept, with every reason.

    Partitioned by ingest date, one file per partition: `quarantine/date=YYYY-MM-DD/`.
    """

    source_file: Series[Text] = pa.Field(description="landing file the record came from")
    line_number: Series[pd.Int64Dtype] = pa.Field(
        ge=0, description="1-based line in the file; 0 when the whole file was rejected"
    )
    raw: Series[Text] = pa.Field(description="the record's text as read")
    reasons: Series[Text] = pa.Field(description="every reason the record failed, '; '-separated")
    reason_code: Series[Text] = pa.Field(
        description="the kinds of its reasons without their values, ';'-separated (e.g. "
        "invalid_status, out_of_range_latency_ms, format_mismatch): what to group by"
    )
    source: Series[Text] = pa.Field(description="name of the log source")
    ingested_at: Series[UtcTimestamp] = pa.Field(description="when the file was ingested, UTC")

    class Config:
        strict = True
        coerce = True
