"""The service-log part of the daily report: per service that logged levels, its level mix
per hour, its top error templates (events that day, first seen), the templates whose events
per hour left their forecast and its new patterns; as HTML for the page and as Markdown for
the run's artifact."""

from __future__ import annotations

import html
import json

import pandas as pd

from transforms.daily_report import bar_chart, html_table
from transforms.log_anomalies import (
    ERROR_LEVELS,
    NEW_PATTERN,
    TEMPLATE_COUNT,
    counted_template_of,
    template_level,
    template_of,
)

LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEVEL_COLOURS = {
    "TRACE": "#cbd5e1",
    "DEBUG": "#94a3b8",
    "INFO": "#60a5fa",
    "WARNING": "#f59e0b",
    "ERROR": "#dc2626",
    "CRITICAL": "#7f1d1d",
}
TOP_TEMPLATES = 10
"""Error templates listed per service."""


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def level_mix(log_levels: pd.DataFrame, service: str, day: pd.Timestamp) -> pd.DataFrame:
    """hour (0..23) x level: events of `service` on `day` per hour and level."""
    own = log_levels[log_levels["service"].astype(str) == service]
    own = own[_utc(own["minute_start"]).dt.floor("D") == day]
    levels = own["level"].astype(str).str.upper()
    hours = _utc(own["minute_start"]).dt.hour
    mix = own["events"].groupby([hours.rename("hour"), levels.rename("level")]).sum()
    table = mix.unstack("level", fill_value=0) if len(mix) else pd.DataFrame()
    table = table.reindex(index=range(24), fill_value=0)
    order = [lv for lv in LEVELS if lv in table.columns]
    others = sorted(c for c in table.columns if c not in LEVELS)
    return table.reindex(columns=order + others, fill_value=0).fillna(0)


