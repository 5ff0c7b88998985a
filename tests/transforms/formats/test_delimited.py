import json

import pandas as pd
import pytest

from transforms.formats import registry
from transforms.formats.base import FileFormatError
from transforms.formats.delimited import Column, parse_delimited

API = b"timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"
GOOD = b"2026-11-01T10:00:00Z,/a,1.5,200,u1,shop,eu\n"


def test_api_layout_given_expected():
    parsed = parse_delimited(API + GOOD + b"\n" + b"2026-11-01T12:00:00+02:00,/b,-,503,,,\n")
    assert parsed.records_read == 2 and parsed.rejects.empty
    rows = parsed.candidates
    assert rows["line_number"].tolist() == [2, 4]
    assert rows["raw"].tolist() == [
        "2026-11-01T10:00:00Z,/a,1.5,200,u1,shop,eu",
        "2026-11-01T12:00:00+02:00,/b,-,503,,,",
    ]
    assert rows["ts"].tolist() == [pd.Timestamp("2026-11-01T10:00Z")] * 2  # offset applied
    assert rows["path"].tolist() == ["/a", "/b"]
    assert rows["latency_ms"].iloc[0] == 1.5 and pd.isna(
        rows["latency_ms"].iloc[1]
    )  # '-' = not logged
    assert rows["status_code"].tolist() == [200, 503]
    assert pd.isna(rows["user_id"].iloc[1]) and pd.isna(rows["service"].iloc[1])
    assert "api layout" in parsed.notes[0]


def test_document_api_layout_is_recognised_from_its_header():
    header = b"request_id,api_name,TIMESTAMP,latency_ms,status_Code,document_type,region,device_type,error_reason\n"
    line = b"r1,/documents/upload,2026-11-01 10:00:00,250,500,pdf,eu-west-1,mobile,timeout\n"
    parsed = parse_delimited(header + line)
    row = parsed.candidates.iloc[0]
    assert row["path"] == "/documents/upload" and row["latency_ms"] == 250.0
    assert (
        row["status_code"] == 500
        and row["device_type"] == "mobile"
        and row["error_reason"] == "timeout"
    )
    assert row["ts"] == pd.Timestamp("2026-11-01T10:00Z")  # naive times are UTC
    assert "document-api layout" in parsed.notes[0]


def test_configured_mapping_with_units():
    mapping = {"ts": Column("when"), "path": Column("url"), "latency_ms": Column("secs", "s")}
    parsed = parse_delimited(b"when,url,secs\n1762000000,/x,0.25\n", mapping=mapping)
    row = parsed.candidates.iloc[0]
    assert row["latency_ms"] == 250.0
    assert row["ts"] == pd.Timestamp(1762000000, unit="s", tz="UTC")


GCS_USAGE = (
    b'"time_micros","c_ip","c_ip_type","c_ip_region","cs_method","cs_uri","sc_status",'
    b'"cs_bytes","sc_bytes","time_taken_micros","cs_host","cs_referer","cs_user_agent",'
    b'"s_request_id","cs_operation","cs_bucket","cs_object"\n'
    b'"1715854833123456","203.0.113.7","1","","GET","/b/o/report.pdf?alt=media","200","0",'
    b'"52341","104000","storage.googleapis.com","","curl/8.4.0,gzip(gfe)","ADPy1","GET_Object",'
    b'"b","report.pdf"\n'
)


@pytest.mark.parametrize("clean", [True, False])
def test_columns_read_by_their_names_when_no_layout_matches(clean):
    """Google Cloud Storage's usage logs (a format GoAccess reads): each canonical column from
    the column named for it, units from the names; the other columns are attributes."""
    data = GCS_USAGE if not clean else GCS_USAGE.replace(b'"', b"").replace(b"8.4.0,gzip", b"8.4.0")
    parsed = parse_delimited(data)
    row = parsed.candidates.iloc[0]
    assert row["ts"] == pd.Timestamp("2024-05-16T10:20:33.123456Z")  # epoch microseconds
    assert row["method"] == "GET" and row["path"] == "/b/o/report.pdf?alt=media"
    assert row["status_code"] == 200 and row["bytes_sent"] == 52341
    assert row["latency_ms"] == 104.0 and row["client_ip"] == "203.0.113.7"
    assert parsed.notes[0] == (
        "csv columns mapped by their names: ts <- time_micros, path <- cs_uri, method <- "
        "cs_method, status_code <- sc_status, bytes_sent <- sc_bytes, client_ip <- c_ip, "
        "latency_ms <- time_taken_micros (us)"
    )
    attributes = json.loads(row["attributes"])
    assert attributes["cs_operation"] == "GET_Object" and attributes["cs_bucket"] == "b"


