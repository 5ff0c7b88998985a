"""Anomalies of service logs: the hourly ERROR + CRITICAL series each service's errors are
forecast and scored on (like the request metrics), the hourly event counts of each service's
chosen templates, scored the same way (`template_count`), and the templates first seen at
WARNING or above (`new_pattern`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from schemas.common import empty_frame
from schemas.forecasts import Anomaly
from schemas.metrics import LogLevelsMinutely as LL
from schemas.templates import LogTemplates as LT
from schemas.templates import LogTemplatesMinutely as LTM

LOG_ENDPOINT = "(logs)"
"""Endpoint of a service's log series and log anomalies: service logs have no endpoint, and a
name no normalised endpoint can take keeps them apart from the request series."""
LOG_ERRORS = "log_errors"
"""Metric and anomaly kind of a service's ERROR + CRITICAL events per hour."""
NEW_PATTERN = "new_pattern"
"""Anomaly kind of a template first seen at WARNING or above; its metric is
`new_pattern:<template_id>`."""
TEMPLATE_COUNT = "template_count"
"""Anomaly kind of a template whose events per hour left their forecast; its metric is
`template:<template_id>`."""
TEMPLATE_METRIC = "template:"
"""Prefix of the metric of a template's events per hour."""
ERROR_LEVELS = ("ERROR", "CRITICAL")
ALERT_LEVELS = ("WARNING", "ERROR", "CRITICAL")
_PATTERN_SEVERITY = {
    "WARNING": ("medium", 0.95),
    "ERROR": ("high", 0.99),
    "CRITICAL": ("high", 0.99),
}
HOUR = pd.Timedelta(hours=1)


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.as_unit("us")


def log_error_series(
    log_levels_minutely: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
    services: tuple[str, ...] | list[str] = (),
    from_first_event: bool = True,
) -> pd.DataFrame:
    """metric_series rows (hour_start, service, endpoint, metric, value) of each service's
    ERROR + CRITICAL events per hour of `hours`: 0 in an hour without one. The services are
    those that logged a level in the rows, and `services`. With `from_first_event` a service's
    series starts at its first logged event among the rows (hours before it are no history
    of its behaviour)."""
    columns = ["hour_start", "service", "endpoint", "metric", "value"]
    hours = pd.DatetimeIndex(hours)
    hours = (hours.tz_localize("UTC") if hours.tz is None else hours).as_unit("us")
    frame = log_levels_minutely
    hour = _utc(frame[LL.minute_start]).dt.floor("h") if len(frame) else pd.Series(dtype=object)
    logged = frame.assign(hour_start=hour)
    names = sorted({*logged[LL.service].astype(str), *map(str, services)})
    if not names or not len(hours):
        return _empty_series(columns)
    errors = logged[logged[LL.level].astype(str).str.upper().isin(ERROR_LEVELS)]
    counts = errors.groupby(["hour_start", LL.service], observed=True)[LL.events].sum()
    first = logged.groupby(LL.service, observed=True)["hour_start"].min()
    parts = []
    for service in names:
        own = hours
        if from_first_event and service in first.index:
            own = hours[hours >= first[service]]
        values = [float(counts.get((h, service), 0)) for h in own]
        parts.append(pd.DataFrame({"hour_start": own, "service": service, "value": values}))
    long = pd.concat(parts, ignore_index=True)
    long["endpoint"] = LOG_ENDPOINT
    long["metric"] = LOG_ERRORS
    long["value"] = long["value"].astype("float64")
    return long.sort_values(["service", "hour_start"], ignore_index=True)[columns]


