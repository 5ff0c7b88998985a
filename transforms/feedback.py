"""Mutes and feedback applied to incidents: which incidents a maintenance window mutes, which
people acknowledged, resolved by hand or marked a false alarm, and the words the reports and
artifacts show for them."""

from __future__ import annotations

import pandas as pd

from transforms.alerts import endpoints_of

ACTIONS = ("ack", "resolve", "false-alarm")
CLOSING = ("resolve", "false-alarm")
"""Actions that end an incident for its events: nothing more is sent for it but a resolved."""
ALL = "*"
"""A mute's endpoint for every endpoint of its service."""
SAID = {"ack": "acked", "resolve": "resolved by hand", "false-alarm": "false alarm"}


def muted_by(incidents: pd.DataFrame, mutes: pd.DataFrame) -> pd.Series:
    """For each incident, the reason of the first mute (by id) of its service, and of its
    endpoint (every endpoint it holds) or all, whose window [starts_at, ends_at) holds every
    hour of it (start and end); None when no mute does. An incident that outlasts the window
    is no longer muted."""
    out = pd.Series([None] * len(incidents), index=incidents.index, dtype="object")
    if incidents.empty or mutes.empty:
        return out
    start = pd.to_datetime(incidents["start"], utc=True)
    end = pd.to_datetime(incidents["end"], utc=True)
    held = pd.Series(
        [",".join(endpoints_of(row)) for row in incidents.to_dict("records")],
        index=incidents.index,
    )
    for mute in mutes.sort_values("mute_id", ascending=False).itertuples(index=False):
        inside = (
            (incidents["service"] == mute.service)
            & ((held == mute.endpoint) | (mute.endpoint == ALL))
            & (start >= pd.Timestamp(mute.starts_at))
            & (end <= pd.Timestamp(mute.ends_at))
        )
        out[inside] = mute.reason  # the lowest id is written last, so it wins
    return out


def latest_feedback(feedback: pd.DataFrame) -> pd.DataFrame:
    """The action in force on each incident (its latest), indexed by incident_id: action,
    note, at."""
    if feedback.empty:
        return pd.DataFrame(
            columns=["action", "note", "at"], index=pd.Index([], name="incident_id")
        )
    ordered = feedback.sort_values(["at", "feedback_id"] if "feedback_id" in feedback else "at")
    return ordered.groupby("incident_id").last()[["action", "note", "at"]]


def feedback_text(action: str | None, note: str | None) -> str:
    """`acked: on it`, `false alarm: deploy noise`, `resolved by hand`; "" without feedback."""
    if not action or pd.isna(action):
        return ""
    said = SAID.get(str(action), str(action))
    return f"{said}: {note}" if note and not pd.isna(note) else said


def with_feedback(
    incidents: pd.DataFrame, mutes: pd.DataFrame, feedback: pd.DataFrame
) -> pd.DataFrame:
    """The incidents with `muted` (the mute's reason, else "") and `feedback` (its words,
    else ""); one resolved or marked a false alarm by hand has status resolved."""
    out = incidents.copy()
    reasons = muted_by(out, mutes)
    out["muted"] = reasons.fillna("").astype(str)
    latest = latest_feedback(feedback)
    if "incident_id" in out and len(latest):
        joined = latest.reindex(out["incident_id"].astype(str))
        out["feedback"] = [
            feedback_text(a, n) for a, n in zip(joined["action"], joined["note"], strict=True)
        ]
        closed = joined["action"].isin(CLOSING).to_numpy()
        if "status" in out:
            out.loc[closed, "status"] = "resolved"
    else:
        out["feedback"] = ""
    return out


def mutes_in_force(mutes: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The mutes whose window overlaps [start, end), by id."""
    if mutes.empty:
        return mutes
    chosen = (pd.to_datetime(mutes["starts_at"], utc=True) < end) & (
        pd.to_datetime(mutes["ends_at"], utc=True) > start
    )
    return mutes[chosen].sort_values("mute_id")


def mute_text(mute) -> str:
    """`mute 3: checkout * 2026-11-03 14:00 to 16:00 UTC (deploy)`."""
    start, end = pd.Timestamp(mute.starts_at), pd.Timestamp(mute.ends_at)
    until = f"{end:%H:%M}" if end.floor("D") == start.floor("D") else f"{end:%Y-%m-%d %H:%M}"
    return (
        f"mute {mute.mute_id}: {mute.service} {mute.endpoint} "
        f"{start:%Y-%m-%d %H:%M} to {until} UTC ({mute.reason})"
    )


def feedback_lines(incidents: pd.DataFrame, mutes_now: pd.DataFrame) -> list[str]:
    """Sentences for a run's artifact: each mute in force, and each incident muted or with
    feedback (`with_feedback` rows)."""
    lines = [mute_text(m) for m in mutes_now.itertuples(index=False)]
    if incidents.empty:
        return lines
    for row in incidents.sort_values("start").itertuples(index=False):
        said = [text for text in (row.feedback, f"muted: {row.muted}" if row.muted else "") if text]
        if said:
            lines.append(
                f"incident {row.incident_id} ({row.service} {row.endpoint}, from "
                f"{pd.Timestamp(row.start):%Y-%m-%d %H:%M} UTC): {'; '.join(said)}"
            )
    return lines
