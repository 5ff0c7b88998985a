"""Message templates of service-log events: the distinct masked messages per hour (what
templates are mined from), the templates, and their events per minute."""

import pandera.pandas as pa
from pandera.typing import DataFrame, Series

from schemas.common import UtcTimestamp
from schemas.dtypes import Text


class LogMessagesHourly(pa.DataFrameModel):
    """`log_messages_hourly`: one row per (hour_start, service, message) among the events that
    logged a level and a message, the message masked (numbers, ids, addresses, paths and times
    replaced by `<NUM>`, `<UUID>`, `<IP>`, ...). The union over all hours is the vocabulary
    each service's templates are mined from."""

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    message: Series[Text] = pa.Field(description="the message masked")
    events: Series[int] = pa.Field(gt=0, description="events with this masked message")
    first_seen: Series[UtcTimestamp] = pa.Field(description="time of the hour's first one")
    last_seen: Series[UtcTimestamp] = pa.Field(description="time of the hour's last one")
    example: Series[Text] = pa.Field(
        description="the raw message of the first one (ties: the smallest text)"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "message"]

    @pa.dataframe_check
    @classmethod
    def seen_in_order(cls, df: DataFrame) -> Series[bool]:
        """first_seen <= last_seen."""
        return df["first_seen"] <= df["last_seen"]


class LogTemplatesMinutely(pa.DataFrameModel):
    """`log_templates_minutely`: one row per (minute_start, service, template_id, level) among
    the events that logged a level and a message."""

    minute_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC minute")
    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    template_id: Series[Text] = pa.Field(description="the template (see log_templates)")
    level: Series[Text] = pa.Field(description="log level as logged")
    events: Series[int] = pa.Field(gt=0, description="events of this template at this level")

    class Config:
        strict = True
        coerce = True
        unique = ["minute_start", "service", "template_id", "level"]


class LogTemplates(pa.DataFrameModel):
    """`log_templates`: one row per (service, template_id) mined from the masked messages of
    every event kept (Drain over the service's distinct masked messages, sorted). Partitioned
    by the day of `first_seen`; rewritten whole when templates or their events change."""

    service: Series[Text] = pa.Field(description="service ('unknown' when not logged)")
    template_id: Series[Text] = pa.Field(
        description="16 hex digits of the SHA-1 of service and template: stable across runs"
    )
    template: Series[Text] = pa.Field(
        description="the template: masks such as <NUM> or <IP>, and <*> where Drain "
        "generalised a token"
    )
    first_seen: Series[UtcTimestamp] = pa.Field(description="time of its first event")
    last_seen: Series[UtcTimestamp] = pa.Field(description="time of its last event")
    events: Series[int] = pa.Field(gt=0, description="events of this template, all time")
    examples: Series[Text] = pa.Field(
        description="up to 3 raw messages as a JSON array: the first event's message of each "
        "of its masked messages, earliest first (ties: the smallest text)"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["service", "template_id"]

    @pa.dataframe_check
    @classmethod
    def seen_in_order(cls, df: DataFrame) -> Series[bool]:
        """first_seen <= last_seen."""
        return df["first_seen"] <= df["last_seen"]
