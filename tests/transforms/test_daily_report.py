"""transforms.daily_report: the page's charts and the insight sentences."""

import re

import numpy as np
import pandas as pd

from transforms.daily_report import ReportData, insights, render

DAY = pd.Timestamp("2026-11-03", tz="UTC")


def data(**overrides) -> ReportData:
    hours = pd.date_range(DAY - pd.Timedelta(days=6), DAY + pd.Timedelta(days=1), freq="h",
                          inclusive="left")  # fmt: skip
    rows = []
    for endpoint, p95 in (("/orders", 120.0), ("/search", 300.0)):
        for metric, value in (("latency_p95_ms", p95), ("error_rate", 0.02), ("requests", 100.0)):
            rows.append(
                pd.DataFrame(
                    {
                        "hour_start": hours,
                        "service": "shop",
                        "endpoint": endpoint,
                        "metric": metric,
                        "actual": value,
                        "yhat": value,
                        "yhat_lower": value * 0.8,
                        "yhat_upper": value * 1.2,
                        "score": 0.0,
                        "surprise": 0.3,
                        "is_anomaly": False,
                        "method": "prophet",
                    }
                )
            )
    forecasts = pd.concat(rows, ignore_index=True)
    spike = forecasts.iloc[[0]].assign(
        hour_start=DAY + pd.Timedelta(hours=14), actual=900.0, score=0.999, is_anomaly=True,
        direction="spike", kind="deviation", severity="critical", metric="latency_p95_ms",
        endpoint="/search",
    )  # fmt: skip
    daily = pd.DataFrame(
        {
            "day_start": [DAY - pd.Timedelta(days=1)] * 2 + [DAY] * 2,
            "service": "shop",
            "endpoint": ["/orders", "/search"] * 2,
            "requests": [2000, 1000, 2400, 1000],
            "status_2xx": [1960, 980, 2300, 900],
            "status_3xx": [0, 0, 0, 0],
            "status_4xx": [40, 20, 50, 40],
            "status_5xx": [0, 0, 50, 60],
            "error_rate": [0.02, 0.02, 100 / 2400, 0.1],
            "latency_avg_ms": [60.0, 150.0, 61.0, 180.0],
            "latency_p95_ms": [120.0, 300.0, 121.0, 420.0],
        }
    )
    traffic = pd.DataFrame(
        {
            "hour_start": pd.date_range(DAY, periods=24, freq="h"),
            "requests": np.arange(24) * 10 + 10,
        }
    )
    traffic["share_of_day"] = traffic["requests"] / traffic["requests"].sum()
    traffic["rank_in_day"] = traffic["requests"].rank(ascending=False, method="min").astype(int)
    values = dict(
        day=DAY,
        forecasts=forecasts,
        anomalies=spike,
        endpoint_daily=daily,
        traffic_hourly=traffic,
        error_reasons=pd.DataFrame(
            {
                "hour_start": [DAY + pd.Timedelta(hours=14)] * 2,
                "service": "shop",
                "endpoint": "/search",
                "error_reason": ["db timeout", "bad token"],
                "requests": [55, 5],
            }
        ),
        incidents=pd.DataFrame(
            {
                "service": ["shop"],
                "endpoint": ["/search"],
                "start": [DAY + pd.Timedelta(hours=14)],
                "end": [DAY + pd.Timedelta(hours=15)],
                "hours": [1],
                "peak_severity": ["critical"],
                "max_score": [0.999],
                "metrics": ["latency_p95_ms"],
                "probable_cause": [
                    "latency_p95_ms at 3x its forecast; top error reason 'db timeout'"
                ],
            }
        ),
        quarantine=pd.DataFrame(
            {
                "source_file": ["a.csv", "a.csv", "b.csv"],
                "line_number": [3, 9, 1],
                "raw": ["x", "y", "z"],
                "reasons": ["status_code: not a number", "status_code: not a number; ts", "ts"],
                "source": "api",
                "ingested_at": DAY,
            }
        ),
    )
    values.update(overrides)
    return ReportData(**values)


def test_the_page_has_every_chart_and_no_external_resource():
    report = data()
    page = render(report, generated_at=DAY + pd.Timedelta(days=1))
    charts = re.findall(r'<svg data-chart="([^"]+)"', page)
    assert charts == report.charts == [
        "latency-shop-/orders", "latency-shop-/search", "error-rate", "endpoint-latency",
        "hourly-traffic", "status-mix", "error-reasons",
    ]  # fmt: skip
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page
    # the spike is marked on the /search chart, with its severity
    search = page.split('data-chart="latency-shop-/search"')[1].split("</svg>")[0]
    assert "<circle" in search and "critical spike" in search
    assert "db timeout" in page and "a.csv" in page


def test_insights_name_the_endpoint_the_distance_the_time_and_the_errors():
    sentences = insights(data())
    assert sentences[0] == (
        "shop /search: critical incident from 14:00 to 15:00 UTC (1 h): latency_p95_ms at 3x "
        "its forecast; top error reason 'db timeout'."
    )
    assert "3,400 requests with an error rate of 5.88%, +13% requests" in sentences[1]
    assert sentences[2].startswith("Slowest endpoint: shop /search with a p95 of 420 ms")
    assert sentences[3] == "Peak hour: 23:00 UTC with 240 requests (8.0% of the day)."
    assert sentences[-1] == (
        "3 records quarantined from 2 files; most common reason: status_code: not a number (2)."
    )


def test_a_quiet_day_says_so_and_still_renders():
    quiet = data(
        anomalies=data().anomalies.iloc[0:0],
        incidents=data().incidents.iloc[0:0],
        quarantine=data().quarantine.iloc[0:0],
        error_reasons=data().error_reasons.iloc[0:0],
    )
    sentences = insights(quiet)
    assert "No anomaly: every scored series stayed inside its forecast interval." in sentences
    page = render(quiet, generated_at=DAY)
    assert "No incident started this day." in page and "no error reasons logged" in page
    assert len(re.findall(r"<svg data-chart=", page)) == 7


def test_an_incident_of_several_endpoints_names_them_and_the_totals_it_moved():
    merged = data().incidents.assign(
        endpoints="/search,/cart", impact="shop * requests at 0.4x its forecast"
    )
    sentence = insights(data(incidents=merged))[0]
    assert sentence.startswith("shop /search, /cart: critical incident from 14:00 to 15:00 UTC")
    assert sentence.endswith(
        "top error reason 'db timeout'; it moved shop * requests at 0.4x its forecast."
    )
    page = render(data(incidents=merged), generated_at=DAY)
    assert "/search, /cart" in page and "shop * requests at 0.4x its forecast" in page
