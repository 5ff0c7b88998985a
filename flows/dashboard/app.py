"""The Dash app: filters, the overview, incidents, pipeline health. Every view shows the SQL it
ran; every table downloads as CSV or Parquet; an interval re-reads the warehouse so new hours
appear without a restart."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update

from flows.dashboard import figures, queries
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
HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}

# The overview's views: (name, title, has a chart, has a table).
OVERVIEW = [
    ("traffic", "Requests and error rate per hour", True, True),
    ("percentiles", "Latency percentiles", True, False),
    ("latency", "p95 latency against its forecast", True, False),
    ("peaks", "Traffic by hour of day", True, False),
    ("status", "Status mix", True, False),
    ("regions", "Regions", True, True),
    ("reasons", "Top error reasons", True, True),
    ("levels", "Log levels", True, False),
    ("templates", "Top error templates", False, True),
    ("daily", "Per day", False, True),
]
TABLES = [n for n, _, _, table in OVERVIEW if table] + [
    "incidents", "window", "moved", "quarantine", "quality", "files", "runs",
]  # fmt: skip
"""Every table view: each downloads as CSV (the table's own button) and as Parquet."""

FIGURES = {
    "traffic": figures.traffic_figure,
    "percentiles": figures.percentiles_figure,
    "latency": figures.latency_figure,
    "peaks": figures.peaks_figure,
    "status": figures.status_figure,
    "regions": figures.regions_figure,
    "reasons": figures.reasons_figure,
    "levels": figures.levels_figure,
}
NOTHING = {
    "traffic": "No requests in these hours for this filter.",
    "percentiles": "No timed requests in these hours for this filter.",
    "latency": "No p95 latency forecast for these hours and endpoints yet (models are fitted "
    "on the first days of history).",
    "peaks": "No requests in these hours for this filter.",
    "status": "No request logged a status in these hours for this filter.",
    "regions": "No request logged a region in these hours.",
    "reasons": "No request logged an error reason in these hours for this filter.",
    "levels": "No service logs in these hours for this service: log levels appear where "
    "services' own logs are ingested.",
    "templates": "No ERROR or CRITICAL service-log events in these hours for this service.",
    "daily": "No whole-day rows for these hours yet (the daily rollup runs after each day).",
}
BROKEN_DOWN = {"region_hourly": {"traffic", "regions"}, "dimension_hourly": {"traffic"}}
"""The views a region or dimension filter narrows; the others say they cannot."""
TIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")


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


def parquet_bytes(rows: list[dict], columns: list[dict]) -> bytes:
    """A table view's rows as a Parquet file: the ISO time text of `_records` read back as
    UTC timestamps, the rest as pyarrow infers it."""
    frame = pd.DataFrame.from_records(rows, columns=[c["id"] for c in columns])
    for column in frame.columns:
        values = frame[column].dropna()
        if len(values) and all(isinstance(v, str) and TIME_TEXT.match(v) for v in values):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def _sql_box(name: str) -> html.Details:
    return html.Details(
        [html.Summary("SQL"), html.Pre(id=f"{name}-sql", style={"whiteSpace": "pre-wrap"})],
        className="sql",
    )


def _table(name: str, **extra) -> html.Div:
    return html.Div(
        [
            dash_table.DataTable(id=f"{name}-table", data=[], columns=[], **TABLE_STYLE, **extra),
            html.Button("Export Parquet", id=f"{name}-parquet", className="parquet"),
            dcc.Download(id=f"{name}-download"),
        ]
    )


def _view(name: str, title: str, chart: bool, table: bool) -> html.Div:
    body = ([dcc.Graph(id=name)] if chart else []) + ([_table(name)] if table else [])
    return html.Div(
        [
            html.H3(title),
            html.P(id=f"{name}-message", className="message", style={"fontStyle": "italic"}),
            html.Div(body, id=f"{name}-body"),
            _sql_box(name),
        ],
        id=f"{name}-view",
    )


def filters_for(
    newest: pd.Timestamp, preset: str, start_date: str | None, end_date: str | None,
    service: str | None, endpoint: str | None, region: str | None = None,
    dimension: str | None = None,
) -> Filters:  # fmt: skip
    """The hours, endpoints and breakdown the controls select: a preset counted back from the
    newest hour, or whole UTC days from `start_date` to `end_date`; `dimension` is the JSON
    pair [dimension, value] of the dimension control."""
    service = None if service in (None, ALL) else service
    endpoint = None if endpoint in (None, ALL) else endpoint
    region = None if region in (None, ALL) else region
    name, value = (None, None) if dimension in (None, ALL) else json.loads(dimension)
    if preset == "custom" and start_date and end_date:
        start = pd.Timestamp(start_date[:10], tz="UTC")
        end = pd.Timestamp(end_date[:10], tz="UTC") + pd.Timedelta(days=1)
        return Filters(start, end, service, endpoint, region, name, value)
    hours = queries.preset_filters(newest, "24h" if preset == "custom" else preset)
    return Filters(hours.start, hours.end, service, endpoint, region, name, value)


def lag_text(newest: pd.Timestamp, now: pd.Timestamp) -> str:
    lag = now - (newest + pd.Timedelta(hours=1))
    hours = max(lag, pd.Timedelta(0)) / pd.Timedelta(hours=1)
    return f"Newest hour {newest:%Y-%m-%d %H:00} UTC, {hours:,.1f} h behind now"


def totals_text(filters: Filters, traffic: pd.DataFrame, overall: pd.DataFrame | None) -> str:
    requests = int(traffic["requests"].sum()) if not traffic.empty else 0
    if not requests:
        return "No requests in these hours."
    errors = int(traffic["errors"].sum())
    text = (
        f"{filters.start:%Y-%m-%d %H:00} to {filters.end:%Y-%m-%d %H:00} UTC: "
        f"{requests:,} requests, error rate {errors / requests:.2%}"
    )
    if overall is not None and not overall.empty:
        p50, p95, p99 = (overall[c].iloc[0] for c in queries.PERCENTILES)
        text += f", latency p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, p99 {p99:,.0f} ms"
    return text


def section(title: str, *children) -> html.Section:
    return html.Section([html.H2(title), *children], style={"marginBottom": "2em"})


def _dropdown(name: str, placeholder: str, width: int, **extra) -> dcc.Dropdown:
    return dcc.Dropdown(id=name, placeholder=placeholder, value=ALL, clearable=False,
                        style={"width": width}, **extra)  # fmt: skip


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
            _dropdown("service", "every service", 200),
            _dropdown("endpoint", "every endpoint", 300),
            _dropdown("region", "every region", 180),
            html.Div(_dropdown("dimension", "every dimension value", 260), id="dimension-box"),
        ],
        style={"display": "flex", "gap": "1em", "alignItems": "center", "flexWrap": "wrap"},
    )
    overview = section(
        "Overview",
        html.Div(id="totals"),
        html.P(id="filter-problem", style={"color": "crimson"}),
        *(_view(*spec) for spec in OVERVIEW),
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
        html.H3("What moved: the window's mix against the 24 hours before"),
        _table("moved"),
        _sql_box("moved"),
    )
    health = section(
        "Pipeline health",
        html.P(id="lag"),
        html.H3("Quality checks"),
        _table("quality"),
        _sql_box("quality"),
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
            html.P(id="empty", children=EMPTY_MESSAGE, style=HIDDEN),
            html.Div([controls, overview, incidents, health], id="content"),
        ],
        style={"fontFamily": "sans-serif", "margin": "1em 2em"},
    )


