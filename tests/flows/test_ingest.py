import gzip
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from flows.compute import compact_pending
from flows.ingest import catalog_for, file_id, ingest_file, landing_files
from flows.settings import load_settings
from transforms import reading
from warehouse.catalog import Catalog

pytestmark = pytest.mark.clock

AS_OF = pd.Timestamp("2026-11-02T12:00:00Z")
HEADER = "timestamp,endpoint,response_time_ms,status_code,user_id,service,region\n"
GOOD = [
    "2026-11-01T10:00:01Z,/api/orders,10.0,200,u1,shop,eu",
    "2026-11-01T10:30:00Z,/api/orders,20.0,500,u2,shop,eu",
    "2026-11-01T11:15:00Z,/api/orders/42,30.0,200,u3,shop,eu",
]
BAD = ["2026-11-01T11:20:00Z,/api/orders,-5,200,u4,shop,eu", "garbage"]


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        environ={"LOGCAST_HOME": str(tmp_path / "home")}, config_file=tmp_path / "none.toml"
    )


def write(settings, name, lines, header=HEADER):
    path = settings.landing_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n".join(lines) + "\n")
    return path


def ingest(path, settings, **options):
    """Ingests one file and publishes what it staged, as a flow run does."""
    outcome = ingest_file(path, settings=settings, as_of=AS_OF, **options)
    compact_pending(settings=settings, run_id="test")
    return outcome


def stored_files(settings):
    wh = settings.warehouse_dir
    return sorted(p.relative_to(wh).as_posix() for p in wh.rglob("*.parquet"))


def _codecs(path) -> frozenset[str]:
    """The compression codecs of a Parquet file's column chunks."""
    meta = pq.ParquetFile(path).metadata
    return frozenset(
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    )


def test_file_fragments_are_staged_then_compacted_into_one_file_per_partition(settings):
    path = write(settings, "a.csv", GOOD + BAD)
    outcome = ingest_file(path, settings=settings, source="api", as_of=AS_OF)
    assert outcome.status == "ingested" and outcome.format == "csv"
    assert (outcome.records_read, outcome.rows_kept, outcome.rows_quarantined) == (5, 3, 2)
    fid = file_id(path)
    wh = settings.warehouse_dir
    assert stored_files(settings) == [  # readers see nothing staged
        f"_staging/quarantine/date=2026-11-02/{fid}.parquet",
        f"_staging/requests/date=2026-11-01/hour=10/{fid}.parquet",
        f"_staging/requests/date=2026-11-01/hour=11/{fid}.parquet",
    ]
    staged = [wh / name for name in stored_files(settings)]
    assert {_codecs(f) for f in staged} == {frozenset({"LZ4"})}  # read once, by the compaction
    assert compact_pending(settings=settings, run_id="r1") == 3
    assert {_codecs(wh / name) for name in stored_files(settings)} == {frozenset({"ZSTD"})}
    assert stored_files(settings) == [
        "quarantine/date=2026-11-02/part-0.parquet",
        "requests/date=2026-11-01/hour=10/part-0.parquet",
        "requests/date=2026-11-01/hour=11/part-0.parquet",
    ]
    assert compact_pending(settings=settings, run_id="r2") == 0  # nothing left pending
    requests = ds.dataset(wh / "requests", partitioning="hive").to_table().to_pandas()
    assert sorted(requests["endpoint"]) == ["/api/orders", "/api/orders", "/api/orders/{id}"]
    assert set(requests["file_id"]) == {fid}
    partitions = catalog_for(settings.catalog_url).partitions_frame()
    assert set(partitions["table_name"]) == {"requests", "quarantine"}
    assert set(partitions["run_id"]) == {"r1"} and (partitions["schema_version"] >= 1).all()
    quarantine = duckdb.execute(
        f"SELECT line_number, raw, reasons, source_file FROM read_parquet('{wh}/quarantine/**/*.parquet') ORDER BY 1"
    ).df()
    assert quarantine["line_number"].tolist() == [5, 6]
    assert quarantine["raw"].tolist() == BAD
    assert "latency_ms: expected >= 0" in quarantine["reasons"].iloc[0]
    assert "expected 7 fields" in quarantine["reasons"].iloc[1]
    assert set(quarantine["source_file"]) == {str(path.resolve())}


