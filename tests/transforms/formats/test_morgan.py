"""morgan's (Express) dev, short and tiny request lines behind a container runtime's time, as
morgan writes them (its own source's formats: dev in colour, `-` for what was not sent)."""

import pandas as pd
import pytest

from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.prefixes import strip_prefix

DEV = (
    b"2024-05-26T11:42:52.601234567Z \x1b[0mGET /api/items/12?x=1 \x1b[32m200\x1b[0m 12.345 ms"
    b" - 123\x1b[0m\n"
    b"2024-05-26T11:42:53.601234567Z \x1b[0mPOST /api/items \x1b[33m404\x1b[0m 1.5 ms - -\x1b[0m\n"
    b"2024-05-26T11:42:54.601234567Z \x1b[0mGET /slow \x1b[0m-\x1b[0m - ms - -\x1b[0m\n"
)
SHORT = (
    b"2024-05-26T11:42:52.601Z ::ffff:10.0.0.1 - GET /api/items/12 HTTP/1.1 200 123 - 12.345 ms\n"
    b"2024-05-26T11:42:53.601Z 10.0.0.2 alice DELETE /api/items/7 HTTP/2.0 204 - - 3 ms\n"
)
TINY = (
    b"2024-05-26T11:42:52.601Z GET /api/items/12 200 123 - 12.345 ms\n"
    b"2024-05-26T11:42:53.601Z PUT /api/items/7 500 45 - 3.210 ms\n"
)
COLUMNS = ["ts", "method", "path", "status_code", "bytes_sent", "latency_ms"]


def rows(data: bytes) -> list[tuple]:
    assert registry.detect(data) == "morgan"
    parsed = registry.parse(data, "morgan")
    assert parsed.rejects.empty
    frame = parsed.candidates.reindex(columns=COLUMNS + ["client_ip", "user_id"])
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_dev_lines_in_colour_with_what_was_not_sent_as_null():
    assert rows(DEV) == [
        (
            ts("2024-05-26 11:42:52.601234"),
            "GET",
            "/api/items/12?x=1",
            200,
            123,
            12.345,
            None,
            None,
        ),
        (ts("2024-05-26 11:42:53.601234"), "POST", "/api/items", 404, None, 1.5, None, None),
        (ts("2024-05-26 11:42:54.601234"), "GET", "/slow", None, None, None, None, None),
    ]


def test_short_lines_log_the_client_and_user():
    assert rows(SHORT) == [
        (ts("2024-05-26 11:42:52.601"), "GET", "/api/items/12", 200, 123, 12.345,
         "::ffff:10.0.0.1", None),
        (ts("2024-05-26 11:42:53.601"), "DELETE", "/api/items/7", 204, None, 3.0,
         "10.0.0.2", "alice"),
    ]  # fmt: skip


def test_tiny_lines():
    assert rows(TINY) == [
        (ts("2024-05-26 11:42:52.601"), "GET", "/api/items/12", 200, 123, 12.345, None, None),
        (ts("2024-05-26 11:42:53.601"), "PUT", "/api/items/7", 500, 45, 3.21, None, None),
    ]


def test_another_line_among_them_is_quarantined_naming_the_layout():
    data = TINY + b"2024-05-26T11:42:54.000Z Server listening on port 3000\n" + TINY
    parsed = registry.parse(data, "morgan")
    assert len(parsed.candidates) == 4
    assert parsed.rejects["line_number"].tolist() == [3]
    assert "morgan's dev, short or tiny line" in parsed.rejects["reasons"].iloc[0]


def test_a_kubernetes_container_log_keeps_the_runtimes_time_for_them():
    lines = [
        f"2024-05-26T11:42:5{k}.000000001Z stdout F {line}"
        for k, line in enumerate(TINY.decode().replace("2024-05-26T11:42:52.601Z ", "").replace(
            "2024-05-26T11:42:53.601Z ", "").splitlines())
    ]  # fmt: skip
    stripped, note = strip_prefix(("\n".join(lines) + "\n").encode())
    assert note == "Kubernetes CRI prefix stripped from every line but its time"
    assert registry.detect(stripped) == "morgan"
    parsed = registry.parse(stripped, "morgan")
    assert parsed.candidates["ts"].tolist() == [
        ts("2024-05-26 11:42:50.000000"),
        ts("2024-05-26 11:42:51.000000"),
    ]


@pytest.mark.parametrize("data", [DEV, SHORT, TINY], ids=["dev", "short", "tiny"])
def test_without_a_time_detection_says_how_to_get_one(data):
    timeless = b"\n".join(line.split(b" ", 1)[1] for line in data.splitlines()) + b"\n"
    with pytest.raises(FileFormatError) as raised:
        registry.detect(timeless)
    message = str(raised.value)
    assert "morgan's dev, short or tiny lines (Express), which carry no time" in message
    assert "read as morgan" in message
