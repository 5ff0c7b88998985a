"""Attribution: which dimension values (status code and its class, error reason, region, a
source's configured dimensions, log template) account for an incident's change, measured
against the mix of the 24 hours before it, and only where the move is significant for its
counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from statistics import NormalDist

import numpy as np
import pandas as pd

from transforms.forecast import TOTAL

HOUR = pd.Timedelta(hours=1)
BEFORE = pd.Timedelta(hours=24)
"""The hours before an incident whose mix is its expected mix."""
ALPHA = 0.01
"""The chance, per incident and measure, of naming a value whose share did not move: each
value is tested at ALPHA divided by the number of values tested (Bonferroni)."""
MIN_COUNT = 5
"""A value is named only when it accounts for at least this many of the change."""
MIN_CONTRIBUTION = 0.10
"""... and for at least this share of its dimension's change."""
MIN_ODDS_RATIO = 1.5
"""... and when the odds of its share moved by at least this factor: with the large counts of
a busy region the slightest drift of the mix is significant, and not a cause."""

ERRORS = "errors"
REQUESTS = "requests"
EVENTS = "events"
MEASURES = (ERRORS, REQUESTS, EVENTS)
"""What an incident's change is counted in: requests answered 4xx/5xx, requests, or log
events at ERROR or CRITICAL."""

STATUS = "status"
STATUS_CLASS = "status class"
"""An error's status class, 4xx or 5xx: several codes of one class that move together are a
cause (the extra errors are server errors) even when no single code's move is significant;
a class is named only when none of its codes is (`contributors`). Counted for the errors
only: in the requests a class's move is a move of the errors (the error metrics' own), and
summing a few stray 4xx of a quiet hour into one count named a class for a traffic spike."""
ERROR_REASON = "error reason"
REGION = "region"
TEMPLATE = "template"
ERROR_LEVELS = ("ERROR", "CRITICAL")

COUNT_COLUMNS = ["hour_start", "dimension", "value", "count"]
CONTRIBUTOR_COLUMNS = [
    "dimension", "value", "before", "during", "expected", "change", "contribution", "p_value",
]  # fmt: skip

_NOUN = {
    (ERRORS, "spike"): "extra errors",
    (ERRORS, "drop"): "missing errors",
    (REQUESTS, "spike"): "extra requests",
    (REQUESTS, "drop"): "missing requests",
    (EVENTS, "spike"): "extra log errors",
    (EVENTS, "drop"): "missing log errors",
}