def test_unchanged_file_is_skipped_and_changed_file_replaces_exactly_its_rows(settings):
    path = write(settings, "a.csv", GOOD)
    other = write(settings, "b.csv", ["2026-11-01T11:00:00Z,/api/cart,5.0,200,u9,shop,eu"])
    ingest(path, settings, source="api")
    ingest(other, settings, source="api")
    again = ingest_file(path, settings=settings, source="api", as_of=AS_OF)
    assert again.status == "skipped"
    write(settings, "a.csv", GOOD[2:])  # now only hour 11
    changed = ingest(path, settings, source="api")
    assert changed.status == "ingested" and changed.rows_kept == 1
    assert stored_files(settings) == ["requests/date=2026-11-01/hour=11/part-0.parquet"]
    hour = pd.read_parquet(settings.warehouse_dir / "requests")
    assert sorted(zip(hour["file_id"], hour["endpoint"], strict=True)) == sorted(
        [(file_id(path), "/api/orders/{id}"), (file_id(other), "/api/cart")]
    )


@pytest.mark.parametrize("grows", [False, True])
def test_the_ledger_holds_the_sha256_of_the_bytes_read(settings, monkeypatch, grows):
    """The file is hashed on a handle of its own while it is read; when it changed size
    between the two reads (a log still being written), the bytes read are hashed instead."""
    import hashlib

    import flows.ingest as ingest_module

    path = write(settings, "a.csv", GOOD)
    content = path.read_bytes()
    if grows:  # a line lands after the hash, before the read
        import threading

        hash_then_append, read_bytes = ingest_module.fingerprint, Path.read_bytes
        appended = threading.Event()

        def fingerprint(target):
            hashed = hash_then_append(target)
            with open(target, "ab") as handle:
                handle.write(b"2026-11-01T11:30:00Z,/api/cart,5.0,200,u9,shop,eu\n")
            appended.set()
            return hashed

        def read_after_the_append(self):
            assert appended.wait(timeout=30)
            return read_bytes(self)

        monkeypatch.setattr(ingest_module, "fingerprint", fingerprint)
        monkeypatch.setattr(Path, "read_bytes", read_after_the_append)
    outcome = ingest_file(path, settings=settings, source="api", as_of=AS_OF)
    assert outcome.rows_kept == (4 if grows else 3)
    read = path.read_bytes()
    assert (read != content) is grows
    known = catalog_for(settings.catalog_url).file(str(path.resolve()))
    assert known["size"] == len(read)
    assert known["sha256"] == hashlib.sha256(read).hexdigest()
    monkeypatch.undo()
    again = ingest_file(path, settings=settings, source="api", as_of=AS_OF)
    assert again.status == "skipped"


def test_a_catalog_file_replaced_under_a_running_process_is_the_one_written(settings, tmp_path):
    """A home restored from a copy while a process that used it lives on (`logcast serve`, a
    worker): its next run writes to the restored catalog, not to the replaced file."""
    import shutil

    home = settings.landing_dir.parent
    a = ingest_and_path(settings, "a.csv")
    shutil.copytree(home, tmp_path / "copy")
    b = ingest_and_path(settings, "b.csv")
    assert catalog_for(settings.catalog_url).file(b) is not None
    shutil.rmtree(home)
    shutil.copytree(tmp_path / "copy", home)
    restored = catalog_for(settings.catalog_url)
    assert restored.file(a) is not None and restored.file(b) is None  # the restored ledger
    c = ingest_and_path(settings, "c.csv")
    reader = Catalog(settings.catalog_url)  # a new reader sees the write
    assert reader.file(a) is not None and reader.file(c) is not None and reader.file(b) is None


def ingest_and_path(settings, name: str) -> str:
    path = write(settings, name, GOOD)
    assert ingest(path, settings).status == "ingested"
    return str(path)


