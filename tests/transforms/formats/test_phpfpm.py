"""PHP-FPM's access log: its default access.format and the longer one its www.conf suggests,
as the official Docker image's output shows them beside FPM's notices."""

import json

import pandas as pd

from transforms.canonical import canonical_events
from transforms.formats import registry

AS_OF = pd.Timestamp("2026-11-02", tz="UTC")
LINES = [
    "[16-May-2024 10:20:30] NOTICE: fpm is running, pid 1",
    "[16-May-2024 10:20:30] NOTICE: ready to handle connections",
    '172.17.0.3 -  16/May/2024:10:20:33 +0000 "GET /index.php" 200',
    '172.17.0.3 - alice 16/May/2024:12:20:34 +0200 "POST /index.php?x=1" 302',
    # www.conf's suggested layout: %R - %u %t "%m %r%Q%q" %s %f %{mili}d %{kilo}M %C%%
    '172.17.0.4 -  16/May/2024:10:20:35 +0000 "GET /api.php?id=5" 404 /var/www/html/api.php '
    "12.345 2048 50.00%",
]


def test_access_lines_with_fpms_notices_beside_them():
    data = ("\n".join(LINES) + "\n").encode()
    assert registry.detect(data) == "phpfpm"
    parsed = registry.parse(data, "phpfpm")
    events = canonical_events(parsed, source="t", as_of=AS_OF)
    assert events.rejects.empty
    own = events.events[events.events["level"].notna()]
    assert own["line_number"].tolist() == [1, 2]
    assert own["level"].tolist() == ["INFO", "INFO"]  # FPM's NOTICE
    assert set(own["service"]) == {"php-fpm"}
    assert own["message"].tolist() == ["fpm is running, pid 1", "ready to handle connections"]
    assert own["ts"].iloc[0] == pd.Timestamp("2024-05-16T10:20:30Z")
    kept = events.events[events.events["level"].isna()]
    assert kept["ts"].tolist() == [pd.Timestamp("2024-05-16T10:20:33Z")] + [
        pd.Timestamp("2024-05-16T10:20:34Z"),
        pd.Timestamp("2024-05-16T10:20:35Z"),
    ]
    assert kept["method"].tolist() == ["GET", "POST", "GET"]
    assert kept["endpoint"].tolist() == ["/index.php", "/index.php", "/api.php"]
    assert kept["status_code"].tolist() == [200, 302, 404]
    assert kept["user_id"].isna().tolist() == [True, False, True]
    assert pd.isna(kept["latency_ms"].iloc[0]) and kept["latency_ms"].iloc[2] == 12.345
    assert json.loads(kept["attributes"].iloc[2]) == {
        "script": "/var/www/html/api.php",
        "memory_kb": "2048",
        "cpu": "50.00%",
    }
