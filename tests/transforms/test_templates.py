"""Message templates: masking, Drain mining on hand-written messages, the template tables
given -> expected, and `log_templates_minutely` equal to DuckDB SQL (masking and counting in
DuckDB) over the same rows (hypothesis)."""

import json

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.oracle import TEMPLATES_MINUTELY_SQL
from schemas.templates import LogMessagesHourly, LogTemplates, LogTemplatesMinutely
from tests.helpers import examples
from transforms.templates import (
    MASKING,
    log_messages_hourly,
    log_templates,
    log_templates_minutely,
    mask_codes,
    mask_messages,
    mine,
    mine_templates,
    template_id,
)

T0 = pd.Timestamp("2026-11-01T10:00:00Z")


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("payment failed for order 123", "payment failed for order <NUM>"),
        ("retry 3 of 5, score -1.5", "retry <NUM> of <NUM>, score <NUM>"),
        ("ptr 0x7fff5fbff8a8 digest 9f86d081884c", "ptr <HEX> digest <HEX>"),
        ("request 550e8400-e29b-41d4-a716-446655440000 done", "request <UUID> done"),
        ("from 10.0.0.12:8080 to 192.168.1.1", "from <IP> to <IP>"),
        ("peer fe80::1ff:fe23:4567:890a and 2001:db8::1", "peer <IP> and <IP>"),
        ("open /var/log/app.log failed", "open <PATH> failed"),
        ("path=/api/v1/users/42 ok", "path=<PATH> ok"),
        ("mail to jane.doe+x@example.co.uk bounced", "mail to <EMAIL> bounced"),
        ("took 250ms, then 1.5 s", "took <DURATION>, then <DURATION>"),
        ("at 2024-05-26T11:42:52.123Z and 12:30:45", "at <TS> and <TS>"),
        ("on 2024-05-26, version 1.2.3", "on <TS>, version <NUM>"),
        ("fetch https://example.com/a?b=1 failed", "fetch <URL> failed"),
        ("nic 00:1a:2b:3c:4d:5e up", "nic <MAC> up"),
        ("connect db.example.com:5432 refused", "connect <HOST> refused"),
        ("words stay: v2 id123 cafe facade", "words stay: v2 id123 cafe facade"),
    ],
)
def test_masking_replaces_variable_parts(message, masked):
    assert mask_messages([message]).to_pylist() == [masked]


def test_masks_are_drain3_masking_instructions_and_nulls_stay_null():
    assert {m.mask_with for m in MASKING} >= {"NUM", "HEX", "UUID", "IP", "PATH", "EMAIL", "TS"}
    assert mask_messages(["a 1", None]).to_pylist() == ["a <NUM>", None]
    codes, masked = mask_codes(pa.array(["a 1", "a 2", None, "b"]))
    assert masked.to_pylist() == ["a <NUM>", "b"] and codes.tolist() == [0, 0, -1, 1]


def test_drain_groups_hand_written_messages_whatever_their_order():
    messages = [
        "payment failed for order <NUM>",
        "user alice logged in from <IP>",
        "user bob logged in from <IP>",
        "cache warmed in <DURATION>",
        "user carol logged out",
    ]
    templates = mine(messages)
    assert templates == [
        "payment failed for order <NUM>",
        "user <*> logged in from <IP>",
        "user <*> logged in from <IP>",
        "cache warmed in <DURATION>",
        "user carol logged out",
    ]
    assert mine(messages[::-1]) == templates[::-1]  # sorted first: the order given is moot


def test_mined_ids_are_a_hash_of_service_and_template_and_services_are_mined_apart():
    vocabulary = pd.DataFrame(
        {
            "service": ["b", "a", "a", "b"],
            "message": ["job <NUM> done", "user x in", "user y in", "user x in"],
        }
    )
    mapping = mine_templates(vocabulary)
    assert mapping[["service", "message", "template"]].values.tolist() == [
        ["a", "user x in", "user <*> in"],
        ["a", "user y in", "user <*> in"],
        ["b", "job <NUM> done", "job <NUM> done"],
        ["b", "user x in", "user x in"],  # alone in b: not generalised
    ]
    assert mapping["template_id"].tolist()[0] == template_id("a", "user <*> in")
    assert template_id("a", "t") != template_id("b", "t") and len(template_id("a", "t")) == 16
    assert mine_templates(vocabulary.iloc[::-1]).equals(mapping)


def events(rows):
    """rows: (minute, service, level, message)."""
    return pd.DataFrame(
        {
            "ts": pd.Series(
                [T0 + pd.Timedelta(minutes=m) for m, *_ in rows], dtype="datetime64[us, UTC]"
            ),
            "service": pd.Series([r[1] for r in rows], dtype="str"),
            "endpoint": pd.Series([None] * len(rows), dtype="str"),
            "level": pd.Series([r[2] for r in rows], dtype="str"),
            "message": pd.Series([r[3] for r in rows], dtype="str"),
        }
    )


