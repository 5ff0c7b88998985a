"""The newest hour scored, and how far back scoring rewrites incidents still open."""

import pandas as pd

from flows.compute import OPEN_LOOKBACK, open_incidents_since
from transforms.incidents import incidents
from warehouse.layout import Layout
from warehouse.storage import write_parquet
from warehouse.tables import newest_hour

T = pd.Timestamp("2026-11-03T10:00:00Z")
H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)


def anomaly(hour):
    return {
        "hour_start": hour, "service": "shop", "endpoint": "/a", "metric": "requests",
        "actual": 0.0, "yhat": 50.0, "yhat_lower": 40.0, "yhat_upper": 60.0, "score": 1.0,
        "surprise": 9.0, "direction": "drop", "kind": "availability", "severity": "critical",
        "method": "prophet",
    }  # fmt: skip


def write_incident(layout, last, newest):
    """The incident of /a from T to its `last` anomalous hour, as scoring `newest` wrote it."""
    rows = pd.DataFrame([anomaly(h) for h in pd.date_range(T, last, freq="h")])
    found = incidents(rows, newest_hour=newest)
    write_parquet(found, layout.part_file("incidents", f"date={T:%Y-%m-%d}"))
    return found


def test_newest_hour_is_the_newest_partition_with_its_file(tmp_path):
    layout = Layout(tmp_path)
    assert newest_hour(layout, "forecasts") is None
    for hour in (T, T + H, T + D):
        frame = pd.DataFrame({"x": [1]})
        write_parquet(frame, layout.hour_dir("forecasts", hour) / "part-0.parquet")
    (layout.hour_dir("forecasts", T + D + H)).mkdir(parents=True)  # no file: not scored
    assert newest_hour(layout, "forecasts") == T + D


def test_scoring_rewrites_an_incident_that_was_open_when_last_written(tmp_path):
    layout = Layout(tmp_path)
    day = T.floor("D") + 3 * D  # scoring a day whose window no longer reaches T's day
    assert open_incidents_since(layout, day) == day
    # written while it went on: still open then, so its day is rewritten
    assert write_incident(layout, T + 5 * H, T + 5 * H)["status"].tolist() == ["open"]
    assert open_incidents_since(layout, day) == T.floor("D")
    # written once it was over: nothing older to rewrite
    assert write_incident(layout, T + 29 * H, T + 30 * H)["status"].tolist() == ["resolved"]
    assert open_incidents_since(layout, day) == day
    # beyond the look-back it is not searched
    write_incident(layout, T + 5 * H, T + 5 * H)
    assert open_incidents_since(layout, T.floor("D") + OPEN_LOOKBACK + 2 * D) == (
        T.floor("D") + OPEN_LOOKBACK + 2 * D
    )
