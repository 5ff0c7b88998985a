"""Incidents: anomalies merged across hours and metrics, with a probable cause from the data."""

import pandas as pd

from schemas.forecasts import Anomaly
from transforms.incidents import incident_id, incidents

T = pd.Timestamp("2026-11-03T10:00:00Z")
H = pd.Timedelta(hours=1)


def anomaly_rows(rows):
    """rows: (hours after T, endpoint, metric, actual, yhat, severity, score[, service])"""
    return Anomaly.validate(
        pd.DataFrame(
            {
                "hour_start": pd.Series([T + h * H for h, *_ in rows], dtype="datetime64[us, UTC]"),
                "service": [r[7] if len(r) > 7 else "shop" for r in rows],
                "endpoint": [r[1] for r in rows],
                "metric": [r[2] for r in rows],
                "actual": [r[3] for r in rows],
                "yhat": [r[4] for r in rows],
                "yhat_lower": [r[4] * 0.8 for r in rows],
                "yhat_upper": [r[4] * 1.2 for r in rows],
                "score": [r[6] for r in rows],
                "surprise": [10 * r[6] for r in rows],
                "direction": ["spike" if r[3] > r[4] else "drop" for r in rows],
                "kind": ["deviation"] * len(rows),
                "severity": [r[5] for r in rows],
                "method": "prophet",
            }
        )
    )


def counts(rows, column):
    """rows: (hours after T, endpoint, value, requests)"""
    return pd.DataFrame(
        {
            "hour_start": pd.Series([T + h * H for h, *_ in rows], dtype="datetime64[us, UTC]"),
            "service": "shop",
            "endpoint": [r[1] for r in rows],
            column: [r[2] for r in rows],
            "requests": [r[3] for r in rows],
        }
    )


def test_adjacent_hours_and_other_metrics_of_one_endpoint_are_one_incident():
    found = incidents(
        anomaly_rows(
            [
                (0, "/a", "requests", 10.0, 100.0, "high", 0.995),
                (1, "/a", "error_rate", 0.3, 0.01, "critical", 0.9995),
                (1, "/a", "requests", 12.0, 100.0, "medium", 0.96),
                (2, "/a", "requests", 20.0, 100.0, "low", 0.92),
                (4, "/a", "latency_p95_ms", 900.0, 300.0, "low", 0.91),  # after a quiet hour
                (0, "/b", "requests", 0.0, 50.0, "critical", 1.0),
            ]
        )
    )
    rows = found[["endpoint", "start", "end", "hours", "peak_severity", "metrics"]].values.tolist()
    assert rows == [
        ["/a", T, T + 3 * H, 3, "critical", "error_rate,requests"],
        ["/a", T + 4 * H, T + 5 * H, 1, "low", "latency_p95_ms"],
        ["/b", T, T + H, 1, "critical", "requests"],
    ]
    assert found["max_score"].tolist()[0] == 0.9995
    assert "latency_p95_ms at 3x its forecast" in found["probable_cause"].iloc[1]


def before_and_during(endpoint, during, before=None, hours=range(-24, 0)):
    """status_hourly rows of an endpoint: each hour before {200: 100, 500: 1} and a 503 every
    other hour (24 errors of 500 and 12 of 503), then `during`: {hour: {code: requests}}."""
    rows = [(h, endpoint, 200, 100) for h in hours] + [(h, endpoint, 500, 1) for h in hours]
    rows += [(h, endpoint, 503, 1) for h in hours if h % 2 == 0]
    for hour, mix in during.items():
        rows += [(hour, endpoint, code, n) for code, n in mix.items()]
    return rows


