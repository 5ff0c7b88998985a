import io
import math

import pandas as pd
import pytest

from transforms.synthetic import (
    CULPRIT_REGION,
    CULPRIT_STATUS,
    DEFAULT_KINDS,
    EVENT_COLUMNS,
    INCIDENT_KINDS,
    LABEL_COLUMNS,
    SHORT_LABEL_COLUMNS,
    SHORT_MINUTES,
    hourly_csv_files,
    synthetic_requests,
)

START = pd.Timestamp("2026-11-01", tz="UTC")  # a Sunday, so two full weekends follow
HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
HEADER = b"timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"


@pytest.fixture(scope="module")
def fortnight() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_requests(start=START, days=14, endpoints=5, seed=7)


@pytest.fixture(scope="module")
def five_days() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_requests(start=START, days=5, endpoints=5, seed=7)


def hourly(events: pd.DataFrame, days: int) -> pd.DataFrame:
    """One row per (endpoint, hour) over the whole range, hours without requests included."""
    grouped = events.assign(hour=events["timestamp"].dt.floor("h")).groupby(["endpoint", "hour"])
    table = pd.DataFrame(
        {
            "requests": grouped.size(),
            "share_5xx": grouped["status_code"].agg(lambda codes: (codes >= 500).mean()),
            "share_4xx": grouped["status_code"].agg(lambda codes: codes.between(400, 499).mean()),
        }
    )
    grid = pd.MultiIndex.from_product(
        [sorted(events["endpoint"].unique()), pd.date_range(START, periods=days * 24, freq="h")],
        names=["endpoint", "hour"],
    )
    return table.reindex(grid).fillna({"requests": 0})


def incident_rows(events: pd.DataFrame, label) -> pd.Series:
    return (
        (events["endpoint"] == label.endpoint)
        & (events["timestamp"] >= label.start)
        & (events["timestamp"] < label.end)
    )


