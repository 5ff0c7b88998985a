"""What each source's endpoints became: admitted endpoints (from the catalog), folded patterns
and the rows each holds (from `requests`, through DuckDB), and the formats its files were read
as. Read-only: a missing catalog or table reads as empty."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.query import connect

OTHER = "{other}"
PLACEHOLDER = re.compile(r"\{[^/{}]*\}")
PATTERN_KINDS = {"{id}": "shape", "{var}": "variety"}
"""The kind of fold a placeholder stands for; any other `{name}` comes from endpoint_rules."""


@dataclass
class SourceEndpoints:
    """One source: its files and formats, its endpoints and what was folded."""

    source: str
    files: int = 0
    formats: str = ""
    rows: int = 0
    endpoints: int = 0
    """Distinct endpoints in `requests`."""
    admitted: int = 0
    """Endpoints the catalog holds as admitted: what counts against the cap."""
    other_rows: int = 0
    other_paths: int | None = 0
    """Distinct paths as logged in {other} (None when no partition has the `path` column)."""
    patterns: list[dict] = field(default_factory=list)
    """{pattern, kind, rows, paths}: each endpoint with a placeholder and the rows it holds."""


def pattern_kind(endpoint: str) -> str | None:
    """`shape`, `variety`, `rule` or a `+`-joined mix for an endpoint with placeholders;
    None for a plain endpoint and for the stand-ins that name no path (`{other}`, ...)."""
    if not endpoint.startswith("/"):
        return None
    kinds = sorted({PATTERN_KINDS.get(p, "rule") for p in PLACEHOLDER.findall(endpoint)})
    return "+".join(kinds) or None


def source_endpoints(root: Path, catalog_url: str) -> list[SourceEndpoints]:
    """One entry per source that has files in the catalog or rows in `requests`, by name."""
    sources: dict[str, SourceEndpoints] = {}

    def entry(name: str) -> SourceEndpoints:
        return sources.setdefault(name, SourceEndpoints(source=name))

    for name, fmt, files in _catalog_rows(
        catalog_url,
        "SELECT source, format, count(*) FROM files GROUP BY source, format "
        "ORDER BY source, count(*) DESC, format",
    ):
        one = entry(name)
        one.files += files
        one.formats = ", ".join(filter(None, [one.formats, f"{fmt} ({files})"]))
    for name, admitted in _catalog_rows(
        catalog_url, "SELECT source, count(*) FROM endpoints GROUP BY source"
    ):
        entry(name).admitted = admitted

    try:
        conn = connect(root, sql="SELECT * FROM requests")
        try:
            columns = {d[0] for d in conn.execute("SELECT * FROM requests LIMIT 0").description}
            # a warehouse whose every partition predates the `path` column has none
            paths = "count(DISTINCT path)" if "path" in columns else "NULL::BIGINT"
            counts = conn.execute(
                f"SELECT source, endpoint, count(*) AS rows, {paths} AS paths FROM requests "
                "WHERE source IS NOT NULL GROUP BY source, endpoint "
                "ORDER BY source, rows DESC, endpoint"
            ).df()
        finally:
            conn.close()
    except duckdb.Error as exc:
        raise ValueError(f"could not read {root / 'requests'}: {_first_line(exc)}") from None
    for name, endpoint, rows, distinct_paths in counts.itertuples(index=False):
        paths = None if pd.isna(distinct_paths) else int(distinct_paths)
        one = entry(name)
        one.rows += int(rows)
        if pd.isna(endpoint):
            continue
        one.endpoints += 1
        if endpoint == OTHER:
            one.other_rows, one.other_paths = int(rows), paths
        elif kind := pattern_kind(endpoint):
            one.patterns.append(
                {"pattern": endpoint, "kind": kind, "rows": int(rows), "paths": paths}
            )
    return [sources[name] for name in sorted(sources)]


def _catalog_rows(url: str, sql: str) -> list[tuple]:
    """Rows of a catalog query; none when the catalog or its table does not exist yet (this
    reader never creates one). A SQLite catalog is read with the standard library, opened
    read-only, without loading SQLAlchemy (a third of a second)."""
    try:
        return _query_catalog(url, sql)
    except (sqlite3.Error, ImportError) as exc:
        raise ValueError(f"could not read the catalog {url}: {_first_line(exc)}") from None
    except Exception as exc:  # SQLAlchemy's errors, without importing it for SQLite
        if type(exc).__module__.startswith("sqlalchemy"):
            raise ValueError(f"could not read the catalog {url}: {_first_line(exc)}") from None
        raise


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _query_catalog(url: str, sql: str) -> list[tuple]:
    table = re.search(r"FROM (\w+)", sql).group(1)
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        if not database.is_file():
            return []
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone():
                return []
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table(table):
            return []
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()
