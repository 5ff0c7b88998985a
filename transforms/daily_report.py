"""The daily HTML report and its rule-based insights, from warehouse frames.

One self-contained page per UTC day: inline SVG charts drawn here (no script, no font, no
request of any kind), so it opens offline, in a mail attachment or from a file share. Every
chart is an `<svg data-chart="...">`; the tests open the page in headless Chromium and check
that each one renders.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.alerts import endpoints_of
from transforms.feedback import mute_text, mutes_in_force, with_feedback
from transforms.forecast import TOTAL

WIDTH, HEIGHT = 720, 220
MARGIN = {"left": 64, "right": 16, "top": 16, "bottom": 36}
PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"]
STATUS_COLOURS = {
    "status_2xx": "#16a34a",
    "status_3xx": "#0891b2",
    "status_4xx": "#f59e0b",
    "status_5xx": "#dc2626",
}
SEVERITY_COLOURS = {"low": "#f59e0b", "medium": "#ea580c", "high": "#dc2626", "critical": "#7f1d1d"}
TREND_DAYS = 7
"""Days of history the trend charts show, the report's day last."""
MAX_ENDPOINT_CHARTS = 12
"""Endpoints with a response-time chart of their own (the busiest)."""


@dataclass
class ReportData:
    """What the daily report reads, each frame as the warehouse table of the same name."""

    day: pd.Timestamp
    forecasts: pd.DataFrame  # the TREND_DAYS days ending with `day`
    anomalies: pd.DataFrame  # the same days
    endpoint_daily: pd.DataFrame  # `day` and the day before
    traffic_hourly: pd.DataFrame  # `day`
    error_reasons: pd.DataFrame  # error_reasons_hourly of `day`
    incidents: pd.DataFrame  # incidents that started on `day`
    quarantine: pd.DataFrame  # quarantine rows of `day`
    charts: list[str] = field(default_factory=list)
    log_levels: pd.DataFrame = field(default_factory=pd.DataFrame)  # log_levels_minutely of `day`
    log_templates_minutely: pd.DataFrame = field(default_factory=pd.DataFrame)  # of `day`
    log_templates: pd.DataFrame = field(default_factory=pd.DataFrame)  # every template
    mutes: pd.DataFrame = field(default_factory=pd.DataFrame)  # the catalog's mutes
    feedback: pd.DataFrame = field(default_factory=pd.DataFrame)  # the catalog's feedback


# ---------------------------------------------------------------------------------------------
# SVG primitives


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(value: float) -> float:
    if not np.isfinite(value) or value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):  # quarter ticks stay round
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _fmt(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}" if value >= 10 or value == 0 else f"{value:.2g}"


class _Frame:
    """Axes of a chart: maps data to pixels and draws the grid and labels."""

    def __init__(self, x_min: float, x_max: float, y_max: float, percent: bool = False):
        self.x_min, self.x_max = x_min, x_max if x_max > x_min else x_min + 1
        self.y_max = _nice_max(y_max)
        self.percent = percent
        self.left, self.top = MARGIN["left"], MARGIN["top"]
        self.w = WIDTH - MARGIN["left"] - MARGIN["right"]
        self.h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]

    def x(self, value: float) -> float:
        return self.left + (value - self.x_min) / (self.x_max - self.x_min) * self.w

    def y(self, value: float) -> float:
        return self.top + self.h - min(max(value, 0.0), self.y_max) / self.y_max * self.h

    def grid(self) -> list[str]:
        out = []
        for i in range(5):
            value = self.y_max * i / 4
            y = self.y(value)
            out.append(
                f'<line x1="{self.left}" x2="{self.left + self.w}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#e5e7eb"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{_fmt(value, self.percent)}</text>"
            )
        return out