def test_a_staged_fragment_holds_the_logged_columns_and_compaction_restores_the_rest(settings):
    """A fragment holds what its file logged (plus its source and file); a partition that
    merges a fragment of a file logging other columns, and the file already there, gets every
    column of `requests` in order, null where a file did not log it."""
    from schemas.common import empty_frame
    from schemas.requests import StoredRequest
    from transforms.reading import request_schema

    csv = write(settings, "a.csv", GOOD[:1])
    outcome = ingest_file(csv, settings=settings, source="api", as_of=AS_OF)
    assert outcome.rows_kept == 1
    staged = (
        settings.warehouse_dir / f"_staging/requests/date=2026-11-01/hour=10/{file_id(csv)}.parquet"
    )
    assert pq.read_schema(staged).names == [
        "ts", "source", "service", "endpoint", "path", "status_code", "latency_ms", "user_id",
        "region", "file_id",
    ]  # fmt: skip
    compact_pending(settings=settings, run_id="r1")
    access = settings.landing_dir / "access.log"
    access.write_text(
        '203.0.113.9 - - [01/Nov/2026:10:20:00 +0000] "POST /api/orders HTTP/1.1" 201 512 "-" "curl/8.0"\n'
    )
    assert ingest_file(access, settings=settings, source="api", as_of=AS_OF).rows_kept == 1
    assert (
        "method"
        in pq.read_schema(
            settings.warehouse_dir
            / f"_staging/requests/date=2026-11-01/hour=10/{file_id(access)}.parquet"
        ).names
    )
    compact_pending(settings=settings, run_id="r2")
    published = settings.warehouse_dir / "requests/date=2026-11-01/hour=10/part-0.parquet"
    assert pq.read_schema(published).names == request_schema().names
    rows = duckdb.execute(
        f"SELECT method, client_ip, bytes_sent, user_id, region, status_code "
        f"FROM read_parquet('{published}') ORDER BY ts"
    ).fetchall()
    assert rows == [
        (None, None, None, "u1", "eu", 200),
        ("POST", "203.0.113.9", 512, None, None, 201),
    ]
    frame = pq.read_table(published).to_pandas()  # the stored types come back
    stored = empty_frame(StoredRequest).dtypes.astype(str).to_dict()
    assert frame.dtypes.astype(str).to_dict() == stored


def test_compaction_is_idempotent_and_drops_staged_files_the_ledger_does_not_know(settings):
    path = write(settings, "a.csv", GOOD)
    ingest(path, settings, source="api")
    target = settings.warehouse_dir / "requests/date=2026-11-01/hour=10/part-0.parquet"
    before = target.read_bytes()
    # a fragment left by an ingest that died before recording it in the ledger
    orphan = settings.warehouse_dir / "_staging/requests/date=2026-11-01/hour=10/feedface.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(before)
    from warehouse.compaction import compact
    from warehouse.layout import Layout

    layout = Layout(settings.warehouse_dir)
    catalog = catalog_for(settings.catalog_url)
    compact(layout, catalog, "requests", "date=2026-11-01/hour=10", run_id="again")
    assert target.read_bytes() == before and not orphan.exists()


def test_gzip_is_detected_by_content(settings):
    path = settings.landing_dir / "a.log"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress((HEADER + "\n".join(GOOD) + "\n").encode()))
    outcome = ingest_file(path, settings=settings, source="api", as_of=AS_OF)
    assert outcome.rows_kept == 3


def test_a_docker_compose_prefix_is_stripped_and_noted(settings):
    caddy = (
        '{"level":"info","ts":1762000000.5,"logger":"http.log.access","msg":"handled request",'
        '"request":{"client_ip":"203.0.113.9","method":"GET","uri":"/api/orders?x=1"},'
        '"duration":0.02,"size":512,"status":200}'
    )
    path = settings.landing_dir / "compose.log"
    path.parent.mkdir(parents=True)
    path.write_text(f"caddy  | {caddy}\n" * 3)
    outcome = ingest(path, settings, source="edge")
    assert (outcome.records_read, outcome.rows_kept) == (3, 3)
    assert outcome.notes[:2] == (
        "format caddy (detected)",
        "docker compose prefix stripped from every line",
    )
    endpoints = duckdb.execute(
        f"SELECT DISTINCT endpoint FROM read_parquet('{settings.warehouse_dir}/requests/**/*.parquet')"
    ).fetchall()
    assert endpoints == [("/api/orders",)]