ROWS = [
    (0, "shop", "ERROR", "payment failed for order 12"),
    (0, "shop", "ERROR", "payment failed for order 7"),
    (1, "shop", "INFO", "user bob logged in from 10.0.0.1"),
    (1, None, "INFO", "user alice logged in from 10.0.0.2"),
    (61, "shop", "INFO", "user alice logged in from 10.0.0.2"),
    (62, "shop", "WARNING", "payment failed for order 99"),
    (63, "shop", None, "no level: not an event of these tables"),
    (64, "shop", "INFO", None),
]


def test_template_tables_given_expected():
    frame = events(ROWS)
    messages = log_messages_hourly(frame)
    assert messages[["hour_start", "service", "message", "events", "example"]].values.tolist() == [
        [T0, "shop", "payment failed for order <NUM>", 2, "payment failed for order 12"],
        [T0, "shop", "user bob logged in from <IP>", 1, "user bob logged in from 10.0.0.1"],
        [T0, "unknown", "user alice logged in from <IP>", 1, "user alice logged in from 10.0.0.2"],
        [T0 + pd.Timedelta(hours=1), "shop", "payment failed for order <NUM>", 1,
         "payment failed for order 99"],
        [T0 + pd.Timedelta(hours=1), "shop", "user alice logged in from <IP>", 1,
         "user alice logged in from 10.0.0.2"],
    ]  # fmt: skip
    mapping = mine_templates(messages)
    login = template_id("shop", "user <*> logged in from <IP>")
    payment = template_id("shop", "payment failed for order <NUM>")
    minutely = log_templates_minutely(frame, mapping)
    shop = minutely[minutely.service == "shop"]
    assert shop[["minute_start", "template_id", "level", "events"]].values.tolist() == [
        [T0, payment, "ERROR", 2],
        [T0 + pd.Timedelta(minutes=1), login, "INFO", 1],
        [T0 + pd.Timedelta(minutes=61), login, "INFO", 1],
        [T0 + pd.Timedelta(minutes=62), payment, "WARNING", 1],
    ]
    templates = log_templates(messages, mapping).set_index("template_id")
    assert templates.loc[login, "template"] == "user <*> logged in from <IP>"
    assert templates.loc[login, "events"] == 2
    assert json.loads(templates.loc[login, "examples"]) == [
        "user bob logged in from 10.0.0.1",
        "user alice logged in from 10.0.0.2",
    ]
    assert templates.loc[payment, "first_seen"] == T0
    assert templates.loc[payment, "last_seen"] == T0 + pd.Timedelta(minutes=62)
    assert json.loads(templates.loc[payment, "examples"]) == ["payment failed for order 12"]
    LogTemplates.validate(log_templates(messages, mapping))


def test_the_first_example_is_the_earliest_then_the_smallest_text():
    same_time = events([(0, "s", "INFO", "job 9 done"), (0, "s", "INFO", "job 10 done")])
    assert log_messages_hourly(same_time)["example"].tolist() == ["job 10 done"]
    assert log_messages_hourly(same_time.iloc[::-1])["example"].tolist() == ["job 10 done"]


def test_empty_input_gives_empty_tables_and_unmined_messages_are_an_error():
    empty = events([])
    assert log_messages_hourly(empty).empty and log_templates_minutely(empty, pd.DataFrame(
        columns=["service", "message", "template_id"])).empty  # fmt: skip
    assert list(log_messages_hourly(empty).columns) == list(LogMessagesHourly.to_schema().columns)
    assert list(log_templates_minutely(empty, mine_templates(empty)).columns) == list(
        LogTemplatesMinutely.to_schema().columns
    )
    with pytest.raises(KeyError, match="no template for the message 'a <NUM>' of service 's'"):
        log_templates_minutely(events([(0, "s", "INFO", "a 1")]), mine_templates(empty))


WORDS = ["payment", "failed", "user", "bob", "alice", "order", "from", "in", "cache", "id42"]
VALUES = ["12", "7", "10.0.0.1", "/tmp/x", "0xff", "5ms", "a@b.io", "::1", "-3.5"]
row_strategy = st.tuples(
    st.integers(0, 150),
    st.sampled_from(["shop", "auth", None]),
    st.sampled_from(["INFO", "ERROR", None]),
    st.one_of(
        st.none(),
        st.lists(st.sampled_from(WORDS + VALUES), min_size=0, max_size=5).map(" ".join),
    ),
)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=0, max_size=40))
def test_log_templates_minutely_equals_duckdb_sql_on_the_same_rows(rows):
    frame = events(rows)
    mapping = mine_templates(log_messages_hourly(frame))
    ours = log_templates_minutely(frame, mapping)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("req", frame)
    con.register("mapping", mapping)
    expected = con.execute(TEMPLATES_MINUTELY_SQL).df()
    assert len(ours) == len(expected)
    if len(ours):
        pd.testing.assert_frame_equal(
            ours.reset_index(drop=True),
            expected.astype(ours.dtypes.to_dict()).reset_index(drop=True),
            check_dtype=False,
        )
        assert ours["events"].sum() == frame["level"].notna().mul(frame["message"].notna()).sum()
