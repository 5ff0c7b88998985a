"""The maintenance calendar (`mutes`) and what people said about incidents
(`incident_feedback`)."""

from __future__ import annotations

import threading
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from warehouse.catalog.schema import incident_feedback, mutes, now

MUTE_COLUMNS = [c.name for c in mutes.columns]
FEEDBACK_COLUMNS = [c.name for c in incident_feedback.columns]


def _utc(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """SQLite hands times back without their zone: they were stored as UTC."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


class Feedback:
    """The mutes and feedback part of `Catalog`."""

    engine: sa.Engine
    write_lock: threading.Lock

    def add_mute(
        self,
        service: str,
        endpoint: str,
        starts_at: datetime,
        ends_at: datetime,
        reason: str,
    ) -> int:
        """Records a mute; returns its id."""
        with self.write_lock, self.engine.begin() as conn:
            result = conn.execute(
                mutes.insert().values(
                    service=service,
                    endpoint=endpoint,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=reason,
                    created_at=now(),
                )
            )
            return int(result.inserted_primary_key[0])

    def remove_mute(self, mute_id: int) -> bool:
        """Deletes a mute; False when there is none of that id."""
        with self.write_lock, self.engine.begin() as conn:
            done = conn.execute(mutes.delete().where(mutes.c.mute_id == mute_id))
            return done.rowcount > 0

    def mutes_frame(self) -> pd.DataFrame:
        """Every mute, by id, its times in UTC."""
        with self.engine.connect() as conn:
            frame = pd.read_sql(sa.select(mutes).order_by(mutes.c.mute_id), conn)
        if frame.empty:
            frame = pd.DataFrame(columns=MUTE_COLUMNS)
        return _utc(frame, ["starts_at", "ends_at", "created_at"])

    def record_feedback(self, incident_id: str, action: str, note: str = "") -> None:
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(
                incident_feedback.insert().values(
                    incident_id=incident_id, action=action, note=note, at=now()
                )
            )

    def feedback_frame(self) -> pd.DataFrame:
        """Every feedback row, oldest first, its time in UTC."""
        with self.engine.connect() as conn:
            frame = pd.read_sql(
                sa.select(incident_feedback).order_by(
                    incident_feedback.c.at, incident_feedback.c.feedback_id
                ),
                conn,
            )
        if frame.empty:
            frame = pd.DataFrame(columns=FEEDBACK_COLUMNS)
        return _utc(frame, ["at"])