def test_nginx_lines_shipped_through_syslog_are_read_and_noted(settings):
    line = '203.0.113.7 - - [01/Nov/2026:10:00:00 +0000] "GET /api/orders/7 HTTP/1.1" 200 512 "-" "curl/8"'
    path = settings.landing_dir / "syslog.log"
    path.parent.mkdir(parents=True)
    path.write_text(f"<190>Nov  1 10:00:00 web1 nginx: {line}\n" * 3)
    outcome = ingest(path, settings, source="edge")
    assert (outcome.records_read, outcome.rows_kept) == (3, 3)
    assert outcome.notes[:2] == (
        "format combined (detected)",
        "syslog (RFC 3164) prefix stripped from every line",
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (b"hello world\nmore\n", "could not detect the format"),
        (gzip.compress(b"a,b\n1,2\n" * 100, mtime=0)[:-12], "gzip data is truncated or corrupt"),
        (b"when,where\n1,2\n", "matches no known layout"),
    ],
    ids=["empty", "unknown-text", "truncated-gzip", "unknown-csv"],
)
def test_unreadable_files_are_quarantined_whole_with_one_reason(settings, content, reason):
    path = settings.landing_dir / "bad.dat"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    outcome = ingest(path, settings, source="api")
    assert outcome.status == "rejected" and reason in outcome.reason
    assert (outcome.records_read, outcome.rows_kept, outcome.rows_quarantined) == (1, 0, 1)
    rows = duckdb.execute(
        f"SELECT line_number, reasons FROM read_parquet('{settings.warehouse_dir}/quarantine/**/*.parquet')"
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] == 0 and reason in rows[0][1]


def test_landing_files_skips_hidden_and_temporary_files(settings):
    write(settings, "b.csv", GOOD)
    write(settings, "sub/a.csv", GOOD)
    write(settings, ".b.csv.tmp", GOOD)
    assert [p.name for p in landing_files(settings.landing_dir)] == ["b.csv", "a.csv"]


