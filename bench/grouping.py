"""The `make eval` section on incidents as the pipeline groups them: synthetic request logs
with injected events (`transforms.synthetic`, the default kinds and errors of one region) go
through `logcast backfill` in a home of their own (a subprocess on Prefect's temporary server),
and the `incidents` table is scored against the events (transforms.evaluation.grouping): one
incident per event (a second one for the same event, from a service total or a sibling
endpoint, is a duplicate), the culprit named in the probable cause of every incident of an
event that has one, and the incidents no event explains."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

DAYS, ENDPOINTS, SEED = 14, 8, 7
KINDS = ("latency_spike", "error_burst", "traffic_drop", "outage", "regional_errors")
TARGETS = "one incident per event, its culprit named by every incident of an event with one"


def _logcast() -> str:
    return str(Path(sys.executable).parent / "logcast")


def run_pipeline(home: Path, *, days: int, endpoints: int, seed: int) -> pd.DataFrame:
    """Generates the logs into `home`'s landing folder, backfills them and returns the
    labels; RuntimeError with the command's output when the backfill fails."""
    from flows.generate import generate

    end_day = pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(days=days - 1)
    generated = generate(
        days=days, endpoints=endpoints, out_dir=home / "landing",
        labels_path=home / "labels.csv", end_day=end_day, seed=seed, kinds=KINDS,
    )  # fmt: skip
    env = {
        **os.environ,
        "LOGCAST_HOME": str(home),
        "PREFECT_HOME": str(home / "prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [_logcast(), "backfill", "--start", f"{generated.start:%Y-%m-%d}",
         "--end", f"{end_day:%Y-%m-%d}"],
        env=env, cwd=home, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"logcast backfill exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return generated.labels


def grouping_section(
    *, days: int = DAYS, endpoints: int = ENDPOINTS, seed: int = SEED
) -> tuple[list[str], bool]:
    """The section's lines and whether its targets are met."""
    from schemas.common import empty_frame
    from schemas.forecasts import Incident
    from transforms.evaluation.grouping import incidents_of_events, stray_incidents
    from transforms.synthetic import endpoint_services
    from warehouse.query import query, tables_present

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="logcast-eval-") as folder:
        home = Path(folder)
        labels = run_pipeline(home, days=days, endpoints=endpoints, seed=seed)
        warehouse = home / "warehouse"
        incidents = (
            query(warehouse, "SELECT * FROM incidents ORDER BY start")
            if "incidents" in tables_present(warehouse)
            else empty_frame(Incident)
        )
    services = endpoint_services(endpoints)
    per_event = incidents_of_events(incidents, labels, services)
    stray = stray_incidents(incidents, labels, services)
    lines = [
        f"\n== incidents as the pipeline groups them: {days} days, {endpoints} endpoints, "
        f"{len(labels)} injected events (seed {seed}), `logcast backfill` "
        f"({time.perf_counter() - began:.0f} s)"
    ]
    shown = per_event.assign(
        start=per_event["start"].dt.strftime("%Y-%m-%d %H:%M"),
        culprit=per_event["culprit"].map({True: "named", False: "NOT named", None: "-"}),
        cause=per_event["cause"].str.slice(0, 90),
    )[["kind", "endpoint", "start", "incidents", "culprit", "cause"]]
    lines.append(shown.to_string(index=False))
    one = int((per_event["incidents"] == 1).sum())
    duplicated = int((per_event["incidents"] > 1).sum())
    missed = int((per_event["incidents"] == 0).sum())
    with_culprit = per_event[per_event["culprit"].notna() & (per_event["incidents"] > 0)]
    named = int(with_culprit["culprit"].astype(bool).sum())
    lines += [
        f"events with one incident {one} of {len(per_event)}, with more than one {duplicated}, "
        f"with none {missed}",
        f"culprit named by the incidents of {named} of {len(with_culprit)} events that have "
        "one and opened an incident",
        f"incidents no event explains: {len(stray)} of {len(incidents)}",
    ]
    for row in stray.itertuples(index=False):
        lines.append(f"  {row.service} {row.endpoint} {pd.Timestamp(row.start):%Y-%m-%d %H}:00 "
                     f"{str(row.probable_cause)[:80]}")  # fmt: skip
    met = duplicated == 0 and missed == 0 and named == len(with_culprit)
    lines.append(f"targets: {TARGETS}: {'met' if met else 'NOT met'}")
    return lines, met


def grouping_text(**kwargs) -> str:
    return "\n".join(grouping_section(**kwargs)[0])
