"""The pipeline's incidents against injected events (transforms.evaluation.grouping), on
hand-made incidents: one per event, duplicates across the hierarchy, the culprit named."""

import pandas as pd

from transforms.evaluation.grouping import incidents_of_events, stray_incidents

T = pd.Timestamp("2026-11-03T10:00:00Z")
H = pd.Timedelta(hours=1)
SERVICE_OF = {"/orders": "checkout", "/cart": "checkout", "/search": "search"}


def incident(key, service, endpoint, start, hours, cause="", endpoints=None, attribution=""):
    return {
        "incident_id": key,
        "service": service,
        "endpoint": endpoint,
        "endpoints": endpoints if endpoints is not None else endpoint,
        "start": start,
        "end": start + hours * H,
        "probable_cause": cause,
        "attribution": attribution,
    }


def labels(*rows):
    return pd.DataFrame(
        [{"endpoint": e, "kind": k, "start": s, "end": s + h * H} for e, k, s, h in rows]
    )


def test_each_event_counts_the_incidents_that_hold_its_endpoint_in_its_hours():
    found = pd.DataFrame(
        [
            incident("a", "checkout", "/orders", T, 2, "82% of the extra errors are status 503"),
            # the service's total opened again for the same event: a duplicate
            incident("b", "checkout", "*", T + H, 1, "errors at 3x"),
            # an incident listing /cart among its endpoints
            incident(
                "c",
                "checkout",
                "/orders",
                T + 6 * H,
                1,
                "requests at 0.1x",
                endpoints="/orders,/cart",
            ),  # fmt: skip
            incident("d", "search", "/search", T + 20 * H, 1, "stray"),
        ]
    )
    events = labels(
        ("/orders", "error_burst", T, 2),
        ("/cart", "outage", T + 6 * H, 1),
        ("/search", "latency_spike", T + 3 * H, 1),  # missed
    )
    got = incidents_of_events(found, events, SERVICE_OF)
    assert got["incidents"].tolist() == [2, 1, 0]
    assert got["incident_ids"].tolist() == ["a,b", "c", ""]
    # the duplicate's cause names no status: not every incident of the event names its culprit
    assert got["culprit"].tolist() == [False, None, None]
    alone = incidents_of_events(found[found["incident_id"] != "b"], events, SERVICE_OF)
    assert alone["culprit"].tolist() == [True, None, None]
    assert stray_incidents(found, events, SERVICE_OF)["incident_id"].tolist() == ["d"]


def test_a_regional_culprit_needs_the_region_and_the_status_named_in_cause_or_attribution():
    events = labels(("/orders", "regional_errors", T, 1))
    both = incident("a", "checkout", "/orders", T, 1, "70% of the extra errors are status 503",
                    attribution="status=503 70%; region=eu-west-1 64%")  # fmt: skip
    cause = "70% of the extra errors are status 503; region eu-west-1 64%"
    named = incident("a", "checkout", "/orders", T, 1, cause)
    half = incident("a", "checkout", "/orders", T, 1, "70% of the extra errors are status 503")
    for row, expected in ((named, True), (half, False), (both, True)):
        assert (
            incidents_of_events(pd.DataFrame([row]), events, SERVICE_OF)["culprit"][0] == expected
        )
    missing = incidents_of_events(pd.DataFrame(columns=list(both)), events, SERVICE_OF)
    assert missing["incidents"].tolist() == [0] and missing["culprit"].tolist() == [False]


def test_an_error_burst_culprit_is_a_server_error_code_or_the_server_error_class():
    # the synthetic burst spreads its errors over 500, 502, 503 and 504: the class is its cause
    events = labels(("/orders", "error_burst", T, 1))
    for cause, attribution, expected in (
        ("53% of the extra errors are status 500", "", True),
        ("100% of the extra errors are status 5xx", "", True),
        ("error_rate 9.1% against 4.0% expected", "status class=5xx 100%", True),
        ("100% of the extra errors are status 4xx", "status class=4xx 100%", False),
        ("100% of the extra errors are status 429", "", False),
    ):
        row = incident("a", "checkout", "/orders", T, 1, cause, attribution=attribution)
        got = incidents_of_events(pd.DataFrame([row]), events, SERVICE_OF)
        assert got["culprit"][0] == expected, cause