def test_column_names_match_whatever_their_case_and_separators():
    header = b"Timestamp,Endpoint,Response-Time-Ms,HTTP Status,User.Id,Duration\n"
    parsed = parse_delimited(header + b"2024-05-16T10:20:33Z,/api/users,12,404,u1,0.5\n")
    row = parsed.candidates.iloc[0]
    assert row["path"] == "/api/users" and row["status_code"] == 404
    assert row["latency_ms"] == 12.0 and row["user_id"] == "u1"
    assert "latency_ms <- Response-Time-Ms (ms)" in parsed.notes[0]
    # a duration named without a unit is in seconds when no other latency column is there
    alone = parse_delimited(b"time,url,duration\n2024-05-16T10:20:33Z,/x,0.25\n")
    assert alone.candidates["latency_ms"].tolist() == [250.0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Excel (en-US): month first, AM/PM; a unit in brackets after the name
        (b"Timestamp,Method,Endpoint,Status,Response Time (ms)\n"
         b"5/14/2024 1:05 PM,GET,/api/orders/1043,200,23\n",
         ("2024-05-14T13:05:00Z", "GET", "/api/orders/1043", 200, 23.0)),
        # Excel (en-GB): the day first, as a day above 12 tells
        (b"Timestamp,Path,Status,Latency (ms)\n14/05/2024 10:15,/a,200,12\n01/06/2024 09:00,/b,200,3\n",
         ("2024-05-14T10:15:00Z", None, "/a", 200, 12.0)),
        # Excel (de-DE): semicolons, day.month.year, a decimal comma, Windows-1252 text
        ("Timestamp;Path;Status;Latency (ms);User\n14.05.2024 10:15:03;/a;200;12,5;J\u00fcrgen\n"
         .encode("cp1252"),
         ("2024-05-14T10:15:03Z", None, "/a", 200, 12.5)),
        # Google Sheets / Athena's CloudFront table / IIS fields exported: a date and a time column
        (b"date,time,cs-method,cs-uri-stem,sc-status,time-taken\n2024-05-14,10:15:03,GET,/a,200,15\n",
         ("2024-05-14T10:15:03Z", "GET", "/a", 200, 15.0)),
        # Splunk: _time with an offset, clientip
        (b'"_time",clientip,method,uri,status,bytes\n"2024-05-14T12:15:03.148+02:00",203.0.113.45,'
         b"GET,/a?x=1,200,1432\n",
         ("2024-05-14T10:15:03.148Z", "GET", "/a?x=1", 200, None)),
        # BigQuery: a time ending in UTC, a latency named in seconds
        (b"timestamp,request_method,request_url,status,latency_seconds\n"
         b"2024-05-14 10:15:03.148014 UTC,GET,/a,200,0.023451\n",
         ("2024-05-14T10:15:03.148014Z", "GET", "/a", 200, 23.451)),
        # Kibana's CSV report: its time format and grouped thousands
        (b'"@timestamp","http.request.method","url.path","http.response.status_code",'
         b'"http.response.body.bytes"\n"May 14, 2024 @ 10:15:03.148",GET,/a,200,"1,432"\n',
         ("2024-05-14T10:15:03.148Z", "GET", "/a", 200, None)),
        # Excel "CSV UTF-8": a BOM, CRLF, a `Request Time` beside a duration column
        (b"\xef\xbb\xbfRequest Time,HTTP Method,URL,Status Code,Duration (ms)\r\n"
         b'5/14/2024 10:15:03,GET,"/search?q=shoes,boots",200,23.5\r\n',
         ("2024-05-14T10:15:03Z", "GET", "/search?q=shoes,boots", 200, 23.5)),
        # JMeter: elapsed (the whole response) rather than Latency (the first byte)
        (b"timeStamp,elapsed,label,responseCode,URL,Latency\n"
         b"1715681703148,291,GET /a,200,https://api.example.com/a,268\n",
         ("2024-05-14T10:15:03.148Z", None, "https://api.example.com/a", 200, 291.0)),
        # ClickHouse's TSVWithNames: \\N is null; AWS's ALB (Athena): -1 is no time measured
        (b"timestamp\turl\tstatus\tbytes\ttarget_processing_time\n"
         b"2024-05-14 10:15:03\t/a\t502\t\\N\t-1.0\n",
         ("2024-05-14T10:15:03Z", None, "/a", 502, None)),
    ],
)  # fmt: skip
def test_exports_of_common_tools_are_read_by_their_column_names(data, expected):
    delimiter = "\t" if b"\t" in data.split(b"\n", 1)[0] else (";" if b";" in data[:20] else ",")
    parsed = parse_delimited(data, delimiter=delimiter)
    assert parsed.rejects.empty, parsed.rejects["reasons"].tolist()
    row = parsed.candidates.iloc[0]
    ts, method, path, status, latency = expected
    assert row["ts"] == pd.Timestamp(ts)
    assert pd.isna(row.get("method")) if method is None else row["method"] == method
    assert (row["path"], row["status_code"]) == (path, status)
    assert pd.isna(row.get("latency_ms")) if latency is None else row["latency_ms"] == latency