def any_incident_rows(events: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    mask = pd.Series(False, index=events.index)
    for label in labels.itertuples():
        mask |= incident_rows(events, label)
    return mask


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    def render(seed: int) -> list[tuple[pd.Timestamp, bytes]]:
        events, _ = synthetic_requests(start=START, days=3, endpoints=3, seed=seed)
        return list(hourly_csv_files(events))

    first, again, other = render(7), render(7), render(8)
    assert len(first) == 72
    assert first == again
    assert [body for _, body in first] != [body for _, body in other]


def test_same_seed_gives_identical_labels():
    _, labels = synthetic_requests(start=START, days=6, endpoints=8, seed=3)
    _, again = synthetic_requests(start=START, days=6, endpoints=8, seed=3)
    pd.testing.assert_frame_equal(labels, again)


def test_events_have_the_documented_columns_and_dtypes(five_days):
    events, labels = five_days
    assert list(events.columns) == EVENT_COLUMNS
    assert str(events["timestamp"].dtype) == "datetime64[us, UTC]"
    assert events["response_time_ms"].dtype == "float64"
    assert events["status_code"].dtype == "int64"
    for column in ["endpoint", "user_id", "service", "region"]:
        assert pd.api.types.is_string_dtype(events[column]), column
    assert events["timestamp"].is_monotonic_increasing
    assert (events["response_time_ms"] > 0).all()
    assert events["user_id"].str.fullmatch(r"u\d{6}").all()
    assert set(events["region"]) == {"us-east-1", "eu-west-1", "ap-southeast-1"}
    assert events["status_code"].isin([200, 201, 204, 400, 401, 404, 429, 500, 502, 503, 504]).all()

    assert list(labels.columns) == LABEL_COLUMNS
    assert str(labels["start"].dtype) == "datetime64[us, UTC]"
    assert str(labels["end"].dtype) == "datetime64[us, UTC]"


def test_events_cover_exactly_the_requested_days_and_endpoints(five_days):
    events, _ = five_days
    assert events["timestamp"].min() >= START
    assert events["timestamp"].max() < START + 5 * DAY
    # Five endpoints together are never all silent, so every hour of the range is present.
    assert events["timestamp"].dt.floor("h").nunique() == 5 * 24
    assert events["endpoint"].nunique() == 5
    assert events.groupby("endpoint")["service"].nunique().eq(1).all()
    assert events["service"].nunique() >= 4


def test_the_catalogue_is_a_fixed_prefix_and_stays_distinct_up_to_fifty():
    few, _ = synthetic_requests(start=START, days=1, endpoints=3)
    more, _ = synthetic_requests(start=START, days=1, endpoints=5)
    many, labels = synthetic_requests(start=START, days=1, endpoints=50)
    assert set(few["endpoint"]) < set(more["endpoint"]) < set(many["endpoint"])
    assert many["endpoint"].nunique() == 50
    assert many["endpoint"].str.match(r"/api/v\d+/[a-z/]+$").all()
    assert labels.empty  # a single day leaves no room after the two history days


def test_endpoint_traffic_differs_by_endpoint(fortnight):
    events, labels = fortnight
    normal = events[~any_incident_rows(events, labels)]
    weekday_peak = hourly(normal, 14).query("hour.dt.day_of_week < 5 and hour.dt.hour == 15")
    peak = weekday_peak.groupby("endpoint")["requests"].mean()
    assert peak.between(25, 500).all()
    assert peak.max() > 1.5 * peak.min()


def test_every_kind_is_labelled_with_its_metric_and_duration(five_days):
    _, labels = five_days
    assert sorted(labels["kind"]) == sorted(DEFAULT_KINDS)
    for label in labels.itertuples():
        metric, shortest, longest = INCIDENT_KINDS[label.kind]
        assert label.metric == metric
        assert label.start == label.start.floor("h")
        assert label.end == label.end.floor("h")
        assert shortest * HOUR <= label.end - label.start <= longest * HOUR


@pytest.mark.parametrize(("days", "endpoints"), [(3, 1), (3, 5), (5, 5), (14, 5), (9, 12)])
def test_incidents_avoid_history_and_never_overlap_on_one_endpoint(days, endpoints):
    _, labels = synthetic_requests(start=START, days=days, endpoints=endpoints, seed=11)
    assert set(labels["kind"]) == set(DEFAULT_KINDS)
    assert (labels["start"] >= START + 2 * DAY).all()
    assert (labels["end"] <= START + days * DAY).all()
    for _, own in labels.sort_values("start").groupby("endpoint"):
        assert (own["start"].iloc[1:].to_numpy() >= own["end"].iloc[:-1].to_numpy()).all()
    if endpoints >= 5:
        assert labels["endpoint"].nunique() <= math.ceil(endpoints * 0.6)


def test_incident_count_scales_with_days(fortnight):
    _, labels = fortnight
    assert 6 <= len(labels) <= 8
    assert labels["endpoint"].nunique() == 3  # ceil(5 * 0.6), so two endpoints stay clean
    _, two_days = synthetic_requests(start=START, days=2, endpoints=5)
    assert two_days.empty


def test_outage_hours_have_no_requests_though_the_day_before_had(fortnight, five_days):
    checked = 0
    for events, labels in [fortnight, five_days]:
        for label in labels[labels["kind"] == "outage"].itertuples():
            assert not incident_rows(events, label).any()
            day_before = label._replace(start=label.start - DAY, end=label.end - DAY)
            assert incident_rows(events, day_before).sum() >= 10
            checked += 1
    assert checked >= 2


def test_error_burst_hours_have_a_much_higher_5xx_share(fortnight):
    events, labels = fortnight
    normal = ~any_incident_rows(events, labels)
    bursts = labels[labels["kind"] == "error_burst"]
    assert len(bursts) >= 1
    for label in bursts.itertuples():
        burst = events.loc[incident_rows(events, label), "status_code"]
        usual = events.loc[normal & (events["endpoint"] == label.endpoint), "status_code"]
        burst_share, usual_share = (burst >= 500).mean(), (usual >= 500).mean()
        assert burst_share >= 0.1
        assert burst_share >= 10 * usual_share


def test_latency_spike_hours_have_a_much_higher_p95(fortnight):
    events, labels = fortnight
    normal = ~any_incident_rows(events, labels)
    spikes = labels[labels["kind"] == "latency_spike"]
    assert len(spikes) >= 1
    for label in spikes.itertuples():
        spike = events.loc[incident_rows(events, label), "response_time_ms"]
        usual = events.loc[normal & (events["endpoint"] == label.endpoint), "response_time_ms"]
        assert spike.quantile(0.95) >= 2 * usual.quantile(0.95)


def test_traffic_drop_hours_have_far_fewer_requests_than_the_same_hours_usually(fortnight):
    events, labels = fortnight
    table = hourly(events[~any_incident_rows(events, labels)], 14).reset_index()
    drops = labels[labels["kind"] == "traffic_drop"]
    assert len(drops) >= 1
    for label in drops.itertuples():
        during = incident_rows(events, label).sum()
        hours = (label.end - label.start) // HOUR
        same_hours = table[
            (table["endpoint"] == label.endpoint)
            & ((table["hour"].dt.hour - label.start.hour) % 24 < hours)
            & ((table["hour"].dt.day_of_week >= 5) == (label.start.day_of_week >= 5))
            & (table["hour"].dt.floor("D") != label.start.floor("D"))
        ]
        usual = same_hours["requests"].sum() / same_hours["hour"].dt.floor("D").nunique()
        assert during <= 0.45 * usual


def test_weekends_are_quieter_than_weekdays(fortnight):
    events, _ = fortnight
    per_day = events.groupby(events["timestamp"].dt.floor("D")).size()
    weekend = per_day.index.day_of_week >= 5
    ratio = per_day[weekend].mean() / per_day[~weekend].mean()
    assert 0.55 <= ratio <= 0.75


def test_nights_are_quieter_than_days(fortnight):
    events, _ = fortnight
    per_hour = events.groupby(events["timestamp"].dt.floor("h")).size()
    hour_of_day = per_hour.index.hour
    night = per_hour[(hour_of_day >= 1) & (hour_of_day <= 4)].mean()
    day = per_hour[(hour_of_day >= 13) & (hour_of_day <= 16)].mean()
    assert night < 0.4 * day


def test_normal_hours_have_realistic_errors_latency_and_repeat_users(fortnight):
    events, labels = fortnight
    normal = events[~any_incident_rows(events, labels)]
    by_endpoint = normal.groupby("endpoint")
    share_4xx = by_endpoint["status_code"].agg(lambda codes: codes.between(400, 499).mean())
    share_5xx = by_endpoint["status_code"].agg(lambda codes: (codes >= 500).mean())
    assert share_4xx.between(0.005, 0.04).all()
    assert share_5xx.between(0.0003, 0.015).all()
    median = by_endpoint["response_time_ms"].median()
    p99 = by_endpoint["response_time_ms"].quantile(0.99)
    assert median.between(25, 330).all()
    assert (p99 / median).between(2.2, 5.0).all()
    requests_per_user = events["user_id"].value_counts()
    assert requests_per_user.size < len(events) / 3
    assert (requests_per_user >= 10).sum() >= 100
    assert requests_per_user.iloc[0] < 0.05 * len(events)


def test_csv_renders_the_header_and_exact_lines_one_file_per_hour():
    events = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2026-11-08T14:00:00.5", "2026-11-08T13:04:05.123456", "2026-11-08T13:59:59.999"],
                utc=True,
            ).as_unit("us"),
            "endpoint": ["/api/v1/search", "/api/v1/orders", "/api/v1/orders"],
            "response_time_ms": [1234.5, 87.26, 12.0],
            "status_code": [200, 503, 201],
            "user_id": ["u000007", "u000123", "u000123"],
            "service": ["search", "checkout", "checkout"],
            "region": ["eu-west-1", "us-east-1", "us-east-1"],
        }
    )
    files = list(hourly_csv_files(events))
    assert [hour for hour, _ in files] == [
        pd.Timestamp("2026-11-08T13:00", tz="UTC"),
        pd.Timestamp("2026-11-08T14:00", tz="UTC"),
    ]
    assert files[0][1] == HEADER + (
        b"2026-11-08T13:04:05.123Z,/api/v1/orders,87.3,503,u000123,checkout,us-east-1\n"
        b"2026-11-08T13:59:59.999Z,/api/v1/orders,12.0,201,u000123,checkout,us-east-1\n"
    )
    assert files[1][1] == HEADER + (
        b"2026-11-08T14:00:00.500Z,/api/v1/search,1234.5,200,u000007,search,eu-west-1\n"
    )


