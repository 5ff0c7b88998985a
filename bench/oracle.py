"""The metric tables as DuckDB SQL over request rows in a view `req`: the independent oracle the
tests compare our tables with (`tests/transforms/test_metrics.py`) and the reference engine the
metrics benchmark times (`bench/metrics.py`). Percentiles are `quantile_cont`: linear
interpolation at rank q * (n - 1)."""

from __future__ import annotations

PERCENTILES = {
    "latency_p50_ms": 0.5,
    "latency_p90_ms": 0.9,
    "latency_p95_ms": 0.95,
    "latency_p99_ms": 0.99,
}
MINUTE_PERCENTILES = {"latency_p50_ms": 0.5, "latency_p95_ms": 0.95}
SLOW_MS = 1000
"""The slow-request threshold the SQL uses (the transforms' default)."""


def percentiles(quantiles: dict[str, float], *, as_list: bool) -> str:
    """One `quantile_cont` per column, or (`as_list`) one call computing them all into a list
    column `latency_percentiles_ms`, the cheaper form for timing DuckDB."""
    if as_list:
        values = ", ".join(str(q) for q in quantiles.values())
        return f"quantile_cont(latency_ms, [{values}]) AS latency_percentiles_ms"
    return ", ".join(f"quantile_cont(latency_ms, {q}) AS {name}" for name, q in quantiles.items())


def per_endpoint(unit: str, *, users: bool = True, as_list: bool = False) -> str:
    """endpoint_hourly (`unit` hour) or, by day, the exact counterpart of endpoint_daily."""
    start = "hour_start" if unit == "hour" else "day_start"
    distinct = "nullif(count(DISTINCT user_id), 0) AS unique_users, " if users else ""
    return f"""
        SELECT date_trunc('{unit}', ts) AS {start}, coalesce(service, 'unknown') AS service,
          endpoint, count(*) AS requests,
          count(*) FILTER (status_code BETWEEN 200 AND 299) AS status_2xx,
          count(*) FILTER (status_code BETWEEN 300 AND 399) AS status_3xx,
          count(*) FILTER (status_code BETWEEN 400 AND 499) AS status_4xx,
          count(*) FILTER (status_code BETWEEN 500 AND 599) AS status_5xx,
          count(*) FILTER (status_code >= 400) / count(*) AS error_rate,
          count(*) FILTER (status_code >= 500) / count(*) AS server_error_rate,
          count(latency_ms) AS timed_requests,
          avg(latency_ms) AS latency_avg_ms,
          {percentiles(PERCENTILES, as_list=as_list)},
          max(latency_ms) AS latency_max_ms,
          count(*) FILTER (latency_ms > {SLOW_MS}) AS slow_requests,
          count(*) FILTER (latency_ms > {SLOW_MS}) / nullif(count(latency_ms), 0) AS slow_rate,
          {distinct}sum(bytes_sent) AS bytes_sent
        FROM req WHERE endpoint IS NOT NULL GROUP BY ALL ORDER BY ALL"""


def _by_dimension(column: str) -> str:
    return f"""
        SELECT date_trunc('hour', ts) AS hour_start, coalesce({column}, 'unknown') AS {column},
          count(*) AS requests, 1 - count(*) FILTER (status_code >= 400) / count(*) AS success_rate,
          quantile_cont(latency_ms, 0.95) AS latency_p95_ms
        FROM req WHERE endpoint IS NOT NULL GROUP BY ALL ORDER BY ALL"""


def _per_endpoint_value(column: str) -> str:
    return f"""
        SELECT date_trunc('hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
          endpoint, {column}, count(*) AS requests
        FROM req WHERE endpoint IS NOT NULL AND {column} IS NOT NULL
        GROUP BY ALL ORDER BY ALL"""


def dimension_sql(dimensions: dict[str, tuple[str, ...]]) -> str:
    """dimension_hourly: per dimension, the requests of the sources naming it that log it,
    the value read from the `attributes` JSON by DuckDB's own JSON functions."""
    by_dimension: dict[str, list[str]] = {}
    for source, names in dimensions.items():
        for name in names:
            by_dimension.setdefault(name, []).append(source)
    parts = []
    for name, sources in sorted(by_dimension.items()):
        value = f"json_extract_string(attributes, '$.\"{name}\"')"
        listed = ", ".join(f"'{s}'" for s in sorted(sources))
        parts.append(f"""
        SELECT date_trunc('hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
          endpoint, '{name}' AS dimension, {value} AS value, count(*) AS requests,
          count(*) FILTER (status_code >= 400) / count(*) AS error_rate,
          quantile_cont(latency_ms, 0.95) AS latency_p95_ms
        FROM req WHERE endpoint IS NOT NULL AND source IN ({listed}) AND {value} IS NOT NULL
        GROUP BY ALL""")
    return " UNION ALL ".join(parts) + " ORDER BY ALL"


