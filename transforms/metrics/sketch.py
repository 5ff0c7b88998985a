"""The latency sketch: latencies counted in buckets of bounded relative error, so that
percentiles of any union of hours can be read from merged bucket counts."""

from __future__ import annotations

import math

import numpy as np

SKETCH_RELATIVE_ERROR = 0.01
SKETCH_GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR)
SKETCH_ZERO_BUCKET = -32768
SKETCH_MIN_MS = 1e-6
"""Latencies at or below this (a nanosecond) fall in the zero bucket, read back as 0 ms."""


# the latency sketch --------------------------------------------------------------------------
def sketch_buckets(latencies: np.ndarray) -> np.ndarray:
    """Bucket of each latency: i such that g^(i-1) < latency <= g^i."""
    buckets = np.full(len(latencies), SKETCH_ZERO_BUCKET, dtype=np.int64)
    positive = latencies > SKETCH_MIN_MS
    buckets[positive] = np.ceil(np.log(latencies[positive]) / math.log(SKETCH_GAMMA))
    return buckets


def bucket_value(buckets: np.ndarray) -> np.ndarray:
    """The value a bucket stands for: within the relative error of anything in it."""
    values = 2 * np.power(SKETCH_GAMMA, buckets.astype(np.float64)) / (SKETCH_GAMMA + 1)
    return np.where(buckets == SKETCH_ZERO_BUCKET, 0.0, values)


def sketch_quantiles(
    groups: np.ndarray, buckets: np.ndarray, counts: np.ndarray, quantiles: list[float]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """`quantile_cont` of each group read from merged bucket counts.

    `groups`, `buckets`, `counts` are rows of a sketch (repeats of a (group, bucket) add up).
    Returns the groups in order and one array per quantile. The order statistics either side
    of the rank are read as their buckets' values, then interpolated like `quantile_cont`, so
    the result stays within the sketch's relative error of the exact one."""
    order = np.lexsort((buckets, groups))
    groups, buckets, counts = groups[order], buckets[order], counts[order]
    cumulative = np.cumsum(counts)
    unique, first = np.unique(groups, return_index=True)
    totals = np.add.reduceat(counts, first) if len(first) else counts[:0]
    before = cumulative[first] - counts[first]
    values = bucket_value(buckets)
    out = []
    for q in quantiles:
        rank = q * (totals - 1)
        lower = np.floor(rank).astype(np.int64)
        upper = np.minimum(lower + 1, totals - 1)
        # the row holding order statistic k is the first whose running count exceeds k
        low = values[np.searchsorted(cumulative, before + lower, side="right")]
        high = values[np.searchsorted(cumulative, before + upper, side="right")]
        out.append(low + (high - low) * (rank - lower))
    return unique, out
