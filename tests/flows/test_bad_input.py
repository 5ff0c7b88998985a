"""The bad-input corpus: every awkward or broken input ends as kept rows or quarantine rows with
its reason, the accounting holds for every file, and nothing crashes the ingest."""

import bz2
import codecs
import gzip
import io
import json
import lzma
import tarfile
import zipfile

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from flows.compute import compact_pending
from flows.ingest import ingest_file
from flows.settings import load_settings

AS_OF = pd.Timestamp("2026-11-02T12:00:00Z")
H = "timestamp,endpoint,response_time_ms,status_code,user_id,service,region"
OK = "2026-11-01T10:00:00Z,/api/a,12.5,200,u1,shop,eu"
OK2 = "2026-11-01T10:05:00Z,/api/b,20.0,404,u2,shop,eu"


COMBINED = '203.0.113.9 - alice [01/Nov/2026:10:00:00 +0000] "GET /api/a?x=1 HTTP/1.1" 200 512 "-" "curl/8.0" 0.125'
ALB = (
    "http 2026-11-01T10:00:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 "
    '10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/api/a HTTP/1.1" '
    '"curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/'
    '73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2026-11-01T10:00:00.000000Z '
    '"forward" "-" "-" "10.0.0.1:80" "200" "-" "-"'
)


JSON = '{"timestamp": "2026-11-01T10:00:00Z", "path": "/api/a", "status": 200, "latency_ms": 12.5}'
SERVICE = "2026-11-01T10:00:00.123Z ERROR payments charge failed latency_ms=57 status=502 path=/api/charge"


def lines(*items: str) -> bytes:
    return ("\n".join(items) + "\n").encode()


