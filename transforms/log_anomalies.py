"""Anomalies of service logs: the hourly ERROR + CRITICAL series each service's errors are
forecast and scored on (like the request metrics), and the templates first seen at WARNING or
above (`new_pattern`)."""

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
    """Anomaly rows with kind `log_errors` for the scored log error series."""
    out = anomalies.copy()
    out.loc[out[Anomaly.metric] == LOG_ERRORS, Anomaly.kind] = LOG_ERRORS
    return out


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
