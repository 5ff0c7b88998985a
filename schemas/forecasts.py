"""Forecast and anomaly tables built from the metric tables."""

import pandera.pandas as pa
from pandera.typing import Series

from schemas.common import UtcTimestamp
from schemas.dtypes import Text

METHODS = ["prophet", "baseline"]
DIRECTIONS = ["spike", "drop"]
SEVERITIES = ["low", "medium", "high", "critical"]
INCIDENT_STATUSES = ["open", "resolved"]
ANOMALY_KINDS = [
    "deviation", "availability", "log_errors", "template_count", "new_pattern", "rule", "short",
]  # fmt: skip
ANOMALY_METHODS = [*METHODS, "first_seen", "rule", "minutely"]


class Forecast(pa.DataFrameModel):
    """`forecasts`: one row per (hour_start, service, endpoint, metric) scored.

    The model behind each row was trained only on hours strictly before the day it scores.
    endpoint "*" is the total of a service's endpoints, service and endpoint "*" the total of
    all.
    Partitioned `forecasts/date=YYYY-MM-DD/hour=HH/part-0.parquet`.
    """

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour scored")
    service: Series[Text] = pa.Field(description="service")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    metric: Series[Text] = pa.Field(
        description="metric column of endpoint_hourly, or log_errors (a service's ERROR + "
        "CRITICAL events per hour, endpoint '(logs)'), or template:<template_id> (a log "
        "template's events per hour, endpoint '(logs)')"
    )
    actual: Series[float] = pa.Field(nullable=True, description="observed value")
    yhat: Series[float] = pa.Field(description="forecast")
    yhat_lower: Series[float] = pa.Field(description="lower bound of the forecast interval")
    yhat_upper: Series[float] = pa.Field(description="upper bound of the forecast interval")
    score: Series[float] = pa.Field(
        ge=0, le=1, description="0 inside the interval, growing towards 1 with the deviation"
    )
    surprise: Series[float] = pa.Field(
        ge=0,
        description="-log10 of the one-sided tail probability of the actual: 2 is a 1-in-100 "
        "deviation for this series, 4 a 1-in-10,000; unbounded",
    )
    is_anomaly: Series[bool] = pa.Field(description="score reached the anomaly threshold")
    method: Series[Text] = pa.Field(isin=METHODS, description="prophet, or baseline on cold start")

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint", "metric"]

    @pa.dataframe_check
    @classmethod
    def interval_ordered(cls, df) -> Series[bool]:
        """yhat_lower <= yhat <= yhat_upper."""
        eps = 1e-9
        return (df["yhat_lower"] <= df["yhat"] + eps) & (df["yhat"] <= df["yhat_upper"] + eps)


class Anomaly(pa.DataFrameModel):
    """`anomalies`: one row per flagged forecast row, with its direction and severity.

    Partitioned like `forecasts`.
    """

    hour_start: Series[UtcTimestamp] = pa.Field(description="start of the UTC hour")
    service: Series[Text] = pa.Field(description="service")
    endpoint: Series[Text] = pa.Field(description="normalised endpoint")
    metric: Series[Text] = pa.Field(
        description="metric that deviated; rule:<name> for a rule of logcast.toml; "
        "short:<metric> for a short episode of requests, error_rate or latency_p95_ms"
    )
    actual: Series[float] = pa.Field(
        nullable=True,
        description="observed value (a rule's: the worst value firing in the hour; a short "
        "episode's: its run's mean a minute, for error_rate its errors over its requests)",
    )
    yhat: Series[float] = pa.Field(
        description="forecast (a rule's: its threshold; a short episode's: the level a minute "
        "was judged against, e.g. the hour's forecast requests / 60)"
    )
    yhat_lower: Series[float] = pa.Field(
        description="lower bound of the forecast interval (a rule's: its threshold; a short "
        "drop's: the count a minute had to fall to, else its yhat)"
    )
    yhat_upper: Series[float] = pa.Field(
        description="upper bound of the forecast interval (a rule's: its threshold; a short "
        "spike's: the value a minute had to reach, else its yhat)"
    )
    score: Series[float] = pa.Field(
        ge=0, le=1, description="anomaly score (a rule's: 1; a short episode's: its run's)"
    )
    surprise: Series[float] = pa.Field(
        ge=0,
        description="-log10 of the one-sided tail probability of the actual; unbounded (a "
        "rule's: 0, it states no probability)",
    )
    direction: Series[Text] = pa.Field(isin=DIRECTIONS, description="spike (above) or drop")
    kind: Series[Text] = pa.Field(
        isin=ANOMALY_KINDS,
        description="availability: no request where the forecast expected traffic; log_errors: "
        "a service's ERROR + CRITICAL events per hour (endpoint '(logs)') left their forecast; "
        "template_count: a log template's events per hour (metric 'template:<template_id>', "
        "endpoint '(logs)') left their forecast; new_pattern: a log template first seen at "
        "WARNING or above (metric 'new_pattern:<template_id>'); rule: a [[rules]] threshold of "
        "logcast.toml held for its whole `for` (metric 'rule:<name>'); short: an endpoint's "
        "requests, error rate or p95 left the hour's expected level for 5 or more consecutive "
        "minutes of endpoint_minutely (metric 'short:<metric>', method minutely); else "
        "deviation",
    )
    severity: Series[Text] = pa.Field(
        isin=SEVERITIES,
        description="low, medium, high, critical from the score; one level higher when the "
        "series was anomalous on the same side for the 2 hours before too; a rule's own; a "
        "short episode's from its score, at most high",
    )
    method: Series[Text] = pa.Field(
        isin=ANOMALY_METHODS,
        description="prophet or baseline; first_seen for a new_pattern; rule for a rule; "
        "minutely for a short episode",
    )

    class Config:
        strict = True
        coerce = True
        unique = ["hour_start", "service", "endpoint", "metric"]


