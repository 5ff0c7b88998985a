"""Shared column types: every timestamp inside logcast is UTC with microsecond precision."""

from functools import cache
from typing import Annotated

import pandas as pd

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
"""A tz-aware UTC timestamp column (`datetime64[us, UTC]`)."""

TIME_FLOOR = pd.Timestamp("1970-01-01", tz="UTC")
"""No log time is older than the Unix epoch: the models' lower bound of every `ts`."""

EARLIEST_EVENT = pd.Timestamp("1990-01-01", tz="UTC")
"""The default of the `earliest_event` setting: events older than this are taken for a parsing
error, not history. The web began in 1990-91, so an access log from before then is a misread
time (an epoch in the wrong unit, a two-digit year), while real logs from the 1990s (NASA's 1995
access log) are kept. The canonical step applies it (`transforms.canonical`)."""

FUTURE_TOLERANCE = pd.Timedelta(days=1)
"""Events later than now + this are taken for a clock or parsing error."""

STATUS_CODE_MIN = 100
STATUS_CODE_MAX = 599
"""The HTTP status codes a response can carry (inclusive)."""

LATENCY_MS_LIMIT = 86_400_000
"""Response times of a day (in milliseconds) or more are taken for a unit or parsing error."""


def empty_frame(model) -> pd.DataFrame:
    """A zero-row frame with the model's columns and types."""
    return _empty_frame(model).copy()


@cache
def _empty_frame(model) -> pd.DataFrame:
    schema = model.to_schema()
    frame = pd.DataFrame(
        {name: pd.Series(dtype=str(col.dtype)) for name, col in schema.columns.items()}
    )
    return schema.validate(frame)
