"""Run reports: the markdown summary and JSON-safe tables published as Prefect artifacts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from schemas.forecasts import Anomaly as A
from schemas.forecasts import Forecast as F

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, timestamps to ISO 8601, NaN/NA to None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: json_safe(v) for k, v in row.items()} for row in frame.to_dict("records")]


def top_anomalies(anomalies: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """Most severe first, then the most surprising (scores tie at 1 far out), then earliest."""
    if anomalies.empty:
        return anomalies
    order = anomalies[A.severity].map(SEVERITY_ORDER)
    ranked = anomalies.assign(_order=order).sort_values(
        ["_order", A.surprise, A.score, A.hour_start],
        ascending=[True, False, False, True],
        kind="stable",
    )
    return ranked.drop(columns="_order").head(limit).reset_index(drop=True)


def anomaly_table(anomalies: pd.DataFrame, limit: int = 100) -> list[dict[str, Any]]:
    """Rows for the `logcast-anomalies` table artifact."""
    columns = [
        A.hour_start, A.service, A.endpoint, A.metric, A.severity, A.direction, A.kind,
        A.actual, A.yhat, A.yhat_lower, A.yhat_upper, A.score, A.surprise,
    ]  # fmt: skip
    top = top_anomalies(anomalies, limit)
    if top.empty:
        return []
    rounded = top[columns].round(
        {A.actual: 3, A.yhat: 3, A.yhat_lower: 3, A.yhat_upper: 3, A.score: 3, A.surprise: 2}
    )
    return records(rounded)


def _fmt(value: Any) -> str:
    value = json_safe(value)
    if value is None:
        return "–"
    if isinstance(value, float):
        # rates (0..1) need decimals; counts and milliseconds do not
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def against_forecast(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Volume, error rate and p95 per endpoint against their forecasts, over the scored hours."""
    if forecasts.empty:
        return pd.DataFrame()
    keys = [F.service, F.endpoint]
    wide = forecasts.pivot_table(
        index=keys, columns=F.metric, values=[F.actual, F.yhat], aggfunc="mean"
    )
    out = pd.DataFrame(index=wide.index)
    for metric in forecasts[F.metric].unique():
        out[f"{metric}"] = wide.get((F.actual, metric), np.nan)
        out[f"{metric} forecast"] = wide[(F.yhat, metric)]
    return out.reset_index()


def kept_split(counts: dict[str, Any], separator: str) -> str:
    """`{separator}kept 39: 4 requests, 35 events`: the rows kept split into requests (with an
    endpoint) and service-log events (a level, no endpoint), when any event was kept; "" when
    every row kept is a request, or for counts made before the split was recorded."""
    events = counts.get("events")
    if not events or counts.get("requests") is None:
        return ""
    requests = counts["requests"]
    return (
        f"{separator}kept {requests + events:,}: {requests:,} request{'' if requests == 1 else 's'}"
        f", {events:,} event{'' if events == 1 else 's'}"
    )


def summary_markdown(
    title: str,
    summary: dict[str, Any],
    anomalies: pd.DataFrame,
    forecasts: pd.DataFrame | None = None,
) -> str:
    """The run's markdown report: what came in, what was built, what deviated."""
    files = summary.get("files", {})
    lines = [f"# {title}", ""]
    if summary.get("window"):
        lines += [f"**Window:** {summary['window']}", ""]
    lines += [
        "## Ingest",
        "",
        f"- files ingested: {files.get('ingested', 0)}, unchanged and skipped: "
        f"{files.get('skipped', 0)}, rejected: {files.get('rejected', 0)}",
        f"- records read: {files.get('records_read', 0):,} = kept {files.get('rows_kept', 0):,}"
        f" + quarantined {files.get('rows_quarantined', 0):,}" + kept_split(files, "; "),
    ]
    for rejected in files.get("rejected_files", [])[:10]:
        lines.append(f"- rejected `{rejected['path']}`: {rejected['reason']}")
    for warning in files.get("warnings", [])[:10]:
        lines.append(f"- warning: {warning}")
    for message in files.get("too_bad", []):
        lines.append(f"- **quarantine limit exceeded**, the run fails: {message}")
    lines += [
        "",
        "## Built",
        "",
        f"- hours recomputed: {summary.get('hours_rebuilt', 0)}"
        f" ({summary.get('endpoint_hourly_rows', 0):,} `endpoint_hourly` rows)"
        + (
            f", of which {summary['hours_rescored']} already scored and scored again"
            if summary.get("hours_rescored")
            else ""
        ),
        f"- series scored: {summary.get('series', 0)}"
        + (
            f" ({summary['series_skipped']} skipped: too little traffic)"
            if summary.get("series_skipped")
            else ""
        )
        + f", forecast rows: {summary.get('forecasts', 0):,}, anomalies: "
        f"{summary.get('anomalies', 0)}",
    ]
    sent = {kind: n for kind, n in (summary.get("incident_events") or {}).items() if n}
    if sent:
        lines.append(
            "- incident events sent to Prefect: "
            + ", ".join(f"{n} `logcast.incident.{kind}`" for kind, n in sent.items())
        )
    lines += [f"- {sentence}" for sentence in retention_sentences(summary.get("retention"))]
    lines.append("")
    if summary.get("feedback"):
        lines += ["## Mutes and feedback", ""]
        lines += [f"- {sentence}" for sentence in summary["feedback"]]
        lines.append("")
    quality = summary.get("quality")
    if quality:
        verdict = (
            "all passed"
            if not quality.get("failed")
            else f"**{quality['failed']} failed**: {'; '.join(quality.get('failures', [])[:5])}"
        )
        lines += [
            "## Quality",
            "",
            f"- Great Expectations: {quality.get('checks', 0):,} checks on "
            f"{quality.get('partitions', 0):,} partitions of {quality.get('tables', 0)} tables, "
            f"{verdict}",
            "",
        ]
    if forecasts is not None and not forecasts.empty:
        overview = against_forecast(forecasts).head(25)
        lines += ["## Against forecast", "", _table(overview), ""]
    lines += ["## Top anomalies", ""]
    top = top_anomalies(anomalies, 15)
    if top.empty:
        lines.append("No anomalies.")
    else:
        columns = [A.hour_start, A.endpoint, A.metric, A.severity, A.direction, A.actual, A.yhat]
        shown = top[[*columns, A.score, A.surprise]].assign(
            **{A.hour_start: top[A.hour_start].dt.strftime("%Y-%m-%d %H:00")}
        )
        lines.append(_table(shown))
    return "\n".join(lines) + "\n"


def retention_sentences(retention: dict[str, Any] | None) -> list[str]:
    """What retention removed, and what it kept only because this run wrote it, one sentence
    per table."""
    retention = retention or {}
    older_than = retention.get("older_than", {})
    days = retention.get("days", {})
    newest = retention.get("newest")

    def rule(table: str) -> str:
        return (
            f"older than {older_than.get(table, '?')} ({days.get(table, '?')} days before "
            f"the newest data, {newest} UTC)"
        )

    sentences = [
        f"retention removed {count:,} partition{'s' if count != 1 else ''} of {table} {rule(table)}"
        for table, count in sorted((retention.get("partitions") or {}).items())
    ]
    if retention.get("partitions"):
        sentences[-1] += f"; {retention.get('rows', 0):,} rows in all"
    sentences += [
        f"kept {count:,} partition{'s' if count != 1 else ''} of {table} {rule(table)} because "
        "this run wrote them; the next run removes them unless [retention] "
        f"{table} is raised (0 keeps a table for good)"
        for table, count in sorted((retention.get("kept") or {}).items())
    ]
    return sentences