def test_configured_source_mapping_and_endpoint_rules(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text(
        f"""
home = "{tmp_path / "home"}"
[sources.legacy]
paths = ["legacy/*"]
mapping = {{ ts = "when", path = "url", latency_ms = {{ column = "secs", unit = "s" }}, status_code = "code" }}
endpoint_rules = [{{ pattern = "^/v[0-9]+/", replacement = "/" }}]
"""
    )
    settings = load_settings(environ={}, config_file=config)
    path = write(
        settings,
        "legacy/x.csv",
        ["2026-11-01T10:00:00Z,/v2/users/7,0.25,200"],
        header="when,url,secs,code\n",
    )
    outcome = ingest(path, settings)
    assert outcome.source == "legacy" and outcome.rows_kept == 1
    row = (
        ds.dataset(settings.warehouse_dir / "requests", partitioning="hive")
        .to_table()
        .to_pylist()[0]
    )
    assert (
        row["endpoint"] == "/users/{id}"
        and row["latency_ms"] == 250.0
        and row["source"] == "legacy"
    )


@pytest.mark.parametrize("pieces", [False, True], ids=["whole", "pieces"])
def test_a_source_names_the_unit_of_an_access_logs_request_time(tmp_path, monkeypatch, pieces):
    """Tomcat's `%D` and Jetty's latency are whole milliseconds where a whole number after the
    user agent is otherwise Apache's `%D` (microseconds): the source's mapping names the unit,
    for a file read whole or in pieces alike."""
    if pieces:
        monkeypatch.setattr(reading, "PIECE_BYTES", 1 << 10)
    config = tmp_path / "logcast.toml"
    config.write_text(
        f"""
home = "{tmp_path / "home"}"
[sources.tomcat]
paths = ["tomcat/*"]
format = "combined"
mapping = {{ latency_ms = {{ column = "request_time", unit = "ms" }} }}
[sources.apache]
paths = ["apache/*"]
format = "combined"
"""
    )
    settings = load_settings(environ={}, config_file=config)
    lines = [
        f'10.0.0.{k % 9} - - [01/Nov/2026:10:{k // 60:02d}:{k % 60:02d} +0000] "GET /a HTTP/1.1" '
        f'200 12 "-" "curl/8" {k % 50}'
        for k in range(120)
    ]
    for name in ("tomcat/localhost_access_log.txt", "apache/access.log"):
        assert ingest(write(settings, name, lines, header=""), settings).rows_kept == 120
    rows = duckdb.sql(
        f"""SELECT source, sum(latency_ms) AS total
            FROM read_parquet('{settings.warehouse_dir}/requests/**/*.parquet')
            GROUP BY source ORDER BY source"""
    ).fetchall()
    expected = sum(k % 50 for k in range(120))
    assert rows[0][0] == "apache" and rows[0][1] == pytest.approx(expected / 1000)
    assert rows[1][0] == "tomcat" and rows[1][1] == pytest.approx(expected)


def test_a_mapping_an_access_format_cannot_take_rejects_the_file_saying_what_it_takes(tmp_path):
    config = tmp_path / "logcast.toml"
    config.write_text(
        f"""
home = "{tmp_path / "home"}"
[sources.web]
format = "combined"
mapping = {{ path = "url" }}
"""
    )
    settings = load_settings(environ={}, config_file=config)
    line = '10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8"'
    outcome = ingest(write(settings, "a.log", [line], header=""), settings)
    assert outcome.status == "rejected"
    assert 'latency_ms = { column = "request_time", unit = "s", "ms" or "us" }' in outcome.reason


def test_a_source_encoding_reads_its_files_and_the_notes_say_so(tmp_path):
    """A Shift-JIS service log read with the source's `encoding`: its messages are stored as
    written; without the setting the same lines are quarantined as not valid UTF-8, with the
    setting named in the reason."""
    config = tmp_path / "logcast.toml"
    config.write_text(
        f'home = "{tmp_path / "home"}"\n[sources.jp]\npaths = ["jp/*"]\nencoding = "shift_jis"\n'
    )
    settings = load_settings(environ={}, config_file=config)
    lines = [
        "2026-11-01T10:00:00Z INFO api 注文を受け付けました",
        "2026-11-01T10:00:01Z ERROR api 在庫なし",
    ]
    body = ("\n".join(lines) + "\n").encode("shift_jis")
    for name in ("jp/app.log", "other/app.log"):
        (settings.landing_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings.landing_dir / name).write_bytes(body)
    outcome = ingest(settings.landing_dir / "jp/app.log", settings, fmt="servicelog")
    assert (outcome.source, outcome.rows_kept, outcome.rows_quarantined) == ("jp", 2, 0)
    assert "decoded from shift_jis" in outcome.notes
    messages = duckdb.execute(
        f"SELECT message FROM read_parquet('{settings.warehouse_dir}/requests/**/*.parquet') "
        "ORDER BY ts"
    ).fetchall()
    assert [m for (m,) in messages] == ["注文を受け付けました", "在庫なし"]
    other = ingest(settings.landing_dir / "other/app.log", settings, fmt="servicelog")
    assert (other.rows_kept, other.rows_quarantined) == (0, 2)
    reasons = duckdb.execute(
        f"SELECT reasons FROM read_parquet('{settings.warehouse_dir}/quarantine/**/*.parquet')"
    ).fetchall()
    assert all("not valid UTF-8" in r and "`encoding` setting" in r for (r,) in reasons)


def test_a_service_log_without_requests_is_stored_with_every_column(settings):
    path = write(
        settings,
        "svc.log",
        ["2026-11-01T10:00:00Z INFO api started", "2026-11-01T10:00:01Z ERROR api db down"],
        header="",
    )
    outcome = ingest(path, settings, source="svc", fmt="servicelog")
    assert (outcome.records_read, outcome.rows_kept, outcome.rows_quarantined) == (2, 2, 0)
    requests = pd.read_parquet(settings.warehouse_dir / "requests")
    assert requests["level"].tolist() == ["INFO", "ERROR"]
    assert requests["endpoint"].isna().all() and (requests["source"] == "svc").all()
    assert str(requests["status_code"].dtype) == "Int16"  # the stored types, not guesses


MIXED_JSONL = [
    '{"time":"2026-11-01T10:00:00Z","level":"info","msg":"worker started","service":"shop"}',
    '{"time":"2026-11-01T10:00:01Z","method":"GET","path":"/api/items/7","status":200,'
    '"duration_ms":12,"service":"shop"}',
    '{"time":"2026-11-01T10:00:02Z","level":"error","msg":"cache miss storm","service":"shop"}',
    '{"time":"2026-11-01T10:00:03Z","method":"POST","path":"/api/orders","status":201,'
    '"duration_ms":40,"service":"shop"}',
    '{"time":"2026-11-01T10:00:04Z","level":"warn","msg":"slow query","service":"shop"}',
    '{"time":"2026-11-01T10:00:05Z","level":"info","msg":"flushed","service":"shop"}',
    '{"time":"2026-11-01T10:00:06Z","method":"GET","path":"/api/items","status":999,'
    '"duration_ms":3,"service":"shop"}',
]


def test_kept_rows_of_a_mixed_json_lines_file_are_counted_as_requests_and_events(settings):
    path = write(settings, "app.jsonl", MIXED_JSONL, header="")
    outcome = ingest(path, settings)
    assert outcome.format == "jsonl"
    assert (outcome.records_read, outcome.rows_kept, outcome.rows_quarantined) == (7, 6, 1)
    assert (outcome.requests, outcome.events) == (2, 4)
    stored = pd.read_parquet(settings.warehouse_dir / "requests")
    assert (stored["endpoint"].notna().sum(), stored["endpoint"].isna().sum()) == (2, 4)
    ledger = catalog_for(settings.catalog_url).file(str(path.resolve()))
    assert (ledger["rows_kept"], ledger["requests"], ledger["events"]) == (6, 2, 4)


def test_a_file_of_requests_only_or_events_only_counts_all_its_rows_as_one_kind(settings):
    requests = ingest(write(settings, "a.csv", GOOD), settings)
    assert (requests.rows_kept, requests.requests, requests.events) == (3, 3, 0)
    lines = ["2026-11-01T10:00:00Z INFO api started", "2026-11-01T10:00:01Z ERROR api db down"]
    events = ingest(write(settings, "svc.log", lines, header=""), settings, fmt="servicelog")
    assert (events.rows_kept, events.requests, events.events) == (2, 0, 2)


OLD = [
    "2015-03-01T10:00:01Z,/api/orders,10.0,200,u1,shop,eu",
    "2015-03-02T11:30:00Z,/api/orders,20.0,500,u2,shop,eu",
]


def test_logs_of_years_ago_stay_queryable_under_the_default_retention(settings):
    from flows.compute import apply_retention
    from warehouse.query import query

    compact_run = "load-2015"
    ingest_file(write(settings, "old.csv", OLD), settings=settings, as_of=AS_OF)
    compact_pending(settings=settings, run_id=compact_run)
    assert settings.retention == {"requests": 30}
    result = apply_retention(settings=settings, run_id=compact_run)
    assert result["partitions"] == {} and result["kept"] == {}
    assert result["newest"] == "2015-03-02 12:00"
    again = apply_retention(settings=settings, run_id="a later run")
    assert again["partitions"] == {}
    rows = query(settings.warehouse_dir, "select count(*) as n from requests")
    assert rows["n"].tolist() == [2]


def test_old_logs_loaded_beside_newer_data_are_kept_by_their_run_and_removed_after(settings):
    from flows.compute import apply_retention
    from transforms.report import retention_sentences

    ingest(write(settings, "new.csv", GOOD), settings)
    ingest_file(write(settings, "old.csv", OLD), settings=settings, as_of=AS_OF)
    compact_pending(settings=settings, run_id="load-2015")
    kept = apply_retention(settings=settings, run_id="load-2015")
    assert kept["partitions"] == {} and kept["kept"] == {"requests": 2}
    assert kept["older_than"] == {"requests": "2026-10-02"}
    (sentence,) = retention_sentences(kept)
    assert sentence.startswith(
        "kept 2 partitions of requests older than 2026-10-02 (30 days before the newest data, "
        "2026-11-01 12:00 UTC) because this run wrote them"
    )
    removed = apply_retention(settings=settings, run_id="next")
    assert removed["partitions"] == {"requests": 2} and removed["rows"] == 2
    assert retention_sentences(removed) == [
        "retention removed 2 partitions of requests older than 2026-10-02 (30 days before the "
        "newest data, 2026-11-01 12:00 UTC); 2 rows in all"
    ]
    left = sorted(p.split("/")[1] for p in stored_files(settings) if p.startswith("requests/"))
    assert left == ["date=2026-11-01", "date=2026-11-01"]


def _staged_requests(settings, fid):
    """Each staged `requests` fragment of a file: its partition -> its table."""
    import pyarrow.parquet as pq

    root = settings.warehouse_dir / "_staging" / "requests"
    tables = {
        p.parent.relative_to(root).as_posix(): pq.read_table(p)
        for p in sorted(root.rglob(f"{fid}.parquet"))
    }
    for table in tables.values():
        assert set(table.column("file_id").to_pylist()) == {fid}
    return {partition: table.drop_columns("file_id") for partition, table in tables.items()}


def _hourly(frame: pd.DataFrame, start: str) -> list[str]:
    stamps = pd.date_range(start, periods=len(frame), freq="37s", tz="UTC")
    return [
        f"{ts:%Y-%m-%dT%H:%M:%SZ},{endpoint},{10 + i % 7}.0,200,u{i % 5},shop,eu"
        for i, (ts, endpoint) in enumerate(zip(stamps, frame["endpoint"], strict=True))
    ]


@pytest.mark.parametrize(
    "case", ["in order", "out of order", "reversed", "folded", "capped", "changed"]
)
def test_a_file_read_in_pieces_stages_the_fragments_of_the_file_read_whole(
    tmp_path, monkeypatch, case
):
    """The staged fragments of a file read in pieces are those of the file read whole: in time
    order, slightly out of it or reversed, with endpoints folded by variety or by the endpoint
    cap over the whole file, and for a changed file whose earlier fragments are replaced."""
    from transforms import reading

    lines = _hourly(
        pd.DataFrame({"endpoint": [f"/api/items/{i % 9}" for i in range(3000)]}),
        "2026-11-01T00:00:00Z",
    )
    if case == "out of order":
        lines[1500], lines[2900] = lines[2900], lines[1500]
    if case == "reversed":
        lines.reverse()
    if case == "folded":  # 120 distinct children under /api/users: folded by variety
        lines[2000:2120] = [
            line.replace("/api/items/", f"/api/users/x{k}")
            for k, line in enumerate(lines[2000:2120])
        ]
    if case == "capped":  # rare endpoints late in the file, past a cap of 1
        lines[2500:2530] = [
            line.replace("/api/items/", f"/rare{k % 3}/") for k, line in enumerate(lines[2500:2530])
        ]
    config = tmp_path / "none.toml"
    if case == "capped":
        config.write_text('[sources.api]\npaths = ["*"]\nmax_endpoints = 1\n')
    results = {}
    for pieces in ("whole", "pieces"):
        settings = load_settings(
            environ={"LOGCAST_HOME": str(tmp_path / pieces)}, config_file=config
        )
        if case == "changed":
            path = write(
                settings,
                "a.csv",
                _hourly(pd.DataFrame({"endpoint": ["/x"] * 500}), "2026-11-01T03:00:00Z"),
            )
            ingest_file(path, settings=settings, source="api", as_of=AS_OF)
        path = write(settings, "a.csv", lines)
        if pieces == "pieces":
            monkeypatch.setattr(reading, "PIECE_BYTES", 8_000)
            assert len(reading.pieces(path.read_bytes(), "csv")) > 10
        outcome = ingest_file(path, settings=settings, source="api", as_of=AS_OF)
        monkeypatch.setattr(reading, "PIECE_BYTES", None)
        results[pieces] = (outcome, _staged_requests(settings, file_id(path)))
    (whole, whole_files), (split, split_files) = results["whole"], results["pieces"]
    assert split.hours == whole.hours == len(whole_files) > 20
    assert split.notes == whole.notes
    assert list(split_files) == list(whole_files)
    for partition, table in whole_files.items():
        assert split_files[partition].equals(table, check_metadata=True), partition
    if case == "folded":
        assert any(n.startswith("endpoints folded by variety") for n in split.notes)
    if case == "capped":
        assert any(n.startswith("endpoint cap of 1 reached") for n in split.notes), split.notes


def test_a_file_read_again_whole_stages_the_fragments_of_the_file_read_whole(tmp_path, monkeypatch):
    """A W3C file whose late piece logs time-taken in seconds is read again whole (the unit is
    the file's): its fragments are those of the file read whole from the start."""
    from transforms import reading

    stamps = pd.date_range("2026-11-01", periods=3000, freq="37s", tz="UTC")
    lines = [
        f"{ts:%Y-%m-%d %H:%M:%S} GET /api/items/{i % 9} 200 {10 + i % 7}"
        for i, ts in enumerate(stamps)
    ]
    lines[-20] = lines[-20].rsplit(" ", 1)[0] + " 0.125"
    text = ["#Fields: date time cs-method cs-uri-stem sc-status time-taken", *lines]
    results = {}
    for pieces in ("whole", "pieces"):
        settings = load_settings(
            environ={"LOGCAST_HOME": str(tmp_path / pieces)}, config_file=tmp_path / "none.toml"
        )
        path = write(settings, "u_ex261101.log", text, header="")
        if pieces == "pieces":
            monkeypatch.setattr(reading, "PIECE_BYTES", 20_000)
            assert len(reading.pieces(path.read_bytes(), "w3c")) > 4
        outcome = ingest_file(path, settings=settings, source="iis", fmt="w3c", as_of=AS_OF)
        monkeypatch.setattr(reading, "PIECE_BYTES", None)
        results[pieces] = (outcome, _staged_requests(settings, file_id(path)))
    (whole, whole_files), (split, split_files) = results["whole"], results["pieces"]
    assert split.notes == whole.notes and "time-taken read as seconds" in split.notes
    assert split.rows_kept == whole.rows_kept == 3000
    assert list(split_files) == list(whole_files)
    for partition, table in whole_files.items():
        assert split_files[partition].equals(table, check_metadata=True), partition


def _status() -> str:
    try:
        return Path("/proc/self/status").read_text()
    except OSError:
        return ""


@pytest.mark.skipif(
    "THP_enabled" not in _status(), reason="the kernel reports no transparent huge page setting"
)
def test_ingesting_turns_transparent_huge_pages_off_for_the_process(tmp_path):
    """In a new interpreter, with huge pages on (this one may have ingested before, and the
    setting is inherited): off once a file is ingested, and off in the processes it starts."""
    script = f"""
import ctypes
import subprocess
from pathlib import Path
import pandas as pd
from flows.ingest import ingest_file
from flows.settings import load_settings

def thp(status):
    return status.split("THP_enabled:")[1].split()[0]

ctypes.CDLL("libc.so.6").prctl(41, 0, 0, 0, 0)  # PR_SET_THP_DISABLE off
before = thp(open("/proc/self/status").read())
settings = load_settings(environ={{"LOGCAST_HOME": {str(tmp_path / "home")!r}}},
                         config_file=Path({str(tmp_path / "none.toml")!r}))
path = settings.landing_dir / "api.csv"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text({(HEADER + GOOD[0] + chr(10))!r})
outcome = ingest_file(path, settings=settings, as_of=pd.Timestamp("2026-11-02T12:00:00Z"))
after = thp(open("/proc/self/status").read())
child = thp(subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True).stdout)
print(before, outcome.rows_kept, after, child)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DO_NOT_TRACK": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1", "0", "0"]