def test_k6_csv_output_has_a_request_per_http_req_duration_row():
    header = (
        b"metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,"
        b"name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata\n"
    )
    row = b",1715681703,{},,,,true,,GET,https://test.k6.io/,HTTP/1.1,default,,200,,tls1.3,https://test.k6.io/,,\n"
    data = (
        header
        + b"http_reqs"
        + row.replace(b"{}", b"1.0")
        + b"http_req_duration"
        + row.replace(b"{}", b"114.7263")
    )
    parsed = parse_delimited(data)
    assert parsed.candidates["latency_ms"].tolist() == [114.7263]
    assert parsed.rejects["line_number"].tolist() == [2]
    assert "k6's http_reqs metric, not a request" in parsed.rejects["reasons"].iloc[0]
    # a header with a timestamp and a url but no k6 metric columns is no k6 file
    other = parse_delimited(b"timestamp,url,status\n2024-05-14T10:15:03Z,/a,200\n")
    assert other.notes[0].startswith("csv columns mapped by their names")


def test_a_day_and_month_the_values_cannot_tell_apart_are_not_guessed():
    parsed = parse_delimited(b"time,path\n05/06/2024 10:15,/a\n06/07/2024 10:15,/b\n")
    assert parsed.candidates.empty and len(parsed.rejects) == 2
    assert "day and month told apart by the file's values" in parsed.rejects["reasons"].iloc[0]