def test_the_probable_cause_names_the_values_that_account_for_the_extra_errors():
    anomalies = anomaly_rows([(0, "/a", "error_rate", 0.5, 0.01, "critical", 0.9999)])
    # before: errors 2/3 status 500, 1/3 503; during: 48 of 50 errors are 503, so 503 holds
    # 50 - 50/3 = 33.3 errors beyond its share, all of the change; 500 fell
    status = counts(before_and_during("/a", {0: {200: 50, 500: 2, 503: 48}}), "status_code")
    status = pd.concat([status, counts([(0, "/b", 500, 500)], "status_code")])  # not /a's
    reasons = counts(
        [(h, "/a", "pool exhausted", 1) for h in range(-24, 0)]
        + [(h, "/a", "upstream timeout", 1) for h in range(-24, 0, 2)]
        + [(0, "/a", "upstream timeout", 40), (0, "/a", "pool exhausted", 10)],
        "error_reason",
    )
    found = incidents(anomalies, status, reasons)
    assert found["probable_cause"].iloc[0] == (
        "error_rate 50.0% against 1.0% expected; "
        "100% of the extra errors are status 503; error reason upstream timeout 100%"
    )
    assert found["attribution"].iloc[0] == "status=503 100%; error reason=upstream timeout 100%"
    # without status or reason data, the cause is the deviation alone
    alone = incidents(anomalies)
    assert alone["probable_cause"].iloc[0] == "error_rate 50.0% against 1.0% expected"
    assert alone["attribution"].iloc[0] == ""


def test_a_share_that_rose_because_the_requests_fell_is_not_a_cause_of_the_drop():
    # the measured defect: requests at 0.23x their forecast, status 201 from 78.4% to 84.6%
    anomalies = anomaly_rows([(0, "/a", "requests", 130.0, 565.0, "high", 0.999)])
    status = counts(
        [(h, "/a", 201, 78) for h in range(-24, 0)]
        + [(h, "/a", 200, 22) for h in range(-24, 0)]
        + [(0, "/a", 201, 110), (0, "/a", 200, 20)],
        "status_code",
    )
    found = incidents(anomalies, status)
    assert found["probable_cause"].iloc[0] == "requests at 0.23x its forecast"
    assert found["attribution"].iloc[0] == ""
    # a region that lost its traffic is named, with its part of the missing requests
    regions = pd.DataFrame(
        {
            "hour_start": [T + h * H for h in range(-24, 1) for _ in range(2)],
            "region": ["eu-west", "us-east"] * 25,
            "requests": [50, 50] * 24 + [5, 125],
            "success_rate": 1.0,
        }
    )
    named = incidents(anomalies, status, region_hourly=regions)
    assert named["probable_cause"].iloc[0] == (
        "requests at 0.23x its forecast; 100% of the missing requests are region eu-west"
    )
    assert named["attribution"].iloc[0] == "region=eu-west 100%"


def test_no_anomalies_no_incidents():
    empty = incidents(anomaly_rows([]).iloc[0:0])
    assert empty.empty and "probable_cause" in empty.columns


def test_an_incident_is_open_while_the_next_hour_could_join_it_then_resolved():
    anomalies = anomaly_rows(
        [
            (0, "/a", "requests", 10.0, 100.0, "high", 0.995),
            (1, "/a", "requests", 12.0, 100.0, "high", 0.995),
            (3, "/b", "requests", 0.0, 50.0, "critical", 1.0),
        ]
    )
    # hour 3 is the newest scored: /b's incident may go on, /a's ended with hour 1
    found = incidents(anomalies, newest_hour=T + 3 * H)
    rows = found[["endpoint", "status", "resolved_at"]].values.tolist()
    assert rows[0] == ["/a", "resolved", T + 3 * H]  # hour 2 was scored back within forecast
    assert rows[1][:2] == ["/b", "open"] and pd.isna(rows[1][2])
    # by default the newest anomalous hour is the newest scored
    assert incidents(anomalies)["status"].tolist() == ["resolved", "open"]
    # an hour later /b is over too, at the end of the hour after it
    later = incidents(anomalies, newest_hour=T + 4 * H)
    assert later["status"].tolist() == ["resolved", "resolved"]
    assert later["resolved_at"].tolist() == [T + 3 * H, T + 5 * H]


