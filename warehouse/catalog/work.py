"""Work still to do and done: runs, dirty hours waiting to be recomputed, finished backfill
days."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.catalog.schema import backfill_days, day_key, dirty_hours, hour_key, now, runs


class Work:
    """The runs and progress part of `Catalog`."""

    engine: sa.Engine
    write_lock: threading.Lock

    # runs -----------------------------------------------------------------------------------
    def start_run(self, run_id: str, flow: str, parameters: dict[str, Any]) -> None:
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(sa.delete(runs).where(runs.c.run_id == run_id))
            conn.execute(
                runs.insert().values(
                    run_id=run_id,
                    flow=flow,
                    parameters=json.dumps(parameters, default=str),
                    started_at=now(),
                    status="running",
                )
            )

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(finished_at=now(), status=status, summary=json.dumps(summary, default=str))
            )

    # dirty hours ---------------------------------------------------------------------------
    def _mark_dirty(self, conn: sa.Connection, hours: set[str]) -> None:
        if not hours:
            return
        existing = set(
            conn.execute(
                sa.select(dirty_hours.c.hour).where(dirty_hours.c.hour.in_(hours))
            ).scalars()
        )
        fresh = sorted(hours - existing)
        if fresh:
            marked = now()
            conn.execute(dirty_hours.insert(), [{"hour": h, "marked_at": marked} for h in fresh])

    def mark_dirty(self, hours: Iterable[pd.Timestamp]) -> None:
        with self.write_lock, self.engine.begin() as conn:
            self._mark_dirty(conn, {hour_key(h) for h in hours})

    def dirty_hours(self) -> list[pd.Timestamp]:
        with self.engine.connect() as conn:
            keys = conn.execute(
                sa.select(dirty_hours.c.hour).order_by(dirty_hours.c.hour)
            ).scalars()
            return [pd.Timestamp(k) for k in keys]

    def clear_dirty(self, hours: Iterable[pd.Timestamp], marked_before: datetime) -> None:
        """Clears hours marked before `marked_before` (when their rebuild started): an hour
        marked again while it was being rebuilt stays dirty."""
        keys = [hour_key(h) for h in hours]
        if not keys:
            return
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(
                sa.delete(dirty_hours)
                .where(dirty_hours.c.hour.in_(keys))
                .where(dirty_hours.c.marked_at <= marked_before)
            )

    # backfill progress ---------------------------------------------------------------------
    def finish_day(self, day: pd.Timestamp, run_id: str | None) -> None:
        key = day_key(day)
        with self.write_lock, self.engine.begin() as conn:
            conn.execute(sa.delete(backfill_days).where(backfill_days.c.day == key))
            conn.execute(
                backfill_days.insert(), {"day": key, "run_id": run_id, "finished_at": now()}
            )

    def finished_days(self, days: Iterable[pd.Timestamp]) -> set[pd.Timestamp]:
        """The days among `days` a backfill finished."""
        wanted = {day_key(d): pd.Timestamp(d) for d in days}
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            keys = conn.execute(
                sa.select(backfill_days.c.day).where(backfill_days.c.day.in_(list(wanted)))
            ).scalars()
            return {wanted[k] for k in keys}

    def forget_days(self, days: Iterable[pd.Timestamp]) -> None:
        keys = [day_key(d) for d in days]
        if keys:
            with self.write_lock, self.engine.begin() as conn:
                conn.execute(sa.delete(backfill_days).where(backfill_days.c.day.in_(keys)))
