"""The warehouse's tables as analysts see them: each table's Pandera model, its grain (what one
row is) and its partitioning. `docs/tables.md` is generated from this module (`make docs`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

from schemas.forecasts import Anomaly, Forecast, Incident
from schemas.metrics import (
    AvailabilityGap,
    EndpointDaily,
    EndpointHourly,
    EndpointMinutely,
    ErrorReasonsHourly,
    LatencySketch,
    LogLevelsMinutely,
    RegionHourly,
    ServiceHourly,
    StatusHourly,
    TrafficHourly,
)
from schemas.requests import Quarantine, StoredRequest


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[pa.DataFrameModel]
    grain: str
    partitions: str  # the hive path below the table folder
    version: int = 1
    """Bumped when a column changes meaning or type (adding one keeps old partitions readable:
    the views read by column name); recorded with every partition in the catalog."""


HOUR = "date=YYYY-MM-DD/hour=HH"
DAY = "date=YYYY-MM-DD"

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "requests", StoredRequest, "one row per logged request or service-log event", HOUR, 2
    ),
    TableSpec(
        "quarantine",
        Quarantine,
        "one row per record that could not be kept (line 0: a whole file)",
        DAY,
    ),
    TableSpec(
        "endpoint_hourly", EndpointHourly, "one row per (hour_start, service, endpoint)", HOUR, 2
    ),
    TableSpec(
        "endpoint_minutely", EndpointMinutely, "one row per (minute_start, service, endpoint)", HOUR
    ),
    TableSpec("endpoint_daily", EndpointDaily, "one row per (day_start, service, endpoint)", DAY),
    TableSpec(
        "latency_sketches",
        LatencySketch,
        "one row per (hour_start, service, endpoint, bucket) with a timed request",
        HOUR,
    ),
    TableSpec("service_hourly", ServiceHourly, "one row per (hour_start, service)", HOUR),
    TableSpec("region_hourly", RegionHourly, "one row per (hour_start, region)", HOUR),
    TableSpec(
        "status_hourly",
        StatusHourly,
        "one row per (hour_start, service, endpoint, status_code)",
        HOUR,
    ),
    TableSpec(
        "error_reasons_hourly",
        ErrorReasonsHourly,
        "one row per (hour_start, service, endpoint, error_reason)",
        HOUR,
    ),
    TableSpec(
        "log_levels_minutely", LogLevelsMinutely, "one row per (minute_start, service, level)", HOUR
    ),
    TableSpec("traffic_hourly", TrafficHourly, "one row per (hour_start)", DAY),
    TableSpec(
        "availability_gaps", AvailabilityGap, "one row per (service, endpoint, gap_start)", DAY
    ),
    TableSpec(
        "forecasts",
        Forecast,
        "one row per (hour_start, service, endpoint, metric) scored",
        HOUR,
    ),
    TableSpec(
        "anomalies",
        Anomaly,
        "one row per (hour_start, service, endpoint, metric) flagged",
        HOUR,
        2,
    ),
    TableSpec("incidents", Incident, "one row per (service, endpoint, start)", DAY),
)


def table_spec(name: str) -> TableSpec:
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown table '{name}'; expected one of {', '.join(t.name for t in TABLES)}")


def _checks(column: pa.Column) -> str:
    rules = []
    for check in column.checks:
        stats = getattr(check, "statistics", None) or {}
        name = check.name
        if name in (
            "greater_than_or_equal_to",
            "greater_than",
            "less_than_or_equal_to",
            "less_than",
        ):
            symbol = {
                "greater_than_or_equal_to": ">=",
                "greater_than": ">",
                "less_than_or_equal_to": "<=",
                "less_than": "<",
            }[name]
            value = next(iter(stats.values()), "")
            rules.append(f"{symbol} {value}")
        elif name == "isin":
            rules.append("one of " + ", ".join(map(str, stats.get("allowed_values", []))))
        else:
            rules.append(name)
    return "; ".join(rules)


_TYPES = {
    "datetime64[us, UTC]": "timestamp (UTC)",
    "str": "text",
    "string": "text",
    "string[pyarrow]": "text",
    "float64": "double",
    "int64": "bigint",
    "Int64": "bigint",
    "Int16": "smallint",
    "bool": "boolean",
}


def _type(column: pa.Column) -> str:
    return _TYPES.get(str(column.dtype), str(column.dtype))


def tables_markdown() -> str:
    """The table reference, from the models: grain, partitioning and every column."""
    out = [
        "# Warehouse tables",
        "",
        "Generated from `schemas/` by `make docs`; a test checks that this file is current.",
        "Every table is Parquet (zstd) under `$LOGCAST_HOME/warehouse/<table>/`, hive-partitioned,",
        "and a view of the same name in `$LOGCAST_HOME/logcast.duckdb`. Times are UTC.",
        "",
    ]
    for spec in TABLES:
        schema = spec.model.to_schema()
        doc = (spec.model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        doc = doc.removeprefix(f"`{spec.name}`: ")
        out += [
            f"## `{spec.name}`",
            "",
            doc[:1].upper() + doc[1:],
            "",
            f"- **Grain:** {spec.grain}.",
            f"- **Partitions:** `{spec.name}/{spec.partitions}/part-0.parquet`, one file each;"
            f" schema version {spec.version}.",
            "",
            "| column | type | null | rules | description |",
            "|---|---|---|---|---|",
        ]
        for name, column in schema.columns.items():
            out.append(
                f"| `{name}` | {_type(column)} | {'yes' if column.nullable else 'no'} | "
                f"{_checks(column)} | {column.description or ''} |"
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables_markdown(), end="")