def _svg(name: str, title: str, body: list[str], legend: list[tuple[str, str]] = ()) -> str:
    keys = "".join(
        f'<span class="key"><i style="background:{colour}"></i>{_e(label)}</span>'
        for label, colour in legend
    )
    return (
        f"<figure><figcaption>{_e(title)}</figcaption>"
        f'<svg data-chart="{_e(name)}" role="img" aria-label="{_e(title)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + f"</svg>{f'<div class=legend>{keys}</div>' if keys else ''}</figure>"
    )


def _polyline(points: list[tuple[float, float]], colour: str, width: float = 1.5) -> str:
    if not points:
        return ""
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="{width}"/>'


def _segments(x: np.ndarray, y: np.ndarray) -> list[list[tuple[float, float]]]:
    """Runs of finite points: a line breaks where data is missing."""
    out, current = [], []
    for a, b in zip(x, y, strict=True):
        if np.isfinite(b):
            current.append((a, b))
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _time_axis(frame: _Frame, start: pd.Timestamp, days: int) -> list[str]:
    out = []
    for i in range(days + 1):
        x = frame.x(i * 24)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{frame.top + frame.h}" '
            'stroke="#f3f4f6"/>'
        )
        if i < days:
            label = f"{start + pd.Timedelta(days=i):%a %d}"
            out.append(
                f'<text x="{frame.x(i * 24 + 12):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
                f"{label}</text>"
            )
    return out


def _hours_since(times: pd.Series, start: pd.Timestamp) -> np.ndarray:
    return ((pd.to_datetime(times, utc=True) - start) / pd.Timedelta(hours=1)).to_numpy()


# ---------------------------------------------------------------------------------------------
# charts


def response_time_chart(
    forecasts: pd.DataFrame, anomalies: pd.DataFrame, service: str, endpoint: str, start, days
) -> str:
    """p95 latency of one endpoint with its forecast band, anomalies marked."""
    rows = forecasts[
        (forecasts["service"] == service)
        & (forecasts["endpoint"] == endpoint)
        & (forecasts["metric"] == "latency_p95_ms")
    ].sort_values("hour_start")
    x = _hours_since(rows["hour_start"], start)
    top = np.nanmax(
        np.r_[rows["actual"].to_numpy(dtype=float), rows["yhat_upper"].to_numpy(dtype=float), 1.0]
    )
    frame = _Frame(0, days * 24, top)
    body = frame.grid() + _time_axis(frame, start, days)
    lower, upper = rows["yhat_lower"].to_numpy(float), rows["yhat_upper"].to_numpy(float)
    for segment in _segments(x, upper):
        xs = [p[0] for p in segment]
        ups = [frame.y(p[1]) for p in segment]
        lows = [frame.y(lower[np.searchsorted(x, p[0])]) for p in segment]
        polygon = [(frame.x(a), b) for a, b in zip(xs, ups, strict=True)] + [
            (frame.x(a), b) for a, b in zip(reversed(xs), reversed(lows), strict=True)
        ]
        coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in polygon)
        body.append(f'<polygon points="{coords}" fill="#bfdbfe" fill-opacity="0.6"/>')
    yhat = rows["yhat"].to_numpy(float)
    for segment in _segments(x, yhat):
        body.append(_polyline([(frame.x(a), frame.y(b)) for a, b in segment], "#60a5fa", 1.0))
    actual = rows["actual"].to_numpy(float)
    for segment in _segments(x, actual):
        body.append(_polyline([(frame.x(a), frame.y(b)) for a, b in segment], "#111827"))
    marks = anomalies[
        (anomalies["service"] == service)
        & (anomalies["endpoint"] == endpoint)
        & (anomalies["metric"] == "latency_p95_ms")
    ]
    for mark in marks.itertuples(index=False):
        hx = float(_hours_since(pd.Series([mark.hour_start]), start)[0])
        colour = SEVERITY_COLOURS.get(mark.severity, "#dc2626")
        body.append(
            f'<circle cx="{frame.x(hx):.1f}" cy="{frame.y(mark.actual):.1f}" r="4" '
            f'fill="{colour}"><title>{_e(mark.severity)} {_e(mark.direction)} at '
            f"{pd.Timestamp(mark.hour_start):%Y-%m-%d %H}:00: {mark.actual:.0f} ms</title></circle>"
        )
    title = f"{service} {endpoint}: p95 response time (ms), forecast band, anomalies"
    legend = [("p95", "#111827"), ("forecast", "#60a5fa"), ("99% interval", "#bfdbfe"),
              ("anomaly", "#dc2626")]  # fmt: skip
    return _svg(f"latency-{service}-{endpoint}", title, body, legend)