def rows_of(
    frame: pd.DataFrame | None,
    service: str,
    endpoints: Iterable[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    time: str = "hour_start",
) -> pd.DataFrame:
    """The rows of a table broken down by (service, endpoint) with `time` in [start, end) of
    `endpoints` of `service`; a total's (endpoint or service "*") are those of every endpoint
    it sums. A table without an endpoint column (a service's log tables) is chosen by service
    alone."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=[time, "service", "endpoint"])
    endpoints = list(endpoints)
    chosen = (frame[time] >= start) & (frame[time] < end)
    if service != TOTAL:
        chosen &= frame["service"] == service
    if "endpoint" in frame and TOTAL not in endpoints:
        chosen &= frame["endpoint"].isin(endpoints)
    return frame[chosen]


def dimension_counts(
    measure: str,
    service: str,
    endpoints: Iterable[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    status_hourly: pd.DataFrame | None = None,
    error_reasons_hourly: pd.DataFrame | None = None,
    region_hourly: pd.DataFrame | None = None,
    dimension_hourly: pd.DataFrame | None = None,
    log_templates_minutely: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (hour_start, dimension, value) of `measure` counted for the endpoints of
    `service` in [start, end): status codes (of the requests, or of the errors: codes 400 and
    above, and their classes 4xx and 5xx: STATUS_CLASS), error reasons (errors only), regions
    (`region_hourly` is not broken down by endpoint: a region's counts are the whole
    warehouse's), the dimensions a source configures (`dimension_hourly`; errors from its
    error_rate), and for log events the templates at ERROR or CRITICAL
    (`log_templates_minutely`)."""
    endpoints = list(endpoints)
    parts = []

    def add(frame: pd.DataFrame, dimension, value: pd.Series, count: pd.Series) -> None:
        if len(frame):
            parts.append(
                pd.DataFrame(
                    {
                        "hour_start": frame["hour_start"].to_numpy(),
                        "dimension": dimension,
                        "value": value.astype(str).to_numpy(),
                        "count": np.rint(count.to_numpy(dtype="float64")).astype("int64"),
                    }
                )
            )

    if measure in (ERRORS, REQUESTS):
        status = rows_of(status_hourly, service, endpoints, start, end)
        if len(status):
            if measure == ERRORS:
                status = status[status["status_code"].astype("int64") >= 400]
            codes = status["status_code"].astype("int64")
            add(status, STATUS, codes, status["requests"])
            if measure == ERRORS:
                add(status, STATUS_CLASS, codes.astype(str).map(status_class), status["requests"])
        if measure == ERRORS:
            reasons = rows_of(error_reasons_hourly, service, endpoints, start, end)
            if len(reasons):
                add(reasons, ERROR_REASON, reasons["error_reason"], reasons["requests"])
        if region_hourly is not None and len(region_hourly):
            regions = region_hourly[
                (region_hourly["hour_start"] >= start) & (region_hourly["hour_start"] < end)
            ]
            failed = regions["requests"] * (1 - regions["success_rate"])
            add(
                regions,
                REGION,
                regions["region"],
                failed if measure == ERRORS else regions["requests"],
            )
        named = rows_of(dimension_hourly, service, endpoints, start, end)
        if len(named):
            failed = named["requests"] * named["error_rate"]
            add(
                named,
                named["dimension"].astype(str).to_numpy(),
                named["value"],
                failed if measure == ERRORS else named["requests"],
            )
    elif measure == EVENTS and log_templates_minutely is not None and len(log_templates_minutely):
        events = rows_of(log_templates_minutely, service, endpoints, start, end, "minute_start")
        events = events[events["level"].astype(str).str.upper().isin(ERROR_LEVELS)]
        events = events.assign(
            hour_start=pd.to_datetime(events["minute_start"], utc=True).dt.floor("h")
        )
        add(events, TEMPLATE, events["template_id"], events["events"])
    if not parts:
        return _empty(COUNT_COLUMNS, ["datetime64[us, UTC]", str, str, "int64"])
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["count"] > 0]
    return frame.groupby(["hour_start", "dimension", "value"], as_index=False, sort=True)[
        "count"
    ].sum()


def _empty(columns: list[str], dtypes: list) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, dtypes, strict=True)})


