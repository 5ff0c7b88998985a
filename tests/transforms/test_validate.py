"""The NumPy screen in front of Pandera: the same reasons for the same rows as Pandera alone."""

import numpy as np
import pandas as pd
import pytest

from schemas.common import empty_frame
from schemas.raw import raw_model
from schemas.requests import Request
from transforms import validate
from transforms.validate import schema_reasons, suspect_rows

TS = pd.Timestamp("2026-10-01 12:00", tz="UTC")
TIMES = [TS, pd.NaT, pd.Timestamp("1969-12-31 23:59:59.999999", tz="UTC"), TS, TS, TS, TS, TS]
TIMES += [pd.Timestamp("1970-01-01", tz="UTC"), TS, TS, TS]
STATUS = [200, 99, 100, 599, 600, pd.NA, -1, 200, 200, 32767, 200, 200]
LATENCY = [1.5, -0.0, np.nan, np.inf, -np.inf, 86_400_000.0, 86_399_999.99, -1e-300, 0.0, 5.0]
LATENCY += [np.nan, 2.0]
BYTES = [0, -1, pd.NA, 2**52, 2**40, 5, 0, 0, 0, 0, -(2**31), 1]
PATHS = ["/a", None, "/b?x=1", "", "/c", None, "/d", "/e", None, "/f", "/g", "/h"]
LEVELS = [None, None, None, None, None, "INFO", None, None, "ERROR", None, None, None]


def _requests(n: int = 12) -> pd.DataFrame:
    frame = empty_frame(Request).reindex(range(n))
    typed = {name: frame[name].dtype for name in frame.columns}
    frame = frame.assign(
        ts=pd.Series(TIMES[:n], dtype="datetime64[us, UTC]"),
        source="s",
        path=pd.Series(PATHS[:n], dtype="str"),
        endpoint=pd.Series(PATHS[:n], dtype="str"),
        level=pd.Series(LEVELS[:n], dtype="str"),
        status_code=pd.array(STATUS[:n], dtype="Int16"),
        latency_ms=np.array(LATENCY[:n], dtype="float64"),
        bytes_sent=pd.array(BYTES[:n], dtype="Int64"),
    )
    for name, dtype in typed.items():
        if name not in ("ts",):
            frame[name] = frame[name].astype(dtype)
    return frame.set_axis(pd.RangeIndex(100, 100 + n))


def _pandera_alone(frame, model, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(validate, "suspect_rows", lambda frame, model: None)
        return schema_reasons(frame, model)


def test_screen_runs_on_typed_frames():
    frame = _requests()
    assert suspect_rows(frame, Request) is not None
    clean = frame.iloc[[0]]
    assert suspect_rows(clean, Request).tolist() == [False]
    assert schema_reasons(clean, Request).empty


@pytest.mark.parametrize("rows", [slice(None), [0], [1, 2], [3, 4, 5, 6, 7], [8, 9, 10, 11]])
def test_request_reasons_equal_pandera_alone(rows, monkeypatch):
    frame = _requests().iloc[rows]
    expected = _pandera_alone(frame, Request, monkeypatch)
    got = schema_reasons(frame, Request)
    pd.testing.assert_series_equal(got, expected, check_dtype=False)
    if len(frame) == 12:
        assert len(got) >= 9  # the tricky rows do fail


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "combined"])
def test_raw_reasons_equal_pandera_alone(fmt, monkeypatch):
    frame = _requests().drop(columns=["source", "endpoint"])
    frame["client_ip"] = pd.Series(["1.2.3.4", None] * 6, dtype="str", index=frame.index)
    frame["line_number"] = pd.array(range(12), dtype="Int64")
    model = raw_model(fmt)
    assert suspect_rows(frame, model) is not None
    expected = _pandera_alone(frame, model, monkeypatch)
    pd.testing.assert_series_equal(schema_reasons(frame, model), expected, check_dtype=False)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(status_code=f["status_code"].astype("float64")),  # coerced by Pandera
        lambda f: f.assign(ts=f["ts"].astype(object)),
        lambda f: f.assign(extra=1),  # strict model
        lambda f: f.drop(columns=["level"]),  # required column
        lambda f: f.assign(path=f["path"].astype(object)),
    ],
)
def test_other_types_and_columns_go_to_pandera_whole(change, monkeypatch):
    frame = change(_requests().iloc[[0, 3, 7, 9]])
    assert suspect_rows(frame, Request) is None
    try:
        expected = _pandera_alone(frame, Request, monkeypatch)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)[:20]):
            schema_reasons(frame, Request)
    else:
        pd.testing.assert_series_equal(schema_reasons(frame, Request), expected, check_dtype=False)


def test_large_integers_are_not_compared_as_floats():
    frame = _requests().iloc[[3, 4]]
    frame["bytes_sent"] = pd.array([2**62, -(2**53) - 1], dtype="Int64")
    assert suspect_rows(frame, Request) is None
