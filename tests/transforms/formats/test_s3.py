"""Amazon S3's server access log: the lines of AWS's documentation of its format (fixture
`s3_docs.log`), older lines without the later fields, and S3's own operations."""

import json
from pathlib import Path

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = pd.Timestamp("2026-11-02", tz="UTC")


def read(data: bytes):
    parsed = registry.parse(data, "s3")
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert parsed.records_read == len(events.events) + len(events.rejects)
    return events


def test_the_documentations_lines_are_requests():
    data = (FIXTURES / "s3_docs.log").read_bytes()
    assert registry.detect(data) == "s3"
    events = read(data)
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].iloc[0] == pd.Timestamp("2019-02-06T00:00:38Z")
    assert kept["method"].tolist() == ["GET"] * 4
    assert kept["path"].iloc[2] == "/DOC-EXAMPLE-BUCKET1?policy"
    assert kept["status_code"].tolist() == [200, 200, 404, 200]
    assert kept["error_reason"].iloc[2] == "NoSuchBucketPolicy"
    assert kept["bytes_sent"].tolist()[:3] == [113, 242, 297]
    assert kept["latency_ms"].tolist()[:3] == [7.0, 11.0, 38.0]
    assert kept["client_ip"].iloc[0] == "192.0.2.3"
    attributes = json.loads(kept["attributes"].iloc[0])
    assert attributes["bucket"] == "DOC-EXAMPLE-BUCKET1"
    assert attributes["operation"] == "REST.GET.VERSIONING"
    assert attributes["user_agent"] == "S3Console/0.4"


def test_older_lines_and_s3s_own_operations():
    old = (
        b"79a59df9 mybucket [06/Feb/2014:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE "
        b'REST.GET.OBJECT photo.jpg "GET /mybucket/photo.jpg HTTP/1.1" 200 - 2662992 2662992 '
        b'70 10 "-" "curl/7.15.1" -\n'
        b"79a59df9 mybucket [06/Feb/2014:00:01:00 +0000] - AmazonS3 2B8A3CB6EXAMPLE "
        b'S3.EXPIRE.OBJECT photo.jpg "-" - - - 2662992 - - "-" "-" -\n'
    )
    events = read(old)
    assert events.events["user_id"].isna().all()  # anonymous
    assert events.events["bytes_sent"].tolist() == [2662992]
    assert events.rejects["line_number"].tolist() == [2]  # S3's own: no request, no status
