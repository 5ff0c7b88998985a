"""`dimension_hourly`: requests broken down by the attributes each source names in its
`dimensions` setting (a CSV's `document_type`, a proxy's `user_agent`, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.metrics import DimensionHourly as D
from transforms.formats.attributes import ATTRIBUTES, attribute_array
from transforms.metrics.events import Groups, Latency, code, empty, finish, hour_starts

Dimensions = Mapping[str, Sequence[str]]
"""Source name -> the attributes its requests are broken down by."""


def sources_by_dimension(dimensions: Dimensions) -> dict[str, list[str]]:
    """Each dimension with the sources that name it, both sorted."""
    by_dimension: dict[str, set[str]] = {}
    for source, names in dimensions.items():
        for name in names:
            by_dimension.setdefault(name, set()).add(source)
    return {name: sorted(by_dimension[name]) for name in sorted(by_dimension)}


def dimension_frame(
    table: pa.Table,
    rows: np.ndarray,
    endpoint_groups: Groups,
    service_values: np.ndarray,
    endpoint_values: np.ndarray,
    status: np.ndarray,
    latency: Latency,
    dimensions: Dimensions,
    validate: bool = True,
) -> pd.DataFrame:
    """The table from the request `rows` of `table`, grouped as `endpoint_groups` (hour,
    service code, endpoint code) with `latency` over the same rows. Requests of a source count
    for the dimensions it names; a request that does not log the attribute is not counted."""
    if not dimensions or not len(rows) or ATTRIBUTES not in table.column_names:
        return empty(D)
    source = code(table, "source")
    attributes = table.column(ATTRIBUTES).take(pa.array(rows))
    frames = []
    for name, sources in sources_by_dimension(dimensions).items():
        counted = np.isin(source.values, sources) if len(source.values) else np.zeros(0, bool)
        codes = source.codes[rows]
        of_source = np.zeros(len(rows), dtype=bool)
        known = codes >= 0
        of_source[known] = counted[codes[known]]
        if not of_source.any():
            continue
        values = attribute_array(attributes, name)
        encoded = pc.dictionary_encode(values)
        value_codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        value_codes = np.where(of_source, value_codes, -1)
        if not (value_codes >= 0).any():
            continue
        g = Groups([endpoint_groups.ids, value_codes])
        requests = g.size()
        errors = g.size(np.flatnonzero(status >= 400))
        _, _, _, (p95,) = latency.quantiles(g, [0.95])
        keep = g.keys[1] >= 0
        endpoint_group = g.keys[0][keep]
        labels = np.asarray(encoded.dictionary.cast(pa.string()).to_pylist(), dtype=object)
        frames.append(
            pd.DataFrame(
                {
                    D.hour_start: hour_starts(endpoint_groups.keys[0][endpoint_group]),
                    D.service: service_values[endpoint_groups.keys[1][endpoint_group]],
                    D.endpoint: endpoint_values[endpoint_groups.keys[2][endpoint_group]],
                    D.dimension: name,
                    D.value: labels[g.keys[1][keep]],
                    D.requests: requests[keep],
                    D.error_rate: errors[keep] / requests[keep],
                    D.latency_p95_ms: p95[keep],
                }
            )
        )
    if not frames:
        return empty(D)
    return finish(D, pd.concat(frames, ignore_index=True), validate)