def top_error_templates(
    log_templates_minutely: pd.DataFrame,
    log_templates: pd.DataFrame,
    service: str,
    day: pd.Timestamp,
    limit: int = TOP_TEMPLATES,
) -> pd.DataFrame:
    """template, events (ERROR and CRITICAL on `day`), first seen: the service's most frequent
    error templates of the day, most events first (ties: the template text)."""
    columns = ["template", "events", "first_seen"]
    m = log_templates_minutely
    if m.empty:
        return pd.DataFrame(columns=columns)
    chosen = (
        (m["service"].astype(str) == service)
        & (_utc(m["minute_start"]).dt.floor("D") == day)
        & m["level"].astype(str).str.upper().isin(ERROR_LEVELS)
    )
    counts = m[chosen].groupby("template_id", observed=True)["events"].sum()
    if counts.empty:
        return pd.DataFrame(columns=columns)
    known = log_templates[log_templates["service"].astype(str) == service]
    known = known.set_index(known["template_id"].astype(str))
    rows = [
        {
            "template": str(known["template"].get(t, t)),
            "events": int(n),
            "first_seen": _when(known["first_seen"].get(t)),
        }
        for t, n in counts.items()
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.sort_values(["events", "template"], ascending=[False, True], ignore_index=True)
    return frame.head(limit)


def _service_day(
    anomalies: pd.DataFrame,
    log_templates: pd.DataFrame,
    kind: str,
    service: str,
    day: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The service's anomalies of `kind` on `day`, in time order (then by metric), and the
    service's templates indexed by template_id."""
    chosen = (
        (anomalies["kind"] == kind)
        & (anomalies["service"].astype(str) == service)
        & (_utc(anomalies["hour_start"]).dt.floor("D") == day)
    )
    known = log_templates[log_templates["service"].astype(str) == service]
    known = known.set_index(known["template_id"].astype(str))
    return anomalies[chosen].sort_values(["hour_start", "metric"]), known


def new_pattern_rows(
    anomalies: pd.DataFrame, log_templates: pd.DataFrame, service: str, day: pd.Timestamp
) -> pd.DataFrame:
    """hour, severity, template, example, events: the service's new patterns of `day`."""
    columns = ["hour", "severity", "template", "example", "events"]
    if anomalies.empty:
        return pd.DataFrame(columns=columns)
    chosen, known = _service_day(anomalies, log_templates, NEW_PATTERN, service, day)
    rows = []
    for row in chosen.itertuples(index=False):
        template_id = template_of(row.metric) or ""
        examples = known["examples"].get(template_id)
        rows.append(
            {
                "hour": f"{pd.Timestamp(row.hour_start):%H:%M}",
                "severity": row.severity,
                "template": str(known["template"].get(template_id, template_id)),
                "example": (json.loads(examples) or [""])[0] if examples else "",
                "events": int(row.actual),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def template_count_rows(
    anomalies: pd.DataFrame,
    log_templates: pd.DataFrame,
    log_templates_minutely: pd.DataFrame,
    service: str,
    day: pd.Timestamp,
) -> pd.DataFrame:
    """hour, severity, template, level, events, expected, change: the service's templates
    whose events per hour left their forecast on `day`, in time order (the level is the most
    severe the template logged in that hour)."""
    columns = ["hour", "severity", "template", "level", "events", "expected", "change"]
    if anomalies.empty:
        return pd.DataFrame(columns=columns)
    chosen, known = _service_day(anomalies, log_templates, TEMPLATE_COUNT, service, day)
    rows = []
    for row in chosen.itertuples(index=False):
        template_id = counted_template_of(row.metric) or ""
        hour = pd.Timestamp(row.hour_start)
        level = template_level(
            log_templates_minutely, service, template_id, hour, hour + pd.Timedelta(hours=1)
        )
        rows.append(
            {
                "hour": f"{hour:%H:%M}",
                "severity": row.severity,
                "template": str(known["template"].get(template_id, template_id)),
                "level": level,
                "events": int(row.actual),
                "expected": f"{row.yhat:,.1f}",
                "change": row.direction,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _when(value) -> str:
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


def logged_services(log_levels: pd.DataFrame, day: pd.Timestamp) -> list[str]:
    """The services that logged a level on `day`, sorted."""
    if log_levels.empty:
        return []
    on_day = _utc(log_levels["minute_start"]).dt.floor("D") == day
    return sorted(log_levels.loc[on_day, "service"].astype(str).unique())


def log_section(
    log_levels: pd.DataFrame,
    log_templates_minutely: pd.DataFrame,
    log_templates: pd.DataFrame,
    anomalies: pd.DataFrame,
    day: pd.Timestamp,
) -> tuple[str, list[str]]:
    """(HTML, chart names) of the service-log section; empty when no service logged a level."""
    services = logged_services(log_levels, day)
    if not services:
        return "", []
    parts, charts = ["<h2>Service logs</h2>"], []
    for service in services:
        mix = level_mix(log_levels, service, day)
        name = f"log-levels-{service}"
        charts.append(name)
        parts.append(f"<h3>{html.escape(service)}</h3>")
        parts.append(
            bar_chart(
                name,
                f"{service}: events per hour (UTC) by level",
                [f"{h:02d}" for h in mix.index],
                [
                    (level, mix[level].astype(float).tolist(), LEVEL_COLOURS.get(level, "#64748b"))
                    for level in mix.columns
                ],
                stacked=True,
            )
        )
        parts.append("<h4>Top error templates</h4>")
        top = top_error_templates(log_templates_minutely, log_templates, service, day)
        parts.append(html_table(top, "No ERROR or CRITICAL event this day."))
        parts.append("<h4>Templates off their forecast</h4>")
        off = template_count_rows(anomalies, log_templates, log_templates_minutely, service, day)
        parts.append(html_table(off, "No template's events per hour left their forecast."))
        parts.append("<h4>New patterns</h4>")
        new = new_pattern_rows(anomalies, log_templates, service, day)
        parts.append(html_table(new, "No new pattern at WARNING or above this day."))
    return "".join(parts), charts


def log_markdown(
    log_levels: pd.DataFrame,
    log_templates_minutely: pd.DataFrame,
    log_templates: pd.DataFrame,
    anomalies: pd.DataFrame,
    day: pd.Timestamp,
) -> str:
    """The same section as Markdown (level totals instead of the chart), for an artifact."""
    lines = []
    for service in logged_services(log_levels, day):
        mix = level_mix(log_levels, service, day).sum()
        levels = ", ".join(f"{level} {int(n):,}" for level, n in mix.items() if n)
        lines += [f"## {service}", "", f"Levels: {levels}", ""]
        top = top_error_templates(log_templates_minutely, log_templates, service, day)
        if len(top):
            lines += ["| error template | events | first seen |", "|---|---|---|"]
            lines += [
                f"| `{r.template}` | {r.events:,} | {r.first_seen} |" for r in top.itertuples()
            ]
            lines.append("")
        off = template_count_rows(anomalies, log_templates, log_templates_minutely, service, day)
        for r in off.itertuples():
            level = f" ({r.level})" if r.level else ""
            lines.append(
                f"- template `{r.template}`{level} at {r.hour} ({r.severity}, {r.change}): "
                f"{r.events:,} events vs {r.expected} expected"
            )
        if len(off):
            lines.append("")
        new = new_pattern_rows(anomalies, log_templates, service, day)
        for r in new.itertuples():
            lines.append(
                f"- new pattern at {r.hour} ({r.severity}): `{r.template}`, e.g. `{r.example}`"
            )
        if len(new):
            lines.append("")
    return "\n".join(lines)