def test_csv_files_parse_back_to_the_events():
    events, _ = synthetic_requests(start=START, days=3, endpoints=4, seed=5)
    parts = []
    for hour, body in hourly_csv_files(events):
        assert body.startswith(HEADER)
        part = pd.read_csv(io.BytesIO(body))
        part["timestamp"] = pd.to_datetime(part["timestamp"], utc=True).dt.as_unit("us")
        assert part["timestamp"].ge(hour).all() and part["timestamp"].lt(hour + HOUR).all()
        parts.append(part)
    parsed = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(parsed, events, check_dtype=False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"start": pd.Timestamp("2026-11-01"), "days": 3, "endpoints": 5}, "tz-aware"),
        ({"start": START + HOUR, "days": 3, "endpoints": 5}, "midnight"),
        ({"start": START, "days": 0, "endpoints": 5}, "days"),
        ({"start": START, "days": 3, "endpoints": 0}, "endpoints"),
        ({"start": START, "days": 3, "endpoints": 51}, "endpoints"),
    ],
)
def test_invalid_arguments_are_rejected_with_a_sentence(arguments, message):
    with pytest.raises(ValueError, match=message):
        synthetic_requests(**arguments)


def test_drift_and_peak_kinds_when_asked_for():
    events, labels = synthetic_requests(
        start=START, days=12, endpoints=4, seed=5, kinds=("latency_drift", "peak_spike")
    )
    assert set(labels["kind"]) == {"latency_drift", "peak_spike"}
    for label in labels[labels["kind"] == "latency_drift"].itertuples():
        rows = events[incident_rows(events, label)]
        by_hour = rows.groupby(rows["timestamp"].dt.floor("h"))["response_time_ms"].median()
        assert by_hour.iloc[-1] >= 2 * by_hour.iloc[0]  # creeping up, not a step
    for label in labels[labels["kind"] == "peak_spike"].itertuples():
        hours = pd.date_range(label.start, label.end, freq="h", inclusive="left")
        assert all(9 <= h.hour <= 21 for h in hours)  # around the 15:00 peak
    with pytest.raises(ValueError, match="kinds must be among"):
        synthetic_requests(start=START, days=3, endpoints=2, kinds=("meteor",))


