"""Azure Storage Analytics logging, read field by field as Microsoft documents its format."""

import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

DOCUMENTED = (  # the example of Microsoft's "Storage Analytics log format" page
    "1.0;2014-06-19T01:34:36.0000000Z;GetBlob;Success;200;109;107;authenticated;myaccount;"
    'myaccount;blob;"https://myaccount.blob.core.windows.net/thumbnails/lake.jpg?timeout=30000";'
    '"/myaccount/thumbnails/lake.jpg";a84aa705-8a85-48c5-b064-b43bd22979c1;0;123.100.2.10;'
    '2009-09-19;252;0;265;100;0;;;"0x8D15A2913C934DE";Thursday, 19-Jun-14 01:34:36 GMT;;;;'
    '"6/19/2014 1:34:36 AM"'
)
ANONYMOUS_V2 = (  # version 2.0 (Azure AD fields after the first 30), an anonymous 404
    "2.0;2024-05-26T11:42:52.1234567Z;GetBlob;AnonymousSuccess;404;3;2;anonymous;;myaccount;"
    'blob;"https://myaccount.blob.core.windows.net/c/missing.txt";"/myaccount/c/missing.txt";'
    "b1;0;[2001:db8::7]:52100;2021-08-06;300;0;200;215;0;;;;;;"
    '"Azure-Storage/12.0 (.NET; ""x"")";"https://portal.example/";"req-9";;;;;;;;'
)
QUEUE = (
    "1.0;2024-05-26T11:42:53.0000000Z;PutMessage;Success;201;12;11;authenticated;myaccount;"
    'myaccount;queue;"https://myaccount.queue.core.windows.net/orders/messages";'
    '"/myaccount/orders";c2;0;10.0.0.9:443;2021-08-06;400;600;250;180;600;;;;;;'
    '"python-requests/2.31";;"abc"'
)


def test_the_documented_line_and_its_variants_field_by_field():
    data = "\n".join([DOCUMENTED, ANONYMOUS_V2, QUEUE]).encode() + b"\n"
    assert registry.detect(data) == "azure_storage"
    parsed = registry.parse(data, "azure_storage")
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        pd.Timestamp("2014-06-19 01:34:36", tz="UTC"),
        pd.Timestamp("2024-05-26 11:42:52.123456", tz="UTC"),
        pd.Timestamp("2024-05-26 11:42:53", tz="UTC"),
    ]
    assert rows["service"].tolist() == ["blob", "blob", "queue"]
    assert rows["status_code"].tolist() == [200, 404, 201]
    assert rows["latency_ms"].tolist() == [109.0, 3.0, 12.0]
    assert rows["bytes_sent"].tolist() == [100, 215, 180]
    assert rows["client_ip"].tolist() == ["123.100.2.10", "2001:db8::7", "10.0.0.9"]
    assert rows["user_id"].iloc[0] == "myaccount" and pd.isna(rows["user_id"].iloc[1])
    assert rows["path"].iloc[0] == (
        "https://myaccount.blob.core.windows.net/thumbnails/lake.jpg?timeout=30000"
    )
    first, second = (json.loads(rows["attributes"].iloc[k]) for k in (0, 1))
    assert first["operation"] == "GetBlob" and first["server_ms"] == "107"
    assert first["object_key"] == "/myaccount/thumbnails/lake.jpg"
    assert first["etag"] == "0x8D15A2913C934DE"
    assert first["client_request_id"] == "6/19/2014 1:34:36 AM"
    assert second["user_agent"] == 'Azure-Storage/12.0 (.NET; "x")'  # `;` inside its quotes
    assert second["request_status"] == "AnonymousSuccess" and second["version"] == "2.0"

    events = canonical_events(parsed, source="s", as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert events.rejects.empty
    assert events.events["endpoint"].tolist() == [
        "/thumbnails/lake.jpg",
        "/c/missing.txt",
        "/orders/messages",
    ]


def test_a_line_of_another_layout_is_quarantined_naming_the_format():
    data = (DOCUMENTED + "\n" + DOCUMENTED.replace(";GetBlob;", ";Get Blob;") + "\n").encode()
    parsed = registry.parse(data, "azure_storage")
    assert len(parsed.candidates) == 1
    assert parsed.rejects["line_number"].tolist() == [2]
    assert "Azure Storage Analytics log format" in parsed.rejects["reasons"].iloc[0]