def test_an_incident_id_depends_on_service_endpoint_and_start_only():
    one = incidents(anomaly_rows([(0, "/a", "requests", 10.0, 100.0, "high", 0.995)]))
    grown = incidents(
        anomaly_rows(
            [
                (0, "/a", "requests", 10.0, 100.0, "high", 0.995),
                (1, "/a", "error_rate", 0.3, 0.01, "critical", 0.9995),
            ]
        )
    )
    other = incidents(anomaly_rows([(0, "/b", "requests", 10.0, 100.0, "high", 0.995)]))
    assert one["incident_id"].iloc[0] == grown["incident_id"].iloc[0]
    assert one["incident_id"].iloc[0] == incident_id("shop", "/a", T)
    assert other["incident_id"].iloc[0] != one["incident_id"].iloc[0]
    assert len(one["incident_id"].iloc[0]) == 16


def test_a_total_its_endpoint_explains_is_that_incidents_impact_not_an_incident():
    anomalies = anomaly_rows(
        [
            (1, "/a", "requests", 10.0, 100.0, "high", 0.995),
            (2, "/a", "requests", 12.0, 100.0, "critical", 0.9995),
            (1, "*", "requests", 300.0, 1000.0, "medium", 0.97),
            (2, "*", "requests", 310.0, 1000.0, "medium", 0.97),
            (2, "*", "requests", 4000.0, 10000.0, "low", 0.92, "*"),
            (6, "*", "requests", 500.0, 1000.0, "high", 0.99),  # no endpoint moved with it
        ]
    )
    found = incidents(anomalies)
    columns = ["service", "endpoint", "start", "end", "hours", "peak_severity", "endpoints"]
    assert found[columns].values.tolist() == [
        ["shop", "*", T + 6 * H, T + 7 * H, 1, "high", "*"],
        ["shop", "/a", T + H, T + 3 * H, 2, "critical", "/a"],
    ]
    assert found["impact"].tolist() == [
        "",
        "shop * requests at 0.3x its forecast; * * requests at 0.4x its forecast",
    ]
    assert found["incident_id"].tolist() == [
        incident_id("shop", "*", T + 6 * H),
        incident_id("shop", "/a", T + H),
    ]
    assert found["probable_cause"].tolist() == [
        "requests at 0.5x its forecast",
        "requests at 0.11x its forecast",
    ]


def test_an_open_incident_keeps_its_key_as_endpoints_and_hours_join_it():
    rows = [
        (0, "*", "requests", 300.0, 1000.0, "medium", 0.97),  # the total leads
        (1, "*", "requests", 200.0, 1000.0, "high", 0.99),
        (1, "/a", "requests", 10.0, 100.0, "high", 0.995),
        (2, "/a", "requests", 12.0, 100.0, "critical", 0.9995),
    ]
    # hour by hour, as the hourly runs see it, then whole, as a backfill does
    seen = [incidents(anomaly_rows(rows[:n])) for n in (1, 3, 4)]
    key = incident_id("shop", "*", T)
    assert [frame["incident_id"].tolist() for frame in seen] == [[key], [key], [key]]
    assert [frame["endpoints"].tolist() for frame in seen] == [["*"], ["/a"], ["/a"]]
    assert seen[-1][["endpoint", "start", "end", "hours", "status"]].values.tolist() == [
        ["*", T, T + 3 * H, 3, "open"]
    ]
    assert seen[-1]["impact"].iloc[0] == "shop * requests at 0.25x its forecast"