def test_regional_errors_fail_one_regions_requests_with_503_and_no_other_regions():
    kinds = ("regional_errors", "latency_spike")
    events, labels = synthetic_requests(start=START, days=8, endpoints=4, seed=5, kinds=kinds)
    regional = labels[labels["kind"] == "regional_errors"]
    assert len(regional) >= 1 and set(regional["metric"]) == {"error_rate"}
    for label in regional.itertuples():
        rows = events[incident_rows(events, label)]
        culprit = rows["region"] == CULPRIT_REGION
        failed = rows["status_code"] == CULPRIT_STATUS
        assert failed[culprit].all()  # every one of them
        assert failed[~culprit].mean() <= 0.05  # the other regions as usual
    # the same seed and kinds, the same requests
    same_kinds, _ = synthetic_requests(start=START, days=8, endpoints=4, seed=5, kinds=kinds)
    pd.testing.assert_frame_equal(same_kinds, events)


SHORTS = ("short_outage", "short_spike")


@pytest.fixture(scope="module")
def with_shorts() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_requests(
        start=START, days=6, endpoints=3, seed=7, kinds=(*DEFAULT_KINDS, *SHORTS), traffic=10
    )


def test_short_kinds_are_injected_only_when_asked_for(fortnight):
    _, labels = fortnight
    assert not labels["kind"].isin(SHORTS).any()
    assert list(labels.columns) == LABEL_COLUMNS


def test_short_kinds_leave_the_hour_level_incidents_as_they_were():
    _, plain = synthetic_requests(start=START, days=6, endpoints=3, seed=7)
    _, labels = synthetic_requests(
        start=START, days=6, endpoints=3, seed=7, kinds=(*DEFAULT_KINDS, *SHORTS)
    )
    hour_level = labels[~labels["kind"].isin(SHORTS)][LABEL_COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(hour_level, plain)


def test_short_episodes_are_labelled_to_the_minute(with_shorts):
    _, labels = with_shorts
    shorts = labels[labels["kind"].isin(SHORTS)]
    assert len(shorts) >= 3
    assert list(labels.columns) == [*LABEL_COLUMNS, *SHORT_LABEL_COLUMNS]
    minutes = (shorts["episode_end"] - shorts["episode_start"]) / pd.Timedelta(minutes=1)
    assert minutes.between(*SHORT_MINUTES).all()
    assert (shorts["start"] == shorts["episode_start"].dt.floor("h")).all()
    assert (shorts["end"] == shorts["episode_end"].dt.ceil("h")).all()
    assert (shorts["metric"] == "requests").all()
    assert labels[~labels["kind"].isin(SHORTS)]["episode_start"].isna().all()
    # a day or more apart on an endpoint: the one before would be a precedent
    for _, own in shorts.groupby("endpoint"):
        assert (own["episode_start"].diff().dropna() >= pd.Timedelta(hours=25)).all()


def test_a_short_outage_has_no_request_and_a_short_spike_triples_the_traffic(with_shorts):
    events, labels = with_shorts
    minute = pd.Timedelta(minutes=1)
    for label in labels[labels["kind"].isin(SHORTS)].itertuples():
        own = events[events["endpoint"] == label.endpoint]["timestamp"]
        during = own.between(label.episode_start, label.episode_end, inclusive="left").sum()
        before = own.between(
            label.episode_start - 30 * minute, label.episode_start, inclusive="left"
        ).sum()
        per_minute = during / ((label.episode_end - label.episode_start) / minute)
        if label.kind == "short_outage":
            assert during == 0
        else:
            assert per_minute > 2 * before / 30