def overview_outputs() -> list[tuple[str, str]]:
    """The (component, property) pairs the overview callback fills, in order."""
    out = [("totals", "children"), ("filter-problem", "children")]
    for name, _, chart, table in OVERVIEW:
        out += [(f"{name}-message", "children"), (f"{name}-body", "style"), (f"{name}-sql", "children")]  # fmt: skip
        out += [(name, "figure")] if chart else []
        out += [(f"{name}-table", "data"), (f"{name}-table", "columns")] if table else []
    return out


def overview(warehouse: Path, filters: Filters) -> dict[tuple[str, str], object]:
    """Every overview view for `filters`: its chart or table, its SQL, and a sentence instead
    when it has nothing to show."""
    problem = queries.filter_problem(filters)
    runs: dict[str, Callable[[], queries.Result]] = {
        "traffic": lambda: queries.traffic(warehouse, filters),
        "percentiles": lambda: queries.percentiles(warehouse, filters),
        "latency": lambda: queries.latency_band(warehouse, filters),
        "peaks": lambda: queries.peak_hours(warehouse, filters),
        "status": lambda: queries.status_mix(warehouse, filters),
        "regions": lambda: queries.regions(warehouse, filters),
        "reasons": lambda: queries.error_reasons(warehouse, filters),
        "levels": lambda: queries.log_levels(warehouse, filters),
        "templates": lambda: queries.error_templates(warehouse, filters),
        "daily": lambda: queries.daily(warehouse, filters),
    }
    narrowed = BROKEN_DOWN.get(filters.breakdown or "", set())
    values: dict[tuple[str, str], object] = {("filter-problem", "children"): problem or ""}
    frames: dict[str, pd.DataFrame] = {}
    for name, _, chart, table in OVERVIEW:
        frame, sql, message = pd.DataFrame(), "", None
        if problem:
            message = problem
        elif filters.breakdown and name not in narrowed:
            message = queries.not_broken_down(filters)
        elif name == "regions" and (filters.service or filters.endpoint):
            message = (
                "Regions are counted over every service (region_hourly has no service or "
                "endpoint): clear the service and endpoint to see them."
            )
        else:
            frame, sql = runs[name]()
            if frame.empty:
                message = NOTHING[name]
        frames[name] = frame
        values[(f"{name}-message", "children")] = message or ""
        values[(f"{name}-body", "style")] = HIDDEN if message else SHOWN
        values[(f"{name}-sql", "children")] = sql
        if chart:
            values[(name, "figure")] = FIGURES[name](frame) if not message else no_update
        if table:
            data, columns = _records(frame)
            values[(f"{name}-table", "data")] = data
            values[(f"{name}-table", "columns")] = columns
    overall = None
    if not problem and not filters.breakdown:
        overall, _ = queries.range_percentiles(warehouse, filters)
    values[("totals", "children")] = totals_text(filters, frames["traffic"], overall)
    return values


