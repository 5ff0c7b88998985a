"""A file read in pieces gives exactly the events, rejects, accounting and notes of the same
file read whole."""

from __future__ import annotations

import threading

import pandas as pd
import pyarrow as pa
import pytest

from bench.ingest import events, write_combined, write_csv, write_jsonl, write_w3c
from transforms import reading
from transforms.canonical import EndpointRules
from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.jsonl.parse import file_keys

pytestmark = pytest.mark.clock

AS_OF = pd.Timestamp("2026-11-01", tz="UTC")
WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "combined": write_combined}


def _damaged(data: bytes, fmt: str) -> bytes:
    """Bad records spread over the file: a future time, a cut line, a bad status."""
    lines = data.split(b"\n")
    for at in (3, len(lines) // 2, len(lines) - 3):
        if fmt == "csv":
            parts = lines[at].split(b",")
            parts[3] = b"abc"
            lines[at] = b",".join(parts)
        elif fmt == "jsonl":
            lines[at] = lines[at][:40]
        else:
            lines[at] = lines[at].replace(b" 200 ", b" 999 ").replace(b" 201 ", b" 999 ")
    lines[7] = lines[7].replace(b"2026-10", b"2036-10").replace(b"Oct/2026", b"Oct/2036")
    return b"\n".join(lines)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return events(4_000)


@pytest.mark.parametrize("variety", [100, 10])  # 10: /api/v1's 13 resources fold
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "combined"])
def test_reading_in_pieces_equals_reading_whole(tmp_path, monkeypatch, frame, fmt, variety):
    path = tmp_path / f"requests.{fmt}"
    WRITERS[fmt](frame, path)
    text = _damaged(path.read_bytes(), fmt)
    rules = EndpointRules(max_endpoints=8, fold_variety=variety)
    whole = reading.read_events(text, fmt, source="s", as_of=AS_OF, rules=rules)
    monkeypatch.setattr(reading, "PIECE_BYTES", 20_000)
    assert len(reading.pieces(text, fmt)) > 10
    split = reading.read_events(text, fmt, source="s", as_of=AS_OF, rules=rules)

    assert split.records_read == whole.records_read == len(frame)
    assert split.events.num_rows + len(split.rejects) == split.records_read
    assert split.events.equals(whole.events)
    pd.testing.assert_frame_equal(split.rejects, whole.rejects)
    assert len(split.rejects) >= 3
    lines = text.decode().split("\n")
    for number, raw in zip(split.rejects["line_number"], split.rejects["raw"], strict=True):
        assert raw == lines[number - 1]
    assert split.new_endpoints == whole.new_endpoints
    assert split.seen_endpoints == whole.seen_endpoints
    assert split.notes == whole.notes
    capped = any("endpoint cap of 8 reached" in note for note in split.notes)
    other = "{other}" in pa.compute.unique(split.events.column("endpoint")).to_pylist()
    folded = any(n.startswith("endpoints folded by variety") for n in split.notes)
    if variety == 100:  # 50 endpoints: the cap admits 8
        assert len(split.new_endpoints) == 8 and capped and other and not folded
    else:  # /api/v1's resources fold, then their own children (15 of them, merged)
        assert set(split.new_endpoints) == {
            "/api/v1/{var}",
            "/api/v1/{var}/{var}",
            "/api/v2/{var}",
            "/api/v2/{var}/{var}",
        }
        assert split.seen_endpoints == set(split.new_endpoints)
        assert folded and not capped and not other


def _w3c_blocks(frame: pd.DataFrame, path, *, seconds_late: bool = False) -> bytes:
    """An IIS file whose service restarted twice: a second header block with other fields in
    the middle, lines written with the first block's fields after it, a line before any
    header and lines with the wrong number of values (CloudFront-like seconds at the end
    with `seconds_late`)."""
    write_w3c(frame, path)
    lines = path.read_bytes().decode().split("\n")
    middle = len(lines) // 2
    second = [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Fields: date time x-edge-location cs-method cs-uri-stem cs-uri-query c-ip sc-status "
        "time-taken",
        "2026-10-07 10:00:00 W3SVC1 GET /health - 10.1.1.1 200 3",
        "2026-10-07 10:00:01 W3SVC1 GET /api/v1/items id=4 10.1.1.2 404 5 extra",
        *lines[middle : middle + 300],  # the first block's fields again, header not repeated
    ]
    tail = lines[middle + 300 :]
    if seconds_late:
        tail[-20] = tail[-20].rsplit(" ", 1)[0] + " 0.125"
    text = "\n".join(["2026-10-01 00:00:00 GET / 200", *lines[:middle], *second, *tail])
    return text.encode()