def test_column_names_without_a_time_or_a_path_are_no_layout():
    with pytest.raises(FileFormatError, match="columns named for a time"):
        parse_delimited(b"url,status\n/x,200\n")
    with pytest.raises(FileFormatError, match="matches no known layout"):
        parse_delimited(b"timestamp,status\n2024-05-16T10:20:33Z,200\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1762000000", pd.Timestamp(1762000000, unit="s", tz="UTC")),
        ("1762000000123", pd.Timestamp(1762000000123, unit="ms", tz="UTC")),
        ("2026-11-01T10:00:00.250Z", pd.Timestamp("2026-11-01T10:00:00.250Z")),
        ("2026-11-01T10:00:00-05:00", pd.Timestamp("2026-11-01T15:00:00Z")),
    ],
)
def test_timestamps_in_every_usual_form(value, expected):
    parsed = parse_delimited(API + f"{value},/a,1,200,u,s,r\n".encode())
    assert parsed.candidates["ts"].iloc[0] == expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"2026-11-01T10:00:00Z,/a,1,200", "expected 7 fields (','-separated), found 4"),
        (b"2026-11-01T10:00:00Z,/a,1,200,u,s,r,extra", "found 8"),
        (b"2026-11-01T10:00:00Z;/a;1;200;u;s;r", "found 1"),
        (b"2026-11-01T10:00:00Z,/\x81,1,200,u,s,r", "not valid UTF-8"),
        (b"2026-11-01T10:00:00Z,/\x00,1,200,u,s,r", "NUL bytes"),
        (API.strip(), "repeated header (first header on line 1)"),
        (b'2026-11-01T10:00:00Z,"/a,1,200,u,s,r', "malformed quoting"),
        (b"2026-11-01T10:00:00Z,/a\r,1,200,u,s,r", "a carriage return inside an unquoted field"),
        (b"2026-11-01T10:00:00Z,/a,abc,200,u,s,r", "response_time_ms: 'abc' is not a number"),
        (
            b"2026-11-01T10:00:00Z,/a,1,20x,u,s,r",
            "status_code: '20x' is not an integer status code",
        ),
        (b"2026-11-01T10:00:00Z,/a,1,200.5,u,s,r", "status_code: '200.5' is not an integer"),
        (b"yesterday,/a,1,200,u,s,r", "timestamp: 'yesterday' is not a timestamp"),
    ],
)
def test_bad_lines_are_rejected_with_their_reason(line, reason):
    parsed = parse_delimited(API + GOOD + line + b"\n" + GOOD)
    assert parsed.records_read == 3
    assert parsed.candidates["line_number"].tolist() == [2, 4]
    assert parsed.rejects["line_number"].tolist() == [3]
    assert reason in parsed.rejects["reasons"].iloc[0]


def test_quoted_fields_with_delimiters_are_parsed():
    parsed = parse_delimited(API + b'2026-11-01T10:00:00Z,"/a,b",1,200,u,"shop, eu",r\n')
    assert parsed.candidates["path"].iloc[0] == "/a,b"
    assert parsed.candidates["service"].iloc[0] == "shop, eu"


def test_bom_crlf_and_tabs():
    parsed = parse_delimited(
        b"\xef\xbb\xbf" + API.replace(b"\n", b"\r\n") + GOOD.replace(b"\n", b"\r\n")
    )
    assert parsed.candidates["region"].tolist() == ["eu"]
    tsv = parse_delimited(API.replace(b",", b"\t") + GOOD.replace(b",", b"\t"), delimiter="\t")
    assert tsv.candidates["path"].tolist() == ["/a"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"\n\n", "file is empty"),
        (b"when,where\n1,2\n", "matches no known layout"),
        (b"a,\x81\n1,2\n", "line 1: header is not valid UTF-8"),
        (b"\r\x01", "line 1: header cannot be split into column names, a carriage return"),
        (API.replace(b"\n", b"\r") + GOOD.replace(b"\n", b"\r"), "CR-only line ends"),
    ],
)
def test_file_errors(data, message):
    with pytest.raises(FileFormatError, match=message):
        parse_delimited(data)


def test_header_only_has_no_records():
    parsed = parse_delimited(API)
    assert parsed.records_read == 0 and parsed.candidates.empty and parsed.rejects.empty


