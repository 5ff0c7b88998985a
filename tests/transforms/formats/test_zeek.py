"""Zeek's http.log, as its documentation shows it (tab-separated, under its directives)."""

import json

import pandas as pd
import pytest

from transforms.canonical import canonical_events
from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.reason_codes import reason_codes

AS_OF = pd.Timestamp("2026-12-01", tz="UTC")
FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "trans_depth",
    "method",
    "host",
    "uri",
    "referrer",
    "version",
    "user_agent",
    "origin",
    "request_body_len",
    "response_body_len",
    "status_code",
    "status_msg",
    "info_code",
    "info_msg",
    "tags",
    "username",
    "password",
    "proxied",
    "orig_fuids",
    "orig_filenames",
    "orig_mime_types",
    "resp_fuids",
    "resp_filenames",
    "resp_mime_types",
]
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n"
    "#open\t2020-06-05-14-39-59\n#fields\t"
    + "\t".join(FIELDS)
    + "\n#types\t"
    + "\t".join(["time", "string", "addr", "port", "addr", "port"] + ["string"] * 24)
    + "\n"
)
LINES = [
    "1591367999.430166\tC5bLoe2Mvxqhawzqqd\t192.168.4.76\t46378\t31.3.245.133\t80\t1\tGET\t"
    "testmyids.com\t/\t-\t1.1\tcurl/7.47.0\t-\t0\t39\t200\tOK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\t"
    "FEEsZS1w0Z0VJIb5x4\t-\ttext/plain",
    "1591368012.118201\tCHhAvVGS1DHFjwGM9\t192.168.4.76\t46380\t151.139.128.14\t80\t1\tPOST\t"
    "ocsp.sectigo.com\t/MFYwVKADAgEAME0wSzBJ\t-\t1.1\tMicrosoft-CryptoAPI/10.0\t-\t83\t471\t200\t"
    "OK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\t-\t-\t-",
    # a request Zeek saw no response to: no status, no response body
    "1591368013.000001\tCyU0rV1ZgLLkXMlhe\t192.168.4.77\t46390\t93.184.216.34\t80\t1\tGET\t"
    "www.example.com\t/slow\t-\t1.1\tcurl/7.47.0\t-\t0\t0\t-\t-\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\t"
    "-\t-\t-",
]


def test_zeek_http_log_is_detected_and_read():
    data = (HEADER + "\n".join(LINES) + "\n#close\t2020-06-05-15-00-00\n").encode()
    assert registry.detect(data) == "zeek"
    parsed = registry.parse(data, "zeek")
    assert parsed.rejects.empty and parsed.records_read == 3
    events = canonical_events(parsed, source="t", as_of=AS_OF).events
    assert events["ts"].tolist()[0] == pd.Timestamp("2020-06-05T14:39:59.430166Z")
    assert events["method"].tolist() == ["GET", "POST", "GET"]
    assert events["path"].tolist() == ["/", "/MFYwVKADAgEAME0wSzBJ", "/slow"]
    assert events["status_code"].tolist()[:2] == [200, 200]
    assert pd.isna(events["status_code"].iloc[2])
    assert events["bytes_sent"].tolist() == [39, 471, 0]
    assert events["client_ip"].tolist() == ["192.168.4.76", "192.168.4.76", "192.168.4.77"]
    attributes = json.loads(events["attributes"].iloc[0])
    assert attributes["host"] == "testmyids.com" and attributes["user_agent"] == "curl/7.47.0"
    assert "tags" not in attributes  # (empty) is no value


def test_lines_before_the_fields_or_with_other_widths_are_rejected():
    data = "#separator \\x09\n1591367999.4\tGET\n" + HEADER.split("\n", 1)[1] + LINES[0] + "\tx\n"
    parsed = registry.parse(data.encode(), "zeek")
    assert parsed.candidates.empty
    assert parsed.rejects["reasons"].tolist() == [
        "no #fields line before it; expected Zeek's http.log: `#fields` names the "
        "tab-separated columns of the lines after it",
        "the line has 31 values, its #fields line names 30",
    ]


def test_a_zeek_log_of_another_kind_is_refused_naming_it():
    data = b"#separator \\x09\n#path\tconn\n#fields\tts\tuid\n1591367999.4\tC1\n"
    with pytest.raises(FileFormatError, match="a Zeek conn log, which holds no HTTP requests"):
        registry.parse(data, "zeek")


def test_lines_under_a_fields_line_without_ts_are_rejected_not_raised():
    """A `#fields` line that names no `ts` (here an empty one before a csv): its lines cannot
    be placed in time, and each gets that reason."""
    data = b"#separator \\x09\n#fields\t\ntimestamp,endpoint\n2026-11-01T10:00:00Z,/a\n"
    parsed = registry.parse(data, "zeek")
    assert parsed.candidates.empty and parsed.records_read == 2
    assert (
        parsed.rejects["reasons"].tolist()
        == ["its #fields line names no ts field (the time of Zeek's entries)"] * 2
    )
    assert reason_codes(parsed.rejects["reasons"]).tolist() == ["zeek_no_time"] * 2
