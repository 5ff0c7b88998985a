"""The catalog (SQLAlchemy): runs, the file ledger and its fragments, partitions, dirty hours,
quality results, models, retention, the incident events sent, mutes and feedback. `Catalog` joins the parts:
`work` (runs, dirty hours, backfill days), `ledger` (files, fragments, compaction marks,
endpoints), `records` (partitions, quality, models, retention), `alerts` (incident events) and `feedback`
(mutes, feedback on incidents); `schema` holds the tables."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from warehouse.catalog.alerts import Alerts
from warehouse.catalog.feedback import Feedback
from warehouse.catalog.ledger import FileRecord, Fragment, Ledger
from warehouse.catalog.records import Records
from warehouse.catalog.schema import add_missing_columns, metadata, now
from warehouse.catalog.work import Work

__all__ = ["Catalog", "FileRecord", "Fragment", "metadata", "now"]


class Catalog(Work, Ledger, Records, Alerts, Feedback):
    """Thin access layer over the catalog database; safe to share between threads."""

    def __init__(self, url: str):
        self.url = url
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite"):
            database = url.split(":///", 1)[-1]
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"check_same_thread": False, "timeout": 60}
        self.engine = sa.create_engine(url, connect_args=connect_args)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        # SQLite allows one writer; serialising our own writers avoids busy retries.
        self.write_lock = threading.Lock()
        metadata.create_all(self.engine)
        add_missing_columns(self.engine)  # a catalog an older logcast made

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