def error_rate_chart(forecasts: pd.DataFrame, endpoints: list[tuple[str, str]], start, days):
    """Hourly error rate of each endpoint over the trend days."""
    rows = forecasts[forecasts["metric"] == "error_rate"]
    top = rows["actual"].max() if len(rows) else 0.0
    frame = _Frame(0, days * 24, float(top) if np.isfinite(top) else 0.0, percent=True)
    body = frame.grid() + _time_axis(frame, start, days)
    legend = []
    for i, (service, endpoint) in enumerate(endpoints):
        own = rows[(rows["service"] == service) & (rows["endpoint"] == endpoint)]
        own = own.sort_values("hour_start")
        colour = PALETTE[i % len(PALETTE)]
        x = _hours_since(own["hour_start"], start)
        for segment in _segments(x, own["actual"].to_numpy(float)):
            body.append(_polyline([(frame.x(a), frame.y(b)) for a, b in segment], colour))
        legend.append((f"{service} {endpoint}", colour))
    return _svg("error-rate", "Error rate per endpoint (4xx + 5xx share)", body, legend)


def bar_chart(
    name: str,
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float], str]],
    *,
    percent: bool = False,
    stacked: bool = False,
    highlight: set[int] = frozenset(),
) -> str:
    """Vertical bars: one group per label, one bar per series (or stacked)."""
    if not labels:
        labels, series = ["(none)"], [(s[0], [0.0], s[2]) for s in series] or [("", [0.0], "#ccc")]
    totals = (
        [sum(s[1][i] for s in series) for i in range(len(labels))]
        if stacked
        else [max(s[1][i] for s in series) for i in range(len(labels))]
    )
    frame = _Frame(0, len(labels), max(totals) if totals else 0.0, percent=percent)
    body = frame.grid()
    slot = frame.w / len(labels)
    bars = 1 if stacked else len(series)
    width = max(slot * 0.8 / bars, 1.0)
    for i, label in enumerate(labels):
        base = 0.0
        for j, (series_name, values, colour) in enumerate(series):
            value = float(values[i]) if np.isfinite(values[i]) else 0.0
            if stacked:
                y0, y1 = frame.y(base), frame.y(base + value)
                x = frame.left + i * slot + slot * 0.1
                base += value
            else:
                y0, y1 = frame.y(0), frame.y(value)
                x = frame.left + i * slot + slot * 0.1 + j * width
            fill = "#1d4ed8" if i in highlight else colour
            body.append(
                f'<rect x="{x:.1f}" y="{y1:.1f}" width="{width:.1f}" '
                f'height="{max(y0 - y1, 0):.1f}" fill="{fill}"><title>{_e(label)} '
                f"{_e(series_name)}: {_fmt(value, percent)}</title></rect>"
            )
        if len(labels) <= 24:
            body.append(
                f'<text x="{frame.left + (i + 0.5) * slot:.1f}" y="{HEIGHT - 12}" '
                f'text-anchor="middle">{_e(label[:14])}</text>'
            )
    legend = [(n, c) for n, _, c in series if n]
    return _svg(name, title, body, legend)