def csv(*lines: str, header: str = H, end: str = "\n") -> bytes:
    return (end.join([header, *lines]) + end).encode()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def tar_of(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        member = tarfile.TarInfo(name)
        member.size = len(content)
        archive.addfile(member, io.BytesIO(content))
    return out.getvalue()


# name -> (file name, content, rows kept, [reason substring(s) of each quarantined row, by line])
CASES = {
    "truncated line": (
        "a.csv",
        csv(OK, "2026-11-01T10:00:00Z,/api/a,12"),
        1,
        ["expected 7 fields"],
    ),
    "wrong delimiter": ("a.csv", csv(OK, OK.replace(",", ";")), 1, ["found 1"]),
    "missing column": (
        "a.csv",
        csv(OK, "2026-11-01T10:00:00Z,/api/a,12.5,200,u1,shop"),
        1,
        ["found 6"],
    ),
    "extra column": ("a.csv", csv(OK, OK + ",x"), 1, ["found 8"]),
    "non-UTF-8 bytes": (
        "a.csv",
        csv(OK) + b"2026-11-01T10:00:00Z,/\x81t\x8d,1,200,u,s,r\n",
        1,
        ["not valid UTF-8"],
    ),
    "NUL bytes": (
        "a.csv",
        csv(OK) + b"2026-11-01T10:00:00Z,/a\x00,1,200,u,s,r\n",
        1,
        ["NUL bytes"],
    ),
    "5 MB line": (
        "a.csv",
        csv(OK, "2026-11-01T10:00:00Z,/" + "x" * 5_000_000 + ",1,200"),
        1,
        ["expected 7 fields"],
    ),
    "5 MB field in a well-formed line": (
        "a.csv",
        csv(OK, "2026-11-01T10:00:00Z,/a,1,200,u," + "s" * 5_000_000 + ",r"),
        2,
        [],
    ),  # fmt: skip
    "empty file": ("a.csv", b"", 0, ["file is empty"]),
    "blank lines only": ("a.csv", b"\n\n  \n", 0, ["file is empty"]),
    "header only": ("a.csv", csv(), 0, []),
    "BOM": ("a.csv", b"\xef\xbb\xbf" + csv(OK), 1, []),
    "CRLF": ("a.csv", csv(OK, OK2, end="\r\n"), 2, []),
    "negative latency": (
        "a.csv",
        csv(OK, OK.replace("12.5", "-3")),
        1,
        ["latency_ms: expected >= 0"],
    ),
    "status 999": (
        "a.csv",
        csv(OK, OK.replace(",200,", ",999,")),
        1,
        ["status_code: expected <= 599"],
    ),
    "status not a number": (
        "a.csv",
        csv(OK, OK.replace(",200,", ",OK,")),
        1,
        ["status_code: 'OK' is not an integer"],
    ),
    "latency not a number": (
        "a.csv",
        csv(OK, OK.replace("12.5", "fast")),
        1,
        ["'fast' is not a number"],
    ),
    "latency over a day": (
        "a.csv",
        csv(OK, OK.replace("12.5", "90000000")),
        1,
        ["latency_ms: expected < 86400000"],
    ),
    "timestamps with and without offsets": (
        "a.csv",
        csv(OK, OK2.replace("Z", "+02:00"), OK2.replace("Z", "")),
        3,
        [],
    ),  # fmt: skip
    "epoch seconds and milliseconds": (
        "a.csv",
        csv(
            OK.replace("2026-11-01T10:00:00Z", "1761991200"),
            OK.replace("2026-11-01T10:00:00Z", "1761991200000"),
        ),
        2,
        [],
    ),
    "unparseable timestamp": (
        "a.csv",
        csv(OK, OK.replace("2026-11-01T10:00:00Z", "Nov 1st")),
        1,
        ["timestamp: 'Nov 1st' is not a timestamp"],
    ),
    "future timestamp": ("a.csv", csv(OK, OK.replace("2026", "2031")), 1, ["is in the future"]),
    "timestamp before 1990": (
        "a.csv",
        csv(OK, OK.replace("2026", "1989")),
        1,
        ["ts: expected >= 1990-01-01"],
    ),
    "missing timestamp": (
        "a.csv",
        csv(OK, OK.replace("2026-11-01T10:00:00Z", "")),
        1,
        ["ts: missing"],
    ),
    "missing endpoint": ("a.csv", csv(OK, OK.replace("/api/a", "")), 1, ["path: missing"]),
    "repeated header mid-file": ("a.csv", csv(OK, H, OK2), 2, ["repeated header"]),
    "lines out of time order": ("a.csv", csv(OK2, OK), 2, []),
    "unbalanced quote": (
        "a.csv",
        csv(OK, '2026-11-01T10:00:00Z,"/api/a,12.5,200,u1,shop,eu'),
        1,
        ["malformed quoting"],
    ),
    "several reasons on one line": (
        "a.csv",
        csv(OK, OK.replace("12.5", "-1").replace(",200,", ",999,")),
        1,
        [("latency_ms: expected >= 0, got -1", "status_code: expected <= 599, got 999")],
    ),  # fmt: skip
    "unknown header": ("a.csv", b"when,what\n1,2\n", 0, ["matches no known layout"]),
    "truncated gzip": (
        "a.csv.gz",
        gzip.compress(csv(*[OK] * 2000))[:-200],
        0,
        ["gzip data is truncated or corrupt"],
    ),
    "gzip of a good file": ("a.csv.gz", gzip.compress(csv(OK, OK2)), 2, []),
    "bzip2 of a good file": ("a.csv.bz2", bz2.compress(csv(OK, OK2)), 2, []),
    "xz of a good file": ("a.csv.xz", lzma.compress(csv(OK, OK2)), 2, []),
    "zstd of a good file": (
        "a.csv.zst",
        pa.Codec("zstd").compress(csv(OK, OK2), asbytes=True),
        2,
        [],
    ),
    "zip of a good file": ("a.zip", zip_of({"a.csv": csv(OK, OK2)}), 2, []),
    "gzip of a zip of a good file": ("a.zip.gz", gzip.compress(zip_of({"a.csv": csv(OK)})), 1, []),
    "truncated xz": (
        "a.csv.xz",
        lzma.compress(csv(*[OK] * 500))[:-50],
        0,
        ["xz data is truncated or corrupt"],
    ),
    "zip of two files": (
        "a.zip",
        zip_of({"a.csv": csv(OK), "b.csv": csv(OK2)}),
        0,
        ["a zip archive of 2 files (a.csv, b.csv)"],
    ),
    "tar of a good file, gzipped": (
        "a.tar.gz",
        gzip.compress(tar_of("a.csv", csv(OK))),
        0,
        ["a tar archive"],
    ),
    "UTF-16 with its byte order mark (PowerShell's Out-File)": (
        "access.log",
        codecs.BOM_UTF16_LE + lines(COMBINED, COMBINED).decode().encode("utf-16-le"),
        2,
        [],
    ),
    "UTF-16 big-endian access log cut in the middle of a character": (
        "access.log",
        (codecs.BOM_UTF16_BE + lines(COMBINED, COMBINED).decode().encode("utf-16-be"))[:-1],
        2,
        [],
    ),
    "NUL bytes before the first line (copytruncate)": (
        "access.log",
        b"\0" * 5000 + lines(COMBINED, COMBINED),
        2,
        [],
    ),
    "NUL bytes only": ("access.log", b"\0" * 5000, 0, ["NUL bytes"]),
    "binary file": ("a.bin", bytes(range(256)) * 4, 0, ["cannot detect the format"]),
    "plain text": ("a.txt", b"hello there\nhow are you\n", 0, ["could not detect the format"]),
    "access log line": ("access.log", lines(COMBINED), 1, []),
    "access log malformed request line": (  # a response to no request: endpoint {invalid}
        "access.log",
        lines(COMBINED, COMBINED.replace('"GET /api/a?x=1 HTTP/1.1"', '"-"')),
        2,
        [],
    ),  # fmt: skip
    "access log status 999": (
        "access.log",
        lines(COMBINED, COMBINED.replace(" 200 ", " 999 ")),
        1,
        ["status_code: expected <= 599"],
    ),
    "access log without a status": (
        "access.log",
        lines(COMBINED, COMBINED.replace(" 200 ", " - ")),
        1,
        ["status_code: missing"],
    ),  # the access-log record model requires one
    "access log line cut short": (  # 9 of 10 lines read: the format is detected
        "access.log",
        lines(*[COMBINED] * 9, COMBINED[:60]),
        9,
        ["does not match"],
    ),
    "JSON lines": ("a.jsonl", lines(JSON, JSON.replace("/api/a", "/api/b")), 2, []),
    "JSON array of records (gcloud logging read --format=json)": (
        "a.json",
        ("[" + JSON + ", " + JSON + "]\n").encode(),
        2,
        [],
    ),
    "Splunk CSV export of access lines": (
        "export.csv",
        b'_raw,_time,host\n"'
        + COMBINED.replace('"', '""').encode()
        + b'",2026-11-01T10:00:00.000+0000,web\n"'
        + COMBINED.replace('"', '""').replace(" 200 ", " 999 ").encode()
        + b'",2026-11-01T10:00:00.000+0000,web\n',
        1,
        ["status_code: expected <= 599"],
    ),
    "JSON array of rows, not objects": (
        "a.json",
        b'[["2026-11-01T10:00:00Z", "/a", 200], ["2026-11-01T10:00:01Z", "/b", 404]]\n',
        0,
        ["a JSON array, not JSON lines"],
    ),
    "invalid JSON line": ("a.jsonl", lines(*[JSON] * 9, JSON[:-10]), 9, ["not valid JSON"]),
    "JSON of the wrong type": (
        "a.jsonl",
        lines(JSON, JSON.replace('"status": 200', '"status": "teapot"')),
        1,
        ["status: 'teapot' is not an integer status code"],
    ),
    "JSON line that is not an object": (
        "a.jsonl",
        lines(*[JSON] * 9, "[1, 2, 3]"),
        9,
        ["expected a JSON object"],
    ),
    "service log with a stack trace": (
        "svc.log",
        lines(
            SERVICE,
            "Traceback (most recent call last):",
            '  File "x.py", line 1',
            "ValueError: boom",
        ),
        1,
        [],
    ),
    "ALB entry": ("alb.log", lines(ALB), 1, []),
    "ALB entry with -1 processing times": (
        "alb.log",
        lines(ALB, ALB.replace("0.000 0.001 0.000 200 200", "-1 -1 -1 502 -")),
        2,
        [],
    ),
}


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        environ={"LOGCAST_HOME": str(tmp_path / "home")}, config_file=tmp_path / "none.toml"
    )


