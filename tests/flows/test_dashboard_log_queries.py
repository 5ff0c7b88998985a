"""The dashboard's views of service logs, error reasons and configured dimensions, over tables
written straight into a warehouse folder, checked against the same numbers computed with
pandas from those rows; and the sentence a view shows for a filter its table cannot answer."""

from pathlib import Path

import pandas as pd
import pytest

from flows.dashboard import queries
from flows.dashboard.queries import Filters
from schemas.registry import table_spec
from warehouse.layout import Layout, partition_of
from warehouse.storage import write_parquet

T0 = pd.Timestamp("2026-11-03T10:00Z")
HOURS = Filters(T0, T0 + pd.Timedelta(hours=3))


def put(root, table: str, rows: list[dict]) -> pd.DataFrame:
    """The rows validated by the table's model, written one file per partition."""
    spec = table_spec(table)
    frame = spec.model.validate(pd.DataFrame(rows))
    partitions = frame[spec.time_column].map(lambda ts: partition_of(table, ts))
    for partition, part in frame.groupby(partitions):
        write_parquet(part.reset_index(drop=True), Layout(root).part_file(table, partition))
    return frame


def minute(m: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=m)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("warehouse")
    put(root, "log_levels_minutely", [
        {"minute_start": minute(m), "service": s, "level": level, "events": n}
        for m, s, level, n in [
            (0, "auth", "INFO", 5), (1, "auth", "ERROR", 2), (61, "auth", "ERROR", 3),
            (62, "billing", "WARNING", 4), (200, "auth", "ERROR", 9),  # 200: after the hours
        ]
    ])  # fmt: skip
    put(root, "log_templates_minutely", [
        {"minute_start": minute(m), "service": s, "template_id": t, "level": level, "events": n}
        for m, s, t, level, n in [
            (1, "auth", "a1", "ERROR", 2), (61, "auth", "a1", "ERROR", 3),
            (61, "auth", "a2", "CRITICAL", 4), (62, "auth", "a3", "INFO", 50),
            (70, "billing", "b1", "error", 1), (200, "auth", "a2", "ERROR", 99),
        ]
    ])  # fmt: skip
    put(root, "log_templates", [
        {"service": s, "template_id": t, "template": text, "first_seen": T0, "last_seen": T0,
         "events": 1, "examples": "[]"}
        for s, t, text in [
            ("auth", "a1", "login failed for <*>"), ("auth", "a2", "token store down"),
            ("auth", "a3", "login ok"), ("billing", "b1", "charge declined <NUM>"),
        ]
    ])  # fmt: skip
    put(root, "error_reasons_hourly", [
        {"hour_start": T0 + pd.Timedelta(hours=h), "service": "auth", "endpoint": e,
         "error_reason": r, "requests": n}
        for h, e, r, n in [
            (0, "/login", "timeout", 3), (1, "/login", "timeout", 2), (1, "/token", "denied", 4),
            (2, "/token", "bad_request", 1), (5, "/login", "denied", 40),
        ]
    ])  # fmt: skip
    put(root, "dimension_hourly", [
        {"hour_start": T0 + pd.Timedelta(hours=h), "service": "docs", "endpoint": e,
         "dimension": "document_type", "value": v, "requests": n, "error_rate": rate,
         "latency_p95_ms": 100.0}
        for h, e, v, n, rate in [
            (0, "/scan", "invoice", 4, 0.25), (0, "/ocr", "invoice", 6, 0.5),
            (1, "/scan", "invoice", 10, 0.0), (1, "/scan", "receipt", 3, 1.0),
        ]
    ])  # fmt: skip
    return root