def _empty_series(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    frame["hour_start"] = pd.Series(dtype="datetime64[us, UTC]")
    frame["value"] = pd.Series(dtype="float64")
    return frame[columns]


def with_log_kinds(anomalies: pd.DataFrame) -> pd.DataFrame:
    """Anomaly rows with kind `log_errors` for the scored log error series and
    `template_count` for the scored template counts."""
    out = anomalies.copy()
    out.loc[out[Anomaly.metric] == LOG_ERRORS, Anomaly.kind] = LOG_ERRORS
    counted = out[Anomaly.metric].astype(str).str.startswith(TEMPLATE_METRIC)
    out.loc[counted, Anomaly.kind] = TEMPLATE_COUNT
    return out


def template_metric(template_id: str) -> str:
    """The metric of a template's events per hour: `template:<template_id>`."""
    return f"{TEMPLATE_METRIC}{template_id}"


def counted_template_of(metric: str) -> str | None:
    """The template id of a `template:<template_id>` metric, else None."""
    return metric[len(TEMPLATE_METRIC) :] if metric.startswith(TEMPLATE_METRIC) else None


def _first_hours(
    log_templates_minutely: pd.DataFrame, log_templates: pd.DataFrame | None
) -> dict[tuple[str, str], pd.Timestamp]:
    """(service, template_id) -> the hour of its first event: `first_seen` of `log_templates`,
    else its first minute among the minutely rows."""
    first: dict[tuple[str, str], pd.Timestamp] = {}
    m = log_templates_minutely
    if len(m):
        hour = _utc(m[LTM.minute_start]).dt.floor("h")
        keys = [m[LTM.service].astype(str), m[LTM.template_id].astype(str)]
        first.update(hour.groupby(keys).min().to_dict())
    if log_templates is not None and len(log_templates):
        t = log_templates
        hours = _utc(t[LT.first_seen]).dt.floor("h")
        keys = zip(t[LT.service].astype(str), t[LT.template_id].astype(str), strict=True)
        first.update(dict(zip(keys, hours, strict=True)))
    return first


def counted_templates(
    log_templates_minutely: pd.DataFrame,
    log_templates: pd.DataFrame | None,
    *,
    trained_through: pd.Timestamp,
    limit: int,
    min_history: pd.Timedelta,
) -> list[tuple[str, str]]:
    """(service, template_id) of the templates whose events per hour get a model, chosen from
    the minutely rows of the training window: per service, the `limit` templates with most
    events there, and up to `limit` more among those that logged at WARNING or above (most
    such events first); ties by template id. A template first seen (`first_seen` of
    `log_templates`, else its first row) less than `min_history` before `trained_through` is
    skipped: too little history to forecast (a new one at WARNING or above is a new_pattern).
    Sorted by service and template id."""
    m = log_templates_minutely
    if m.empty or limit <= 0:
        return []
    trained_through = pd.Timestamp(trained_through)
    trained_through = (
        trained_through.tz_localize("UTC") if trained_through.tzinfo is None else trained_through
    )
    first = _first_hours(m, log_templates)
    frame = pd.DataFrame(
        {
            "service": m[LTM.service].astype(str).to_numpy(),
            "template_id": m[LTM.template_id].astype(str).to_numpy(),
            "events": m[LTM.events].astype("int64").to_numpy(),
            "alert": m[LTM.level].astype(str).str.upper().isin(ALERT_LEVELS).to_numpy(),
        }
    )
    frame["alert_events"] = frame["events"].where(frame["alert"], 0)
    totals = frame.groupby(["service", "template_id"], sort=True)[["events", "alert_events"]].sum()
    totals = totals.reset_index()
    since = [first[(s, t)] for s, t in zip(totals["service"], totals["template_id"], strict=True)]
    totals = totals[pd.Series(since, index=totals.index) <= trained_through - min_history]
    chosen: set[tuple[str, str]] = set()
    for service, own in totals.groupby("service", sort=True):
        busiest = own.sort_values(["events", "template_id"], ascending=[False, True])
        chosen.update((service, t) for t in busiest["template_id"].head(limit))
        alerting = own[own["alert_events"] > 0]
        alerting = alerting.sort_values(["alert_events", "template_id"], ascending=[False, True])
        chosen.update((service, t) for t in alerting["template_id"].head(limit))
    return sorted(chosen)


def template_count_series(
    log_templates_minutely: pd.DataFrame,
    log_templates: pd.DataFrame | None,
    *,
    hours: pd.DatetimeIndex,
    templates: list[tuple[str, str]] | tuple[tuple[str, str], ...],
) -> pd.DataFrame:
    """metric_series rows (hour_start, service, endpoint, metric, value) of each (service,
    template_id) of `templates`: its events per hour of `hours`, at any level, 0 in an hour
    without one; metric `template:<template_id>`, endpoint "(logs)". A template's series
    starts at the hour of its first event (`first_seen` of `log_templates`, else its first
    row): the hours before it are no history of its behaviour."""
    columns = ["hour_start", "service", "endpoint", "metric", "value"]
    hours = pd.DatetimeIndex(hours)
    hours = (hours.tz_localize("UTC") if hours.tz is None else hours).as_unit("us")
    if not templates or not len(hours):
        return _empty_series(columns)
    m = log_templates_minutely
    first = _first_hours(m, log_templates)
    wanted = set(templates)
    per_template: dict[tuple[str, str], pd.Series] = {}
    if len(m):
        frame = pd.DataFrame(
            {
                "service": m[LTM.service].astype(str).to_numpy(),
                "template_id": m[LTM.template_id].astype(str).to_numpy(),
                "hour_start": _utc(m[LTM.minute_start]).dt.floor("h").array,
                "events": m[LTM.events].astype("float64").to_numpy(),
            }
        )
        keys = pd.MultiIndex.from_arrays([frame["service"], frame["template_id"]])
        frame = frame[keys.isin(list(wanted))]
        for key, part in frame.groupby(["service", "template_id"], sort=False):
            sums = part.groupby("hour_start")["events"].sum()
            sums.index = pd.DatetimeIndex(sums.index).tz_convert("UTC").as_unit("us")
            per_template[(str(key[0]), str(key[1]))] = sums
    parts = []
    for service, template in sorted(wanted):
        since = first.get((service, template))
        own = hours if since is None else hours[hours >= since]
        values = per_template.get((service, template), pd.Series(dtype="float64"))
        parts.append(
            pd.DataFrame(
                {
                    "hour_start": own,
                    "service": service,
                    "metric": template_metric(template),
                    "value": values.reindex(own, fill_value=0.0).to_numpy(dtype="float64"),
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    if long.empty:
        return _empty_series(columns)
    long["endpoint"] = LOG_ENDPOINT
    return long.sort_values(["service", "metric", "hour_start"], ignore_index=True)[columns]


def without_remined(
    models: dict[tuple[str, str, str], str], log_templates: pd.DataFrame
) -> dict[tuple[str, str, str], str]:
    """`models` but those of template counts whose template `log_templates` no longer holds:
    re-mined under another text since they were fitted, their id logs nothing any more, and
    scored it would look like a drop to zero (the next day's fit models the new template)."""
    known = set(
        zip(
            log_templates[LT.service].astype(str),
            log_templates[LT.template_id].astype(str),
            strict=True,
        )
    )
    kept = {}
    for key, model in models.items():
        service, endpoint, metric = key
        template = counted_template_of(metric) if endpoint == LOG_ENDPOINT else None
        if template is None or (service, template) in known:
            kept[key] = model
    return kept


LEVEL_ORDER = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL")
"""Levels from least to most severe: a template's level is the most severe it logged."""


def template_level(
    log_templates_minutely: pd.DataFrame | None,
    service: str,
    template_id: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> str:
    """The most severe level the template logged in [start, end) (upper case; a level outside
    LEVEL_ORDER counts below TRACE); "" when the rows hold none of its events."""
    m = log_templates_minutely
    if m is None or m.empty:
        return ""
    when = _utc(m[LTM.minute_start])
    own = m[
        (m[LTM.service].astype(str) == service)
        & (m[LTM.template_id].astype(str) == template_id)
        & (when >= start)
        & (when < end)
    ]
    if own.empty:
        return ""
    levels = sorted(set(own[LTM.level].astype(str).str.upper()))
    return max(levels, key=lambda lv: LEVEL_ORDER.index(lv) if lv in LEVEL_ORDER else -1)


def template_text(log_templates: pd.DataFrame | None, service: str, template_id: str) -> str:
    """A template's text, or its id when `log_templates` does not hold it."""
    if log_templates is not None and len(log_templates):
        rows = log_templates[
            (log_templates[LT.service].astype(str) == service)
            & (log_templates[LT.template_id].astype(str) == template_id)
        ]
        if len(rows):
            return str(rows.iloc[0][LT.template])
    return template_id


def times_forecast(actual: float, expected: float) -> str:
    """ "12x", "1.5x", "0.1x": how many times its forecast a value was."""
    ratio = actual / expected
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def count_text(template: str, level: str, events: float, expected: float, hours: int = 1) -> str:
    """ "template '<text>' (ERROR) at 12x its forecast: 340 events vs 28 expected" (with
    " over N hours" for more than one hour); where less than one event was expected, "N events
    where less than one was expected"."""
    name = f"template '{template}'" + (f" ({level})" if level else "")
    over = f" over {hours} hours" if hours > 1 else ""
    if expected >= 1:
        return (
            f"{name} at {times_forecast(events, expected)} its forecast: "
            f"{events:,.0f} events vs {expected:,.0f} expected{over}"
        )
    return f"{name}: {events:,.0f} events{over} where less than one was expected"


def new_patterns(
    log_templates: pd.DataFrame,
    log_templates_minutely: pd.DataFrame,
    *,
    hours: pd.DatetimeIndex,
) -> pd.DataFrame:
    """One `new_pattern` anomaly per template whose first event falls in one of `hours` and
    which logged at WARNING or above in that hour: actual its events at those levels in the
    hour, severity medium for WARNING, high for ERROR or CRITICAL (its highest level there).
    A template is new in one hour only, its first, so it is flagged once whatever the runs."""
    columns = list(Anomaly.to_schema().columns)
    if log_templates.empty or log_templates_minutely.empty or not len(hours):
        return empty_frame(Anomaly)
    hours = pd.DatetimeIndex(hours)
    hours = (hours.tz_localize("UTC") if hours.tz is None else hours).as_unit("us")
    templates = log_templates.assign(first_hour=_utc(log_templates[LT.first_seen]).dt.floor("h"))
    templates = templates[templates["first_hour"].isin(hours)]
    minutely = log_templates_minutely.assign(
        hour_start=_utc(log_templates_minutely[LTM.minute_start]).dt.floor("h"),
        level=log_templates_minutely[LTM.level].astype(str).str.upper(),
    )
    minutely = minutely[minutely["level"].isin(ALERT_LEVELS)]
    joined = minutely.merge(
        templates[[LT.service, LT.template_id, "first_hour"]].astype({LT.service: str}),
        left_on=[LTM.service, LTM.template_id, "hour_start"],
        right_on=[LT.service, LT.template_id, "first_hour"],
    )
    if joined.empty:
        return empty_frame(Anomaly)
    rank = {name: i for i, name in enumerate(ALERT_LEVELS)}
    joined["rank"] = joined["level"].map(rank)
    grouped = joined.groupby(["hour_start", LTM.service, LTM.template_id], sort=True)
    found = grouped.agg(actual=(LTM.events, "sum"), rank=("rank", "max")).reset_index()
    top = [ALERT_LEVELS[r] for r in found["rank"]]
    score = np.array([_PATTERN_SEVERITY[level][1] for level in top])
    frame = pd.DataFrame(
        {
            Anomaly.hour_start: found["hour_start"],
            Anomaly.service: found[LTM.service].astype(str),
            Anomaly.endpoint: LOG_ENDPOINT,
            Anomaly.metric: [f"{NEW_PATTERN}:{t}" for t in found[LTM.template_id]],
            Anomaly.actual: found["actual"].astype("float64"),
            Anomaly.yhat: 0.0,
            Anomaly.yhat_lower: 0.0,
            Anomaly.yhat_upper: 0.0,
            Anomaly.score: score,
            Anomaly.surprise: -np.log10(1 - score),
            Anomaly.direction: "spike",
            Anomaly.kind: NEW_PATTERN,
            Anomaly.severity: [_PATTERN_SEVERITY[level][0] for level in top],
            Anomaly.method: "first_seen",
        }
    )
    return Anomaly.validate(frame[columns])


def template_of(metric: str) -> str | None:
    """The template id of a `new_pattern:<template_id>` metric, else None."""
    prefix = f"{NEW_PATTERN}:"
    return metric[len(prefix) :] if metric.startswith(prefix) else None


def pattern_text(log_templates: pd.DataFrame | None, service: str, template_id: str) -> str:
    """ "new pattern '<template>' (e.g. '<first example>')" of a template, or its id alone
    when `log_templates` does not hold it."""
    if log_templates is not None and len(log_templates):
        rows = log_templates[
            (log_templates[LT.service].astype(str) == service)
            & (log_templates[LT.template_id].astype(str) == template_id)
        ]
        if len(rows):
            row = rows.iloc[0]
            examples = json.loads(row[LT.examples]) if row[LT.examples] else []
            example = f" (e.g. '{examples[0]}')" if examples else ""
            return f"new pattern '{row[LT.template]}'{example}"
    return f"new pattern {template_id}"