def hbar_chart(name: str, title: str, labels: list[str], values: list[float]) -> str:
    """Horizontal bars, largest first."""
    rows = max(len(labels), 1)
    height = MARGIN["top"] + MARGIN["bottom"] + 22 * rows
    top = _nice_max(max(values) if values else 0.0)
    left, w = 240, WIDTH - 240 - MARGIN["right"]
    body = [
        f'<line x1="{left}" x2="{left}" y1="{MARGIN["top"]}" y2="{MARGIN["top"] + 22 * rows}" '
        'stroke="#9ca3af"/>'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = MARGIN["top"] + 22 * i
        body.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{_e(label[:36])}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{max(value / top * w, 1):.1f}" height="16" '
            f'fill="#dc2626"><title>{_e(label)}: {value:,.0f}</title></rect>'
            f'<text x="{left + value / top * w + 6:.1f}" y="{y + 15}">{value:,.0f}</text>'
        )
    if not labels:
        body.append(f'<text x="{left}" y="{MARGIN["top"] + 14}">no error reasons logged</text>')
    svg = _svg(name, title, body)
    return svg.replace(
        f'viewBox="0 0 {WIDTH} {HEIGHT}"', f'viewBox="0 0 {WIDTH} {height}"'
    ).replace(f'height="{HEIGHT}"', f'height="{height}"', 1)


# ---------------------------------------------------------------------------------------------
# insights


def _with_feedback(data: ReportData) -> pd.DataFrame:
    """The day's incidents with what people said (`transforms.feedback.with_feedback`)."""
    mutes = data.mutes if len(data.mutes) else pd.DataFrame(columns=["mute_id"])
    feedback = data.feedback
    if feedback.empty:
        feedback = pd.DataFrame(columns=["incident_id", "action", "note", "at"])
    return with_feedback(data.incidents, mutes, feedback)


def insights(data: ReportData) -> list[str]:
    """Plain sentences from the data: the incidents (which endpoint, how far from forecast,
    when, with which errors), the day's volume and error rate against the day before, the
    peak hour, the quarantine."""
    day = data.day
    out = []
    for incident in _with_feedback(data).sort_values("start").itertuples(index=False):
        held = endpoints_of(incident._asdict())
        where = (
            "all services"
            if incident.service == TOTAL and held == [TOTAL]
            else f"{incident.service} (all endpoints)"
            if held == [TOTAL]
            else ", ".join(held)
            if incident.service == TOTAL
            else f"{incident.service} {', '.join(held)}"
        )
        impact = getattr(incident, "impact", None)
        moved = f"; it moved {impact}" if isinstance(impact, str) and impact else ""
        said = [
            text
            for text in (incident.feedback, incident.muted and f"muted: {incident.muted}")
            if text
        ]
        out.append(
            f"{where}: {incident.peak_severity} incident from "
            f"{pd.Timestamp(incident.start):%H:%M} to {pd.Timestamp(incident.end):%H:%M} UTC "
            f"({incident.hours} h): {incident.probable_cause}{moved}."
            + (f" ({'; '.join(said)})" if said else "")
        )
    for mute in mutes_in_force(data.mutes, day, day + pd.Timedelta(days=1)).itertuples(index=False):
        out.append(f"In force: {mute_text(mute)}.")
    daily = data.endpoint_daily
    today = daily[pd.to_datetime(daily["day_start"], utc=True) == day]
    before = daily[pd.to_datetime(daily["day_start"], utc=True) == day - pd.Timedelta(days=1)]
    if len(today):
        requests = int(today["requests"].sum())
        errors = float((today["error_rate"] * today["requests"]).sum() / max(requests, 1))
        sentence = f"{requests:,} requests with an error rate of {errors:.2%}"
        if len(before):
            previous = int(before["requests"].sum())
            previous_errors = float(
                (before["error_rate"] * before["requests"]).sum() / max(previous, 1)
            )
            change = requests / previous - 1 if previous else float("nan")
            sentence += (
                f", {change:+.0%} requests and {errors - previous_errors:+.2%} error rate "
                "against the day before"
            )
        out.append(sentence + ".")
        worst = today.sort_values("latency_p95_ms", ascending=False).iloc[0]
        if np.isfinite(worst["latency_p95_ms"]):
            out.append(
                f"Slowest endpoint: {worst['service']} {worst['endpoint']} with a p95 of "
                f"{worst['latency_p95_ms']:,.0f} ms (average {worst['latency_avg_ms']:,.0f} ms)."
            )
    if len(data.traffic_hourly):
        peak = data.traffic_hourly.sort_values("rank_in_day").iloc[0]
        out.append(
            f"Peak hour: {pd.Timestamp(peak['hour_start']):%H}:00 UTC with "
            f"{int(peak['requests']):,} requests ({peak['share_of_day']:.1%} of the day)."
        )
    flagged = data.anomalies[
        pd.to_datetime(data.anomalies["hour_start"], utc=True).dt.floor("D") == day
    ]
    if len(flagged) and not len(data.incidents):
        out.append(f"{len(flagged)} anomalous series-hours, none starting an incident today.")
    if not len(flagged):
        out.append("No anomaly: every scored series stayed inside its forecast interval.")
    if len(data.quarantine):
        reasons = data.quarantine["reasons"].str.split("; ").explode().value_counts()
        out.append(
            f"{len(data.quarantine):,} records quarantined from "
            f"{data.quarantine['source_file'].nunique()} files; most common reason: "
            f"{reasons.index[0]} ({int(reasons.iloc[0]):,})."
        )
    return out


