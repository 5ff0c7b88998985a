import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

AS_OF = pd.Timestamp("2026-12-01", tz="UTC")
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
LINES = [
    # `proxy` (a proxy host): cache status, upstream statuses (each try), status
    f'[20/Nov/2026:10:15:32 +0000] - 200 200 - GET https cloud.example.com "/index.php/apps/files/" '
    f'[Client 203.0.113.45] [Length 10542] [Gzip 3.87] [Sent-to 192.168.1.20] "{UA}" '
    '"https://cloud.example.com/"',
    "[20/Nov/2026:11:15:33 +0100] HIT 502, 200 200 - GET https cloud.example.com "
    '"/core/css/server.css?v=5a8f" [Client 203.0.113.45] [Length 0] [Gzip -] '
    '[Sent-to 192.168.1.20] "curl/8.5.0" "-"',
    # `standard` (the default host, redirections): the status alone
    '[20/Nov/2026:10:16:02 +0000] 444 - GET http unknown.example.com "/.env" '
    '[Client 45.148.10.2] [Length 0] [Gzip -] "Mozilla/5.0 (compatible; CensysInspect/1.1)" "-"',
    # a connection that sent no request nginx could read
    '[20/Nov/2026:10:16:03 +0000] 400 - - http - "-" [Client 185.224.128.17] [Length 157] '
    '[Gzip -] "-" "-"',
]


def test_nginx_proxy_managers_proxy_and_standard_lines():
    """The user agent's `;` and `,` make no csv; both of NPM's log formats are read, and a
    response to no request keeps its status with endpoint {invalid}."""
    data = ("\n".join(LINES) + "\n").encode()
    assert registry.detect(data) == "npm"
    parsed = registry.parse(data, "npm", as_of=AS_OF)
    events = canonical_events(parsed, source="npm", as_of=AS_OF)
    assert events.rejects.empty
    kept = events.events
    assert kept["ts"].tolist() == [
        pd.Timestamp("2026-11-20T10:15:32Z"),
        pd.Timestamp("2026-11-20T10:15:33Z"),
        pd.Timestamp("2026-11-20T10:16:02Z"),
        pd.Timestamp("2026-11-20T10:16:03Z"),
    ]
    assert kept["status_code"].tolist() == [200, 200, 444, 400]
    assert kept["endpoint"].tolist() == [
        "/index.php/apps/files",
        "/core/css/server.css",
        "/.env",
        "{invalid}",
    ]
    assert kept["method"].tolist()[:3] == ["GET", "GET", "GET"]
    assert pd.isna(kept["method"].iloc[3])
    assert kept["bytes_sent"].tolist() == [10542, 0, 0, 157]
    assert kept["client_ip"].tolist()[0] == "203.0.113.45"
    first, second = (json.loads(a) for a in kept["attributes"].iloc[:2])
    assert first["host"] == "cloud.example.com" and first["user_agent"] == UA
    assert first["server"] == "192.168.1.20" and first["gzip_ratio"] == "3.87"
    assert second["upstream_status"] == "502, 200" and second["upstream_cache_status"] == "HIT"
    assert "referer" not in second


def test_a_line_in_neither_layout_is_quarantined_naming_the_layout():
    data = (LINES[0] + "\n" + LINES[0].replace("[Client ", "[Cli ") + "\n").encode()
    parsed = registry.parse(data, "npm", as_of=AS_OF)
    assert parsed.rejects["line_number"].tolist() == [2]
    assert "Nginx Proxy Manager's access log format" in parsed.rejects["reasons"].iloc[0]
