"""Scoring the pipeline's incidents (one per cause, with the values that moved) against
labelled injected events: how many incidents each event opened (one is right; more is a
duplicate across the hierarchy or the endpoints), whether the probable cause names the
event's culprit, and the incidents no event explains."""

from __future__ import annotations

import re

import pandas as pd

from transforms.forecast import TOTAL

ONE_HOUR = pd.Timedelta(hours=1)

CULPRITS: dict[str, tuple[re.Pattern, ...]] = {
    "error_burst": (re.compile(r"\bstatus(?: class)?[ =]5(?:\d\d|xx)\b"),),
    "regional_errors": (re.compile(r"\bregion[ =]eu-west-1\b"), re.compile(r"\bstatus[ =]503\b")),
}
"""For each kind of event with a culprit, what its incident's probable cause must name: a
server error status, or their class, for an error burst (`transforms.synthetic` spreads its
errors over the codes 500, 502, 503 and 504: "5xx" is its culprit as much as any one code);
the region and the status for errors of one region (`transforms.synthetic.CULPRIT_REGION`,
`CULPRIT_STATUS`), as the cause says them ("status 503", "status 5xx") or the attribution
("status=503", "status class=5xx")."""

COLUMNS = ["kind", "endpoint", "start", "end", "incidents", "incident_ids", "cause", "culprit"]


def _holds(incidents: pd.DataFrame, service: str, endpoint: str) -> pd.Series:
    """Whether each incident holds `endpoint` of `service`: keyed on it, listing it among its
    `endpoints`, or the total `*` of its service (or of all)."""
    listed = incidents["endpoints"].fillna("").astype(str).str.split(",")
    return (
        (incidents["service"].isin([service, TOTAL]))
        & (
            (incidents["endpoint"] == endpoint)
            | (incidents["endpoint"] == TOTAL)
            | listed.map(lambda names: endpoint in names)
        )
    )  # fmt: skip


def incidents_of_events(
    incidents: pd.DataFrame,
    labels: pd.DataFrame,
    service_of: dict[str, str],
    *,
    tolerance: pd.Timedelta = ONE_HOUR,
) -> pd.DataFrame:
    """One row per label (COLUMNS): the incidents that hold its endpoint (`_holds`; its
    service from `service_of`) and overlap [start, end + tolerance), their ids, the cause of
    the first, and `culprit`: for a kind in CULPRITS whether every incident's probable cause
    (or attribution) names it; None for a kind without one, False when no incident opened."""
    starts = pd.to_datetime(incidents["start"], utc=True) if len(incidents) else None
    ends = pd.to_datetime(incidents["end"], utc=True) if len(incidents) else None
    rows = []
    for label in labels.itertuples(index=False):
        found = incidents.iloc[0:0]
        if len(incidents):
            inside = (starts < label.end + tolerance) & (ends > label.start)
            found = incidents[
                inside & _holds(incidents, service_of[label.endpoint], label.endpoint)
            ]
        found = found.sort_values("start")
        texts = (
            found["probable_cause"].fillna("").astype(str)
            + " "
            + found.get("attribution", pd.Series("", index=found.index)).fillna("").astype(str)
        )
        wanted = CULPRITS.get(label.kind)
        if wanted is None:
            culprit = None
        else:
            culprit = bool(len(found)) and all(
                all(p.search(text) for p in wanted) for text in texts
            )
        rows.append(
            {
                "kind": label.kind,
                "endpoint": label.endpoint,
                "start": label.start,
                "end": label.end,
                "incidents": len(found),
                "incident_ids": ",".join(found["incident_id"].astype(str)),
                "cause": str(found["probable_cause"].iloc[0]) if len(found) else "",
                "culprit": culprit,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def stray_incidents(
    incidents: pd.DataFrame,
    labels: pd.DataFrame,
    service_of: dict[str, str],
    *,
    tolerance: pd.Timedelta = ONE_HOUR,
) -> pd.DataFrame:
    """The incidents no label explains (none of the labels' events falls in them)."""
    if not len(incidents):
        return incidents
    matched = incidents_of_events(incidents, labels, service_of, tolerance=tolerance)
    ids = {i for text in matched["incident_ids"] for i in text.split(",") if i}
    return incidents[~incidents["incident_id"].astype(str).isin(ids)]