@pytest.mark.parametrize("seconds_late", [False, True], ids=["milliseconds", "seconds-late"])
def test_a_w3c_file_read_in_pieces_equals_reading_it_whole(
    tmp_path, monkeypatch, frame, seconds_late
):
    text = _w3c_blocks(frame, tmp_path / "u_ex.log", seconds_late=seconds_late)
    whole = reading.read_events(text, "w3c", source="s", as_of=AS_OF)
    monkeypatch.setattr(reading, "PIECE_BYTES", 20_000)
    assert len(reading.pieces(text, "w3c")) > 10
    split = reading.read_events(text, "w3c", source="s", as_of=AS_OF)

    assert split.records_read == whole.records_read == len(frame) + 3
    assert split.events.equals(whole.events)
    pd.testing.assert_frame_equal(split.rejects, whole.rejects)
    lines = text.decode().split("\n")
    reasons = dict(zip(split.rejects["line_number"], split.rejects["reasons"], strict=True))
    assert reasons[1].startswith("no #Fields: line before it")
    fields_line = lines.index(next(line for line in lines if "x-edge-location" in line)) + 1
    assert (
        reasons[fields_line + 2]
        == f"the line has 10 values, the #Fields: line {fields_line} names 9"
    )
    assert len(reasons) == 2
    for number, raw in zip(split.rejects["line_number"], split.rejects["raw"], strict=True):
        assert raw == lines[number - 1]
    assert "/health" in split.events.column("endpoint").to_pylist()
    unit = "seconds" if seconds_late else "milliseconds"
    assert split.notes == whole.notes == (f"time-taken read as {unit}",)
    latency = split.events.column("latency_ms").to_pylist()
    assert latency[-1] == (
        frame["response_time_ms"].round().iloc[-1] * (1000 if seconds_late else 1)
    )


def test_a_csv_without_a_header_on_line_one_is_read_whole():
    text = b"\n" + b"timestamp,endpoint\n" + b"2026-10-01T00:00:00Z,/a\n" * 10
    assert reading.pieces(text, "csv", size=8) == [(0, len(text), 0)]


def test_service_logs_are_read_whole():
    text = b"2026-10-01T00:00:00Z INFO api started\n" * 100
    assert reading.pieces(text, "servicelog", size=64) == [(0, len(text), 0)]


def test_later_csv_pieces_repeat_the_header_and_count_lines_from_the_file():
    text = b"a,b\n" + b"".join(f"{i},x\n".encode() for i in range(10))
    parts = reading.pieces(text, "csv", size=12)
    assert len(parts) > 2 and parts[0][0] == 0 and parts[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))  # no gap, no overlap
    for piece in parts:
        data = reading.piece_bytes(text, "csv", piece)
        assert data.startswith(b"a,b\n")
        first_value = int(data.split(b"\n")[1].split(b",")[0])
        # the piece's line 2 is the file's line first_value + 2
        assert 2 + piece[2] == first_value + 2


@pytest.mark.parametrize("size", [None, 200], ids=["whole", "pieces"])
def test_a_rejected_last_line_without_its_line_end_is_said_to_be_cut(monkeypatch, size):
    line = b'203.0.113.7 - - [01/Oct/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl"'
    text = (line + b"\n") * 20 + b"garbage\n" + line[:30]
    if size:
        monkeypatch.setattr(reading, "PIECE_BYTES", size)
    result = reading.read_events(text, "combined", source="s", as_of=AS_OF)
    reasons = dict(zip(result.rejects["line_number"], result.rejects["reasons"], strict=True))
    assert set(reasons) == {21, 22} and result.events.num_rows == 20
    assert reasons[22].endswith(reading.CUT_LAST_LINE) and "does not match" in reasons[22]
    assert reading.CUT_LAST_LINE not in reasons[21]
    ended = reading.read_events(text + b"\n", "combined", source="s", as_of=AS_OF)
    assert not any(reading.CUT_LAST_LINE in r for r in ended.rejects["reasons"])


def test_service_log_events_without_endpoints_are_kept():
    text = b"2026-10-01T10:00:00Z INFO api started\n2026-10-01T10:00:01Z ERROR api boom\n"
    result = reading.read_events(text, "servicelog", source="svc", as_of=AS_OF)
    assert result.events.num_rows == 2 and result.rejects.empty
    assert "endpoint" not in result.events.column_names  # nothing logged one
    stored = reading.complete(result.events, "svc", "f1")
    assert stored.schema.names == reading.request_schema().names
    assert stored.column("endpoint").null_count == 2
    assert stored.column("source").to_pylist() == ["svc", "svc"]
    assert stored.column("file_id").to_pylist() == ["f1", "f1"]
    assert stored.column("level").to_pylist() == ["INFO", "ERROR"]


