"""bench.formats: the conformance run's matching of a peer's documents to logcast's events,
on a hand-made corpus in a temporary directory."""

import json

import pandas as pd

from bench import formats

IIS_LOG = (
    "#Software: Microsoft Internet Information Services 10.0\n"
    "#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip sc-status time-taken\n"
    "2026-03-02 08:00:01 GET /a - 10.0.0.1 200 15\n"
    "2026-03-02 08:00:02 GET /b q=1 10.0.0.2 404 3\n"
)


def doc(offset, **fields):
    return {"log.offset": offset, **fields}


def write_corpus(root, docs):
    folder = root / "iis" / "access"
    folder.mkdir(parents=True)
    (folder / "test.log").write_text(IIS_LOG)
    (folder / "test.log-expected.json").write_text(json.dumps(docs))
    (folder / "unreadable.log").write_bytes(b"\x00\x01 not a log at all\n")
    return root


def test_line_starts_are_byte_offsets_of_each_line():
    assert formats.line_starts(b"ab\ncd\n").tolist() == [0, 3]
    assert formats.line_starts(b"ab\ncd").tolist() == [0, 3]
    assert formats.line_starts(b"ab\n\ncd\n").tolist() == [0, 3, 4]


def test_expected_values_read_the_peers_fields_in_logcasts_units():
    got = formats.expected_values(
        {
            "@timestamp": "2016-12-07T10:05:07.000Z",
            "url.path": "/b",
            "url.query": "q=1",
            "event.duration": 2_500_000,
            "http.response.bytes": 168,
            "source.address": "10.0.0.2",
        }
    )
    assert got == {
        "ts": pd.Timestamp("2016-12-07T10:05:07Z"),
        "path": "/b?q=1",
        "duration": 2.5,
        "bytes": 168,
        "client": "10.0.0.2",
    }
    assert formats.expected_values({"url.path": "/a", "url.query": "-"})["path"] == "/a"
    assert formats.same("duration", 2.5, 2.5 + 1e-9)
    assert not formats.same("status", 200, None)


def test_documents_are_matched_to_the_events_of_their_lines(tmp_path):
    line3 = sum(len(x) + 1 for x in IIS_LOG.split("\n")[:2])
    line4 = sum(len(x) + 1 for x in IIS_LOG.split("\n")[:3])
    corpus = write_corpus(
        tmp_path,
        [
            doc(
                line3,
                **{
                    "@timestamp": "2026-03-02T08:00:01.000Z",
                    "http.request.method": "GET",
                    "url.path": "/a",
                    "url.query": "-",
                    "http.response.status_code": 200,
                    "event.duration": 15_000_000,
                },
            ),
            # the peer says 500 where the line says 404: one disagreeing event
            doc(line4, **{"http.response.status_code": 500, "source.ip": "10.0.0.2"}),
        ],
    )
    results = {r.path: r for r in formats.fileset_results(corpus, "iis/access")}
    good = results["iis/access/test.log"]
    assert (good.fmt, good.lines, good.kept, good.quarantined) == ("w3c", 4, 2, 0)
    assert (good.compared, good.event_agree) == (2, 1)
    assert good.agree == {"ts": 1, "method": 1, "path": 1, "duration": 1, "client": 1, "status": 1}
    assert good.total["status"] == 2
    assert "expected 500, got 404" in good.examples["status"]
    assert any("W3C empty field" in note for note in good.peer)
    bad = results["iis/access/unreadable.log"]
    assert bad.fmt is None and bad.error and bad.kept == 0


def test_the_run_says_when_the_corpus_is_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))
    assert formats.main([]) == 2
    assert "no corpus at" in capsys.readouterr().err


def test_the_run_fails_below_target_and_prints_the_table(tmp_path, monkeypatch, capsys):
    write_corpus(tmp_path / "logformats", [doc(0, **{"http.response.status_code": 200})])
    monkeypatch.setenv("LOGCAST_EVAL_DIR", str(tmp_path))
    # the document points at the #Software line, which is no event: it cannot agree
    assert formats.main(["--fileset", "iis/access"]) == 1
    out = capsys.readouterr().out
    assert "iis/access" in out and "below target" in out and "files not read at all" in out


NATS_LOG = (
    "[1] 2019/02/06 07:19:40.624334 [INF] Starting nats-server version 1.3.0\n"
    "[1] 2019/02/06 07:19:40.624547 [WRN] Git commit [eed4fbc]\n"
)


def test_service_logs_are_read_with_the_configured_pattern_and_compared_on_level(tmp_path):
    folder = tmp_path / "nats" / "log"
    folder.mkdir(parents=True)
    (folder / "test.log").write_text(NATS_LOG)
    second = len(NATS_LOG.split("\n")[0]) + 1
    (folder / "test.log-expected.json").write_text(
        json.dumps(
            [
                doc(0, **{"@timestamp": "2019-02-06T07:19:40.624Z", "log.level": "info"}),
                doc(second, **{"@timestamp": "2019-02-06T07:19:40.624Z", "log.level": "error"}),
            ]
        )
    )
    results = formats.fileset_results(
        tmp_path,
        "nats/log",
        formats.SERVICE_FILESETS["nats/log"],
        formats.LOG_FIELDS,
        formats.LOG_EVENT_FIELDS,
    )
    (result,) = results
    assert (result.fmt, result.kept, result.quarantined) == ("pattern", 2, 0)
    # the time agrees to the millisecond Filebeat keeps; WRN is not the document's error
    assert result.agree == {"ts": 2, "level": 1}
    assert (result.compared, result.event_agree) == (2, 1)
    assert formats.folded_level("information") == "INFO"
    assert formats.folded_level("I") == "INFO"


POSTGRES_LOG = (
    "2017-04-07 22:45:30.218 CEST [22603] postgres@mydb ERROR:  operator does not exist\n"
    "2017-04-07 22:45:30.218 CEST [22603] postgres@mydb HINT:  You might need to add casts.\n"
    "2017-04-07 22:46:09.751 CEST [22608] postgres@mydb LOG:  could not receive data\n"
)


def test_postgresql_secondary_lines_split_by_the_peer_are_noted_not_counted(tmp_path):
    folder = tmp_path / "postgresql" / "log"
    folder.mkdir(parents=True)
    (folder / "test.log").write_text(POSTGRES_LOG)
    offsets = [0]
    for line in POSTGRES_LOG.split("\n")[:2]:
        offsets.append(offsets[-1] + len(line) + 1)
    (folder / "test.log-expected.json").write_text(
        json.dumps(
            [
                doc(at, **{"@timestamp": ts, "log.level": level})
                for at, ts, level in zip(
                    offsets,
                    [
                        "2017-04-07T22:45:30.218Z",
                        "2017-04-07T22:45:30.218Z",
                        "2017-04-07T22:46:09.751Z",
                    ],
                    ["ERROR", "HINT", "LOG"],
                    strict=True,
                )
            ]
        )
    )
    (result,) = formats.fileset_results(
        tmp_path,
        "postgresql/log",
        formats.SERVICE_FILESETS["postgresql/log"],
        formats.LOG_FIELDS,
        formats.LOG_EVENT_FIELDS,
    )
    # the HINT line joined the ERROR event: neither an event nor quarantined, and Filebeat's
    # separate HINT document is reported as the peer's split, not as a disagreement
    assert (result.kept, result.quarantined) == (2, 0)
    assert (result.compared, result.event_agree) == (2, 2)
    assert len(result.peer) == 1 and result.peer[0].startswith("line 2 ")
    assert "secondary lines" in result.peer[0]
