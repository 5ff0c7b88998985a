"""The one-pass Arrow readers for clean csv and jsonl files give exactly what the line-by-line
readers give on the same bytes: the same candidates, rejects, reasons and raw text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from bench.ingest import events, write_csv, write_jsonl
from transforms.canonical import canonical_events
from transforms.formats import access, delimited, jsonl, registry

AS_OF = pd.Timestamp("2026-11-01", tz="UTC")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return events(3_000)


def _with_bad_values(path, fmt: str) -> bytes:
    """Well-formed lines whose values fail: a status that is not a number, a negative latency,
    a timestamp in the future; the structure stays clean, so the fast path still applies."""
    lines = path.read_bytes().split(b"\n")
    if fmt == "csv":
        for number, position, value in ((5, 3, b"abc"), (7, 2, b"-5")):
            parts = lines[number].split(b",")
            parts[position] = value
            lines[number] = b",".join(parts)
        lines[9] = b"2031" + lines[9][4:]
    else:
        lines[5] = lines[5].replace(b'"status":', b'"status":"abc","x":')
        lines[7] = lines[7].replace(b'"latency_ms":', b'"latency_ms":-5,"y":')
        lines[9] = lines[9].replace(b'"timestamp":"2026', b'"timestamp":"2031')
    return b"\n".join(lines)


def _both(monkeypatch, data: bytes, fmt: str):
    fast = registry.parse(data, fmt)
    if fmt == "csv":
        monkeypatch.setattr(delimited, "read_clean", lambda *a, **k: None)
    else:
        monkeypatch.setattr(jsonl.parse, "read_with_arrow", lambda *a, **k: None)
    slow = registry.parse(data, fmt)
    return fast, slow


@pytest.mark.parametrize("bad_values", [True, False], ids=["bad-values", "clean"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_fast_and_line_by_line_readers_agree(tmp_path, monkeypatch, frame, fmt, bad_values):
    path = tmp_path / f"requests.{fmt}"
    (write_csv if fmt == "csv" else write_jsonl)(frame, path)
    data = _with_bad_values(path, fmt) if bad_values else path.read_bytes()
    fast, slow = _both(monkeypatch, data, fmt)
    if fmt == "csv":
        assert fast.raw_lines is not None and "raw" not in fast.candidates  # the fast path ran
    assert fast.records_read == slow.records_read == len(frame)
    columns = [c for c in slow.candidates if c != "raw"]
    pd.testing.assert_frame_equal(
        fast.candidates[columns].reset_index(drop=True),
        slow.candidates[columns].reset_index(drop=True),
        check_dtype=True,
    )
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects)
    assert len(fast.rejects) == (1 if bad_values else 0)  # the bad status does not convert
    rows = range(len(fast.candidates))
    assert fast.raw(rows).tolist() == slow.raw(rows).tolist()

    fast_events = canonical_events(fast, source="s", as_of=AS_OF)
    slow_events = canonical_events(slow, source="s", as_of=AS_OF)
    pd.testing.assert_frame_equal(fast_events.events, slow_events.events)
    pd.testing.assert_frame_equal(fast_events.rejects, slow_events.rejects)
    reasons = " ".join(fast_events.rejects["reasons"])
    if bad_values:
        assert "latency_ms" in reasons and "in the future" in reasons
    else:
        assert fast_events.rejects.empty and len(fast_events.events) == len(frame)
    lines = data.decode().split("\n")
    for number, raw in zip(
        fast_events.rejects["line_number"], fast_events.rejects["raw"], strict=True
    ):
        assert raw == lines[number - 1]


FIXTURES = Path(__file__).parent / "fixtures"
TRICKY_ACCESS_LINES = [
    '10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl/8"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a b/c HTTP/1.1" 200 - "-" "x y" 0.120',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1 extra" 404 0 "-" "-" 1234',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "-" 400 0 "-" "-" -',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "" 408 0 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET  /double HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /q?x=\\"y\\" HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" 0.1 0.05, 0.02',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" rt=0.2 urt="0.1"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"rt=0.2',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" - - "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" 0.1 ',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-"  "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-" \u0661.\u0662',
    '2001:db8::1 - - [32/Oct/2000:13:55:36 -0700] "POST /x HTTP/2.0" 201 12 "https://r/" "UA"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 -  - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 0.3',
    '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200',
    '10.0.0.1\t- - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"',
]


def _regex_only(monkeypatch):
    monkeypatch.setattr(
        access.lines, "extract_with", lambda texts, regex, fast: access.extract(texts, regex)
    )


@pytest.mark.parametrize("fmt", ["common", "combined"])
@pytest.mark.parametrize(
    "source", [*sorted(p.name for p in FIXTURES.glob("access_*.log")), "tricky"]
)
def test_access_split_and_regex_agree(monkeypatch, fmt, source):
    if source == "tricky":
        data = "\n".join(TRICKY_ACCESS_LINES).encode() + b"\n"
    else:
        data = (FIXTURES / source).read_bytes()
    fast = registry.parse(data, fmt)
    _regex_only(monkeypatch)
    slow = registry.parse(data, fmt)
    pd.testing.assert_frame_equal(fast.candidates, slow.candidates)
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects)
    assert fast.notes == slow.notes


def test_access_split_takes_the_plain_lines_and_leaves_the_rest_to_the_regex():
    lines = pa.array(TRICKY_ACCESS_LINES, pa.large_string())
    columns, done = access.clf.clf_fast_split(combined=True)(lines)
    taken = [line for line, d in zip(TRICKY_ACCESS_LINES, done, strict=True) if d]
    assert taken == [TRICKY_ACCESS_LINES[i] for i in (0, 3, 4, 10, 14, 15)]
    assert columns["path"].to_pylist() == ["/a.gif", None, None, "/", "/x", "/"]
    assert columns["method"].to_pylist() == ["GET", None, None, "GET", "POST", "GET"]
    assert columns["status"].to_pylist()[3] == "-" and columns["bytes"].to_pylist()[3] == "-"
    assert columns["request_time"].to_pylist() == [None, "-", None, None, None, None]
    assert columns["time"].to_pylist()[0] == "10/Oct/2000:13:55:36 -0700"
    assert columns["time"].to_pylist()[5] == "10/Oct/2000:13:55:36"
    assert columns["client_list"].to_pylist()[4] == "2001:db8::1"
