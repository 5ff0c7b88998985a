"""The Dash app: filters, the overview, incidents, pipeline health. Every view shows the SQL it
ran; every table downloads as CSV; an interval re-reads the warehouse so new hours appear
without a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update

from flows.dashboard import queries
from flows.dashboard.queries import Filters

ALL = "__all__"
EMPTY_MESSAGE = (
    "The warehouse has no hours with metrics yet: land some logs and run `logcast run` "
    "(or `logcast demo`), and this page fills in by itself."
)
TABLE_STYLE = {
    "style_table": {"overflowX": "auto"},
    "style_cell": {"fontFamily": "monospace", "fontSize": 12, "textAlign": "left",
                   "maxWidth": 420, "overflow": "hidden", "textOverflow": "ellipsis"},
    "style_header": {"fontWeight": "bold"},
    "page_size": 15,
    "export_format": "csv",
    "export_headers": "names",
}  # fmt: skip


def _records(frame: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """A frame as DataTable rows (times as ISO text) and columns."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(
            out[column].dtype, pd.DatetimeTZDtype
        ) or pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: None if pd.isna(t) else t.isoformat())
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records"), [{"name": c, "id": c} for c in out.columns]


def _sql_box(name: str) -> html.Details:
    return html.Details(
        [html.Summary("SQL"), html.Pre(id=f"{name}-sql", style={"whiteSpace": "pre-wrap"})],
        className="sql",
    )


def _table(name: str, **extra) -> dash_table.DataTable:
    return dash_table.DataTable(id=f"{name}-table", data=[], columns=[], **TABLE_STYLE, **extra)