def test_endpoints_of_a_service_whose_errors_share_a_status_are_one_incident():
    anomalies = anomaly_rows(
        [
            (0, "/a", "error_rate", 0.4, 0.01, "high", 0.999),
            (1, "/a", "error_rate", 0.45, 0.01, "high", 0.999),
            (1, "/b", "error_rate", 0.4, 0.01, "critical", 0.9999),  # joins an hour later
            (0, "/c", "error_rate", 0.4, 0.01, "high", 0.999),  # its own cause: status 500
            (0, "/d", "error_rate", 0.4, 0.01, "high", 0.999, "web"),  # another service
        ]
    )
    spike = {200: 50, 500: 1, 503: 40}
    status = counts(
        before_and_during("/a", {0: spike, 1: spike})
        + before_and_during("/b", {0: {200: 100, 500: 1}, 1: spike})
        + before_and_during("/c", {0: {200: 50, 500: 40}}),
        "status_code",
    )
    web = counts(before_and_during("/d", {0: spike}), "status_code").assign(service="web")
    found = incidents(anomalies, pd.concat([status, web], ignore_index=True))
    columns = ["service", "endpoint", "start", "end", "hours", "peak_severity", "endpoints"]
    assert found[columns].values.tolist() == [
        ["shop", "/a", T, T + 2 * H, 2, "critical", "/a,/b"],
        ["shop", "/c", T, T + H, 1, "high", "/c"],
        ["web", "/d", T, T + H, 1, "high", "/d"],
    ]
    assert found["attribution"].tolist() == [
        "status=503 100%",
        "status=500 100%",
        "status=503 100%",
    ]
    assert found["probable_cause"].iloc[0] == (
        "/a error_rate 42.5% against 1.0% expected; /b error_rate 40.0% against 1.0% expected; "
        "100% of the extra errors are status 503"
    )
    # hour 0 alone: /a's incident has the id it keeps when /b joins
    first = incidents(anomalies[anomalies["hour_start"] == T], status)
    assert first["incident_id"].iloc[0] == found["incident_id"].iloc[0]
    # without the status mix nothing says they share a cause: each is its own incident
    assert incidents(anomalies)["endpoints"].tolist() == ["/a", "/b", "/c", "/d"]


def test_a_rise_of_log_errors_names_the_template_that_holds_it():
    logged = anomaly_rows([(0, "(logs)", "log_errors", 100.0, 20.0, "high", 0.999)])
    minutely = pd.DataFrame(
        [
            (T + h * H, "shop", template, level, n)
            for h in range(-24, 0)
            for template, level, n in [("t1", "ERROR", 10), ("t2", "ERROR", 10), ("t3", "INFO", 50)]
        ]
        + [(T, "shop", "t1", "ERROR", 10), (T, "shop", "t2", "CRITICAL", 90)],
        columns=["minute_start", "service", "template_id", "level", "events"],
    )
    templates = pd.DataFrame(
        {"service": "shop", "template_id": ["t1", "t2"], "template": ["ok <*>", "pool <*> full"]}
    )
    found = incidents(logged, log_templates=templates, log_templates_minutely=minutely)
    # 100 errors against 20 an hour: t2 holds 90 - 50 = 40 beyond its half, all of the change
    assert found["probable_cause"].iloc[0] == (
        "log errors at 5x their forecast; 100% of the extra log errors are template 'pool <*> full'"
    )
    assert found["attribution"].iloc[0] == "template=t2 100%"


def test_an_incident_the_total_of_all_opened_names_its_endpoints_with_their_service():
    anomalies = anomaly_rows(
        [
            (0, "*", "requests", 400.0, 1000.0, "medium", 0.97, "*"),
            (1, "*", "requests", 300.0, 1000.0, "high", 0.99, "*"),
            (1, "/a", "requests", 10.0, 100.0, "high", 0.995),
        ]
    )
    found = incidents(anomalies)
    assert found[["service", "endpoint", "start", "endpoints", "impact"]].values.tolist() == [
        ["*", "*", T, "shop /a", "* * requests at 0.35x its forecast"]
    ]
    assert found["incident_id"].iloc[0] == incident_id("*", "*", T)
    assert found["probable_cause"].iloc[0] == "requests at 0.1x its forecast"


