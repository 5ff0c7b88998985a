"""Shared column types: every timestamp inside logcast is UTC with microsecond precision."""

from typing import Annotated

import pandas as pd

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
"""A tz-aware UTC timestamp column (`datetime64[us, UTC]`)."""

EARLIEST_EVENT = pd.Timestamp("2000-01-01", tz="UTC")
"""Events older than this are taken for a parsing error, not history."""


def empty_frame(model) -> pd.DataFrame:
    """A zero-row frame with the model's columns and types."""
    schema = model.to_schema()
    frame = pd.DataFrame(
        {name: pd.Series(dtype=str(col.dtype)) for name, col in schema.columns.items()}
    )
    return schema.validate(frame)
