"""Deprecated name of `schemas.common`, kept for the modules not yet moved over to it."""

from schemas.common import (  # noqa: F401
    EARLIEST_EVENT,
    FUTURE_TOLERANCE,
    LATENCY_MS_LIMIT,
    STATUS_CODE_MAX,
    STATUS_CODE_MIN,
    UtcTimestamp,
    empty_frame,
)