# ---------------------------------------------------------------------------------------------
# the page

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;
max-width:780px;color:#111827}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;
margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}figure{margin:12px 0}
figcaption{font-weight:600;margin-bottom:4px}svg{display:block;max-width:100%;height:auto}
svg text{font-size:11px;fill:#4b5563}table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}
.legend{font-size:12px;color:#4b5563}.key{margin-right:12px}.key i{display:inline-block;
width:10px;height:10px;margin-right:4px}.muted{color:#6b7280}.cards{display:flex;gap:12px;
flex-wrap:wrap}.card{border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:18px}
"""


def html_table(frame: pd.DataFrame, empty: str) -> str:
    """`frame` as an HTML table, every value escaped; `empty` as a muted line when it has no rows."""
    if frame.empty:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render(data: ReportData, *, generated_at: pd.Timestamp) -> str:
    """The whole page for `data.day`."""
    day = data.day
    start = day - pd.Timedelta(days=TREND_DAYS - 1)
    daily = data.endpoint_daily
    today = daily[pd.to_datetime(daily["day_start"], utc=True) == day].sort_values(
        "requests", ascending=False
    )
    endpoints = [(r.service, r.endpoint) for r in today.itertuples(index=False)]
    charts = []
    for service, endpoint in endpoints[:MAX_ENDPOINT_CHARTS]:
        charts.append(
            response_time_chart(
                data.forecasts, data.anomalies, service, endpoint, start, TREND_DAYS
            )
        )
    error_chart = error_rate_chart(data.forecasts, endpoints[: len(PALETTE)], start, TREND_DAYS)
    labels = [f"{e}" for _, e in endpoints]
    comparison = bar_chart(
        "endpoint-latency",
        "Endpoint comparison: average and p95 response time (ms)",
        labels,
        [
            ("average", today["latency_avg_ms"].fillna(0).tolist(), "#93c5fd"),
            ("p95", today["latency_p95_ms"].fillna(0).tolist(), "#1e40af"),
        ],
    )
    traffic = data.traffic_hourly.sort_values("hour_start")
    peak = {i for i, r in enumerate(traffic["rank_in_day"]) if r <= 3}
    traffic_chart = bar_chart(
        "hourly-traffic",
        "Requests per hour (UTC); the three peak hours darker",
        [f"{pd.Timestamp(h):%H}" for h in traffic["hour_start"]],
        [("requests", traffic["requests"].astype(float).tolist(), "#93c5fd")],
        highlight=peak,
    )
    shares = today[list(STATUS_COLOURS)].div(today["requests"].clip(lower=1), axis=0)
    status_chart = bar_chart(
        "status-mix",
        "Status mix per endpoint (share of requests)",
        labels,
        [(c.replace("status_", ""), shares[c].tolist(), STATUS_COLOURS[c]) for c in STATUS_COLOURS],
        percent=True,
        stacked=True,
    )
    reasons = (
        data.error_reasons.groupby("error_reason")["requests"].sum().sort_values(ascending=False)
        if len(data.error_reasons)
        else pd.Series(dtype="float64")
    ).head(10)
    reasons_chart = hbar_chart(
        "error-reasons",
        "Top error reasons (requests)",
        [str(r) for r in reasons.index],
        [float(v) for v in reasons.to_numpy()],
    )
    data.charts = [
        *(f"latency-{s}-{e}" for s, e in endpoints[:MAX_ENDPOINT_CHARTS]),
        "error-rate",
        "endpoint-latency",
        "hourly-traffic",
        "status-mix",
        "error-reasons",
    ]
    requests = int(today["requests"].sum()) if len(today) else 0
    errors = float((today["error_rate"] * today["requests"]).sum() / requests) if requests else 0.0
    flagged = data.anomalies[
        pd.to_datetime(data.anomalies["hour_start"], utc=True).dt.floor("D") == day
    ]
    cards = [
        ("requests", f"{requests:,}"),
        ("error rate", f"{errors:.2%}"),
        ("endpoints", f"{len(today)}"),
        ("anomalies", f"{len(flagged)}"),
        ("incidents", f"{len(data.incidents)}"),
        ("quarantined", f"{len(data.quarantine):,}"),
    ]
    shown = _with_feedback(data)
    if len(shown):  # partitions written before incidents listed them: the incident's own
        shown["endpoints"] = [", ".join(endpoints_of(r)) for r in shown.to_dict("records")]
    columns = [
        "service", "endpoints", "start", "end", "peak_severity", "metrics", "probable_cause",
        "impact", "status", "feedback", "muted",
    ]  # fmt: skip
    incidents = shown[[c for c in columns if c in shown]].copy() if len(shown) else pd.DataFrame()
    if len(incidents):
        for column in ("start", "end"):
            incidents[column] = pd.to_datetime(incidents[column], utc=True).dt.strftime("%H:%M")
    quarantine = (
        data.quarantine.assign(reason=data.quarantine["reasons"].str.split("; ").str[0])
        .groupby(["source_file", "reason"])
        .size()
        .rename("records")
        .reset_index()
        .sort_values("records", ascending=False)
        .head(20)
        if len(data.quarantine)
        else pd.DataFrame()
    )
    from transforms.log_report import log_section  # it draws with this module's charts

    logs_html, log_charts = log_section(
        data.log_levels, data.log_templates_minutely, data.log_templates, data.anomalies, day
    )
    data.charts += log_charts
    sentences = "".join(f"<li>{_e(s)}</li>" for s in insights(data))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>logcast daily report {day:%Y-%m-%d}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>logcast daily report: {day:%A %Y-%m-%d} (UTC)</h1>"
        f'<p class="muted">Generated {generated_at:%Y-%m-%d %H:%M} UTC. Trends cover '
        f"{start:%Y-%m-%d} to {day:%Y-%m-%d}.</p>"
        '<div class="cards">'
        + "".join(f'<div class="card">{_e(k)}<b>{_e(v)}</b></div>' for k, v in cards)
        + "</div>"
        f"<h2>Insights</h2><ul>{sentences}</ul>"
        "<h2>Incidents</h2>"
        + html_table(incidents, "No incident started this day.")
        + "<h2>Response time per endpoint</h2>"
        + ("".join(charts) or '<p class="muted">No forecast for this day yet.</p>')
        + "<h2>Error rate</h2>"
        + error_chart
        + "<h2>Endpoints compared</h2>"
        + comparison
        + "<h2>Traffic and peak hours</h2>"
        + traffic_chart
        + "<h2>Status mix</h2>"
        + status_chart
        + "<h2>Error reasons</h2>"
        + reasons_chart
        + logs_html
        + "<h2>Quarantine</h2>"
        + html_table(quarantine, "Nothing was quarantined this day.")
        + "</body></html>"
    )
