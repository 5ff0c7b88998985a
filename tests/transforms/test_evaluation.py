import pandas as pd

from transforms.evaluation import incident_matches, unexplained_anomalies


def ts(text):
    return pd.Timestamp(text, tz="UTC")


LABELS = pd.DataFrame(
    {
        "endpoint": ["/a", "/b"],
        "metric": ["requests", "error_rate"],
        "start": [ts("2026-11-03 09:00"), ts("2026-11-04 12:00")],
        "end": [ts("2026-11-03 11:00"), ts("2026-11-04 13:00")],
        "kind": ["outage", "error_burst"],
    }
)


def anomalies(rows):
    return pd.DataFrame(
        {
            "endpoint": [r[0] for r in rows],
            "hour_start": [ts(r[1]) for r in rows],
            "metric": [r[2] for r in rows],
        }
    )


def test_incident_matches_first_flag_and_delay():
    found = incident_matches(
        anomalies(
            [("/a", "2026-11-03 10:00", "requests"), ("/a", "2026-11-03 09:00", "latency_p95_ms")]
        ),
        LABELS,
    )
    assert found["detected"].tolist() == [True, False]
    assert found["first_flag"].iloc[0] == ts("2026-11-03 09:00")
    assert found["delay_hours"].iloc[0] == 0
    assert found["metrics_flagged"].iloc[0] == "latency_p95_ms,requests"


def test_tolerance_extends_the_window_after_the_end_only():
    late = anomalies(
        [("/b", "2026-11-04 13:00", "error_rate"), ("/a", "2026-11-03 08:00", "requests")]
    )
    assert incident_matches(late, LABELS)["detected"].tolist() == [False, False]
    matched = incident_matches(late, LABELS, tolerance=pd.Timedelta(hours=1))
    assert matched["detected"].tolist() == [False, True]


def test_unexplained_anomalies_are_the_false_alarms():
    flagged = anomalies(
        [
            ("/a", "2026-11-03 09:00", "requests"),
            ("/c", "2026-11-03 09:00", "requests"),
            ("/b", "2026-11-01 00:00", "requests"),
            ("*", "2026-11-03 10:00", "requests"),  # a total during /a's outage
            ("*", "2026-11-02 10:00", "requests"),
        ]
    )
    assert unexplained_anomalies(flagged, LABELS)["endpoint"].tolist() == ["/c", "/b", "*"]
    assert unexplained_anomalies(flagged, LABELS)["hour_start"].iloc[-1] == ts("2026-11-02 10:00")


def test_alarms_merge_an_endpoints_flagged_hours_across_metrics():
    from transforms.evaluation import alarm_events

    flagged = anomalies(
        [
            ("/a", "2026-11-03 09:00", "requests"),
            ("/a", "2026-11-03 09:00", "error_rate"),  # same hour, other metric: one page
            ("/a", "2026-11-03 10:00", "requests"),
            ("/a", "2026-11-03 13:00", "requests"),  # two quiet hours later: a new alarm
            ("/b", "2026-11-03 10:00", "requests"),
        ]
    )
    alarms = alarm_events(flagged)
    assert alarms.values.tolist() == [
        ["/a", ts("2026-11-03 09:00"), ts("2026-11-03 11:00"), 2],
        ["/a", ts("2026-11-03 13:00"), ts("2026-11-03 14:00"), 1],
        ["/b", ts("2026-11-03 10:00"), ts("2026-11-03 11:00"), 1],
    ]


def test_incident_scores_count_incidents_found_and_alarms_that_were_real():
    from transforms.evaluation import incident_scores

    flagged = anomalies(
        [
            ("/a", "2026-11-03 10:00", "requests"),  # inside /a's outage, one hour late
            ("/a", "2026-11-03 12:00", "requests"),  # within the 2 h after it: recovery
            ("/b", "2026-11-05 08:00", "error_rate"),  # nothing there: a false alarm
        ]
    )
    scores = incident_scores(flagged, LABELS, tolerance=pd.Timedelta(hours=2))
    assert scores["detected"] == 1 and scores["recall"] == 0.5
    assert scores["alarms"] == 3 and scores["true_alarms"] == 2
    assert scores["precision"] == 2 / 3
    assert scores["f1"] == 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5)
    assert scores["median_delay_hours"] == 1.0
