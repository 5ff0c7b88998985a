"""Short episodes as the hourly scoring reads and writes them: endpoint_minutely read from the
warehouse with its context hours, judged against the hours' forecasts, and the anomalies of
kind short published through the same checks as the rest."""

import numpy as np
import pandas as pd
import pytest

from flows.compute import short_anomalies
from schemas.forecasts import Anomaly
from transforms.short import CONTEXT_HOURS
from warehouse.catalog import Catalog
from warehouse.layout import Layout, hour_partition
from warehouse.publish import Batch
from warehouse.tables import read_hours

START = pd.Timestamp("2026-11-02T00:00:00Z")
SCORED = START + pd.Timedelta(hours=CONTEXT_HOURS)
H = pd.Timedelta(hours=1)


def minutely(hours: int, outage: slice) -> pd.DataFrame:
    """Two endpoints' minutes at about 80 requests a minute; /pay has no request in `outage`
    (minutes since START)."""
    rng = np.random.default_rng(5)
    minutes = pd.date_range(START, periods=hours * 60, freq="min")
    frames = []
    for endpoint in ("/pay", "/cart"):
        requests = rng.poisson(80, len(minutes))
        if endpoint == "/pay":
            requests[outage] = 0
        keep = requests > 0
        p95 = 150 * np.exp(0.05 * rng.standard_normal(len(minutes)))
        frames.append(
            pd.DataFrame(
                {
                    "minute_start": minutes[keep].as_unit("us"),
                    "service": "checkout",
                    "endpoint": endpoint,
                    "requests": requests[keep],
                    "errors": rng.binomial(requests[keep], 0.01),
                    "latency_p50_ms": p95[keep] / 2,
                    "latency_p95_ms": p95[keep],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def forecasts(hours: pd.DatetimeIndex) -> pd.DataFrame:
    rows = []
    for hour in hours:
        for endpoint in ("/pay", "/cart"):
            for metric, yhat in (
                ("requests", 4800.0),
                ("error_rate", 0.01),
                ("latency_p95_ms", 150.0),
            ):
                rows.append(
                    {
                        "hour_start": hour,
                        "service": "checkout",
                        "endpoint": endpoint,
                        "metric": metric,
                        "yhat": yhat,
                        "yhat_lower": yhat * 0.8,
                        "yhat_upper": yhat * 1.2,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def warehouse(tmp_path):
    layout = Layout(tmp_path / "warehouse")
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    # an 8-minute outage of /pay in the second scored hour
    frame = minutely(
        CONTEXT_HOURS + 2, slice((CONTEXT_HOURS + 1) * 60 + 30, (CONTEXT_HOURS + 1) * 60 + 38)
    )
    batch = Batch(layout, catalog, "r1")
    hour = frame["minute_start"].dt.floor("h")
    for start in sorted(hour.unique()):
        batch.add("endpoint_minutely", hour_partition(start), frame[hour == start])
    batch.check_and_publish()
    return layout, catalog


def test_the_scored_hours_read_their_context_from_the_warehouse_and_publish(warehouse):
    layout, catalog = warehouse
    hours = pd.DatetimeIndex([SCORED, SCORED + H])
    found = short_anomalies(layout, forecasts(hours), hours)
    assert list(
        zip(
            found["hour_start"], found["endpoint"], found["metric"], found["direction"], strict=True
        )
    ) == [(SCORED + H, "/pay", "short:requests", "drop")]
    # hour by hour, as the hourly schedule scores them: the same rows
    one_by_one = pd.concat(
        [short_anomalies(layout, forecasts(hours[i : i + 1]), hours[i : i + 1]) for i in range(2)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(found, one_by_one)
    batch = Batch(layout, catalog, "r2")
    batch.add("anomalies", hour_partition(SCORED + H), found)
    assert batch.check_and_publish() == {"anomalies": 1}
    stored = read_hours(layout, "anomalies", SCORED, SCORED + 2 * H)
    assert list(stored[Anomaly.kind]) == ["short"]
    assert list(stored[Anomaly.method]) == ["minutely"]