def test_log_levels_are_events_per_hour_and_level_of_the_filter_s_services(root):
    for filters in (HOURS, Filters(HOURS.start, HOURS.end, service="billing")):
        frame, sql = queries.log_levels(root, filters)
        rows = pd.read_parquet(root / "log_levels_minutely")
        rows = rows[(rows["minute_start"] >= filters.start) & (rows["minute_start"] < filters.end)]
        if filters.service:
            rows = rows[rows["service"] == filters.service]
        expected = (
            rows.assign(hour_start=rows["minute_start"].dt.floor("h"))
            .groupby(["hour_start", "level"], observed=True)["events"]
            .sum()
        )
        got = frame.set_index(["hour_start", "level"])["events"]
        assert got.to_dict() == expected.to_dict()
        assert "FROM log_levels_minutely" in sql


def test_top_error_templates_count_error_and_critical_events_with_their_text(root):
    frame, sql = queries.error_templates(root, HOURS)
    assert frame[["service", "events", "template"]].to_dict("records") == [
        {"service": "auth", "events": 5, "template": "login failed for <*>"},
        {"service": "auth", "events": 4, "template": "token store down"},
        {"service": "billing", "events": 1, "template": "charge declined <NUM>"},
    ]
    only_auth, _ = queries.error_templates(root, Filters(HOURS.start, HOURS.end, "auth"), limit=1)
    assert only_auth["template_id"].tolist() == ["a1"]
    assert "JOIN log_templates" in sql


def test_top_error_reasons_with_their_share(root):
    frame, _ = queries.error_reasons(root, HOURS)
    assert frame.to_dict("list") == {
        "error_reason": ["timeout", "denied", "bad_request"],
        "requests": [5, 4, 1],
        "share": pytest.approx([0.5, 0.4, 0.1]),
    }
    token, _ = queries.error_reasons(root, Filters(HOURS.start, HOURS.end, "auth", "/token"))
    assert token["error_reason"].tolist() == ["denied", "bad_request"]


def test_a_dimension_value_filters_the_hourly_traffic(root):
    filters = Filters(HOURS.start, HOURS.end, dimension="document_type", value="invoice")
    frame, sql = queries.traffic(root, filters)
    assert frame[["requests", "errors"]].to_dict("list") == {
        "requests": [10, 10], "errors": [1 + 3, 0],
    }  # fmt: skip
    assert frame["error_rate"].tolist() == pytest.approx([0.4, 0.0])
    assert "dimension = 'document_type'" in sql and "value = 'invoice'" in sql
    scan, _ = queries.traffic(root, Filters(HOURS.start, HOURS.end, "docs", "/scan", None,
                                            "document_type", "invoice"))  # fmt: skip
    assert scan["requests"].tolist() == [4, 10]
    choices, _ = queries.breakdowns(root)
    dims = choices[choices["kind"] == "dimension"]
    assert list(zip(dims["dimension"], dims["value"], strict=True)) == [
        ("document_type", "invoice"), ("document_type", "receipt"),
    ]  # fmt: skip


def test_views_without_a_breakdown_say_so_and_impossible_combinations_are_refused():
    region = Filters(HOURS.start, HOURS.end, region="eu-west-1")
    assert queries.not_broken_down(region).startswith("Not broken down by region")
    dimension = Filters(HOURS.start, HOURS.end, dimension="tier", value="gold")
    assert queries.not_broken_down(dimension).startswith("Not broken down by tier")
    assert queries.not_broken_down(HOURS) is None
    both = Filters(HOURS.start, HOURS.end, region="eu-west-1", dimension="tier", value="gold")
    assert queries.filter_problem(both).startswith("A region and a dimension cannot be combined")
    with pytest.raises(ValueError, match="Regions are counted over every service"):
        queries.traffic(Path("unused"), Filters(T0, T0, "auth", region="eu-west-1"))


def test_views_of_tables_with_no_rows_are_empty_not_errors(tmp_path):
    for view in (queries.log_levels, queries.error_templates, queries.error_reasons,
                 queries.regions, queries.peak_hours, queries.percentiles):  # fmt: skip
        frame, _ = view(tmp_path, HOURS)
        assert frame.empty, view.__name__
