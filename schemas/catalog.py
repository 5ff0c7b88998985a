"""The warehouse's tables as analysts see them, from the registry (`schemas.registry`): each
table's Pandera model, its grain (what one row is), partitioning, time column and retention.
`docs/tables.md` is generated from this module (`make docs`)."""

from __future__ import annotations

import pandera.pandas as pa

from schemas.registry import DAY, HOUR, TABLES, TableSpec, table_spec

__all__ = ["DAY", "HOUR", "TABLES", "TableSpec", "table_spec", "tables_markdown"]


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
            f"- **Time column:** `{spec.time_column}`; **retention:** "
            + (
                f"{spec.retention_days} days by default."
                if spec.retention_days
                else "none by default (kept for good)."
            ),
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