def test_a_second_burst_is_compared_with_the_normal_hours_not_with_the_first_burst():
    # two bursts of 503s on /a, 19 hours apart, both anomalies; the mix of the 24 hours
    # before the second holds the first, whose errors were 503s too
    anomalies = anomaly_rows(
        [
            (-19, "/a", "error_rate", 0.5, 0.01, "critical", 0.9999),
            (0, "/a", "error_rate", 0.5, 0.01, "critical", 0.9999),
            (-19, "/b", "requests", 5.0, 100.0, "critical", 0.9999),  # another endpoint's
        ]
    )
    # each hour {200: 100, 500: 1}; the first burst 1,000 503s, the second 48
    rows = [
        (h, "/a", code, n) for h in range(-48, 0) if h != -19 for code, n in ((200, 100), (500, 1))
    ]
    rows += [(-19, "/a", 200, 50), (-19, "/a", 503, 1000)]
    rows += [(0, "/a", 200, 50), (0, "/a", 500, 1), (0, "/a", 503, 48)]
    status = counts(rows, "status_code")
    found = incidents(anomalies, status).set_index("start")
    assert len(found) == 3
    second = found.loc[T, "probable_cause"]
    if isinstance(second, pd.Series):
        second = second[found.loc[T, "endpoint"] == "/a"].iloc[0]
    assert "of the extra errors are status 503" in second
    first = found[found["endpoint"] == "/a"].loc[T - 19 * H, "probable_cause"]
    assert "of the extra errors are status 503" in first


def spread_before_and_during(endpoint, during):
    """status_hourly rows of an endpoint whose errors are 4xx and 5xx: each hour before
    {200: 100, 400: 1, 404: 2, 500: 2, 502: 1}, a 503 every other hour and a 504 every third,
    then `during`: {hour: {code: requests}}."""
    mix = ((200, 100), (400, 1), (404, 2), (500, 2), (502, 1))
    rows = [(h, endpoint, code, n) for h in range(-24, 0) for code, n in mix]
    rows += [(h, endpoint, 503, 1) for h in range(-24, 0) if h % 2 == 0]
    rows += [(h, endpoint, 504, 1) for h in range(-24, 0) if h % 3 == 0]
    for hour, counted in during.items():
        rows += [(hour, endpoint, code, n) for code, n in counted.items()]
    return rows


def test_extra_errors_spread_over_the_5xx_codes_name_the_class_and_join_nothing():
    # two endpoints of one service, each with a burst of server errors over all four codes in
    # about their usual mix: no code holds enough of the change on its own, the class does;
    # a shared class is what any two error bursts show, so they stay two incidents
    anomalies = anomaly_rows(
        [
            (0, "/a", "error_rate", 0.3, 0.05, "high", 0.999),
            (0, "/b", "error_rate", 0.3, 0.05, "high", 0.999),
        ]
    )
    burst = {200: 100, 400: 1, 404: 2, 500: 14, 502: 6, 503: 5, 504: 3}
    status = counts(
        spread_before_and_during("/a", {0: burst}) + spread_before_and_during("/b", {0: burst}),
        "status_code",
    )
    found = incidents(anomalies, status)
    assert found["endpoints"].tolist() == ["/a", "/b"]
    assert (
        found["probable_cause"].tolist()
        == ["error_rate 30.0% against 5.0% expected; 100% of the extra errors are status 5xx"] * 2
    )
    assert found["attribution"].tolist() == ["status class=5xx 100%"] * 2
    # one code that holds the burst is named instead of its class, and is a shared cause
    burst = {200: 100, 400: 1, 404: 2, 500: 2, 502: 1, 503: 25}
    status = counts(
        spread_before_and_during("/a", {0: burst}) + spread_before_and_during("/b", {0: burst}),
        "status_code",
    )
    found = incidents(anomalies, status)
    assert found["endpoints"].tolist() == ["/a,/b"]
    assert found["attribution"].tolist() == ["status=503 100%"]
