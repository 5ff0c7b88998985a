"""People's word as an evaluation (transforms.evaluation.feedback): incidents confirmed, marked
a false alarm, muted or left without a word, per service, on hand-made incidents and feedback."""

import math

import numpy as np
import pandas as pd

from tests.transforms.test_feedback import T, feedback, incident, mutes
from transforms.evaluation.feedback import COLUMNS, TOTAL, feedback_scores

D = pd.Timedelta(days=1)


def test_each_incident_counts_by_the_action_in_force_on_it():
    shop = [incident("shop", f"/e{i}", T + i * D, 1) for i in range(6)]
    auth = [incident("auth", "/login", T + D, 2), incident("auth", "/logout", T + 13 * D, 1)]
    ids = [row["incident_id"] for row in shop + auth]
    said = feedback(
        (1, ids[0], "ack", "", 0),
        (2, ids[1], "false-alarm", "deploy", 5),
        (3, ids[2], "ack", "", 0),
        (4, ids[2], "false-alarm", "it was a test", 9),  # the latest word wins
        (5, ids[3], "resolve", "", 0),
        (6, ids[6], "false-alarm", "", 0),
    )
    held = mutes((1, "shop", "/e4", T + 4 * D - D, T + 4 * D + D, "maintenance"))
    got = feedback_scores(pd.DataFrame(shop + auth), said, held).set_index("service")
    assert list(got.reset_index().columns) == COLUMNS
    assert list(got.index) == ["auth", "shop", TOTAL]
    shop_row = got.loc["shop"]
    assert (shop_row.incidents, shop_row.confirmed, shop_row.false_alarms) == (6, 2, 2)
    assert (shop_row.muted, shop_row.no_word) == (1, 1)  # /e4 muted, /e5 no word
    assert shop_row.precision == 0.5
    assert math.isclose(shop_row.weeks, 6 / 7)  # its incidents start on six days in a row
    assert math.isclose(shop_row.false_alarms_per_week, 2 / (6 / 7))
    auth_row = got.loc["auth"]
    assert (auth_row.confirmed, auth_row.false_alarms, auth_row.no_word) == (0, 1, 1)
    assert auth_row.precision == 0.0 and math.isclose(auth_row.weeks, 13 / 7)
    total = got.loc[TOTAL]
    assert (total.incidents, total.confirmed, total.false_alarms) == (8, 2, 3)
    assert math.isclose(total.precision, 2 / 5)
    assert math.isclose(total.false_alarms_per_week, 3 / 2)  # 14 days


def test_without_any_word_precision_is_unknown_and_nothing_is_an_empty_table():
    rows = pd.DataFrame([incident("shop", "/a", T, 1)])
    got = feedback_scores(rows, feedback())
    assert got["no_word"].tolist() == [1, 1]
    assert np.isnan(got["precision"]).all()
    assert got["false_alarms_per_week"].tolist() == [0.0, 0.0]
    assert feedback_scores(pd.DataFrame(), feedback()).empty