def test_a_csv_file_is_not_cut_inside_a_quoted_field_that_holds_a_line_break(monkeypatch):
    lines = ["timestamp,endpoint,response_time_ms,status_code,user_id"]
    for i in range(3000):
        user = f'"note\n{i}"' if i % 7 == 0 else f"u{i}"
        lines.append(f"2026-11-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z,/api/x,{i % 90}.5,200,{user}")
    text = ("\n".join(lines) + "\n").encode()
    whole = reading.read_events(text, "csv", source="s", as_of=AS_OF)
    monkeypatch.setattr(reading, "PIECE_BYTES", 7_000)
    cuts = reading.pieces(text, "csv")
    assert len(cuts) > 10
    split = reading.read_events(text, "csv", source="s", as_of=AS_OF)
    assert whole.rejects.empty and split.rejects.empty
    assert split.records_read == whole.records_read == 3000
    assert split.events.equals(whole.events)
    # every cut is at the start of a record, never inside a quoted field
    for start, _, _ in cuts[1:]:
        assert text[start : start + 4] == b"2026"


def test_jsonl_pieces_take_a_missing_time_from_another_default_key_as_the_whole_file_does(
    monkeypatch,
):
    lines = []
    for i in range(3000):
        if i % 10 == 3:  # the logger's own line: `ts` only
            lines.append(f'{{"level":"info","ts":{1793527200 + i},"msg":"tick {i}"}}')
        else:
            lines.append(
                f'{{"level":"info","ts":{1793527200 + i},"time":"2026-11-01T10:{i // 60 % 60:02d}'
                f':{i % 60:02d}Z","msg":"req","path":"/api/x","status":200}}'
            )
    text = ("\n".join(lines) + "\n").encode()
    whole = reading.read_events(text, "jsonl", source="s", as_of=AS_OF)
    monkeypatch.setattr(reading, "PIECE_BYTES", 20_000)
    assert len(reading.pieces(text, "jsonl")) > 5
    split = reading.read_events(text, "jsonl", source="s", as_of=AS_OF)
    assert whole.rejects.empty and split.rejects.empty
    assert split.records_read == whole.records_read == 3000
    assert split.events.equals(whole.events)


def test_jsonl_pieces_are_read_at_once_with_the_keys_of_the_files_first_objects(
    tmp_path, monkeypatch, frame
):
    path = tmp_path / "requests.jsonl"
    write_jsonl(frame, path)
    text = _damaged(path.read_bytes(), "jsonl")  # line 4 is cut: not a JSON object
    whole = reading.read_events(text, "jsonl", source="s", as_of=AS_OF)
    monkeypatch.setattr(reading, "PIECE_BYTES", 20_000)
    parts = reading.spans(text, "jsonl")
    # the first two pieces are parsed at the same time: neither waits for the other's keys
    both_parsing = threading.Barrier(2, timeout=20)
    parse = registry.parse

    def parse_together(data, fmt, **options):
        if len(data) in (parts[0][1] - parts[0][0], parts[1][1] - parts[1][0]):
            both_parsing.wait()
        return parse(data, fmt, **options)

    monkeypatch.setattr(registry, "parse", parse_together)
    split = reading.read_events(text, "jsonl", source="s", as_of=AS_OF)
    assert not both_parsing.broken
    assert split.events.equals(whole.events)
    pd.testing.assert_frame_equal(split.rejects, whole.rejects)
    assert split.notes == whole.notes
    assert any(
        n.startswith("jsonl keys mapped with the default keys: ts <- timestamp")
        for n in split.notes
    )


@pytest.mark.parametrize(
    "head",
    [b"", b"\xef\xbb\xbf", b'not json\n[1, 2]\n{"msg": "no time"}\n\xff\xfe\n'],
    ids=["clean", "bom", "bad-lines-first"],
)
def test_file_keys_are_the_keys_the_whole_parse_chooses(head):
    lines = [
        f'{{"time":"2026-11-01T10:00:{i % 60:02d}Z","uri":"/x/{i}","code":{200 + i % 3},'
        f'"elapsed":{i / 10}}}'
        for i in range(1500)
    ]
    data = head + "\n".join(lines).encode() + b"\n"
    parsed = registry.parse(data, "jsonl")
    mapping, note = file_keys(data, len(data))
    assert mapping == parsed.mapping
    assert note in parsed.notes


