"""Ingest benchmark: one 1,000,000-record file per format through parse -> validate -> write
`requests`, against DuckDB reading the same file and writing the same columns to Parquet
(zstd, hive-partitioned by date and hour), in the same process: both warmed up on a small
file, then the best of `REPEATS` runs each, alternating. Peak memory is measured apart, in a
fresh interpreter (`bench.peak`), since this process holds the benchmark's own data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from flows.ingest import catalog_for, ingest_file
from flows.settings import load_settings
from transforms.synthetic import synthetic_requests

RECORDS = 1_000_000
START = pd.Timestamp("2026-10-01", tz="UTC")
AS_OF = pd.Timestamp("2026-11-01", tz="UTC")
REPEATS = int(os.environ.get("LOGCAST_BENCH_REPEATS", "3"))


def events(records: int = RECORDS) -> pd.DataFrame:
    frame, _ = synthetic_requests(start=START, days=14, endpoints=50, seed=11)
    if len(frame) < records:
        repeats = -(-records // len(frame))
        frame = pd.concat([frame] * repeats, ignore_index=True)
    return frame.iloc[:records].reset_index(drop=True)


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23) + "Z"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    body = (
        _iso(frame["timestamp"]) + "," + frame["endpoint"] + ","
        + frame["response_time_ms"].map("{:.1f}".format) + "," + frame["status_code"].astype(str)
        + "," + frame["user_id"] + "," + frame["service"] + "," + frame["region"]
    )  # fmt: skip
    header = "timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"
    path.write_text(header + "\n".join(body) + "\n")


def write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    body = (
        '{"timestamp":"' + _iso(frame["timestamp"]) + '","path":"' + frame["endpoint"]
        + '","latency_ms":' + frame["response_time_ms"].map("{:.1f}".format)
        + ',"status":' + frame["status_code"].astype(str) + ',"user_id":"' + frame["user_id"]
        + '","service":"' + frame["service"] + '","region":"' + frame["region"] + '"}'
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


def write_combined(frame: pd.DataFrame, path: Path) -> None:
    rng = np.random.default_rng(3)
    ips = pd.Series(rng.integers(1, 255, size=(len(frame), 4)).astype(str).tolist()).str.join(".")
    when = frame["timestamp"].dt.strftime("%d/%b/%Y:%H:%M:%S +0000")
    body = (
        ips + " - " + frame["user_id"] + " [" + when + '] "GET ' + frame["endpoint"]
        + ' HTTP/1.1" ' + frame["status_code"].astype(str) + " "
        + pd.Series(rng.integers(200, 5000, len(frame))).astype(str)
        + ' "-" "Mozilla/5.0 (X11; Linux x86_64)" '
        + (frame["response_time_ms"] / 1000).map("{:.3f}".format)
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


def _ips(size: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.integers(1, 255, size=(size, 4)).astype(str).tolist()).str.join(".")


def write_haproxy(frame: pd.DataFrame, path: Path) -> None:
    """HAProxy HTTP log lines behind their syslog header (`option httplog`)."""
    rng = np.random.default_rng(4)
    ms = frame["response_time_ms"].round().astype(int).astype(str)
    body = (
        frame["timestamp"].dt.strftime("%b %d %H:%M:%S") + " lb haproxy[1234]: "
        + _ips(len(frame), 5) + ":" + pd.Series(rng.integers(1024, 65535, len(frame))).astype(str)
        + " [" + frame["timestamp"].dt.strftime("%d/%b/%Y:%H:%M:%S.")
        + (frame["timestamp"].dt.microsecond // 1000).map("{:03d}".format) + "] fe~ "
        + frame["service"] + "/web1 0/0/1/" + ms + "/" + ms + " "
        + frame["status_code"].astype(str) + " "
        + pd.Series(rng.integers(200, 5000, len(frame))).astype(str)
        + ' - - ---- 6/6/0/0/0 0/0 "GET ' + frame["endpoint"] + ' HTTP/1.1"'
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


def write_uwsgi(frame: pd.DataFrame, path: Path) -> None:
    """uWSGI's default request log lines."""
    rng = np.random.default_rng(6)
    body = (
        "[pid: 7|app: 0|req: 1/1] " + _ips(len(frame), 7) + " () {34 vars in 377 bytes} ["
        + frame["timestamp"].dt.strftime("%a %b %d %H:%M:%S %Y") + "] GET " + frame["endpoint"]
        + " => generated " + pd.Series(rng.integers(200, 5000, len(frame))).astype(str)
        + " bytes in " + frame["response_time_ms"].round().astype(int).astype(str)
        + " msecs (HTTP/1.1 " + frame["status_code"].astype(str)
        + ") 2 headers in 79 bytes (1 switches on core 0)"
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


def write_envoy(frame: pd.DataFrame, path: Path) -> None:
    """Envoy's default access log lines."""
    rng = np.random.default_rng(10)
    ms = frame["response_time_ms"].round().astype(int).astype(str)
    body = (
        "[" + _iso(frame["timestamp"]) + '] "GET ' + frame["endpoint"] + ' HTTP/1.1" '
        + frame["status_code"].astype(str) + " - 0 "
        + pd.Series(rng.integers(200, 5000, len(frame))).astype(str) + " " + ms + " " + ms
        + ' "' + _ips(len(frame), 11) + '" "Mozilla/5.0 (X11; Linux x86_64)" '
        + '"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "' + frame["service"] + '" "10.0.2.1:80"'
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


def write_caddy(frame: pd.DataFrame, path: Path) -> None:
    """Caddy's JSON access log (its keys, in its order, without the headers objects)."""
    rng = np.random.default_rng(12)
    epoch = frame["timestamp"].dt.as_unit("us").astype("int64").astype(str)  # microseconds
    body = (
        '{"level":"info","ts":' + epoch.str.slice(0, -6) + "." + epoch.str.slice(-6)
        + ',"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"'
        + _ips(len(frame), 13) + '","client_ip":"' + _ips(len(frame), 13)
        + '","proto":"HTTP/1.1","method":"GET","host":"' + frame["service"] + '","uri":"'
        + frame["endpoint"] + '"},"bytes_read":0,"user_id":"' + frame["user_id"]
        + '","duration":' + (frame["response_time_ms"] / 1000).map("{:.6f}".format)
        + ',"size":' + pd.Series(rng.integers(200, 5000, len(frame))).astype(str)
        + ',"status":' + frame["status_code"].astype(str) + "}"
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


def write_traefik(frame: pd.DataFrame, path: Path) -> None:
    """Traefik's JSON access log (`accessLog.format: json`, its default fields)."""
    rng = np.random.default_rng(14)
    ns = (frame["response_time_ms"] * 1e6).round().astype("int64").astype(str)
    ips = _ips(len(frame), 15)
    body = (
        '{"ClientAddr":"' + ips + ':41234","ClientHost":"' + ips
        + '","DownstreamContentSize":' + pd.Series(rng.integers(200, 5000, len(frame))).astype(str)
        + ',"DownstreamStatus":' + frame["status_code"].astype(str) + ',"Duration":' + ns
        + ',"RequestMethod":"GET","RequestPath":"' + frame["endpoint"]
        + '","RequestProtocol":"HTTP/1.1","RouterName":"' + frame["service"]
        + '@docker","ServiceName":"' + frame["service"] + '@docker","StartUTC":"'
        + frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + '000Z","level":"info",'
        + '"msg":"","time":"' + frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ") + '"}'
    )  # fmt: skip
    path.write_text("\n".join(body) + "\n")


W3C_FIELDS = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
    "cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes time-taken"
)


def write_w3c(frame: pd.DataFrame, path: Path) -> None:
    """An IIS W3C extended log: its directives, then one line per request."""
    rng = np.random.default_rng(8)
    body = (
        frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S") + " 10.0.0.5 GET "
        + frame["endpoint"] + " - 443 - " + _ips(len(frame), 9)
        + " Mozilla/5.0+(Windows+NT+10.0) - " + frame["status_code"].astype(str) + " 0 0 "
        + pd.Series(rng.integers(200, 5000, len(frame))).astype(str) + " "
        + frame["response_time_ms"].round().astype(int).astype(str)
    )  # fmt: skip
    head = (
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
        f"#Date: 2026-10-01 00:00:00\n#Fields: {W3C_FIELDS}\n"
    )
    path.write_text(head + "\n".join(body) + "\n")


_LINES = (
    "read_csv('{path}', columns = {{'line': 'VARCHAR'}}, delim = '\\x01', header = false, "
    "quote = '', escape = '')"
)

DUCKDB_SQL = {
    "csv": """
        SELECT CAST("timestamp" AS TIMESTAMPTZ) AS ts, 'bench' AS source, service, NULL AS method,
               regexp_replace(endpoint, '\\?.*$', '') AS endpoint, endpoint AS path,
               CAST(status_code AS SMALLINT) AS status_code, CAST(response_time_ms AS DOUBLE) AS latency_ms,
               user_id, region
        FROM read_csv('{path}', header = true, all_varchar = true)""",
    "jsonl": """
        SELECT CAST("timestamp" AS TIMESTAMPTZ) AS ts, 'bench' AS source, service, NULL AS method,
               regexp_replace(path, '\\?.*$', '') AS endpoint, path,
               CAST(status AS SMALLINT) AS status_code, CAST(latency_ms AS DOUBLE) AS latency_ms,
               user_id, region
        FROM read_json('{path}', format = 'newline_delimited')""",
    "combined": """
        WITH parts AS (
            SELECT regexp_extract(line,
                '^(\\S+) \\S+ (\\S+) \\[([^\\]]+)\\] "(\\S+) (\\S+) [^"]*" (\\d{{3}}) (\\S+) "([^"]*)" "([^"]*)" (\\S+)$',
                ['ip', 'user', 'time', 'method', 'path', 'status', 'bytes', 'ref', 'ua', 'rt']) AS p
            FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, delim = '\\x01', header = false, quote = '', escape = '')
        )
        SELECT strptime(p.time, '%d/%b/%Y:%H:%M:%S %z') AS ts, 'bench' AS source, p.method AS method,
               regexp_replace(p.path, '\\?.*$', '') AS endpoint, p.path AS path,
               CAST(p.status AS SMALLINT) AS status_code, CAST(p.rt AS DOUBLE) * 1000 AS latency_ms,
               CAST(p.bytes AS BIGINT) AS bytes_sent, p.user AS user_id, p.ip AS client_ip,
               CASE WHEN p.ref IN ('-', '') THEN json_object('user_agent', p.ua)
                    ELSE json_object('referer', p.ref, 'user_agent', p.ua) END AS attributes
        FROM parts""",
    "haproxy": """
        WITH parts AS (
            SELECT regexp_extract(line,
                '^\\S+ +\\d+ \\S+ \\S+ \\S+: (\\S+):\\d+ \\[([^\\]]+)\\] (\\S+) ([^/ ]+)/(\\S+) -?\\d+/-?\\d+/-?\\d+/-?\\d+/(-?\\d+) (-?\\d+) (\\d+) \\S+ \\S+ \\S+ \\S+ \\S+ "(\\S+) (\\S+)[^"]*"$',
                ['ip', 'time', 'frontend', 'backend', 'server', 'ta', 'status', 'bytes', 'method', 'path']) AS p
            FROM """
    + _LINES
    + """
        )
        SELECT strptime(p.time, '%d/%b/%Y:%H:%M:%S.%g') AS ts, 'bench' AS source, p.backend AS service,
               p.method AS method, regexp_replace(p.path, '\\?.*$', '') AS endpoint, p.path AS path,
               CAST(p.status AS SMALLINT) AS status_code, CAST(p.ta AS DOUBLE) AS latency_ms,
               CAST(p.bytes AS BIGINT) AS bytes_sent, p.ip AS client_ip,
               json_object('frontend', p.frontend, 'backend', p.backend, 'server', p.server)
                 AS attributes
        FROM parts""",
    "uwsgi": """
        WITH parts AS (
            SELECT regexp_extract(line,
                '^\\[pid: [^\\]]*\\] (\\S+) \\(([^)]*)\\) \\{{[^}}]*\\}} \\[([^\\]]+)\\] (\\S+) (\\S+) => generated (\\d+) bytes in (\\d+) msecs \\((\\S+) (\\d+)\\).*$',
                ['ip', 'user', 'time', 'method', 'path', 'bytes', 'ms', 'protocol', 'status']) AS p
            FROM """
    + _LINES
    + """
        )
        SELECT strptime(p.time, '%a %b %d %H:%M:%S %Y') AS ts, 'bench' AS source, p.method AS method,
               regexp_replace(p.path, '\\?.*$', '') AS endpoint, p.path AS path,
               CAST(p.status AS SMALLINT) AS status_code, CAST(p.ms AS DOUBLE) AS latency_ms,
               CAST(p.bytes AS BIGINT) AS bytes_sent, p.ip AS client_ip,
               json_object('protocol', p.protocol) AS attributes
        FROM parts""",
    "w3c": """
        WITH parts AS (
            SELECT regexp_extract(line,
                '^(\\S+ \\S+) (\\S+) (\\S+) (\\S+) (\\S+) (\\S+) \\S+ (\\S+) (\\S+) \\S+ (\\d+) (\\S+) (\\S+) (\\d+) (\\d+)$',
                ['time', 'sip', 'method', 'stem', 'query', 'sport', 'ip', 'ua', 'status', 'sub', 'win32', 'bytes', 'ms']) AS p
            FROM """
    + _LINES
    + """
            WHERE NOT starts_with(line, '#')
        )
        SELECT CAST(p.time AS TIMESTAMPTZ) AS ts, 'bench' AS source, p.method AS method,
               p.stem AS endpoint, p.stem || CASE WHEN p.query = '-' THEN '' ELSE '?' || p.query END AS path,
               CAST(p.status AS SMALLINT) AS status_code, CAST(p.ms AS DOUBLE) AS latency_ms,
               CAST(p.bytes AS BIGINT) AS bytes_sent, p.ip AS client_ip,
               json_object('s-ip', p.sip, 's-port', p.sport, 'user_agent', p.ua,
                           'sc-substatus', p.sub, 'sc-win32-status', p.win32) AS attributes
        FROM parts""",
    "envoy": """
        WITH parts AS (
            SELECT regexp_extract(line,
                '^\\[([^\\]]+)\\] "(\\S+) (\\S+) [^"]*" (\\d+) \\S+ (\\d+) (\\d+) (\\d+) (\\d+) "(([^",]*)[^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"$',
                ['time', 'method', 'path', 'status', 'received', 'bytes', 'ms', 'upstream', 'xffs', 'xff', 'ua', 'rid', 'authority', 'host']) AS p
            FROM """
    + _LINES
    + """
        )
        SELECT CAST(p.time AS TIMESTAMPTZ) AS ts, 'bench' AS source, p.method AS method,
               regexp_replace(p.path, '\\?.*$', '') AS endpoint, p.path AS path,
               CAST(p.status AS SMALLINT) AS status_code, CAST(p.ms AS DOUBLE) AS latency_ms,
               CAST(p.bytes AS BIGINT) AS bytes_sent, p.xff AS client_ip,
               json_object('bytes_received', p.received, 'upstream_service_time', p.upstream,
                           'x_forwarded_for', p.xffs, 'user_agent', p.ua, 'request_id', p.rid,
                           'authority', p.authority, 'upstream_host', p.host) AS attributes
        FROM parts""",
    "caddy": """
        SELECT make_timestamptz(CAST(ts * 1000000 AS BIGINT)) AS ts, 'bench' AS source,
               request.method AS method, regexp_replace(request.uri, '\\?.*$', '') AS endpoint,
               request.uri AS path, CAST(status AS SMALLINT) AS status_code,
               CAST(duration AS DOUBLE) * 1000 AS latency_ms, CAST(size AS BIGINT) AS bytes_sent,
               user_id, request.client_ip AS client_ip,
               json_object('logger', logger, 'request.remote_ip', request.remote_ip,
                           'request.proto', request.proto, 'request.host', request.host,
                           'bytes_read', CAST(bytes_read AS VARCHAR)) AS attributes
        FROM read_json('{path}', format = 'newline_delimited')""",
    "traefik": """
        SELECT CAST(StartUTC AS TIMESTAMPTZ) AS ts, 'bench' AS source, ServiceName AS service,
               RequestMethod AS method, regexp_replace(RequestPath, '\\?.*$', '') AS endpoint,
               RequestPath AS path, CAST(DownstreamStatus AS SMALLINT) AS status_code,
               CAST(Duration AS DOUBLE) / 1e6 AS latency_ms,
               CAST(DownstreamContentSize AS BIGINT) AS bytes_sent, ClientHost AS client_ip,
               json_object('ClientAddr', ClientAddr, 'RequestProtocol', RequestProtocol,
                           'RouterName', RouterName, 'time', CAST("time" AS VARCHAR)) AS attributes
        FROM read_json('{path}', format = 'newline_delimited')""",
}

WRITERS: dict[str, tuple[str, Callable[[pd.DataFrame, Path], None]]] = {
    "csv": ("requests.csv", write_csv),
    "jsonl": ("requests.jsonl", write_jsonl),
    "combined": ("access.log", write_combined),
    "haproxy": ("haproxy.log", write_haproxy),
    "uwsgi": ("uwsgi.log", write_uwsgi),
    "w3c": ("u_ex261001.log", write_w3c),
    "envoy": ("envoy.log", write_envoy),
    "caddy": ("caddy.log", write_caddy),
    "traefik": ("traefik.log", write_traefik),
}
FORMATS = tuple(WRITERS)
"""Every format the benchmark writes and reads, in the order it runs them."""


@dataclass
class Result:
    fmt: str
    size_mb: float
    ours_s: float
    duck_s: float
    peak_mb: float
    rows: int

    @property
    def ratio(self) -> float:
        return self.ours_s / self.duck_s


def run_duckdb(fmt: str, path: Path, out: Path) -> float:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    select = DUCKDB_SQL[fmt].format(path=path)
    started = time.perf_counter()
    con.execute(
        f"COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS date, hour(ts) AS hour FROM ({select})) "
        f"TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date, hour), OVERWRITE_OR_IGNORE)"
    )
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def run_ours(fmt: str, path: Path, home: Path) -> tuple[float, int]:
    settings = load_settings(environ={"LOGCAST_HOME": str(home)}, config_file=home / "none.toml")
    catalog_for(settings.catalog_url)  # connect before timing
    started = time.perf_counter()
    outcome = ingest_file(path, settings=settings, source="bench", fmt=fmt, as_of=AS_OF, force=True)
    elapsed = time.perf_counter() - started
    assert outcome.records_read == outcome.rows_kept + outcome.rows_quarantined
    return elapsed, outcome.rows_kept


def fresh_peak(fmt: str, path: Path) -> int:
    """Peak resident memory of ingesting `path` in a new process (see bench.peak)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.peak", fmt, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return int(done.stdout.strip().splitlines()[-1])


def warm_up(fmt: str, path: Path, work: Path) -> None:
    """One small file through both sides first: imports, plans and caches are paid before any
    timing, as in a worker that has run before."""
    head = work / f"warm-{path.name}"
    with open(path, "rb") as source:
        head.write_bytes(b"".join(source.readline() for _ in range(2_000)))
    run_duckdb(fmt, head, work / f"warm-duck-{fmt}")
    run_ours(fmt, head, work / f"warm-home-{fmt}")


def main(formats: tuple[str, ...] = FORMATS) -> list[Result]:
    work = Path(tempfile.mkdtemp(prefix="logcast-bench-"))
    try:
        frame = events()
        results = []
        for fmt in formats:
            name, writer = WRITERS[fmt]
            path = work / name
            writer(frame, path)
            warm_up(fmt, path, work)
            # best of REPEATS for each side, alternating, on the same file
            duck_s = ours_s = float("inf")
            rows = 0
            for attempt in range(REPEATS):
                duck_s = min(duck_s, run_duckdb(fmt, path, work / f"duck-{fmt}-{attempt}"))
                took, rows = run_ours(fmt, path, work / f"home-{fmt}")
                ours_s = min(ours_s, took)
            # memory in a fresh interpreter: this one holds the benchmark's own data
            peak_mb = fresh_peak(fmt, path) / 1e6
            results.append(Result(fmt, path.stat().st_size / 1e6, ours_s, duck_s, peak_mb, rows))
        print(
            f"\ningest of {RECORDS:,} records: parse -> validate -> write requests (Parquet, zstd, hive);"
            f" best of {REPEATS}"
        )
        print(
            f"{'format':<10}{'file MB':>9}{'records/s':>12}{'ours s':>9}{'duckdb s':>10}{'ratio':>7}{'peak MB':>9}{'peak/file':>10}"
        )
        for r in results:
            print(
                f"{r.fmt:<10}{r.size_mb:>9.1f}{r.rows / r.ours_s:>12,.0f}{r.ours_s:>9.2f}{r.duck_s:>10.2f}"
                f"{r.ratio:>7.2f}{r.peak_mb:>9.0f}{r.peak_mb / r.size_mb:>10.2f}"
            )
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