class Incident(pa.DataFrameModel):
    """`incidents`: one row per cause, with the endpoints and totals that moved with it.

    Consecutive anomalous hours of a series, and anomalies of the same endpoint on different
    metrics in overlapping or adjacent hours, are one episode. Episodes of endpoints of one
    service in overlapping hours whose attribution names the same value are one incident, and
    a total's episode that overlaps one of what it sums joins that incident as its impact.
    Keyed by its first episode (service, endpoint, start). Partitioned by the date of its
    start; recomputed whenever an hour of that day or the two days after it is scored, and
    while it is open.
    """

    incident_id: Series[Text] = pa.Field(
        description="stable id: the first 16 hex digits of sha256(service, endpoint, start)"
    )
    service: Series[Text] = pa.Field(description="service of its first episode")
    endpoint: Series[Text] = pa.Field(
        description="normalised endpoint (or '*', a total) of its first episode"
    )
    start: Series[UtcTimestamp] = pa.Field(description="first anomalous hour")
    end: Series[UtcTimestamp] = pa.Field(description="end of the last anomalous hour")
    hours: Series[int] = pa.Field(gt=0, description="hours with at least one anomaly")
    peak_severity: Series[Text] = pa.Field(isin=SEVERITIES, description="highest severity")
    max_score: Series[float] = pa.Field(ge=0, le=1, description="highest anomaly score")
    metrics: Series[Text] = pa.Field(description="metrics that deviated, comma-separated")
    probable_cause: Series[Text] = pa.Field(
        description="what the data says changed: deviations against forecast (per endpoint "
        "when it holds several), each rule breached, the dimension values that account for "
        "the change (e.g. '82% of the extra errors are status 503; region eu-west 64%'), each "
        "log template whose events left their forecast (its text and level), each new log "
        "pattern's template and an example"
    )
    status: Series[Text] = pa.Field(
        isin=INCIDENT_STATUSES,
        description="open while its last anomalous hour is the newest hour scored (the next "
        "hour scored may still extend it); resolved once an hour after it was scored without "
        "joining it",
    )
    resolved_at: Series[UtcTimestamp] = pa.Field(
        nullable=True,
        description="when the data showed it over: the end of the first hour after it that "
        "was back within its forecast; null while open",
    )
    endpoints: Series[Text] | None = pa.Field(
        nullable=True,
        description="the endpoints whose anomalies it holds, comma-separated ('service "
        "endpoint' when its first episode was the total of all services); a total's own "
        "endpoint '*' when no endpoint explains it; null in partitions written before",
    )
    impact: Series[Text] | None = pa.Field(
        nullable=True,
        description="the totals it moved and how far, '; '-separated (e.g. 'checkout * "
        "requests at 0.3x its forecast'); empty when none; null in partitions written before",
    )
    attribution: Series[Text] | None = pa.Field(
        nullable=True,
        description="the dimension values that account for its change, largest first, each "
        "with its share of its dimension's change in that direction (e.g. 'status=503 82%; "
        "region=eu-west 64%', or the errors' class when no code alone moved: 'status class=5xx "
        "100%'; each change's prefixed with its noun when errors and requests both name some); "
        "moves not significant for their counts are left out; empty when none; null in "
        "partitions written before",
    )

    class Config:
        strict = True
        coerce = True
        unique = ["service", "endpoint", "start"]

    @pa.dataframe_check
    @classmethod
    def resolved_when_resolved(cls, df) -> Series[bool]:
        """resolved_at is set exactly when status is resolved, and not before end."""
        resolved = df["status"] == "resolved"
        has_time = df["resolved_at"].notna()
        return (resolved == has_time) & (~has_time | (df["resolved_at"] >= df["end"]))