def quarantined(settings) -> pd.DataFrame:
    files = list(settings.warehouse_dir.glob("quarantine/**/*.parquet"))
    if not files:
        return pd.DataFrame(columns=["line_number", "reasons", "raw"])
    return duckdb.execute(
        f"SELECT line_number, reasons, raw FROM read_parquet({json.dumps([str(f) for f in files])}) ORDER BY line_number"
    ).df()


def kept(settings) -> int:
    files = list(settings.warehouse_dir.glob("requests/**/*.parquet"))
    if not files:
        return 0
    return duckdb.execute(
        f"SELECT count(*) FROM read_parquet({json.dumps([str(f) for f in files])})"
    ).fetchone()[0]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_kept_or_quarantined_with_its_reason(settings, case):
    name, content, expected_kept, reasons = CASES[case]
    path = settings.landing_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    outcome = ingest_file(path, settings=settings, as_of=AS_OF)
    compact_pending(settings=settings, run_id="test")
    rows = quarantined(settings)
    assert outcome.records_read == outcome.rows_kept + outcome.rows_quarantined
    assert outcome.rows_kept == kept(settings) == expected_kept
    assert outcome.rows_quarantined == len(rows) == len(reasons)
    for expected, (_, row) in zip(reasons, rows.iterrows(), strict=True):
        for reason in (expected,) if isinstance(expected, str) else expected:
            assert reason in row["reasons"], row["reasons"]
        assert isinstance(row["raw"], str)


def test_a_file_most_of_whose_lines_no_format_reads_is_refused_whole(settings):
    """One line of two cut short: no format reads 90 % of the file, so it is not guessed at;
    the file is quarantined whole with the closest format and its share."""
    path = settings.landing_dir / "access.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lines(COMBINED, COMBINED[:60]))
    outcome = ingest_file(path, settings=settings, as_of=AS_OF)
    assert outcome.status == "rejected" and outcome.rows_kept == 0
    assert "could not detect the format" in outcome.reason and "combined 50%" in outcome.reason


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30