def _figure(title: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        title=title, margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320,
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


def status_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("Status mix")
    figure.add_bar(x=frame["status_code"].astype(str), y=frame["requests"], name="requests")
    figure.update_layout(xaxis={"type": "category", "title": "status code"})
    return figure


def window_figure(frame: pd.DataFrame) -> go.Figure:
    figure = _figure("The incident's window, per minute")
    figure.add_bar(x=frame["minute_start"], y=frame["requests"], name="requests")
    figure.add_bar(x=frame["minute_start"], y=frame["errors"], name="errors")
    figure.update_layout(barmode="overlay")
    return figure


def filters_for(
    newest: pd.Timestamp, preset: str, start_date: str | None, end_date: str | None,
    service: str | None, endpoint: str | None,
) -> Filters:  # fmt: skip
    """The hours and endpoints the controls select: a preset counted back from the newest
    hour, or whole UTC days from `start_date` to `end_date`."""
    service = None if service in (None, ALL) else service
    endpoint = None if endpoint in (None, ALL) else endpoint
    if preset == "custom" and start_date and end_date:
        start = pd.Timestamp(start_date[:10], tz="UTC")
        end = pd.Timestamp(end_date[:10], tz="UTC") + pd.Timedelta(days=1)
        return Filters(start, end, service, endpoint)
    return queries.preset_filters(
        newest, "24h" if preset == "custom" else preset, service, endpoint
    )


def lag_text(newest: pd.Timestamp, now: pd.Timestamp) -> str:
    lag = now - (newest + pd.Timedelta(hours=1))
    hours = max(lag, pd.Timedelta(0)) / pd.Timedelta(hours=1)
    return f"Newest hour {newest:%Y-%m-%d %H:00} UTC, {hours:,.1f} h behind now"


def section(title: str, *children) -> html.Section:
    return html.Section([html.H2(title), *children], style={"marginBottom": "2em"})


def layout(refresh_seconds: int) -> html.Div:
    controls = html.Div(
        [
            dcc.RadioItems(
                id="range",
                options=[
                    {"label": " last 24 h", "value": "24h"},
                    {"label": " 7 d", "value": "7d"},
                    {"label": " 30 d", "value": "30d"},
                    {"label": " custom", "value": "custom"},
                ],
                value="7d",
                inline=True,
                inputStyle={"marginLeft": "1em"},
            ),  # fmt: skip
            dcc.DatePickerRange(id="days", display_format="YYYY-MM-DD"),
            dcc.Dropdown(
                id="service",
                placeholder="every service",
                value=ALL,
                clearable=False,
                style={"width": 220},
            ),  # fmt: skip
            dcc.Dropdown(
                id="endpoint",
                placeholder="every endpoint",
                value=ALL,
                clearable=False,
                style={"width": 320},
            ),  # fmt: skip
        ],
        style={"display": "flex", "gap": "1em", "alignItems": "center", "flexWrap": "wrap"},
    )
    overview = section(
        "Overview",
        html.Div(id="totals"),
        dcc.Graph(id="traffic"),
        dcc.Graph(id="latency"),
        _sql_box("latency"),
        dcc.Graph(id="status"),
        _sql_box("status"),
        html.H3("Per hour"),
        _table("traffic"),
        _sql_box("traffic"),
    )
    incidents = section(
        "Incidents",
        html.P("Open and recent; select one to see its window minute by minute."),
        _table("incidents", row_selectable="single", selected_rows=[]),
        _sql_box("incidents"),
        html.Div(id="incident-detail"),
        dcc.Graph(id="window"),
        _table("window"),
        _sql_box("window"),
    )
    health = section(
        "Pipeline health",
        html.P(id="lag"),
        html.H3("Quarantine by reason"),
        _table("quarantine"),
        _sql_box("quarantine"),
        html.H3("Files ingested"),
        _table("files"),
        _sql_box("files"),
        html.H3("Last runs"),
        _table("runs"),
        _sql_box("runs"),
    )
    return html.Div(
        [
            html.H1("logcast"),
            dcc.Interval(id="tick", interval=refresh_seconds * 1000),
            dcc.Store(id="stamp"),
            html.P(id="empty", children=EMPTY_MESSAGE, style={"display": "none"}),
            html.Div([controls, overview, incidents, health], id="content"),
        ],
        style={"fontFamily": "sans-serif", "margin": "1em 2em"},
    )


def create_app(
    warehouse: Path,
    catalog_url: str,
    *,
    refresh_seconds: int = 60,
    now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
) -> Dash:
    """The dashboard over `warehouse` (its Parquet tables, read through DuckDB views) and the
    catalog at `catalog_url` (runs, files)."""
    app = Dash(__name__, title="logcast dashboard", update_title=None)
    app.layout = layout(refresh_seconds)

    @app.callback(
        Output("empty", "style"),
        Output("content", "style"),
        Output("service", "options"),
        Output("lag", "children"),
        Output("stamp", "data"),
        Input("tick", "n_intervals"),
        State("stamp", "data"),
    )
    def refresh(_, previous):
        """Re-reads the warehouse only when its files changed: the views hang off `stamp`."""
        stamp = warehouse_stamp(warehouse)
        if previous and previous["files"] == stamp and previous["newest"]:
            newest = pd.Timestamp(previous["newest"])
            return no_update, no_update, no_update, lag_text(newest, now()), no_update
        newest = queries.newest_hour(warehouse)
        data = {"files": stamp, "newest": None if newest is None else newest.isoformat()}
        if newest is None:
            return {"display": "block"}, {"display": "none"}, [], "", data
        frame, _ = queries.series(warehouse)
        services = [{"label": "every service", "value": ALL}] + [
            {"label": s, "value": s} for s in sorted(frame["service"].dropna().unique())
        ]
        return {"display": "none"}, {"display": "block"}, services, lag_text(newest, now()), data

    @app.callback(Output("endpoint", "options"), Input("service", "value"), Input("stamp", "data"))
    def endpoints(service, _):
        if queries.newest_hour(warehouse) is None:
            return []
        frame, _ = queries.series(warehouse)
        if service not in (None, ALL):
            frame = frame[frame["service"] == service]
        return [{"label": "every endpoint", "value": ALL}] + [
            {"label": e, "value": e} for e in sorted(frame["endpoint"].dropna().unique())
        ]

    @app.callback(
        Output("totals", "children"),
        Output("traffic", "figure"), Output("traffic-table", "data"),
        Output("traffic-table", "columns"), Output("traffic-sql", "children"),
        Output("latency", "figure"), Output("latency-sql", "children"),
        Output("status", "figure"), Output("status-sql", "children"),
        Output("incidents-table", "data"), Output("incidents-table", "columns"),
        Output("incidents-sql", "children"), Output("incidents-table", "selected_rows"),
        Output("quarantine-table", "data"), Output("quarantine-table", "columns"),
        Output("quarantine-sql", "children"),
        Output("files-table", "data"), Output("files-table", "columns"),
        Output("files-sql", "children"),
        Output("runs-table", "data"), Output("runs-table", "columns"),
        Output("runs-sql", "children"),
        Input("range", "value"), Input("days", "start_date"), Input("days", "end_date"),
        Input("service", "value"), Input("endpoint", "value"), Input("stamp", "data"),
        State("incidents-table", "selected_rows"), State("incidents-table", "data"),
    )  # fmt: skip
    def views(preset, start_date, end_date, service, endpoint, _, selected, shown):
        newest = queries.newest_hour(warehouse)
        if newest is None:
            newest = now().floor("h")
        filters = filters_for(newest, preset, start_date, end_date, service, endpoint)
        traffic, traffic_sql = queries.traffic(warehouse, filters)
        latency, latency_sql = queries.latency_band(warehouse, filters)
        status, status_sql = queries.status_mix(warehouse, filters)
        incidents, incidents_sql = queries.incidents(warehouse, filters)
        quarantine, quarantine_sql = queries.quarantine_reasons(warehouse)
        files, files_sql = queries.files_ingested(catalog_url)
        runs, runs_sql = queries.last_runs(catalog_url)
        requests = int(traffic["requests"].sum()) if not traffic.empty else 0
        errors = int(traffic["errors"].sum()) if not traffic.empty else 0
        totals = (
            f"{filters.start:%Y-%m-%d %H:00} to {filters.end:%Y-%m-%d %H:00} UTC: "
            f"{requests:,} requests, error rate {errors / requests:.2%}"
            if requests
            else "No requests in these hours."
        )
        # keep the selected incident selected across refreshes, by its id
        kept = []
        if selected and shown and selected[0] < len(shown):
            chosen = shown[selected[0]]["incident_id"]
            kept = [i for i, v in enumerate(incidents["incident_id"]) if v == chosen]
        return (
            totals,
            traffic_figure(traffic), *_records(traffic), traffic_sql,
            latency_figure(latency), latency_sql,
            status_figure(status), status_sql,
            *_records(incidents), incidents_sql, kept,
            *_records(quarantine), quarantine_sql,
            *_records(files), files_sql,
            *_records(runs), runs_sql,
        )  # fmt: skip

    @app.callback(
        Output("incident-detail", "children"),
        Output("window", "figure"),
        Output("window-table", "data"),
        Output("window-table", "columns"),
        Output("window-sql", "children"),
        Input("incidents-table", "selected_rows"),
        State("incidents-table", "data"),
    )
    def incident(selected, rows):
        if not selected or not rows or selected[0] >= len(rows):
            return "No incident selected.", window_figure(_empty_window()), [], [], ""
        row = rows[selected[0]]
        frame, sql = queries.incident_window(warehouse, row["incident_id"])
        detail = html.Div(
            [
                html.H3(f"{row['service']} {row['endpoint']}: {row['peak_severity']}, {row['status']}"),
                html.P(f"{row['start']} to {row['end']} ({row['hours']} h); metrics: {row['metrics']}"),
                html.P(f"Endpoints: {row.get('endpoints') or row['endpoint']}"),
                html.P(f"Probable cause: {row['probable_cause'] or 'none found'}", id="cause"),
                html.P(f"Attribution: {row.get('attribution') or 'no significant move'}"),
                html.P(f"Impact: {row.get('impact') or 'none on the totals'}"),
            ]
        )  # fmt: skip
        return detail, window_figure(frame), *_records(frame), sql

    return app


def warehouse_stamp(root: Path) -> str:
    """What changes when a partition is written: the number of Parquet files and the newest
    modification time among them."""
    count, newest = 0, 0
    for path in root.rglob("*.parquet"):
        try:
            newest = max(newest, path.stat().st_mtime_ns)
        except FileNotFoundError:  # replaced while we looked: the next refresh sees it
            continue
        count += 1
    return f"{count}:{newest}"


def _empty_window() -> pd.DataFrame:
    return pd.DataFrame({"minute_start": [], "requests": [], "errors": []})
