"""What `logcast ingest` prints about each file and when it exits 1 (flows.cli, without a run)."""

from flows.cli import _kept_nothing, _print_files

FILES = {
    "ingested": 2,
    "skipped": 1,
    "rejected": 1,
    "records_read": 62,
    "rows_kept": 10,
    "rows_quarantined": 52,
    "rejected_files": [{"path": "/l/x.bin", "reason": "file is empty"}],
    "read": [
        {"path": "/l/a.log", "format": "combined (detected)", "records_read": 10,
         "rows_kept": 10, "rows_quarantined": 0},
        {"path": "/l/b.log", "format": "combined", "records_read": 51, "rows_kept": 0,
         "rows_quarantined": 51},
        {"path": "/l/x.bin", "format": "auto", "records_read": 1, "rows_kept": 0,
         "rows_quarantined": 1},
    ],
}  # fmt: skip


def test_each_file_is_listed_with_its_format_and_counts(capsys):
    _print_files(FILES, per_file=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "files: 2 ingested, 1 unchanged, 1 rejected; records read 62 = kept 10 + quarantined 52"
    )
    assert "  /l/a.log: combined (detected), read 10 = kept 10 + quarantined 0" in out
    assert "  /l/b.log: combined, read 51 = kept 0 + quarantined 51" in out
    assert "  rejected /l/x.bin: file is empty" in out


def test_long_runs_list_the_first_files_and_count_the_rest(capsys):
    many = dict(FILES, read=[dict(FILES["read"][0], path=f"/l/{i}.log") for i in range(25)])
    _print_files(many, per_file=True)
    out = capsys.readouterr().out
    assert "/l/19.log" in out and "/l/20.log" not in out and "... and 5 more files" in out


def test_files_rejected_whole_or_keeping_nothing_are_the_ones_that_fail_the_run():
    assert _kept_nothing(FILES) == ["/l/x.bin", "/l/b.log"]
    assert _kept_nothing(dict(FILES, rejected_files=[], read=FILES["read"][:1])) == []


MIXED = {
    "ingested": 2,
    "skipped": 0,
    "rejected": 0,
    "records_read": 52,
    "rows_kept": 49,
    "rows_quarantined": 3,
    "requests": 14,
    "events": 35,
    "rejected_files": [],
    "read": [
        {"path": "/l/app.jsonl", "format": "jsonl (detected)", "records_read": 40,
         "rows_kept": 39, "rows_quarantined": 1, "requests": 4, "events": 35},
        {"path": "/l/a.log", "format": "combined", "records_read": 12, "rows_kept": 10,
         "rows_quarantined": 2, "requests": 10, "events": 0},
    ],
}  # fmt: skip


def test_kept_rows_are_split_into_requests_and_events_where_events_were_kept(capsys):
    _print_files(MIXED, per_file=True)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "files: 2 ingested, 0 unchanged, 0 rejected; records read 52 = kept 49 + quarantined 3; "
        "kept 49: 14 requests, 35 events",
        "  /l/app.jsonl: jsonl (detected), read 40 = kept 39 + quarantined 1; "
        "kept 39: 4 requests, 35 events",
        "  /l/a.log: combined, read 12 = kept 10 + quarantined 2",  # requests only: no split
    ]


def test_a_file_of_events_only_and_single_counts_read_in_the_singular(capsys):
    one = {"path": "/l/svc.log", "format": "servicelog", "records_read": 3, "rows_kept": 3,
           "rows_quarantined": 0, "requests": 1, "events": 2}  # fmt: skip
    only_events = dict(one, requests=0, events=3, path="/l/events.log")
    _print_files(dict(MIXED, read=[one, only_events]), per_file=True)
    out = capsys.readouterr().out
    assert (
        "  /l/svc.log: servicelog, read 3 = kept 3 + quarantined 0; kept 3: 1 request, 2 events"
        in out
    )
    assert "; kept 3: 0 requests, 3 events" in out


def test_the_format_option_names_every_registered_format():
    from flows.cli import FORMAT_NAMES
    from transforms.formats import registry

    assert list(FORMAT_NAMES) == list(registry.FORMATS)
