"""The catalog's tables (SQLAlchemy Core) and the keys they store times under."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("flow", sa.String(64), nullable=False),
    sa.Column("parameters", sa.Text, nullable=False, default="{}"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary", sa.Text),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("file_id", sa.String(32), primary_key=True),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("records_read", sa.BigInteger, nullable=False),
    sa.Column("rows_kept", sa.BigInteger, nullable=False),
    sa.Column("rows_quarantined", sa.BigInteger, nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(64)),
    # rows_kept split into requests (with an endpoint) and service-log events; null for files
    # ingested before the catalog recorded the split
    sa.Column("requests", sa.BigInteger),
    sa.Column("events", sa.BigInteger),
)

fragments = sa.Table(
    "fragments",
    metadata,
    sa.Column("file_id", sa.String(32), primary_key=True),
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
)

partitions = sa.Table(
    "partitions",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)

quality_results = sa.Table(
    "quality_results",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),  # "" for checks outside a run
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("expectation", sa.String(256), primary_key=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("unexpected", sa.BigInteger, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
)

pending_compaction = sa.Table(
    "pending_compaction",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("service", sa.String(128), primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("trained_through", sa.String(32), primary_key=True),  # ISO 8601 UTC
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("fit_seconds", sa.Float, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
)

retention_log = sa.Table(
    "retention_log",
    metadata,
    sa.Column("table_name", sa.String(64), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.String(64)),
)

dirty_hours = sa.Table(
    "dirty_hours",
    metadata,
    sa.Column("hour", sa.String(32), primary_key=True),  # ISO 8601 UTC hour start
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
)


backfill_days = sa.Table(
    "backfill_days",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC
    sa.Column("run_id", sa.String(64)),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
)
"""Days a backfill finished (recomputed and scored): a later backfill skips them unless forced."""


endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
)
"""The endpoints admitted per source: its cardinality budget (`max_endpoints`)."""

seen_endpoints = sa.Table(
    "seen_endpoints",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("endpoint", sa.Text, primary_key=True),
)
"""Every endpoint template a source's files gave, before the cap (folded by variety: a parent
folded once keeps its `{var}` template), over which later files' variety is judged."""


incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("incident_id", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # opened, updated, resolved
    sa.Column("service", sa.String(128), nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("start", sa.String(32), nullable=False),  # ISO 8601 UTC
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
)
"""Every incident event sent to Prefect: a run sends only what this ledger does not hold yet,
so reruns and retries of an hour never notify twice."""

mutes = sa.Table(
    "mutes",
    metadata,
    sa.Column("mute_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(128), nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),  # "*": every endpoint of the service
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""The maintenance calendar: an incident of a muted service (or endpoint) whose hours all lie
inside a mute's window is still recorded, and sends no event."""

incident_feedback = sa.Table(
    "incident_feedback",
    metadata,
    sa.Column("feedback_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(32), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # ack, resolve, false-alarm
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
"""What people said about incidents: the latest action on an incident is the one in force."""


def add_missing_columns(engine: sa.Engine) -> list[str]:
    """Adds to an existing catalog the columns a later logcast gave its tables (`create_all`
    only creates missing tables); returns them as `table.column`. Such columns are nullable,
    so the rows written before they existed read as null."""
    added = []
    for table in metadata.sorted_tables:
        present = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable or column.default is not None:
                raise ValueError(
                    f"catalog column {table.name}.{column.name} cannot be added to an existing "
                    "catalog: a column added later must be nullable without a default"
                )
            quote = engine.dialect.identifier_preparer.quote
            kind = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.execute(
                        sa.text(
                            f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"
                        )
                    )
            except sa.exc.DBAPIError:  # another process added it a moment ago
                current = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
                if column.name not in current:
                    raise
            added.append(f"{table.name}.{column.name}")
    return added


def now() -> datetime:
    return datetime.now(UTC)


def hour_key(hour: pd.Timestamp) -> str:
    """How an hour is stored: ISO 8601 UTC, `YYYY-MM-DDTHH:00:00Z`."""
    return pd.Timestamp(hour).tz_convert("UTC").strftime("%Y-%m-%dT%H:00:00Z")


def day_key(day: pd.Timestamp) -> str:
    """How a day is stored: `YYYY-MM-DD`."""
    return f"{pd.Timestamp(day):%Y-%m-%d}"


def of_partition(statement, table: sa.Table, table_name: str, partition: str):
    """The statement restricted to the rows of one partition (`table_name`, `partition`)."""
    return statement.where(table.c.table_name == table_name).where(table.c.partition == partition)
