"""What people said about the incidents (`logcast incident ack|resolve|false-alarm`) as an
evaluation of the detector on the user's own data: per service, the incidents, how many were
confirmed (acked or resolved by hand), marked a false alarm, muted or left without a word, the
precision people's word gives (confirmed over confirmed plus false alarms) and the false alarms
per week of the incidents' days."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.feedback import latest_feedback, muted_by

COLUMNS = [
    "service", "incidents", "confirmed", "false_alarms", "muted", "no_word", "precision",
    "false_alarms_per_week", "weeks",
]  # fmt: skip
TOTAL = "(all)"
DAY = pd.Timedelta(days=1)


def feedback_scores(
    incidents: pd.DataFrame, feedback: pd.DataFrame, mutes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per service and a last `(all)` row (COLUMNS). An incident counts by the
    action in force on it (its latest feedback): `ack` and `resolve` confirm it, `false-alarm`
    marks it a false alarm; one a mute held (`transforms.feedback.muted_by`) and no one spoke
    of is `muted`, any other `no_word`. `precision` is NaN where nobody confirmed or rejected
    anything; `weeks` spans the UTC days from the first incident's to the last one's (at
    least one day), over which `false_alarms_per_week` is counted."""
    if not len(incidents) or "incident_id" not in incidents:
        return pd.DataFrame(columns=COLUMNS)
    rows = incidents[incidents["incident_id"].notna()].copy()
    latest = latest_feedback(feedback)
    action = latest["action"].reindex(rows["incident_id"].astype(str)).to_numpy()
    rows["confirmed"] = np.isin(action, ["ack", "resolve"])
    rows["false_alarms"] = action == "false-alarm"
    spoken = rows["confirmed"] | rows["false_alarms"]
    if mutes is not None and len(mutes):
        held = muted_by(rows, mutes).notna().to_numpy()
    else:
        held = np.zeros(len(rows), dtype=bool)
    rows["muted"] = held & ~spoken
    rows["no_word"] = ~spoken & ~rows["muted"]
    start = pd.to_datetime(rows["start"], utc=True)

    def summary(group: pd.DataFrame, days: pd.Series) -> dict:
        span = (days.max().floor("D") - days.min().floor("D") + DAY) / pd.Timedelta(days=7)
        confirmed, false = int(group["confirmed"].sum()), int(group["false_alarms"].sum())
        judged = confirmed + false
        return {
            "incidents": len(group),
            "confirmed": confirmed,
            "false_alarms": false,
            "muted": int(group["muted"].sum()),
            "no_word": int(group["no_word"].sum()),
            "precision": confirmed / judged if judged else float("nan"),
            "false_alarms_per_week": false / span,
            "weeks": span,
        }

    out = [
        {"service": service, **summary(group, start[group.index])}
        for service, group in rows.groupby("service", sort=True)
    ]
    out.append({"service": TOTAL, **summary(rows, start)})
    return pd.DataFrame(out, columns=COLUMNS)
