"""Serve the logcast deployments from one process (`python -m deployments.serve`).

Needs a running Prefect server (`prefect server start`) and `PREFECT_API_URL` pointing at it.
"""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from flows.pipeline import backfill, hourly

# Five minutes past every hour, UTC: the hour that just closed, plus time for files to land.
HOURLY_CRON = "5 * * * *"


def deployments() -> list:
    return [
        hourly.to_deployment(
            name="logcast-hourly", schedule=Cron(HOURLY_CRON, timezone="UTC"), tags=["logcast"]
        ),
        backfill.to_deployment(name="logcast-backfill", tags=["logcast"]),
    ]


def main() -> None:
    serve(*deployments())


if __name__ == "__main__":
    main()