def test_quoted_and_plain_lines_keep_their_order():
    body = (
        b"2026-11-01T10:00:00Z,/p1,1,200,u,s,r\n"
        b'2026-11-01T10:00:01Z,"/q,1",2,200,u,s,r\n'
        b"2026-11-01T10:00:02Z,/p2,3,200,u,s,r\n"
        b'2026-11-01T10:00:03Z,"/q,2",4,200,u,s,r\n'
    )
    parsed = parse_delimited(API + body)
    assert parsed.candidates["path"].tolist() == ["/p1", "/q,1", "/p2", "/q,2"]
    assert parsed.candidates["latency_ms"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert parsed.candidates["line_number"].tolist() == [2, 3, 4, 5]


def test_a_quoted_field_may_hold_line_breaks_and_a_stray_quote_costs_only_its_line():
    """RFC 4180: a quoted field may hold line breaks; the record has its first line's number
    and its raw text keeps them. A line with an unbalanced quote that joins no whole record
    (a quote inside an unquoted field, which the csv module reads as it is) is judged alone,
    and the lines after it are read as they are."""
    header = "timestamp,endpoint,response_time_ms,status_code,user_id\n"
    body = (
        "2026-11-01T10:00:00Z,/a,12.5,200,u1\n"
        '2026-11-01T10:00:01Z,/b,9,500,"two\n'
        'lines"\n'
        '2026-11-01T10:00:02Z,/c,10,404,5" screen\n'
        "2026-11-01T10:00:03Z,/d,11,200,u4\n"
    )
    parsed = parse_delimited((header + body).encode())
    assert parsed.candidates["path"].tolist() == ["/a", "/b", "/c", "/d"]
    assert parsed.candidates["user_id"].tolist()[1:3] == ["two\nlines", '5" screen']
    assert parsed.candidates["line_number"].tolist() == [2, 3, 5, 6]
    assert parsed.rejects.empty
    assert parsed.records_read == 4
    assert any("read across lines" in note for note in parsed.notes)


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_semicolon_separated_csv_as_spreadsheets_write_it_with_decimal_commas(quoted):
    path = '"/api/v1/search;q"' if quoted else "/api/v1/search"
    data = (
        "\ufefftimestamp;endpoint;response_time_ms;status_code;user_id\r\n"
        "2026-11-01T10:00:00Z;/api/v1/users/42;12,5;200;u1\r\n"
        "2026-11-01T10:00:01Z;/api/v1/orders;48;201;u2\r\n"
        f"2026-11-01T10:00:02Z;{path};7,25;200;u3\r\n"
        "2026-11-01T10:00:03Z;/api/v1/orders;1,2,3;200;u4\r\n"
    ).encode()
    assert registry.detect(data) == "csv"
    parsed = registry.parse(data, "csv")
    kept = parsed.candidates
    assert kept["path"].tolist() == [
        "/api/v1/users/42",
        "/api/v1/orders",
        "/api/v1/search;q" if quoted else "/api/v1/search",
    ]
    assert kept["latency_ms"].tolist() == [12.5, 48.0, 7.25]
    assert kept["status_code"].tolist() == [200, 201, 200]
    # `1,2,3` is no number with a decimal comma: rejected, naming the column
    assert parsed.rejects["line_number"].tolist() == [5]
    assert "response_time_ms: '1,2,3' is not a number" in parsed.rejects["reasons"].iloc[0]


def test_a_comma_csv_keeps_reading_a_decimal_comma_as_no_number():
    data = (
        b"timestamp,endpoint,response_time_ms,status_code,user_id\n"
        b'2026-11-01T10:00:00Z,/a,"12,5",200,u1\n'
    )
    parsed = parse_delimited(data)
    assert parsed.candidates.empty
    assert "'12,5' is not a number" in parsed.rejects["reasons"].iloc[0]


def test_a_log_split_into_columns_reads_its_request_lines_and_its_bracketed_times():
    """A web log split at its spaces into a CSV (a dataset of this shape is popular for
    tutorials): the time keeps CLF's opening bracket and loses its zone (read as UTC, as
    spreadsheets' times are), and the URL column holds whole request lines."""
    data = (
        b"IP,Time,URL,Status\n"
        b"10.128.2.1,[29/Nov/2017:06:58:55,GET /login.php HTTP/1.1,200\n"
        b"10.128.2.1,[29/Nov/2017:06:59:02,POST /process.php HTTP/1.1,302\n"
        b"10.131.2.1,[29/Nov/2017:06:59:03,GET /home.php?x=1 HTTP/1.1,200\n"
    )
    parsed = parse_delimited(data)
    assert parsed.rejects.empty
    rows = parsed.candidates
    assert rows["ts"].tolist() == [
        pd.Timestamp("2017-11-29T06:58:55Z"),
        pd.Timestamp("2017-11-29T06:59:02Z"),
        pd.Timestamp("2017-11-29T06:59:03Z"),
    ]
    assert rows["method"].tolist() == ["GET", "POST", "GET"]
    assert rows["path"].tolist() == ["/login.php", "/process.php", "/home.php?x=1"]
    assert any("URL holds whole request lines" in n for n in parsed.notes)
    # a column of plain paths, or of request lines among other values, is read as it is
    mixed = parse_delimited(data.replace(b"GET /home.php?x=1 HTTP/1.1", b"/home.php"))
    assert "method" not in mixed.candidates
    assert mixed.candidates["path"].tolist()[2] == "/home.php"