def test_file_keys_leave_a_file_without_a_time_key_to_its_parse():
    data = b'{"msg": "a"}\n{"msg": "b"}\n'
    assert file_keys(data, len(data)) is None
    with pytest.raises(FileFormatError, match="no timestamp key"):
        registry.parse(data, "jsonl")


def test_a_servers_own_events_among_access_lines_are_read_alike_in_pieces(
    tmp_path, monkeypatch, frame
):
    """nginx's error log and gunicorn's (with a traceback) among combined lines: the same
    events, rejects and line numbers whether the file is read whole or in pieces."""
    path = tmp_path / "access.log"
    write_combined(frame, path)
    lines = path.read_bytes().split(b"\n")
    for at in (5, len(lines) // 3, len(lines) - 10):
        lines[at:at] = [b"2026/10/01 10:00:00 [warn] 29#29: *7 upstream timed out"]
    at = len(lines) // 2
    lines[at:at] = [
        b"[2026-10-01 10:00:00 +0000] [7] [CRITICAL] WORKER TIMEOUT (pid:7)",
        b"Traceback (most recent call last):",
        b'  File "/app/x.py", line 1, in <module>',
        b"SystemExit: 1",
        b"/docker-entrypoint.sh: Configuration complete; ready for start up",
    ]
    text = b"\n".join(lines)
    whole = reading.read_events(text, "combined", source="s", as_of=AS_OF)
    monkeypatch.setattr(reading, "PIECE_BYTES", 20_000)
    assert len(reading.pieces(text, "combined")) > 10
    split = reading.read_events(text, "combined", source="s", as_of=AS_OF)
    assert split.records_read == whole.records_read == len(frame) + 3 + 1 + 1
    assert split.events.num_rows + len(split.rejects) == split.records_read
    assert split.events.equals(whole.events)
    pd.testing.assert_frame_equal(split.rejects, whole.rejects)
    assert split.notes == whole.notes
    assert "3 lines of nginx's error log among the access lines read as log events" in split.notes
    assert whole.rejects["line_number"].tolist() == [at + 5]  # the entrypoint's line
    levels = whole.events.column("level").drop_null().to_pylist()
    assert sorted(levels) == ["CRITICAL", "WARNING", "WARNING", "WARNING"]


def test_balanced_pieces_keep_two_threads_half_a_piece_apart(tmp_path, monkeypatch, frame):
    path = tmp_path / "requests.jsonl"
    write_jsonl(events(40_000), path)  # 6.6 MB: pieces are 1 MB at least
    text = path.read_bytes()
    monkeypatch.setattr(reading, "PIECE_RECORDS", 5_000)  # 7 pieces' worth, made 8
    parts = reading.spans(text, "jsonl")
    assert parts[0][0] == 0 and parts[-1][1] == len(text)
    assert all(stop == start for (_, stop), (start, _) in zip(parts[:-1], parts[1:], strict=True))
    assert all(text[stop - 1 : stop] == b"\n" for _, stop in parts)  # cut between lines
    sizes = [stop - start for start, stop in parts]
    line = max(len(x) for x in text.splitlines()) + 1
    full = sizes[1:-1]
    assert len(full) == 7 and max(full) - min(full) <= line
    # a half piece first and last: the threads, a piece at a time, run half a piece apart
    # (each cut is at the line end after its target: the last piece is short of a line's part
    # per cut before it)
    assert abs(sizes[0] - full[0] / 2) <= line
    assert abs(sizes[-1] - full[0] / 2) <= len(parts) * line


def test_arrow_readers_use_their_own_threads_only_for_a_file_read_whole(
    tmp_path, monkeypatch, frame
):
    path = tmp_path / "requests.jsonl"
    write_jsonl(frame, path)
    text = path.read_bytes()
    seen: list[bool] = []
    parse = registry.parse

    def parse_noting_threads(data, fmt, **options):
        seen.append(reading.ARROW_THREADS.get())
        return parse(data, fmt, **options)

    monkeypatch.setattr(registry, "parse", parse_noting_threads)
    reading.read_events(text, "jsonl", source="s", as_of=AS_OF)
    assert seen == [True]
    seen.clear()
    monkeypatch.setattr(reading, "PIECE_BYTES", 50_000)
    reading.read_events(text, "jsonl", source="s", as_of=AS_OF)
    assert len(seen) > 5 and not any(seen)
    assert reading.ARROW_THREADS.get()  # the caller's thread is left as it was
