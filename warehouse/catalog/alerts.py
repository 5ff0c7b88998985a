"""The ledger of incident events sent to Prefect (`incident_events`)."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.catalog.schema import incident_events, now

EVENT_COLUMNS = [c.name for c in incident_events.columns]


class Alerts:
    """The alerts part of `Catalog`."""

    engine: sa.Engine
    write_lock: threading.Lock

    def record_incident_event(self, row: dict[str, Any], run_id: str | None) -> bool:
        """Records one sent event (`event_id`, `incident_id`, `kind`, `service`, `endpoint`,
        `start`, `severity`, `metrics`); False when its event_id was recorded already."""
        with self.write_lock, self.engine.begin() as conn:
            known = conn.execute(
                sa.select(incident_events.c.event_id).where(
                    incident_events.c.event_id == row["event_id"]
                )
            ).first()
            if known is not None:
                return False
            conn.execute(incident_events.insert().values(**row, run_id=run_id, sent_at=now()))
            return True

    def incident_events_frame(self) -> pd.DataFrame:
        """Every event sent, oldest first."""
        with self.engine.connect() as conn:
            frame = pd.read_sql(
                sa.select(incident_events).order_by(
                    incident_events.c.sent_at, incident_events.c.event_id
                ),
                conn,
            )
        return frame if len(frame) else pd.DataFrame(columns=EVENT_COLUMNS)

    def unresolved_incident_events(self) -> pd.DataFrame:
        """The events sent for incidents that were opened and not resolved yet."""
        resolved = sa.select(incident_events.c.incident_id).where(
            incident_events.c.kind == "resolved"
        )
        with self.engine.connect() as conn:
            frame = pd.read_sql(
                sa.select(incident_events)
                .where(incident_events.c.incident_id.not_in(resolved))
                .order_by(incident_events.c.sent_at, incident_events.c.event_id),
                conn,
            )
        return frame if len(frame) else pd.DataFrame(columns=EVENT_COLUMNS)