def create_app(
    warehouse: Path,
    catalog_url: str,
    *,
    refresh_seconds: int = 60,
    now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
) -> Dash:
    """The dashboard over `warehouse` (its Parquet tables, read through DuckDB views) and the
    catalog at `catalog_url` (runs, files, quality checks)."""
    app = Dash(__name__, title="logcast dashboard", update_title=None)
    app.layout = layout(refresh_seconds)

    @app.callback(
        Output("empty", "style"),
        Output("content", "style"),
        Output("service", "options"),
        Output("region", "options"),
        Output("dimension", "options"),
        Output("dimension-box", "style"),
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
            return (*[no_update] * 6, lag_text(newest, now()), no_update)
        newest = queries.newest_hour(warehouse)
        data = {"files": stamp, "newest": None if newest is None else newest.isoformat()}
        if newest is None:
            return SHOWN, HIDDEN, [], [], [], HIDDEN, "", data
        frame, _ = queries.series(warehouse)
        services = [{"label": "every service", "value": ALL}] + [
            {"label": s, "value": s} for s in sorted(frame["service"].dropna().unique())
        ]
        choices, _ = queries.breakdowns(warehouse)
        regions = [{"label": "every region", "value": ALL}] + [
            {"label": r, "value": r}
            for r in choices.loc[choices["kind"] == "region", "dimension"].dropna()
        ]
        dimensions = choices[choices["kind"] == "dimension"]
        dimension_options = [{"label": "every dimension value", "value": ALL}] + [
            {"label": f"{d} = {v}", "value": json.dumps([d, v])}
            for d, v in zip(dimensions["dimension"], dimensions["value"], strict=True)
        ]
        return (
            HIDDEN, SHOWN, services, regions, dimension_options,
            SHOWN if len(dimensions) else HIDDEN, lag_text(newest, now()), data,
        )  # fmt: skip

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

    controls = [
        Input("range", "value"), Input("days", "start_date"), Input("days", "end_date"),
        Input("service", "value"), Input("endpoint", "value"), Input("region", "value"),
        Input("dimension", "value"), Input("stamp", "data"),
    ]  # fmt: skip
    outputs = overview_outputs()

    @app.callback([Output(c, p) for c, p in outputs], controls)
    def overview_views(preset, start_date, end_date, service, endpoint, region, dimension, _):
        newest = queries.newest_hour(warehouse) or now().floor("h")
        filters = filters_for(
            newest, preset, start_date, end_date, service, endpoint, region, dimension
        )
        values = overview(warehouse, filters)
        return [values[key] for key in outputs]

    @app.callback(
        Output("incidents-table", "data"), Output("incidents-table", "columns"),
        Output("incidents-sql", "children"), Output("incidents-table", "selected_rows"),
        Output("quality-table", "data"), Output("quality-table", "columns"),
        Output("quality-sql", "children"),
        Output("quarantine-table", "data"), Output("quarantine-table", "columns"),
        Output("quarantine-sql", "children"),
        Output("files-table", "data"), Output("files-table", "columns"),
        Output("files-sql", "children"),
        Output("runs-table", "data"), Output("runs-table", "columns"),
        Output("runs-sql", "children"),
        *controls,
        State("incidents-table", "selected_rows"), State("incidents-table", "data"),
    )  # fmt: skip
    def incidents_and_health(
        preset, start_date, end_date, service, endpoint, region, dimension, _, selected, shown
    ):
        newest = queries.newest_hour(warehouse) or now().floor("h")
        filters = filters_for(
            newest, preset, start_date, end_date, service, endpoint, region, dimension
        )
        incidents, incidents_sql = queries.incidents(warehouse, filters)
        quality, quality_sql = queries.quality_checks(catalog_url)
        quarantine, quarantine_sql = queries.quarantine_reasons(warehouse)
        files, files_sql = queries.files_ingested(catalog_url)
        runs, runs_sql = queries.last_runs(catalog_url)
        # keep the selected incident selected across refreshes, by its id
        kept = []
        if selected and shown and selected[0] < len(shown):
            chosen = shown[selected[0]]["incident_id"]
            kept = [i for i, v in enumerate(incidents["incident_id"]) if v == chosen]
        return (
            *_records(incidents), incidents_sql, kept,
            *_records(quality), quality_sql,
            *_records(quarantine), quarantine_sql,
            *_records(files), files_sql,
            *_records(runs), runs_sql,
        )  # fmt: skip

    @app.callback(
        Output("incident-detail", "children"),
        Output("window", "figure"),
        Output("window-table", "data"), Output("window-table", "columns"),
        Output("window-sql", "children"),
        Output("moved-table", "data"), Output("moved-table", "columns"),
        Output("moved-sql", "children"),
        Input("incidents-table", "selected_rows"),
        State("incidents-table", "data"),
    )  # fmt: skip
    def incident(selected, rows):
        if not selected or not rows or selected[0] >= len(rows):
            empty = figures.window_figure(_empty_window())
            return "No incident selected.", empty, [], [], "", [], [], ""
        row = rows[selected[0]]
        frame, sql = queries.incident_window(warehouse, row["incident_id"])
        moved, moved_sql = queries.incident_dimensions(warehouse, row["incident_id"])
        detail = html.Div(
            [
                html.H3(f"{row['service']} {row['endpoint']}: {row['peak_severity']}, {row['status']}"),
                html.P(f"Status {row['status']}, peak severity {row['peak_severity']}, "
                       f"{row['start']} to {row['end']} ({row['hours']} h); metrics: {row['metrics']}",
                       id="incident-status"),
                html.P(f"Endpoints: {row.get('endpoints') or row['endpoint']}"),
                html.P(f"Probable cause: {row['probable_cause'] or 'none found'}", id="cause"),
                html.P(f"Attribution: {row.get('attribution') or 'no significant move'}"),
                html.P(f"Impact: {row.get('impact') or 'none on the totals'}"),
            ]
        )  # fmt: skip
        return (
            detail, figures.window_figure(frame), *_records(frame), sql,
            *_records(moved), moved_sql,
        )  # fmt: skip

    for name in TABLES:
        _parquet_download(app, name)

    return app


def _parquet_download(app: Dash, name: str) -> None:
    @app.callback(
        Output(f"{name}-download", "data"),
        Input(f"{name}-parquet", "n_clicks"),
        State(f"{name}-table", "data"),
        State(f"{name}-table", "columns"),
        prevent_initial_call=True,
    )
    def download(_, rows, columns):
        content = parquet_bytes(rows or [], columns or [])
        return dcc.send_bytes(content, f"{name}.parquet")


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