def contributors(
    dimension_counts: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    direction: str,
    *,
    before: pd.Timedelta = BEFORE,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """The dimension values that account for a change in [start, end), largest first: one row
    per value whose share of its dimension moved significantly in `direction` (spike: it
    grew, drop: it shrank) against the `before` hours before `start`.

    `dimension_counts` has one row per (hour_start, dimension, value) with its `count`
    (`dimension_counts`). Per dimension, a value's `expected` count is its share of the hours
    before scaled to the dimension's total in the incident's hours, and its `change` the
    count during minus that: the part of the change the value holds beyond its usual share.
    `contribution` is the value's part of its dimension's change in that direction (the
    changes of one sign sum to the changes of the other), so a share that moved only because
    the total moved is no change. A value is named when its share moved significantly (a
    one-sided two-proportion z-test, before against during, at `alpha` over the values
    tested), its odds by at least MIN_ODDS_RATIO, and it accounts for MIN_COUNT or more and
    MIN_CONTRIBUTION of its dimension's change. A status class (STATUS_CLASS) is named only
    when no status code of that class is: the code says more."""
    dtypes = [str, str, "int64", "int64", "float64", "float64", "float64", "float64"]
    if dimension_counts.empty:
        return _empty(CONTRIBUTOR_COLUMNS, dtypes)
    hour = dimension_counts["hour_start"]
    keys = ["dimension", "value"]
    was = dimension_counts[(hour >= start - before) & (hour < start)].groupby(keys)["count"].sum()
    now = dimension_counts[(hour >= start) & (hour < end)].groupby(keys)["count"].sum()
    table = pd.concat({"before": was, "during": now}, axis=1).fillna(0).astype("int64")
    table = table.reset_index()
    totals = table.groupby("dimension")[["before", "during"]].transform("sum")
    # a dimension seen too little before or during the incident has no mix to compare
    table = table[(totals["before"] >= MIN_COUNT) & (totals["during"] >= MIN_COUNT)]
    totals = totals.loc[table.index]
    if table.empty:
        return _empty(CONTRIBUTOR_COLUMNS, dtypes)
    b, o = totals["before"].to_numpy(float), totals["during"].to_numpy(float)
    bv, ov = table["before"].to_numpy(float), table["during"].to_numpy(float)
    p, q = bv / b, ov / o
    expected = p * o
    change = ov - expected
    pooled = (bv + ov) / (b + o)
    se = np.sqrt(pooled * (1 - pooled) * (1 / b + 1 / o))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (q - p) / se, 0.0)
    normal = NormalDist()
    sign = 1.0 if direction == "spike" else -1.0
    p_value = np.array([1 - normal.cdf(sign * value) for value in z])
    # the odds of the value's share, each side kept off 0 and 1 by half a count
    odds_before = (bv + 0.5) / (b - bv + 0.5)
    odds_during = (ov + 0.5) / (o - ov + 0.5)
    moved = np.log(odds_during / odds_before) * sign >= np.log(MIN_ODDS_RATIO)
    same_way = pd.Series(np.clip(change * sign, 0, None), index=table.index)
    side_total = same_way.groupby(table["dimension"]).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        contribution = np.where(side_total > 0, same_way.to_numpy() / side_total, 0.0)
    tested = len(table)
    named = (
        (p_value < alpha / tested)
        & moved
        & (change * sign >= MIN_COUNT)
        & (contribution >= MIN_CONTRIBUTION)
    )
    found = table.assign(
        expected=expected, change=change, contribution=contribution, p_value=p_value
    )[named]
    # a code is more specific than its class: the class is named for a move that none of its
    # codes shows on its own (errors spread over 500, 502, 503 and 504)
    codes = found.loc[found["dimension"] == STATUS, "value"].astype(str)
    covered = {status_class(code) for code in codes}
    found = found[~((found["dimension"] == STATUS_CLASS) & found["value"].isin(covered))]
    found = found.assign(_size=-found["change"].abs())
    found = found.sort_values(["_size", "dimension", "value"], ignore_index=True)
    return found[CONTRIBUTOR_COLUMNS]


def status_class(code: str) -> str:
    """A status code's class: "503" -> "5xx"."""
    return f"{str(code)[:1]}xx"


def attribution_text(contributors: pd.DataFrame, limit: int = 5) -> str:
    """The top `limit` contributors as `dimension=value share`, e.g. "status=503 82%;
    region=eu-west 64%"; empty when there is none."""
    return "; ".join(
        f"{row.dimension}={row.value} {row.contribution:.0%}"
        for row in contributors.head(limit).itertuples()
    )


def value_label(
    dimension: str, value: str, template_text: Callable[[str], str] | None = None
) -> str:
    """A value as a sentence names it: "status 503", "status 5xx" (a class), "region eu-west",
    "template 'Timeout after <NUM> ms'" (`template_text` gives a template id's text)."""
    if dimension == STATUS_CLASS:
        return f"{STATUS} {value}"
    if dimension == TEMPLATE:
        return f"template '{template_text(value) if template_text else value}'"
    return f"{dimension} {value}"


def noun(measure: str, direction: str) -> str:
    """What a change is counted in: "extra errors", "missing requests", ..."""
    return _NOUN[(measure, direction)]


def cause_text(
    contributors: pd.DataFrame,
    measure: str,
    direction: str,
    *,
    limit: int = 3,
    template_text: Callable[[str], str] | None = None,
) -> str:
    """The top contributor of each of the first `limit` dimensions as a sentence: "82% of the
    extra errors are status 503; region eu-west 64%, error reason UpstreamTimeout 71%";
    empty when there is none."""
    if contributors.empty:
        return ""
    tops = contributors.drop_duplicates("dimension").head(limit)
    first, *rest = list(tops.itertuples())
    label = value_label(first.dimension, first.value, template_text)
    text = f"{first.contribution:.0%} of the {noun(measure, direction)} are {label}"
    if rest:
        text += "; " + ", ".join(
            f"{value_label(r.dimension, r.value, template_text)} {r.contribution:.0%}" for r in rest
        )
    return text
