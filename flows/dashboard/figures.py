"""The dashboard's charts: plotly figures of the query results, one function per view."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

LEVEL_COLOURS = {"DEBUG": "#9e9e9e", "INFO": "#1f77b4", "WARNING": "#ff9800", "WARN": "#ff9800",
                 "ERROR": "#d62728", "CRITICAL": "#7b1fa2", "FATAL": "#7b1fa2"}  # fmt: skip


def _figure(title: str, height: int = 320) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        title=title, margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=height,
        legend={"orientation": "h"}, template="plotly_white",
    )  # fmt: skip
    return figure


def traffic_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Requests and error rate per hour")
    figure.add_bar(x=frame["hour_start"], y=frame["requests"], name="requests")
    figure.add_scatter(
        x=frame["hour_start"], y=frame["error_rate"], name="error rate", yaxis="y2",
        mode="lines", line={"color": "crimson"},
    )  # fmt: skip
    figure.update_layout(
        yaxis={"title": "requests"},
        yaxis2={"title": "error rate", "overlaying": "y", "side": "right", "tickformat": ".1%"},
    )
    return figure


def percentiles_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Latency p50 / p95 / p99 per hour (ms)")
    for column, name, colour in [
        ("latency_p50_ms", "p50", "seagreen"),
        ("latency_p95_ms", "p95", "darkorange"),
        ("latency_p99_ms", "p99", "crimson"),
    ]:
        figure.add_scatter(x=frame["hour_start"], y=frame[column], mode="lines", name=name,
                           line={"color": colour})  # fmt: skip
    figure.update_layout(yaxis={"title": "ms", "rangemode": "tozero"})
    return figure


def latency_figure(frame: pd.DataFrame) -> go.Figure:
    label = "" if frame.empty else f" of {frame['service'].iloc[0]} {frame['endpoint'].iloc[0]}"
    figure = _figure(f"p95 latency{label} (ms) with its 99 % forecast band")
    x = frame["hour_start"]
    figure.add_scatter(x=x, y=frame["yhat_upper"], mode="lines", line={"width": 0},
                       name="forecast upper", showlegend=False)  # fmt: skip
    figure.add_scatter(x=x, y=frame["yhat_lower"], mode="lines", line={"width": 0},
                       fill="tonexty", fillcolor="rgba(31,119,180,0.2)", name="forecast band")  # fmt: skip
    figure.add_scatter(x=x, y=frame["yhat"], mode="lines", name="forecast",
                       line={"dash": "dot", "color": "steelblue"})  # fmt: skip
    figure.add_scatter(x=x, y=frame["latency_p95_ms"], mode="lines", name="p95",
                       line={"color": "black"})  # fmt: skip
    flagged = frame[frame["is_anomaly"].fillna(False).astype(bool)]
    figure.add_scatter(x=flagged["hour_start"], y=flagged["latency_p95_ms"], mode="markers",
                       name="anomaly", marker={"color": "red", "size": 10, "symbol": "x"})  # fmt: skip
    return figure


def peaks_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Traffic by hour of day (UTC): mean requests; the peak hours darker")
    peak = frame["days_peak"] > 0
    figure.add_bar(
        x=frame["hour_of_day"].tolist(), y=frame["mean_requests"], name="mean requests",
        marker={"color": ["#08306b" if p else "#9ecae1" for p in peak]},
        customdata=frame["days_peak"],
        hovertemplate="%{x}:00 UTC: %{y:,.0f} requests, busiest hour on %{customdata} days"
        "<extra></extra>",
    )  # fmt: skip
    figure.update_layout(xaxis={"title": "hour of day", "dtick": 1}, yaxis={"title": "requests"})
    return figure


def status_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Status mix")
    figure.add_bar(x=frame["status_code"].astype(str), y=frame["requests"], name="requests")
    figure.update_layout(xaxis={"type": "category", "title": "status code"})
    return figure


def regions_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Requests and error rate by region")
    figure.add_bar(x=frame["region"], y=frame["requests"], name="requests")
    figure.add_scatter(x=frame["region"], y=frame["error_rate"], name="error rate", yaxis="y2",
                       mode="markers", marker={"color": "crimson", "size": 10})  # fmt: skip
    figure.update_layout(
        xaxis={"type": "category"}, yaxis={"title": "requests"},
        yaxis2={"title": "error rate", "overlaying": "y", "side": "right", "tickformat": ".1%"},
    )  # fmt: skip
    return figure


def reasons_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Top error reasons")
    ordered = frame.iloc[::-1]
    figure.add_bar(y=ordered["error_reason"], x=ordered["requests"], orientation="h",
                   name="requests", marker={"color": "indianred"})  # fmt: skip
    figure.update_layout(yaxis={"type": "category"}, xaxis={"title": "requests"})
    return figure


def levels_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Service-log events per hour by level")
    for level, rows in frame.groupby("level", sort=True):
        figure.add_bar(x=rows["hour_start"], y=rows["events"], name=str(level),
                       marker={"color": LEVEL_COLOURS.get(str(level).upper())})  # fmt: skip
    figure.update_layout(barmode="stack", yaxis={"title": "events"})
    return figure


def window_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("The incident's window, per minute")
    figure.add_bar(x=frame["minute_start"], y=frame["requests"], name="requests")
    figure.add_bar(x=frame["minute_start"], y=frame["errors"], name="errors")
    figure.update_layout(barmode="overlay")
    return figure
