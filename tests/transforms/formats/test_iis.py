"""IIS's own log file format, read field by field as Microsoft documents it."""

import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

DOCUMENTED = (  # the example of Microsoft's "IIS Log File Format" page, and others like it
    b"192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, "
    b"200, 0, GET, /DeptLogo.gif, -,\n"
    b"10.0.0.7, CONTOSO\\alice, 11/01/2026, 13:05:09, W3SVC1, WEB2, 10.0.0.2, 12, 520, 89, "
    b"404, 2, POST, /api/orders, id=7&x=1,\n"
    b"10.0.0.8, -, 11/01/2026, 13:05:10, W3SVC1, WEB2, 10.0.0.2, 0, 80, 0, 0, 64, GET, /, -,\n"
)


def test_the_documented_lines_field_by_field():
    assert registry.detect(DOCUMENTED) == "iis"
    parsed = registry.parse(DOCUMENTED, "iis")
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        pd.Timestamp("2001-03-20 07:55:20", tz="UTC"),
        pd.Timestamp("2026-11-01 13:05:09", tz="UTC"),
        pd.Timestamp("2026-11-01 13:05:10", tz="UTC"),
    ]
    assert rows["client_ip"].tolist() == ["192.168.114.201", "10.0.0.7", "10.0.0.8"]
    assert pd.isna(rows["user_id"].iloc[0]) and rows["user_id"].iloc[1] == "CONTOSO\\alice"
    assert rows["method"].tolist() == ["GET", "POST", "GET"]
    assert rows["path"].tolist() == ["/DeptLogo.gif", "/api/orders?id=7&x=1", "/"]
    assert rows["status_code"].iloc[:2].tolist() == [200, 404]
    assert pd.isna(rows["status_code"].iloc[2])  # 0: no HTTP response was sent
    assert rows["bytes_sent"].tolist() == [3223, 89, 0]
    assert rows["latency_ms"].tolist() == [4502.0, 12.0, 0.0]
    assert json.loads(rows["attributes"].iloc[0]) == {
        "site": "W3SVC2",
        "server": "SALES1",
        "server_ip": "172.21.13.45",
        "bytes_received": "163",
        "win32_status": "0",
    }
    events = canonical_events(parsed, source="s", as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert events.rejects.empty
    assert events.events["endpoint"].tolist() == ["/DeptLogo.gif", "/api/orders", "/"]


def test_w3c_lines_named_iis_say_which_format_reads_them():
    data = (
        b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
        b"sc-status time-taken\n"
        b"2026-11-01 10:00:00 10.0.0.2 GET /a - 80 - 10.0.0.7 200 15\n"
    )
    assert registry.detect(data) == "w3c"
    parsed = registry.parse(data, "iis")
    assert parsed.candidates.empty
    assert "(IIS's W3C extended logs are `w3c`)" in parsed.rejects["reasons"].iloc[-1]