def hourly_sql(
    *, as_list: bool = False, dimensions: dict[str, tuple[str, ...]] | None = None
) -> dict[str, str]:
    """Every hourly metric table, by name (percentiles as lists when `as_list`);
    `dimension_hourly` only with `dimensions` (source -> attribute names)."""
    more = {"dimension_hourly": dimension_sql(dimensions)} if dimensions else {}
    return more | {
        "endpoint_hourly": per_endpoint("hour", as_list=as_list),
        "endpoint_minutely": f"""
        SELECT date_trunc('minute', ts) AS minute_start, coalesce(service, 'unknown') AS service,
          endpoint, count(*) AS requests, count(*) FILTER (status_code >= 400) AS errors,
          {percentiles(MINUTE_PERCENTILES, as_list=as_list)}
        FROM req WHERE endpoint IS NOT NULL GROUP BY ALL ORDER BY ALL""",
        "latency_sketches": """
        SELECT date_trunc('hour', ts) AS hour_start, coalesce(service, 'unknown') AS service,
          endpoint, CASE WHEN latency_ms > 1e-6
          THEN ceil(ln(latency_ms) / ln(1.01 / 0.99))::BIGINT ELSE -32768 END AS bucket,
          count(*) AS count
        FROM req WHERE endpoint IS NOT NULL AND latency_ms IS NOT NULL GROUP BY ALL ORDER BY ALL""",
        "service_hourly": _by_dimension("service"),
        "region_hourly": _by_dimension("region"),
        "status_hourly": _per_endpoint_value("status_code"),
        "error_reasons_hourly": _per_endpoint_value("error_reason"),
        "log_levels_minutely": """
        SELECT date_trunc('minute', ts) AS minute_start, coalesce(service, 'unknown') AS service,
          level, count(*) AS events
        FROM req WHERE level IS NOT NULL GROUP BY ALL ORDER BY ALL""",
    }


DAILY_SQL = per_endpoint("day", users=False)
"""endpoint_daily computed exactly from the requests (ours reads percentiles from sketches)."""

TRAFFIC_SQL = """
    WITH h AS (SELECT hour_start, sum(requests) AS requests FROM eh GROUP BY ALL)
    SELECT hour_start, requests,
      requests / sum(requests) OVER (PARTITION BY date_trunc('day', hour_start)) AS share_of_day,
      rank() OVER (PARTITION BY date_trunc('day', hour_start) ORDER BY requests DESC) AS rank_in_day,
      rank() OVER (PARTITION BY date_trunc('week', hour_start) ORDER BY requests DESC) AS rank_in_week
    FROM h ORDER BY hour_start"""
"""traffic_hourly from endpoint_hourly rows in a view `eh`."""


def masked_sql(column: str = "message") -> str:
    """`column` masked in DuckDB SQL: the same RE2 patterns in the same order as
    `transforms.templates.masking`, applied by DuckDB's own `regexp_replace`."""
    from transforms.templates.masking import _MASKS, _replacement

    expression = column
    for pattern, name, bounded in _MASKS:
        quoted = pattern.replace("'", "''")
        replacement = _replacement(name, bounded).replace("'", "''")
        expression = f"regexp_replace({expression}, '{quoted}', '{replacement}', 'g')"
    return expression


TEMPLATES_MINUTELY_SQL = f"""
    SELECT date_trunc('minute', ts) AS minute_start, coalesce(req.service, 'unknown') AS service,
      m.template_id, level, count(*) AS events
    FROM req JOIN mapping AS m
      ON m.service = coalesce(req.service, 'unknown') AND m.message = {masked_sql("req.message")}
    WHERE req.level IS NOT NULL AND req.message IS NOT NULL
    GROUP BY ALL ORDER BY ALL"""
"""log_templates_minutely from request rows in `req` and the mined (service, masked message,
template_id) rows in `mapping`: the masking and the counting done by DuckDB."""
